//! Responses to core events: ANA logs (refreshes and probes), Reservation
//! Notification and Changed Namespace List logs, controller resets,
//! asynchronous events and I/O completions (see the call order in
//! [`crate::adapter`]).

use mpath_core::{
    Completion, DeviceInputs, GroupAccess, Instant, Notices, Outcome, PathErrorKind, PathId,
    ProbeResult, TargetError,
};

use super::{AdapterError, AdapterPath, NvmeAdapter};
use crate::aen::AsyncEvent;
use crate::ana::{AnaLog, AnaLogOptions, AnaState};
use crate::classify::{classify, Delivery};
use crate::command::{CommandKind, LogPurpose, NvmeCommand, NvmeResponse};
use crate::identify::Crdt;
use crate::log_page::{GetLogPage, LID_ANA, LID_CHANGED_NS_LIST, LID_RESERVATION_NOTIFICATION};
use crate::resv_notification::ResvNotificationRepr;

/// Bytes of the Changed Namespace List log (1024 NSIDs).
const CHANGED_NS_LIST_LEN: u32 = 4096;

/// What an asynchronous event asks of the embedder, besides re-arming the
/// Asynchronous Event Request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AenFollowUp {
    /// Nothing multipath cares about.
    Nothing,
    /// ANA change: the core was told and will ask for the log with
    /// `Action::RefreshAccessState`; that read (RAE clear) also unmasks the
    /// event, so no separate read is needed.
    AnaRefreshRequested,
    /// Read this log page (RAE clear) and [`apply`](NvmeAdapter::apply) it.
    ReadLog(NvmeCommand),
}

/// What [`NvmeAdapter::apply`] did with a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// A probe result was given to the core (and the ANA states the read
    /// returned, if any).
    Probe(ProbeResult),
    /// An access-state read: the states of this many paths went to the
    /// core, and its refresh finished.
    Refresh {
        /// Paths of the adapter whose group state was reported.
        paths: usize,
    },
    /// A Reservation Notification log: its notices about this head went to
    /// the core. When `available` is non-zero, read it again.
    Notification(ResvNotificationRepr),
    /// The Changed Namespace List was read: rescan namespaces (Linux
    /// `nvme_scan_work`); nothing for the core.
    ChangedNamespaces,
    /// The controller was reset; nothing for the core, which hears of the
    /// controller's paths through link events and probes as it comes back.
    Reset,
}

/// How a probe's transport result is taken, with the notices the core also
/// hears. Probes are ANA log reads ([`LogPurpose::AnaProbe`]).
///
/// | result | probe | why |
/// |---|---|---|
/// | success, reservation conflict | up | the controller answered |
/// | ANA inaccessible / persistent loss | up | it answered; access comes from the log |
/// | ANA transition | pending | multipathd: transitioning is pending |
/// | other path status, timeout, connection lost, reset | down | Linux disables a path whose controller is not live |
/// | invalid opcode / field / log page (DNR) | up | it answered (no ANA log: a controller without ANA) |
/// | other status with DNR | down | as the TUR checker on errors |
/// | other status without DNR | retry | the controller asked to retry |
pub fn probe_result(delivery: Delivery, crdt: &Crdt) -> (ProbeResult, Notices) {
    let completion = classify(delivery, crdt);
    let result = match completion.outcome {
        Outcome::Success | Outcome::ReservationConflict => ProbeResult::Up,
        Outcome::PathError(PathErrorKind::AccessDenied) => ProbeResult::Up,
        Outcome::PathError(PathErrorKind::Transitioning) => ProbeResult::Pending,
        Outcome::TargetError(TargetError::IllegalRequest) => ProbeResult::Up,
        Outcome::Retry { .. } => ProbeResult::Retry,
        _ => ProbeResult::Down,
    };
    (result, completion.notices)
}

