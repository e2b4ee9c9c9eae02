//! The control plane at the boundary: [`MpathDevice`] and its inputs
//! (`mpath_handle_*`), commands (`mpath_add_path`, `mpath_fail_path`, ...),
//! timers and getters. The I/O half (submit, completions, `poll_action`) is
//! in [`control_io`](crate::control_io).
//!
//! Call order, as in the core: after any input call `mpath_poll_action`
//! until it returns `0`, then arm a timer for `mpath_poll_timeout` and call
//! `mpath_handle_timeout` when it fires. Every call on one device must be
//! serialised by the caller.

use crate::codes::{
    MpathAccessState, MpathActivationResult, MpathHeadState, MpathLinkEvent, MpathPolicy,
    MpathProbeResult, MpathTier,
};
use crate::config::{no_path_policy, MpathConfig, MpathSelectorParams};
use crate::dataplane::{MpathDataPlane, MPATH_MAX_PATHS};
use crate::errno;
use crate::io::notices;
use crate::reservation::MpathCoordinator;
use crate::{flag, found, need, ret, u32_of, u8_of, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::{
    Controller, DataPlane, Duration, GroupAccess, GroupId, HeadState, Instant, Locality, NexusId,
    PathId, PathSpec,
};

/// Held I/Os per device (the requeue depth).
pub const MPATH_MAX_QUEUED: usize = 256;
/// Access-state groups per device.
pub const MPATH_MAX_GROUPS: usize = 16;

/// The controller type this library instantiates.
pub(crate) type Ctl = Controller<
    &'static DataPlane<MPATH_MAX_PATHS>,
    MPATH_MAX_PATHS,
    MPATH_MAX_QUEUED,
    MPATH_MAX_GROUPS,
>;

/// The control plane of one multipath device (opaque). It publishes to the
/// [`MpathDataPlane`] it was made with, which must outlive it.
#[derive(Debug)]
pub struct MpathDevice {
    pub(crate) ctl: Ctl,
}

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
    fn decode(&self) -> Result<PathSpec, c_int> {
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

/// The head's lifecycle state ([`HeadState`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathHead {
    /// [`MpathHeadState`] code.
    pub state: u32,
    /// Zero.
    pub reserved: u32,
    /// `Orphaned`: when the head goes away, nanoseconds.
    pub remove_at_ns: u64,
}

impl MpathHead {
    pub(crate) fn of(h: HeadState) -> Self {
        let (state, remove_at_ns) = match h {
            HeadState::Waiting => (MpathHeadState::Waiting, 0),
            HeadState::Live => (MpathHeadState::Live, 0),
            HeadState::Orphaned { remove_at } => (MpathHeadState::Orphaned, remove_at.as_nanos()),
            HeadState::Removed => (MpathHeadState::Removed, 0),
        };
        MpathHead {
            state: state.code(),
            reserved: 0,
            remove_at_ns,
        }
    }
}

/// Run `f` on the device, mapping the core's error to errno.
fn on_device(
    dev: Option<&mut MpathDevice>,
    f: impl FnOnce(&mut Ctl) -> Result<(), mpath_core::Error>,
) -> c_int {
    ret((|| -> Ret {
        f(&mut need(dev)?.ctl).map_err(errno::of_error)?;
        Ok(0)
    })())
}

fn at(now_ns: u64) -> Instant {
    Instant::from_nanos(now_ns)
}

fn path(raw: u32) -> PathId {
    PathId::from_raw(raw)
}

// ----- lifecycle and getters -----

/// Make `mem` a device with no paths, configured by `cfg`, publishing to
/// `dp` (which must outlive it). Returns `mem` as the device, or `NULL`
/// with `*err` (if not `NULL`) set to `-EFAULT` for a `NULL` argument or
/// `-EINVAL` for a configuration the core refuses.
///
/// The core builds the controller by value and it is then moved into
/// `mem`, so this call needs stack for about two devices (about 62 KiB on
/// x86_64 today; `scripts/objgate.py` prints the figure): more than a
/// 16 KiB kernel stack. Building it in place needs a constructor in the
/// core that initialises caller memory.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_device_init<'a>(
    mem: Option<&'a mut MaybeUninit<MpathDevice>>,
    dp: Option<&'static MpathDataPlane>,
    cfg: Option<&MpathConfig>,
    err: Option<&mut c_int>,
) -> Option<&'a mut MpathDevice> {
    let made = (|| -> Result<&'a mut MpathDevice, c_int> {
        let (mem, dp) = (need(mem)?, need(dp)?);
        let cfg = need(cfg)?.decode()?;
        let ctl = Controller::new(&dp.dp, cfg).map_err(errno::of_config)?;
        Ok(mem.write(MpathDevice { ctl }))
    })();
    match made {
        Ok(dev) => Some(dev),
        Err(e) => {
            if let Some(err) = err {
                *err = e;
            }
            None
        }
    }
}

