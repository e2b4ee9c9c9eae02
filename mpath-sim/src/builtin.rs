//! Built-in scenarios, by name: the fabrics the command line runs without
//! a file (`mpath-sim run delayed-path`), each plain data a user can dump
//! as TOML (`mpath-sim show NAME`) and edit.
//!
//! Each runs at least a second of virtual time, the shortest run whose
//! IOPS and latency percentiles a storage engineer would quote; faults sit
//! well inside it so the time to resume shows. Where a number is not the
//! engine's default ([`PathCfg::fast`]: a 100 µs, 10 Gb/s link to a port
//! serving a command in 20 µs plus 2 GB/s) the comment beside it says
//! where it comes from.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy};
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;

use crate::engine::{Fault, GroupCfg, PathCfg, Scenario};

/// A built-in: its name, one line on what it shows, and the scenario.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// The name the command line takes.
    pub name: &'static str,
    /// What it is for.
    pub about: &'static str,
    /// Builds it.
    pub build: fn() -> Scenario,
}

/// Every built-in, in the order `mpath-sim list` shows them.
pub const BUILTINS: [Builtin; 12] = [
    Builtin {
        name: "two-paths",
        about: "two healthy SCSI paths in one active/optimized group",
        build: Scenario::two_paths,
    },
    Builtin {
        name: "two-nvme-paths",
        about: "two healthy NVMe controllers, ANA optimized",
        build: Scenario::two_nvme_paths,
    },
    Builtin {
        name: "delayed-path",
        about: "two NVMe/TCP paths, one with 30 ms more round trip; 4 KiB random reads at QD 32",
        build: delayed_path,
    },
    Builtin {
        name: "bandwidth-4to1",
        about: "two paths, 32GFC and 8GFC (4:1 bandwidth); 128 KiB reads",
        build: bandwidth_4to1,
    },
    Builtin {
        name: "zombie-path",
        about: "a path whose TEST UNIT READY passes while its I/O fails, then heals",
        build: zombie_path,
    },
    Builtin {
        name: "flapping-path",
        about: "a path whose link drops and returns every 100 ms (a marginal SFP)",
        build: flapping_path,
    },
    Builtin {
        name: "alua-transition",
        about: "a dual-controller array fails its optimized group over to the other",
        build: alua_transition,
    },
    Builtin {
        name: "ana-change",
        about: "an NVMe ANA group stuck in change past ANATT: the host resets the controllers",
        build: ana_change,
    },
    Builtin {
        name: "all-paths-down",
        about: "both links down for 500 ms; I/O queued, then resumed",
        build: all_paths_down,
    },
    Builtin {
        name: "holder-path-dies",
        about: "the path holding a Write Exclusive reservation dies; the reservation moves",
        build: holder_path_dies,
    },
    Builtin {
        name: "preempted",
        about: "another cluster node preempts our key (fencing): our writes must stop",
        build: preempted,
    },
    Builtin {
        name: "late-write",
        about: "a link dies with writes still on the wire that land 40 ms later",
        build: late_write,
    },
];

/// A built-in scenario by name.
pub fn by_name(name: &str) -> Option<Scenario> {
    BUILTINS
        .iter()
        .find(|b| b.name == name)
        .map(|b| (b.build)())
}

/// The built-ins' names.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A dual-controller array: group 1 active/optimized, group 2
/// active/non-optimized.
fn dual_controller_groups() -> Vec<GroupCfg> {
    vec![
        GroupCfg {
            id: 1,
            state: AluaState::ActiveOptimized,
        },
        GroupCfg {
            id: 2,
            state: AluaState::ActiveNonOptimized,
        },
    ]
}

fn named(name: &str, base: Scenario) -> Scenario {
    Scenario {
        name: name.to_owned(),
        ..base
    }
}