impl<const P: usize> NvmeAdapter<P> {
    /// Applies the response to `cmd`, a command [`map_action`](Self::map_action)
    /// or [`apply_aen`](Self::apply_aen) built, routed by its
    /// [`CommandKind`]:
    ///
    /// - ANA log for a refresh: every path of the adapter on the same
    ///   controller gets its group's state (and ANATT as the group's
    ///   transition timeout), then the core's refresh through the path, if
    ///   one is pending, is finished. A failed read, a malformed page, or
    ///   one that says nothing about a path on that controller, changes no
    ///   state, fails the pending refresh (the core retries after its
    ///   delay) and returns the error.
    /// - ANA log for a probe: the transport result as [`probe_result`]
    ///   takes it, with its notices; then, if the page came from a
    ///   controller that reports ANA, its states as for a refresh.
    /// - Reservation Notification log: the core hears what happened to
    ///   this host's registration or reservation on this head.
    /// - Changed Namespace List, controller reset: nothing for the core.
    ///
    /// A response on a path the adapter does not know is
    /// [`AdapterError::UnknownPath`], with nothing changed; more data than
    /// the command asked for is [`AdapterError::UnexpectedData`].
    /// Reservation command responses belong to the reservation
    /// coordinator: they are refused with [`AdapterError::WrongEntry`]; use
    /// [`NvmeAdapter::pr_reply`].
    pub fn apply(
        &mut self,
        dev: &mut dyn DeviceInputs,
        cmd: &NvmeCommand,
        resp: &NvmeResponse<'_>,
        now: Instant,
    ) -> Result<Applied, AdapterError> {
        let path = cmd.path();
        let p = *self.path(path)?;
        dev.check_path(path)?;
        let command = cmd.kind();
        if let CommandKind::Reservation { .. } = command {
            return Err(AdapterError::WrongEntry { command });
        }
        let allowed = usize::try_from(cmd.data_in_len()).unwrap_or(usize::MAX);
        if resp.data_in.len() > allowed {
            if command == CommandKind::RefreshAccessState {
                finish_refresh(dev, path, false, now)?;
            }
            return Err(AdapterError::UnexpectedData {
                command,
                len: resp.data_in.len(),
                allowed,
            });
        }
        match *cmd {
            NvmeCommand::GetLogPage { purpose, .. } => match purpose {
                LogPurpose::AnaRefresh => self
                    .refresh(dev, &p, resp, now)
                    .map(|paths| Applied::Refresh { paths }),
                LogPurpose::AnaProbe => self.probe(dev, &p, resp, now).map(Applied::Probe),
                LogPurpose::ReservationNotification => self
                    .notification(dev, &p, resp, now)
                    .map(Applied::Notification),
                LogPurpose::ChangedNamespaceList => {
                    succeeded(command, resp, &p.crdt).map(|()| Applied::ChangedNamespaces)
                }
            },
            NvmeCommand::ResetController { .. } => {
                succeeded(command, resp, &p.crdt).map(|()| Applied::Reset)
            }
            // Reservation commands, refused above.
            _ => Err(AdapterError::WrongEntry { command }),
        }
    }

    /// An ANA log read for a refresh through `v` (see [`apply`](Self::apply)).
    fn refresh(
        &mut self,
        dev: &mut dyn DeviceInputs,
        v: &AdapterPath,
        resp: &NvmeResponse<'_>,
        now: Instant,
    ) -> Result<usize, AdapterError> {
        if !v.ana_reporting {
            return Err(AdapterError::NoAnaReporting(v.id));
        }
        let completion = classify(resp.delivery, &v.crdt);
        if completion.outcome != Outcome::Success {
            if !completion.notices.is_empty() {
                dev.handle_notices(v.id, completion.notices, now)?;
            }
            finish_refresh(dev, v.id, false, now)?;
            return Err(AdapterError::CommandFailed {
                command: CommandKind::RefreshAccessState,
                outcome: completion.outcome,
            });
        }
        self.ana_states(dev, v, resp.data_in, now)
    }

    /// An ANA log read as a probe through `p` (see [`apply`](Self::apply)).
    fn probe(
        &mut self,
        dev: &mut dyn DeviceInputs,
        p: &AdapterPath,
        resp: &NvmeResponse<'_>,
        now: Instant,
    ) -> Result<ProbeResult, AdapterError> {
        let (result, notices) = probe_result(resp.delivery, &p.crdt);
        dev.handle_probe(p.id, result, now)?;
        if !notices.is_empty() {
            dev.handle_notices(p.id, notices, now)?;
        }
        let answered = classify(resp.delivery, &p.crdt).outcome == Outcome::Success;
        if answered && p.ana_reporting && !resp.data_in.is_empty() {
            self.ana_states(dev, p, resp.data_in, now)?;
        }
        Ok(result)
    }

    /// Gives the states of an ANA log read through `v` to the core and
    /// finishes its refresh; returns how many paths were updated. A page
    /// that cannot be used changes no state and fails the refresh.
    fn ana_states(
        &mut self,
        dev: &mut dyn DeviceInputs,
        v: &AdapterPath,
        log: &[u8],
        now: Instant,
    ) -> Result<usize, AdapterError> {
        let found = match self.states_in_log(v, log) {
            Ok(found) => found,
            Err(e) => {
                finish_refresh(dev, v.id, false, now)?;
                return Err(e);
            }
        };
        let mut updated = 0usize;
        for (slot, (grpid, state)) in self.paths.slots_mut().iter_mut().zip(found) {
            let (Some(p), Some(state)) = (slot.as_mut(), state) else {
                continue;
            };
            // With NSID lists the page is the authority on the namespace's
            // group (Linux `nvme_update_ns_ana_state()` takes ana_grpid from
            // the descriptor).
            p.anagrpid = grpid;
            if let Some(anatt) =
                (p.anatt != 0).then(|| mpath_core::Duration::from_secs(u64::from(p.anatt)))
            {
                // Before the state: a transition's deadline is taken from
                // the timeout when the group enters it.
                dev.set_transition_timeout(p.group, anatt)?;
            }
            dev.handle_access_state(p.group, GroupAccess::new(state.access_state()), now)?;
            updated = updated.saturating_add(1);
        }
        finish_refresh(dev, v.id, true, now)?;
        Ok(updated)
    }