/// The configuration in force.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_config(dev: Option<&MpathDevice>, out: Option<&mut MpathConfig>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathConfig::of(need(dev)?.ctl.config());
        Ok(0)
    })())
}

/// The latest time any input carried, nanoseconds.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_now(dev: Option<&MpathDevice>, out_ns: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        *need(out_ns)? = need(dev)?.ctl.now().as_nanos();
        Ok(0)
    })())
}

/// The head's lifecycle state.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_head_state(
    dev: Option<&MpathDevice>,
    out: Option<&mut MpathHead>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathHead::of(need(dev)?.ctl.head_state());
        Ok(0)
    })())
}

/// The tier selection uses, an [`MpathTier`] code (`None` when no path is
/// usable).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_active_tier(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathTier::of_opt(need(dev)?.ctl.active_tier());
        Ok(0)
    })())
}

/// I/Os the controller holds.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_queued(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = u32_of(need(dev)?.ctl.queued());
        Ok(0)
    })())
}

/// Admission credits the controller's own cursor keeps.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_controller_cursor_credits(
    dev: Option<&MpathDevice>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dev)?.ctl.cursor_credits();
        Ok(0)
    })())
}

/// The ids of all present paths, in slot order: their number is returned
/// and the ids are in `out[0..n]`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_path_ids(
    dev: Option<&MpathDevice>,
    out: Option<&mut [u32; MPATH_MAX_PATHS]>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out)?);
        let mut n: c_int = 0;
        for (o, id) in out.iter_mut().zip(dev.ctl.path_ids()) {
            *o = id.to_raw();
            n = n.saturating_add(1);
        }
        Ok(n)
    })())
}

/// A path's current tier, an [`MpathTier`] code.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_path_tier(
    dev: Option<&MpathDevice>,
    path_id: u32,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let t = need(dev)?
            .ctl
            .tier(path(path_id))
            .map_err(errno::of_error)?;
        *need(out)? = MpathTier::of(t);
        Ok(0)
    })())
}

/// `1` if an access-state re-read through the path is wanted, in flight or
/// waiting to be retried, else `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_refresh_pending(dev: Option<&MpathDevice>, path_id: u32) -> c_int {
    ret((|| -> Ret {
        let pending = need(dev)?
            .ctl
            .refresh_pending(path(path_id))
            .map_err(errno::of_error)?;
        Ok(found(pending))
    })())
}

/// A group's reported access state: `1` and `*out`, or `0` for a group the
/// device does not know.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_group_access(
    dev: Option<&MpathDevice>,
    group: u32,
    out: Option<&mut MpathGroupAccess>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(dev)?.ctl.group_access(GroupId(group)) {
            Some(a) => {
                *out = MpathGroupAccess::of(a);
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// `1` if a reservation key is set (unregistered paths carry no I/O).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_reservation_key_active(dev: Option<&MpathDevice>) -> c_int {
    ret(need(dev).map(|d| found(d.ctl.reservation_key_active())))
}

// ----- timers -----

/// The earliest time `mpath_handle_timeout` has work: `1` and `*out_ns`, or
/// `0` when no timer is armed.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_poll_timeout(dev: Option<&MpathDevice>, out_ns: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        let out = need(out_ns)?;
        match need(dev)?.ctl.poll_timeout() {
            Some(t) => {
                *out = t.as_nanos();
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// Act on every deadline at or before `now_ns`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_timeout(dev: Option<&mut MpathDevice>, now_ns: u64) -> c_int {
    on_device(dev, |c| c.handle_timeout(at(now_ns)))
}

// ----- membership -----

/// Add a path; its id goes to `*out_path`. `-EEXIST` if a path over that
/// nexus exists, `-ENOSPC` if the path or group table is full.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_add_path(
    dev: Option<&mut MpathDevice>,
    spec: Option<&MpathPathSpec>,
    now_ns: u64,
    out_path: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out_path)?);
        let spec = need(spec)?.decode()?;
        let id = dev
            .ctl
            .add_path(spec, at(now_ns))
            .map_err(|r| errno::of_error(r.error))?;
        *out = id.to_raw();
        Ok(0)
    })())
}

