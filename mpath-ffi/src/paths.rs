//! Paths at the boundary: what C says about a new path
//! ([`MpathPathSpec`]), membership (`mpath_add_path`, `mpath_remove_path`,
//! `mpath_nexus_replaced`, `mpath_move_path_to_group`) and the manual
//! commands (dm's `fail_path`, `reinstate_path`, `switch_group`;
//! multipathd's marginal marks; failback; the selector and no-path
//! policies). Each goes to the device, which tells the controller and the
//! reservation coordinator what each needs.

use crate::codes::{MpathAccessState, MpathPolicy};
use crate::config::{no_path_policy, MpathSelectorParams};
use crate::device::{at, on_device, path, MpathDevice};
use crate::{errno, flag, need, ret, u8_of, Ret};
use core::ffi::c_int;
use mpath_core::{Duration, GroupAccess, GroupId, Locality, NexusId, PathSpec};

/// A group's access state with the ALUA preferred bit ([`GroupAccess`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathGroupAccess {
    /// [`MpathAccessState`] code.
    pub state: u32,
    /// The PREF bit (NVMe: 0).
    pub preferred: u8,
    /// Zero.
    pub reserved: [u8; 3],
}

impl MpathGroupAccess {
    pub(crate) fn decode(&self) -> Result<GroupAccess, c_int> {
        Ok(GroupAccess {
            state: MpathAccessState::parse(self.state)?.to_core(),
            preferred: flag(self.preferred)?,
        })
    }
    pub(crate) fn of(a: GroupAccess) -> Self {
        MpathGroupAccess {
            state: MpathAccessState::of(a.state),
            preferred: u8_of(a.preferred),
            reserved: [0; 3],
        }
    }
}

/// What the embedder says about a new path ([`PathSpec`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPathSpec {
    /// The access-state group its target port belongs to.
    pub group: u32,
    /// The nexus it runs over.
    pub nexus: u32,
    /// NUMA node (or queue set) it is close to.
    pub locality: u32,
    /// dm service-time's relative throughput, 0..=100.
    pub relative_throughput: u8,
    /// 1 if `access` holds the group's state as read during discovery.
    pub has_access: u8,
    /// Zero.
    pub reserved: [u8; 2],
    /// The group's access state, if `has_access`.
    pub access: MpathGroupAccess,
    /// The group's transition timeout; 0 for the configured default.
    pub transition_timeout_ns: u64,
}

impl MpathPathSpec {
    pub(crate) fn decode(&self) -> Result<PathSpec, c_int> {
        Ok(PathSpec {
            group: GroupId(self.group),
            nexus: NexusId(self.nexus),
            locality: Locality(self.locality),
            relative_throughput: self.relative_throughput,
            access: match flag(self.has_access)? {
                true => Some(self.access.decode()?),
                false => None,
            },
            transition_timeout: match self.transition_timeout_ns {
                0 => None,
                ns => Some(Duration::from_nanos(ns)),
            },
        })
    }
}

// ----- membership -----

/// Add a path whose reservation registrations count for `port` (the
/// initiator port, or the host, for the shared registration scopes; any
/// value for per-nexus registration); its id goes to `*out_path`. While a
/// reservation key is registered the path carries no I/O until its nexus
/// is registered. `-EEXIST` if a path over that nexus exists, `-ENOSPC` if
/// the path or group table is full.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_add_path(
    dev: Option<&mut MpathDevice>,
    spec: Option<&MpathPathSpec>,
    port: u32,
    now_ns: u64,
    out_path: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out_path)?);
        let spec = need(spec)?.decode()?;
        let id = dev
            .dev
            .add_path(spec, port, at(now_ns))
            .map_err(|r| errno::of_error(r.error))?;
        *out = id.to_raw();
        Ok(0)
    })())
}

/// Remove a path. I/O in flight on it completes through its tickets; a
/// reservation its nexus held is moved.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_remove_path(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.remove_path(path(path_id), at(now_ns)))
}

/// The path reaches the logical unit over a new I_T nexus (a new iSCSI
/// session, a new fabric login) whose initiator port is `port`: it is
/// registered again before it carries I/O, a reservation the old nexus
/// held is moved, and the path is probed before use.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nexus_replaced(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    port: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.nexus_replaced(path(path_id), port, at(now_ns)))
}

/// Move a path to another access-state group; `access` (may be `NULL`)
/// sets the new group's state.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_move_path_to_group(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    group: u32,
    access: Option<&MpathGroupAccess>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let access = match access {
            Some(a) => Some(a.decode()?),
            None => None,
        };
        dev.dev
            .move_path_to_group(path(path_id), GroupId(group), access, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

// ----- manual commands -----

/// Fail a path by hand (dm `fail_path`) until `mpath_reinstate_path`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_fail_path(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.fail_path(path(path_id), at(now_ns)))
}

/// Undo `mpath_fail_path` and probe the path at once.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_reinstate_path(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.reinstate_path(path(path_id), at(now_ns)))
}

/// Mark a path marginal (multipathd `set marginal`) until
/// `mpath_clear_marginal`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_marginal(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.set_marginal(path(path_id), at(now_ns)))
}

/// Set a path's relative throughput for the service-time policy, `0..=100`
/// (dm's per-path `relative_throughput`; 0: used only when no other path
/// is). Above 100: `-EINVAL`, nothing changed.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_relative_throughput(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    relative_throughput: u8,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| {
        d.set_relative_throughput(path(path_id), relative_throughput, at(now_ns))
    })
}

/// Clear a marginal mark.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_clear_marginal(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| d.clear_marginal(path(path_id), at(now_ns)))
}

/// Prefer the group `*group` over the tier order (dm `switch_group`), or go
/// back to the tier order when `group` is `NULL`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_switch_group(
    dev: Option<&mut MpathDevice>,
    group: Option<&u32>,
    now_ns: u64,
) -> c_int {
    on_device(dev, |d| {
        d.switch_group(group.map(|&g| GroupId(g)), at(now_ns))
    })
}

/// Manual failback: drop any deferred failback.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_failback(dev: Option<&mut MpathDevice>, now_ns: u64) -> c_int {
    on_device(dev, |d| d.failback(at(now_ns)))
}

/// Switch the path selector ([`MpathPolicy`] code) and its parameters.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_policy(
    dev: Option<&mut MpathDevice>,
    policy: u32,
    params: Option<&MpathSelectorParams>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let params = need(params)?.decode();
        let policy = MpathPolicy::parse(policy)?.to_core();
        dev.dev
            .set_policy(policy, params, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Change the no-path policy ([`MpathNoPath`](crate::codes::MpathNoPath)
/// code; `queue_for_ns` for `QueueFor`).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_no_path_policy(
    dev: Option<&mut MpathDevice>,
    policy: u32,
    queue_for_ns: u64,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let policy = no_path_policy(policy, queue_for_ns)?;
        dev.dev
            .set_no_path_policy(policy, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}
