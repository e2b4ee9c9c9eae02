//! The control plane: a device's paths, groups, health, failover and timers.
//!
//! # Call order (quinn-proto style)
//!
//! - Inputs: `handle_*` methods (completions that were not plain successes,
//!   probe results, access states, command results, notices) and commands
//!   (`add_path`, `fail_path`, `switch_group`, ...). Each takes `now`; an
//!   earlier `now` than one already seen is refused with
//!   [`Error::Time`] and changes nothing. Every input first runs the timers
//!   that are due, so the state never lags the clock it was given.
//! - Outputs: after any input, call [`Controller::poll_action`] until it
//!   returns `None`, and carry out each [`Action`]. Then arm a timer for
//!   [`Controller::poll_timeout`] and call
//!   [`Controller::handle_timeout`] when it fires.
//!
//! The controller publishes eligibility to its [`DataPlane`] with atomic
//! stores; the data plane is reached through `D: Borrow<DataPlane<N>>`, so the
//! controller can own it (single-threaded use, [`Multipath`](crate::Multipath))
//! or share it (`&DataPlane`, `Arc<DataPlane>`) with submitting CPUs.

mod actions;
mod io;
mod paths;
mod publish;
mod snapshot;
mod timers;

pub use paths::LinkEvent;
pub use snapshot::{DeviceCounters, DeviceSnapshot, PathCounters, PathSnapshot, Topology};

use crate::access::{GroupAccess, GroupId};
use crate::config::{Config, ConfigError, NoPathPolicy};
use crate::dataplane::{Cursor, DataPlane};
use crate::error::Error;
use crate::group::{GroupRec, Retry};
use crate::health::{FlapDamper, MarginalState, ProbeSchedule};
use crate::io::{Io, IoError, Ticket};
use crate::path::{PathId, PathSpec};
use crate::requeue::Requeue;
use crate::tier::{Link, Tier};
use crate::time::{Clock, Instant};
use core::borrow::Borrow;

/// Something the embedder must do for the core.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send this held I/O on `ticket.path()`; its completion comes back like
    /// any other.
    Dispatch(Ticket),
    /// End this held I/O with an error.
    Fail {
        /// The I/O.
        io: Io,
        /// Why.
        error: IoError,
    },
    /// Probe the path (SCSI TEST UNIT READY, NVMe keep-alive or a read of
    /// the ANA log) and report with [`Controller::handle_probe`].
    Probe(PathId),
    /// Re-read access states through `via` (SCSI REPORT TARGET PORT GROUPS,
    /// NVMe Get Log Page ANA), report each group with
    /// [`Controller::handle_access_state`] and finish with
    /// [`Controller::handle_refresh_result`].
    RefreshAccessState {
        /// The path to send the command on.
        via: PathId,
    },
    /// Explicitly activate `group` (SCSI SET TARGET PORT GROUPS to
    /// active/optimized, dm `pg_init`) through `via`; report with
    /// [`Controller::handle_activation_result`].
    ActivateGroup {
        /// The group to make active.
        group: GroupId,
        /// The path to send the command on.
        via: PathId,
    },
    /// A group stayed in transition past its timeout. NVMe: ANATT expired,
    /// which Linux answers by resetting the controller; ALUA: informational
    /// (the group is now treated as standby).
    TransitionTimedOut {
        /// The group.
        group: GroupId,
    },
    /// The head has its first usable path: expose the block device.
    HeadLive,
    /// The head outlived its last path by the configured delay: remove the
    /// block device. Every held I/O is failed before this is returned.
    HeadRemoved,
    /// Send this persistent-reservation command (SCSI PERSISTENT RESERVE
    /// OUT/IN, NVMe Reservation Register/Acquire/Release/Report) and report
    /// the answer with
    /// [`Device::handle_reservation_reply`](crate::Device::handle_reservation_reply).
    /// Only a [`Device`](crate::Device) returns it.
    Reservation(crate::reservation::PrAction),
}

/// What happens to an I/O the control plane was handed.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Disposition {
    /// It is finished; report this result to the submitter.
    Done {
        /// The I/O.
        io: Io,
        /// Its result.
        result: Result<(), IoError>,
    },
    /// Send it (again) on `ticket.path()`.
    Dispatch(Ticket),
    /// The controller holds it; a later [`Action::Dispatch`] or
    /// [`Action::Fail`] ends it.
    Queued,
    /// The device's outstanding-I/O budget (the requeue depth `Q`, I/O
    /// started and held together) is spent: the I/O is handed back
    /// unstarted, and the caller holds it and submits it again after a
    /// completion (block-layer `BLK_STS_RESOURCE`). Only a submission gets
    /// this: a failed completion always finds room.
    Busy(Io),
}

