//! Results to core events: ANA logs, probe results, asynchronous events,
//! reservation notifications and I/O completions (see the call order in
//! [`crate::adapter`]).

use core::borrow::Borrow;

use mpath_core::{
    Completion, Controller, DataPlane, GroupAccess, Instant, Notices, Outcome, PathErrorKind,
    PathId, ProbeResult, TargetError,
};

use super::{AdapterError, AdapterPath, NvmeAdapter};
use crate::aen::AsyncEvent;
use crate::ana::{AnaLog, AnaLogOptions, AnaState};
use crate::classify::{classify, Delivery};
use crate::command::{LogPurpose, NvmeCommand};
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
    /// Read this log page (RAE clear) and apply it.
    ReadLog(NvmeCommand),
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
    // ----- results to core events -----

    /// Applies an ANA log read through `via`: every path of the adapter on
    /// the same controller gets its group's state (and ANATT as the group's
    /// transition timeout), then the core's refresh through `via`, if one is
    /// pending, is finished. Returns how many paths were updated.
    ///
    /// A malformed page, or one that says nothing about a path on that
    /// controller, changes no state, fails the pending refresh (the core
    /// retries after its delay) and returns the error.
    pub fn apply_ana_log<
        D: Borrow<DataPlane<N>>,
        const N: usize,
        const Q: usize,
        const G: usize,
    >(
        &mut self,
        ctl: &mut Controller<D, N, Q, G>,
        via: PathId,
        log: &[u8],
        now: Instant,
    ) -> Result<usize, AdapterError> {
        ctl.tier(via)?;
        let v = *self.path(via)?;
        if !v.ana_reporting {
            return Err(AdapterError::NoAnaReporting(via));
        }
        let found = match self.states_in_log(&v, log) {
            Ok(found) => found,
            Err(e) => {
                finish_refresh(ctl, via, false, now)?;
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
                ctl.set_transition_timeout(p.group, anatt)?;
            }
            ctl.handle_access_state(p.group, GroupAccess::new(state.access_state()), now)?;
            updated = updated.saturating_add(1);
        }
        finish_refresh(ctl, via, true, now)?;
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

    /// Reports the transport result of a probe (see [`probe_result`]) and
    /// any notices it carried. Returns what the core was told.
    pub fn apply_probe_result<
        D: Borrow<DataPlane<N>>,
        const N: usize,
        const Q: usize,
        const G: usize,
    >(
        &self,
        ctl: &mut Controller<D, N, Q, G>,
        path: PathId,
        delivery: Delivery,
        now: Instant,
    ) -> Result<ProbeResult, AdapterError> {
        ctl.tier(path)?;
        let (result, notices) = probe_result(delivery, &self.path(path)?.crdt);
        ctl.handle_probe(path, result, now)?;
        if !notices.is_empty() {
            ctl.handle_notices(path, notices, now)?;
        }
        Ok(result)
    }

    /// Handles an Asynchronous Event Request completion (Dword 0) from the
    /// controller of `path`: the core hears the event's notices, and the
    /// caller learns what to read. Re-arming the request is the embedder's.
    pub fn apply_aen<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>(
        &self,
        ctl: &mut Controller<D, N, Q, G>,
        path: PathId,
        dw0: u32,
        now: Instant,
    ) -> Result<AenFollowUp, AdapterError> {
        ctl.tier(path)?;
        self.path(path)?;
        let action = AsyncEvent::parse(dw0).action();
        if !action.notices.is_empty() {
            ctl.handle_notices(path, action.notices, now)?;
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

    /// Applies a Reservation Notification log read through `path`: the core
    /// hears what happened to this host's registration or reservation.
    /// Returns the parsed page (when `available` is non-zero, read again).
    pub fn apply_resv_notification<
        D: Borrow<DataPlane<N>>,
        const N: usize,
        const Q: usize,
        const G: usize,
    >(
        &self,
        ctl: &mut Controller<D, N, Q, G>,
        path: PathId,
        log: &[u8],
        now: Instant,
    ) -> Result<ResvNotificationRepr, AdapterError> {
        ctl.tier(path)?;
        self.path(path)?;
        let page = ResvNotificationRepr::parse(log)?;
        // A notification about another namespace is not this head's news.
        if page.nsid == self.identity.nsid && !page.notices().is_empty() {
            ctl.handle_notices(path, page.notices(), now)?;
        }
        Ok(page)
    }

    /// Classifies how an I/O sent on `path` ended, with that controller's
    /// Command Retry Delay Times.
    pub fn classify_completion(
        &self,
        path: PathId,
        delivery: Delivery,
    ) -> Result<Completion, AdapterError> {
        Ok(classify(delivery, &self.path(path)?.crdt))
    }
}

/// Finishes the core's refresh through `via`; a read the core did not ask
/// for (a probe's, or one after an event) has no refresh to finish.
pub(super) fn finish_refresh<
    D: Borrow<DataPlane<N>>,
    const N: usize,
    const Q: usize,
    const G: usize,
>(
    ctl: &mut Controller<D, N, Q, G>,
    via: PathId,
    ok: bool,
    now: Instant,
) -> Result<(), AdapterError> {
    match ctl.handle_refresh_result(via, ok, now) {
        Ok(()) | Err(mpath_core::Error::NotPending { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