/// Nilay Shroff's setup for the NVMe `adaptive` iopolicy (linux-nvme,
/// "nvme-multipath: introduce adaptive I/O policy", RFC v2 to v5,
/// 2025): two NVMe/TCP paths to one subsystem, one throttled with ~30 ms
/// of delay; fio random reads, direct I/O. Published: adaptive 350 MiB/s,
/// queue-depth 230, round-robin 105, numa 50.
///
/// The fabric here is a healthy NVMe/TCP path as such a test bed has it:
/// 25 GbE (3.125 GB/s), 80 µs one way plus up to 10 µs of jitter (a
/// round trip of about 175 µs with the target's work, what NVMe/TCP 4 KiB
/// reads take on a quiet network), and a target whose per-command cost
/// is 2 µs plus 4 KiB at 8 GB/s: the media's own read latency overlaps
/// across commands (many queues, many dies), so it is folded into the
/// link latency, and one command at a time at the port costs only the
/// target's CPU. The fast path can carry about 400,000 IOPS, far more
/// than the 32 outstanding I/Os need over a 175 µs round trip (about
/// 183,000): it is latency-bound at this queue depth, as the real one is
/// (`engine::ideal` names the bound: `PathIdeal::outstanding` below
/// `capacity * round_trip`), so where a selector parks outstanding I/O
/// decides the throughput. The slow path has 15 ms added each way: the
/// 30 ms of netem delay, which throttles one direction of a TCP
/// connection, is 30 ms on the round trip. The slow path is path 0: the
/// published `numa` run (50 MiB/s, half of round-robin's) used the slow
/// path alone, and the core's locality selector, with every path on one
/// node, keeps to the first. 4 KiB reads at queue depth 32 (the published
/// runs give neither; the ratios between selectors, not the MiB/s, are
/// what carries over).
pub fn delayed_path() -> Scenario {
    let mut s = named("delayed-path", Scenario::two_nvme_paths());
    // NVMe namespaces are formatted with 4 KiB LBAs nowadays.
    s.block_size = 4096;
    s.workload.blocks = 1;
    s.workload.queue_depth = 32;
    s.workload.read_percent = 100;
    // 4 GiB of LBA range: random enough that no cache effect would apply.
    s.workload.slots = 1 << 20;
    for p in &mut s.paths {
        p.latency = Duration::from_micros(80);
        p.bandwidth = 3_125_000_000;
        p.service = Duration::from_micros(2);
        p.media_rate = 8_000_000_000;
    }
    s.paths[0].latency = Duration::from_micros(80).saturating_add(ms(15));
    // Service-time's weights, as an operator sets them from each path's
    // throughput measured alone at this depth: the slow path gives about
    // 1,060 IOPS (32 I/O per 30 ms round trip, the numa row), the fast one
    // about 180,000; 170:1 is past dm's range, so 1 and 100.
    s.paths[0].relative_throughput = 1;
    s.paths[1].relative_throughput = 100;
    s.drain = ms(500);
    s
}

/// Two paths of a mixed-generation Fibre Channel fabric: 32GFC (3200 MB/s
/// of payload) and 8GFC (800 MB/s), 4:1. 128 KiB sequential-size reads at
/// queue depth 32 so the links, not the ports, are the limit: the ports'
/// media rate is set to an all-flash array's 8 GB/s.
pub fn bandwidth_4to1() -> Scenario {
    let mut s = named("bandwidth-4to1", Scenario::two_paths());
    s.workload.blocks = 256; // 128 KiB of 512-byte blocks
    s.workload.queue_depth = 32;
    s.workload.read_percent = 100;
    s.workload.slots = 8192; // 1 GiB
    s.paths[0].bandwidth = 3_200_000_000;
    s.paths[1].bandwidth = 800_000_000;
    // Service-time's weights follow the links (the published setup's
    // `echo 4 > relative_throughput`).
    s.paths[0].relative_throughput = 4;
    s.paths[1].relative_throughput = 1;
    for p in &mut s.paths {
        p.media_rate = 8_000_000_000;
    }
    s.drain = ms(500);
    s
}

/// A zombie path: the target port answers TEST UNIT READY but fails every
/// other command (a controller whose back end is wedged while its front
/// end is alive; the case multipath-tools' `marginal_path_*` and path
/// checkers exist for). It fails I/O from 300 ms and heals at 800 ms.
pub fn zombie_path() -> Scenario {
    let mut s = named("zombie-path", Scenario::two_paths());
    s.faults = vec![
        (
            ms(300),
            Fault::Zombie {
                path: 1,
                hang: false,
            },
        ),
        (ms(800), Fault::Heal { path: 1 }),
    ];
    s.drain = ms(500);
    s
}

