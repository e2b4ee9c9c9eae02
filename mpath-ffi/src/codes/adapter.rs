//! Codes of the transport adapters (`mpath_scsi_*`, `mpath_nvme_*`): how a
//! command was delivered, which way its data goes, what it is for, and
//! what applying its response did.

use mpath_core::{ActivationResult, ProbeResult};
use mpath_nvme::ana::AnaState;
use mpath_nvme::reservation::Cptpl;
use mpath_scsi::TransportStatus;

use super::{MpathActivationResult, MpathProbeResult, MPATH_CODE_UNKNOWN};

c_enum! {
    /// The transport's verdict on a SCSI command's delivery
    /// ([`TransportStatus`]; Linux's host byte).
    pub enum MpathScsiTransport {
        /// Delivered: the status byte and sense data are meaningful.
        Ok = 0,
        /// Could not connect to the target port (DID_NO_CONNECT).
        NoConnect = 1,
        /// The connection broke while the command was outstanding
        /// (DID_TRANSPORT_DISRUPTED).
        Disrupted = 2,
        /// The transport gave up quickly on a lost port
        /// (DID_TRANSPORT_FAILFAST).
        FailFast = 3,
        /// The command timed out and was aborted (DID_TIME_OUT).
        Timeout = 4,
        /// The transport declared the path marginal (DID_TRANSPORT_MARGINAL).
        Marginal = 5,
        /// The initiator aborted the command (DID_ABORT).
        Aborted = 6,
    }
}

impl MpathScsiTransport {
    pub(crate) const fn to_core(self) -> TransportStatus {
        match self {
            Self::Ok => TransportStatus::Ok,
            Self::NoConnect => TransportStatus::NoConnect,
            Self::Disrupted => TransportStatus::Disrupted,
            Self::FailFast => TransportStatus::FailFast,
            Self::Timeout => TransportStatus::Timeout,
            Self::Marginal => TransportStatus::Marginal,
            Self::Aborted => TransportStatus::Aborted,
        }
    }
}

c_enum! {
    /// Which way a command's data moves (SAM-5's data-in and data-out
    /// buffers; Linux `DMA_TO_DEVICE` / `DMA_FROM_DEVICE`).
    pub enum MpathDataDirection {
        /// No data phase.
        None = 0,
        /// Data-out: the parameter list in the command goes to the device.
        ToDevice = 1,
        /// Data-in: up to `data_in_len` bytes come back.
        FromDevice = 2,
    }
}

c_enum! {
    /// What a SCSI command carries out
    /// ([`CommandKind`](mpath_scsi::CommandKind)).
    pub enum MpathScsiCommandKind {
        /// TEST UNIT READY for a `Probe` action.
        Probe = 0,
        /// REPORT TARGET PORT GROUPS for a `RefreshAccessState` action.
        RefreshAccessState = 1,
        /// SET TARGET PORT GROUPS for an `ActivateGroup` action.
        ActivateGroup = 2,
        /// PERSISTENT RESERVE OUT or IN for a `Reservation` action.
        Reservation = 3,
    }
}

c_enum! {
    /// What an NVMe command carries out
    /// ([`CommandKind`](mpath_nvme::CommandKind)).
    pub enum MpathNvmeCommandKind {
        /// Get Log Page (ANA) for a `Probe` action: NVMe has no TEST UNIT
        /// READY.
        Probe = 0,
        /// Get Log Page (ANA) for a `RefreshAccessState` action.
        RefreshAccessState = 1,
        /// Get Log Page (Reservation Notification) after its event.
        ReservationNotification = 2,
        /// Get Log Page (Changed Namespace List) after its event.
        ChangedNamespaceList = 3,
        /// Not a command: reset the controller (PCIe CC.EN, fabrics
        /// reconnect), as Linux `nvme_anatt_timeout()` does, then apply a
        /// successful response.
        ResetController = 4,
        /// A Reservation command for a `Reservation` action.
        Reservation = 5,
    }
}

c_enum! {
    /// The queue an NVMe command goes on.
    pub enum MpathNvmeQueue {
        /// The admin queue (Get Log Page).
        Admin = 0,
        /// An I/O queue (Reservation commands).
        Io = 1,
    }
}