/// The multipath head's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadState {
    /// Created; no path has been usable yet.
    Waiting,
    /// Has had a usable path.
    Live,
    /// Has no paths at all; removed at the given time unless one is added.
    Orphaned {
        /// When the head goes away.
        remove_at: Instant,
    },
    /// Gone.
    Removed,
}

/// Result of an explicit activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationResult {
    /// The target accepted it.
    Done,
    /// A transient failure (busy, unit attention): try again after the delay.
    Retry,
    /// The target refused it (illegal request, not supported): do not retry
    /// until access states change.
    Failed,
}

/// Control-plane record of one path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathRec {
    pub(crate) id: PathId,
    pub(crate) spec: PathSpec,
    pub(crate) link: Link,
    pub(crate) admin_failed: bool,
    pub(crate) registered: bool,
    /// The reservation lets this path read (Exclusive Access: only the
    /// holder's nexus) and write (Write Exclusive too). Not part of its
    /// tier: a nexus the reservation type keeps from writing has not
    /// failed; the published masks leave it out.
    pub(crate) may_read: bool,
    pub(crate) may_write: bool,
    /// An I/O said the group denies access; cleared by the next report of
    /// the group's state.
    pub(crate) access_suspect: bool,
    pub(crate) marginal: MarginalState,
    pub(crate) flap: FlapDamper,
    pub(crate) probe: ProbeSchedule,
    pub(crate) refresh: Retry,
    pub(crate) quiesce_until: Instant,
    /// When the path last went from up to down (a path error, a failed or
    /// timed-out probe, the transport's word). I/O started before then
    /// belongs to that failure: its errors are not counted again.
    pub(crate) failed_at: Option<Instant>,
    pub(crate) tier: Tier,
    pub(crate) counters: PathCounters,
}

impl PathRec {
    /// The checker or the transport found the path down. What failed on
    /// it was an outage, not a marginal path: multipath-tools judges a path
    /// marginal only from errors while its checker passes.
    pub(crate) fn went_down(&mut self, now: Instant) {
        self.fail(now);
        self.marginal.on_outage();
    }

    /// The path is down from `now`; its failure time is the moment it left
    /// up (or pending), not a later report of the same failure.
    pub(crate) fn fail(&mut self, now: Instant) {
        if self.link != Link::Down {
            self.failed_at = Some(now);
        }
        self.link = Link::Down;
    }
}

/// Deferred failback (manual, delayed, followover).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FailbackHold {
    /// Keep using this tier while it has paths, though a better one exists.
    pub(crate) pinned: Option<Tier>,
    /// Delayed failback: when the pin ends.
    pub(crate) release_at: Option<Instant>,
}

/// An explicit activation in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Activation {
    pub(crate) group: GroupId,
    pub(crate) via: PathId,
    pub(crate) retry: Retry,
}

