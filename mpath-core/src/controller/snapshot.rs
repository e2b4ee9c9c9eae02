//! Observability: per-path and per-device snapshots, and a topology display
//! in the spirit of `multipath -ll`.

use super::{Controller, HeadState};
use crate::access::{AccessState, GroupId};
use crate::dataplane::{Cursor, DataPlane};
use crate::error::Error;
use crate::path::{Locality, NexusId, PathId};
use crate::selector::Policy;
use crate::tier::{Health, Link, Tier};
use crate::time::Duration;
use core::borrow::Borrow;
use core::fmt;

/// Per-path event counters kept by the control plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathCounters {
    /// Path errors seen on I/O.
    pub path_errors: u64,
    /// Target errors seen on I/O.
    pub target_errors: u64,
    /// RESERVATION CONFLICT completions.
    pub conflicts: u64,
    /// Same-path retries.
    pub retries: u64,
    /// I/Os failed over away from this path.
    pub failovers: u64,
    /// I/Os put in the requeue to retry on this path.
    pub requeues: u64,
    /// Probe results received.
    pub probes: u64,
    /// Probes that found the path down or timed out.
    pub probe_failures: u64,
    /// Times flap damping held the path out.
    pub damped: u64,
    /// Error-rate samples started.
    pub marginal_samples: u64,
    /// Samples that found the path marginal.
    pub marginal_verdicts: u64,
    /// Access-state re-reads that gave up.
    pub refresh_failures: u64,
    /// Reservation notices received on this path.
    pub reservation_notices: u64,
    /// Resets reported on this path.
    pub resets: u64,
}

/// Device-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// I/Os submitted through the control plane.
    pub submitted: u64,
    /// Failovers (path errors).
    pub failovers: u64,
    /// I/Os put in the requeue.
    pub requeued: u64,
    /// Same-path retries.
    pub retries: u64,
    /// I/Os ended because retries ran out.
    pub retries_exhausted: u64,
    /// Target errors.
    pub target_errors: u64,
    /// Reservation conflicts.
    pub conflicts: u64,
    /// I/Os failed by the no-path policy.
    pub no_path_failures: u64,
    /// Times the requeue was full and an I/O was handed back.
    pub busy: u64,
    /// Paths added.
    pub paths_added: u64,
    /// Paths removed.
    pub paths_removed: u64,
    /// Access-state changes.
    pub access_changes: u64,
    /// Explicit activations that succeeded.
    pub activations: u64,
    /// Failbacks deferred by the failback policy.
    pub failbacks_deferred: u64,
    /// Changes of the published selectable set.
    pub publishes: u64,
}

/// One path as seen now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathSnapshot {
    /// Its id.
    pub id: PathId,
    /// Its group.
    pub group: GroupId,
    /// Its nexus.
    pub nexus: NexusId,
    /// Its locality hint.
    pub locality: Locality,
    /// Reachability.
    pub link: Link,
    /// Failed by hand.
    pub admin_failed: bool,
    /// Health.
    pub health: Health,
    /// Effective access state of its group.
    pub access: AccessState,
    /// The group's preferred bit.
    pub preferred: bool,
    /// Registered with the reservation key.
    pub registered: bool,
    /// Its tier.
    pub tier: Tier,
    /// Whether selection may use it now.
    pub selectable: bool,
    /// Outstanding I/Os (counting policies only): the published count
    /// plus the unpublished parts of the cursors given and the
    /// controller's own, so exact when every cursor in use is given.
    pub inflight: u32,
    /// Outstanding bytes (byte-counting policies only), summed the same way.
    pub inflight_bytes: u64,
    /// Adaptive selector's latency estimate.
    pub latency: Option<Duration>,
    /// Current probe interval.
    pub probe_interval: Duration,
    /// I/Os started, summed over the cursors given.
    pub started: u64,
    /// I/Os completed successfully, summed over the cursors given.
    pub completed: u64,
    /// Bytes completed successfully, summed over the cursors given.
    pub bytes: u64,
    /// Event counters.
    pub counters: PathCounters,
}

