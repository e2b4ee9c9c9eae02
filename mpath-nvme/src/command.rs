//! Commands the adapter asks the embedder to send on a path, and the
//! response the embedder brings back.
//!
//! An [`NvmeCommand`] says which path (controller) it goes to, whether it is
//! an admin or an I/O command, its opcode, NSID, command dwords 10-15 and its
//! data: what a submission queue entry needs, without any transport detail.
//! The builders behind it are the wire codecs of this crate
//! ([`crate::log_page`], [`crate::reservation`]). Its [`CommandKind`] says
//! where the [`NvmeResponse`] goes: to
//! [`NvmeAdapter::apply`](crate::adapter::NvmeAdapter::apply), or, for the
//! reservation coordinator's commands, to
//! [`NvmeAdapter::pr_reply`](crate::adapter::NvmeAdapter::pr_reply).
//!
//! # Reservations are host-scoped
//!
//! An NVMe registration belongs to the host (its Host Identifier), not to
//! the controller it was sent through (Base 2.0 "Reservations": a host
//! registers once per namespace and every controller associated with that
//! host shares it). So, unlike SCSI without ALL_TG_PT, registering through
//! any one path registers every path of this host to the namespace, and a
//! reservation held through one controller is held through all of them.
//! [`REGISTRATION_SCOPE`] states that for the reservation coordinator; the
//! builders here take whichever path the coordinator picks.

use mpath_core::path::PathId;
use mpath_core::reservation::PrCommand;

use crate::classify::Delivery;
use crate::error::Error;
use crate::identity::NSID_BROADCAST;
use crate::log_page::GetLogPage;
use crate::reservation::{
    ReservationAcquire, ReservationRegister, ReservationRelease, ReservationReport,
};
use crate::status::Status;

pub use mpath_core::reservation::RegistrationScope;

/// NVMe registrations are host-scoped: register through one path, and every
/// path of the head is registered.
pub const REGISTRATION_SCOPE: RegistrationScope = RegistrationScope::Host;

/// Why a log page is read: what `NvmeAdapter::apply` does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogPurpose {
    /// ANA log for a core `RefreshAccessState`: the states go to the core.
    AnaRefresh,
    /// ANA log used as a probe (`Action::Probe`): the transport result is
    /// the probe's, and the states, if the page came, go to the core.
    AnaProbe,
    /// Reservation Notification log after its asynchronous event: its
    /// notices go to the core.
    ReservationNotification,
    /// Changed Namespace List after a namespace attribute event: the
    /// embedder rescans namespaces (Linux `nvme_scan_work`).
    ChangedNamespaceList,
}

/// Which core action (or follow-up) a command carries out: where its
/// response goes, and what errors name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// Get Log Page (ANA) for `Action::Probe`.
    Probe,
    /// Get Log Page (ANA) for `Action::RefreshAccessState`.
    RefreshAccessState,
    /// Get Log Page (Reservation Notification) after its event.
    ReservationNotification,
    /// Get Log Page (Changed Namespace List) after its event.
    ChangedNamespaceList,
    /// A controller reset for `Action::TransitionTimedOut`.
    ResetController,
    /// A Reservation command: its response goes to
    /// [`NvmeAdapter::pr_reply`](crate::adapter::NvmeAdapter::pr_reply).
    Reservation {
        /// Its opcode.
        opcode: u8,
    },
}

impl CommandKind {
    /// The command's name.
    pub const fn name(self) -> &'static str {
        match self {
            CommandKind::Probe | CommandKind::RefreshAccessState => "Get Log Page (ANA)",
            CommandKind::ReservationNotification => "Get Log Page (Reservation Notification)",
            CommandKind::ChangedNamespaceList => "Get Log Page (Changed Namespace List)",
            CommandKind::ResetController => "controller reset",
            CommandKind::Reservation {
                opcode: ReservationRegister::OPCODE,
            } => "Reservation Register",
            CommandKind::Reservation {
                opcode: ReservationAcquire::OPCODE,
            } => "Reservation Acquire",
            CommandKind::Reservation {
                opcode: ReservationRelease::OPCODE,
            } => "Reservation Release",
            CommandKind::Reservation { .. } => "Reservation Report",
        }
    }
}

