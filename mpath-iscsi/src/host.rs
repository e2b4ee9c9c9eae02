//! A host as an embedder would build it: a [`Multipath`] for path selection
//! and failover and a reservation [`Coordinator`], both sans-IO, driven
//! over a [`Fabric`]. Every command the host sends is logged per nexus so a
//! scenario can check the order (registered before the first write).
//!
//! Time is virtual: each input advances the clock by a millisecond and held
//! I/O jumps it to the core's next deadline. The real target does not see
//! our clock; the failed attempts the quiesce time guards against have
//! already ended (libiscsi returned them) when the retry goes out.

use mpath_core::reservation::{
    Coordinator, PrCommand, PrError, PrEvent, PrOp, PrReport, RegistrationScope,
};
use mpath_core::{
    Action, Completion, Config, Disposition, Duration, GroupId, Instant, Io, IoError, LinkEvent,
    Multipath, NexusId, Notices, Outcome, PathId, PathSpec, Ticket,
};

use crate::fabric::Fabric;

/// Path capacity of the host.
pub const PATHS: usize = 8;

/// What the host sent on a nexus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A PR command.
    Pr(PrCommand),
    /// A WRITE at this LBA.
    Write(u64),
    /// A READ at this LBA.
    Read(u64),
}

/// Why an I/O through the host failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostIoError {
    /// The core ended it with this error.
    Io(IoError),
    /// The core refused an input, or the I/O never settled.
    Stuck(String),
}

impl std::fmt::Display for HostIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostIoError::Io(e) => write!(f, "{e}"),
            HostIoError::Stuck(s) => f.write_str(s),
        }
    }
}

const PR_NOTICES: Notices = Notices::RESERVATIONS_PREEMPTED
    .union(Notices::REGISTRATIONS_PREEMPTED)
    .union(Notices::RESERVATIONS_RELEASED);

/// One host over a fabric.
#[derive(Debug)]
pub struct Host<'f, F: Fabric> {
    fabric: &'f mut F,
    mp: Multipath<PATHS>,
    pr: Coordinator<PATHS>,
    /// Path of nexus `i`.
    paths: Vec<PathId>,
    down: Vec<bool>,
    now: Instant,
    tag: u64,
    /// Every command sent, with its nexus.
    pub log: Vec<(usize, Sent)>,
    /// Every coordinator event.
    pub events: Vec<PrEvent>,
    /// RESERVATION CONFLICT answers to our I/O.
    pub conflicts: usize,
    /// I/O attempts that failed with a path error and were failed over.
    pub failovers: usize,
}

impl<'f, F: Fabric> Host<'f, F> {
    /// A host using every nexus the fabric has now.
    pub fn new(fabric: &'f mut F) -> Result<Self, String> {
        let mp = Multipath::new(Config::DEFAULT).map_err(|e| format!("config: {e:?}"))?;
        let mut h = Host {
            fabric,
            mp,
            pr: Coordinator::new(RegistrationScope::Nexus),
            paths: Vec::new(),
            down: Vec::new(),
            now: Instant::from_nanos(0),
            tag: 0,
            log: Vec::new(),
            events: Vec::new(),
            conflicts: 0,
            failovers: 0,
        };
        for i in 0..h.fabric.nexus_count() {
            h.attach(i)?;
        }
        Ok(h)
    }

    fn tick(&mut self) -> Instant {
        self.now = self.now.saturating_add(Duration::from_millis(1));
        self.now
    }

    /// The fabric.
    pub fn fabric(&mut self) -> &mut F {
        self.fabric
    }
    /// The coordinator.
    pub fn coordinator(&self) -> &Coordinator<PATHS> {
        &self.pr
    }
    /// The multipath device.
    pub fn multipath(&self) -> &Multipath<PATHS> {
        &self.mp
    }
    /// The path of nexus `i`.
    pub fn path(&self, i: usize) -> Option<PathId> {
        self.paths.get(i).copied()
    }
    /// The nexus of `path`.
    pub fn nexus_of(&self, path: PathId) -> Option<usize> {
        self.paths.iter().position(|&p| p == path)
    }
    /// The nexus holding the reservation, if the coordinator knows one.
    pub fn holder(&self) -> Option<usize> {
        self.pr.holder().and_then(|p| self.nexus_of(p))
    }
    /// Whether the data plane may select nexus `i` now.
    pub fn selectable(&self, i: usize) -> bool {
        self.path(i).is_some_and(|p| {
            self.mp.controller().data_plane().selectable() & (1u64 << p.slot()) != 0
        })
    }

