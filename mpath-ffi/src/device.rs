//! The device at the boundary: [`MpathDevice`], one
//! [`Device`] (the controller and the reservation
//! coordinator behind one door), with its lifecycle, getters and timers.
//! Its inputs and commands are in [`paths`](crate::paths),
//! [`transport`](crate::transport), [`control_io`](crate::control_io) and
//! [`reservation`](crate::reservation); its outputs are
//! `mpath_poll_action` ([`control_io`](crate::control_io)),
//! `mpath_poll_event` ([`events`](crate::events)) and
//! `mpath_poll_timeout` (here).
//!
//! Call order, as on the core's `Device`: after every input or command,
//! call `mpath_poll_action` until it returns `0` (carrying out each
//! action, reservation commands included, and answering it with its
//! `mpath_handle_*` input), then `mpath_poll_event` until it returns `0`,
//! then arm a timer for `mpath_poll_timeout` and call
//! `mpath_handle_timeout` when it fires. Every call on one device must be
//! serialised by the caller.

use crate::codes::{MpathHeadState, MpathRegistrationScope, MpathTier};
use crate::config::MpathConfig;
use crate::dataplane::{MpathDataPlane, MPATH_MAX_PATHS};
use crate::errno;
use crate::paths::MpathGroupAccess;
use crate::{found, need, ret, u32_of, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::{DataPlane, Device, GroupId, HeadState, Instant, PathId};

/// Held I/Os per device (the requeue depth).
pub const MPATH_MAX_QUEUED: usize = 256;
/// Access-state groups per device.
pub const MPATH_MAX_GROUPS: usize = 16;

/// The device type this library instantiates.
pub(crate) type Dev = Device<
    &'static DataPlane<MPATH_MAX_PATHS>,
    MPATH_MAX_PATHS,
    MPATH_MAX_QUEUED,
    MPATH_MAX_GROUPS,
>;

/// One multipath device (opaque): the control plane and the
/// persistent-reservation coordinator, driven as one state machine. It
/// publishes to the [`MpathDataPlane`] it was made with, which must
/// outlive it.
#[derive(Debug)]
pub struct MpathDevice {
    pub(crate) dev: Dev,
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
pub(crate) fn on_device(
    dev: Option<&mut MpathDevice>,
    f: impl FnOnce(&mut Dev) -> Result<(), mpath_core::Error>,
) -> c_int {
    ret((|| -> Ret {
        f(&mut need(dev)?.dev).map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// A time from C: nanoseconds of the embedder's monotonic clock.
pub(crate) fn at(now_ns: u64) -> Instant {
    Instant::from_nanos(now_ns)
}

/// A path id from C (`PathId::to_raw`); the device checks it.
pub(crate) fn path(raw: u32) -> PathId {
    PathId::from_raw(raw)
}

// ----- lifecycle -----

/// Make `mem` a device with no paths, configured by `cfg`, publishing to
/// `dp` (which must outlive it), whose reservation registrations cover
/// `scope` ([`MpathRegistrationScope`] code: one I_T nexus, an initiator
/// port with ALL_TG_PT, or the NVMe host). Until a key is registered the
/// coordinator is inert and every path is admitted. Returns `mem` as the
/// device, or `NULL` with `*err` (if not `NULL`) set to `-EFAULT` for a
/// `NULL` argument or `-EINVAL` for a scope outside its table or a
/// configuration the core refuses.
///
/// The device is built in `mem` itself (`Device::new_in_wrapped`), not
/// on the stack and moved: this call's stack use is a few hundred bytes,
/// which `scripts/objgate.py` checks (a kernel thread has 16 KiB).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_device_init<'a>(
    mem: Option<&'a mut MaybeUninit<MpathDevice>>,
    dp: Option<&'static MpathDataPlane>,
    cfg: Option<&MpathConfig>,
    scope: u32,
    err: Option<&mut c_int>,
) -> Option<&'a mut MpathDevice> {
    let made = (|| -> Result<&'a mut MpathDevice, c_int> {
        let (mem, dp) = (need(mem)?, need(dp)?);
        let cfg = need(cfg)?.decode()?;
        let scope = MpathRegistrationScope::parse(scope)?.to_core();
        // Built in the caller's memory: `Device::new` would build it on this
        // frame first (over 30 KiB, twice a kernel stack).
        Device::new_in_wrapped(
            mem,
            |dev| MpathDevice { dev },
            |m| &mut m.dev,
            &dp.dp,
            cfg,
            scope,
        )
        .map_err(errno::of_config)
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

// ----- getters -----

/// The configuration in force.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_config(dev: Option<&MpathDevice>, out: Option<&mut MpathConfig>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathConfig::of(need(dev)?.dev.controller().config());
        Ok(0)
    })())
}

/// The latest time any input carried, nanoseconds.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_now(dev: Option<&MpathDevice>, out_ns: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        *need(out_ns)? = need(dev)?.dev.now().as_nanos();
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
        *need(out)? = MpathHead::of(need(dev)?.dev.controller().head_state());
        Ok(0)
    })())
}

/// The tier selection uses, an [`MpathTier`] code (`None` when no path is
/// usable).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_active_tier(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathTier::of_opt(need(dev)?.dev.controller().active_tier());
        Ok(0)
    })())
}

/// I/Os the device holds.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_queued(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = u32_of(need(dev)?.dev.controller().queued());
        Ok(0)
    })())
}

/// Admission credits the device's own cursor keeps.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_controller_cursor_credits(
    dev: Option<&MpathDevice>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dev)?.dev.controller().cursor_credits();
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
        for (o, id) in out.iter_mut().zip(dev.dev.controller().path_ids()) {
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
        let out = need(out)?;
        let t = need(dev)?
            .dev
            .tier(path(path_id))
            .map_err(errno::of_error)?;
        *out = MpathTier::of(t);
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
            .dev
            .controller()
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
        match need(dev)?.dev.controller().group_access(GroupId(group)) {
            Some(a) => {
                *out = MpathGroupAccess::of(a);
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

// ----- timers -----

/// The earliest time `mpath_handle_timeout` has work: `1` and `*out_ns`, or
/// `0` when no timer is armed.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_poll_timeout(dev: Option<&MpathDevice>, out_ns: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        let out = need(out_ns)?;
        match need(dev)?.dev.poll_timeout() {
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
    on_device(dev, |d| d.handle_timeout(at(now_ns)))
}
