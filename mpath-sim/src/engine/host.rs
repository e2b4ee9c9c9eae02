//! The host: the application's closed-loop workload, and the device's
//! actions carried out through the real SCSI or NVMe adapter, as a
//! multipath daemon or kernel glue would.

use hdrhistogram::Histogram;
use mpath_core::reservation::{PrAction, PrError, PrEvent, PrOp, PrReply, PrType};
use mpath_core::{
    Action, Cursor, DeviceEvent, Disposition, Instant, Io, IoError, Locality, NoPathPolicy,
    Notices, Outcome, PathId, Tier,
};

use super::check::Invariant;
use super::id_map::IdMap;
use super::report::{HostReport, PathReport, Timeline};
use super::scenario::{Scenario, Workload};
use super::sim::{Dev, Event, IoRec, SetupError, Sim, OUR_HOST, OUR_KEY, PATHS};
use super::stack::Stack;
use super::wire::{Answer, Ctl, Dir, InFlight, Purpose, Stage};
use crate::block_store::{BlockStamp, STAMP_LEN};

/// Retries a target error may spend (path errors never spend one).
const IO_RETRIES: u8 = 2;

/// One host: its device with its adapter's paths, its application's
/// workload, and what the run measured of it.
#[derive(Debug)]
pub(crate) struct Host {
    pub dev: Dev,
    /// Its reservation key.
    pub key: u64,
    /// Its number in block stamps.
    pub stamp: u32,
    /// The first LBA of its slots.
    pub lba_base: u64,
    /// What its application does.
    pub workload: Workload,
    /// The device's id of each path.
    pub path_ids: Vec<PathId>,
    /// Paths it is resetting (down until it has connected again).
    pub resetting: Vec<bool>,
    pub ios: IdMap<IoRec>,
    pub busy_slots: Vec<bool>,
    pub acked: Vec<u64>,
    pub next_tag: u64,
    pub generation: u64,
    pub held_back: Vec<Io>,
    /// One cursor per CPU when the workload runs on more than one
    /// ([`Workload::cpus`]); empty otherwise.
    pub cursors: Vec<Cursor<PATHS>>,
    pub timer_at: Option<Instant>,
    pub workload_on: bool,
    pub pr_stage: u8,
    /// The setup's registration succeeded: writes must go through
    /// registered nexuses from now on.
    pub registered: bool,
    /// An event started a device operation whose actions are waiting.
    pub started_op: bool,
    /// When it last had word of a target restart (SCSI POWER ON, RESET;
    /// NVMe an association the restart ended).
    pub restart_seen: Option<Instant>,
    // ----- truth and results -----
    pub fenced_at: Option<Instant>,
    pub foreign_pr: bool,
    pub submitted: u64,
    pub completed: u64,
    /// Completed I/Os and their bytes when the workload stopped.
    pub in_window: Option<(u64, u64)>,
    /// Per path, when the workload stopped.
    pub window_paths: Option<Vec<PathReport>>,
    pub failed: u64,
    pub retried: u64,
    pub per_path: Vec<PathReport>,
    pub latency: Histogram<u64>,
    pub timeline: Timeline,
    pub events: Vec<DeviceEvent>,
}