    /// Add nexus `i` (already logged in on the fabric) as a path. With a
    /// key set it is registered before it is admitted; call
    /// [`Host::settle`] to let that happen.
    pub fn attach(&mut self, i: usize) -> Result<PathId, String> {
        let now = self.tick();
        let nexus = u32::try_from(i).map_err(|_| "nexus number".to_owned())?;
        let p = self
            .mp
            .controller_mut()
            .add_path(PathSpec::new(GroupId(1), NexusId(nexus)), now)
            .map_err(|e| format!("add_path: {:?}", e.error))?;
        self.pr.path_added(p, nexus, true);
        self.paths.push(p);
        self.down.push(false);
        self.apply();
        Ok(p)
    }

    fn apply(&mut self) {
        let now = self.tick();
        let _ = self.mp.controller_mut().apply_reservation(&self.pr, now);
    }

    /// A command on nexus `i` failed at the transport: the path is down for
    /// the controller and the coordinator (which moves the reservation if
    /// it held it).
    pub fn path_failed(&mut self, i: usize) {
        let Some(p) = self.path(i) else { return };
        if self.down.get(i).copied().unwrap_or(true) {
            return;
        }
        if let Some(d) = self.down.get_mut(i) {
            *d = true;
        }
        let now = self.tick();
        let _ = self
            .mp
            .controller_mut()
            .handle_link(p, LinkEvent::Down, now);
        self.pr.path_down(p);
        self.apply();
    }

    /// Nexus `i` is logged in again. libiscsi's reconnect opens a new
    /// session, which tgt treats as a new I_T nexus with no registration
    /// (observed with tgt 1.0.85: the old session's registration stays
    /// listed, the new one gets RESERVATION CONFLICT), so the coordinator is
    /// told the nexus was replaced: the path is registered before it is
    /// admitted again.
    pub fn path_returned(&mut self, i: usize) {
        let Some(p) = self.path(i) else { return };
        if let Some(d) = self.down.get_mut(i) {
            *d = false;
        }
        let nexus = u32::try_from(i).unwrap_or(u32::MAX);
        self.pr.nexus_replaced(p, nexus);
        self.pr.path_up(p);
        let now = self.tick();
        let _ = self.mp.controller_mut().handle_link(p, LinkEvent::Up, now);
        let _ = self
            .mp
            .controller_mut()
            .handle_probe(p, self.fabric.probe(i), now);
        self.apply();
        self.settle();
    }

    /// Carry out every PR action the coordinator wants, and the
    /// controller's probes, until both are quiet.
    pub fn settle(&mut self) {
        for _ in 0..256 {
            self.apply();
            let Some(a) = self.pr.poll_action() else {
                break;
            };
            let Some(i) = self.nexus_of(a.via) else {
                self.pr
                    .reply(a.via, mpath_core::reservation::PrReply::PathFailed);
                continue;
            };
            self.log.push((i, Sent::Pr(a.command)));
            let x = self.fabric.pr(i, a.command);
            let reply = x.answer.reply(self.pr.key());
            self.pr.reply(a.via, reply);
            if reply == mpath_core::reservation::PrReply::PathFailed {
                self.path_failed(i);
            }
            self.notices(a.via, x.notices);
        }
        while let Some(e) = self.pr.poll_event() {
            self.events.push(e);
        }
        self.apply();
    }

    fn notices(&mut self, path: PathId, notices: Notices) {
        if notices.is_empty() {
            return;
        }
        let now = self.tick();
        let _ = self.mp.controller_mut().handle_notices(path, notices, now);
        if notices.intersects(PR_NOTICES) {
            self.pr.handle_notices(path, notices);
        }
    }

    /// Run a user operation to its end.
    pub fn op(&mut self, op: PrOp) -> Result<PrReport, PrError> {
        self.pr.submit(op)?;
        let from = self.events.len();
        self.settle();
        self.events
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .find_map(|e| match e {
                PrEvent::Finished { op: o, result } if *o == op => Some(*result),
                _ => None,
            })
            .unwrap_or(Err(PrError::Busy))
    }

    /// Write whole blocks at `lba` through the multipath device; the nexus
    /// that completed it.
    pub fn write(&mut self, lba: u64, data: &[u8]) -> Result<usize, HostIoError> {
        self.io(lba, Some(data), 0).map(|(i, _)| i)
    }

    /// Read `blocks` blocks at `lba` through the multipath device.
    pub fn read(&mut self, lba: u64, blocks: u32) -> Result<(usize, Vec<u8>), HostIoError> {
        self.io(lba, None, blocks)
    }

