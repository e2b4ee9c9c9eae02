//! A dm table bound to an mpath device: the configuration it asks for,
//! its paths, its messages and its status lines.
//!
//! # Mapping
//!
//! - Priority group `n` (1-based, table order) is the core's access-state
//!   group [`GroupId`]`(n)` ([`DmTarget::group_id`]); its paths carry the
//!   table's relative throughput ([`PathSpec::with_relative_throughput`]).
//! - dm uses groups strictly in order; the core picks tiers from access
//!   states. The rule: the *preferred group* (the initial group, then
//!   `switch_group`'s, skipping bypassed ones; else the first group in
//!   table order that is not bypassed and has a usable path) is the core's
//!   switched group ([`Device::switch_group`]), used while it has a usable
//!   path; past it the core's tier order decides. [`DmTarget::steer`]
//!   applies the rule; it runs after every message and after
//!   [`DmTarget::add_paths`], and an embedder calls it after path events
//!   to follow dm's in-order fallback.
//! - The device has one selector: the initial group's (dm has one per
//!   group). `repeat_count` is 0 or 1 after the kernel's clamp, and the
//!   core takes 0 as 1.
//! - `queue_if_no_path` is [`NoPathPolicy::Queue`], or
//!   [`NoPathPolicy::QueueFor`] with a `no_path_retry`-style timeout
//!   ([`DmTarget::with_no_path_retry`]); without it, [`NoPathPolicy::Fail`].
//! - `pg_init_retries` is [`AccessConfig::activation_retries`](mpath_core::AccessConfig)
//!   (0 when absent, as in the kernel); `pg_init_delay_msecs` is
//!   `activation_delay` (2000 ms when absent, the kernel's
//!   `DM_PG_INIT_DELAY_MSECS`; 0 becomes 1 ms, since the core refuses a
//!   timer that re-arms at the same instant). A hardware handler turns on
//!   explicit activation (dm runs `pg_init` on every group switch when one
//!   is set).
//!
//! docs/DM.md gives the reasons and the other differences.

use crate::error::{ErrorKind, ParseError};
use crate::message::Message;
use crate::selector::Selector;
use crate::status::{GroupState, InfoStatus, PathStatus, SelectorInfo};
use crate::table::{Table, MAX_PATHS};
use core::borrow::Borrow;
use mpath_core::{
    Config, DataPlane, Device, Duration, GroupId, Instant, Link, NexusId, NoPathPolicy, PathId,
    PathSpec, Tier,
};

/// The kernel's pg_init retry delay when the table sets none.
pub const DEFAULT_PG_INIT_DELAY_MSECS: u64 = 2000;

/// Why a message or a mapping step was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DmError {
    /// dm would refuse it (a group number past the last group, a device
    /// the table does not name).
    #[error("{0}")]
    Refused(ErrorKind),
    /// The device refused it.
    #[error(transparent)]
    Device(#[from] mpath_core::Error),
    /// A path index the table does not have.
    #[error("no such path in the table")]
    NoSuchPath,
}

/// A table bound to a device. See the module documentation for the
/// mapping.
#[derive(Clone, Debug)]
pub struct DmTarget<'a> {
    table: Table<'a>,
    ids: [Option<PathId>; MAX_PATHS],
    fail_count: [u32; MAX_PATHS],
    /// Per path: failed when last looked at.
    failed_seen: u64,
    /// Per group (bit `n - 1`): bypassed.
    bypassed: u64,
    /// The group chosen by the table or `switch_group`.
    next_group: Option<u16>,
    queue_if_no_path: bool,
    no_path_retry: Option<Duration>,
}

fn bit(i: usize) -> u64 {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u64.checked_shl(i))
        .unwrap_or(0)
}

impl<'a> DmTarget<'a> {
    /// Bind `table`; nothing is added to a device yet.
    pub fn new(table: Table<'a>) -> Self {
        let next_group = (table.initial_group() != 0).then_some(table.initial_group());
        DmTarget {
            queue_if_no_path: table.features.queue_if_no_path,
            table,
            ids: [None; MAX_PATHS],
            fail_count: [0; MAX_PATHS],
            failed_seen: 0,
            bypassed: 0,
            next_group,
            no_path_retry: None,
        }
    }

    /// Hold I/O with no path for at most `timeout` while
    /// `queue_if_no_path` is set (multipathd's `no_path_retry N`, which
    /// clears `queue_if_no_path` after N checker intervals).
    #[must_use]
    pub fn with_no_path_retry(mut self, timeout: Duration) -> Self {
        self.no_path_retry = Some(timeout);
        self
    }