/// One command to send on one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NvmeCommand {
    /// Admin Get Log Page (opcode 02h).
    GetLogPage {
        /// The path (controller) to send it to.
        path: PathId,
        /// What the data is for.
        purpose: LogPurpose,
        /// The command dwords.
        cmd: GetLogPage,
    },
    /// Reset the controller behind `path` (PCIe: CC.EN toggle; fabrics:
    /// disconnect and reconnect). Not a command of the command set: Linux
    /// `nvme_anatt_timeout()` calls `nvme_reset_ctrl()` when a group stays in
    /// ANA Change past ANATT, and so does the adapter on
    /// `Action::TransitionTimedOut`.
    ResetController {
        /// A path through the controller.
        path: PathId,
        /// Its controller ID.
        cntlid: u16,
    },
    /// I/O Reservation Register (opcode 0Dh) on the path's namespace.
    ReservationRegister {
        /// The path to send it on (any path: registrations are host-scoped).
        path: PathId,
        /// The namespace.
        nsid: u32,
        /// The command.
        cmd: ReservationRegister,
        /// The coordinator's command it carries out, when
        /// [`NvmeAdapter::pr_command`](crate::adapter::NvmeAdapter::pr_command)
        /// built it: its response goes to `pr_reply`.
        pr: Option<PrCommand>,
    },
    /// I/O Reservation Acquire (opcode 11h).
    ReservationAcquire {
        /// The path to send it on.
        path: PathId,
        /// The namespace.
        nsid: u32,
        /// The command.
        cmd: ReservationAcquire,
        /// The coordinator's command it carries out, if any.
        pr: Option<PrCommand>,
    },
    /// I/O Reservation Release (opcode 15h).
    ReservationRelease {
        /// The path to send it on.
        path: PathId,
        /// The namespace.
        nsid: u32,
        /// The command.
        cmd: ReservationRelease,
        /// The coordinator's command it carries out, if any.
        pr: Option<PrCommand>,
    },
    /// I/O Reservation Report (opcode 0Eh).
    ReservationReport {
        /// The path to send it on.
        path: PathId,
        /// The namespace.
        nsid: u32,
        /// The command.
        cmd: ReservationReport,
        /// The coordinator's command it carries out (read keys or read
        /// reservation: both are a Reservation Report), if any.
        pr: Option<PrCommand>,
    },
}

impl NvmeCommand {
    /// The path the command goes to.
    pub fn path(&self) -> PathId {
        match *self {
            NvmeCommand::GetLogPage { path, .. }
            | NvmeCommand::ResetController { path, .. }
            | NvmeCommand::ReservationRegister { path, .. }
            | NvmeCommand::ReservationAcquire { path, .. }
            | NvmeCommand::ReservationRelease { path, .. }
            | NvmeCommand::ReservationReport { path, .. } => path,
        }
    }

    /// What it is for: where its response goes.
    pub fn kind(&self) -> CommandKind {
        match self {
            NvmeCommand::GetLogPage { purpose, .. } => match purpose {
                LogPurpose::AnaProbe => CommandKind::Probe,
                LogPurpose::AnaRefresh => CommandKind::RefreshAccessState,
                LogPurpose::ReservationNotification => CommandKind::ReservationNotification,
                LogPurpose::ChangedNamespaceList => CommandKind::ChangedNamespaceList,
            },
            NvmeCommand::ResetController { .. } => CommandKind::ResetController,
            NvmeCommand::ReservationRegister { .. } => CommandKind::Reservation {
                opcode: ReservationRegister::OPCODE,
            },
            NvmeCommand::ReservationAcquire { .. } => CommandKind::Reservation {
                opcode: ReservationAcquire::OPCODE,
            },
            NvmeCommand::ReservationRelease { .. } => CommandKind::Reservation {
                opcode: ReservationRelease::OPCODE,
            },
            NvmeCommand::ReservationReport { .. } => CommandKind::Reservation {
                opcode: ReservationReport::OPCODE,
            },
        }
    }

    /// The reservation coordinator's command this carries out, if
    /// [`NvmeAdapter::pr_command`](crate::adapter::NvmeAdapter::pr_command)
    /// built it.
    pub fn pr_command(&self) -> Option<PrCommand> {
        match *self {
            NvmeCommand::ReservationRegister { pr, .. }
            | NvmeCommand::ReservationAcquire { pr, .. }
            | NvmeCommand::ReservationRelease { pr, .. }
            | NvmeCommand::ReservationReport { pr, .. } => pr,
            NvmeCommand::GetLogPage { .. } | NvmeCommand::ResetController { .. } => None,
        }
    }