/// The control plane of one multipath device.
///
/// `N` is the path capacity (at most 64), `Q` the requeue depth, `G` the
/// number of access-state groups.
#[derive(Debug)]
pub struct Controller<D, const N: usize, const Q: usize = 256, const G: usize = 16>
where
    D: Borrow<DataPlane<N>>,
{
    pub(crate) dp: D,
    pub(crate) cfg: Config,
    pub(crate) clock: Clock,
    pub(crate) paths: [Option<PathRec>; N],
    pub(crate) generations: [u16; N],
    pub(crate) groups: heapless::Vec<GroupRec, G>,
    pub(crate) requeue: Requeue<Q>,
    /// The controller's own cursor, for I/O it dispatches.
    pub(crate) cursor: Cursor<N>,
    pub(crate) head: HeadState,
    pub(crate) head_live_report: bool,
    pub(crate) head_removed_report: bool,
    pub(crate) key_active: bool,
    /// The PR coordinator is moving the reservation: hold all I/O.
    pub(crate) pr_quiesced: bool,
    /// Another host preempted us: fail all I/O.
    pub(crate) pr_fenced: bool,
    /// The reservation type leaves reads or writes no path while other
    /// paths are usable: a move is coming (see `republish`).
    pub(crate) pr_waits_for_holder: bool,
    pub(crate) switched_group: Option<GroupId>,
    pub(crate) activation: Option<Activation>,
    /// Activation gave up; do not try again until access states change.
    pub(crate) activation_exhausted: bool,
    /// An activation of this group succeeded and its state has not been
    /// read back yet: until it is, the group is not activated again (its
    /// old state would call for that at once, over and over).
    pub(crate) activation_readback: Option<GroupId>,
    pub(crate) no_path_since: Option<Instant>,
    pub(crate) failback: FailbackHold,
    /// The tier published last (`None` when nothing is selectable).
    pub(crate) published_tier: Option<Tier>,
    pub(crate) published_mask: u64,
    pub(crate) counters: DeviceCounters,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// A device with no paths, configured by `cfg`, publishing to `dp`.
    pub fn new(dp: D, cfg: Config) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let ctl = Self::unpublished(dp, cfg);
        ctl.publish_initial();
        Ok(ctl)
    }

    /// The controller's fields for a configuration already validated,
    /// nothing published yet. Always inlined, so that a caller writing it
    /// into its destination (`MaybeUninit::write`, see
    /// [`Device::new_in`](crate::Device::new_in)) builds it there rather
    /// than on the stack first: a kernel stack is 16 KiB, the controller
    /// at the C ABI's sizes is more.
    #[inline(always)]
    pub(crate) fn unpublished(dp: D, cfg: Config) -> Self {
        Controller {
            dp,
            cfg,
            clock: Clock::new(),
            paths: [None; N],
            generations: [1; N],
            groups: heapless::Vec::new(),
            requeue: Requeue::new(),
            // The constant, not `Cursor::new`: 3 KiB the device's
            // construction in caller memory must not build on the stack.
            cursor: Cursor::FRESH,
            head: HeadState::Waiting,
            head_live_report: false,
            head_removed_report: false,
            key_active: false,
            pr_quiesced: false,
            pr_fenced: false,
            pr_waits_for_holder: false,
            switched_group: None,
            activation: None,
            activation_exhausted: false,
            activation_readback: None,
            no_path_since: None,
            failback: FailbackHold::default(),
            published_tier: None,
            published_mask: 0,
            counters: DeviceCounters::default(),
        }
    }

    /// What a new controller tells its data plane: the policy, the
    /// requeue's credits, nothing selectable or watched.
    pub(crate) fn publish_initial(&self) {
        self.data_plane()
            .publish_policy(self.cfg.policy, &self.cfg.selector);
        self.data_plane()
            .add_credits(u32::try_from(Q).unwrap_or(u32::MAX));
        self.data_plane().publish_selectable(0);
        self.data_plane().publish_watched(0);
    }

    // ----- getters -----

    /// The data plane this controller publishes to.
    pub fn data_plane(&self) -> &DataPlane<N> {
        self.dp.borrow()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The latest time any input carried.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The head's lifecycle state.
    pub fn head_state(&self) -> HeadState {
        self.head
    }

    /// The tier selection currently uses, `None` when no path is usable.
    pub fn active_tier(&self) -> Option<Tier> {
        self.published_tier
    }

    /// Admission credits the controller's own cursor keeps (see
    /// [`DataPlane::credits_available`]).
    pub fn cursor_credits(&self) -> u32 {
        self.cursor.credits()
    }

    /// The controller's own cursor (the slow path's, and
    /// [`Multipath`](crate::Multipath)'s fast path's): its statistics and
    /// its unpublished part of each path's load.
    pub fn cursor(&self) -> &Cursor<N> {
        &self.cursor
    }

    /// I/Os the controller holds.
    pub fn queued(&self) -> usize {
        self.requeue.len()
    }

    /// The ids of all present paths.
    pub fn path_ids(&self) -> impl Iterator<Item = PathId> + '_ {
        self.paths.iter().flatten().map(|p| p.id)
    }

    /// A path's current tier.
    pub fn tier(&self, path: PathId) -> Result<Tier, Error> {
        Ok(self.rec(path)?.tier)
    }

    /// Whether an access-state re-read through `path` is wanted, in flight
    /// or waiting to be retried.
    pub fn refresh_pending(&self, path: PathId) -> Result<bool, Error> {
        Ok(self.rec(path)?.refresh.pending())
    }

    /// A group's reported access state.
    pub fn group_access(&self, group: GroupId) -> Option<GroupAccess> {
        self.group(group).map(|g| g.access)
    }

    /// Since when no path has been usable, if none is now: the start of
    /// the no-path policy's clock (`queue-for` counts from it).
    pub fn no_path_since(&self) -> Option<Instant> {
        self.no_path_since
    }

    /// Whether a reservation key is set (the PR admission gate is closed for
    /// unregistered paths).
    pub fn reservation_key_active(&self) -> bool {
        self.key_active
    }

    // ----- internal lookups -----

    /// The path in `slot` and whether the reservation coordinator may use
    /// it: up, not failed by hand, not held out by flap damping (a damped
    /// holder's reservation moves to a steady path), and in a group whose
    /// access state processes reservation commands
    /// ([`AccessState::serves_reservations`](crate::AccessState::serves_reservations)).
    pub(crate) fn path_reachable(&self, slot: usize) -> Option<(PathId, bool)> {
        let p = self.paths.get(slot)?.as_ref()?;
        // The state the controller acts on (a transition past its timeout
        // as what it is taken to be); a group not seen yet serves, as a
        // target without ALUA does.
        let serves = self
            .group(p.spec.group)
            .map_or(true, |g| g.effective().serves_reservations());
        Some((
            p.id,
            p.link == Link::Up && !p.admin_failed && !p.flap.is_damped() && serves,
        ))
    }

    /// The path in `slot` and its tier.
    pub(crate) fn path_tier(&self, slot: usize) -> Option<(PathId, Tier)> {
        let p = self.paths.get(slot)?.as_ref()?;
        Some((p.id, p.tier))
    }

    pub(crate) fn rec(&self, path: PathId) -> Result<&PathRec, Error> {
        match self.paths.get(path.slot()) {
            None => Err(Error::UnknownPath(path)),
            Some(Some(p)) if p.id == path => Ok(p),
            Some(_) if path.generation() == 0 => Err(Error::UnknownPath(path)),
            Some(_) => {
                let current = self.generations.get(path.slot()).copied().unwrap_or(1);
                if path.generation() < current {
                    Err(Error::StalePath(path))
                } else {
                    Err(Error::UnknownPath(path))
                }
            }
        }
    }

    pub(crate) fn rec_mut(&mut self, path: PathId) -> Result<&mut PathRec, Error> {
        self.rec(path)?;
        self.paths
            .get_mut(path.slot())
            .and_then(Option::as_mut)
            .ok_or(Error::UnknownPath(path))
    }

    pub(crate) fn group(&self, id: GroupId) -> Option<&GroupRec> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub(crate) fn group_mut(&mut self, id: GroupId) -> Option<&mut GroupRec> {
        self.groups.iter_mut().find(|g| g.id == id)
    }

    /// Refuse time going back, changing nothing.
    pub(crate) fn check_time(&self, now: Instant) -> Result<(), Error> {
        Ok(self.clock.check(now)?)
    }

    /// Move the clock to `now` and run due timers; refuse time going back.
    pub(crate) fn enter(&mut self, now: Instant) -> Result<(), Error> {
        if self.head == HeadState::Removed {
            // Time still must not go backwards, but nothing else runs.
            self.clock.advance(now)?;
            return Ok(());
        }
        self.clock.advance(now)?;
        self.run_timers(now);
        Ok(())
    }

    /// Switch the path selector at run time (NVMe `iopolicy`, a dm table
    /// reload). I/O already started unwinds by what its start counted.
    pub fn set_policy(
        &mut self,
        policy: crate::selector::Policy,
        params: crate::selector::SelectorParams,
        now: Instant,
    ) -> Result<(), Error> {
        self.enter(now)?;
        self.cfg.policy = policy;
        self.cfg.selector = params;
        self.data_plane().publish_policy(policy, &params);
        Ok(())
    }

    /// Change the no-path policy (dm `queue_if_no_path` / `fail_if_no_path`
    /// messages, multipathd `disablequeueing`).
    pub fn set_no_path_policy(&mut self, policy: NoPathPolicy, now: Instant) -> Result<(), Error> {
        let cfg = Config {
            no_path: policy,
            ..self.cfg
        };
        cfg.validate()?;
        self.enter(now)?;
        self.cfg = cfg;
        Ok(())
    }
}
