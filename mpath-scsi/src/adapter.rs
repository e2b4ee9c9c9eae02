//! The SCSI adapter: core actions to SCSI commands, SCSI responses to core
//! events. Sans-IO like the core: it sends nothing, reads no clock, and
//! holds only what it must remember per path.
//!
//! One [`ScsiAdapter`] serves one multipath device (one [`LuName`]) and sits
//! beside that device: a [`Device`](mpath_core::Device) (controller and
//! reservation coordinator behind one door), a bare
//! [`Controller`](mpath_core::Controller), a simulator or C glue. What the
//! adapter asks of it is the small trait [`DeviceInputs`]; every method that
//! feeds the device takes `dev: &mut dyn DeviceInputs`. A trait object
//! rather than a generic: the adapter's code exists once whatever the
//! device's type parameters (one copy in a kernel module serving devices of
//! several sizes), the calls are control-plane inputs where an indirect
//! call costs nothing that matters, and a `&mut Device<..>` or
//! `&mut Controller<..>` coerces at the call site. Call order:
//!
//! 1. Discover: per I_T nexus, read standard INQUIRY and VPD page 83h,
//!    build a [`PathIdentity`], then [`path_spec`] and
//!    [`ScsiAdapter::add_path`] (which adds the path to the device). Paths
//!    whose [`LuName`] differs belong to another device and are refused.
//!    Run the core with [`ScsiAdapter::core_config`] and, for a `Device`,
//!    [`ScsiAdapter::registration_scope`].
//! 2. After every input, drain the device's `poll_action` and pass each
//!    action to [`ScsiAdapter::map_action`]: `Some(cmd)` is a command to
//!    send; `None` is an action the embedder carries out itself (dispatch,
//!    fail, head live/removed, the informational transition timeout); an
//!    error names an action this logical unit cannot carry out, and
//!    [`ScsiAdapter::settle_unmapped`] tells the device so. A `Device`'s
//!    `Action::Reservation` goes to [`ScsiAdapter::pr_command`] instead.
//! 3. Feed each command's [`ScsiResponse`] back with [`ScsiAdapter::apply`],
//!    the one entry point for a response; PERSISTENT RESERVE responses go to
//!    [`ScsiAdapter::pr_reply`], whose [`PrStep`](crate::pr_map::PrStep)
//!    is the answer for the device's `handle_reservation_reply` or the
//!    command to resend. For I/O, [`ScsiAdapter::classify_completion`] (or
//!    [`classify_io`]) gives the [`Completion`] for the device's
//!    `handle_completion`.
//!
//! A response on a path the adapter does not know (never added, removed,
//! forgotten) is refused with [`AdapterError::UnknownPath`] and changes
//! nothing: a removed path took its probe, refresh and activation state
//! out of the core with it.
//!
//! | core action | SCSI command | result to the core |
//! |---|---|---|
//! | `Probe(path)` | TEST UNIT READY | `handle_probe` as multipathd's TUR checker; unit attentions also `handle_notices` |
//! | `RefreshAccessState { via }` | REPORT TARGET PORT GROUPS, extended header unless the path's target refused it or cut its answer short | `set_transition_timeout`, `handle_access_state` per group, `handle_refresh_result` |
//! | `ActivateGroup { group, via }` | SET TARGET PORT GROUPS, one descriptor: `group` active/optimized | `handle_activation_result` |
//! | `Reservation(action)` | PERSISTENT RESERVE OUT / IN ([`crate::pr_map`]) | the embedder's `handle_reservation_reply` |
//! | `TransitionTimedOut`, `Dispatch`, `Fail`, `HeadLive`, `HeadRemoved` | none | - |
//!
//! The reservation coordinator's [`PrAction`]s become PERSISTENT RESERVE
//! OUT / IN commands with [`ScsiAdapter::pr_command`], and their responses
//! go back through [`ScsiAdapter::pr_reply`] (not `apply`: the coordinator,
//! not the controller, takes them). The mapping is in [`crate::pr_map`].
//! [`ScsiAdapter::registration_scope`] also decides ALL_TG_PT.

use mpath_core::{
    AccessProtocol, AccessState, Action, ActivationResult, Completion, Config, DeviceInputs,
    GroupAccess, GroupId, Instant, Notices, Outcome, PathId, PathRecord, PathSpec, PathTable,
    ProbeResult,
};