    fn io(
        &mut self,
        lba: u64,
        data: Option<&[u8]>,
        blocks: u32,
    ) -> Result<(usize, Vec<u8>), HostIoError> {
        self.tag += 1;
        let bs = self.fabric.block_size();
        let bytes = data.map_or(usize::try_from(blocks).unwrap_or(0) * bs, <[u8]>::len);
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        let io = match data {
            Some(_) => Io::write(self.tag, bytes, 3),
            None => Io::read(self.tag, bytes, 3),
        };
        let mut disp = self.submit(io)?;
        for _ in 0..512 {
            match disp {
                Disposition::Dispatch(t) => {
                    let path = t.path();
                    let Some(i) = self.nexus_of(path) else {
                        return Err(HostIoError::Stuck(format!("unknown path {path}")));
                    };
                    let (c, got): (Completion, Vec<u8>) = match data {
                        Some(d) => {
                            self.log.push((i, Sent::Write(lba)));
                            (self.fabric.write(i, lba, d), Vec::new())
                        }
                        None => {
                            self.log.push((i, Sent::Read(lba)));
                            let blocks = u32::try_from(bytes as usize / bs).unwrap_or(0);
                            self.fabric.read(i, lba, blocks)
                        }
                    };
                    match self.complete_attempt(i, t, c)? {
                        None => return Ok((i, got)),
                        Some(next) => disp = next,
                    }
                }
                Disposition::Queued => {
                    let mut ready = Vec::new();
                    self.drive_held(&mut ready)?;
                    disp = match ready.pop() {
                        Some(t) => Disposition::Dispatch(t),
                        None => return Err(HostIoError::Stuck(String::from("nothing dispatched"))),
                    };
                }
                other => return self.not_dispatched(other),
            }
        }
        Err(HostIoError::Stuck(format!("I/O at {lba} did not settle")))
    }

    fn submit(&mut self, io: Io) -> Result<Disposition, HostIoError> {
        let now = self.tick();
        let mut disp = self
            .mp
            .submit(io, now)
            .map_err(|e| HostIoError::Stuck(format!("submit: {:?}", e.error)))?;
        while let Disposition::Busy(io) = disp {
            let now = self.tick();
            disp = self
                .mp
                .submit(io, now)
                .map_err(|e| HostIoError::Stuck(format!("submit: {:?}", e.error)))?;
        }
        Ok(disp)
    }

    /// A disposition that is neither a dispatch nor held: the I/O ended.
    fn not_dispatched<T>(&self, d: Disposition) -> Result<T, HostIoError> {
        match d {
            Disposition::Done { result, .. } => {
                Err(HostIoError::Io(result.err().unwrap_or(IoError::NoPath)))
            }
            other => Err(HostIoError::Stuck(format!("unexpected {other:?}"))),
        }
    }

    /// Hand the completion of one attempt on nexus `i` to the core:
    /// `None` when the I/O is done, else what the core does with it next
    /// (a path error on a write: held until the failed path's quiesce time
    /// has passed). A path error also takes the path down for the
    /// controller and the coordinator, which moves the reservation if that
    /// nexus held it.
    fn complete_attempt(
        &mut self,
        i: usize,
        t: Ticket,
        c: Completion,
    ) -> Result<Option<Disposition>, HostIoError> {
        let path = t.path();
        let now = self.tick();
        if c.outcome == Outcome::Success {
            self.mp
                .complete_ok(t, now)
                .map_err(|r| HostIoError::Stuck(format!("completion refused: {}", r.error)))?;
            self.notices(path, c.notices);
            self.settle();
            return Ok(None);
        }
        match c.outcome {
            Outcome::ReservationConflict => self.conflicts += 1,
            Outcome::PathError(_) => self.failovers += 1,
            _ => {}
        }
        // The coordinator first: a preemption notice fences before the
        // retry is routed, a dead holder quiesces.
        if c.notices.intersects(PR_NOTICES) {
            self.pr.handle_notices(path, c.notices);
            self.settle();
        }
        let path_error = matches!(c.outcome, Outcome::PathError(_));
        let now = self.tick();
        let disp = self
            .mp
            .complete(t, c, now)
            .map_err(|e| HostIoError::Stuck(format!("complete: {:?}", e.error)))?;
        if path_error {
            self.path_failed(i);
            self.settle();
        }
        Ok(Some(disp))
    }

    /// Run the controller's actions for held I/O, jumping the clock to its
    /// next deadline, until something is dispatched (into `ready`); a held
    /// I/O the core fails ends it with that error.
    fn drive_held(&mut self, ready: &mut Vec<Ticket>) -> Result<(), HostIoError> {
        for _ in 0..512 {
            self.settle();
            while let Some(a) = self.mp.controller_mut().poll_action() {
                match a {
                    Action::Dispatch(t) => ready.push(t),
                    Action::Fail { error, .. } => return Err(HostIoError::Io(error)),
                    Action::Probe(p) => {
                        let r = match self.nexus_of(p) {
                            Some(i) => self.fabric.probe(i),
                            None => mpath_core::ProbeResult::Down,
                        };
                        let now = self.tick();
                        let _ = self.mp.controller_mut().handle_probe(p, r, now);
                    }
                    _ => {}
                }
            }
            if !ready.is_empty() {
                return Ok(());
            }
            let next = self.mp.controller().poll_timeout();
            let now = match next {
                Some(t) if t > self.now => t,
                _ => self.tick(),
            };
            self.now = now;
            let _ = self.mp.controller_mut().handle_timeout(now);
        }
        Err(HostIoError::Stuck(String::from("held I/O never left")))
    }

