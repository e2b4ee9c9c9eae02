//! The NVMe adapter: core actions to NVMe commands, NVMe results to core
//! events. Sans-IO like the core: it sends nothing, reads no clock, and
//! holds only what it must remember per path.
//!
//! One [`NvmeAdapter`] serves one multipath head (one [`NsIdentity`]) and
//! sits beside that head's device: a [`Device`](mpath_core::Device)
//! (controller and reservation coordinator behind one door), a bare
//! [`Controller`](mpath_core::Controller), a simulator or C glue. What the
//! adapter asks of it is the small trait [`DeviceInputs`]; every method
//! that feeds the device takes `dev: &mut dyn DeviceInputs`, for the
//! reasons `mpath_scsi::adapter` gives (one copy of the adapter's code
//! whatever the device's type parameters; control-plane calls, where an
//! indirect call costs nothing that matters). The SCSI adapter has the
//! same shape: the same methods for the same steps (`add_path`,
//! `remove_path`, `map_action`, `settle_unmapped`, `apply`,
//! `classify_completion`, `pr_command`, `pr_reply`), the same error
//! variants for the same failures, the same reservation step type. Call
//! order:
//!
//! 1. Discover: Identify Controller and Identify Namespace per controller,
//!    [`NvmePath::from_identify`], optionally read the ANA log, then
//!    [`NvmeAdapter::add_path`] (which adds the path to the device). Run
//!    the core with [`NvmeAdapter::core_config`] and, for a `Device`,
//!    [`REGISTRATION_SCOPE`](crate::command::REGISTRATION_SCOPE).
//! 2. After every input, drain the device's `poll_action` and pass each
//!    action to [`NvmeAdapter::map_action`]: `Some(cmd)` is a command to
//!    send; `None` is an action the embedder carries out itself (dispatch,
//!    fail, head live/removed); an error names an action that has no NVMe
//!    command, and [`NvmeAdapter::settle_unmapped`] tells the device so. A
//!    `Device`'s `Action::Reservation` goes to [`NvmeAdapter::pr_command`].
//! 3. Feed each command's [`NvmeResponse`] back with [`NvmeAdapter::apply`],
//!    the one entry point for a response; Reservation command responses go
//!    to [`NvmeAdapter::pr_reply`], whose [`PrStep`](crate::pr::PrStep) is
//!    the answer for the device's `handle_reservation_reply` or the command
//!    to resend. An Asynchronous Event Request completion goes to
//!    [`NvmeAdapter::apply_aen`]; for I/O,
//!    [`NvmeAdapter::classify_completion`] gives the completion for the
//!    device's `handle_completion`.
//!
//! A response on a path the adapter does not know (never added, removed,
//! forgotten) is refused with [`AdapterError::UnknownPath`] and changes
//! nothing.
//!
//! # Groups
//!
//! ANA state is per controller: the same ANA group can be optimized through
//! one controller and inaccessible through another, so the core's group is
//! (CNTLID, ANAGRPID). A namespace has one ANAGRPID, so within one head
//! there is one such pair per controller. The pair does not fit a
//! `GroupId(u32)` (CNTLID is 16 bits, ANAGRPID 32), and hashing it could
//! collide, so the adapter keeps a table: the group of a pair is the group of
//! a path that already has the pair, else the lowest index `0..P` no path
//! uses. Ids are therefore at most `P` distinct values, which keeps the
//! core's group table bounded while fabrics controllers come back with
//! fresh CNTLIDs. A namespace that moves to another ANA group keeps its
//! core group: a controller is one path of the namespace, so the group is
//! that path's alone, and the adapter only updates the ANAGRPID it looks
//! the path up by. Because an id may be reused,
//! every [`PathSpec`] the adapter builds carries an access state, so a
//! reused id never inherits the previous controller's state.
//!
//! # No explicit activation
//!
//! NVMe has no counterpart of SCSI SET TARGET PORT GROUPS: the controller
//! alone changes ANA states. Run the core with
//! `explicit_activation = false` ([`NvmeAdapter::core_config`]);
//! `Action::ActivateGroup` is refused with a typed error.

