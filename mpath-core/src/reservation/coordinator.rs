//! The reservation coordinator state machine. See the module docs of
//! [`reservation`](super) for the rules.

use super::destination::Destination;
use super::{
    PrAction, PrCommand, PrError, PrEvent, PrOp, PrReply, PrReport, PrType, RegState,
    RegistrationScope,
};
use crate::bits;
use crate::outcome::Notices;
use crate::path::PathId;

/// One path's nexus as the coordinator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Member {
    path: PathId,
    /// Initiator port (ALL_TG_PT scope) or host; paths with equal ports
    /// share a registration in those scopes.
    port: u32,
    up: bool,
    state: RegState,
    /// Wanted and not yet handed out.
    want: Option<PrCommand>,
    /// Handed out, reply not back.
    in_flight: Option<PrCommand>,
    /// Where a returning or new nexus is in joining a registration that
    /// already exists.
    join: Join,
}

/// A nexus joining our registration while a key is set (rule 3): look
/// before registering, and look again after. Registering blindly is how a
/// fenced host slips back in: a path that returns after another host
/// preempted our key would put it back, and I/O through that nexus would
/// land behind the fence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    /// Not joining (registered, or registered by a user operation or a
    /// move, which verify as a whole).
    Idle,
    /// READ KEYS before registering: none of ours left anywhere means we
    /// were preempted. `epoch` is [`Coordinator::epoch`] when it began.
    Look { epoch: u32 },
    /// Registered; look again, and find at least `floor` of our keys: as
    /// many as the first look saw, one more where it showed this nexus
    /// unregistered (READ FULL STATUS). Fewer (or fewer than we count
    /// registered, this one included) means a preemption landed between
    /// the look and the registration.
    Confirm { floor: u32, epoch: u32 },
}

