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
    Multipath, NexusId, Notices, Outcome, PathId, PathSpec,
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
        let now = self.tick();
        let mut disp = self
            .mp
            .submit(io, now)
            .map_err(|e| HostIoError::Stuck(format!("submit: {:?}", e.error)))?;
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
                    let now = self.tick();
                    if c.outcome == Outcome::Success {
                        self.mp.complete_ok(t, now);
                        self.notices(path, c.notices);
                        self.settle();
                        return Ok((i, got));
                    }
                    match c.outcome {
                        Outcome::ReservationConflict => self.conflicts += 1,
                        Outcome::PathError(_) => self.failovers += 1,
                        _ => {}
                    }
                    // The coordinator first: a preemption notice fences
                    // before the retry is routed, a dead holder quiesces.
                    if c.notices.intersects(PR_NOTICES) {
                        self.pr.handle_notices(path, c.notices);
                        self.settle();
                    }
                    let path_error = matches!(c.outcome, Outcome::PathError(_));
                    let now = self.tick();
                    disp = self
                        .mp
                        .complete(t, c, now)
                        .map_err(|e| HostIoError::Stuck(format!("complete: {:?}", e.error)))?;
                    if path_error {
                        self.path_failed(i);
                        self.settle();
                    }
                }
                Disposition::Done { result, .. } => {
                    return Err(HostIoError::Io(result.err().unwrap_or(IoError::NoPath)));
                }
                Disposition::Queued => disp = self.wait_held()?,
                Disposition::Busy(io) => {
                    let now = self.tick();
                    disp = self
                        .mp
                        .submit(io, now)
                        .map_err(|e| HostIoError::Stuck(format!("submit: {:?}", e.error)))?;
                }
                other => return Err(HostIoError::Stuck(format!("unexpected {other:?}"))),
            }
        }
        Err(HostIoError::Stuck(format!("I/O at {lba} did not settle")))
    }

    /// The one held I/O: run the controller's actions, jumping the clock to
    /// its next deadline, until it is dispatched or failed.
    fn wait_held(&mut self) -> Result<Disposition, HostIoError> {
        for _ in 0..512 {
            self.settle();
            while let Some(a) = self.mp.controller_mut().poll_action() {
                match a {
                    Action::Dispatch(t) => return Ok(Disposition::Dispatch(t)),
                    Action::Fail { io, error } => {
                        return Ok(Disposition::Done {
                            io,
                            result: Err(error),
                        })
                    }
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
}