/// The device as seen now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSnapshot {
    /// Head lifecycle.
    pub head: HeadState,
    /// Selector.
    pub policy: Policy,
    /// Tier in use.
    pub active_tier: Option<Tier>,
    /// Paths present.
    pub paths: usize,
    /// Paths selectable.
    pub selectable: usize,
    /// I/Os held.
    pub queued: usize,
    /// A reservation key is set.
    pub key_active: bool,
    /// Group switched to by hand.
    pub switched_group: Option<GroupId>,
    /// Counters.
    pub counters: DeviceCounters,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// A snapshot of one path. `cursors` are the per-queue cursors whose
    /// statistics to sum (the controller's own is always included).
    pub fn path_snapshot(
        &self,
        path: PathId,
        cursors: &[&Cursor<N>],
    ) -> Result<PathSnapshot, Error> {
        let p = self.rec(path)?;
        let dp = self.data_plane();
        let slot = path.slot();
        let health = self.eligibility(slot).map_or(Health::Healthy, |e| e.health);
        let group = self.group(p.spec.group);
        let (mut started, mut completed, mut bytes) = (0u64, 0u64, 0u64);
        let (published_ios, mut inflight_bytes) = dp.published_load(slot);
        let mut inflight = i64::from(published_ios);
        for c in cursors
            .iter()
            .copied()
            .chain(core::iter::once(&self.cursor))
        {
            if let Some(s) = c.stats(path) {
                started = started.wrapping_add(s.started);
                completed = completed.wrapping_add(s.completed);
                bytes = bytes.wrapping_add(s.bytes);
            }
            let (ios, b) = c.unpublished(slot);
            inflight = inflight.saturating_add(i64::from(ios));
            inflight_bytes = inflight_bytes.saturating_add(b);
        }
        Ok(PathSnapshot {
            id: path,
            group: p.spec.group,
            nexus: p.spec.nexus,
            locality: p.spec.locality,
            link: p.link,
            admin_failed: p.admin_failed,
            health,
            access: group.map_or(AccessState::Optimized, |g| g.effective()),
            preferred: group.is_some_and(|g| g.access.preferred),
            registered: p.registered,
            tier: p.tier,
            selectable: self.published_mask & crate::bits::bit(slot) != 0,
            inflight: u32::try_from(inflight).unwrap_or(0),
            inflight_bytes: u64::try_from(inflight_bytes).unwrap_or(0),
            latency: dp.latency_estimate(slot),
            probe_interval: p.probe.interval,
            started,
            completed,
            bytes,
            counters: p.counters,
        })
    }

    /// A snapshot of the device.
    pub fn device_snapshot(&self) -> DeviceSnapshot {
        DeviceSnapshot {
            head: self.head,
            policy: self.data_plane().policy(),
            active_tier: self.published_tier,
            paths: self.paths.iter().flatten().count(),
            selectable: usize::try_from(self.published_mask.count_ones()).unwrap_or(0),
            queued: self.requeue.len(),
            key_active: self.key_active,
            switched_group: self.switched_group,
            counters: self.counters,
        }
    }

    /// A `multipath -ll`-style display of the device named `name`.
    pub fn topology<'a>(&'a self, name: &'a str) -> Topology<'a, D, N, Q, G> {
        Topology { ctl: self, name }
    }
}

/// Displays a device's groups and paths; see [`Controller::topology`].
#[derive(Debug)]
pub struct Topology<'a, D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize> {
    ctl: &'a Controller<D, N, Q, G>,
    name: &'a str,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize> fmt::Display
    for Topology<'_, D, N, Q, G>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.ctl;
        let d = c.device_snapshot();
        let head = match d.head {
            HeadState::Waiting => "waiting",
            HeadState::Live => "live",
            HeadState::Orphaned { .. } => "orphaned",
            HeadState::Removed => "removed",
        };
        let no_path = match c.cfg.no_path {
            crate::config::NoPathPolicy::Fail => "fail",
            crate::config::NoPathPolicy::Queue => "queue",
            crate::config::NoPathPolicy::QueueFor(_) => "queue-for",
        };
        writeln!(
            f,
            "{} {} policy='{}' no_path={} queued={} pr_key={}",
            self.name,
            head,
            d.policy,
            no_path,
            d.queued,
            if d.key_active { "set" } else { "none" }
        )?;
        let groups = &c.groups;
        let n = groups.len();
        for (gi, g) in groups.iter().enumerate() {
            let last_group = gi.saturating_add(1) == n;
            let branch = if last_group { "`-+-" } else { "|-+-" };
            let pipe = if last_group { "  " } else { "| " };
            writeln!(
                f,
                "{branch} group {} access={}{}{}",
                g.id.0,
                g.effective(),
                if g.access.preferred { " pref" } else { "" },
                if c.switched_group == Some(g.id) {
                    " switched"
                } else {
                    ""
                },
            )?;
            // Iterated, not collected: a fixed-capacity collect keeps a
            // panic path in the object code even where it cannot overflow.
            let members = || c.paths.iter().flatten().filter(|p| p.spec.group == g.id);
            let m = members().count();
            for (pi, rec) in members().enumerate() {
                let Ok(s) = c.path_snapshot(rec.id, &[]) else {
                    continue;
                };
                let twig = if pi.saturating_add(1) == m {
                    "`-"
                } else {
                    "|-"
                };
                let link = match s.link {
                    Link::Up => "up",
                    Link::Down => "down",
                    Link::Pending => "pending",
                };
                let health = match s.health {
                    Health::Healthy => "healthy",
                    Health::Sampling => "sampling",
                    Health::Marginal => "marginal",
                    Health::Damped => "damped",
                };
                writeln!(
                    f,
                    "{pipe} {twig} {} nexus={} node={} {}{} {} tier={}{} inflight={} errors={} failovers={}",
                    s.id,
                    s.nexus.0,
                    s.locality.0,
                    link,
                    if s.admin_failed { "(failed by admin)" } else { "" },
                    health,
                    s.tier,
                    if s.selectable { " active" } else { "" },
                    s.inflight,
                    s.counters.path_errors,
                    s.counters.failovers,
                )?;
            }
        }
        Ok(())
    }
}
