//! What the device reports for C to log or raise (`mpath_poll_event`):
//! paths failed, reinstated, marginal or moved between tiers, the active
//! tier, and the reservation coordinator's results, fences and moves.
//!
//! Events are computed from state when polled, as in the core: nothing is
//! queued, so nothing is lost however late C polls; a path that failed and
//! came back between two polls is reported in the state it is in.

use crate::codes::{MpathEventKind, MpathTier, MPATH_CODE_UNKNOWN};
use crate::device::MpathDevice;
use crate::reservation::MpathPrEvent;
use crate::{found, need, ret, Ret};
use core::ffi::c_int;
use mpath_core::DeviceEvent;

/// One event ([`DeviceEvent`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathEvent {
    /// [`MpathEventKind`] code.
    pub kind: u32,
    /// `PathFailed`, `PathReinstated`, `PathMarginal`, `PathTier`: the path.
    pub path: u32,
    /// `PathReinstated`, `PathTier`: the path's tier; `ActiveTier`: the
    /// tier selection uses (`None` when no path is selectable). An
    /// [`MpathTier`] code.
    pub tier: u32,
    /// Zero.
    pub reserved: u32,
    /// `Reservation`: the coordinator's event (an operation's result with
    /// its report, a fence, or a move with the new holder).
    pub pr: MpathPrEvent,
}

impl MpathEvent {
    fn of(e: DeviceEvent) -> Self {
        let mut out = MpathEvent::default();
        let kind = match e {
            DeviceEvent::PathFailed(p) => {
                out.path = p.to_raw();
                MpathEventKind::PathFailed
            }
            DeviceEvent::PathReinstated { path, tier } => {
                out.path = path.to_raw();
                out.tier = MpathTier::of(tier);
                MpathEventKind::PathReinstated
            }
            DeviceEvent::PathMarginal(p) => {
                out.path = p.to_raw();
                MpathEventKind::PathMarginal
            }
            DeviceEvent::PathTier { path, tier } => {
                out.path = path.to_raw();
                out.tier = MpathTier::of(tier);
                MpathEventKind::PathTier
            }
            DeviceEvent::ActiveTier(t) => {
                out.tier = MpathTier::of_opt(t);
                MpathEventKind::ActiveTier
            }
            DeviceEvent::Reservation(e) => {
                out.pr = MpathPrEvent::of(e);
                MpathEventKind::Reservation
            }
            _ => {
                out.kind = MPATH_CODE_UNKNOWN;
                return out;
            }
        };
        out.kind = kind.code();
        out
    }
}

/// The next event: `1` and `*out`, or `0` when there is none. Reservation
/// events come first, then each path whose tier changed (slot order), then
/// the active tier. Call until `0` after every input, after the actions.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_poll_event(
    dev: Option<&mut MpathDevice>,
    out: Option<&mut MpathEvent>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out)?);
        match dev.dev.poll_event() {
            Some(e) => {
                *out = MpathEvent::of(e);
                Ok(found(true))
            }
            None => Ok(found(false)),
        }
    })())
}
