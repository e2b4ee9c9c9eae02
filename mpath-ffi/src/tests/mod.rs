//! Host tests that drive the library through its exports, as C would:
//! objects in caller memory, codes as integers, the device's outputs
//! drained after every input.

extern crate std;

mod adapter_answers;
mod adapter_errno;
mod adapter_refusals;
mod adapter_results;
mod cursor;
mod failover;
mod load;
mod nvme;
mod refusals;
mod reservation;
mod scsi;
mod scsi_activation;
mod scsi_spec;
mod target;

use crate::codes::*;
use crate::config::*;
use crate::control_io::*;
use crate::dataplane::*;
use crate::device::*;
use crate::events::*;
use crate::io::*;
use crate::paths::*;
use crate::reservation::*;
use crate::transport::*;
use core::mem::MaybeUninit;
use std::boxed::Box;
use std::format;
use std::string::String;
use std::vec::Vec;
use target::Target;

pub(super) const MS: u64 = 1_000_000;

/// Caller-owned memory for one object, as C would reserve it.
pub(super) fn mem<T>() -> &'static mut MaybeUninit<T> {
    Box::leak(Box::new(MaybeUninit::uninit()))
}

/// A data plane, a device publishing to it, and one CPU's cursor.
pub(super) struct Rig {
    pub dp: &'static MpathDataPlane,
    pub dev: &'static mut MpathDevice,
    pub cursor: &'static mut MpathCursor,
}

pub(super) fn default_config() -> MpathConfig {
    let mut cfg = MpathConfig::default();
    assert_eq!(mpath_config_default(Some(&mut cfg)), 0);
    cfg
}

pub(super) fn rig_with(cfg: &MpathConfig, scope: MpathRegistrationScope) -> Rig {
    let dp: &'static MpathDataPlane = mpath_dataplane_init(Some(mem()), 0).unwrap();
    let mut err = 0;
    let dev = mpath_device_init(
        Some(mem()),
        Some(dp),
        Some(cfg),
        scope.code(),
        Some(&mut err),
    )
    .unwrap();
    assert_eq!(err, 0);
    let cursor = mpath_cursor_init(Some(mem()), 0).unwrap();
    Rig { dp, dev, cursor }
}

pub(super) fn rig() -> Rig {
    rig_with(&default_config(), MpathRegistrationScope::Nexus)
}

pub(super) fn ticket() -> &'static mut MpathTicket {
    mpath_ticket_init(Some(mem())).unwrap()
}

pub(super) fn spec(group: u32, nexus: u32) -> MpathPathSpec {
    MpathPathSpec {
        group,
        nexus,
        relative_throughput: 1,
        ..MpathPathSpec::default()
    }
}

/// Add a path over `nexus` whose registrations count for port `nexus`.
pub(super) fn add(r: &mut Rig, group: u32, nexus: u32, now: u64) -> u32 {
    let mut id = 0;
    assert_eq!(
        mpath_add_path(
            Some(r.dev),
            Some(&spec(group, nexus)),
            nexus,
            now,
            Some(&mut id)
        ),
        0
    );
    id
}

pub(super) fn io(tag: u64, kind: MpathIoKind) -> MpathIo {
    MpathIo {
        tag,
        bytes: 4096,
        kind: kind.code(),
        retries: 3,
        reserved: [0; 7],
    }
}

pub(super) fn path_error(kind: MpathPathError) -> MpathCompletion {
    MpathCompletion {
        outcome: MpathOutcome::PathError.code(),
        detail: kind.code(),
        ..MpathCompletion::default()
    }
}

pub(super) fn success() -> MpathCompletion {
    MpathCompletion::default()
}

pub(super) fn ticket_path(t: &MpathTicket) -> u32 {
    let mut info = MpathTicketInfo::default();
    assert_eq!(mpath_ticket_info(Some(t), Some(&mut info)), 0);
    info.path
}

pub(super) fn tier_of(r: &Rig, path: u32) -> u32 {
    let mut tier = u32::MAX;
    assert_eq!(mpath_path_tier(Some(r.dev), path, Some(&mut tier)), 0);
    tier
}

