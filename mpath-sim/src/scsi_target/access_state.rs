//! Which commands a target port answers in each asymmetric access state
//! (SPC-4 5.15.2, SBC-3 4.x), and how it refuses the rest.
//!
//! | state | allowed | others |
//! |---|---|---|
//! | active/optimized, active/non-optimized | all | - |
//! | standby (5.15.2.4.4) | INQUIRY, REPORT LUNS, REPORT/SET TARGET PORT GROUPS, REQUEST SENSE, PERSISTENT RESERVE IN/OUT, READ CAPACITY | NOT READY 04/0B |
//! | unavailable (5.15.2.4.5) | INQUIRY, REPORT LUNS, REPORT/SET TARGET PORT GROUPS, REQUEST SENSE, READ CAPACITY | NOT READY 04/0C |
//! | transitioning (5.15.2.5) | INQUIRY, REPORT LUNS, REPORT TARGET PORT GROUPS, REQUEST SENSE | NOT READY 04/0A |
//! | offline (5.15.2.6) | the port does not answer: [`NotDelivered::PortOffline`](super::NotDelivered::PortOffline) | - |
//!
//! TEST UNIT READY is not in SPC-4's standby list, so a standby path's TUR
//! gets 04/0B: multipath-tools' TUR checker reads that as a ghost path, as
//! it should. READ CAPACITY is allowed in standby and unavailable because
//! SBC-3 lists it for both (so `sd` can size a device through any path), as
//! Linux LIO does. Unsupported operation codes meet the state check first
//! and get NOT READY on an inaccessible port, as with LIO.

use mpath_scsi::AluaState;

use super::cdb::Op;
use super::response::{asc, Failure};

/// Whether a port in `state` answers `op`; the NOT READY it gets if not.
/// Offline is the caller's business (the port does not answer at all), and
/// logical block dependent is never set on this target.
pub fn admit(state: AluaState, op: Op) -> Result<(), Failure> {
    let diagnostic = matches!(
        op,
        Op::Inquiry | Op::ReportLuns | Op::ReportTargetPortGroups | Op::RequestSense
    );
    let (allowed, code) = match state {
        AluaState::ActiveOptimized
        | AluaState::ActiveNonOptimized
        | AluaState::LbaDependent
        | AluaState::Offline => return Ok(()),
        AluaState::Standby => (
            diagnostic
                || matches!(
                    op,
                    Op::SetTargetPortGroups
                        | Op::PersistentReserveIn
                        | Op::PersistentReserveOut
                        | Op::ReadCapacity
                ),
            asc::STANDBY,
        ),
        AluaState::Unavailable => (
            diagnostic || matches!(op, Op::SetTargetPortGroups | Op::ReadCapacity),
            asc::UNAVAILABLE,
        ),
        AluaState::Transitioning => (diagnostic, asc::TRANSITIONING),
    };
    if allowed {
        Ok(())
    } else {
        Err(Failure::not_ready(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Op; 12] = [
        Op::TestUnitReady,
        Op::RequestSense,
        Op::Inquiry,
        Op::ReportLuns,
        Op::ReportTargetPortGroups,
        Op::SetTargetPortGroups,
        Op::PersistentReserveIn,
        Op::PersistentReserveOut,
        Op::ReadCapacity,
        Op::Read,
        Op::Write,
        Op::Unsupported,
    ];

    fn allowed(state: AluaState) -> Vec<Op> {
        ALL.into_iter()
            .filter(|&op| admit(state, op).is_ok())
            .collect()
    }

    #[test]
    fn per_state_tables() {
        assert_eq!(allowed(AluaState::ActiveOptimized), ALL);
        assert_eq!(allowed(AluaState::ActiveNonOptimized), ALL);
        assert_eq!(
            allowed(AluaState::Standby),
            [
                Op::RequestSense,
                Op::Inquiry,
                Op::ReportLuns,
                Op::ReportTargetPortGroups,
                Op::SetTargetPortGroups,
                Op::PersistentReserveIn,
                Op::PersistentReserveOut,
                Op::ReadCapacity,
            ]
        );
        assert_eq!(
            allowed(AluaState::Unavailable),
            [
                Op::RequestSense,
                Op::Inquiry,
                Op::ReportLuns,
                Op::ReportTargetPortGroups,
                Op::SetTargetPortGroups,
                Op::ReadCapacity,
            ]
        );
        assert_eq!(
            allowed(AluaState::Transitioning),
            [
                Op::RequestSense,
                Op::Inquiry,
                Op::ReportLuns,
                Op::ReportTargetPortGroups,
            ]
        );
        assert_eq!(
            admit(AluaState::Standby, Op::TestUnitReady),
            Err(Failure::not_ready(asc::STANDBY))
        );
        assert_eq!(
            admit(AluaState::Unavailable, Op::Read),
            Err(Failure::not_ready(asc::UNAVAILABLE))
        );
        assert_eq!(
            admit(AluaState::Transitioning, Op::Write),
            Err(Failure::not_ready(asc::TRANSITIONING))
        );
    }
}
