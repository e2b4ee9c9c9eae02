//! The run: one host (a `Device` with the real SCSI adapter) and one
//! simulated logical unit, joined by links, driven by an event queue in
//! virtual time. Everything random comes from one seeded generator, in the
//! order events happen, so a run is a function of (scenario, seed, code).

use hdrhistogram::Histogram;
use mpath_core::reservation::PrOp;
use mpath_core::{DataPlane, Device, DeviceEvent, Duration, Instant, PathId, Tier};
use mpath_scsi::TransportStatus;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::check::{Invariant, Violation};
use super::id_map::IdMap;
use super::queue::EventQueue;
use super::report::{PathReport, Report, Timeline};
use super::scenario::{Fault, Scenario, Transport};
use super::stack::Stack;
use super::trace::Trace;
use super::wire::{InFlight, Link, Port};

/// Paths a simulated device has room for.
pub const PATHS: usize = 8;

/// Our host's reservation key.
pub(crate) const OUR_KEY: u64 = 0x6d70_6174_6873_696d;
/// The other host's.
pub(crate) const OTHER_KEY: u64 = 0x6f74_6865_7268_6f73;
/// Our host, as block stamps name it.
pub(crate) const OUR_HOST: u32 = 1;

pub(crate) type Dev = Device<DataPlane<PATHS>, PATHS>;

/// Something due at a moment of virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A command reaches its target port.
    Arrive(u64),
    /// The port has carried a command out (the command, its path: the
    /// port is freed even if the host has given up on the command).
    Served(u64, usize),
    /// An answer (or the transport's failure) reaches the host.
    Deliver(u64, u32),
    /// The host's command timeout for a command.
    Timeout(u64),
    /// A write stranded on a dead link lands at the target.
    LateLand(usize),
    /// The device asked to be called at this time.
    HostTimer,
    /// The transport tells the host a path's link changed.
    HostLink(usize, bool),
    /// The host has connected path `i` again after resetting it.
    ResetDone(usize),
    /// The target answers again after a restart.
    TargetBack,
    /// A scenario fault.
    Fault(usize),
    /// The application submits its next I/O (and the device gets back an
    /// I/O it had no room for).
    Submit,
    /// The workload stops submitting.
    StopWorkload,
    /// The run ends.
    End,
}

impl Event {
    /// The event as one number for the trace: kind in the top byte, its
    /// operands below.
    fn code(self) -> u64 {
        let (kind, a, b) = match self {
            Event::Arrive(id) => (1, id, 0),
            Event::Served(id, _) => (2, id, 0),
            Event::Deliver(id, token) => (3, id, u64::from(token)),
            Event::Timeout(id) => (4, id, 0),
            Event::LateLand(k) => (5, k as u64, 0),
            Event::HostTimer => (6, 0, 0),
            Event::HostLink(p, up) => (7, p as u64, u64::from(up)),
            Event::Fault(i) => (8, i as u64, 0),
            Event::Submit => (11, 0, 0),
            Event::ResetDone(p) => (12, p as u64, 0),
            Event::TargetBack => (13, 0, 0),
            Event::StopWorkload => (9, 0, 0),
            Event::End => (10, 0, 0),
        };
        (kind << 56) ^ (a << 8) ^ b
    }
}

/// A write stranded on a dead link: the path, its CDB (or submission
/// entry) and its data.
pub(crate) type Stranded = (usize, Vec<u8>, Vec<u8>);

/// One I/O of the application.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoRec {
    pub slot: u64,
    pub write: bool,
    /// For a write, the generation its blocks carry.
    pub generation: u64,
    /// For a read, the generation of the last write to the slot
    /// acknowledged before it was issued.
    pub floor: u64,
    pub issued: Instant,
    pub attempts: u32,
}