/// Everything the device holds, for "nothing changed" checks.
pub(super) fn state(r: &Rig) -> String {
    format!("{:?}", r.dev)
}

/// What `drive` did: the actions it carried out and the events it saw.
#[derive(Default, Debug)]
pub(super) struct Drained {
    pub actions: Vec<MpathAction>,
    pub events: Vec<MpathEvent>,
}

/// The I/O a dispatch action put in `slot`, completed with success at
/// `now` (the adapter labs' drive loops).
pub(super) fn complete_dispatched(r: &mut Rig, slot: &mut MpathTicket, now: u64) {
    let mut d = MpathDisposition::default();
    let rc = mpath_handle_completion(Some(r.dev), Some(slot), Some(&success()), now, Some(&mut d));
    assert_eq!(rc, 0);
}

/// Carry out every action at `now` as a transport would: reservation
/// commands on `t`, probes answered by whether `t` reaches the path,
/// dispatched I/O completed (a path error on a path `t` cannot reach).
/// Then drain the events.
pub(super) fn drive(r: &mut Rig, t: &mut Target, now: u64) -> Drained {
    let mut out = Drained::default();
    let slot = ticket();
    let mut a = MpathAction::default();
    for _ in 0..1000 {
        match mpath_poll_action(Some(r.dev), Some(&mut a), Some(slot)) {
            0 => break,
            1 => {}
            rc => panic!("poll_action: {rc}"),
        }
        out.actions.push(a);
        match MpathActionKind::from_code(a.kind).unwrap() {
            MpathActionKind::Reservation => {
                assert_eq!(a.path, a.pr.via);
                let reply = t.exec(&a.pr);
                assert_eq!(
                    mpath_handle_reservation_reply(Some(r.dev), a.pr.via, Some(&reply), now),
                    0
                );
            }
            MpathActionKind::Probe => {
                let result = match t.down.contains(&a.path) {
                    true => MpathProbeResult::Down,
                    false => MpathProbeResult::Up,
                };
                assert_eq!(
                    mpath_handle_probe(Some(r.dev), a.path, result.code(), now),
                    0
                );
            }
            MpathActionKind::Dispatch => {
                let c = match t.down.contains(&a.path) {
                    true => path_error(MpathPathError::Transport),
                    false => success(),
                };
                let mut d = MpathDisposition::default();
                assert_eq!(
                    mpath_handle_completion(Some(r.dev), Some(slot), Some(&c), now, Some(&mut d)),
                    0
                );
                assert_eq!(mpath_ticket_is_live(Some(slot)), 0, "not dispatched again");
            }
            _ => {}
        }
    }
    let mut e = MpathEvent::default();
    while mpath_poll_event(Some(r.dev), Some(&mut e)) == 1 {
        out.events.push(e);
    }
    out
}

/// Start `op` at `now`, drive the device until it settles, and return its
/// `Finished` event.
pub(super) fn op(r: &mut Rig, t: &mut Target, op: MpathPrOp, now: u64) -> MpathPrEvent {
    assert_eq!(mpath_reservation(Some(r.dev), Some(&op), now), 0);
    let drained = drive(r, t, now);
    drained
        .events
        .iter()
        .find(|e| {
            e.kind == MpathEventKind::Reservation.code()
                && e.pr.kind == MpathPrEventKind::Finished.code()
        })
        .map(|e| e.pr)
        .unwrap_or_else(|| panic!("{op:?} did not finish: {drained:?}"))
}

pub(super) fn register_op(key: u64) -> MpathPrOp {
    MpathPrOp {
        kind: MpathPrOpKind::Register.code(),
        key,
        ..MpathPrOp::default()
    }
}

pub(super) fn reserve_op(rtype: MpathPrType) -> MpathPrOp {
    MpathPrOp {
        kind: MpathPrOpKind::Reserve.code(),
        rtype: rtype.code(),
        ..MpathPrOp::default()
    }
}
