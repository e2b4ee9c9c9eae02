//! The DST sweep: a seed picks a whole run (topology, link and port
//! parameters, selector, no-path policy, workload, reservation, and a
//! fault schedule) and the engine runs it with the same seed. Two modes:
//!
//! - **safety**: faults come and may stay; every invariant must hold.
//! - **liveness**: every fault heals by 60 % of the workload, path 0 (and
//!   its group) stays up throughout, no-path I/O is queued, and on top of
//!   the safety invariants every I/O must complete upward by the end of the
//!   drain.
//!
//! About half the seeds run NVMe ([`Transport::Nvme`]): the scenario is
//! drawn exactly as for SCSI (so a SCSI seed stays the scenario it always
//! was), then further draws make it NVMe: ANATT of 1 or 2 s, the ALUA
//! faults become ANA faults (standby and unavailable become inaccessible
//! and persistent loss, transitioning ANA change), controller resets, and
//! in safety mode ANA changes that outlast ANATT (the device reports the
//! timeout; the engine resets the controller).
//!
//! A failure is reported with the command that replays it.

use std::fmt;

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy, Policy};
use mpath_scsi::AluaState;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::report::Report;
use super::scenario::{ana_state, Fault, GroupCfg, PathCfg, Scenario, Transport, Workload};
use super::sim::{SetupError, Sim, HOSTS};
use mpath_nvme::ana::AnaState;

/// Which sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Faults may stay; invariants must hold.
    Safety,
    /// Faults heal; everything must also complete.
    Liveness,
}

impl Mode {
    /// Its name on a command line.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Safety => "safety",
            Mode::Liveness => "liveness",
        }
    }

    /// From its name.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "safety" => Some(Mode::Safety),
            "liveness" => Some(Mode::Liveness),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A seed whose run broke an invariant (or whose scenario did not set up,
/// a generator bug).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The mode.
    pub mode: Mode,
    /// What broke.
    pub detail: String,
}

impl Failure {
    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        replay_command(self.seed, self.mode)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} ({}): {}\n  replay: {}",
            self.seed,
            self.mode,
            self.detail,
            self.replay_command()
        )
    }
}

/// The command that runs seed `seed` of `mode` again.
pub fn replay_command(seed: u64, mode: Mode) -> String {
    format!("cargo run --release -p mpath-sim --example sweep -- --mode {mode} --replay {seed}")
}

/// What a sweep found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Seeds run.
    pub runs: u64,
    /// I/Os completed over all runs, every host's.
    pub completed: u64,
    /// Engine steps over all runs.
    pub steps: u64,
    /// Seeds that broke an invariant.
    pub failures: Vec<Failure>,
}

/// Run seeds `from..from + count` of `mode`.
pub fn sweep(from: u64, count: u64, mode: Mode) -> Sweep {
    let mut s = Sweep::default();
    for seed in from..from.saturating_add(count) {
        s.runs += 1;
        match run_seed(seed, mode) {
            Ok(r) => {
                s.completed += r.hosts.iter().map(|h| h.completed).sum::<u64>();
                s.steps += r.steps;
                if let Some(v) = r.violation {
                    s.failures.push(Failure {
                        seed,
                        mode,
                        detail: v.to_string(),
                    });
                }
            }
            Err(e) => s.failures.push(Failure {
                seed,
                mode,
                detail: format!("the generated scenario did not set up: {e}"),
            }),
        }
    }
    s
}

/// One seed's run.
pub fn run_seed(seed: u64, mode: Mode) -> Result<Report, SetupError> {
    Sim::new(random_scenario(seed, mode), seed).map(Sim::run)
}

/// One seed's run on the transport given, whatever the seed draws: a SCSI
/// seed's scenario on NVMe, or an NVMe seed's on SCSI (the scenario as
/// the seed drew it before NVMe joined the sweep). Replays seeds found
/// before then on SCSI.
pub fn run_seed_on(seed: u64, mode: Mode, transport: Transport) -> Result<Report, SetupError> {
    Sim::new(random_scenario_on(seed, mode, Some(transport)), seed).map(Sim::run)
}

/// Draws for the scenario generator: from a seeded generator (the sweep)
/// or from a fuzzer's bytes.
struct Gen<S: FnMut() -> u64>(S);

impl<S: FnMut() -> u64> Gen<S> {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            (self.0)() % n
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn us(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_micros(self.range(lo, hi))
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        // `below(len)` is less than `len`: the index is in range.
        xs[self.below(xs.len() as u64) as usize]
    }
}