/// What the coordinator is busy with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Task {
    /// A user operation.
    User(PrOp),
    /// Move the reservation to a live nexus (holder died) or change its
    /// type (`op`: the user operation that asked for it): preempt our own key
    /// from there, re-register the rest.
    Move { rtype: PrType, op: Option<PrOp> },
    /// Check our registrations after a notice (READ KEYS).
    Verify,
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Registration commands are out on the members; wait for all.
    Registering,
    /// One command on one path (`Running::via`), to be retried elsewhere on
    /// path failure.
    Single(PrCommand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Running {
    task: Task,
    stage: Stage,
    /// Paths tried for the single command (bit per slot).
    tried: u64,
    /// The path the single command is on, once handed out.
    via: Option<PathId>,
    /// The single command is wanted and not yet handed out.
    want: bool,
    /// The path an earlier command of the task went out on, when a later
    /// one's answer is about it (the PREEMPT a READ RESERVATION checks).
    origin: Option<PathId>,
}

/// The notices that make the coordinator check its keys (see
/// [`Coordinator::handle_notices`]): SCSI 2A/03, 2A/04, 2A/05 and NVMe
/// reservation notifications, and POWER ON, RESET (SCSI 29/xx; NVMe a new
/// association): a logical unit that lost power without APTPL has
/// forgotten every registration, and the first sign of it on a nexus is
/// this unit attention.
pub(crate) const KEY_CHECK_NOTICES: Notices = Notices::RESERVATIONS_PREEMPTED
    .union(Notices::RESERVATIONS_RELEASED)
    .union(Notices::REGISTRATIONS_PREEMPTED)
    .union(Notices::RESET_OCCURRED);

/// Keeps one logical persistent reservation correct over a changing set of
/// paths. Sans-IO: feed it path events, user operations and replies; poll it
/// for actions and events. `N` is the path capacity (slots as in the
/// controller's [`PathId`]s).
#[derive(Debug)]
pub struct Coordinator<const N: usize> {
    scope: RegistrationScope,
    key: Option<u64>,
    /// The reservation we hold, if any.
    rtype: Option<PrType>,
    /// The nexus holding it (single-holder types, per-nexus scopes).
    holder: Option<PathId>,
    members: [Option<Member>; N],
    running: Option<Running>,
    /// The holder died (or a type change was asked for) while a task ran.
    move_pending: Option<PrType>,
    /// A preemption-like notice arrived while a task ran: check the keys
    /// when it ends.
    verify_pending: bool,
    /// A check of the keys found no path up to go through: it goes as
    /// soon as one is (I/O held meanwhile), instead of being dropped, so a
    /// power-on unit attention seen just before every path went down is
    /// still followed up when they return.
    verify_owed: bool,
    fenced: bool,
    /// The key in use may be registered on some nexus: a REGISTER of it
    /// has gone out (its answer may have been lost with its path, after it
    /// landed). Until then a nexus that comes up registers without looking
    /// first: a look would find none of ours and take that for a
    /// preemption, when nothing of ours was ever there to preempt.
    anchored: bool,
    /// Events are state, not a queue, so none can be dropped: at most one
    /// of each kind is pending. The last operation's result, until polled
    /// (no new operation starts before it is).
    finished: Option<(PrOp, Result<PrReport, PrError>)>,
    /// A fence not yet reported.
    fenced_report: bool,
    /// The holder after the latest automatic move not yet reported. A
    /// second move before the first is polled supersedes it: the first
    /// holder no longer holds anything.
    moved_report: Option<PathId>,
    /// Counts the commands we send that remove registrations of our own
    /// (PREEMPT of our key): a joining nexus's count of our keys taken
    /// across one of them proves nothing, and it looks again.
    epoch: u32,
    /// Paths that can carry I/O now (bit per slot; the controller's
    /// view: a usable tier). Commands go there first, and a Write
    /// Exclusive or Exclusive Access holder outside it is moved.
    usable: u64,
    /// An automatic move off a stranded holder failed (conflict, refusal):
    /// not tried again until the usable paths change, or it would loop.
    strand_move_failed: bool,
    /// A registration of the running operation was refused by the target.
    refused: bool,
    /// Replies received to commands that removed registrations of our own
    /// (see [`removals_answered`](Self::removals_answered)).
    removals_answered: u32,
    /// Where a REGISTER AND MOVE under way sends the reservation (rule 12;
    /// [`move_destination`](Self::move_destination)).
    destination: Destination,
}

impl<const N: usize> Coordinator<N> {
    /// A coordinator with no paths and no key.
    pub const fn new(scope: RegistrationScope) -> Self {
        Coordinator {
            scope,
            key: None,
            rtype: None,
            holder: None,
            members: [None; N],
            running: None,
            move_pending: None,
            verify_pending: false,
            verify_owed: false,
            fenced: false,
            anchored: false,
            finished: None,
            fenced_report: false,
            moved_report: None,
            epoch: 0,
            usable: 0,
            strand_move_failed: false,
            removals_answered: 0,
            refused: false,
            destination: Destination::NONE,
        }
    }

    // ----- getters -----

    /// The key this host registers, if any.
    pub fn key(&self) -> Option<u64> {
        self.key
    }
    /// The reservation type held, if any.
    pub fn reservation(&self) -> Option<PrType> {
        self.rtype
    }
    /// The nexus holding a single-holder reservation.
    pub fn holder(&self) -> Option<PathId> {
        self.holder
    }
    /// Another host preempted us.
    pub fn is_fenced(&self) -> bool {
        self.fenced
    }
    /// I/O must be held: the reservation is being moved, or a notice that
    /// another host may have preempted us is being checked (READ KEYS).
    /// Sending I/O before the check ends would only meet RESERVATION
    /// CONFLICT (or, were the notice not ours to act on, race the fence).
    pub fn is_quiesced(&self) -> bool {
        matches!(
            self.running,
            Some(Running {
                task: Task::Move { .. } | Task::Verify,
                ..
            })
        ) || self.move_pending.is_some()
            || self.verify_pending
            || (self.verify_owed && self.key.is_some() && !self.fenced)
    }
    /// Whether the PR gate is closed to unregistered paths.
    pub fn key_active(&self) -> bool {
        self.key.is_some() || self.fenced
    }
    /// Whether `path`'s nexus passes the registration gate: while a key is
    /// set, only a registered nexus carries I/O (rule 1); fenced, none.
    /// What the reservation type allows on top is
    /// [`admits_read`](Self::admits_read) and
    /// [`admits_write`](Self::admits_write).
    pub fn admitted(&self, path: PathId) -> bool {
        if self.fenced {
            return false;
        }
        if self.key.is_none() {
            return true;
        }
        self.member(path)
            .is_some_and(|m| m.state == RegState::Registered)
    }

    /// Whether the reservation we hold lets `path` read: under Exclusive
    /// Access only the holder's nexus (SPC-4 table 217); under every
    /// other type any admitted one.
    pub fn admits_read(&self, path: PathId) -> bool {
        self.admitted(path) && self.holder_only(PrType::ExclusiveAccess, path)
    }

    /// Whether the reservation we hold lets `path` write: under Write
    /// Exclusive and Exclusive Access only the holder's nexus; under the
    /// registrants-only and all-registrants types any admitted one.
    pub fn admits_write(&self, path: PathId) -> bool {
        self.admitted(path)
            && self.holder_only(PrType::ExclusiveAccess, path)
            && self.holder_only(PrType::WriteExclusive, path)
    }

    /// False when the reservation held is `only_holder`'s type and `path`
    /// is not its holder.
    fn holder_only(&self, only_holder: PrType, path: PathId) -> bool {
        match (self.rtype, self.holder) {
            (Some(t), Some(h)) if t == only_holder => h == path,
            _ => true,
        }
    }

    /// Whether the coordinator counts `path` as able to carry its commands
    /// (`None` for a path it does not know).
    pub fn is_up(&self, path: PathId) -> Option<bool> {
        self.member(path).map(|m| m.up)
    }
    /// Whether a command handed out on `via` awaits its reply.
    pub fn awaiting_reply(&self, via: PathId) -> bool {
        self.member(via).is_some_and(|m| m.in_flight.is_some())
    }
    /// A path's registration state.
    pub fn state(&self, path: PathId) -> Option<RegState> {
        self.member(path).map(|m| m.state)
    }
    /// The destination of the REGISTER AND MOVE under way: its TransportID
    /// bytes, as given to [`move_to`](Self::move_to), and its relative
    /// target port. The transport adapter builds the command's parameter
    /// list from them (`mpath_scsi`'s `ScsiAdapter::pr_command_with`).
    /// `None` when no REGISTER AND MOVE runs.
    pub fn move_destination(&self) -> Option<(&[u8], u16)> {
        self.destination.get()
    }

    fn member(&self, path: PathId) -> Option<&Member> {
        self.members
            .get(path.slot())
            .and_then(Option::as_ref)
            .filter(|m| m.path == path)
    }
    fn member_in(&self, slot: usize) -> Option<&Member> {
        self.members.get(slot).and_then(Option::as_ref)
    }
    fn member_mut(&mut self, path: PathId) -> Option<&mut Member> {
        self.members
            .get_mut(path.slot())
            .and_then(Option::as_mut)
            .filter(|m| m.path == path)
    }

    // ----- path events -----

    /// A new path. It is registered before it is admitted while a key is
    /// set (rule 1), unless its scope is already covered (rule 8).
    pub fn path_added(&mut self, path: PathId, port: u32, up: bool) {
        let covered = self.covered(port);
        let Some(slot) = self.members.get_mut(path.slot()) else {
            return;
        };
        *slot = Some(Member {
            path,
            port,
            up,
            state: RegState::Unknown,
            want: None,
            in_flight: None,
            join: Join::Idle,
        });
        if self.key.is_some() && !self.fenced {
            if covered {
                self.set_state(path, RegState::Registered);
            } else if up {
                self.want_join(path);
            } else {
                self.set_state(path, RegState::Stale);
            }
        }
    }

    /// A path went away. A command in flight on it counts as failed.
    pub fn path_removed(&mut self, path: PathId) {
        let in_flight = self.member(path).and_then(|m| m.in_flight);
        if in_flight.is_some() {
            self.reply(path, PrReply::PathFailed);
        }
        if let Some(slot) = self.members.get_mut(path.slot()) {
            if slot.is_some_and(|m| m.path == path) {
                *slot = None;
            }
        }
        self.lost_path(path);
    }

    /// The path is down. Its registration stays on the target, but it may
    /// be stale by the time it returns.
    pub fn path_down(&mut self, path: PathId) {
        let Some(m) = self.member_mut(path) else {
            return;
        };
        m.up = false;
        // A registration wanted and never sent is still owed: without
        // this, the path would come back "Registering" with nothing to
        // send, and never be registered or admitted again. That holds
        // even with a command in flight on the path: it may be the
        // running task's (a check of the keys sent through this nexus
        // while its own look waited), whose answer goes to the task and
        // would never settle the join.
        if m.want.take().is_some() {
            m.state = RegState::Stale;
            m.join = Join::Idle;
        }
        self.lost_path(path);
        self.maybe_finish_registering();
    }

    /// The path is back: anything but a current registration is replaced
    /// (key set) or removed (key dropped) before it is admitted (rule 3).
    pub fn path_up(&mut self, path: PathId) {
        let key = self.key;
        let fenced = self.fenced;
        let Some(m) = self.member_mut(path) else {
            return;
        };
        m.up = true;
        match (key, m.state) {
            (Some(_), RegState::Registered) | (_, RegState::Registering) => {}
            (Some(_), _) if !fenced => self.want_join(path),
            (None, RegState::Stale) => {
                if let Some(m) = self.member_mut(path) {
                    m.state = RegState::Registering;
                    m.want = Some(PrCommand::Unregister);
                }
            }
            _ => {}
        }
        self.retry_pending_move();
    }

    /// The path now reaches the logical unit through a new I_T nexus: an
    /// iSCSI session re-established under a new ISID, a fabric login from a
    /// new port. Registrations belong to the nexus (SPC-4 5.14.1), so the
    /// old nexus's key does not cover the new one: the path is registered
    /// again before it is admitted, as a new path would be (rule 1), and a
    /// reservation the old nexus held is moved (rule 6). `port` is the new
    /// nexus's initiator port (or host) for the shared scopes. A command in
    /// flight on the old nexus counts as failed.
    ///
    /// Call this where the transport can tell (a login that did not resume
    /// the old session); when it cannot, call it on every reconnect: a
    /// redundant registration costs one command.
    pub fn nexus_replaced(&mut self, path: PathId, port: u32) {
        let Some(up) = self.member(path).map(|m| m.up) else {
            return;
        };
        self.path_removed(path);
        self.path_added(path, port, up);
        self.maybe_finish_registering();
    }

    /// The holder's path is gone: move the reservation (rule 6).
    fn lost_path(&mut self, path: PathId) {
        if self.holder != Some(path) {
            return;
        }
        self.holder = None;
        if let Some(t) = self.rtype {
            if self.running.is_none() {
                self.start_move(t);
            } else {
                self.move_pending = Some(t);
            }
        }
    }

    /// Which paths can carry I/O now (bit per slot), as the controller
    /// sees them (a usable tier: up, probed, accessible, registered).
    /// Under Write Exclusive and Exclusive Access only the holder's nexus
    /// carries writes (and, for Exclusive Access, reads): a holder that
    /// cannot carry I/O while another registered nexus can (its port
    /// group went standby or unavailable) has its reservation moved
    /// there, as if it had died (rule 6), instead of leaving that I/O
    /// with nowhere to go.
    pub fn set_usable(&mut self, usable: u64) {
        if usable != self.usable {
            self.strand_move_failed = false;
        }
        self.usable = usable;
        if let Some(t) = self.rtype.filter(|_| self.holder_stranded()) {
            if self.running.is_none() {
                self.start_move(t);
            } else if self.move_pending.is_none() {
                self.move_pending = Some(t);
            }
        }
    }

    /// The holder of a Write Exclusive or Exclusive Access reservation
    /// cannot carry I/O, and another registered, reachable nexus can.
    fn holder_stranded(&self) -> bool {
        let (Some(PrType::WriteExclusive | PrType::ExclusiveAccess), Some(h)) =
            (self.rtype, self.holder)
        else {
            return false;
        };
        !self.fenced
            && !self.strand_move_failed
            && self.usable & bits::bit(h.slot()) == 0
            && self.members.iter().flatten().any(|m| {
                m.path != h
                    && m.up
                    && m.state == RegState::Registered
                    && self.usable & bits::bit(m.path.slot()) != 0
            })
    }

    /// An I/O on `path` met RESERVATION CONFLICT. While a key is set that
    /// is a question, not an answer: our own move may have caused it (its
    /// PREEMPT removes our other registrations until they are registered
    /// again), or another host may have preempted us without a notice
    /// reaching us yet. Check the keys (READ KEYS), holding I/O meanwhile,
    /// as for a preemption notice.
    pub fn handle_conflict(&mut self, path: PathId) {
        self.handle_notices(path, Notices::REGISTRATIONS_PREEMPTED);
    }

    /// Notices from completions or asynchronous events on `path`.
    ///
    /// POWER ON, RESET counts with the reservation notices: SPC-4 keeps
    /// registrations across I_T nexus loss and resets, but a power loss
    /// without APTPL drops them all (5.13.5), and the host cannot tell
    /// which it was from the sense code alone (29/00 covers both). The
    /// check of the keys tells: still registered, nothing changes; gone,
    /// the device is fenced as after a preemption (the same look cannot
    /// tell a power loss from another host's PREEMPT or CLEAR, so it may
    /// not assume the kinder one and register again).
    pub fn handle_notices(&mut self, _path: PathId, notices: Notices) {
        // Our own move preempts our other registrations and raises these
        // on their nexuses; only a check of the keys tells who did it. A
        // notice during a task is kept for its end: the task's own READ
        // KEYS, if it had one, may predate the preemption.
        if notices.intersects(KEY_CHECK_NOTICES) && self.key.is_some() && !self.fenced {
            if self.running.is_none() {
                self.start(Task::Verify, Stage::Single(PrCommand::ReadKeys));
            } else {
                self.verify_pending = true;
            }
        }
    }

    // ----- user operations -----

    /// Start an operation. Its result comes as [`PrEvent::Finished`].
    /// [`PrError::Busy`] while another operation or a move runs, or while
    /// the previous operation's result has not been polled.
    pub fn submit(&mut self, op: PrOp) -> Result<(), PrError> {
        if self.busy() {
            return Err(PrError::Busy);
        }
        match op {
            PrOp::Register(0) => Err(PrError::ZeroKey),
            PrOp::Register(key) => {
                // A new key. The old one may be registered on nexuses no
                // path reaches now (a path that is down, a session replaced
                // since), and a reservation of ours held through one would
                // stay under the old key. A PREEMPT of the old key from one
                // registered nexus removes them all and takes a reservation
                // of ours there; then every reachable nexus registers the
                // new key.
                match self.key.filter(|&k| k != key) {
                    Some(old) => match self.takeover_first(old)? {
                        Some(first) => self.start(Task::User(op), Stage::Single(first)),
                        None => self.register_everywhere(op, key),
                    },
                    None => self.register_everywhere(op, key),
                }
                Ok(())
            }
            PrOp::Unregister => {
                // Registrations of ours may sit on nexuses no path reaches
                // now (a path that is down, a session replaced since):
                // unregistering each path's nexus would leave those, and a
                // reservation held through them. A PREEMPT of our own key
                // from one registered nexus removes them all; then that one
                // is unregistered, which releases a reservation the PREEMPT
                // took there (SPC-4 5.13.11.2.3).
                match self
                    .key
                    .map(|k| self.takeover_first(k))
                    .transpose()?
                    .flatten()
                {
                    Some(first) => self.start(Task::User(op), Stage::Single(first)),
                    None => self.unregister_everywhere(op),
                }
                Ok(())
            }
            PrOp::Reserve(t) => {
                let key = self.key.ok_or(PrError::NotRegistered)?;
                if self.fenced {
                    return Err(PrError::Fenced);
                }
                match self.rtype {
                    Some(held) if held == t => {
                        self.finished = Some((op, Ok(self.report())));
                        Ok(())
                    }
                    // A type change is a preempt of our own key (rule 6).
                    Some(_) => {
                        self.start(
                            Task::Move {
                                rtype: t,
                                op: Some(op),
                            },
                            Stage::Single(PrCommand::ReadReservation),
                        );
                        Ok(())
                    }
                    None => {
                        self.start(
                            Task::User(op),
                            Stage::Single(PrCommand::Reserve { key, rtype: t }),
                        );
                        Ok(())
                    }
                }
            }
            PrOp::Release => {
                self.key.ok_or(PrError::NotRegistered)?;
                // Rule 5: look first.
                self.start(Task::User(op), Stage::Single(PrCommand::ReadReservation));
                Ok(())
            }
            PrOp::Preempt {
                victim,
                rtype,
                abort,
            } => {
                let key = self.key.ok_or(PrError::NotRegistered)?;
                let first = if victim == key {
                    // Preempting our own key changes the type of a
                    // reservation we hold; check that we hold it first
                    // (rule 5): if another host does, it would only
                    // remove our own registrations.
                    PrCommand::ReadReservation
                } else {
                    PrCommand::Preempt {
                        key,
                        victim,
                        rtype,
                        abort,
                    }
                };
                self.start(Task::User(op), Stage::Single(first));
                Ok(())
            }
            PrOp::Clear => {
                let key = self.key.ok_or(PrError::NotRegistered)?;
                self.start(Task::User(op), Stage::Single(PrCommand::Clear { key }));
                Ok(())
            }
            PrOp::ReadKeys => {
                self.start(Task::User(op), Stage::Single(PrCommand::ReadKeys));
                Ok(())
            }
            PrOp::ReadReservation => {
                self.start(Task::User(op), Stage::Single(PrCommand::ReadReservation));
                Ok(())
            }
            // The destination's TransportID comes with `move_to` only.
            PrOp::RegisterAndMove { .. } => Err(PrError::BadTransportId),
        }
    }

    /// Hand the reservation we hold to another I_T nexus: REGISTER AND MOVE
    /// (rule 12) to the I_T nexus of the initiator port `transport_id`
    /// names (a TransportID, SPC-4 7.6.4, 1 to
    /// [`TRANSPORT_ID_MAX`](super::TRANSPORT_ID_MAX) bytes, kept here until
    /// the command is answered: [`move_destination`](Self::move_destination))
    /// through the target port `relative_target_port`, registering it with
    /// `dest_key`. Our registrations stay (UNREG 0). Its result comes as
    /// [`PrEvent::Finished`] for [`PrOp::RegisterAndMove`]; once GOOD, this
    /// host holds no reservation.
    ///
    /// Refused, nothing changed: [`PrError::Busy`] as for
    /// [`submit`](Self::submit); [`PrError::BadTransportId`] for an empty
    /// or too long TransportID; [`PrError::ZeroKey`] for `dest_key` 0;
    /// [`PrError::NotRegistered`] without a key; [`PrError::Fenced`];
    /// [`PrError::NotHolder`] unless this host holds a single-holder
    /// reservation through a nexus it knows (an all-registrants one has no
    /// holder to move, and SPC-4 5.13.8 answers it with RESERVATION
    /// CONFLICT; a host-scoped registration names no nexus).
    pub fn move_to(
        &mut self,
        transport_id: &[u8],
        relative_target_port: u16,
        dest_key: u64,
    ) -> Result<(), PrError> {
        if self.busy() {
            return Err(PrError::Busy);
        }
        Destination::check(transport_id)?;
        if dest_key == 0 {
            return Err(PrError::ZeroKey);
        }
        let key = self.key.ok_or(PrError::NotRegistered)?;
        if self.fenced {
            return Err(PrError::Fenced);
        }
        let Some(rtype) = self
            .rtype
            .filter(|t| !t.all_registrants() && self.holder.is_some())
        else {
            return Err(PrError::NotHolder);
        };
        self.destination.set(transport_id, relative_target_port)?;
        self.start(
            Task::User(PrOp::RegisterAndMove {
                dest_key,
                relative_target_port,
            }),
            Stage::Single(PrCommand::RegisterAndMove {
                key,
                dest_key,
                rtype,
                relative_target_port,
            }),
        );
        Ok(())
    }

    /// Register `key` on every reachable nexus not registered with it (one
    /// per initiator port or host in the shared scopes), then verify.
    fn register_everywhere(&mut self, op: PrOp, key: u64) {
        self.refused = false;
        self.fenced = false;
        if self.key != Some(key) {
            // Registrations on paths we cannot reach now hold the
            // old key (or none): stale until they return.
            for m in self.members.iter_mut().flatten() {
                m.state = if m.up {
                    RegState::Unknown
                } else {
                    RegState::Stale
                };
            }
        }
        if self.key != Some(key) {
            self.anchored = false;
        }
        self.key = Some(key);
        self.running = Some(Running {
            task: Task::User(op),
            stage: Stage::Registering,
            tried: 0,
            via: None,
            want: false,
            origin: None,
        });
        for slot in 0..N {
            let Some(p) = self
                .member_in(slot)
                .filter(|m| m.up && m.state != RegState::Registered)
                .map(|m| m.path)
            else {
                continue;
            };
            if !self.covered_by_other(p) {
                self.want_register(p);
            }
        }
        self.refresh_coverage();
        self.maybe_finish_registering();
    }

    /// Whether an operation (or a move) is under way or its result not
    /// yet polled: a new one is refused [`PrError::Busy`].
    fn busy(&self) -> bool {
        self.running.is_some() || self.move_pending.is_some() || self.finished.is_some()
    }

    /// How a key change or an unregistration takes every registration of
    /// `key` over first (a PREEMPT of it from one registered nexus removes
    /// them all, wherever they are): the first command, `None` to go nexus
    /// by nexus instead (host-scoped registrations have nothing elsewhere
    /// to take; fenced, another host removed them already).
    ///
    /// - a registered path is up: READ RESERVATION (for the type the
    ///   PREEMPT carries), then the PREEMPT;
    /// - only unregistered paths are up: one registers `key` first
    ///   (REGISTER AND IGNORE EXISTING KEY), then the same;
    /// - no path is up at all: refused with [`PrError::NoPath`], nothing
    ///   changed. Nexus by nexus would reach nothing now and leave our
    ///   registrations, and a reservation held through them, on nexuses
    ///   that may never come back.
    fn takeover_first(&self, key: u64) -> Result<Option<PrCommand>, PrError> {
        let any_up = self.members.iter().flatten().any(|m| m.up);
        if self.fenced {
            return Ok(None);
        }
        if !any_up {
            return Err(PrError::NoPath);
        }
        if self.scope == RegistrationScope::Host {
            return Ok(None);
        }
        let registered_up = self
            .members
            .iter()
            .flatten()
            .any(|m| m.up && m.state == RegState::Registered);
        Ok(Some(if registered_up {
            PrCommand::ReadReservation
        } else {
            PrCommand::Register { key }
        }))
    }

    /// Unregister every reachable nexus (REGISTER AND IGNORE EXISTING KEY
    /// with key 0), one per initiator port or host in the shared scopes;
    /// nexuses that are down are unregistered when they return.
    fn unregister_everywhere(&mut self, op: PrOp) {
        self.key = None;
        self.rtype = None;
        self.holder = None;
        self.fenced = false;
        self.running = Some(Running {
            task: Task::User(op),
            stage: Stage::Registering,
            tried: 0,
            via: None,
            want: false,
            origin: None,
        });
        let shared = self.scope != RegistrationScope::Nexus;
        for slot in 0..N {
            let Some((port, up)) = self.member_in(slot).map(|m| (m.port, m.up)) else {
                continue;
            };
            // In the shared scopes one command per initiator port
            // (or host): skip a port an earlier path already
            // unregisters. Compared whole: port ids are the
            // embedder's, any u32.
            let covered = shared
                && self
                    .members
                    .iter()
                    .take(slot)
                    .flatten()
                    .any(|o| o.up && o.port == port);
            let Some(Some(m)) = self.members.get_mut(slot) else {
                continue;
            };
            if up && !covered {
                m.state = RegState::Registering;
                m.want = Some(PrCommand::Unregister);
            } else if !up {
                m.state = RegState::Stale;
            } else {
                m.state = RegState::Unknown;
            }
        }
        self.maybe_finish_registering();
    }

    fn start(&mut self, task: Task, stage: Stage) {
        self.refused = false;
        self.running = Some(Running {
            task,
            stage,
            tried: 0,
            via: None,
            want: matches!(stage, Stage::Single(_)),
            origin: None,
        });
    }

    fn start_move(&mut self, t: PrType) {
        self.move_pending = None;
        self.start(
            Task::Move { rtype: t, op: None },
            Stage::Single(PrCommand::ReadReservation),
        );
    }

    // ----- outputs -----

    /// The next command to send, or `None`.
    pub fn poll_action(&mut self) -> Option<PrAction> {
        // A move waiting for a path goes as soon as one can take it, however
        // that came about; so does a check of the keys.
        self.retry_pending_move();
        self.retry_owed_verify();
        if let Some(r) = self.running {
            if let (true, Stage::Single(cmd)) = (r.want, r.stage) {
                let picked = if self.holder_bound(cmd) {
                    // A RELEASE from any nexus but the holder's is GOOD and
                    // releases nothing (SPC-4 5.13.11.2.1): only the holder
                    // will do. With the holder gone the release fails
                    // (no path) and the move that follows makes a new one.
                    self.holder
                        .filter(|&h| self.member(h).is_some_and(|m| can_send(m, r.tried, true)))
                } else {
                    self.pick_path(r.tried, needs_registration(cmd))
                };
                let Some(via) = picked else {
                    self.single_failed(PrError::NoPath);
                    return self.poll_action();
                };
                if let Some(r) = self.running.as_mut() {
                    r.want = false;
                    r.via = Some(via);
                    r.tried |= bits::bit(via.slot());
                }
                if let Some(m) = self.member_mut(via) {
                    m.in_flight = Some(cmd);
                }
                self.count_removal(cmd);
                self.note_sent(cmd);
                return Some(PrAction { via, command: cmd });
            }
        }
        let mut out = None;
        for m in self.members.iter_mut().flatten() {
            if let (Some(cmd), true, None) = (m.want, m.up, m.in_flight) {
                m.want = None;
                m.in_flight = Some(cmd);
                out = Some(PrAction {
                    via: m.path,
                    command: cmd,
                });
                break;
            }
        }
        if let Some(a) = out {
            self.count_removal(a.command);
            self.note_sent(a.command);
        }
        out
    }

    /// A REGISTER of the key in use is going out: from now on it may be
    /// on the target whatever its answer (one lost with its path may have
    /// landed), so another host may have preempted it and later arrivals
    /// look first (`anchored`).
    fn note_sent(&mut self, cmd: PrCommand) {
        if let PrCommand::Register { key } = cmd {
            if Some(key) == self.key {
                self.anchored = true;
            }
        }
    }

    /// Advance [`epoch`](Self::epoch) for a command that removes
    /// registrations of our own.
    fn count_removal(&mut self, cmd: PrCommand) {
        if self.removes_own(cmd) {
            self.epoch = self.epoch.wrapping_add(1);
        }
    }

    /// Whether `cmd` removes registrations of ours while we hold a key: a
    /// PREEMPT of our own key (a move, a type change, the takeovers before
    /// a release, a key change or an unregistration). Unregistrations are
    /// not counted: they go out with the key already dropped or while
    /// fenced, when no join runs and no conflict is checked.
    fn removes_own(&self, cmd: PrCommand) -> bool {
        matches!(cmd, PrCommand::Preempt { victim, .. } if Some(victim) == self.key)
    }

    /// How many replies have come back to commands that removed
    /// registrations of our own. I/O the target had from before such a
    /// reply may meet RESERVATION CONFLICT on a nexus whose registration
    /// it removed: a conflict we caused, to be held and sent again, not
    /// failed (the device compares this count around each reply).
    pub fn removals_answered(&self) -> u32 {
        self.removals_answered
    }

    /// The next event, or `None`. Events are computed from state: a move,
    /// then a fence, then an operation's result.
    pub fn poll_event(&mut self) -> Option<PrEvent> {
        if let Some(holder) = self.moved_report.take() {
            return Some(PrEvent::Moved { holder });
        }
        if core::mem::take(&mut self.fenced_report) {
            return Some(PrEvent::Fenced);
        }
        let (op, result) = self.finished.take()?;
        Some(PrEvent::Finished { op, result })
    }

    // ----- replies -----

    /// The transport's answer to the command last handed out on `via`.
    /// Replies for commands never sent are ignored (and reported `false`).
    pub fn reply(&mut self, via: PathId, reply: PrReply) -> bool {
        let Some(cmd) = self.member(via).and_then(|m| m.in_flight) else {
            return false;
        };
        if let Some(m) = self.member_mut(via) {
            m.in_flight = None;
        }
        if self.removes_own(cmd) {
            self.removals_answered = self.removals_answered.wrapping_add(1);
        }
        let single = self
            .running
            .is_some_and(|r| r.via == Some(via) && r.stage == Stage::Single(cmd));
        if single {
            self.single_reply(via, cmd, reply);
        } else {
            self.registration_reply(via, cmd, reply);
        }
        self.retry_pending_move();
        true
    }

    /// A check of the keys owed since no path could take it goes as soon
    /// as one can.
    fn retry_owed_verify(&mut self) {
        if !self.verify_owed || self.running.is_some() {
            return;
        }
        // The same test the command's path is picked by: a member that is
        // up but busy would fail the check at once and owe it again.
        let cmd = PrCommand::ReadKeys;
        if self.pick_path(0, needs_registration(cmd)).is_some() {
            self.verify_owed = false;
            if self.key.is_some() && !self.fenced {
                self.start(Task::Verify, Stage::Single(cmd));
            }
        }
    }

    /// A move that found no path to go out on is tried again once a path
    /// is up and registered (it goes nowhere before: its PREEMPT needs a
    /// registered nexus).
    fn retry_pending_move(&mut self) {
        let ready = self
            .members
            .iter()
            .flatten()
            .any(|m| m.up && m.state == RegState::Registered);
        if self.running.is_none() && self.move_pending.is_some() && ready {
            self.after_task();
        }
    }

    fn registration_reply(&mut self, via: PathId, cmd: PrCommand, reply: PrReply) {
        let join = self.member(via).map_or(Join::Idle, |m| m.join);
        if cmd == PrCommand::ReadKeys {
            if let PrReply::Keys { ours, here, .. } = reply {
                self.join_keys(via, join, ours, here);
            } else {
                self.join_failed(via);
            }
            self.refresh_coverage();
            self.maybe_finish_registering();
            return;
        }
        let ok = reply == PrReply::Done;
        self.refused |= reply == PrReply::Refused;
        let state = match (cmd, ok) {
            (PrCommand::Register { key }, true) if Some(key) == self.key => {
                self.anchored = true;
                RegState::Registered
            }
            (PrCommand::Unregister, true) => RegState::Unknown,
            // A reply for a key we no longer want: ask again.
            (PrCommand::Register { .. }, true) => RegState::Stale,
            _ => RegState::Failed,
        };
        match (state, join) {
            // A joining nexus is registered: look again before admitting
            // it.
            (RegState::Registered, Join::Confirm { .. }) => {
                if let Some(m) = self.member_mut(via) {
                    m.want = Some(PrCommand::ReadKeys);
                }
            }
            _ => {
                if let Some(m) = self.member_mut(via) {
                    m.state = state;
                    m.join = Join::Idle;
                }
                if state == RegState::Stale && self.key.is_some() {
                    self.want_register(via);
                }
            }
        }
        self.refresh_coverage();
        self.maybe_finish_registering();
    }

    /// A joining nexus's READ KEYS (or READ FULL STATUS) answer.
    fn join_keys(&mut self, via: PathId, join: Join, ours: u32, here: Option<bool>) {
        if self.key.is_none() || self.fenced {
            self.join_failed(via);
            return;
        }
        match join {
            Join::Look { epoch } | Join::Confirm { epoch, .. } if epoch != self.epoch => {
                // We removed registrations of our own meanwhile: the count
                // says nothing. Start over.
                self.want_join(via);
            }
            // Our key is gone from every nexus: another host preempted
            // (or cleared) it while this path was away. Fenced; nothing
            // registers behind the fence (rule 7).
            Join::Look { .. } if ours == 0 => self.fence(false),
            // This nexus still holds our key (its registration outlived the
            // outage, or ALL_TG_PT covers it): nothing to register, so
            // nothing that could land behind a fence.
            Join::Look { .. } if here == Some(true) => {
                if let Some(m) = self.member_mut(via) {
                    m.state = RegState::Registered;
                    m.join = Join::Idle;
                }
            }
            Join::Look { epoch } => {
                // Where the look named this nexus unregistered, the second
                // must find ours plus this one: a preemption in between
                // that took our only other registration leaves the count
                // as it was, and READ KEYS alone cannot tell.
                let floor = ours.saturating_add(u32::from(here == Some(false)));
                if let (Some(key), Some(m)) = (self.key, self.member_mut(via)) {
                    m.join = Join::Confirm { floor, epoch };
                    m.want = Some(PrCommand::Register { key });
                }
            }
            Join::Confirm { floor, .. } => {
                self.set_state(via, RegState::Registered);
                let expected = self.expected_registrations();
                if ours < floor || ours < expected || here == Some(false) {
                    // A preemption landed between the look and the
                    // registration: ours is the only registration left,
                    // behind the fence. Take it out again.
                    self.fence(true);
                } else if let Some(m) = self.member_mut(via) {
                    m.join = Join::Idle;
                }
            }
            // An answer for a join that was called off (a user operation
            // or a move took the nexus over): theirs to finish.
            Join::Idle => {}
        }
    }

    /// A joining nexus's READ KEYS failed: like a failed registration, it
    /// is tried again when the path comes back.
    fn join_failed(&mut self, via: PathId) {
        if let Some(m) = self.member_mut(via) {
            if m.join != Join::Idle {
                m.join = Join::Idle;
                m.state = RegState::Failed;
            }
        }
    }

    /// Registration round over: verify (rule 2) or finish.
    fn maybe_finish_registering(&mut self) {
        let Some(r) = self.running else { return };
        if r.stage != Stage::Registering {
            return;
        }
        let busy = self
            .members
            .iter()
            .flatten()
            .any(|m| m.up && (m.want.is_some() || m.in_flight.is_some()));
        if busy {
            return;
        }
        match r.task {
            Task::User(PrOp::Register(_)) | Task::Move { .. } if self.registered_mask() != 0 => {
                if let Some(r) = self.running.as_mut() {
                    r.stage = Stage::Single(PrCommand::ReadKeys);
                    r.want = true;
                    r.tried = 0;
                }
            }
            // Nowhere registered: the target refused it (an option it does
            // not support, say), or no path could carry it.
            Task::User(op @ PrOp::Register(_)) => {
                let error = if self.refused {
                    PrError::Refused
                } else {
                    PrError::NoPath
                };
                self.finish(op, Err(error));
            }
            Task::User(op) => {
                let report = self.report();
                self.finish(op, Ok(report));
            }
            Task::Move { .. } | Task::Verify => self.finish_internal(),
        }
    }

    fn single_reply(&mut self, via: PathId, cmd: PrCommand, reply: PrReply) {
        let Some(r) = self.running else { return };
        match reply {
            PrReply::PathFailed => {
                // Rule 4: another path.
                if let Some(r) = self.running.as_mut() {
                    r.want = true;
                    r.via = None;
                }
                if let Some(m) = self.member_mut(via) {
                    if needs_registration(cmd) {
                        m.state = RegState::Failed;
                    }
                }
            }
            // A RESERVE retried after an attempt whose answer was lost with
            // its path: that attempt may have taken the reservation, and
            // this conflict may be our own reservation answering. Look.
            PrReply::Conflict => match self.lost_reserve_attempt(r, cmd, via) {
                Some(origin) => {
                    self.next_single(PrCommand::ReadReservation);
                    if let Some(run) = self.running.as_mut() {
                        run.origin = origin;
                    }
                }
                None => self.single_failed(PrError::Conflict),
            },
            PrReply::Refused => self.single_failed(PrError::Refused),
            _ => self.single_done(r, via, cmd, reply),
        }
    }

    /// For a RESERVE met by RESERVATION CONFLICT on `via` after an earlier
    /// attempt whose answer was lost: `Some`, with that attempt's path (the
    /// lowest slot, should there be several; `None` if it is gone), which
    /// may hold the reservation now. `None` for any other conflict.
    fn lost_reserve_attempt(
        &self,
        r: Running,
        cmd: PrCommand,
        via: PathId,
    ) -> Option<Option<PathId>> {
        let lost = r.tried & !bits::bit(via.slot());
        let reserve = matches!(
            (r.task, cmd),
            (Task::User(PrOp::Reserve(_)), PrCommand::Reserve { .. })
        );
        (reserve && lost != 0).then(|| {
            (0..N)
                .find(|&slot| lost & bits::bit(slot) != 0)
                .and_then(|slot| self.member_in(slot))
                .map(|m| m.path)
        })
    }

    fn single_failed(&mut self, error: PrError) {
        let Some(r) = self.running else { return };
        if let (Task::Move { rtype, op: None }, PrError::NoPath) = (r.task, error) {
            // No live registered path to move the reservation to yet: the
            // move waits (I/O stays held) until a path is up and
            // registered, instead of being dropped with the reservation
            // left on a dead nexus (`retry_pending_move`).
            self.running = None;
            self.move_pending = Some(rtype);
            return;
        }
        if (r.task, error) == (Task::Verify, PrError::NoPath) {
            self.running = None;
            self.verify_owed = true;
            return;
        }
        match r.task {
            // The takeover failed on every path that is up (or none is):
            // nexus by nexus would reach no more, and would leave our
            // registrations (and a reservation held through them) where no
            // path goes. Refused, the key as it was; asked again once a
            // path is up. (A path that is up but busy with a command of
            // its own is not a failure: nexus by nexus then.)
            Task::User(op @ (PrOp::Unregister | PrOp::Register(_)))
                if error == PrError::NoPath
                    && self
                        .members
                        .iter()
                        .flatten()
                        .filter(|m| m.up)
                        .all(|m| r.tried & bits::bit(m.path.slot()) != 0)
                    && matches!(
                        r.stage,
                        Stage::Single(
                            PrCommand::Register { .. }
                                | PrCommand::ReadReservation
                                | PrCommand::Preempt { .. }
                        )
                    ) =>
            {
                self.finish(op, Err(PrError::NoPath));
            }
            // The takeover could not run (our registration refused):
            // unregister nexus by nexus instead.
            Task::User(op @ PrOp::Unregister) => {
                self.running = None;
                self.unregister_everywhere(op);
            }
            // The key change's takeover could not run: register the new
            // key nexus by nexus instead.
            Task::User(op @ PrOp::Register(key))
                if matches!(
                    r.stage,
                    Stage::Single(
                        PrCommand::Register { .. }
                            | PrCommand::ReadReservation
                            | PrCommand::Preempt { .. }
                    )
                ) =>
            {
                self.running = None;
                self.register_everywhere(op, key);
            }
            Task::User(op) => self.finish(op, Err(error)),
            Task::Move { op: Some(op), .. } => self.finish(op, Err(error)),
            Task::Move { op: None, .. } => {
                // The target would not let us take it (our registration may
                // be gone): check our keys, and leave the holder where it
                // is until the paths change.
                self.strand_move_failed = true;
                self.verify_pending |= self.key.is_some() && !self.fenced;
                self.finish_internal();
            }
            Task::Verify => self.finish_internal(),
        }
    }

    fn single_done(&mut self, running: Running, via: PathId, cmd: PrCommand, reply: PrReply) {
        let task = running.task;
        let key = self.key.unwrap_or(0);
        match (task, cmd, reply) {
            // Verification after registering (rule 2) or after a notice.
            (_, PrCommand::ReadKeys, PrReply::Keys { ours, total, here })
                if !matches!(task, Task::User(PrOp::ReadKeys)) =>
            {
                // Fewer of our keys than we registered: only a preemption
                // or a clear removes registrations we did not remove
                // ourselves (they outlive I_T nexus loss), and our own
                // removals (a move's PREEMPT) are registered again before
                // this check. Registering the missing ones again would
                // put us back behind another host's fence (rule 7). READ
                // FULL STATUS also names the nexus it went through: one we
                // count registered that is not has lost its registration
                // the same way, whatever the count says (old registrations
                // of ours elsewhere can make up the number).
                let lost_here = here == Some(false)
                    && self
                        .member(via)
                        .is_some_and(|m| m.state == RegState::Registered);
                if ours < self.expected_registrations() || ours == 0 || lost_here {
                    self.fence(ours > 0);
                }
                match task {
                    Task::User(op) if !self.fenced => {
                        let mut report = self.report();
                        report.keys = Some((ours, total));
                        self.finish(op, Ok(report));
                    }
                    Task::User(op) => self.finish(op, Err(PrError::Fenced)),
                    // Taken over to be released: release it now, from
                    // the new holder.
                    Task::Move {
                        op: Some(PrOp::Release),
                        rtype,
                    } if !self.fenced => {
                        if let Some(run) = self.running.as_mut() {
                            run.task = Task::User(PrOp::Release);
                        }
                        self.next_single(PrCommand::Release { key, rtype });
                    }
                    Task::Move { op: Some(op), .. } if !self.fenced => {
                        let report = self.report();
                        self.finish(op, Ok(report));
                    }
                    Task::Move { op: Some(op), .. } => self.finish(op, Err(PrError::Fenced)),
                    Task::Move { op: None, .. } => {
                        if let Some(holder) = self.holder {
                            self.moved_report = Some(holder);
                        }
                        self.finish_internal();
                    }
                    // Our keys are where they should be: is the
                    // reservation? A RESERVE whose answer was lost with its
                    // path may have taken one we do not know of, and the
                    // conflict or notice that started this check may be it
                    // answering.
                    Task::Verify if !self.fenced && self.key.is_some() => {
                        self.next_single(PrCommand::ReadReservation);
                    }
                    Task::Verify => self.finish_internal(),
                }
            }
            // A reservation of ours the coordinator did not know of (or knew
            // of another type): adopt it. Its holder is a nexus we cannot
            // name, so a single-holder one is moved to a live nexus of ours
            // (PREEMPT of our own key), where I/O can follow.
            (Task::Verify, PrCommand::ReadReservation, PrReply::Reservation(r)) => {
                if let Some((_, t)) = r.filter(|&(k, t)| self.holds(k, t)) {
                    if self.rtype != Some(t) {
                        self.rtype = Some(t);
                        self.holder = None;
                        if !t.all_registrants() && self.scope != RegistrationScope::Host {
                            self.move_pending = Some(t);
                        }
                    }
                }
                self.finish_internal();
            }
            (Task::User(op), PrCommand::ReadKeys, PrReply::Keys { ours, total, .. }) => {
                let mut report = self.report();
                report.keys = Some((ours, total));
                self.finish(op, Ok(report));
            }
            (
                Task::User(
                    op @ PrOp::Preempt {
                        victim,
                        rtype,
                        abort,
                    },
                ),
                PrCommand::ReadReservation,
                PrReply::Reservation(r),
            ) if victim == key => match r {
                // All-registrants: no PREEMPT changes its type without
                // removing other hosts' registrations; release and
                // reserve, as a type change does.
                Some((k, t)) if self.holds(k, t) && t.all_registrants() => {
                    if let Some(run) = self.running.as_mut() {
                        run.task = Task::Move {
                            rtype,
                            op: Some(op),
                        };
                    }
                    self.next_single(PrCommand::Release { key, rtype: t });
                }
                Some((k, t)) if self.holds(k, t) => {
                    self.next_single(PrCommand::Preempt {
                        key,
                        victim,
                        rtype,
                        abort,
                    });
                }
                _ => {
                    self.rtype = None;
                    self.holder = None;
                    self.finish(op, Err(PrError::NotHolder));
                }
            },
            (
                Task::User(op @ PrOp::Preempt { .. }),
                PrCommand::ReadReservation,
                PrReply::Reservation(r),
            ) => {
                match r {
                    // Ours as before: the victim held nothing; ours with a
                    // new type: the PREEMPT's path took it.
                    Some((k, t)) if self.holds(k, t) => {
                        if self.rtype != Some(t) {
                            self.holder = self.single_holder(t, running.origin.unwrap_or(via));
                        }
                        self.rtype = Some(t);
                    }
                    _ => {
                        self.rtype = None;
                        self.holder = None;
                    }
                }
                let report = self.report();
                self.finish(op, Ok(report));
            }
            // A new key: take the old one's registrations over first.
            (
                Task::User(PrOp::Register(_)),
                PrCommand::ReadReservation,
                PrReply::Reservation(r),
            ) => {
                if let Some((_, t)) = r.filter(|&(k, t)| self.holds(k, t)) {
                    // Ours (perhaps through a nexus we did not know): the
                    // PREEMPT takes it to the nexus it goes out on.
                    self.rtype = Some(t);
                }
                let rtype = r.map_or(PrType::WriteExclusiveRegistrantsOnly, |(_, t)| t);
                self.next_single(PrCommand::Preempt {
                    key,
                    victim: key,
                    rtype,
                    abort: false,
                });
            }
            (Task::User(op @ PrOp::Register(new)), PrCommand::Preempt { .. }, PrReply::Done) => {
                // Every registration of the old key but this nexus's is
                // gone, wherever it was, and a reservation of ours is
                // here; registering the new key here carries it over.
                self.holder = self.rtype.and_then(|t| self.single_holder(t, via));
                for m in self.members.iter_mut().flatten() {
                    m.want = None;
                    m.join = Join::Idle;
                }
                self.running = None;
                self.register_everywhere(op, new);
            }
            // Registered (the key in use, or the old one before a key
            // change) to take the others over from: read the type, then
            // PREEMPT that key from here.
            (
                Task::User(PrOp::Unregister | PrOp::Register(_)),
                PrCommand::Register { .. },
                PrReply::Done,
            ) => {
                if let Some(m) = self.member_mut(via) {
                    m.state = RegState::Registered;
                    m.join = Join::Idle;
                    m.want = None;
                }
                self.next_single(PrCommand::ReadReservation);
            }
            (Task::User(PrOp::Unregister), PrCommand::ReadReservation, PrReply::Reservation(r)) => {
                let rtype = r.map_or(PrType::WriteExclusiveRegistrantsOnly, |(_, t)| t);
                self.next_single(PrCommand::Preempt {
                    key,
                    victim: key,
                    rtype,
                    abort: false,
                });
            }
            (Task::User(PrOp::Unregister), PrCommand::Preempt { .. }, PrReply::Done) => {
                // Every registration of ours but this nexus's is gone,
                // wherever it was; unregister this one.
                self.key = None;
                self.rtype = None;
                self.holder = None;
                for m in self.members.iter_mut().flatten() {
                    m.want = None;
                    m.join = Join::Idle;
                    m.state = RegState::Unknown;
                    if m.path == via {
                        m.state = RegState::Registering;
                        m.want = Some(PrCommand::Unregister);
                    }
                }
                if let Some(r) = self.running.as_mut() {
                    r.stage = Stage::Registering;
                    r.want = false;
                }
                self.maybe_finish_registering();
            }
            (Task::User(PrOp::Release), PrCommand::ReadReservation, PrReply::Reservation(r)) => {
                match r {
                    Some((k, t)) if self.holds(k, t) => {
                        let release = PrCommand::Release { key, rtype: t };
                        let reachable = self
                            .holder
                            .is_some_and(|h| self.member(h).is_some_and(|m| m.up));
                        if self.holder_bound(release) && !reachable {
                            // Ours, through a nexus we do not know or cannot
                            // reach (a fresh process, a holder on a path that
                            // is down, a session from an earlier run). A
                            // RELEASE from any other nexus is GOOD and
                            // releases nothing (SPC-4 5.13.11.2.1): take the
                            // reservation over first, as a move does, and
                            // release it from there.
                            self.rtype = Some(t);
                            self.holder = None;
                            if let Some(run) = self.running.as_mut() {
                                run.task = Task::Move {
                                    rtype: t,
                                    op: Some(PrOp::Release),
                                };
                            }
                            self.next_single(PrCommand::Preempt {
                                key,
                                victim: key,
                                rtype: t,
                                abort: false,
                            });
                        } else {
                            // A single-holder type goes out only on the
                            // holder's nexus (`holder_bound`).
                            self.next_single(release);
                        }
                    }
                    _ => self.finish(PrOp::Release, Err(PrError::NotHolder)),
                }
            }
            // After a RESERVE met a conflict, retried past a lost answer:
            // ours, of the type asked for, means the lost attempt took it
            // (through that path's nexus, `origin`); anything else is a
            // real conflict.
            (
                Task::User(op @ PrOp::Reserve(t)),
                PrCommand::ReadReservation,
                PrReply::Reservation(r),
            ) => match r {
                Some((k, held)) if held == t && self.holds(k, held) => {
                    self.rtype = Some(t);
                    let holder = self.single_holder(t, running.origin.unwrap_or(via));
                    self.holder = holder;
                    let report = self.report();
                    self.finish(op, Ok(report));
                    // Held through the lost path's nexus: if that path is
                    // down, the reservation moves to a live one (rule 6).
                    if let Some(h) = holder.filter(|&h| !self.member(h).is_some_and(|m| m.up)) {
                        self.lost_path(h);
                    }
                }
                _ => self.finish(op, Err(PrError::Conflict)),
            },
            (Task::User(op), PrCommand::ReadReservation, PrReply::Reservation(r)) => {
                let mut report = self.report();
                report.reservation = r;
                self.finish(op, Ok(report));
            }
            (Task::User(op), PrCommand::Reserve { rtype, .. }, PrReply::Done) => {
                self.rtype = Some(rtype);
                self.holder = self.single_holder(rtype, via);
                let report = self.report();
                self.finish(op, Ok(report));
            }
            (Task::User(op), PrCommand::Release { .. }, PrReply::Done) => {
                self.rtype = None;
                self.holder = None;
                let report = self.report();
                self.finish(op, Ok(report));
            }
            // Moved (rule 12): the reservation is the destination's now; our
            // registrations stay.
            (Task::User(op), PrCommand::RegisterAndMove { .. }, PrReply::Done) => {
                self.rtype = None;
                self.holder = None;
                let report = self.report();
                self.finish(op, Ok(report));
            }
            (Task::User(op), PrCommand::Clear { .. }, PrReply::Done) => {
                // Every registration and the reservation are gone.
                self.key = None;
                self.rtype = None;
                self.holder = None;
                for m in self.members.iter_mut().flatten() {
                    m.state = RegState::Unknown;
                    m.want = None;
                }
                let report = self.report();
                self.finish(op, Ok(report));
            }
            (_, PrCommand::Preempt { victim, rtype, .. }, PrReply::Done) => {
                if victim == key {
                    self.rtype = Some(rtype);
                    self.holder = self.single_holder(rtype, via);
                    // Preempting our own key removed our registrations on
                    // every other nexus: register them again (rule 6).
                    self.reregister_all_except(Some(via));
                } else if let Some(r) = self.running.as_mut() {
                    // A PREEMPT takes the reservation only if the victim
                    // held it; otherwise it removes the victim's
                    // registrations and the reservation stays as it was
                    // (SPC-4 5.13.11.4). Read what it did, on this path.
                    r.stage = Stage::Single(PrCommand::ReadReservation);
                    r.want = true;
                    r.tried = 0;
                    r.via = None;
                    r.origin = Some(via);
                }
            }
            // A type change from an all-registrants type: released, now
            // reserve the new type.
            (Task::Move { rtype, .. }, PrCommand::Release { .. }, PrReply::Done) => {
                self.rtype = None;
                self.holder = None;
                self.next_single(PrCommand::Reserve { key, rtype });
            }
            (Task::Move { rtype, op }, PrCommand::Reserve { .. }, PrReply::Done) => {
                self.rtype = Some(rtype);
                self.holder = self.single_holder(rtype, via);
                match op {
                    Some(op) => {
                        let report = self.report();
                        self.finish(op, Ok(report));
                    }
                    None => self.finish_internal(),
                }
            }
            // Moving: look at the reservation, then preempt our own key.
            (Task::Move { rtype: t, op }, PrCommand::ReadReservation, PrReply::Reservation(r)) => {
                match r {
                    // An all-registrants reservation has no holder to preempt
                    // from: a PREEMPT naming our key would only remove our
                    // other registrations and leave the type (SPC-4
                    // 5.13.11.4.4), and one naming key 0 would remove every
                    // other host's registrations too. A type change releases
                    // it (any registrant may) and reserves the new type.
                    // Held by all registrants now (key 0 can also mean
                    // another host took it over us): nothing to move;
                    // check our keys.
                    Some((k, held))
                        if self.holds(k, held) && held.all_registrants() && op.is_none() =>
                    {
                        self.rtype = Some(held);
                        self.holder = None;
                        self.verify_pending = true;
                        self.finish_internal();
                    }
                    Some((k, held)) if self.holds(k, held) && held.all_registrants() => {
                        self.next_single(PrCommand::Release { key, rtype: held });
                    }
                    Some((k, held)) if self.holds(k, held) => {
                        self.next_single(PrCommand::Preempt {
                            key,
                            victim: key,
                            rtype: t,
                            abort: false,
                        });
                    }
                    // Not ours any more: never preempt someone else's (rule 5).
                    _ => {
                        self.rtype = None;
                        self.holder = None;
                        match op {
                            Some(op) => self.finish(op, Err(PrError::NotHolder)),
                            None => self.finish_internal(),
                        }
                    }
                }
            }
            (Task::User(op), _, _) => self.finish(op, Err(PrError::Refused)),
            _ => self.finish_internal(),
        }
    }

    /// Whether `cmd` must go out on the holder's nexus: a RELEASE of a
    /// reservation with one holder (not all-registrants, not host-scoped),
    /// and REGISTER AND MOVE, which only the holder may send (SPC-4 5.13.8;
    /// `move_to` starts it only with a holder known).
    fn holder_bound(&self, cmd: PrCommand) -> bool {
        match cmd {
            PrCommand::Release { rtype, .. } => {
                !rtype.all_registrants() && self.scope != RegistrationScope::Host
            }
            PrCommand::RegisterAndMove { .. } => true,
            _ => false,
        }
    }

    /// Whether READ RESERVATION's `(key, type)` is a reservation this host
    /// holds: our key, or, for the all-registrants types, key 0 (SPC-4
    /// 6.16.3: no single key holds those, and the field reads zero) while
    /// we are registered.
    fn holds(&self, k: u64, t: PrType) -> bool {
        match self.key {
            Some(key) if k == key => true,
            Some(_) => k == 0 && t.all_registrants() && self.registered_mask() != 0,
            None => false,
        }
    }

    /// The running task's next single command, on any suitable path.
    fn next_single(&mut self, cmd: PrCommand) {
        if let Some(r) = self.running.as_mut() {
            r.stage = Stage::Single(cmd);
            r.want = true;
            r.tried = 0;
            r.via = None;
        }
    }

    fn single_holder(&self, rtype: PrType, via: PathId) -> Option<PathId> {
        (!rtype.all_registrants() && self.scope != RegistrationScope::Host).then_some(via)
    }

    fn reregister_all_except(&mut self, keep: Option<PathId>) {
        for slot in 0..N {
            let Some(p) = self
                .member_in(slot)
                .map(|m| m.path)
                .filter(|&p| Some(p) != keep)
            else {
                continue;
            };
            let up = self.member(p).is_some_and(|m| m.up);
            if up && !self.covered_by_other(p) {
                self.want_register(p);
            } else if !up {
                self.set_state(p, RegState::Stale);
            }
        }
        self.refresh_coverage();
        if let Some(r) = self.running.as_mut() {
            r.stage = Stage::Registering;
            r.want = false;
        }
        self.maybe_finish_registering();
    }

    /// Another host preempted (or cleared) our key. With `cleanup`, some
    /// of our registrations were made after that (a joining nexus that
    /// raced the preemption, a registration round that straddled it): they
    /// are behind the fence and are removed, so the fencing host finds
    /// none of our keys.
    fn fence(&mut self, cleanup: bool) {
        if !self.fenced {
            self.fenced = true;
            self.rtype = None;
            self.holder = None;
            // The preemption removed our registrations: none is current.
            for m in self.members.iter_mut().flatten() {
                m.want = (cleanup && m.up).then_some(PrCommand::Unregister);
                m.state = RegState::Unknown;
                m.join = Join::Idle;
            }
            self.fenced_report = true;
        }
    }

    fn finish(&mut self, op: PrOp, result: Result<PrReport, PrError>) {
        self.running = None;
        self.finished = Some((op, result));
        // Only a REGISTER AND MOVE sets it, and it ends here.
        self.destination.clear();
        self.after_task();
    }

    fn finish_internal(&mut self) {
        self.running = None;
        self.after_task();
    }

    fn after_task(&mut self) {
        if self.move_pending.is_some() {
            // The move carries the type held now, not the one held when
            // the holder died: a type change may have finished meanwhile.
            // And none is needed if that change left a live holder.
            match self.rtype {
                Some(t)
                    if !self.fenced
                        && (self.holder.is_none() || self.holder_stranded())
                        && !t.all_registrants() =>
                {
                    self.start_move(t);
                    return;
                }
                _ => self.move_pending = None,
            }
        }
        if core::mem::take(&mut self.verify_pending) && self.key.is_some() && !self.fenced {
            self.start(Task::Verify, Stage::Single(PrCommand::ReadKeys));
        }
    }

    // ----- helpers -----

    fn want_register(&mut self, path: PathId) {
        let Some(key) = self.key else { return };
        if let Some(m) = self.member_mut(path) {
            m.state = RegState::Registering;
            m.want = Some(PrCommand::Register { key });
            m.join = Join::Idle;
        }
    }

    /// A new or returning nexus joins the registration we hold: look
    /// first ([`Join`]).
    fn want_join(&mut self, path: PathId) {
        if self.key.is_none() {
            return;
        }
        if !self.anchored {
            self.want_register(path);
            return;
        }
        let epoch = self.epoch;
        if let Some(m) = self.member_mut(path) {
            m.state = RegState::Registering;
            m.want = Some(PrCommand::ReadKeys);
            m.join = Join::Look { epoch };
        }
    }

    fn set_state(&mut self, path: PathId, state: RegState) {
        if let Some(m) = self.member_mut(path) {
            m.state = state;
        }
    }

    /// Whether a registration in this scope already covers a path on `port`.
    fn covered(&self, port: u32) -> bool {
        match self.scope {
            RegistrationScope::Nexus => false,
            RegistrationScope::InitiatorPort => self
                .members
                .iter()
                .flatten()
                .any(|m| m.port == port && m.state == RegState::Registered),
            RegistrationScope::Host => self
                .members
                .iter()
                .flatten()
                .any(|m| m.state == RegState::Registered),
        }
    }

    /// Another member of the same scope unit is registering or registered.
    fn covered_by_other(&self, path: PathId) -> bool {
        let Some(me) = self.member(path) else {
            return false;
        };
        match self.scope {
            RegistrationScope::Nexus => false,
            scope => self.members.iter().flatten().any(|m| {
                m.path != path
                    && (scope == RegistrationScope::Host || m.port == me.port)
                    && matches!(m.state, RegState::Registered | RegState::Registering)
                    && (m.up || m.state == RegState::Registered)
            }),
        }
    }

    /// In the shared scopes, one member's registration covers its peers.
    fn refresh_coverage(&mut self) {
        if self.scope == RegistrationScope::Nexus || self.key.is_none() {
            return;
        }
        let host = self.scope == RegistrationScope::Host;
        // Marking a member registered only adds a port already counted, so
        // checking as we go gives what a snapshot taken first would.
        for slot in 0..N {
            let Some(m) = self.member_in(slot) else {
                continue;
            };
            let covered = self
                .members
                .iter()
                .flatten()
                .any(|r| r.state == RegState::Registered && (host || r.port == m.port));
            if m.want.is_none()
                && m.in_flight.is_none()
                && m.state != RegState::Registered
                && covered
            {
                if let Some(Some(m)) = self.members.get_mut(slot) {
                    m.state = RegState::Registered;
                }
            }
        }
    }

    /// How many registrations with our key the target should report.
    fn expected_registrations(&self) -> u32 {
        let regs = self
            .members
            .iter()
            .flatten()
            .filter(|m| m.state == RegState::Registered);
        match self.scope {
            RegistrationScope::Nexus => u32::try_from(regs.count()).unwrap_or(u32::MAX),
            // ALL_TG_PT registrations are listed per I_T nexus by some
            // targets and once by others: require at least one per port.
            RegistrationScope::InitiatorPort => {
                let mut ports: heapless::Vec<u32, N> = heapless::Vec::new();
                for m in regs {
                    if !ports.contains(&m.port) {
                        let _ = ports.push(m.port);
                    }
                }
                u32::try_from(ports.len()).unwrap_or(u32::MAX)
            }
            RegistrationScope::Host => u32::from(regs.count() > 0),
        }
    }

    fn registered_mask(&self) -> u64 {
        self.members
            .iter()
            .flatten()
            .filter(|m| m.state == RegState::Registered)
            .fold(0, |a, m| a | bits::bit(m.path.slot()))
    }

    fn report(&self) -> PrReport {
        PrReport {
            registered: self.registered_mask(),
            failed: self
                .members
                .iter()
                .flatten()
                .filter(|m| m.state == RegState::Failed)
                .fold(0, |a, m| a | bits::bit(m.path.slot())),
            keys: None,
            reservation: self.rtype.zip(self.key).map(|(t, k)| (k, t)),
        }
    }

    /// An up path not yet tried; registered if the command needs it, the
    /// holder first.
    fn pick_path(&self, tried: u64, registered: bool) -> Option<PathId> {
        // Paths that carry I/O first: a reservation taken or moved there
        // leaves its holder where the I/O can follow.
        let usable = |m: &Member| self.usable & bits::bit(m.path.slot()) != 0;
        let holder = self.holder.and_then(|h| self.member(h));
        let candidates = |first: bool| {
            holder
                .into_iter()
                .chain(self.members.iter().flatten())
                .find(move |&m| can_send(m, tried, registered) && (!first || usable(m)))
                .map(|m| m.path)
        };
        candidates(true).or_else(|| candidates(false))
    }
}

/// Whether a member can take the single command now: up, nothing in
/// flight on it, not tried yet, and registered if the command needs it.
fn can_send(m: &Member, tried: u64, registered: bool) -> bool {
    m.up && m.in_flight.is_none()
        && tried & bits::bit(m.path.slot()) == 0
        && (!registered || m.state == RegState::Registered)
}

/// Commands the target accepts only from a registered nexus.
fn needs_registration(cmd: PrCommand) -> bool {
    matches!(
        cmd,
        PrCommand::Reserve { .. }
            | PrCommand::Release { .. }
            | PrCommand::Preempt { .. }
            | PrCommand::Clear { .. }
            | PrCommand::RegisterAndMove { .. }
    )
}