    /// Whether it goes on the admin queue.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            NvmeCommand::GetLogPage { .. } | NvmeCommand::ResetController { .. }
        )
    }

    /// The opcode; `None` for [`NvmeCommand::ResetController`], which is a
    /// controller-level operation rather than a command.
    pub fn opcode(&self) -> Option<u8> {
        match self {
            NvmeCommand::GetLogPage { .. } => Some(GetLogPage::OPCODE),
            NvmeCommand::ResetController { .. } => None,
            NvmeCommand::ReservationRegister { .. } => Some(ReservationRegister::OPCODE),
            NvmeCommand::ReservationAcquire { .. } => Some(ReservationAcquire::OPCODE),
            NvmeCommand::ReservationRelease { .. } => Some(ReservationRelease::OPCODE),
            NvmeCommand::ReservationReport { .. } => Some(ReservationReport::OPCODE),
        }
    }

    /// The NSID field of the submission queue entry. Log pages multipath
    /// reads are controller-wide: FFFFFFFFh, as Linux `nvme_get_log()` is
    /// called with `NVME_NSID_ALL` for the ANA log.
    pub fn nsid(&self) -> u32 {
        match *self {
            NvmeCommand::GetLogPage { .. } => NSID_BROADCAST,
            NvmeCommand::ResetController { .. } => 0,
            NvmeCommand::ReservationRegister { nsid, .. }
            | NvmeCommand::ReservationAcquire { nsid, .. }
            | NvmeCommand::ReservationRelease { nsid, .. }
            | NvmeCommand::ReservationReport { nsid, .. } => nsid,
        }
    }

    /// Command dwords 10 through 15 (unused ones zero).
    pub fn cdws(&self) -> [u32; 6] {
        match self {
            NvmeCommand::GetLogPage { cmd, .. } => {
                let [a, b, c, d] = cmd.cdws();
                [a, b, c, d, 0, 0]
            }
            NvmeCommand::ResetController { .. } => [0; 6],
            NvmeCommand::ReservationRegister { cmd, .. } => [cmd.cdw10(), 0, 0, 0, 0, 0],
            NvmeCommand::ReservationAcquire { cmd, .. } => [cmd.cdw10(), 0, 0, 0, 0, 0],
            NvmeCommand::ReservationRelease { cmd, .. } => [cmd.cdw10(), 0, 0, 0, 0, 0],
            NvmeCommand::ReservationReport { cmd, .. } => [cmd.cdw10(), cmd.cdw11(), 0, 0, 0, 0],
        }
    }

    /// Bytes the command sends to the controller (the reservation keys).
    pub fn data_out_len(&self) -> usize {
        match self {
            NvmeCommand::ReservationRegister { .. } => ReservationRegister::DATA_LEN,
            NvmeCommand::ReservationAcquire { .. } => ReservationAcquire::DATA_LEN,
            NvmeCommand::ReservationRelease { .. } => ReservationRelease::DATA_LEN,
            _ => 0,
        }
    }

    /// Writes the data the command sends into `buf`; returns its length.
    pub fn emit_data_out(&self, buf: &mut [u8]) -> Result<usize, Error> {
        match self {
            NvmeCommand::ReservationRegister { cmd, .. } => cmd.emit_data(buf)?,
            NvmeCommand::ReservationAcquire { cmd, .. } => cmd.emit_data(buf)?,
            NvmeCommand::ReservationRelease { cmd, .. } => cmd.emit_data(buf)?,
            _ => {}
        }
        Ok(self.data_out_len())
    }

    /// Bytes the command reads from the controller (the buffer to post).
    pub fn data_in_len(&self) -> u64 {
        match self {
            NvmeCommand::GetLogPage { cmd, .. } => cmd.transfer_len(),
            NvmeCommand::ReservationReport { cmd, .. } => cmd.transfer_len(),
            _ => 0,
        }
    }
}

/// What came back for a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NvmeResponse<'a> {
    /// How it ended: the completion's status, or the transport's verdict.
    pub delivery: Delivery,
    /// The data the controller returned (log page, Reservation Report);
    /// empty for none.
    pub data_in: &'a [u8],
}

impl<'a> NvmeResponse<'a> {
    /// Successful completion without data.
    pub const SUCCESS: NvmeResponse<'static> = NvmeResponse {
        delivery: Delivery::Completed(Status::SUCCESS),
        data_in: &[],
    };

    /// Successful completion with `data_in`.
    pub const fn good(data_in: &'a [u8]) -> Self {
        NvmeResponse {
            delivery: Delivery::Completed(Status::SUCCESS),
            data_in,
        }
    }

    /// A completion with another status, or a transport failure, without
    /// data.
    pub const fn delivery(delivery: Delivery) -> Self {
        NvmeResponse {
            delivery,
            data_in: &[],
        }
    }
}