const TYPES: [PrType; 6] = PrType::ALL;

/// The scenario seed `seed` stands for in `mode`.
pub fn random_scenario(seed: u64, mode: Mode) -> Scenario {
    random_scenario_on(seed, mode, None)
}

/// [`random_scenario`] on `transport` if given, else on the transport the
/// seed draws.
pub fn random_scenario_on(seed: u64, mode: Mode, transport: Option<Transport>) -> Scenario {
    // A generator of its own, so the scenario does not depend on what the
    // run draws.
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x5ce7_a410_0000_0000);
    generate(
        Gen(move || rng.next_u64()),
        format!("sweep-{mode}-{seed}"),
        mode,
        transport,
    )
}

/// A scenario drawn from a fuzzer's bytes (eight per draw, zeros once
/// they run out), so coverage guidance can steer topologies and fault
/// schedules the seeds miss. Any bytes give a valid scenario.
pub fn scenario_from_bytes(data: &[u8], mode: Mode) -> Scenario {
    let mut at = 0usize;
    let draw = move || {
        let mut w = [0u8; 8];
        for (i, b) in w.iter_mut().enumerate() {
            *b = data.get(at + i).copied().unwrap_or(0);
        }
        at = at.saturating_add(8);
        u64::from_le_bytes(w)
    };
    generate(Gen(draw), format!("fuzz-{mode}"), mode, None)
}

