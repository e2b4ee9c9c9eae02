//! Shared helpers for the controller tests.
#![allow(dead_code)]

use mpath_core::*;

pub mod spc4;

pub type Dev = Multipath<8, 64, 4>;

pub fn ms(v: u64) -> Instant {
    Instant::from_nanos(v * 1_000_000)
}

pub fn secs(v: u64) -> Instant {
    Instant::from_nanos(v * 1_000_000_000)
}

pub fn dev(cfg: Config) -> Dev {
    Multipath::new(cfg).unwrap()
}

pub fn add(d: &mut Dev, group: u32, nexus: u32, access: AccessState, now: Instant) -> PathId {
    d.controller_mut()
        .add_path(
            PathSpec::new(GroupId(group), NexusId(nexus)).with_access(GroupAccess::new(access)),
            now,
        )
        .unwrap()
}

/// Drain every action, answering none of them; returns them.
pub fn drain(d: &mut Dev) -> Vec<Action> {
    let mut v = Vec::new();
    while let Some(a) = d.controller_mut().poll_action() {
        v.push(a);
    }
    v
}

pub fn dispatched(d: Disposition) -> Ticket {
    match d {
        Disposition::Dispatch(t) => t,
        other => panic!("expected Dispatch, got {other:?}"),
    }
}

pub fn path_err() -> Completion {
    Outcome::PathError(PathErrorKind::Transport).into()
}

pub fn submit(d: &mut Dev, io: Io, now: Instant) -> Disposition {
    d.submit(io, now).unwrap()
}
