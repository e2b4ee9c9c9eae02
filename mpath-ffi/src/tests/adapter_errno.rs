//! The adapters' errors as errno, table by table (`errno.rs`): one value
//! per kind of failure, the same for both transports.

use crate::errno::*;
use mpath_core::{Duration, GroupId, Outcome, PathErrorKind, PathId, RetryReason, TargetError};
use mpath_scsi::{CommandKind as ScsiKind, WireError, WireErrorKind};

#[test]
fn a_failed_command_maps_by_its_outcome() {
    let retry = Outcome::Retry {
        reason: RetryReason::Busy,
        delay: Duration::from_nanos(1),
    };
    for (o, e) in [
        (Outcome::PathError(PathErrorKind::Timeout), -ENOLINK),
        (Outcome::TargetError(TargetError::Medium), -ENODATA),
        (Outcome::ReservationConflict, -EBADE),
        (retry, -EAGAIN),
        (Outcome::Success, -EIO),
    ] {
        assert_eq!(of_outcome(o), e, "{o:?}");
    }
}

#[test]
fn scsi_adapter_errors_map_by_what_went_wrong() {
    use mpath_scsi::AdapterError as A;
    let wire = WireError::new(WireErrorKind::Truncated, "RETURN DATA LENGTH", 0);
    let command = ScsiKind::Probe;
    let p = PathId::from_raw(1);
    for (err, e) in [
        (A::Wire(wire), -EBADMSG),
        (A::GroupNotInRtpg { tpg: 3 }, -EBADMSG),
        (A::UnknownPath(p), -ESTALE),
        (A::WrongLogicalUnit, -EXDEV),
        (A::PathTableFull, -ENOSPC),
        (A::UnknownGroup(GroupId(9)), -ENOENT),
        (A::NoMoveDestination, -ENOENT),
        (A::NotAlua(p), -EOPNOTSUPP),
        (
            A::ExplicitAluaUnsupported { group: GroupId(1) },
            -EOPNOTSUPP,
        ),
        (
            A::CommandFailed {
                command,
                outcome: Outcome::ReservationConflict,
            },
            -EBADE,
        ),
        (
            A::UnexpectedData {
                command,
                len: 9,
                allowed: 0,
            },
            -EMSGSIZE,
        ),
        (A::RtpgTooLarge { required: 1 << 20 }, -E2BIG),
        (A::PrInTooLarge { required: 1 << 20 }, -E2BIG),
        (A::WrongEntry { command }, -EPROTO),
        (A::Core(mpath_core::Error::StalePath(p)), -ESTALE),
    ] {
        assert_eq!(of_scsi_adapter_error(err), e, "{err:?}");
    }
}

#[test]
fn nvme_adapter_errors_map_by_what_went_wrong() {
    use mpath_nvme::AdapterError as A;
    use mpath_nvme::CommandKind;
    let wire = mpath_nvme::Error::Truncated {
        field: "ANA log",
        offset: 0,
        needed: 16,
    };
    let command = CommandKind::RefreshAccessState;
    let p = PathId::from_raw(1);
    for (err, e) in [
        (A::Wire(wire), -EBADMSG),
        (A::NsidNotInLog { path: p, nsid: 1 }, -EBADMSG),
        (
            A::GroupNotInLog {
                path: p,
                anagrpid: 1,
            },
            -EBADMSG,
        ),
        (A::UnknownPath(p), -ESTALE),
        (A::WrongHead, -EXDEV),
        (A::PathTableFull, -ENOSPC),
        (A::UnknownGroup(GroupId(9)), -ENOENT),
        (A::NoAnaReporting(p), -EOPNOTSUPP),
        (A::ActivationUnsupported { group: GroupId(1) }, -EOPNOTSUPP),
        (
            A::Unsupported {
                command: "REGISTER AND MOVE",
            },
            -EOPNOTSUPP,
        ),
        (A::AnaLogTooLarge { cntlid: 1 }, -E2BIG),
        (
            A::CommandFailed {
                command,
                outcome: Outcome::PathError(PathErrorKind::Transport),
            },
            -ENOLINK,
        ),
        (
            A::UnexpectedData {
                command,
                len: 9,
                allowed: 0,
            },
            -EMSGSIZE,
        ),
        (A::WrongEntry { command }, -EPROTO),
        (A::Core(mpath_core::Error::HeadRemoved), -ENODEV),
    ] {
        assert_eq!(of_nvme_adapter_error(err), e, "{err:?}");
    }
}

/// Each reservation refusal has its own errno (but the two kinds of bad
/// input), and the device's refusals of an operation keep theirs.
#[test]
fn reservation_refusals_map_one_errno_each() {
    use mpath_core::reservation::PrError as P;
    use mpath_core::DeviceError as D;
    let table = [
        (P::Busy, -EAGAIN),
        (P::NoPath, -ENOLINK),
        (P::NotRegistered, -ENOKEY),
        (P::Conflict, -EBADE),
        (P::Refused, -EREMOTEIO),
        (P::NotHolder, -EPERM),
        (P::Fenced, -EACCES),
        (P::ZeroKey, -EINVAL),
        (P::BadTransportId, -EINVAL),
    ];
    for (err, e) in table {
        assert_eq!(of_pr_error(err), e, "{err:?}");
        assert_eq!(of_device_error(D::Reservation(err)), e, "{err:?}");
    }
    let removed = D::Device(mpath_core::Error::HeadRemoved);
    assert_eq!(of_device_error(removed), -ENODEV);
}

/// An I/O's end as a block driver's errno (`blk_status_t`), target
/// errors by kind; the kinds without one of their own are `-EIO`.
#[test]
fn io_errors_map_as_the_block_layer_ends_them() {
    use mpath_core::IoError as I;
    let targets = [
        (TargetError::Medium, -ENODATA),
        (TargetError::Hardware, -EIO),
        (TargetError::IllegalRequest, -EREMOTEIO),
        (TargetError::DataProtect, -EREMOTEIO),
        (TargetError::NoSpace, -ENOSPC),
        (TargetError::Protection, -EILSEQ),
        (TargetError::Other, -EIO),
    ];
    for (t, e) in targets {
        assert_eq!(of_target_error(t), e, "{t:?}");
        assert_eq!(of_io_error(I::Target(t)), e, "{t:?}");
    }
    for (err, e) in [
        (I::NoPath, -EIO),
        (I::RetriesExhausted, -EIO),
        (I::HeadRemoved, -ENODEV),
        (I::ReservationConflict, -EBADE),
        (I::Fenced, -EBADE),
        (I::Cancelled, -ECANCELED),
    ] {
        assert_eq!(of_io_error(err), e, "{err:?}");
    }
}