fn generate<S: FnMut() -> u64>(
    mut g: Gen<S>,
    name: String,
    mode: Mode,
    force: Option<Transport>,
) -> Scenario {
    let ngroups = g.range(1, 2) as u16;
    let group_states = [
        AluaState::ActiveOptimized,
        AluaState::ActiveOptimized,
        AluaState::ActiveNonOptimized,
        AluaState::Standby,
    ];
    let mut groups: Vec<GroupCfg> = (1..=ngroups)
        .map(|id| GroupCfg {
            id,
            state: g.pick(&group_states),
        })
        .collect();
    // At least one group carries I/O at the start.
    groups[0].state = AluaState::ActiveOptimized;
    let npaths = g.range(1, 8) as usize;
    let mut paths: Vec<PathCfg> = (0..npaths)
        .map(|_| PathCfg {
            group: g.range(1, u64::from(ngroups)) as u16,
            latency: g.us(10, 2_000),
            jitter: g.us(0, 200),
            bandwidth: g.pick(&[100_000_000, 1_250_000_000, 3_000_000_000]),
            queue_depth: g.range(2, 64) as u32,
            service: g.us(5, 300),
            media_rate: g.pick(&[200_000_000, 2_000_000_000]),
            relative_throughput: 1,
        })
        .collect();
    // Path 0 reaches the group that carries I/O.
    paths[0].group = 1;
    let policy = g.pick(&Policy::ALL);
    let no_path = match mode {
        // Liveness needs held I/O to survive until a path returns.
        Mode::Liveness => NoPathPolicy::Queue,
        Mode::Safety => g.pick(&[
            NoPathPolicy::Fail,
            NoPathPolicy::Queue,
            NoPathPolicy::QueueFor(Duration::from_millis(50)),
            NoPathPolicy::QueueFor(Duration::from_secs(2)),
        ]),
    };
    let quiesce = Duration::from_millis(g.range(5, 100));
    let duration = Duration::from_millis(g.range(50, 300));
    let mut workload = Workload {
        queue_depth: g.range(1, 16) as u32,
        read_percent: g.range(0, 100) as u8,
        blocks: g.range(1, 16) as u32,
        slots: g.range(8, 512),
        cpus: 1,
    };
    let reservation = g.chance(30).then(|| g.pick(&TYPES));
    let mut faults = Vec::new();
    let heal_by = duration.as_nanos() * 6 / 10;
    let nfaults = g.range(0, 6);
    let mut preempted = false;
    for _ in 0..nfaults {
        let path = g.below(npaths as u64) as usize;
        let at = g.below(heal_by.max(1));
        let heal = Duration::from_nanos(at + g.below(heal_by.saturating_sub(at).max(1)));
        let at = Duration::from_nanos(at);
        let (fault, undo) = match g.below(6) {
            0 => (Fault::LinkDown { path }, Some(Fault::LinkUp { path })),
            1 => (
                // The fabric's promise that write quiesce relies on:
                // stranded writes land within the quiesce time.
                Fault::LinkDownLateWrites {
                    path,
                    after: Duration::from_nanos(g.below(quiesce.as_nanos() / 2)),
                },
                Some(Fault::LinkUp { path }),
            ),
            2 => (
                Fault::Zombie {
                    path,
                    hang: g.chance(50),
                },
                Some(Fault::Heal { path }),
            ),
            3 => (
                Fault::Slow {
                    path,
                    extra: g.us(100, 5_000),
                },
                Some(Fault::Heal { path }),
            ),
            4 => {
                let group = g.range(1, u64::from(ngroups)) as u16;
                let state = g.pick(&[
                    AluaState::Standby,
                    AluaState::Unavailable,
                    AluaState::Transitioning,
                    AluaState::ActiveNonOptimized,
                ]);
                let back = groups
                    .iter()
                    .find(|x| x.id == group)
                    .map_or(AluaState::ActiveOptimized, |x| x.state);
                if mode == Mode::Liveness && group == 1 {
                    continue;
                }
                (
                    Fault::Alua { group, state },
                    Some(Fault::Alua { group, state: back }),
                )
            }
            _ => {
                if reservation.is_none() || preempted {
                    continue;
                }
                preempted = true;
                let rtype = g.pick(&TYPES);
                (Fault::Preempt { rtype }, None)
            }
        };
        // Liveness keeps path 0 healthy throughout.
        if mode == Mode::Liveness && npaths > 1 && fault_path(&fault) == Some(0) {
            continue;
        }
        faults.push((at, fault));
        if let Some(u) = undo {
            if mode == Mode::Liveness || g.chance(60) {
                faults.push((heal, u));
            }
        }
    }
    faults.sort_by_key(|(t, _)| t.as_nanos());
    let detect = Duration::from_millis(g.range(1, 20));
    let command_timeout = Duration::from_millis(g.range(100, 2_000));
    // Every draw above is the SCSI scenario's; NVMe's come after, so a
    // seed's SCSI scenario is what it was before NVMe ran in the sweep.
    let mut transport = Transport::Scsi;
    let mut anatt = 10;
    let drawn = g.chance(50);
    if force.map_or(drawn, |t| t == Transport::Nvme) {
        transport = Transport::Nvme;
        anatt = g.range(1, 2) as u8;
        for (_, f) in &mut faults {
            if let Fault::Alua { group, state } = *f {
                *f = Fault::Ana {
                    group,
                    state: sweep_ana(state),
                };
            }
        }
        for _ in 0..g.range(0, 2) {
            let path = g.below(npaths as u64) as usize;
            let at = Duration::from_nanos(g.below(heal_by.max(1)));
            if mode == Mode::Liveness && npaths > 1 && path == 0 {
                continue;
            }
            faults.push((at, Fault::Reset { path }));
        }
        if mode == Mode::Safety && g.chance(30) {
            // A transition that outlasts ANATT.
            let group = g.range(1, u64::from(ngroups)) as u16;
            let at = Duration::from_nanos(g.below(heal_by.max(1)));
            let back = groups
                .iter()
                .find(|x| x.id == group)
                .map_or(AnaState::Optimized, |x| ana_state(x.state));
            let end = at.as_nanos() + u64::from(anatt) * 1_000_000_000 + g.below(1_000_000_000);
            faults.push((
                at,
                Fault::Ana {
                    group,
                    state: AnaState::Change,
                },
            ));
            if g.chance(60) {
                faults.push((Duration::from_nanos(end), Fault::Ana { group, state: back }));
            }
        }
        faults.sort_by_key(|(t, _)| t.as_nanos());
    }
    // Drawn after everything else, so a seed's earlier draws (and the
    // scenarios older regression seeds name) stay what they were.
    let aptpl = g.chance(50);
    if g.chance(15) {
        // A port moves to another group (and, often, back).
        let path = g.below(npaths as u64) as usize;
        let group = g.range(1, u64::from(ngroups)) as u16;
        let at = g.below(heal_by.max(1));
        let back = paths[path].group;
        if !(mode == Mode::Liveness && path == 0) {
            faults.push((Duration::from_nanos(at), Fault::PortMove { path, group }));
            if mode == Mode::Liveness || g.chance(60) {
                let later = at + g.below(heal_by.saturating_sub(at).max(1));
                faults.push((
                    Duration::from_nanos(later),
                    Fault::PortMove { path, group: back },
                ));
            }
            faults.sort_by_key(|(t, _)| t.as_nanos());
        }
    }
    // Hosts sharing the target: contention at the ports, and under a
    // reservation the others registered beside host 0.
    let hosts = if g.chance(30) {
        g.range(2, HOSTS as u64) as u8
    } else {
        1
    };
    if g.chance(15) {
        let at = Duration::from_nanos(g.below(heal_by.max(1)));
        let down = g.us(500, 50_000);
        faults.push((at, Fault::TargetRestart { down }));
        faults.sort_by_key(|(t, _)| t.as_nanos());
    }
    if g.chance(20) {
        // Service-time weights, standbys (0) among them.
        for p in &mut paths {
            p.relative_throughput = g.range(0, 100) as u8;
        }
    }
    if g.chance(25) {
        // Several CPUs on the fast path, each with its own cursor, so the
        // counting selectors run on published load. Drawn last, so older
        // seeds keep their scenarios.
        workload.cpus = g.range(2, 4) as u32;
    }
    Scenario {
        name,
        transport,
        hosts,
        anatt,
        groups,
        paths,
        block_size: 512,
        policy,
        no_path,
        quiesce,
        detect,
        command_timeout,
        workload,
        reservation,
        aptpl,
        faults,
        duration,
        drain: Duration::from_secs(30),
        expect_all_complete: mode == Mode::Liveness,
        dm_table: None,
    }
}