/// Remove a path. I/O in flight on it completes through its tickets.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_remove_path(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |c| c.remove_path(path(path_id), at(now_ns)))
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
        dev.ctl
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
    on_device(dev, |c| c.fail_path(path(path_id), at(now_ns)))
}

/// Undo `mpath_fail_path` and probe the path at once.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_reinstate_path(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |c| c.reinstate_path(path(path_id), at(now_ns)))
}

/// Mark a path marginal until `mpath_clear_marginal`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_marginal(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |c| c.set_marginal(path(path_id), at(now_ns)))
}

/// Clear a marginal mark.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_clear_marginal(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    on_device(dev, |c| c.clear_marginal(path(path_id), at(now_ns)))
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
    on_device(dev, |c| {
        c.switch_group(group.map(|&g| GroupId(g)), at(now_ns))
    })
}

/// Manual failback: drop any deferred failback.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_failback(dev: Option<&mut MpathDevice>, now_ns: u64) -> c_int {
    on_device(dev, |c| c.failback(at(now_ns)))
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
        dev.ctl
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
        dev.ctl
            .set_no_path_policy(policy, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Set a group's transition timeout (RTPG IMPLICIT TRANSITION TIME, ANATT);
/// `-EINVAL` for zero.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_set_transition_timeout(
    dev: Option<&mut MpathDevice>,
    group: u32,
    timeout_ns: u64,
) -> c_int {
    on_device(dev, |c| {
        c.set_transition_timeout(GroupId(group), Duration::from_nanos(timeout_ns))
    })
}

// ----- reservations -----

/// Apply the coordinator's view (admission gate, registrations, quiesce,
/// fence). Call after every input to the coordinator.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_apply_reservation(
    dev: Option<&mut MpathDevice>,
    pr: Option<&MpathCoordinator>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (dev, pr) = (need(dev)?, need(pr)?);
        dev.ctl
            .apply_reservation(&pr.pr, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

// ----- transport inputs -----

/// A transport event about a path ([`MpathLinkEvent`] code).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_link(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    event: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let event = MpathLinkEvent::parse(event)?.to_core();
        dev.ctl
            .handle_link(path(path_id), event, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// The result of a probe ([`MpathProbeResult`] code).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_probe(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    result: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let result = MpathProbeResult::parse(result)?.to_core();
        dev.ctl
            .handle_probe(path(path_id), result, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// A group's access state, read from RTPG / the ANA log page.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_access_state(
    dev: Option<&mut MpathDevice>,
    group: u32,
    access: Option<&MpathGroupAccess>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let access = need(access)?.decode()?;
        dev.ctl
            .handle_access_state(GroupId(group), access, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Finish a `RefreshAccessState` action: `ok` 1 when the states were read
/// (and reported), 0 on failure. `-EPROTO` if none was pending.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_refresh_result(
    dev: Option<&mut MpathDevice>,
    via: u32,
    ok: u8,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (dev, ok) = (need(dev)?, flag(ok)?);
        dev.ctl
            .handle_refresh_result(path(via), ok, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Finish an `ActivateGroup` action ([`MpathActivationResult`] code).
/// `-EPROTO` if none was pending for the group.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_activation_result(
    dev: Option<&mut MpathDevice>,
    group: u32,
    result: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let result = MpathActivationResult::parse(result)?.to_core();
        dev.ctl
            .handle_activation_result(GroupId(group), result, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Notices that arrived outside a completion ([`notice`](crate::io::notice)
/// bits; an unknown bit is `-EINVAL`).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_notices(
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    notice_bits: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        let n = notices(notice_bits)?;
        dev.ctl
            .handle_notices(path(path_id), n, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}