use mpath_core::{
    AccessProtocol, AccessState, Action, ActivationResult, Config, DeviceInputs, GroupAccess,
    GroupId, Instant, Notices, Outcome, PathId, PathRecord, PathSpec, PathTable, ProbeResult,
};

use crate::ana::AnaState;
use crate::command::{CommandKind, LogPurpose, NvmeCommand};
use crate::identify::Crdt;
use crate::identity::{IdentityError, NsIdentity, NvmePath};
use crate::log_page::GetLogPage;
use crate::reservation::Cptpl;

#[cfg(doc)]
use crate::command::NvmeResponse;

/// The initiator port every path of an NVMe head registers for: NVMe
/// registrations belong to the host (its Host Identifier), so one number
/// serves them all (see [`REGISTRATION_SCOPE`](crate::command::REGISTRATION_SCOPE)).
pub const HOST_PORT: u32 = 0;

/// Why the adapter refused an input or could not map an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The core refused the input the adapter made of it.
    #[error("core: {0}")]
    Core(#[from] mpath_core::Error),
    /// A log page or command could not be parsed or built; names the field
    /// and its offset.
    #[error("wire: {0}")]
    Wire(#[from] crate::Error),
    /// The path could not be described.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The adapter has no record of this path (never added, or removed).
    #[error("path {0} unknown to the NVMe adapter")]
    UnknownPath(PathId),
    /// The path belongs to another namespace or subsystem than this head.
    #[error("path to another namespace than this head's")]
    WrongHead,
    /// The adapter's path table (`P`) is full.
    #[error("adapter path table full")]
    PathTableFull,
    /// No path of the adapter is in this group.
    #[error("no path in group {0:?}")]
    UnknownGroup(GroupId),
    /// The controller does not report ANA (CMIC bit 3 clear): there is no
    /// ANA log to read or apply.
    #[error("controller of path {0} does not report ANA")]
    NoAnaReporting(PathId),
    /// The whole ANA log page does not fit one Get Log Page transfer.
    #[error("ANA log of controller {cntlid} too large")]
    AnaLogTooLarge {
        /// The controller.
        cntlid: u16,
    },
    /// The ANA log (with NSID lists) does not list a namespace the path
    /// reaches: the page says nothing about the path's state.
    #[error("ANA log through path {path} does not list NSID {nsid}")]
    NsidNotInLog {
        /// The path the log was read through.
        path: PathId,
        /// The missing namespace.
        nsid: u32,
    },
    /// The ANA log (read with RGO) has no descriptor for the namespace's
    /// ANA group.
    #[error("ANA log through path {path} has no group {anagrpid}")]
    GroupNotInLog {
        /// The path the log was read through.
        path: PathId,
        /// The missing ANAGRPID.
        anagrpid: u32,
    },
    /// NVMe has no explicit activation; report
    /// [`ActivationResult::Failed`] (see [`NvmeAdapter::settle_unmapped`]).
    #[error("NVMe has no explicit activation (group {group:?})")]
    ActivationUnsupported {
        /// The group the core wanted activated.
        group: GroupId,
    },
    /// The command ended without success; the outcome is the classified
    /// status or transport verdict.
    #[error("{} failed: {outcome:?}", command.name())]
    CommandFailed {
        /// Which command.
        command: CommandKind,
        /// How it ended.
        outcome: Outcome,
    },
    /// More data came back than the command asked for.
    #[error("{} returned {len} bytes of data, allowed {allowed}", command.name())]
    UnexpectedData {
        /// Which command.
        command: CommandKind,
        /// Bytes received.
        len: usize,
        /// Bytes the command allowed.
        allowed: usize,
    },
    /// The coordinator asked for a command NVMe does not have (REGISTER AND
    /// MOVE: reservations are per host, none moves to another); nothing
    /// was built. Answer the device `PrReply::Refused`.
    #[error("{command} has no NVMe equivalent")]
    Unsupported {
        /// The coordinator's command, in SCSI's words.
        command: &'static str,
    },
    /// A response was handed to the wrong entry point: Reservation command
    /// responses go to `pr_reply`, every other one to `apply`.
    #[error("{} response handed to the wrong entry point", command.name())]
    WrongEntry {
        /// The command whose response it was.
        command: CommandKind,
    },
}

/// What the adapter remembers about one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdapterPath {
    /// The core's handle.
    pub id: PathId,
    /// The controller.
    pub cntlid: u16,
    /// The namespace's ANA group through this controller (updated when an
    /// ANA log lists the namespace in another group).
    pub anagrpid: u32,
    /// The core group of (cntlid, anagrpid).
    pub group: GroupId,
    /// Whether the controller reports ANA.
    pub ana_reporting: bool,
    /// ANATT in seconds.
    pub anatt: u8,
    /// ANAGRPMAX, for validating the ANA log.
    pub anagrpmax: u32,
    /// Bytes of the ANA log read through this controller.
    pub ana_log_len: u32,
    /// Command Retry Delay Times.
    pub crdt: Crdt,
}