/// The ANA state the NVMe sweep puts in place of a drawn ALUA state:
/// [`ana_state`], except that unavailable becomes persistent loss, so the
/// sweep reaches every ANA state.
fn sweep_ana(s: AluaState) -> AnaState {
    match s {
        AluaState::Unavailable => AnaState::PersistentLoss,
        other => ana_state(other),
    }
}

/// The path a fault hits, if it hits one.
fn fault_path(f: &Fault) -> Option<usize> {
    match *f {
        Fault::LinkDown { path }
        | Fault::LinkUp { path }
        | Fault::LinkDownLateWrites { path, .. }
        | Fault::Zombie { path, .. }
        | Fault::Heal { path }
        | Fault::Slow { path, .. }
        | Fault::Reset { path }
        | Fault::PortMove { path, .. } => Some(path),
        Fault::Alua { .. }
        | Fault::Ana { .. }
        | Fault::Preempt { .. }
        | Fault::TargetRestart { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_a_function_of_the_seed() {
        for seed in 0..50 {
            assert_eq!(
                random_scenario(seed, Mode::Safety),
                random_scenario(seed, Mode::Safety)
            );
        }
        assert_ne!(
            random_scenario(1, Mode::Safety),
            random_scenario(2, Mode::Safety)
        );
    }

    #[test]
    fn liveness_scenarios_heal_and_keep_path_0() {
        for seed in 0..300 {
            let s = random_scenario(seed, Mode::Liveness);
            assert!(s.expect_all_complete);
            assert_eq!(s.no_path, NoPathPolicy::Queue);
            assert!(s.faults.iter().all(|(_, f)| !matches!(
                f,
                Fault::Alua { group: 1, .. } | Fault::Ana { group: 1, .. }
            )));
            if s.paths.len() > 1 {
                assert!(
                    s.faults.iter().all(|(_, f)| fault_path(f) != Some(0)),
                    "{seed}"
                );
            }
            let end = s.duration.as_nanos() * 6 / 10;
            assert!(s.faults.iter().all(|(t, _)| t.as_nanos() <= end), "{seed}");
            let downs = s
                .faults
                .iter()
                .filter(|(_, f)| {
                    matches!(f, Fault::LinkDown { .. } | Fault::LinkDownLateWrites { .. })
                })
                .count();
            let ups = s
                .faults
                .iter()
                .filter(|(_, f)| matches!(f, Fault::LinkUp { .. }))
                .count();
            assert_eq!(downs, ups, "{seed}");
        }
    }

    #[test]
    fn any_bytes_give_a_scenario_that_sets_up() {
        for data in [&[][..], &[0xff; 3][..], &[0x5a; 200][..]] {
            for mode in [Mode::Safety, Mode::Liveness] {
                let s = scenario_from_bytes(data, mode);
                assert!(!s.paths.is_empty() && s.paths.len() <= 8);
                assert!(Sim::new(s, 1).is_ok());
            }
        }
    }

    #[test]
    fn replay_command_names_the_seed_and_mode() {
        let c = replay_command(77, Mode::Liveness);
        assert!(
            c.contains("--replay 77") && c.contains("--mode liveness"),
            "{c}"
        );
        assert_eq!(Mode::parse("safety"), Some(Mode::Safety));
        assert_eq!(Mode::parse("nope"), None);
    }
}
