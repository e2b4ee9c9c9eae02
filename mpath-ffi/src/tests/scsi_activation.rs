//! Explicit ALUA activation through the SCSI exports: a device whose only
//! group is standby asks for SET TARGET PORT GROUPS, and what the logical
//! unit answers reaches the device as an activation result.

use super::scsi::{scsi_lab_with, ScsiLab};
use super::*;
use crate::adapter::MpathApplied;
use mpath_scsi::AluaState;
use mpath_sim::scsi_target::LuConfig;

const SEC: u64 = 1_000 * MS;

/// One standby target port group behind one path, added with its state
/// (no REPORT TARGET PORT GROUPS first), explicit activation on.
fn standby_lab() -> ScsiLab {
    let explicit = |cfg: &mut MpathConfig| cfg.access.explicit_activation = 1;
    let spec = |_| MpathPathSpec {
        nexus: 1,
        relative_throughput: 1,
        has_access: 1,
        access: MpathGroupAccess {
            state: MpathAccessState::Standby.code(),
            ..MpathGroupAccess::default()
        },
        ..MpathPathSpec::default()
    };
    let sby = AluaState::Standby;
    scsi_lab_with(LuConfig::default(), &[(1, sby)], &[1], explicit, spec)
}

fn activations(applied: &[MpathApplied]) -> Vec<u32> {
    applied
        .iter()
        .filter(|a| a.kind == MpathAppliedKind::Activation.code())
        .map(|a| a.activation)
        .collect()
}

/// The first SET TARGET PORT GROUPS meets the unit attention of the
/// login: `Retry` goes to the device, which sends it again after its
/// activation delay; the logical unit accepts that one (`Done`), makes
/// the group active/optimized, and the device, re-reading the states,
/// sees it so.
#[test]
fn a_standby_group_is_activated_and_each_result_is_reported() {
    let mut l = standby_lab();
    let d = l.drive(MS);
    let stpg: Vec<_> = d
        .commands
        .iter()
        .filter(|c| c.kind == MpathScsiCommandKind::ActivateGroup.code())
        .collect();
    assert_eq!(stpg.len(), 1, "{:?}", d.commands);
    assert_eq!((stpg[0].cdb[0], stpg[0].cdb[1] & 0x1f), (0xa4, 0x0a));
    let retry = MpathActivationResult::Retry.code();
    assert_eq!(activations(&d.applied), [retry], "{:?}", d.applied);
    assert_eq!(l.group_access(1).state, MpathAccessState::Standby.code());

    let mut now = MS;
    let mut results = Vec::new();
    while results.is_empty() && now < 10 * SEC {
        assert_eq!(mpath_poll_timeout(Some(l.r.dev), Some(&mut now)), 1);
        assert_eq!(mpath_handle_timeout(Some(l.r.dev), now), 0);
        results = activations(&l.drive(now).applied);
    }
    assert_eq!(results, [MpathActivationResult::Done.code()]);
    assert_eq!(l.lu.group_state(1), Some(AluaState::ActiveOptimized));
    assert_eq!(l.group_access(1).state, MpathAccessState::Optimized.code());
}
