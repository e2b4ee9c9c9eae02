//! The run: one host (a `Device` with the real SCSI adapter) and one
//! simulated logical unit, joined by links, driven by an event queue in
//! virtual time. Everything random comes from one seeded generator, in the
//! order events happen, so a run is a function of (scenario, seed, code).

use mpath_core::reservation::PrOp;
use mpath_core::{DataPlane, Device, Duration, Instant, PathId, Tier};
use mpath_scsi::TransportStatus;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::check::{Invariant, Violation};
use super::host::Host;
use super::id_map::IdMap;
use super::queue::EventQueue;
use super::report::{HostReport, Report};
use super::scenario::{Fault, Scenario, Transport};
use super::stack::Stack;
use super::trace::Trace;
use super::wire::{InFlight, Link, Port};

/// Paths a simulated device has room for.
pub const PATHS: usize = 8;

/// Hosts a run can have.
pub const HOSTS: usize = 3;

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
    /// Host `h`'s device asked to be called at this time.
    HostTimer(usize),
    /// The transport tells a host one of its paths' link changed (the
    /// path's global index).
    HostLink(usize, bool),
    /// The host has connected a path (global index) again after
    /// resetting it.
    ResetDone(usize),
    /// The target answers again after a restart.
    TargetBack,
    /// A scenario fault.
    Fault(usize),
    /// Host `h`'s application submits its next I/O (and its device gets
    /// back an I/O it had no room for).
    Submit(usize),
    /// Host `h` has had no usable path since the given time (ns) for as
    /// long as its no-path policy allows: check nothing is still held.
    NoPathDue(usize, u64),
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
            Event::HostTimer(h) => (6, h as u64, 0),
            Event::HostLink(p, up) => (7, p as u64, u64::from(up)),
            Event::Fault(i) => (8, i as u64, 0),
            Event::Submit(h) => (11, h as u64, 0),
            Event::ResetDone(p) => (12, p as u64, 0),
            Event::TargetBack => (13, 0, 0),
            Event::StopWorkload => (9, 0, 0),
            Event::End => (10, 0, 0),
            Event::NoPathDue(h, t) => (14, h as u64, t),
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
    /// When an attempt of it last came back failed (a held write waits
    /// out its quiesce time from then).
    pub last_failed: Option<Instant>,
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
    // ----- hosts -----
    /// Every host; host 0 is the one under test. A path's global index
    /// `g` is host `g / P`'s path `g % P` (`P` paths a host).
    pub(crate) hosts: Vec<Host>,
    /// Paths a host has.
    pub(crate) npaths: usize,
    pub(crate) resets: u64,
    /// Target restarts.
    pub(crate) restarts: u64,
    /// When the target last restarted.
    pub(crate) restarted_at: Option<Instant>,
    /// The target is restarting: the paths (global indexes) to log in
    /// when it is back.
    pub(crate) target_down: Option<u64>,
    // ----- truth and results -----
    pub(crate) stale_seen: usize,
    pub(crate) fault_times: Vec<Instant>,
    pub(crate) resume: Vec<Option<Duration>>,
    pub(crate) violation: Option<Violation>,
    /// `MPATH_SIM_TRACE` set: print every event and action to stderr.
    pub(crate) verbose: bool,
    /// Host 0's dm table bound to its device, when the scenario has one:
    /// looked at after every event, so its fail counts count every
    /// failure as dm's do (the other hosts' are bound and dropped: only
    /// host 0's status is shown).
    pub(crate) dm: Option<mpath_dm::DmTarget<'static>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("scenario", &self.scenario.name)
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("step", &self.step)
            .field("in_flight", &self.flights.len())
            .field("hosts", &self.hosts.len())
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
        if scenario.hosts == 0 || usize::from(scenario.hosts) > HOSTS {
            return Err(SetupError::Scenario(format!(
                "{} hosts: 1 to {HOSTS} supported",
                scenario.hosts
            )));
        }
        let (stack, devices) = match scenario.transport {
            Transport::Scsi => {
                let (s, d) = super::scsi::setup(&scenario)?;
                (Stack::Scsi(Box::new(s)), d)
            }
            Transport::Nvme => {
                let (n, d) = super::nvme::setup(&scenario)?;
                (Stack::Nvme(Box::new(n)), d)
            }
        };
        let now = Instant::from_nanos(0);
        let npaths = scenario.paths.len();
        let links: Vec<Link> = (0..devices.len())
            .flat_map(|_| scenario.paths.iter().map(|&c| Link::new(c)))
            .collect();
        let ports = vec![
            Port {
                outstanding: 0,
                busy_until: now,
            };
            npaths
        ];
        let mut dm = None;
        let mut hosts = Vec::with_capacity(devices.len());
        for (h, (mut dev, path_ids)) in devices.into_iter().enumerate() {
            let bound = super::dm_table::bind(&scenario, &mut dev, &path_ids, now)?;
            if h == 0 {
                dm = bound;
            }
            hosts.push(Host::new(&scenario, h, dev, path_ids)?);
        }
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
            hosts,
            npaths,
            resets: 0,
            restarts: 0,
            restarted_at: None,
            target_down: None,
            stale_seen: 0,
            fault_times: Vec::new(),
            resume: Vec::new(),
            violation: None,
            verbose: std::env::var_os("MPATH_SIM_TRACE").is_some(),
            dm,
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
            if let Some(dm) = self.dm.as_mut() {
                dm.refresh(&self.hosts[0].dev);
            }
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
        &self.hosts[0].dev
    }

    /// dm's status lines for the host's device now, when the scenario
    /// has a dm table: INFO (`dmsetup status`) and TABLE (`dmsetup
    /// table`), each the target's part, after `<start> <length>
    /// multipath`.
    pub fn dm_status(&mut self) -> Option<(String, String)> {
        let dev = &self.hosts[0].dev;
        let dm = self.dm.as_mut()?;
        let info = dm.info_status(dev).to_string();
        Some((info, dm.table_status(dev).to_string()))
    }

    /// The device's id for path index `i`.
    pub fn path_id(&self, i: usize) -> Option<PathId> {
        self.hosts[0].path_ids.get(i).copied()
    }

    /// Whether path `i`'s link is up now.
    pub fn link_is_up(&self, i: usize) -> Option<bool> {
        self.links.get(i).map(|l| l.up)
    }

    fn start(&mut self) {
        let now = self.now;
        for g in 0..self.links.len() {
            self.arm_aer(g);
        }
        for h in 0..self.hosts.len() {
            self.drain_actions(h);
        }
        for h in 0..self.hosts.len() {
            if self.scenario.reservation.is_some() {
                let host = &mut self.hosts[h];
                host.pr_stage = 1;
                let key = host.key;
                if host.dev.reservation(PrOp::Register(key), now).is_err() {
                    host.pr_stage = 0;
                }
                self.drain_actions(h);
            } else {
                self.start_workload(h);
            }
        }
    }

    pub(crate) fn start_workload(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        if host.workload_on || self.now.as_nanos() >= self.scenario.duration.as_nanos() {
            return;
        }
        host.workload_on = true;
        for _ in 0..host.workload.queue_depth {
            self.submit_new(h);
        }
    }

    fn workload_idle_and_done(&self) -> bool {
        self.now.as_nanos() >= self.scenario.duration.as_nanos()
            && self
                .hosts
                .iter()
                .all(|h| !h.workload_on && h.ios.is_empty() && h.held_back.is_empty())
            && self.flights.len() == self.aer_flights
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Arrive(id) => self.arrive(id),
            Event::Served(id, path) => self.served(id, path),
            Event::Deliver(id, token) => self.deliver(id, token),
            Event::Timeout(id) => self.timeout(id),
            Event::LateLand(i) => self.late_land(i),
            Event::HostTimer(h) => {
                self.hosts[h].timer_at = None;
                let now = self.now;
                let _ = self.hosts[h].dev.handle_timeout(now);
                self.drain_actions(h);
            }
            Event::HostLink(g, up) => {
                let now = self.now;
                let (h, i) = (g / self.npaths, g % self.npaths);
                let ev = if up {
                    mpath_core::LinkEvent::Up
                } else {
                    mpath_core::LinkEvent::Down
                };
                let id = self.hosts[h].path_ids[i];
                let _ = self.hosts[h].dev.handle_link(id, ev, now);
                if up {
                    if let Stack::Nvme(n) = &mut self.stack {
                        // After a subsystem restart the host makes the new
                        // association itself, now.
                        if !n.connected(g) {
                            n.reconnect(g);
                            self.hosts[h].restart_seen = Some(now);
                        }
                        let _ = n.ads[h].reconnected(&mut self.hosts[h].dev, id, now);
                    }
                    self.arm_aer(g);
                }
                self.drain_actions(h);
            }
            Event::TargetBack => self.target_back(),
            Event::ResetDone(g) => {
                let (h, i) = (g / self.npaths, g % self.npaths);
                self.hosts[h].resetting[i] = false;
                if self.links[g].up {
                    self.handle(Event::HostLink(g, true));
                }
            }
            Event::Fault(i) => self.fault(i),
            Event::Submit(h) => {
                if let Some(io) = self.hosts[h].held_back.pop() {
                    self.submit_io(h, io);
                }
                self.submit_new(h);
            }
            Event::StopWorkload => {
                for host in &mut self.hosts {
                    host.stop_workload();
                }
            }
            Event::NoPathDue(h, since) => self.no_path_due(h, since),
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
                Some(mask) if path < PATHS => *mask |= 1u64 << path,
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
            Fault::PortMove { path, group } => {
                self.stack.move_port(path, group);
                self.nvme_events();
            }
            Fault::Reset { path } => {
                self.reset_path(path);
                self.drain_actions(0);
            }
            Fault::TargetRestart { down } => self.target_restart(down),
            Fault::Preempt { rtype } => self.other_host_preempts(rtype),
        }
    }

    /// End the run where it stands and report (after [`run_until`](Self::run_until)
    /// has returned `false`, the whole run's report).
    pub fn finish(mut self) -> Report {
        for h in 0..self.hosts.len() {
            let host = &self.hosts[h];
            let outstanding = host.ios.len() as u64;
            if self.scenario.expect_all_complete && outstanding > 0 {
                let first = host.ios.iter().next().map(|(t, r)| (*t, *r));
                self.violate(
                    Invariant::NoneLost,
                    format!(
                        "host {h}: {outstanding} I/O still outstanding at the end of the drain, first {first:?}"
                    ),
                );
            }
            let host = &self.hosts[h];
            if self.violation.is_none()
                && host.submitted != host.completed + host.failed + outstanding
            {
                let detail = format!(
                    "host {h}: submitted {} != completed {} + failed {} + outstanding {outstanding}",
                    host.submitted, host.completed, host.failed
                );
                self.violate(Invariant::CountersBalance, detail);
            }
        }
        let hosts: Vec<HostReport> = self.hosts.iter().map(Host::report).collect();
        // `new` refuses a scenario without a host.
        let h0 = self.hosts.swap_remove(0);
        let outstanding = h0.ios.len() as u64;
        Report {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            trace: self.trace.value(),
            steps: self.step,
            elapsed: Duration::from_nanos(self.now.as_nanos()),
            submitted: h0.submitted,
            completed: h0.completed,
            window: self.scenario.duration,
            window_completed: h0.in_window.map_or(h0.completed, |w| w.0),
            window_bytes: h0
                .in_window
                .map_or_else(|| h0.per_path.iter().map(|p| p.bytes).sum(), |w| w.1),
            failed: h0.failed,
            outstanding,
            retried: h0.retried,
            resets: self.resets,
            restarts: self.restarts,
            window_paths: h0.window_paths.unwrap_or_else(|| h0.per_path.clone()),
            paths: h0.per_path,
            latency_us: h0.latency,
            timeline: h0.timeline,
            resume: self.resume,
            hosts,
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

    /// The tier host `g / P`'s device gives path `g % P` (global index).
    pub(crate) fn tier_of(&self, g: usize) -> Option<Tier> {
        let host = self.hosts.get(g / self.npaths)?;
        let p = host.path_ids.get(g % self.npaths)?;
        host.dev.tier(*p).ok()
    }

    /// The global index of host `h`'s device path id.
    pub(crate) fn index_of(&self, h: usize, p: PathId) -> Option<usize> {
        let host = self.hosts.get(h)?;
        let i = host.path_ids.iter().position(|&q| q == p)?;
        Some(h * self.npaths + i)
    }
}

/// Target port (and relative target port identifier) of path `i` (a
/// host's path index: every host's path `i` reaches the same port).
pub(crate) fn port_of(i: usize) -> u16 {
    u16::try_from(i + 1).unwrap_or(u16::MAX)
}

/// The transport's failure of a command on a dead link.
pub(crate) const LINK_LOST: TransportStatus = TransportStatus::Disrupted;