impl Host {
    /// Host `h` of `s`, with its device and the ids of its paths.
    pub fn new(
        s: &Scenario,
        h: usize,
        dev: Dev,
        path_ids: Vec<PathId>,
    ) -> Result<Host, SetupError> {
        let slots = usize::try_from(s.workload.slots).unwrap_or(usize::MAX);
        let mut workload = s.workload;
        if h > 0 {
            // Under a reservation only its holder (host 0) may write
            // (Write Exclusive) or touch the logical unit at all
            // (Exclusive Access): the other hosts keep to what is allowed.
            match s.reservation {
                Some(PrType::WriteExclusive) => workload.read_percent = 100,
                Some(PrType::ExclusiveAccess) => workload.queue_depth = 0,
                _ => {}
            }
        }
        let n = path_ids.len();
        Ok(Host {
            dev,
            key: OUR_KEY.wrapping_add(h as u64),
            stamp: OUR_HOST + h as u32,
            lba_base: (h as u64)
                .saturating_mul(s.workload.slots)
                .saturating_mul(u64::from(s.workload.blocks)),
            workload,
            path_ids,
            resetting: vec![false; n],
            ios: IdMap::default(),
            busy_slots: vec![false; slots],
            acked: vec![0; slots],
            next_tag: 0,
            generation: 0,
            held_back: Vec::new(),
            cursors: if s.workload.cpus > 1 {
                (0..s.workload.cpus)
                    .map(|_| Cursor::new(Locality(0)))
                    .collect()
            } else {
                Vec::new()
            },
            timer_at: None,
            workload_on: false,
            pr_stage: 0,
            registered: false,
            started_op: false,
            restart_seen: None,
            fenced_at: None,
            foreign_pr: false,
            submitted: 0,
            completed: 0,
            in_window: None,
            window_paths: None,
            failed: 0,
            retried: 0,
            per_path: vec![PathReport::default(); n],
            latency: Histogram::new(3)
                .map_err(|e| SetupError::Scenario(format!("histogram: {e}")))?,
            timeline: Timeline::for_duration(s.duration),
            events: Vec::new(),
        })
    }

    /// The workload stops: what has completed so far is the window's.
    pub fn stop_workload(&mut self) {
        self.workload_on = false;
        self.in_window = Some((self.completed, self.per_path.iter().map(|p| p.bytes).sum()));
        self.window_paths = Some(self.per_path.clone());
    }

    /// Its figures for the report.
    pub fn report(&self) -> HostReport {
        HostReport {
            submitted: self.submitted,
            completed: self.completed,
            failed: self.failed,
            outstanding: self.ios.len() as u64,
            fenced: self.dev.coordinator().is_fenced(),
        }
    }
}

impl Sim {
    /// Host `h`'s application starts one more I/O on a free slot.
    pub(crate) fn submit_new(&mut self, h: usize) {
        if !self.hosts[h].workload_on {
            return;
        }
        let slots = self.hosts[h].busy_slots.len() as u64;
        let mut slot = None;
        for _ in 0..8 {
            let s = self.below(slots);
            if !self.hosts[h].busy_slots[s as usize] {
                slot = Some(s);
                break;
            }
        }
        let Some(slot) = slot else { return };
        let read_percent = self.hosts[h].workload.read_percent;
        let write = self.below(100) >= u64::from(read_percent);
        let bytes = self.scenario.workload.blocks * self.scenario.block_size;
        let now = self.now;
        let host = &mut self.hosts[h];
        host.next_tag += 1;
        let tag = host.next_tag;
        let io = if write {
            Io::write(tag, bytes, IO_RETRIES)
        } else {
            Io::read(tag, bytes, IO_RETRIES)
        };
        let generation = if write {
            host.generation += 1;
            host.generation
        } else {
            0
        };
        host.busy_slots[slot as usize] = true;
        host.ios.insert(
            tag,
            IoRec {
                slot,
                write,
                generation,
                floor: host.acked[slot as usize],
                issued: now,
                attempts: 0,
                last_failed: None,
            },
        );
        host.submitted += 1;
        self.submit_io(h, io);
    }

    pub(crate) fn submit_io(&mut self, h: usize, io: Io) {
        let now = self.now;
        // Several CPUs: the data plane's fast path on the submitting CPU's
        // cursor; what it cannot place goes to the device.
        let host = &mut self.hosts[h];
        let io = match Self::cpu_of(&mut host.cursors, io.tag.0) {
            Some(c) => match host.dev.data_plane().submit(c, io, now) {
                Ok(t) => {
                    self.dispatch(h, io.tag.0, t);
                    self.drain_actions(h);
                    return;
                }
                Err(io) => io,
            },
            None => io,
        };
        match self.hosts[h].dev.submit(io, now) {
            Ok(d) => self.disposition(h, io.tag.0, d),
            // A time the device refuses cannot happen (the clock only
            // moves forward); keep the I/O rather than lose it.
            Err(r) => self.hosts[h].held_back.push(r.item),
        }
        self.drain_actions(h);
    }