impl PathRecord for AdapterPath {
    fn path_id(&self) -> PathId {
        self.id
    }
}

/// The NVMe adapter of one multipath head with room for `P` paths.
#[derive(Clone, Debug)]
pub struct NvmeAdapter<const P: usize> {
    identity: NsIdentity,
    rgo: bool,
    ptpl: Cptpl,
    paths: PathTable<AdapterPath, P>,
}

impl<const P: usize> NvmeAdapter<P> {
    /// An adapter for the head of `identity`, reading ANA logs with NSID
    /// lists (as Linux does).
    pub const fn new(identity: NsIdentity) -> Self {
        NvmeAdapter {
            identity,
            rgo: false,
            ptpl: Cptpl::NoChange,
            paths: PathTable::new(),
        }
    }

    /// The same adapter asking, in every Reservation Register that
    /// registers a key, for the namespace's Persist Through Power Loss
    /// state to be `cptpl` (Linux `nvme_pr_register()` always asks for
    /// [`Cptpl::Persist`]; the default, [`Cptpl::NoChange`], leaves it to
    /// the administrator). Unregistering never changes it.
    #[must_use]
    pub const fn with_ptpl(mut self, cptpl: Cptpl) -> Self {
        self.ptpl = cptpl;
        self
    }

    /// The CPTPL field registrations carry.
    pub const fn ptpl(&self) -> Cptpl {
        self.ptpl
    }

    /// The same adapter reading ANA logs with Return Groups Only: smaller
    /// pages; the namespace's group comes from Identify Namespace, so a
    /// namespace moved to another group is seen only after re-identifying.
    #[must_use]
    pub const fn with_rgo(mut self, rgo: bool) -> Self {
        self.rgo = rgo;
        self
    }

    /// `cfg` made fit for NVMe: ANA protocol (I/O reporting a transition marks
    /// the group in ANA Change), no explicit activation.
    pub fn core_config(cfg: Config) -> Config {
        let mut cfg = cfg;
        cfg.access.protocol = AccessProtocol::Ana;
        cfg.access.explicit_activation = false;
        cfg
    }

    // ----- getters -----

    /// The head's identity.
    pub fn identity(&self) -> &NsIdentity {
        &self.identity
    }

    /// Whether ANA logs are read with Return Groups Only.
    pub fn rgo(&self) -> bool {
        self.rgo
    }

    /// What the adapter remembers about `path`.
    pub fn path(&self, path: PathId) -> Result<&AdapterPath, AdapterError> {
        self.paths.get(path).ok_or(AdapterError::UnknownPath(path))
    }