    /// The table.
    pub fn table(&self) -> &Table<'a> {
        &self.table
    }

    /// The core's group for dm priority group `group` (1-based).
    pub fn group_id(group: u16) -> GroupId {
        GroupId(u32::from(group))
    }

    /// The device-wide selector: the initial group's.
    pub fn selector(&self) -> Selector {
        let g = usize::from(self.table.initial_group().max(1)).saturating_sub(1);
        self.table
            .groups()
            .get(g)
            .map_or(Selector::RoundRobin, |g| g.selector)
    }

    /// The no-path policy `queue_if_no_path` (as the table set it or the
    /// latest message) asks for.
    pub fn no_path_policy(&self) -> NoPathPolicy {
        match (self.queue_if_no_path, self.no_path_retry) {
            (false, _) => NoPathPolicy::Fail,
            (true, None) => NoPathPolicy::Queue,
            (true, Some(d)) => NoPathPolicy::QueueFor(d),
        }
    }

    /// `base` with what the table says: selector, no-path policy,
    /// activation retries and delay, explicit activation.
    pub fn config(&self, base: Config) -> Config {
        let mut c = base;
        c.policy = self.selector().policy();
        c.selector.rr_switch_ios = 1;
        c.no_path = self.no_path_policy();
        let f = &self.table.features;
        c.access.activation_retries = f.pg_init_retries.unwrap_or(0);
        c.access.activation_delay = match f.pg_init_delay_msecs {
            Some(0) => Duration::from_millis(1),
            Some(ms) => Duration::from_millis(u64::from(ms)),
            None => Duration::from_millis(DEFAULT_PG_INIT_DELAY_MSECS),
        };
        c.access.explicit_activation = self.table.hw_handler.is_some();
        c
    }

    /// The spec for the table's path at `index` over `nexus`.
    pub fn path_spec(&self, index: usize, nexus: NexusId) -> Option<PathSpec> {
        let p = self.table.paths().get(index)?;
        let g = self.table.group_of(index)?;
        Some(
            PathSpec::new(Self::group_id(g), nexus)
                .with_relative_throughput(p.args.relative_throughput),
        )
    }

    /// Record that the table's path at `index` is the device's `id` (for
    /// embedders that add paths themselves, from [`path_spec`](Self::path_spec)).
    pub fn attach(&mut self, index: usize, id: PathId) -> Result<(), DmError> {
        let slot = self.ids.get_mut(index).ok_or(DmError::NoSuchPath)?;
        if index >= self.table.paths().len() {
            return Err(DmError::NoSuchPath);
        }
        *slot = Some(id);
        Ok(())
    }

    /// The device's id of the table's path at `index`, once added.
    pub fn path_id(&self, index: usize) -> Option<PathId> {
        self.ids.get(index).copied().flatten()
    }

    /// Add every path of the table to `dev`, each over the nexus
    /// `nexus_of(index, device)` gives, registrations counting for `port`;
    /// then [`steer`](Self::steer).
    pub fn add_paths<D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        dev: &mut Device<D, N, Q, G>,
        port: u32,
        now: Instant,
        mut nexus_of: impl FnMut(usize, &str) -> NexusId,
    ) -> Result<(), DmError>
    where
        D: Borrow<DataPlane<N>>,
    {
        for (i, p) in self.table.paths().iter().enumerate() {
            let spec = self
                .path_spec(i, nexus_of(i, p.device))
                .ok_or(DmError::NoSuchPath)?;
            let id = dev.add_path(spec, port, now).map_err(|r| r.error)?;
            if let Some(slot) = self.ids.get_mut(i) {
                *slot = Some(id);
            }
        }
        self.steer(dev, now)
    }

    fn group_count(&self) -> u16 {
        u16::try_from(self.table.group_count()).unwrap_or(u16::MAX)
    }

    fn is_bypassed(&self, group: u16) -> bool {
        self.bypassed & bit(usize::from(group).saturating_sub(1)) != 0
    }

    /// Whether any path of `group` can carry I/O now.
    fn group_usable<D, const N: usize, const Q: usize, const G: usize>(
        &self,
        dev: &Device<D, N, Q, G>,
        group: u16,
    ) -> bool
    where
        D: Borrow<DataPlane<N>>,
    {
        (0..self.table.paths().len()).any(|i| {
            self.table.group_of(i) == Some(group)
                && self
                    .path_id(i)
                    .is_some_and(|id| dev.tier(id).is_ok_and(|t| t != Tier::Ineligible))
        })
    }

    /// The group dm would use now, by the rule in the module
    /// documentation; `None` without groups.
    pub fn preferred_group<D, const N: usize, const Q: usize, const G: usize>(
        &self,
        dev: &Device<D, N, Q, G>,
    ) -> Option<u16>
    where
        D: Borrow<DataPlane<N>>,
    {
        if let Some(g) = self.next_group.filter(|g| !self.is_bypassed(*g)) {
            return Some(g);
        }
        let groups = 1..=self.group_count();
        groups
            .clone()
            .find(|g| !self.is_bypassed(*g) && self.group_usable(dev, *g))
            .or_else(|| groups.clone().find(|g| !self.is_bypassed(*g)))
            .or_else(|| groups.clone().next())
    }

    /// The core's group for dm group `group`: the group its attached
    /// paths share. An embedder that added them itself keys groups its
    /// own way (the SCSI adapter by target port group, the NVMe adapter
    /// one group per controller), so the number is read from the device,
    /// not assumed to be [`group_id`](Self::group_id); without attached
    /// paths it is that. `None` when the paths are in several core groups
    /// (NVMe controllers): the core's switched group is one group, so
    /// such a dm group cannot be preferred and the tier order decides.
    fn core_group<D, const N: usize, const Q: usize, const G: usize>(
        &self,
        dev: &Device<D, N, Q, G>,
        group: u16,
    ) -> Option<GroupId>
    where
        D: Borrow<DataPlane<N>>,
    {
        let mut groups = (0..self.table.paths().len())
            .filter(|i| self.table.group_of(*i) == Some(group))
            .filter_map(|i| self.path_id(i))
            .filter_map(|id| dev.controller().path_snapshot(id, &[]).ok())
            .map(|s| s.group);
        match groups.next() {
            None => Some(Self::group_id(group)),
            Some(first) => groups.all(|g| g == first).then_some(first),
        }
    }

    /// Point the device's switched group at the preferred group: the core
    /// group its attached paths share (an embedder that adds paths itself
    /// keys groups its own way), or none, the tier order, when they are in
    /// several.
    pub fn steer<D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        dev: &mut Device<D, N, Q, G>,
        now: Instant,
    ) -> Result<(), DmError>
    where
        D: Borrow<DataPlane<N>>,
    {
        let Some(g) = self.preferred_group(dev) else {
            return Ok(());
        };
        let want = self.core_group(dev, g);
        if dev.controller().device_snapshot().switched_group != want {
            dev.switch_group(want, now)?;
        }
        Ok(())
    }

    /// Parse and apply a message ([`Message::parse`] and
    /// [`message`](Self::message)).
    pub fn message_line<'l, D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        line: &'l str,
        dev: &mut Device<D, N, Q, G>,
        now: Instant,
    ) -> Result<(), MessageLineError<'l>>
    where
        D: Borrow<DataPlane<N>>,
    {
        let m = Message::parse(line).map_err(MessageLineError::Parse)?;
        self.message(m, dev, now).map_err(MessageLineError::Apply)
    }

    /// Apply a message to the device, with dm's checks. A refused message
    /// changes nothing.
    pub fn message<D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        msg: Message<'_>,
        dev: &mut Device<D, N, Q, G>,
        now: Instant,
    ) -> Result<(), DmError>
    where
        D: Borrow<DataPlane<N>>,
    {
        self.refresh(dev);
        let group = |n: u32| {
            u16::try_from(n)
                .ok()
                .filter(|g| *g != 0 && *g <= self.group_count())
                .ok_or(DmError::Refused(ErrorKind::GroupNumber))
        };
        match msg {
            Message::QueueIfNoPath | Message::FailIfNoPath => {
                let before = self.queue_if_no_path;
                self.queue_if_no_path = msg == Message::QueueIfNoPath;
                if let Err(e) = dev.set_no_path_policy(self.no_path_policy(), now) {
                    self.queue_if_no_path = before;
                    return Err(e.into());
                }
                Ok(())
            }
            Message::DisableGroup(n) | Message::EnableGroup(n) => {
                let g = group(n)?;
                let b = bit(usize::from(g).saturating_sub(1));
                if matches!(msg, Message::DisableGroup(_)) {
                    self.bypassed |= b;
                } else {
                    self.bypassed &= !b;
                }
                self.steer(dev, now)
            }
            Message::SwitchGroup(n) => {
                let g = group(n)?;
                self.bypassed = 0;
                self.next_group = Some(g);
                self.steer(dev, now)
            }
            Message::FailPath(d) | Message::ReinstatePath(d) => {
                let fail = matches!(msg, Message::FailPath(_));
                let mut found = false;
                for (i, p) in self.table.paths().iter().enumerate() {
                    if p.device != d {
                        continue;
                    }
                    let Some(id) = self.path_id(i) else { continue };
                    found = true;
                    if fail {
                        dev.fail_path(id, now)?;
                    } else {
                        dev.reinstate_path(id, now)?;
                    }
                }
                if !found {
                    return Err(DmError::Refused(ErrorKind::NoSuchDevice));
                }
                self.refresh(dev);
                // dm chooses a group again on the next I/O once the
                // current one has no valid path.
                self.steer(dev, now)
            }
        }
    }

    /// Whether dm would show the path as `A`: reachable and not failed by
    /// hand.
    fn active<D, const N: usize, const Q: usize, const G: usize>(
        dev: &Device<D, N, Q, G>,
        id: PathId,
    ) -> bool
    where
        D: Borrow<DataPlane<N>>,
    {
        dev.controller()
            .path_snapshot(id, &[])
            .is_ok_and(|s| s.link == Link::Up && !s.admin_failed)
    }

    /// Count each path that went from active to failed since the last
    /// look (dm's `fail_count`). Status and messages call it; an embedder
    /// that reads status rarely calls it after path events too.
    pub fn refresh<D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        dev: &Device<D, N, Q, G>,
    ) where
        D: Borrow<DataPlane<N>>,
    {
        for i in 0..self.table.paths().len() {
            let Some(id) = self.path_id(i) else { continue };
            let failed = !Self::active(dev, id);
            let seen = self.failed_seen & bit(i) != 0;
            if failed && !seen {
                if let Some(c) = self.fail_count.get_mut(i) {
                    *c = c.saturating_add(1);
                }
                self.failed_seen |= bit(i);
            } else if !failed && seen {
                self.failed_seen &= !bit(i);
            }
        }
    }

    /// The group carrying I/O now: the first in table order with a
    /// selectable path; else the preferred group.
    fn current_group<D, const N: usize, const Q: usize, const G: usize>(
        &self,
        dev: &Device<D, N, Q, G>,
    ) -> Option<u16>
    where
        D: Borrow<DataPlane<N>>,
    {
        let selectable = |i: usize| {
            self.path_id(i).is_some_and(|id| {
                dev.controller()
                    .path_snapshot(id, &[])
                    .is_ok_and(|s| s.selectable)
            })
        };
        (0..self.table.paths().len())
            .find(|i| selectable(*i))
            .and_then(|i| self.table.group_of(i))
    }

    /// The INFO status line of the device now.
    pub fn info_status<D, const N: usize, const Q: usize, const G: usize>(
        &mut self,
        dev: &Device<D, N, Q, G>,
    ) -> InfoStatus<'a>
    where
        D: Borrow<DataPlane<N>>,
    {
        self.refresh(dev);
        let current = self.current_group(dev);
        let printed = current.or(self.preferred_group(dev)).unwrap_or(0);
        let snap = dev.controller().device_snapshot();
        let pg_init_count = u32::try_from(snap.counters.activations).unwrap_or(u32::MAX);
        let mut s = InfoStatus::new(dev.controller().queued() > 0, pg_init_count, printed);
        for (gi, g) in self.table.groups().iter().enumerate() {
            let number = u16::try_from(gi).ok().and_then(|n| n.checked_add(1));
            let state = if self.bypassed & bit(gi) != 0 {
                GroupState::Disabled
            } else if number.is_some() && number == current {
                GroupState::Active
            } else {
                GroupState::Enabled
            };
            // Capacities match the table's, so neither push can fail.
            let _ = s.push_group(state, g.selector.info_args());
            for (i, p) in self.table.paths().iter().enumerate() {
                if self.table.group_of(i) != number {
                    continue;
                }
                let snap = self
                    .path_id(i)
                    .and_then(|id| dev.controller().path_snapshot(id, &[]).ok());
                let active = snap.is_some_and(|s| s.link == Link::Up && !s.admin_failed);
                let info = match g.selector {
                    Selector::RoundRobin => SelectorInfo::None,
                    Selector::QueueLength => {
                        SelectorInfo::InFlight(snap.map_or(0, |s| u64::from(s.inflight)))
                    }
                    Selector::ServiceTime => SelectorInfo::ServiceTime {
                        in_flight_bytes: snap.map_or(0, |s| s.inflight_bytes),
                        relative_throughput: p.args.relative_throughput,
                    },
                };
                let _ = s.push_path(PathStatus {
                    device: p.device,
                    active,
                    fail_count: self.fail_count.get(i).copied().unwrap_or(0),
                    info,
                });
            }
        }
        s
    }

    /// The TABLE status line of the device now: the table with the
    /// current `queue_if_no_path` and, as the initial group, the group
    /// the kernel would print (switched-to, else current, else 1).
    pub fn table_status<D, const N: usize, const Q: usize, const G: usize>(
        &self,
        dev: &Device<D, N, Q, G>,
    ) -> Table<'a>
    where
        D: Borrow<DataPlane<N>>,
    {
        let mut t = self.table.clone();
        t.features.queue_if_no_path = self.queue_if_no_path;
        let g = self.current_group(dev).or(self.preferred_group(dev));
        if let Some(g) = g {
            let _ = t.set_initial_group(g);
        }
        t
    }
}

/// A message line that did not parse or was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageLineError<'l> {
    /// The words are not a message dm takes.
    #[error(transparent)]
    Parse(ParseError<'l>),
    /// The message was refused.
    #[error(transparent)]
    Apply(DmError),
}