    /// The cursor of the CPU that submits and completes I/O `tag`, when the
    /// workload runs on several.
    fn cpu_of(cursors: &mut [Cursor<PATHS>], tag: u64) -> Option<&mut Cursor<PATHS>> {
        let n = cursors.len() as u64;
        if n == 0 {
            return None;
        }
        cursors.get_mut((tag % n) as usize)
    }

    /// What host `h`'s device decided for I/O `tag`.
    fn disposition(&mut self, h: usize, tag: u64, d: Disposition) {
        match d {
            Disposition::Dispatch(t) => self.dispatch(h, tag, t),
            Disposition::Queued => {}
            Disposition::Done { result, .. } => self.end_io(h, tag, result),
            Disposition::Busy(io) => self.hosts[h].held_back.push(io),
            _ => {}
        }
    }

    /// Send an I/O attempt of host `h` on the path its ticket names.
    fn dispatch(&mut self, h: usize, tag: u64, t: mpath_core::Ticket) {
        let Some(g) = self.index_of(h, t.path()) else {
            self.violate(
                Invariant::EligibleDispatch,
                format!(
                    "host {h}: I/O {tag} dispatched on unknown path {:?}",
                    t.path()
                ),
            );
            return;
        };
        if !self.tier_of(g).is_some_and(|tier| tier != Tier::Ineligible) {
            let i = g % self.npaths;
            self.violate(
                Invariant::EligibleDispatch,
                format!(
                    "host {h}: I/O {tag} dispatched on path {i}, tier {:?}",
                    self.tier_of(g)
                ),
            );
            return;
        }
        let host = &mut self.hosts[h];
        let Some(rec) = host.ios.get_mut(&tag) else {
            self.violate(
                Invariant::ExactlyOnce,
                format!("host {h}: dispatch of I/O {tag}, which has already ended"),
            );
            return;
        };
        rec.attempts += 1;
        if rec.attempts > 1 {
            host.retried += 1;
        }
        let rec = *rec;
        let (stamp, base) = (host.stamp, host.lba_base);
        let blocks = self.scenario.workload.blocks;
        let lba = base + rec.slot * u64::from(blocks);
        let bs = self.scenario.block_size as usize;
        let (data_out, data_in_len) = if rec.write {
            let mut data = vec![0u8; bs * blocks as usize];
            for (k, b) in data.chunks_exact_mut(bs).enumerate() {
                let stamp = BlockStamp {
                    generation: rec.generation,
                    host: stamp,
                    lba: lba + k as u64,
                };
                b[..STAMP_LEN].copy_from_slice(&stamp.to_bytes());
            }
            (data, 0)
        } else {
            (Vec::new(), bs * blocks as usize)
        };
        let Some(cmd) = self.stack.io_command(rec.write, lba, blocks) else {
            return;
        };
        self.send(
            g,
            Purpose::Io { tag, ticket: t },
            cmd,
            data_out,
            data_in_len,
            rec.write,
            false,
        );
    }