/// A flapping link: a marginal SFP or cable drops the link for 50 ms every
/// 100 ms, five times, from 200 ms (FC and Ethernet both show this as a
/// train of link-down/link-up events, each a failover and a failback).
pub fn flapping_path() -> Scenario {
    let mut s = named("flapping-path", Scenario::two_paths());
    s.faults = (0..5u64)
        .flat_map(|k| {
            let t = 200 + 100 * k;
            [
                (ms(t), Fault::LinkDown { path: 0 }),
                (ms(t + 50), Fault::LinkUp { path: 0 }),
            ]
        })
        .collect();
    s.drain = ms(500);
    s
}

/// A dual-controller array, two paths to each controller: group 1
/// active/optimized, group 2 active/non-optimized. At 300 ms the array
/// fails controller A's group over (a firmware upgrade's planned
/// failover): group 1 goes transitioning for 200 ms (arrays take 0.1 to a
/// few seconds; SPC-4's IMPLICIT TRANSITION TIME bounds it), then standby,
/// as group 2 becomes active/optimized.
pub fn alua_transition() -> Scenario {
    let mut s = named("alua-transition", Scenario::two_paths());
    s.groups = dual_controller_groups();
    s.paths = vec![
        PathCfg::fast(1),
        PathCfg::fast(1),
        PathCfg::fast(2),
        PathCfg::fast(2),
    ];
    s.faults = vec![
        (
            ms(300),
            Fault::Alua {
                group: 1,
                state: AluaState::Transitioning,
            },
        ),
        (
            ms(500),
            Fault::Alua {
                group: 2,
                state: AluaState::ActiveOptimized,
            },
        ),
        (
            ms(500),
            Fault::Alua {
                group: 1,
                state: AluaState::Standby,
            },
        ),
    ];
    s.drain = ms(500);
    s
}

/// Two NVMe controllers in two ANA groups. Group 1 (optimized) enters ANA
/// change at 200 ms and stays there past ANATT (1 s here; arrays report 1
/// to 30 s in Identify Controller): the host gives up on it and resets its
/// controller, as Linux `nvme_anatt_timeout()` does. Group 1 is optimized
/// again at 1.5 s. Meanwhile I/O goes to group 2 (non-optimized).
pub fn ana_change() -> Scenario {
    let mut s = named("ana-change", Scenario::two_nvme_paths());
    s.anatt = 1;
    s.groups = dual_controller_groups();
    s.paths = vec![PathCfg::fast(1), PathCfg::fast(2)];
    s.faults = vec![
        (
            ms(200),
            Fault::Ana {
                group: 1,
                state: AnaState::Change,
            },
        ),
        (
            ms(1500),
            Fault::Ana {
                group: 1,
                state: AnaState::Optimized,
            },
        ),
    ];
    s.duration = ms(2000);
    s.drain = ms(500);
    s
}

/// Both links down at 200 ms (a switch reboot), back at 700 ms. The
/// device queues I/O without a path for up to 5 s (`no_path_retry` of a
/// few checker intervals), so nothing fails upward and I/O resumes once
/// a link is back.
pub fn all_paths_down() -> Scenario {
    let mut s = named("all-paths-down", Scenario::two_paths());
    s.no_path = NoPathPolicy::QueueFor(Duration::from_secs(5));
    s.faults = vec![
        (ms(200), Fault::LinkDown { path: 0 }),
        (ms(200), Fault::LinkDown { path: 1 }),
        (ms(700), Fault::LinkUp { path: 0 }),
        (ms(700), Fault::LinkUp { path: 1 }),
    ];
    s.drain = ms(500);
    s
}