use crate::alua::AluaState;
use crate::cdb::{self, Cdb, RtpgFormat};
use crate::classify::{classify, TransportStatus};
use crate::command::{CommandKind, DataOut, ScsiCommand};
use crate::error::WireError;
use crate::identity::{IdentityError, LuName, PathIdentity, DEFAULT_GROUP};
use crate::inquiry::Tpgs;
use crate::stpg::{StpgDescriptor, StpgRepr};
use crate::wire::List;

use crate::pr_map::PrOptions;

#[cfg(doc)]
use crate::command::ScsiResponse;
#[cfg(doc)]
use crate::identity::path_spec;
#[cfg(doc)]
use mpath_core::reservation::PrAction;

/// The first REPORT TARGET PORT GROUPS allocation length: scsi_dh_alua's
/// `ALUA_RTPG_SIZE`, room for a few groups of a few ports each. It grows to
/// what the target says it needs.
pub const RTPG_INITIAL_ALLOC_LEN: u32 = 128;

/// The largest REPORT TARGET PORT GROUPS response the adapter asks for. A
/// target claiming more is answered with [`AdapterError::RtpgTooLarge`]
/// rather than with ever larger buffers.
pub const RTPG_MAX_ALLOC_LEN: u32 = 64 * 1024;

/// Why the adapter refused an input or could not map an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The core refused the input the adapter made of it.
    #[error("core: {0}")]
    Core(#[from] mpath_core::Error),
    /// Response data or a parameter list was malformed; names the field and
    /// its offset.
    #[error("wire: {0}")]
    Wire(#[from] WireError),
    /// The path could not be described.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The adapter has no record of this path (never added, or removed).
    #[error("path {0} unknown to the SCSI adapter")]
    UnknownPath(PathId),
    /// The path reaches another logical unit than this device's.
    #[error("path to another logical unit than this device's")]
    WrongLogicalUnit,
    /// The spec given for a path names another group than its identity.
    #[error("path spec group {got:?}, identity says {expected:?}")]
    GroupMismatch {
        /// The group of the identity.
        expected: GroupId,
        /// The group of the spec.
        got: GroupId,
    },
    /// The adapter's path table (`P`) is full.
    #[error("adapter path table full")]
    PathTableFull,
    /// The group is not a target port group of this device.
    #[error("no target port group {0:?}")]
    UnknownGroup(GroupId),
    /// The logical unit has no ALUA (TPGS 00b): there are no access states
    /// to read.
    #[error("logical unit of path {0} has no ALUA")]
    NotAlua(PathId),
    /// The logical unit does not support explicit ALUA (TPGS 01b): SET
    /// TARGET PORT GROUPS would be refused.
    #[error("no explicit ALUA: cannot activate group {group:?}")]
    ExplicitAluaUnsupported {
        /// The group the core wanted activated.
        group: GroupId,
    },
    /// The command ended without success; the outcome is the classified
    /// status, sense or transport verdict.
    #[error("{} failed: {outcome:?}", command.name())]
    CommandFailed {
        /// Which command.
        command: CommandKind,
        /// How it ended.
        outcome: Outcome,
    },
    /// Data came back that the command cannot have returned: data-in for a
    /// command without a data-in phase, or more than was allocated.
    #[error("{} returned {len} bytes of data, allowed {allowed}", command.name())]
    UnexpectedData {
        /// Which command.
        command: CommandKind,
        /// Bytes received.
        len: usize,
        /// Bytes the command allowed.
        allowed: usize,
    },
    /// REPORT TARGET PORT GROUPS says it has more data than
    /// [`RTPG_MAX_ALLOC_LEN`].
    #[error("REPORT TARGET PORT GROUPS needs {required} bytes")]
    RtpgTooLarge {
        /// RETURN DATA LENGTH + 4.
        required: usize,
    },
    /// REPORT TARGET PORT GROUPS did not report the group of the port it
    /// was sent through.
    #[error("REPORT TARGET PORT GROUPS omits target port group {tpg}")]
    GroupNotInRtpg {
        /// The missing target port group.
        tpg: u16,
    },
    /// PERSISTENT RESERVE IN says it has more data than a 16-bit
    /// ALLOCATION LENGTH can ask for.
    #[error("PERSISTENT RESERVE IN needs {required} bytes")]
    PrInTooLarge {
        /// ADDITIONAL LENGTH + 8.
        required: usize,
    },
    /// SCSI registrations belong to an I_T nexus or, with ALL_TG_PT, to an
    /// initiator port; never to a whole host.
    #[error("registration scope {0:?} does not exist in SCSI")]
    RegistrationScope(mpath_core::reservation::RegistrationScope),
    /// REGISTER AND MOVE needs the destination's TransportID, which the
    /// command does not carry: build it with `pr_command_with` (or
    /// `PrOptions::command_with`), passing the coordinator's
    /// `move_destination`. An embedder that gets this error answers the
    /// device `PrReply::Refused`.
    #[error("REGISTER AND MOVE without its destination TransportID")]
    NoMoveDestination,
    /// A response was handed to the wrong entry point: PERSISTENT RESERVE
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
    /// RELATIVE TARGET PORT IDENTIFIER of the path's target port.
    pub relative_target_port: Option<u16>,
    /// TARGET PORT GROUP of the path's target port.
    pub target_port_group: Option<u16>,
    /// The core group ([`DEFAULT_GROUP`] without ALUA).
    pub group: GroupId,
    /// TPGS: ALUA support, implicit and explicit.
    pub tpgs: Tpgs,
    /// ALLOCATION LENGTH for REPORT TARGET PORT GROUPS.
    pub rtpg_alloc_len: u32,
    /// Whether to ask for the extended RTPG header. Cleared for good when
    /// the target refuses it (ILLEGAL REQUEST, INVALID FIELD IN CDB, as
    /// scsi_dh_alua's `ALUA_RTPG_EXT_HDR_UNSUPP`) or answers it cut short
    /// (LIO: RETURN DATA LENGTH without the header's last 4 bytes, so the
    /// last port identifier is missing); every later RTPG through the path
    /// then uses the length-only header, without IMPLICIT TRANSITION TIME.
    ///
    /// Per path, unlike the allocation length, which one answer teaches
    /// every path of the device: a larger buffer costs nothing on a port
    /// that did not need it, while the length-only header loses the
    /// IMPLICIT TRANSITION TIME, so the header is given up only where it
    /// failed (as scsi_dh_alua keeps the flag per target port group, not
    /// per logical unit). Each other path of a target like LIO pays one
    /// extra RTPG, once.
    pub extended_header: bool,
    /// TEST UNIT READYs in a row answered with a unit attention, each
    /// sent again at once ([`Applied::ProbeAgain`]).
    pub probe_attentions: u8,
}

impl PathRecord for AdapterPath {
    fn path_id(&self) -> PathId {
        self.id
    }
}

/// The SCSI adapter of one multipath device with room for `P` paths.
#[derive(Clone, Debug)]
pub struct ScsiAdapter<const P: usize> {
    lu: LuName,
    paths: PathTable<AdapterPath, P>,
    pr: PrOptions,
}

/// Classify an I/O completion for the device's `handle_completion` (see
/// [`classify`] for the table), for an embedder that does not look the
/// path up: [`ScsiAdapter::classify_completion`] is the same with the
/// path checked.
pub fn classify_io(transport: TransportStatus, status: u8, sense: Option<&[u8]>) -> Completion {
    classify(transport, status, sense)
}

impl<const P: usize> ScsiAdapter<P> {
    /// An adapter for the device of logical unit `lu`.
    pub const fn new(lu: LuName) -> Self {
        ScsiAdapter {
            lu,
            paths: PathTable::new(),
            pr: PrOptions::DEFAULT,
        }
    }

    /// The same adapter with these persistent-reservation options
    /// (registration scope, hence ALL_TG_PT, and APTPL).
    #[must_use]
    pub const fn with_pr_options(mut self, pr: PrOptions) -> Self {
        self.pr = pr;
        self
    }

    /// `cfg` made fit for this logical unit: ALUA protocol (an I/O reporting
    /// a transition marks the group transitioning), and explicit activation
    /// only if TPGS allows SET TARGET PORT GROUPS. scsi_dh_alua sends STPG
    /// whenever TPGS has the explicit bit and no group is active/optimized;
    /// here the embedder's `explicit_activation` choice still decides.
    pub fn core_config(cfg: Config, tpgs: Tpgs) -> Config {
        let mut cfg = cfg;
        cfg.access.protocol = AccessProtocol::Alua;
        cfg.access.explicit_activation &= tpgs.explicit();
        cfg
    }

    // ----- getters -----

    /// The device's logical unit.
    pub fn lu(&self) -> &LuName {
        &self.lu
    }

    /// What the adapter remembers about `path`.
    pub fn path(&self, path: PathId) -> Result<&AdapterPath, AdapterError> {
        self.paths.get(path).ok_or(AdapterError::UnknownPath(path))
    }

    fn path_mut(&mut self, path: PathId) -> Result<&mut AdapterPath, AdapterError> {
        self.paths
            .get_mut(path)
            .ok_or(AdapterError::UnknownPath(path))
    }

    /// Every path the adapter knows.
    pub fn paths(&self) -> impl Iterator<Item = &AdapterPath> + '_ {
        self.paths.iter()
    }

    /// How PERSISTENT RESERVE OUT commands are built for this device.
    pub const fn pr_options(&self) -> PrOptions {
        self.pr
    }

    /// What one registration covers: give it to `Device::new` (or a bare
    /// `Coordinator::new`). ALL_TG_PT is set exactly when it
    /// is [`RegistrationScope::InitiatorPort`](mpath_core::reservation::RegistrationScope::InitiatorPort).
    pub const fn registration_scope(&self) -> mpath_core::reservation::RegistrationScope {
        self.pr.scope()
    }

    /// Whether some path of the device is in target port group `tpg`.
    pub fn has_target_port_group(&self, tpg: u16) -> bool {
        self.paths()
            .any(|p| p.tpgs != Tpgs::NotSupported && p.target_port_group == Some(tpg))
    }

    // ----- membership -----

    /// Adds a path to the device and remembers it. `spec` comes from
    /// [`path_spec`] (its locality, throughput and timeout may be changed;
    /// its group must stay). `port` is the initiator port the path's I_T
    /// nexus leaves from (for iSCSI, initiator name and ISID): with
    /// [`RegistrationScope::InitiatorPort`](mpath_core::reservation::RegistrationScope::InitiatorPort)
    /// one registration with ALL_TG_PT covers every path of a port; per
    /// nexus, any value will do. An ALUA path added without an access state
    /// makes the core ask for REPORT TARGET PORT GROUPS through it at once.
    pub fn add_path(
        &mut self,
        dev: &mut dyn DeviceInputs,
        identity: &PathIdentity,
        spec: PathSpec,
        port: u32,
        now: Instant,
    ) -> Result<PathId, AdapterError> {
        if identity.lu != self.lu {
            return Err(AdapterError::WrongLogicalUnit);
        }
        let group = identity.group()?;
        if spec.group != group {
            return Err(AdapterError::GroupMismatch {
                expected: group,
                got: spec.group,
            });
        }
        if self.paths.is_full() {
            return Err(AdapterError::PathTableFull);
        }
        let id = dev.add_path(spec, port, now).map_err(|r| r.error)?;
        let record = AdapterPath {
            id,
            relative_target_port: identity.relative_target_port,
            target_port_group: identity.target_port_group,
            group,
            tpgs: identity.tpgs,
            rtpg_alloc_len: RTPG_INITIAL_ALLOC_LEN,
            extended_header: true,
            probe_attentions: 0,
        };
        if self.paths.insert(record).is_err() {
            // Room was checked before the device took the path; should the
            // table still refuse it, the device gives it back so the two
            // stay in step.
            dev.remove_path(id, now)?;
            return Err(AdapterError::PathTableFull);
        }
        if identity.alua() && spec.access.is_none() {
            dev.handle_notices(id, Notices::ACCESS_STATE_CHANGED, now)?;
        }
        Ok(id)
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

    /// The command that carries out `action`; `Ok(None)` for actions that
    /// are not SCSI commands (`Dispatch`, `Fail`, `HeadLive`, `HeadRemoved`,
    /// and `TransitionTimedOut`, which for ALUA only informs: the core
    /// already treats the group as standby).
    pub fn map_action(&self, action: &Action) -> Result<Option<ScsiCommand>, AdapterError> {
        match *action {
            Action::Probe(path) => self.test_unit_ready(path).map(Some),
            Action::RefreshAccessState { via } => self.report_target_port_groups(via).map(Some),
            Action::ActivateGroup { group, via } => {
                self.set_target_port_groups(group, via).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Tells the device how an action that [`map_action`](Self::map_action)
    /// refused ended, so nothing stays pending: a refresh through a path
    /// without ALUA is answered with that device's only state (its default
    /// group, optimized); other refused refreshes failed; a refused
    /// activation failed (the core does not retry it until states change);
    /// a probe through a path the adapter does not know found it down
    /// (nothing can be sent on it). Other actions need nothing.
    pub fn settle_unmapped(
        &self,
        dev: &mut dyn DeviceInputs,
        action: &Action,
        now: Instant,
    ) -> Result<(), AdapterError> {
        match *action {
            Action::RefreshAccessState { via } => match self.path(via) {
                Ok(p) if p.tpgs == Tpgs::NotSupported => {
                    dev.handle_access_state(
                        DEFAULT_GROUP,
                        GroupAccess::new(AccessState::Optimized),
                        now,
                    )?;
                    finish_refresh(dev, via, true, now)?;
                }
                _ => finish_refresh(dev, via, false, now)?,
            },
            Action::ActivateGroup { group, .. } => {
                dev.handle_activation_result(group, ActivationResult::Failed, now)?;
            }
            Action::Probe(path) if self.path(path).is_err() => {
                dev.handle_probe(path, ProbeResult::Down, now)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// TEST UNIT READY on `path`.
    pub fn test_unit_ready(&self, path: PathId) -> Result<ScsiCommand, AdapterError> {
        self.path(path)?;
        Ok(ScsiCommand {
            path,
            kind: CommandKind::Probe,
            cdb: Cdb::from_slice(&cdb::test_unit_ready()),
            data_out: DataOut::NONE,
            data_in_len: 0,
        })
    }

    /// REPORT TARGET PORT GROUPS through `via`, with the header format and
    /// allocation length learnt for the path.
    pub fn report_target_port_groups(&self, via: PathId) -> Result<ScsiCommand, AdapterError> {
        let p = self.path(via)?;
        if p.tpgs == Tpgs::NotSupported {
            return Err(AdapterError::NotAlua(via));
        }
        let format = if p.extended_header {
            RtpgFormat::Extended
        } else {
            RtpgFormat::LengthOnly
        };
        Ok(ScsiCommand {
            path: via,
            kind: CommandKind::RefreshAccessState,
            cdb: Cdb::from_slice(&cdb::report_target_port_groups(format, p.rtpg_alloc_len)),
            data_out: DataOut::NONE,
            data_in_len: p.rtpg_alloc_len,
        })
    }

    /// SET TARGET PORT GROUPS through `via` with one descriptor asking for
    /// target port group `group` to become active/optimized: scsi_dh_alua's
    /// `submit_stpg()`, which leaves every other group to the target's
    /// implicit behaviour (SPC-4 6.45: groups not named keep or change state
    /// as the target decides).
    pub fn set_target_port_groups(
        &self,
        group: GroupId,
        via: PathId,
    ) -> Result<ScsiCommand, AdapterError> {
        let p = self.path(via)?;
        let tpg = u16::try_from(group.0).map_err(|_| AdapterError::UnknownGroup(group))?;
        if !self.has_target_port_group(tpg) {
            return Err(AdapterError::UnknownGroup(group));
        }
        if !p.tpgs.explicit() {
            return Err(AdapterError::ExplicitAluaUnsupported { group });
        }
        let descriptors = [StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: tpg,
        }];
        let list = StpgRepr {
            descriptors: List::Items(&descriptors),
        };
        let data_out = DataOut::emit(|b| list.emit(b))?;
        let param_len = u32::try_from(data_out.len())
            .map_err(|_| WireError::out_of_range("PARAMETER LIST LENGTH", 6))?;
        Ok(ScsiCommand {
            path: via,
            kind: CommandKind::ActivateGroup { group },
            cdb: Cdb::from_slice(&cdb::set_target_port_groups(param_len)),
            data_out,
            data_in_len: 0,
        })
    }
}

/// Finish a refresh the core asked for; a refresh it did not ask for (an
/// RTPG the embedder sent on its own) has nothing to finish.
pub(crate) fn finish_refresh(
    dev: &mut dyn DeviceInputs,
    via: PathId,
    ok: bool,
    now: Instant,
) -> Result<(), AdapterError> {
    match dev.handle_refresh_result(via, ok, now) {
        Ok(()) | Err(mpath_core::Error::NotPending { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[path = "adapter_results.rs"]
mod results;
pub use results::{Applied, RtpgApplied, PROBE_ATTENTION_RETRIES};

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