    /// Put a command on path `g`'s link (global index): `write` for a
    /// write, `control` for what a zombie path still carries (SCSI TEST
    /// UNIT READY, NVMe admin commands). An NVMe entry gets its command
    /// identifier here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &mut self,
        g: usize,
        purpose: Purpose,
        mut cmd: Vec<u8>,
        data_out: Vec<u8>,
        data_in_len: usize,
        write: bool,
        control: bool,
    ) {
        self.next_cmd += 1;
        let id = self.next_cmd;
        if let (Stack::Nvme(_), Some(cid)) = (&self.stack, cmd.get_mut(2..4)) {
            cid.copy_from_slice(&super::nvme::cid_of(id).to_le_bytes());
        }
        let aer = matches!(purpose, Purpose::Aer);
        let mut f = InFlight {
            path: g,
            purpose,
            cmd,
            data_out,
            data_in_len,
            stage: Stage::Outbound,
            answer: None,
            token: 0,
            write,
            control,
            aborted: false,
            sent: self.now,
        };
        let link = self.links[g];
        let now = self.now;
        if aer {
            // The controller holds it until it has an event: no timeout.
            self.aer_flights += 1;
        } else {
            self.queue.push(
                now.saturating_add(self.scenario.command_timeout),
                Event::Timeout(id),
            );
        }
        let resetting = self.hosts[g / self.npaths].resetting[g % self.npaths];
        if !link.up || resetting {
            // Nothing to send it on (or the host is connecting again
            // after a reset): the transport fails it at once.
            f.stage = Stage::Failed;
            f.answer = Some(Answer::transport(mpath_scsi::TransportStatus::NoConnect));
            self.queue.push(now, Event::Deliver(id, 0));
        } else if link.zombie.is_some() && !f.control {
            if link.zombie == Some(false) {
                f.stage = Stage::Failed;
                f.answer = Some(Answer::transport(super::sim::LINK_LOST));
                let at = now.saturating_add(link.one_way(0));
                self.queue.push(at, Event::Deliver(id, 0));
            }
            // Hanging: only the command timeout ends it.
        } else {
            let jitter = self.jitter(g);
            let bytes = f.cmd.len() + f.data_out.len();
            let at = self.links[g]
                .carry(Dir::ToTarget, now, bytes)
                .saturating_add(jitter);
            self.queue.push(at, Event::Arrive(id));
        }
        self.flights.insert(id, Box::new(f));
    }

    pub(crate) fn jitter(&mut self, g: usize) -> mpath_core::Duration {
        let j = self.links[g].cfg.jitter.as_nanos();
        mpath_core::Duration::from_nanos(self.below(j.saturating_add(1)))
    }

    /// The answer to command `id` reaches its host.
    pub(crate) fn deliver(&mut self, id: u64, token: u32) {
        let Some(f) = self.flights.get(&id) else {
            return;
        };
        if f.token != token {
            return;
        }
        let Some(f) = self.flights.remove(&id) else {
            return;
        };
        let mut f = *f;
        let answer = f
            .answer
            .take()
            .unwrap_or_else(|| Answer::transport(mpath_scsi::TransportStatus::Timeout));
        let now = self.now;
        let (h, i) = (f.path / self.npaths, f.path % self.npaths);
        if power_on(&answer) {
            self.hosts[h].restart_seen = Some(now);
        }
        if self.verbose {
            eprintln!(
                "{:>10} µs    answer {:?} status {:#x} dw0 {:#x}, {} bytes",
                now.as_nanos() / 1000,
                answer.transport,
                answer.status,
                answer.dw0,
                answer.data.len()
            );
        }
        match f.purpose {
            Purpose::Io { tag, ticket } => {
                let completion = match &self.stack {
                    Stack::Scsi(_) => Self::scsi_classify(&answer),
                    Stack::Nvme(n) => {
                        match n.ads[h].classify_completion(ticket.path(), answer.delivery()) {
                            Ok(c) => c,
                            Err(e) => {
                                self.violate(
                                    Invariant::ExactlyOnce,
                                    format!(
                                        "host {h}: completion of I/O {tag} not classified: {e}"
                                    ),
                                );
                                return;
                            }
                        }
                    }
                };
                let ok = completion.outcome == Outcome::Success;
                let host = &mut self.hosts[h];
                if let Some(p) = host.per_path.get_mut(i) {
                    if ok {
                        let bytes = (f.data_out.len() + answer.data.len()) as u64;
                        p.ios += 1;
                        p.bytes += bytes;
                        let n = host.per_path.len();
                        let slice = host.timeline.at(now, n);
                        if let (Some(x), Some(b)) = (slice.ios.get_mut(i), slice.bytes.get_mut(i)) {
                            *x += 1;
                            *b += bytes;
                        }
                    } else {
                        p.failed += 1;
                    }
                }
                if !ok {
                    if let Some(rec) = self.hosts[h].ios.get_mut(&tag) {
                        rec.last_failed = Some(now);
                    }
                }
                if ok {
                    self.check_read(h, tag, &answer.data);
                }
                // A plain success on the fast path, on the I/O's CPU.
                let host = &mut self.hosts[h];
                let ticket = match Self::cpu_of(&mut host.cursors, tag) {
                    Some(c) if ok && completion.notices.is_empty() => {
                        match host.dev.data_plane().complete(c, ticket, now) {
                            Ok(io) => {
                                self.end_io(h, io.tag.0, Ok(()));
                                self.drain_actions(h);
                                return;
                            }
                            Err(r) => r.item,
                        }
                    }
                    _ => ticket,
                };
                match self.hosts[h].dev.handle_completion(ticket, completion, now) {
                    Ok(d) => self.disposition(h, tag, d),
                    Err(r) => self.violate(
                        Invariant::ExactlyOnce,
                        format!("host {h}: completion of I/O {tag} refused: {:?}", r.error),
                    ),
                }
            }
            Purpose::Control(Ctl::Scsi(cmd)) => self.scsi_control(h, &cmd, &answer),
            Purpose::Control(Ctl::Nvme(cmd)) => self.nvme_control(h, &cmd, &answer),
            Purpose::Pr {
                action,
                cmd: Ctl::Scsi(cmd),
            } => self.scsi_pr(f.path, action, &cmd, &answer),
            Purpose::Pr {
                action,
                cmd: Ctl::Nvme(cmd),
            } => self.nvme_pr(h, action, &cmd, &answer),
            Purpose::Aer => {
                self.aer_flights = self.aer_flights.saturating_sub(1);
                self.nvme_aer(f.path, &answer);
            }
        }
        self.drain_actions(h);
    }

    /// A read's blocks must be at least as new as the last write to them
    /// acknowledged before the read was issued.
    fn check_read(&mut self, h: usize, tag: u64, data: &[u8]) {
        let host = &self.hosts[h];
        let Some(rec) = host.ios.get(&tag).copied() else {
            return;
        };
        if rec.write || rec.floor == 0 {
            return;
        }
        let stamp = host.stamp;
        let bs = self.scenario.block_size as usize;
        for (k, b) in data.chunks(bs).enumerate() {
            let got = BlockStamp::from_bytes(b).filter(|s| s.host == stamp);
            let generation = got.map_or(0, |s| s.generation);
            if generation < rec.floor {
                self.violate(
                    Invariant::NoLostWrite,
                    format!(
                        "host {h}: read {tag} of slot {} block {k} returned generation {generation}, \
                         older than write {} acknowledged before it",
                        rec.slot, rec.floor
                    ),
                );
                return;
            }
        }
    }

    /// Host `h`'s I/O `tag` completes upward.
    pub(crate) fn end_io(&mut self, h: usize, tag: u64, result: Result<(), IoError>) {
        let now = self.now;
        let host = &mut self.hosts[h];
        let Some(rec) = host.ios.remove(&tag) else {
            self.violate(
                Invariant::ExactlyOnce,
                format!("host {h}: I/O {tag} completed upward twice ({result:?})"),
            );
            return;
        };
        host.busy_slots[rec.slot as usize] = false;
        match result {
            Ok(()) => {
                host.completed += 1;
                if rec.write {
                    let a = &mut host.acked[rec.slot as usize];
                    *a = (*a).max(rec.generation);
                }
                let us = (now.as_nanos().saturating_sub(rec.issued.as_nanos())) / 1_000;
                let _ = host.latency.record(us.max(1));
                let n = host.per_path.len();
                let slice = host.timeline.at(now, n);
                slice.completed += 1;
                slice.latency_sum_us += us;
                slice.latency_max_us = slice.latency_max_us.max(us);
                // Time to resume after a fault is host 0's (the host the
                // faults are aimed at).
                if h == 0 {
                    for (k, r) in self.resume.iter_mut().enumerate() {
                        if r.is_none() {
                            let since = now
                                .as_nanos()
                                .saturating_sub(self.fault_times[k].as_nanos());
                            *r = Some(mpath_core::Duration::from_nanos(since));
                        }
                    }
                }
            }
            Err(e) => {
                host.failed += 1;
                let n = host.per_path.len();
                host.timeline.at(now, n).failed += 1;
                let early = match (self.scenario.no_path, host.dev.controller().no_path_since()) {
                    (NoPathPolicy::Queue, _) => true,
                    (NoPathPolicy::QueueFor(d), Some(since)) => {
                        now.as_nanos() < since.as_nanos().saturating_add(d.as_nanos())
                    }
                    (NoPathPolicy::QueueFor(_), None) => true,
                    _ => false,
                };
                if e == IoError::NoPath && early {
                    let (policy, since) =
                        (self.scenario.no_path, host.dev.controller().no_path_since());
                    self.violate(
                        Invariant::NoPathOnTime,
                        format!(
                            "host {h}: I/O {tag} failed for want of a path under {policy:?}, no usable path since {since:?}"
                        ),
                    );
                    return;
                }
                let host = &self.hosts[h];
                if e == IoError::ReservationConflict && !host.foreign_pr {
                    self.violate(
                        Invariant::NoOwnConflict,
                        format!(
                            "host {h}: I/O {tag} failed upward with a reservation conflict no other host caused"
                        ),
                    );
                }
            }
        }
        // Closed loop: the application sends the next one (a step later,
        // not from inside this completion; after a failure it waits a
        // millisecond, as an application retrying would, rather than
        // spinning at one instant), and the device gets back what it could
        // not take.
        let at = if result.is_ok() {
            now
        } else {
            now.saturating_add(mpath_core::Duration::from_millis(1))
        };
        self.queue.push(at, Event::Submit(h));
    }

    /// Host `h` has had no usable path since `since` (ns), long enough
    /// that its no-path policy must have failed what it held: every I/O
    /// neither on the wire nor waiting for room in the device, unless it
    /// is a write whose last attempt failed less than the quiesce time
    /// ago (checked again then).
    pub(crate) fn no_path_due(&mut self, h: usize, since: u64) {
        let NoPathPolicy::QueueFor(d) = self.scenario.no_path else {
            return;
        };
        let host = &self.hosts[h];
        match host.dev.controller().no_path_since() {
            None => return, // a path came back
            Some(now_since) if now_since.as_nanos() != since => {
                // A path came back and went again within one step: a new
                // spell, with its own deadline.
                let due = now_since
                    .saturating_add(d)
                    .saturating_add(mpath_core::Duration::from_millis(1));
                self.queue
                    .push(due.max(self.now), Event::NoPathDue(h, now_since.as_nanos()));
                return;
            }
            Some(_) => {}
        }
        let on_wire = |tag: u64| {
            self.flights.iter().any(|(_, f)| {
                f.path / self.npaths == h
                    && matches!(f.purpose, Purpose::Io { tag: t, .. } if t == tag)
            })
        };
        let slack = 1_000_000;
        let quiesce = self.scenario.quiesce.as_nanos();
        let mut later = None;
        let mut overdue = None;
        for (&tag, rec) in host.ios.iter() {
            if on_wire(tag) || host.held_back.iter().any(|io| io.tag.0 == tag) {
                continue;
            }
            let mut due = since.saturating_add(d.as_nanos());
            if let (true, Some(f)) = (rec.write, rec.last_failed) {
                due = due.max(f.as_nanos().saturating_add(quiesce));
            }
            let due = due.saturating_add(slack);
            if due > self.now.as_nanos() {
                later = Some(later.map_or(due, |l: u64| l.min(due)));
            } else {
                overdue = Some(tag);
                break;
            }
        }
        if let Some(tag) = overdue {
            let policy = self.scenario.no_path;
            let ms = (self.now.as_nanos() - since) / 1_000_000;
            self.violate(
                Invariant::NoPathOnTime,
                format!(
                    "host {h}: I/O {tag} still held without a path {ms} ms after the last one went, under {policy:?}"
                ),
            );
            return;
        }
        if let Some(at) = later {
            self.queue
                .push(Instant::from_nanos(at), Event::NoPathDue(h, since));
        }
    }

    /// Carry out everything host `h`'s device asks for, collect its
    /// events, and set its timer.
    pub(crate) fn drain_actions(&mut self, h: usize) {
        for _ in 0..10_000 {
            let Some(a) = self.hosts[h].dev.poll_action() else {
                break;
            };
            self.trace.u64(action_code(&a));
            if self.verbose {
                eprintln!(
                    "{:>10} µs    host {h} action {a:?}",
                    self.now.as_nanos() / 1000
                );
            }
            match a {
                Action::Dispatch(t) => self.dispatch(h, t.io().tag.0, t),
                Action::Fail { io, error } => self.end_io(h, io.tag.0, Err(error)),
                other => match self.stack {
                    Stack::Scsi(_) => self.scsi_action(h, &other),
                    Stack::Nvme(_) => self.nvme_action(h, &other),
                },
            }
        }
        while let Some(e) = self.hosts[h].dev.poll_event() {
            self.trace.u64(0xE0 << 56);
            if self.verbose {
                eprintln!(
                    "{:>10} µs    host {h} event {e:?}",
                    self.now.as_nanos() / 1000
                );
            }
            self.device_event(h, e);
        }
        if self.hosts[h].started_op {
            // An operation started from an event (the reservation after
            // the registration) has its first command waiting: send it
            // now, not at whatever event comes next.
            self.hosts[h].started_op = false;
            self.drain_actions(h);
            return;
        }
        if let Some(at) = self.hosts[h].dev.poll_timeout() {
            let at = at.max(self.now);
            let host = &mut self.hosts[h];
            if !host.timer_at.is_some_and(|t| at >= t) {
                host.timer_at = Some(at);
                self.queue.push(at, Event::HostTimer(h));
            }
        }
    }

    fn device_event(&mut self, h: usize, e: DeviceEvent) {
        if let DeviceEvent::ActiveTier(None) = e {
            // Under queue-for, held I/O must have failed by the time it
            // runs out (a write held after a path failure by its quiesce
            // time, if later). A reservation may hold I/O longer (a move
            // over a live path), so the check is for runs without one.
            let since = self.hosts[h].dev.controller().no_path_since();
            if let (NoPathPolicy::QueueFor(d), None, Some(since)) =
                (self.scenario.no_path, self.scenario.reservation, since)
            {
                let due = since
                    .saturating_add(d)
                    .saturating_add(mpath_core::Duration::from_millis(1));
                self.queue
                    .push(due.max(self.now), Event::NoPathDue(h, since.as_nanos()));
            }
        }
        if let DeviceEvent::Reservation(PrEvent::Finished { op, result }) = e {
            let now = self.now;
            let host = &mut self.hosts[h];
            match (host.pr_stage, op, result) {
                (1, PrOp::Register(_), Ok(_)) => {
                    host.pr_stage = 2;
                    host.registered = true;
                    // Host 0 takes the reservation; the others are
                    // registrants only.
                    match self.scenario.reservation.filter(|_| h == 0) {
                        Some(t) => {
                            host.started_op = true;
                            if host.dev.reservation(PrOp::Reserve(t), now).is_err() {
                                host.pr_stage = 3;
                                self.start_workload(h);
                            }
                        }
                        None => {
                            host.pr_stage = 3;
                            self.start_workload(h);
                        }
                    }
                }
                (2, PrOp::Reserve(_), _) | (1, _, Err(PrError::NoPath | PrError::Refused)) => {
                    host.pr_stage = 3;
                    self.start_workload(h);
                }
                _ => {}
            }
        }
        self.hosts[h].events.push(e);
    }

    /// Send a command host `h`'s adapter built on the path it names.
    pub(crate) fn send_control(&mut self, h: usize, cmd: Ctl) {
        self.send_ctl(h, Purpose::Control(cmd), cmd);
    }

    /// A reservation command's outcome for host `h`'s device: the
    /// coordinator's reply (none while the command is being sent again),
    /// then the notices the response carried (after the reply: a
    /// coordinator in the middle of an operation keeps a preemption notice
    /// for its end).
    pub(crate) fn pr_answered(
        &mut self,
        h: usize,
        via: PathId,
        reply: Option<PrReply>,
        notices: Notices,
    ) {
        let now = self.now;
        let dev = &mut self.hosts[h].dev;
        if let Some(reply) = reply {
            let _ = dev.handle_reservation_reply(via, reply, now);
        }
        if !notices.is_empty() {
            let _ = dev.handle_notices(via, notices, now);
        }
    }

    /// Send a reservation command for host `h`'s coordinator.
    pub(crate) fn send_pr(&mut self, h: usize, action: PrAction, cmd: Ctl) {
        self.send_ctl(h, Purpose::Pr { action, cmd }, cmd);
    }

    fn send_ctl(&mut self, h: usize, purpose: Purpose, cmd: Ctl) {
        let (path, parts, control) = match &cmd {
            Ctl::Scsi(c) => {
                let parts = super::scsi::parts(c);
                let tur = super::scsi::is_tur(&parts.0);
                (c.path(), Some(parts), tur)
            }
            Ctl::Nvme(c) => (c.path(), super::nvme::parts(c), c.is_admin()),
        };
        let (Some(g), Some((bytes, out, len))) = (self.index_of(h, path), parts) else {
            return;
        };
        let write = match cmd {
            Ctl::Scsi(_) => super::scsi::is_write(&bytes),
            Ctl::Nvme(_) => !control && super::nvme::is_write(&bytes),
        };
        self.send(g, purpose, bytes, out, len, write, control);
    }
}

/// SCSI POWER ON, RESET OR BUS DEVICE RESET OCCURRED (06/29/xx): the
/// first word a host has of a target restart.
fn power_on(a: &Answer) -> bool {
    a.status == 2
        && mpath_scsi::SenseRepr::parse_bytes(&a.sense)
            .is_ok_and(|s| s.key == mpath_scsi::SenseKey::UnitAttention && s.asc == 0x29)
}

/// An action as one number for the trace: which kind, on which path, for
/// which I/O.
fn action_code(a: &Action) -> u64 {
    let (kind, x) = match a {
        Action::Dispatch(t) => (1u64, (t.io().tag.0 << 8) ^ u64::from(t.path().slot() as u8)),
        Action::Fail { io, .. } => (2, io.tag.0),
        Action::Probe(p) => (3, p.slot() as u64),
        Action::RefreshAccessState { via } => (4, via.slot() as u64),
        Action::ActivateGroup { via, .. } => (5, via.slot() as u64),
        Action::Reservation(pa) => (6, pa.via.slot() as u64),
        _ => (7, 0),
    };
    (0xA0 + kind) << 56 ^ x
}
