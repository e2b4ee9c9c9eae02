//! What the transport tells the device: link events, probe results,
//! notices outside a completion, access states and their transition
//! timeouts, and the ends of access-state re-reads and activations. (I/O
//! completions are in [`control_io`](crate::control_io), reservation
//! replies in [`reservation`](crate::reservation).)
//!
//! The device passes each fact to both halves: a path the controller finds
//! down (link down, probe down, flap damping) is down for the reservation
//! coordinator too, and reservation notices reach the coordinator.

use crate::codes::{MpathActivationResult, MpathLinkEvent, MpathProbeResult};
use crate::device::{at, on_device, path, MpathDevice};
use crate::io::notices;
use crate::paths::MpathGroupAccess;
use crate::{errno, flag, need, ret, Ret};
use core::ffi::c_int;
use mpath_core::{Duration, GroupId};

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
        dev.dev
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
        dev.dev
            .handle_probe(path(path_id), result, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

/// Notices that arrived outside a completion (asynchronous events, unit
/// attentions on probes or reservation commands; [`notice`](crate::io::notice)
/// bits, an unknown bit is `-EINVAL`). Reservation notices reach the
/// coordinator.
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
        dev.dev
            .handle_notices(path(path_id), n, at(now_ns))
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
        dev.dev
            .handle_access_state(GroupId(group), access, at(now_ns))
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
    on_device(dev, |d| {
        d.set_transition_timeout(GroupId(group), Duration::from_nanos(timeout_ns))
    })
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
        dev.dev
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
        dev.dev
            .handle_activation_result(GroupId(group), result, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}