    /// Write many blocks at once through the multipath device. Every
    /// write is submitted to the core first; each nexus's share then goes
    /// out as one batch, outstanding together ([`Fabric::write_batch`]).
    /// With `cut`, that nexus is cut while its batch is outstanding. A
    /// write that does not complete GOOD goes back to the core like any
    /// failed attempt (a path error: requeued and held until the quiesce
    /// time has passed, while the coordinator moves the reservation) and
    /// is sent again wherever the core dispatches it.
    pub fn write_batch(
        &mut self,
        writes: &[(u64, Vec<u8>)],
        cut: Option<usize>,
    ) -> Result<BatchStats, HostIoError> {
        let first_tag = self.tag + 1;
        let mut stats = BatchStats {
            in_flight_at_cut: 0,
            failed: Vec::new(),
            reissued: Vec::new(),
            completed_on: vec![0; self.paths.len()],
        };
        let mut ready = Vec::new();
        for (_, data) in writes {
            self.tag += 1;
            let bytes = u32::try_from(data.len()).unwrap_or(u32::MAX);
            match self.submit(Io::write(self.tag, bytes, 3))? {
                Disposition::Dispatch(t) => ready.push(t),
                Disposition::Queued => {}
                other => return self.not_dispatched(other),
            }
        }
        let index = |t: &Ticket| usize::try_from(t.io().tag.0 - first_tag).unwrap_or(usize::MAX);
        let mut cut = cut;
        let mut left = writes.len();
        for _ in 0..64 {
            if ready.is_empty() && left > 0 {
                self.drive_held(&mut ready)?;
            }
            let mut groups: Vec<(usize, Vec<Ticket>)> = Vec::new();
            for t in ready.drain(..) {
                let i = self
                    .nexus_of(t.path())
                    .ok_or_else(|| HostIoError::Stuck(format!("unknown path {}", t.path())))?;
                match groups.iter_mut().find(|g| g.0 == i) {
                    Some(g) => g.1.push(t),
                    None => groups.push((i, vec![t])),
                }
            }
            for (i, tickets) in groups {
                let mut batch: Vec<(u64, &[u8])> = Vec::with_capacity(tickets.len());
                for t in &tickets {
                    let (lba, data) = writes
                        .get(index(t))
                        .ok_or_else(|| HostIoError::Stuck(String::from("unknown tag")))?;
                    if stats.failed.contains(lba) {
                        let moved = self
                            .events
                            .iter()
                            .any(|e| matches!(e, PrEvent::Moved { .. }));
                        stats.reissued.push((*lba, i, moved));
                    }
                    self.log.push((i, Sent::Write(*lba)));
                    batch.push((*lba, data));
                }
                let cut_here = cut == Some(i);
                let out = self
                    .fabric
                    .write_batch(i, &batch, cut_here)
                    .map_err(|e| HostIoError::Stuck(format!("write batch on nexus {i}: {e}")))?;
                if cut_here {
                    cut = None;
                    stats.in_flight_at_cut = out.in_flight_at_cut;
                }
                if out.completions.len() != tickets.len() {
                    return Err(HostIoError::Stuck(String::from("batch lost completions")));
                }
                for ((t, c), &(lba, _)) in tickets.into_iter().zip(out.completions).zip(&batch) {
                    match self.complete_attempt(i, t, c)? {
                        None => {
                            left -= 1;
                            if let Some(n) = stats.completed_on.get_mut(i) {
                                *n += 1;
                            }
                        }
                        Some(d) => {
                            if !stats.failed.contains(&lba) {
                                stats.failed.push(lba);
                            }
                            match d {
                                Disposition::Dispatch(t) => ready.push(t),
                                Disposition::Queued => {}
                                other => return self.not_dispatched(other),
                            }
                        }
                    }
                }
            }
            if left == 0 {
                return Ok(stats);
            }
        }
        Err(HostIoError::Stuck(format!(
            "{left} batch writes did not settle"
        )))
    }
}

/// What [`Host::write_batch`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStats {
    /// Writes outstanding on the cut nexus when it was cut.
    pub in_flight_at_cut: usize,
    /// LBAs of the writes whose first attempt did not complete GOOD.
    pub failed: Vec<u64>,
    /// Every attempt after the first: LBA, nexus, and whether the
    /// reservation had moved by then.
    pub reissued: Vec<(u64, usize, bool)>,
    /// Writes completed per nexus.
    pub completed_on: Vec<usize>,
}
