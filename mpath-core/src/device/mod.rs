//! One device behind one door: the [`Controller`] and the reservation
//! [`Coordinator`] fed by the same inputs, drained through one
//! `poll_action` and one `poll_event`.

mod events;

pub use events::DeviceEvent;

use crate::access::{GroupAccess, GroupId};
use crate::config::{Config, ConfigError, NoPathPolicy};
use crate::controller::{ActivationResult, Controller, Disposition, LinkEvent};
use crate::dataplane::DataPlane;
use crate::error::{Error, Rejected};
use crate::io::{Io, IoTag, Ticket};
use crate::outcome::{Completion, Notices, Outcome, ProbeResult};
use crate::path::{PathId, PathSpec};
use crate::reservation::{
    Coordinator, PrError, PrOp, PrReply, RegistrationScope, KEY_CHECK_NOTICES,
};
use crate::selector::{Policy, SelectorParams};
use crate::tier::Tier;
use crate::time::Instant;
use core::borrow::Borrow;
use core::mem::MaybeUninit;

/// A multipath device: the control plane and the persistent-reservation
/// coordinator, driven as one state machine. Like the rest of the core it
/// does no I/O and reads no clock.
///
/// # Call order
///
/// The shape is quinn-proto's `Connection`:
///
/// 1. **Getters** (`controller`, `coordinator`, `data_plane`, `now`, ...)
///    read state and change nothing.
/// 2. **Inputs** (`handle_*`, `add_path`, `remove_path`, `nexus_replaced`)
///    and **commands** (`submit`, `fail_path`, `switch_group`,
///    `reservation`, ...) each take `now`. A `now` earlier than one already
///    seen is refused with [`Error::Time`] and changes nothing; so is any
///    other typed error. Each fact goes in once: the device tells the
///    controller and the coordinator what each needs (a completion's
///    reservation notices reach the coordinator; a path the controller
///    finds down by itself, from a probe timeout, a path error or flap
///    damping, is down for the coordinator too, which moves the
///    reservation if that path's nexus held it; the coordinator's view
///    closes the controller's admission gate).
/// 3. **Outputs**, after every input or command:
///    - [`poll_action`](Self::poll_action) until `None`, carrying out each
///      [`Action`](crate::Action): probes, access-state re-reads,
///      activations, held-I/O dispatches and failures, and
///      [`Action::Reservation`](crate::Action::Reservation) commands, each
///      answered with its `handle_*` input;
///    - [`poll_event`](Self::poll_event) until `None`, logging or raising
///      each [`DeviceEvent`];
///    - [`poll_timeout`](Self::poll_timeout): arm a timer, and call
///      [`handle_timeout`](Self::handle_timeout) when it fires.
///
/// Outputs are computed from state, so none is lost however late they are
/// polled: actions are flags and deadlines, events compare what was last
/// reported with what is.
///
/// The data plane ([`DataPlane`]) stays beside the device, `&self` and
/// lock-free: CPUs select, start and complete successful I/O on it
/// directly; failed completions come here through
/// [`handle_completion`](Self::handle_completion).
#[derive(Debug)]
pub struct Device<D, const N: usize, const Q: usize = 256, const G: usize = 16>
where
    D: Borrow<DataPlane<N>>,
{
    ctl: Controller<D, N, Q, G>,
    pr: Coordinator<N>,
    /// Per slot, the path and tier the last [`DeviceEvent`] reported.
    reported: [Option<(PathId, Tier)>; N],
    /// The active tier last reported.
    reported_active: Option<Tier>,
    /// When the latest reply to a command that removed registrations of
    /// our own came back: I/O started before then that meets RESERVATION
    /// CONFLICT met our own doing.
    own_removal_at: Option<Instant>,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize> Device<D, N, Q, G> {
    /// A device with no paths, publishing to `dp`, whose reservation
    /// registrations cover `scope` (SCSI: one I_T nexus, or an initiator
    /// port with ALL_TG_PT; NVMe: the host). Until a key is registered the
    /// coordinator is inert and every path is admitted.
    pub fn new(dp: D, cfg: Config, scope: RegistrationScope) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let dev = Self::unpublished(dp, cfg, scope);
        dev.ctl.publish_initial();
        Ok(dev)
    }

    /// The device's fields for a configuration already validated, nothing
    /// published to the data plane yet; always inlined, so that
    /// [`new_in_wrapped`](Self::new_in_wrapped) writes them straight into
    /// its slot.
    #[inline(always)]
    fn unpublished(dp: D, cfg: Config, scope: RegistrationScope) -> Self {
        Device {
            ctl: Controller::unpublished(dp, cfg),
            pr: Coordinator::new(scope),
            reported: [None; N],
            reported_active: None,
            own_removal_at: None,
        }
    }

    /// [`new`](Self::new), built in `slot` (caller memory: a kernel
    /// module's `kmalloc`, a daemon's static) rather than returned. The
    /// value `new` returns is built on the stack and moved, which at the C
    /// ABI's sizes (64 paths, 256 held I/Os) is over 30 KiB of stack, twice
    /// a kernel thread's. Here the fields are written straight into `slot`:
    /// the constructors are inlined into one `MaybeUninit::write`, and the
    /// object-code gate's stack report shows the frame stays small. On an
    /// invalid `cfg`, `slot` is left as it was.
    pub fn new_in(
        slot: &mut MaybeUninit<Self>,
        dp: D,
        cfg: Config,
        scope: RegistrationScope,
    ) -> Result<&mut Self, ConfigError> {
        Self::new_in_wrapped(slot, |d| d, |d| d, dp, cfg, scope)
    }

    /// [`new_in`](Self::new_in) for a device embedded in a type of the
    /// caller's (`wrap` builds it around the device, `inner` finds the
    /// device in it again), as a C ABI's opaque handle does.
    #[inline(always)]
    pub fn new_in_wrapped<T>(
        slot: &mut MaybeUninit<T>,
        wrap: impl FnOnce(Self) -> T,
        inner: impl FnOnce(&mut T) -> &mut Self,
        dp: D,
        cfg: Config,
        scope: RegistrationScope,
    ) -> Result<&mut T, ConfigError> {
        cfg.validate()?;
        let made = slot.write(wrap(Self::unpublished(dp, cfg, scope)));
        inner(made).ctl.publish_initial();
        Ok(made)
    }

    // ----- getters -----

    /// The control plane, read-only: paths, tiers, snapshots, topology.
    pub fn controller(&self) -> &Controller<D, N, Q, G> {
        &self.ctl
    }

    /// The reservation coordinator, read-only: key, holder, registrations.
    pub fn coordinator(&self) -> &Coordinator<N> {
        &self.pr
    }

    /// The data plane CPUs submit to.
    pub fn data_plane(&self) -> &DataPlane<N> {
        self.ctl.data_plane()
    }

    /// The latest time any input carried.
    pub fn now(&self) -> Instant {
        self.ctl.now()
    }

    /// A path's current tier (unknown and stale paths are errors).
    pub fn tier(&self, path: PathId) -> Result<Tier, Error> {
        self.ctl.tier(path)
    }

    /// Whether the reservation coordinator admits `path` (always, while no
    /// key is registered and the device is not fenced); unknown and stale
    /// paths are errors.
    pub fn admitted(&self, path: PathId) -> Result<bool, Error> {
        self.ctl.rec(path)?;
        Ok(self.pr.admitted(path))
    }

    // ----- inputs -----

    /// Add a path whose registrations count for `port` (the initiator port
    /// or host for the shared registration scopes; any value for
    /// per-nexus registration). While a key is registered, the path
    /// carries no I/O until its nexus is registered.
    pub fn add_path(
        &mut self,
        spec: PathSpec,
        port: u32,
        now: Instant,
    ) -> Result<PathId, Rejected<PathSpec>> {
        let id = self.ctl.add_path(spec, now)?;
        self.pr.path_added(id, port, true);
        self.sync(now);
        Ok(id)
    }

    /// Remove a path. I/O in flight on it completes through its tickets;
    /// a reservation its nexus held is moved.
    pub fn remove_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.ctl.remove_path(path, now)?;
        self.pr.path_removed(path);
        self.sync(now);
        Ok(())
    }

    /// The path now reaches the logical unit over a new I_T nexus (a new
    /// iSCSI session, a new fabric login), whose initiator port is `port`:
    /// it is registered again before it carries I/O, and a reservation the
    /// old nexus held is moved. The path is probed before use.
    pub fn nexus_replaced(&mut self, path: PathId, port: u32, now: Instant) -> Result<(), Error> {
        self.ctl.handle_link(path, LinkEvent::Up, now)?;
        self.pr.nexus_replaced(path, port);
        self.sync(now);
        Ok(())
    }

    /// The transport's word about a path.
    pub fn handle_link(
        &mut self,
        path: PathId,
        event: LinkEvent,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_link(path, event, now)?;
        self.sync(now);
        Ok(())
    }

    /// A completion that was not a plain success on the data plane
    /// (successes may come here too). Its reservation notices reach the
    /// coordinator first: a preemption notice holds I/O while the
    /// coordinator checks it, so the completion (a unit attention's retry,
    /// say) is held rather than sent again behind another host's fence. A
    /// path error takes the path down for both halves.
    pub fn handle_completion(
        &mut self,
        ticket: Ticket,
        completion: Completion,
        now: Instant,
    ) -> Result<Disposition, Rejected<Ticket>> {
        // Refusals first, so a refused completion changes nothing.
        let ticket = self.data_plane().check_ticket(ticket)?;
        if let Err(error) = self.ctl.check_time(now) {
            return Err(Rejected {
                error,
                item: ticket,
            });
        }
        let path = ticket.path();
        let notices = completion.notices;
        let conflict = completion.outcome == Outcome::ReservationConflict;
        let current = self.ctl.rec(path).is_ok();
        // `enter` cannot fail once the time is checked.
        if current
            && (conflict || notices.intersects(KEY_CHECK_NOTICES))
            && self.ctl.enter(now).is_ok()
        {
            self.reservation_notices(path, notices);
            if conflict {
                self.pr.handle_conflict(path);
            }
            self.sync(now);
        }
        let own = conflict && self.own_removal_at.is_some_and(|t| ticket.started() <= t);
        let d = self.ctl.complete_failed(ticket, completion, now, own)?;
        self.sync(now);
        Ok(d)
    }

    /// A probe's result.
    pub fn handle_probe(
        &mut self,
        path: PathId,
        result: ProbeResult,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_probe(path, result, now)?;
        self.sync(now);
        Ok(())
    }

    /// Notices outside a completion (asynchronous events, unit attentions
    /// on probes or reservation commands).
    pub fn handle_notices(
        &mut self,
        path: PathId,
        notices: Notices,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_notices(path, notices, now)?;
        self.reservation_notices(path, notices);
        self.sync(now);
        Ok(())
    }

    /// A group's access state, read with a re-read or learnt another way.
    pub fn handle_access_state(
        &mut self,
        group: GroupId,
        access: GroupAccess,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_access_state(group, access, now)?;
        self.sync(now);
        Ok(())
    }

    /// A group's transition timeout (RTPG IMPLICIT TRANSITION TIME, NVMe
    /// ANATT).
    pub fn set_transition_timeout(
        &mut self,
        group: GroupId,
        timeout: crate::time::Duration,
    ) -> Result<(), Error> {
        self.ctl.set_transition_timeout(group, timeout)
    }

    /// The end of an access-state re-read.
    pub fn handle_refresh_result(
        &mut self,
        via: PathId,
        ok: bool,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_refresh_result(via, ok, now)?;
        self.sync(now);
        Ok(())
    }

    /// The end of an explicit activation.
    pub fn handle_activation_result(
        &mut self,
        group: GroupId,
        result: ActivationResult,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.handle_activation_result(group, result, now)?;
        self.sync(now);
        Ok(())
    }

    /// The answer to an [`Action::Reservation`](crate::Action::Reservation)
    /// sent on `via`. A command the path failed at the transport takes the
    /// path down for the controller too. An answer for a command the device
    /// did not send on `via` is [`Error::NotPending`], with nothing changed.
    pub fn handle_reservation_reply(
        &mut self,
        via: PathId,
        reply: PrReply,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.rec(via)?;
        if !self.pr.awaiting_reply(via) {
            return Err(Error::NotPending {
                what: "reservation command",
            });
        }
        self.ctl.handle_timeout(now)?;
        let removals = self.pr.removals_answered();
        self.pr.reply(via, reply);
        if self.pr.removals_answered() != removals {
            self.own_removal_at = Some(now);
        }
        if reply == PrReply::PathFailed {
            self.ctl.handle_link(via, LinkEvent::Down, now)?;
        }
        self.sync(now);
        Ok(())
    }

    /// Act on every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.ctl.handle_timeout(now)?;
        self.sync(now);
        Ok(())
    }

    // ----- commands -----

    /// Submit an I/O through the control plane (the slow path, when the
    /// data plane found no selectable path).
    pub fn submit(&mut self, io: Io, now: Instant) -> Result<Disposition, Rejected<Io>> {
        let d = self.ctl.submit(io, now)?;
        self.sync(now);
        Ok(d)
    }

    /// Cancel a held I/O.
    pub fn cancel(&mut self, tag: IoTag, now: Instant) -> Result<Io, Error> {
        let io = self.ctl.cancel(tag, now)?;
        self.sync(now);
        Ok(io)
    }

    /// Start a persistent-reservation operation; its result comes as
    /// [`DeviceEvent::Reservation`]. The time is checked like any input's.
    pub fn reservation(&mut self, op: PrOp, now: Instant) -> Result<(), DeviceError> {
        // Both refusals before anything moves: the coordinator only records
        // what it wants here; the path it goes out on is chosen when polled,
        // after the timers below have run and both halves agree.
        self.ctl.check_time(now)?;
        self.pr.submit(op)?;
        // `enter` cannot fail once the time is checked.
        if self.ctl.enter(now).is_ok() {
            self.sync(now);
        }
        Ok(())
    }

    /// Hand the reservation this host holds to another I_T nexus (REGISTER
    /// AND MOVE, rule 12 of [`reservation`](crate::reservation)): the
    /// initiator port `dest_tid` names (a TransportID, kept in the
    /// coordinator until the command is answered,
    /// [`Coordinator::move_destination`]) through the target port
    /// `relative_target_port`, registered with `key`. The command goes out
    /// on the holder's nexus as an
    /// [`Action::Reservation`](crate::Action::Reservation); its result
    /// comes as [`DeviceEvent::Reservation`] for
    /// [`PrOp::RegisterAndMove`](crate::reservation::PrOp::RegisterAndMove).
    /// The time is checked like any input's; the coordinator's refusals
    /// ([`Coordinator::move_to`]: busy, a TransportID empty or too long,
    /// key 0, no key, fenced, not the holder) change nothing.
    pub fn reservation_move_to(
        &mut self,
        dest_tid: &[u8],
        relative_target_port: u16,
        key: u64,
        now: Instant,
    ) -> Result<(), DeviceError> {
        self.ctl.check_time(now)?;
        self.pr.move_to(dest_tid, relative_target_port, key)?;
        // `enter` cannot fail once the time is checked.
        if self.ctl.enter(now).is_ok() {
            self.sync(now);
        }
        Ok(())
    }

    /// Fail a path by hand (dm `fail_path`).
    pub fn fail_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.ctl.fail_path(path, now)?;
        self.sync(now);
        Ok(())
    }

    /// Undo [`fail_path`](Self::fail_path).
    pub fn reinstate_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.ctl.reinstate_path(path, now)?;
        self.sync(now);
        Ok(())
    }

    /// Mark a path marginal by hand (multipathd `set marginal`).
    pub fn set_marginal(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.ctl.set_marginal(path, now)?;
        self.sync(now);
        Ok(())
    }

    /// Clear a marginal mark.
    pub fn clear_marginal(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.ctl.clear_marginal(path, now)?;
        self.sync(now);
        Ok(())
    }

    /// Prefer a group over the tier order (dm `switch_group`), or go back
    /// to the tier order with `None`.
    pub fn switch_group(&mut self, group: Option<GroupId>, now: Instant) -> Result<(), Error> {
        self.ctl.switch_group(group, now)?;
        self.sync(now);
        Ok(())
    }

    /// Drop a deferred failback.
    pub fn failback(&mut self, now: Instant) -> Result<(), Error> {
        self.ctl.failback(now)?;
        self.sync(now);
        Ok(())
    }

    /// Move a path to another access-state group.
    pub fn move_path_to_group(
        &mut self,
        path: PathId,
        group: GroupId,
        access: Option<GroupAccess>,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.move_path_to_group(path, group, access, now)?;
        self.sync(now);
        Ok(())
    }

    /// Switch the path selector at run time.
    pub fn set_policy(
        &mut self,
        policy: Policy,
        params: SelectorParams,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl.set_policy(policy, params, now)?;
        self.sync(now);
        Ok(())
    }

    /// Change a path's relative throughput for service-time (`0..=100`;
    /// see [`Controller::set_relative_throughput`]).
    pub fn set_relative_throughput(
        &mut self,
        path: PathId,
        relative_throughput: u8,
        now: Instant,
    ) -> Result<(), Error> {
        self.ctl
            .set_relative_throughput(path, relative_throughput, now)?;
        self.sync(now);
        Ok(())
    }

    /// Change the no-path policy.
    pub fn set_no_path_policy(&mut self, policy: NoPathPolicy, now: Instant) -> Result<(), Error> {
        self.ctl.set_no_path_policy(policy, now)?;
        self.sync(now);
        Ok(())
    }

    // ----- outputs -----

    /// The next thing to do, or `None`: the controller's actions first,
    /// then reservation commands.
    pub fn poll_action(&mut self) -> Option<crate::Action> {
        if let Some(a) = self.ctl.poll_action() {
            return Some(a);
        }
        let command = self.pr.poll_action();
        // Choosing a path can end the coordinator's task (no path to send
        // on): the controller must see that at once, or it stays quiesced
        // and its no-path deadline goes unwatched.
        self.sync(self.ctl.now());
        match command {
            Some(c) => Some(crate::Action::Reservation(c)),
            None => self.ctl.poll_action(),
        }
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout)
    /// has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ctl.poll_timeout()
    }

    // ----- internal -----

    fn reservation_notices(&mut self, path: PathId, notices: Notices) {
        if notices.intersects(KEY_CHECK_NOTICES) {
            self.pr.handle_notices(path, notices);
        }
    }

    /// Tell the coordinator which paths can carry its commands (up, not
    /// failed by hand, not damped), as the controller now sees them, and
    /// close the controller's admission gate to what the coordinator does
    /// not admit.
    fn sync(&mut self, now: Instant) {
        for slot in 0..N {
            let Some((path, usable)) = self.ctl.path_reachable(slot) else {
                continue;
            };
            match self.pr.is_up(path) {
                Some(true) if !usable => self.pr.path_down(path),
                Some(false) if usable => self.pr.path_up(path),
                _ => {}
            }
        }
        self.ctl.adopt_reservation(&self.pr, now);
        // Which paths carry I/O can move a Write Exclusive or Exclusive
        // Access reservation, which changes the gate again.
        let usable = (0..N)
            .filter_map(|slot| self.ctl.path_tier(slot))
            .filter(|(_, t)| *t != Tier::Ineligible)
            .fold(0u64, |a, (p, _)| a | crate::bits::bit(p.slot()));
        let quiesced = self.pr.is_quiesced();
        self.pr.set_usable(usable);
        if self.pr.is_quiesced() != quiesced {
            self.ctl.adopt_reservation(&self.pr, now);
        }
    }
}

/// Why a reservation operation was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device refused the input (time going backwards, removed head).
    #[error(transparent)]
    Device(#[from] Error),
    /// The coordinator refused the operation.
    #[error(transparent)]
    Reservation(#[from] PrError),
}
