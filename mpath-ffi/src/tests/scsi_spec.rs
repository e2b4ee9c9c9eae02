//! What `mpath_scsi_add_path` takes from the caller's path spec besides
//! the group and the access state the identity decides: the locality, the
//! relative throughput and the transition timeout, each seen where the
//! device uses it.

use super::scsi::{scsi_lab_with, ScsiLab};
use super::*;
use crate::snapshot::{mpath_path_snapshot, MpathPathSnapshot};
use mpath_scsi::AluaState;
use mpath_sim::scsi_target::LuConfig;

const SEC: u64 = 1_000 * MS;

fn spec_of(nexus: u32, locality: u32, relative_throughput: u8) -> MpathPathSpec {
    MpathPathSpec {
        nexus,
        locality,
        relative_throughput,
        ..MpathPathSpec::default()
    }
}

fn snapshot(l: &ScsiLab, path: u32) -> MpathPathSnapshot {
    let mut s = MpathPathSnapshot::default();
    assert_eq!(mpath_path_snapshot(Some(l.r.dev), path, Some(&mut s)), 0);
    s
}

/// Each path keeps the locality it was added with, and service-time
/// weighs it by its relative throughput: with 100 against 1, ten 4 KiB
/// reads in flight all go to the faster path (dm service-time sends the
/// next one where `(in flight + 4 KiB) / throughput` is least). With the
/// throughputs lost both paths would be equal and take turns.
#[test]
fn an_added_path_keeps_its_locality_and_relative_throughput() {
    let service_time = |cfg: &mut MpathConfig| cfg.policy = MpathPolicy::ServiceTime.code();
    let specs = [spec_of(1, 3, 1), spec_of(2, 5, 100)];
    let opt = AluaState::ActiveOptimized;
    let mut l = scsi_lab_with(
        LuConfig::default(),
        &[(1, opt)],
        &[1, 1],
        service_time,
        |i| specs[i],
    );
    l.clear_unit_attentions();
    l.drive(MS);
    let (slow, fast) = (l.paths[0], l.paths[1]);
    assert_eq!(snapshot(&l, slow).locality, 3);
    assert_eq!(snapshot(&l, fast).locality, 5);
    assert_eq!(snapshot(&l, fast).selectable, 1);
    assert_eq!(snapshot(&l, slow).selectable, 1);

    let mut went = Vec::new();
    for tag in 0..10 {
        let (slot, mut disp) = (ticket(), MpathDisposition::default());
        let read = io(tag, MpathIoKind::Read);
        let rc = mpath_submit(
            Some(l.r.dev),
            Some(&read),
            2 * MS,
            Some(&mut disp),
            Some(slot),
        );
        assert_eq!((rc, disp.kind), (0, MpathDispositionKind::Dispatch.code()));
        went.push(ticket_path(slot));
    }
    assert!(went.iter().all(|&p| p == fast), "{went:?}");
}

/// A path added with a transition timeout gives its group that timeout: a
/// group the logical unit reports transitioning (with no IMPLICIT
/// TRANSITION TIME of its own to replace it) times out 3 s after the
/// report, not after the configured 60 s.
#[test]
fn an_added_path_gives_its_group_its_transition_timeout() {
    let lu_cfg = LuConfig {
        implicit_transition_time: 0,
        ..LuConfig::default()
    };
    let spec = |_| MpathPathSpec {
        transition_timeout_ns: 3 * SEC,
        ..spec_of(1, 0, 1)
    };
    let transitioning = AluaState::Transitioning;
    let mut l = scsi_lab_with(lu_cfg, &[(1, transitioning)], &[1], |_| {}, spec);
    let mut cfg = MpathConfig::default();
    assert_eq!(mpath_config(Some(l.r.dev), Some(&mut cfg)), 0);
    assert_eq!(cfg.access.transition_timeout_ns, 60 * SEC, "the default");
    l.clear_unit_attentions();
    l.drive(MS);
    assert_eq!(
        l.group_access(1).state,
        MpathAccessState::Transitioning.code()
    );

    let timed_out = MpathActionKind::TransitionTimedOut.code();
    let mut now = MS;
    let mut when = None;
    while when.is_none() && now < 10 * SEC {
        assert_eq!(mpath_poll_timeout(Some(l.r.dev), Some(&mut now)), 1);
        assert_eq!(mpath_handle_timeout(Some(l.r.dev), now), 0);
        let d = l.drive(now);
        if d.actions
            .iter()
            .any(|a| a.kind == timed_out && a.group == 1)
        {
            when = Some(now);
        }
    }
    let when = when.expect("the group timed out within 10 s");
    assert!((MS + 3 * SEC..MS + 4 * SEC).contains(&when), "{when}");
}