c_enum! {
    /// How an NVMe command reached its end
    /// ([`Delivery`](mpath_nvme::classify::Delivery)).
    pub enum MpathNvmeDelivery {
        /// A completion queue entry arrived: its Dword 3 holds the status.
        Completed = 0,
        /// No completion within the I/O timeout.
        Timeout = 1,
        /// The transport connection was lost before the completion.
        ConnectionLost = 2,
        /// The controller was reset and the command cancelled.
        ControllerReset = 3,
    }
}

c_enum! {
    /// An ANA state as the ANA log page codes it ([`AnaState`]), for a
    /// path added with the state read during discovery.
    pub enum MpathAnaState {
        /// No state was read: the device asks for the ANA log first.
        NotRead = 0,
        /// 01h: ANA Optimized.
        Optimized = 1,
        /// 02h: ANA Non-Optimized.
        NonOptimized = 2,
        /// 03h: ANA Inaccessible.
        Inaccessible = 3,
        /// 04h: ANA Persistent Loss.
        PersistentLoss = 4,
        /// 0Fh: ANA Change.
        Change = 15,
    }
}

impl MpathAnaState {
    pub(crate) const fn to_nvme(self) -> Option<AnaState> {
        match self {
            Self::NotRead => None,
            Self::Optimized => Some(AnaState::Optimized),
            Self::NonOptimized => Some(AnaState::NonOptimized),
            Self::Inaccessible => Some(AnaState::Inaccessible),
            Self::PersistentLoss => Some(AnaState::PersistentLoss),
            Self::Change => Some(AnaState::Change),
        }
    }
}

c_enum! {
    /// Change Persist Through Power Loss State, as Reservation Register
    /// codes it ([`Cptpl`]): what every registration asks for.
    pub enum MpathCptpl {
        /// 00b: leave PTPL as it is.
        NoChange = 0,
        /// 10b: reservations and registrations are released on power loss.
        Clear = 2,
        /// 11b: they persist across power loss (Linux `nvme_pr_register()`).
        Persist = 3,
    }
}

impl MpathCptpl {
    pub(crate) const fn to_nvme(self) -> Cptpl {
        match self {
            Self::NoChange => Cptpl::NoChange,
            Self::Clear => Cptpl::Clear,
            Self::Persist => Cptpl::Persist,
        }
    }
}

c_enum! {
    /// What applying a command's response did
    /// ([`MpathApplied`](crate::adapter::MpathApplied)`::kind`).
    pub enum MpathAppliedKind {
        /// A probe result went to the device (`probe`).
        Probe = 0,
        /// SCSI: a unit attention answered the TEST UNIT READY; its notices
        /// went to the device; send `next` now.
        ProbeAgain = 1,
        /// Access states went to the device (`count`: SCSI groups, NVMe
        /// paths) and its refresh finished.
        Refresh = 2,
        /// SCSI: the REPORT TARGET PORT GROUPS answer cannot be used as it
        /// is (too short, or the extended header refused); send `next`.
        Reissue = 3,
        /// SCSI: an activation result went to the device (`activation`).
        Activation = 4,
        /// A reservation command's answer went to the device (`pr`, and
        /// the notices in `notices`).
        Reservation = 5,
        /// A reservation command is to be sent again, or in another form
        /// (`next`); its notices went to the device.
        ReservationResend = 6,
        /// NVMe: a Reservation Notification log's notices went to the
        /// device; `count` more pages are queued (`next` reads the next).
        Notification = 7,
        /// NVMe: the Changed Namespace List was read: rescan namespaces.
        ChangedNamespaces = 8,
        /// NVMe: the controller reset is done.
        Reset = 9,
        /// The command failed or its data was unusable: what the adapter
        /// does with that went to the device, and `result` says why.
        Failed = 10,
    }
}

impl MpathProbeResult {
    pub(crate) const fn of(p: ProbeResult) -> u32 {
        match p {
            ProbeResult::Up => Self::Up.code(),
            ProbeResult::Ghost => Self::Ghost.code(),
            ProbeResult::Pending => Self::Pending.code(),
            ProbeResult::Down => Self::Down.code(),
            ProbeResult::Retry => Self::Retry.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

impl MpathActivationResult {
    pub(crate) const fn of(a: ActivationResult) -> u32 {
        match a {
            ActivationResult::Done => Self::Done.code(),
            ActivationResult::Retry => Self::Retry.code(),
            ActivationResult::Failed => Self::Failed.code(),
        }
    }
}