    /// Validates `log` as read through `v` and finds, per adapter slot on
    /// the same controller, (ANAGRPID, state). Changes nothing.
    fn states_in_log(
        &self,
        v: &AdapterPath,
        log: &[u8],
    ) -> Result<[(u32, Option<AnaState>); P], AdapterError> {
        let opts = AnaLogOptions {
            anagrpmax: v.anagrpmax,
            rgo: self.rgo,
        };
        let page = AnaLog::new_checked(log, opts)?;
        let mut found = [(0u32, None); P];
        for (out, slot) in found.iter_mut().zip(self.paths.slots().iter()) {
            let Some(p) = slot.filter(|p| p.cntlid == v.cntlid) else {
                continue;
            };
            let hit = if self.rgo {
                page.groups()
                    .find(|g| g.grpid == p.anagrpid)
                    .map(|g| (g.grpid, g.state))
                    .ok_or(AdapterError::GroupNotInLog {
                        path: v.id,
                        anagrpid: p.anagrpid,
                    })?
            } else {
                page.find_nsid(self.identity.nsid)
                    .ok_or(AdapterError::NsidNotInLog {
                        path: v.id,
                        nsid: self.identity.nsid,
                    })?
            };
            *out = (hit.0, Some(hit.1));
        }
        Ok(found)
    }

    /// A Reservation Notification log read through `p` (see
    /// [`apply`](Self::apply)).
    fn notification(
        &self,
        dev: &mut dyn DeviceInputs,
        p: &AdapterPath,
        resp: &NvmeResponse<'_>,
        now: Instant,
    ) -> Result<ResvNotificationRepr, AdapterError> {
        succeeded(CommandKind::ReservationNotification, resp, &p.crdt)?;
        let page = ResvNotificationRepr::parse(resp.data_in)?;
        // A notification about another namespace is not this head's news.
        if page.nsid == self.identity.nsid && !page.notices().is_empty() {
            dev.handle_notices(p.id, page.notices(), now)?;
        }
        Ok(page)
    }

    /// Handles an Asynchronous Event Request completion (Dword 0) from the
    /// controller of `path`: the core hears the event's notices, and the
    /// caller learns what to read. Re-arming the request is the embedder's.
    /// A path the adapter does not know is [`AdapterError::UnknownPath`].
    pub fn apply_aen(
        &self,
        dev: &mut dyn DeviceInputs,
        path: PathId,
        dw0: u32,
        now: Instant,
    ) -> Result<AenFollowUp, AdapterError> {
        self.path(path)?;
        dev.check_path(path)?;
        let action = AsyncEvent::parse(dw0).action();
        if !action.notices.is_empty() {
            dev.handle_notices(path, action.notices, now)?;
        }
        let read =
            |purpose, cmd| AenFollowUp::ReadLog(NvmeCommand::GetLogPage { path, purpose, cmd });
        Ok(match action.read_log {
            Some(LID_ANA) => AenFollowUp::AnaRefreshRequested,
            Some(LID_RESERVATION_NOTIFICATION) => read(
                LogPurpose::ReservationNotification,
                GetLogPage::reservation_notification(),
            ),
            Some(LID_CHANGED_NS_LIST) => read(
                LogPurpose::ChangedNamespaceList,
                GetLogPage::new(LID_CHANGED_NS_LIST, CHANGED_NS_LIST_LEN)?,
            ),
            _ => AenFollowUp::Nothing,
        })
    }

    /// Classifies how an I/O sent on `path` ended, with that controller's
    /// Command Retry Delay Times, for the device's `handle_completion`.
    pub fn classify_completion(
        &self,
        path: PathId,
        delivery: Delivery,
    ) -> Result<Completion, AdapterError> {
        Ok(classify(delivery, &self.path(path)?.crdt))
    }
}

/// `Ok` if the command completed successfully, else the outcome as
/// [`AdapterError::CommandFailed`].
fn succeeded(
    command: CommandKind,
    resp: &NvmeResponse<'_>,
    crdt: &Crdt,
) -> Result<(), AdapterError> {
    match classify(resp.delivery, crdt).outcome {
        Outcome::Success => Ok(()),
        outcome => Err(AdapterError::CommandFailed { command, outcome }),
    }
}

/// Finishes the core's refresh through `via`; a read the core did not ask
/// for (a probe's, or one after an event) has no refresh to finish.
pub(super) fn finish_refresh(
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