/// A simulated run.
pub struct Sim {
    pub(crate) scenario: Scenario,
    pub(crate) seed: u64,
    pub(crate) rng: Pcg64Mcg,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) now: Instant,
    pub(crate) step: u64,
    /// `start` has run.
    pub(crate) started: bool,
    /// The run has ended.
    pub(crate) ended: bool,
    pub(crate) trace: Trace,
    // ----- target side and the host's adapter -----
    pub(crate) stack: Stack,
    pub(crate) links: Vec<Link>,
    pub(crate) ports: Vec<Port>,
    /// Boxed: a command in flight is large (a SCSI control command carries
    /// its CDB and parameter list inline), and the map moves its values
    /// on every insert and remove.
    pub(crate) flights: IdMap<Box<InFlight>>,
    pub(crate) next_cmd: u64,
    pub(crate) stranded: Vec<Option<Stranded>>,
    /// Held event requests among `flights` (they do not keep a run going).
    pub(crate) aer_flights: usize,
    // ----- host side -----
    pub(crate) dev: Dev,
    /// Paths the host is resetting (down until it has connected again).
    pub(crate) resetting: Vec<bool>,
    pub(crate) resets: u64,
    /// Target restarts.
    pub(crate) restarts: u64,
    /// The target is restarting: the paths to log in when it is back.
    pub(crate) target_down: Option<u16>,
    pub(crate) path_ids: Vec<PathId>,
    pub(crate) ios: IdMap<IoRec>,
    pub(crate) busy_slots: Vec<bool>,
    pub(crate) acked: Vec<u64>,
    pub(crate) next_tag: u64,
    pub(crate) generation: u64,
    pub(crate) held_back: Vec<mpath_core::Io>,
    pub(crate) timer_at: Option<Instant>,
    pub(crate) workload_on: bool,
    pub(crate) pr_stage: u8,
    /// The setup's registration succeeded: writes must go through
    /// registered nexuses from now on.
    pub(crate) registered: bool,
    /// An event started a device operation whose actions are waiting.
    pub(crate) started_op: bool,
    // ----- truth and results -----
    pub(crate) fenced_at: Option<Instant>,
    pub(crate) foreign_pr: bool,
    pub(crate) stale_seen: usize,
    pub(crate) submitted: u64,
    pub(crate) completed: u64,
    /// Completed I/Os and their bytes when the workload stopped.
    pub(crate) in_window: Option<(u64, u64)>,
    /// Per path, when the workload stopped.
    pub(crate) window_paths: Option<Vec<PathReport>>,
    pub(crate) failed: u64,
    pub(crate) retried: u64,
    pub(crate) per_path: Vec<PathReport>,
    pub(crate) latency: Histogram<u64>,
    pub(crate) timeline: Timeline,
    pub(crate) fault_times: Vec<Instant>,
    pub(crate) resume: Vec<Option<Duration>>,
    pub(crate) violation: Option<Violation>,
    pub(crate) events: Vec<DeviceEvent>,
    /// `MPATH_SIM_TRACE` set: print every event and action to stderr.
    pub(crate) verbose: bool,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("scenario", &self.scenario.name)
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("step", &self.step)
            .field("in_flight", &self.flights.len())
            .field("outstanding", &self.ios.len())
            .finish_non_exhaustive()
    }
}

/// Why a run could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The scenario has no path, too many, or a path in a group it does
    /// not define.
    #[error("scenario: {0}")]
    Scenario(String),
    /// The device refused the configuration or a path.
    #[error("device: {0}")]
    Device(String),
}