    /// Every path the adapter knows.
    pub fn paths(&self) -> impl Iterator<Item = &AdapterPath> + '_ {
        self.paths.iter()
    }

    /// The core group of (cntlid, anagrpid): see the module documentation.
    pub fn group_for(&self, cntlid: u16, anagrpid: u32) -> Result<GroupId, AdapterError> {
        if let Some(p) = self
            .paths()
            .find(|p| p.cntlid == cntlid && p.anagrpid == anagrpid)
        {
            return Ok(p.group);
        }
        (0..P)
            .filter_map(|i| u32::try_from(i).ok())
            .map(GroupId)
            .find(|g| self.paths().all(|p| p.group != *g))
            .ok_or(AdapterError::PathTableFull)
    }

    // ----- membership -----

    /// The core's [`PathSpec`] for `path`, with the ANA state read for it
    /// (`access`) if any. The spec always carries a state: without ANA,
    /// optimized; with ANA and no state read yet, inaccessible (Linux does
    /// not use a path before its ANA state is known), and a state in change
    /// is also given as inaccessible, so that [`add_path`](Self::add_path)
    /// can set ANATT before reporting the change.
    pub fn path_spec(
        &self,
        path: &NvmePath,
        access: Option<AnaState>,
    ) -> Result<PathSpec, AdapterError> {
        if path.identity != self.identity {
            return Err(AdapterError::WrongHead);
        }
        let group = self.group_for(path.cntlid, path.anagrpid)?;
        let state = match access {
            _ if !path.ana_reporting => AccessState::Optimized,
            None | Some(AnaState::Change) => AccessState::Inaccessible,
            Some(s) => s.access_state(),
        };
        Ok(PathSpec::new(group, path.nexus)
            .with_locality(path.locality)
            .with_access(GroupAccess::new(state)))
    }

    /// Adds `path` to the device and remembers it. `access` is the state an
    /// ANA log read during discovery gave for the namespace's group through
    /// this controller. Without one, the core is told the access state may
    /// have changed, so its next actions include a `RefreshAccessState` on
    /// the new path. Its registrations count for [`HOST_PORT`].
    pub fn add_path(
        &mut self,
        dev: &mut dyn DeviceInputs,
        path: &NvmePath,
        access: Option<AnaState>,
        now: Instant,
    ) -> Result<PathId, AdapterError> {
        let spec = self.path_spec(path, access)?;
        let ana_log_len = if path.ana_reporting {
            path.ana_log_len(self.rgo)
                .ok_or(AdapterError::AnaLogTooLarge {
                    cntlid: path.cntlid,
                })?
        } else {
            0
        };
        if self.paths.is_full() {
            return Err(AdapterError::PathTableFull);
        }
        let id = dev.add_path(spec, HOST_PORT, now).map_err(|r| r.error)?;
        let record = AdapterPath {
            id,
            cntlid: path.cntlid,
            anagrpid: path.anagrpid,
            group: spec.group,
            ana_reporting: path.ana_reporting,
            anatt: path.anatt,
            anagrpmax: path.anagrpmax,
            ana_log_len,
            crdt: path.crdt,
        };
        if self.paths.insert(record).is_err() {
            // Room was checked before the device took the path; should the
            // table still refuse it, the device gives it back so the two
            // stay in step.
            dev.remove_path(id, now)?;
            return Err(AdapterError::PathTableFull);
        }
        if let Some(anatt) = path.ana_transition_time() {
            dev.set_transition_timeout(spec.group, anatt)?;
        }
        match access {
            Some(AnaState::Change) if path.ana_reporting => {
                dev.handle_access_state(spec.group, GroupAccess::new(AccessState::Change), now)?;
            }
            None if path.ana_reporting => {
                dev.handle_notices(id, Notices::ACCESS_STATE_CHANGED, now)?;
            }
            _ => {}
        }
        Ok(id)
    }

    /// The host has connected `path`'s controller again: a new association
    /// after the old one was lost or the controller reset. Call it after
    /// telling the device the link is up.
    ///
    /// A new association cannot tell the host whether the subsystem lost
    /// power meanwhile, and a subsystem that did without Persist Through
    /// Power Loss has dropped every registration (NVMe base spec, 8.19.6)
    /// with no notification to say so. SCSI targets say it with POWER ON,
    /// RESET or I_T NEXUS LOSS OCCURRED; this reports the same
    /// [`Notices::RESET_OCCURRED`], so a device holding a key checks its
    /// registration (one Reservation Report, I/O held meanwhile) before
    /// the path carries I/O under it. Without a key set it costs nothing.
    pub fn reconnected(
        &self,
        dev: &mut dyn DeviceInputs,
        path: PathId,
        now: Instant,
    ) -> Result<(), AdapterError> {
        self.path(path)?;
        dev.handle_notices(path, Notices::RESET_OCCURRED, now)?;
        Ok(())
    }

    /// Removes `path` from the device and forgets it: forgotten even when
    /// the device refuses a stale or unknown id (nothing is left to
    /// describe), kept when it refuses the time (the path is still there).
    pub fn remove_path(
        &mut self,
        dev: &mut dyn DeviceInputs,
        path: PathId,
        now: Instant,
    ) -> Result<(), AdapterError> {
        Ok(self.paths.remove_from(dev, path, now)?)
    }

    /// Forgets `path` without telling the core; returns whether it was known.
    pub fn forget(&mut self, path: PathId) -> bool {
        self.paths.remove(path).is_some()
    }

    // ----- actions to commands -----

    /// The command that carries out `action`, `Ok(None)` for actions that
    /// are not commands (`Dispatch`, `Fail`, `HeadLive`, `HeadRemoved`: the
    /// embedder handles them itself).
    ///
    /// - `RefreshAccessState { via }`: Get Log Page, ANA, through `via`.
    /// - `Probe(path)`: the same read. NVMe has no TEST UNIT READY; Linux
    ///   relies on keep-alive and the controller state. An ANA log read both
    ///   proves the controller answers admin commands and refreshes states.
    /// - `TransitionTimedOut { group }`: reset the group's controller, as
    ///   Linux `nvme_anatt_timeout()` does.
    /// - `ActivateGroup`: [`AdapterError::ActivationUnsupported`].
    pub fn map_action(&self, action: &Action) -> Result<Option<NvmeCommand>, AdapterError> {
        match *action {
            Action::RefreshAccessState { via } => {
                self.ana_log_command(via, LogPurpose::AnaRefresh).map(Some)
            }
            Action::Probe(path) => self.ana_log_command(path, LogPurpose::AnaProbe).map(Some),
            Action::TransitionTimedOut { group } => {
                let p = self
                    .paths()
                    .find(|p| p.group == group)
                    .ok_or(AdapterError::UnknownGroup(group))?;
                Ok(Some(NvmeCommand::ResetController {
                    path: p.id,
                    cntlid: p.cntlid,
                }))
            }
            Action::ActivateGroup { group, .. } => {
                Err(AdapterError::ActivationUnsupported { group })
            }
            _ => Ok(None),
        }
    }

    /// Tells the device how an action that [`map_action`](Self::map_action)
    /// refused ended, so nothing stays pending: an activation failed (the
    /// core does not retry until states change); a refresh through a
    /// controller without ANA is answered with its only state, optimized;
    /// other refused refreshes failed; a probe through a path the adapter
    /// does not know found it down (nothing can be sent on it). Other
    /// actions need nothing.
    pub fn settle_unmapped(
        &self,
        dev: &mut dyn DeviceInputs,
        action: &Action,
        now: Instant,
    ) -> Result<(), AdapterError> {
        match *action {
            Action::ActivateGroup { group, .. } => {
                dev.handle_activation_result(group, ActivationResult::Failed, now)?;
            }
            Action::RefreshAccessState { via } => match self.path(via) {
                Ok(p) if !p.ana_reporting => {
                    dev.handle_access_state(
                        p.group,
                        GroupAccess::new(AccessState::Optimized),
                        now,
                    )?;
                    finish_refresh(dev, via, true, now)?;
                }
                _ => finish_refresh(dev, via, false, now)?,
            },
            Action::Probe(path) if self.path(path).is_err() => {
                dev.handle_probe(path, ProbeResult::Down, now)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Get Log Page for the whole ANA log through `path`.
    pub fn ana_log_command(
        &self,
        path: PathId,
        purpose: LogPurpose,
    ) -> Result<NvmeCommand, AdapterError> {
        let p = self.path(path)?;
        if !p.ana_reporting && purpose == LogPurpose::AnaRefresh {
            return Err(AdapterError::NoAnaReporting(path));
        }
        // A controller without ANA answers a probe's ANA read with Invalid
        // Log Page, which still proves it is alive (see `probe_result`); the
        // smallest read will do.
        let len = if p.ana_reporting {
            p.ana_log_len
        } else {
            crate::ana::HEADER_LEN.try_into().unwrap_or(16)
        };
        Ok(NvmeCommand::GetLogPage {
            path,
            purpose,
            cmd: GetLogPage::ana(len, self.rgo)?,
        })
    }
}

#[path = "adapter_results.rs"]
mod results;
use results::finish_refresh;
pub use results::{probe_result, AenFollowUp, Applied};

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