/// A cluster node holds a Write Exclusive reservation (one holder: the
/// I_T nexus it was taken through, path 0) and that path's link dies at
/// 300 ms. Writes through the other path need the reservation moved (the
/// core re-reserves through a live nexus, as `mpathpersist` would be asked
/// to). Write-heavy, so the move is on the critical path.
pub fn holder_path_dies() -> Scenario {
    let mut s = named("holder-path-dies", Scenario::two_paths());
    s.reservation = Some(PrType::WriteExclusive);
    s.workload.read_percent = 30;
    s.faults = vec![(ms(300), Fault::LinkDown { path: 0 })];
    s.drain = ms(500);
    s
}

/// Fencing: we hold Write Exclusive - Registrants Only (the type
/// `fence_scsi` and `fence_mpath` use); at 300 ms another node preempts
/// our key and takes Write Exclusive. From then our writes must fail
/// upward with a reservation conflict and none may land.
pub fn preempted() -> Scenario {
    let mut s = named("preempted", Scenario::two_paths());
    s.reservation = Some(PrType::WriteExclusiveRegistrantsOnly);
    s.workload.read_percent = 50;
    s.faults = vec![(
        ms(300),
        Fault::Preempt {
            rtype: PrType::WriteExclusive,
        },
    )];
    s.drain = ms(500);
    s
}

/// Write quiesce at work: path 0's link dies at 200 ms with writes still
/// on the wire, which land at the target 40 ms later (a frame stuck in a
/// switch buffer, an iSCSI PDU the target has not finished receiving).
/// The device waits its 100 ms quiesce before sending those writes again
/// elsewhere, so the late copies cannot overwrite newer data. All writes.
pub fn late_write() -> Scenario {
    let mut s = named("late-write", Scenario::two_paths());
    s.workload.read_percent = 0;
    s.workload.slots = 256; // a hot region, so a stale overwrite would be seen
    s.faults = vec![
        (
            ms(200),
            Fault::LinkDownLateWrites {
                path: 0,
                after: ms(40),
            },
        ),
        (ms(600), Fault::LinkUp { path: 0 }),
    ];
    s.drain = ms(500);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Sim;

    #[test]
    fn names_are_unique_and_match_the_scenario() {
        let mut seen = std::collections::BTreeSet::new();
        for b in BUILTINS {
            assert!(seen.insert(b.name), "{} twice", b.name);
            let s = (b.build)();
            assert_eq!(s.name, b.name);
            assert!(s.duration >= ms(1000), "{}: under a second", b.name);
            // The summary pairs the engine's resume times with faults by
            // order, which holds when faults are in time order.
            assert!(
                s.faults.windows(2).all(|w| w[0].0 <= w[1].0),
                "{}: faults out of order",
                b.name
            );
        }
        assert!(by_name("no-such").is_none());
    }

    /// Each built-in runs whole, on two seeds, with every invariant held
    /// and I/O completing. (Each one's headline, and what each selector
    /// achieves against the fabric's ideal, is in `tests/builtin.rs`.)
    fn runs_clean(name: &str) {
        for seed in [1, 2] {
            let s = by_name(name).unwrap();
            let r = Sim::new(s, seed).unwrap().run();
            assert_eq!(r.violation, None, "{name} seed {seed}");
            assert!(r.completed > 0, "{name} seed {seed}: nothing completed");
        }
    }

    macro_rules! each_runs_clean {
        ($($test:ident: $name:literal,)*) => {
            $(#[test]
            fn $test() {
                runs_clean($name);
            })*

            #[test]
            fn every_builtin_has_a_run_test() {
                let tested = [$($name),*];
                for b in BUILTINS {
                    assert!(tested.contains(&b.name), "{} has no run test", b.name);
                }
            }
        };
    }

    each_runs_clean! {
        two_paths_runs_clean: "two-paths",
        two_nvme_paths_runs_clean: "two-nvme-paths",
        delayed_path_runs_clean: "delayed-path",
        bandwidth_4to1_runs_clean: "bandwidth-4to1",
        zombie_path_runs_clean: "zombie-path",
        flapping_path_runs_clean: "flapping-path",
        alua_transition_runs_clean: "alua-transition",
        ana_change_runs_clean: "ana-change",
        all_paths_down_runs_clean: "all-paths-down",
        holder_path_dies_runs_clean: "holder-path-dies",
        preempted_runs_clean: "preempted",
        late_write_runs_clean: "late-write",
    }
}