impl Sim {
    /// Set up `scenario` with `seed`: the logical unit, the links, the host
    /// with its device and adapter, every path identified through real
    /// INQUIRY and VPD page 83h answers and added.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Sim, SetupError> {
        if scenario.paths.is_empty() || scenario.paths.len() > PATHS {
            return Err(SetupError::Scenario(format!(
                "{} paths: 1 to {PATHS} supported",
                scenario.paths.len()
            )));
        }
        let (stack, dev, path_ids) = match scenario.transport {
            Transport::Scsi => {
                let (s, d, p) = super::scsi::setup(&scenario)?;
                (Stack::Scsi(Box::new(s)), d, p)
            }
            Transport::Nvme => {
                let (n, d, p) = super::nvme::setup(&scenario)?;
                (Stack::Nvme(Box::new(n)), d, p)
            }
        };
        let now = Instant::from_nanos(0);
        let links: Vec<Link> = scenario.paths.iter().map(|&c| Link::new(c)).collect();
        let ports = vec![
            Port {
                outstanding: 0,
                busy_until: now,
            };
            links.len()
        ];
        let slots = usize::try_from(scenario.workload.slots).unwrap_or(usize::MAX);
        let mut sim = Sim {
            rng: Pcg64Mcg::seed_from_u64(seed),
            seed,
            queue: EventQueue::default(),
            now,
            step: 0,
            started: false,
            ended: false,
            trace: Trace::default(),
            stack,
            links,
            ports,
            flights: IdMap::default(),
            next_cmd: 0,
            stranded: Vec::new(),
            aer_flights: 0,
            dev,
            resetting: vec![false; scenario.paths.len()],
            resets: 0,
            restarts: 0,
            target_down: None,
            path_ids,
            ios: IdMap::default(),
            busy_slots: vec![false; slots],
            acked: vec![0; slots],
            next_tag: 0,
            generation: 0,
            held_back: Vec::new(),
            timer_at: None,
            workload_on: false,
            pr_stage: 0,
            registered: false,
            started_op: false,
            fenced_at: None,
            foreign_pr: false,
            stale_seen: 0,
            submitted: 0,
            completed: 0,
            in_window: None,
            window_paths: None,
            failed: 0,
            retried: 0,
            per_path: vec![PathReport::default(); scenario.paths.len()],
            timeline: Timeline::for_duration(scenario.duration),
            latency: Histogram::new(3)
                .map_err(|e| SetupError::Scenario(format!("histogram: {e}")))?,
            fault_times: Vec::new(),
            resume: Vec::new(),
            violation: None,
            events: Vec::new(),
            verbose: std::env::var_os("MPATH_SIM_TRACE").is_some(),
            scenario,
        };
        for (i, &(at, _)) in sim.scenario.faults.iter().enumerate() {
            sim.queue
                .push(Instant::from_nanos(at.as_nanos()), Event::Fault(i));
        }
        sim.queue.push(
            Instant::from_nanos(sim.scenario.duration.as_nanos()),
            Event::StopWorkload,
        );
        sim.queue.push(
            Instant::from_nanos(
                sim.scenario
                    .duration
                    .as_nanos()
                    .saturating_add(sim.scenario.drain.as_nanos()),
            ),
            Event::End,
        );
        Ok(sim)
    }

    /// Run to the end (or the first invariant broken) and report.
    pub fn run(mut self) -> Report {
        while self.run_until(None) {}
        self.finish()
    }

    /// Handle events up to virtual time `until` (all of them: `None`),
    /// then stop, so a caller can look between (a progress bar, the
    /// topology after a fault). Whether the run goes on: `false` once it
    /// has ended (the end event, the workload done and quiet, or an
    /// invariant broken). The same events happen however the run is cut.
    pub fn run_until(&mut self, until: Option<Instant>) -> bool {
        if !self.started {
            self.started = true;
            self.start();
        }
        while !self.ended && self.violation.is_none() {
            if until.is_some_and(|u| self.queue.peek_time().is_some_and(|t| t > u)) {
                return true;
            }
            let Some((at, e)) = self.queue.pop() else {
                break;
            };
            self.now = at;
            self.step += 1;
            self.trace.u64(at.as_nanos());
            self.trace.u64(e.code());
            if self.verbose {
                eprintln!(
                    "{:>10} µs  step {:>6}  {e:?} {}",
                    at.as_nanos() / 1000,
                    self.step,
                    self.describe(e)
                );
            }
            if e == Event::End {
                break;
            }
            self.handle(e);
            if self.workload_idle_and_done() {
                break;
            }
        }
        self.ended = true;
        false
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events handled so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The host's device, as it stands now (paths, tiers, the
    /// reservation coordinator), for a look between
    /// [`run_until`](Self::run_until) calls.
    pub fn device(&self) -> &Device<DataPlane<PATHS>, PATHS> {
        &self.dev
    }

    /// The device's id for path index `i`.
    pub fn path_id(&self, i: usize) -> Option<PathId> {
        self.path_ids.get(i).copied()
    }

    /// Whether path `i`'s link is up now.
    pub fn link_is_up(&self, i: usize) -> Option<bool> {
        self.links.get(i).map(|l| l.up)
    }

    fn start(&mut self) {
        let now = self.now;
        for i in 0..self.links.len() {
            self.arm_aer(i);
        }
        self.drain_actions();
        if self.scenario.reservation.is_some() {
            self.pr_stage = 1;
            if self.dev.reservation(PrOp::Register(OUR_KEY), now).is_err() {
                self.pr_stage = 0;
            }
            self.drain_actions();
        } else {
            self.start_workload();
        }
    }

    pub(crate) fn start_workload(&mut self) {
        if self.workload_on || self.now.as_nanos() >= self.scenario.duration.as_nanos() {
            return;
        }
        self.workload_on = true;
        for _ in 0..self.scenario.workload.queue_depth {
            self.submit_new();
        }
    }

    fn workload_idle_and_done(&self) -> bool {
        !self.workload_on
            && self.now.as_nanos() >= self.scenario.duration.as_nanos()
            && self.ios.is_empty()
            && self.held_back.is_empty()
            && self.flights.len() == self.aer_flights
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Arrive(id) => self.arrive(id),
            Event::Served(id, path) => self.served(id, path),
            Event::Deliver(id, token) => self.deliver(id, token),
            Event::Timeout(id) => self.timeout(id),
            Event::LateLand(i) => self.late_land(i),
            Event::HostTimer => {
                self.timer_at = None;
                let now = self.now;
                let _ = self.dev.handle_timeout(now);
                self.drain_actions();
            }
            Event::HostLink(path, up) => {
                let now = self.now;
                let ev = if up {
                    mpath_core::LinkEvent::Up
                } else {
                    mpath_core::LinkEvent::Down
                };
                let id = self.path_ids[path];
                let _ = self.dev.handle_link(id, ev, now);
                if up {
                    if let Stack::Nvme(n) = &mut self.stack {
                        // After a subsystem restart the host makes the new
                        // association itself, now.
                        if !n.connected(path) {
                            n.reconnect(path);
                        }
                        let _ = n.ad.reconnected(&mut self.dev, id, now);
                    }
                    self.arm_aer(path);
                }
                self.drain_actions();
            }
            Event::TargetBack => self.target_back(),
            Event::ResetDone(path) => {
                self.resetting[path] = false;
                if self.links[path].up {
                    self.handle(Event::HostLink(path, true));
                }
            }
            Event::Fault(i) => self.fault(i),
            Event::Submit => {
                if let Some(io) = self.held_back.pop() {
                    self.submit_io(io);
                }
                self.submit_new();
            }
            Event::StopWorkload => {
                self.workload_on = false;
                self.in_window =
                    Some((self.completed, self.per_path.iter().map(|p| p.bytes).sum()));
                self.window_paths = Some(self.per_path.clone());
            }
            Event::End => {}
        }
    }

    fn fault(&mut self, i: usize) {
        let Some(&(_, f)) = self.scenario.faults.get(i) else {
            return;
        };
        self.fault_times.push(self.now);
        self.resume.push(None);
        match f {
            Fault::LinkDown { path } => self.link_down(path, None),
            Fault::LinkDownLateWrites { path, after } => self.link_down(path, Some(after)),
            Fault::LinkUp { path } => match &mut self.target_down {
                // The link is back but the target is not: the path logs in
                // when the target does.
                Some(mask) if path < PATHS => *mask |= 1 << path,
                _ => self.link_up(path, true),
            },
            Fault::Zombie { path, hang } => {
                if let Some(l) = self.links.get_mut(path) {
                    l.zombie = Some(hang);
                }
            }
            Fault::Heal { path } => {
                if let Some(l) = self.links.get_mut(path) {
                    l.zombie = None;
                    l.extra = Duration::from_nanos(0);
                }
            }
            Fault::Slow { path, extra } => {
                if let Some(l) = self.links.get_mut(path) {
                    l.extra = extra;
                }
            }
            Fault::Alua { group, state } => {
                self.stack.set_group_alua(group, state);
                self.nvme_events();
            }
            Fault::Ana { group, state } => {
                self.stack.set_group_ana(group, state);
                self.nvme_events();
            }
            Fault::Reset { path } => {
                self.reset_path(path);
                self.drain_actions();
            }
            Fault::TargetRestart { down } => self.target_restart(down),
            Fault::Preempt { rtype } => self.other_host_preempts(rtype),
        }
    }

    /// End the run where it stands and report (after [`run_until`](Self::run_until)
    /// has returned `false`, the whole run's report).
    pub fn finish(mut self) -> Report {
        let outstanding = self.ios.len() as u64;
        if self.scenario.expect_all_complete && outstanding > 0 {
            let first = self.ios.iter().next().map(|(t, r)| (*t, *r));
            self.violate(
                Invariant::NoneLost,
                format!(
                    "{outstanding} I/O still outstanding at the end of the drain, first {first:?}"
                ),
            );
        }
        if self.violation.is_none() && self.submitted != self.completed + self.failed + outstanding
        {
            self.violate(
                Invariant::CountersBalance,
                format!(
                    "submitted {} != completed {} + failed {} + outstanding {outstanding}",
                    self.submitted, self.completed, self.failed
                ),
            );
        }
        Report {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            trace: self.trace.value(),
            steps: self.step,
            elapsed: Duration::from_nanos(self.now.as_nanos()),
            submitted: self.submitted,
            completed: self.completed,
            window: self.scenario.duration,
            window_completed: self.in_window.map_or(self.completed, |w| w.0),
            window_bytes: self
                .in_window
                .map_or_else(|| self.per_path.iter().map(|p| p.bytes).sum(), |w| w.1),
            failed: self.failed,
            outstanding,
            retried: self.retried,
            resets: self.resets,
            restarts: self.restarts,
            window_paths: self.window_paths.unwrap_or_else(|| self.per_path.clone()),
            paths: self.per_path,
            latency_us: self.latency,
            timeline: self.timeline,
            resume: self.resume,
            violation: self.violation,
        }
    }

    /// Record the first broken invariant; the run stops after this step.
    pub(crate) fn violate(&mut self, invariant: Invariant, detail: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation {
                invariant,
                step: self.step,
                at: self.now,
                detail,
            });
        }
    }

    /// What an event concerns, for the verbose trace.
    fn describe(&self, e: Event) -> String {
        match e {
            Event::Arrive(id)
            | Event::Served(id, _)
            | Event::Deliver(id, _)
            | Event::Timeout(id) => self.flights.get(&id).map_or_else(String::new, |f| {
                format!(
                    "path {} cmd {:02x?} {:?}",
                    f.path,
                    &f.cmd[..f.cmd.len().min(3)],
                    f.purpose
                )
            }),
            Event::Fault(i) => format!("{:?}", self.scenario.faults.get(i)),
            _ => String::new(),
        }
    }

    /// A uniformly random number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.rng.next_u64() % n
        }
    }

    /// The device's tier for path index `i`.
    pub(crate) fn tier_of(&self, i: usize) -> Option<Tier> {
        self.path_ids.get(i).and_then(|&p| self.dev.tier(p).ok())
    }

    /// The path index of a device path id.
    pub(crate) fn index_of(&self, p: PathId) -> Option<usize> {
        self.path_ids.iter().position(|&q| q == p)
    }
}

/// Target port (and relative target port identifier) of path `i`.
pub(crate) fn port_of(i: usize) -> u16 {
    u16::try_from(i + 1).unwrap_or(u16::MAX)
}

/// The transport's failure of a command on a dead link.
pub(crate) const LINK_LOST: TransportStatus = TransportStatus::Disrupted;
