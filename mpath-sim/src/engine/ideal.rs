//! The fabric's ideal: the throughput an oracle would reach that knows
//! every path's true latency, bandwidth and service time and places each
//! of the workload's outstanding I/Os where it does the most good.
//!
//! A selector is judged as a fraction of this bound, so "90 %" means the
//! same on every fabric: not 90 % of the fastest path, not 90 % of the sum
//! of the links, but 90 % of what the paths can carry at this queue depth.
//!
//! The model is the engine's own (see [`wire`](super::wire)): a path `i`
//! with `n` I/Os outstanding completes at most `n / R_i` per second, `R_i`
//! being its unloaded round trip (latency and mean jitter both ways, the
//! command, data and answer serialised at the link's bandwidth, the port's
//! service time), and never more than its capacity `C_i`, the least of
//! what the link carries each way and what the port serves. Little's law
//! gives the first bound, the busiest resource the second. With the
//! workload's queue depth `Q` to share out, the throughput `Σ min(n_i /
//! R_i, C_i)` subject to `Σ n_i = Q` is a sum of concave pieces, so filling
//! the paths in order of their round trip, each up to the `C_i · R_i` I/Os
//! that saturate it, is optimal (water-filling).
//!
//! Only paths whose group starts in a state that carries I/O count
//! (active/optimized, active/non-optimized, LBA dependent; NVMe optimized
//! and non-optimized): an oracle may use a non-optimized path, a
//! selector that keeps to the optimized tier may not, and the difference
//! is what a user gives up. Faults are not in it: the ideal is the
//! healthy fabric's, the yardstick for a scenario's steady state.
//!
//! Floating point is fine here: this is the simulator's reporting, not
//! the core.

use mpath_scsi::AluaState;

use super::scenario::{PathCfg, Scenario, Transport};
use super::wire::HEADER;

/// The ideal for one path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathIdeal {
    /// The path carries I/O in its group's starting state.
    pub usable: bool,
    /// Unloaded round trip of one I/O of the workload's mix, in seconds.
    pub round_trip: f64,
    /// The most I/O per second the path carries (link either way, port).
    pub capacity: f64,
    /// What limits it: `"port"`, `"link to target"` or `"link to host"`.
    pub bottleneck: &'static str,
    /// I/Os the oracle keeps outstanding on it.
    pub outstanding: f64,
    /// I/O per second it completes then.
    pub iops: f64,
}

/// The fabric's ideal for a scenario's workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Ideal {
    /// I/O per second.
    pub iops: f64,
    /// Data bytes per second (reads and writes).
    pub bytes_per_sec: f64,
    /// Per path, in path order.
    pub paths: Vec<PathIdeal>,
}

impl Ideal {
    /// `iops` as a fraction of the ideal (0 when the ideal is 0).
    pub fn fraction(&self, iops: f64) -> f64 {
        if self.iops > 0.0 {
            iops / self.iops
        } else {
            0.0
        }
    }
}

/// Seconds to move `bytes` at `rate` bytes per second (rate 0: no limit).
fn seconds(bytes: f64, rate: u64) -> f64 {
    if rate == 0 {
        0.0
    } else {
        bytes / rate as f64
    }
}

/// The command's own bytes on the wire: a 16-byte CDB, a 64-byte
/// submission queue entry.
fn command_len(t: Transport) -> f64 {
    match t {
        Transport::Scsi => 16.0,
        Transport::Nvme => 64.0,
    }
}

fn carries_io(s: AluaState) -> bool {
    matches!(
        s,
        AluaState::ActiveOptimized | AluaState::ActiveNonOptimized | AluaState::LbaDependent
    )
}

/// One path's round trip and capacity for the workload's mix.
fn path_ideal(s: &Scenario, p: &PathCfg, usable: bool) -> PathIdeal {
    let data = f64::from(s.workload.blocks) * f64::from(s.block_size);
    let reads = f64::from(s.workload.read_percent.min(100)) / 100.0;
    let header = HEADER as f64;
    let out = header + command_len(s.transport) + (1.0 - reads) * data;
    let back = header + reads * data;
    let t_out = seconds(out, p.bandwidth);
    let t_back = seconds(back, p.bandwidth);
    let service = p.service.as_nanos() as f64 / 1e9 + seconds(data, p.media_rate);
    let one_way = (p.latency.as_nanos() as f64 + p.jitter.as_nanos() as f64 / 2.0) / 1e9;
    let round_trip = 2.0 * one_way + t_out + service + t_back;
    let limits = [
        (service, "port"),
        (t_out, "link to target"),
        (t_back, "link to host"),
    ];
    let (busiest, bottleneck) =
        limits
            .iter()
            .copied()
            .fold((0.0, "port"), |a, b| if b.0 > a.0 { b } else { a });
    let capacity = if busiest > 0.0 {
        1.0 / busiest
    } else {
        f64::INFINITY
    };
    PathIdeal {
        usable,
        round_trip,
        capacity,
        bottleneck,
        outstanding: 0.0,
        iops: 0.0,
    }
}

/// The ideal for `s`'s fabric and workload (see the module docs).
pub fn ideal(s: &Scenario) -> Ideal {
    let state_of = |g: u16| {
        s.groups
            .iter()
            .find(|c| c.id == g)
            .map(|c| c.state)
            .unwrap_or(AluaState::Unavailable)
    };
    let mut paths: Vec<PathIdeal> = s
        .paths
        .iter()
        .map(|p| path_ideal(s, p, carries_io(state_of(p.group))))
        .collect();
    let mut order: Vec<usize> = (0..paths.len()).filter(|&i| paths[i].usable).collect();
    order.sort_by(|&a, &b| paths[a].round_trip.total_cmp(&paths[b].round_trip));
    let mut left = f64::from(s.workload.queue_depth);
    for i in order {
        if left <= 0.0 {
            break;
        }
        let p = &mut paths[i];
        let fills = p.capacity * p.round_trip;
        let n = left.min(fills);
        p.outstanding = n;
        p.iops = if p.round_trip > 0.0 {
            (n / p.round_trip).min(p.capacity)
        } else {
            p.capacity
        };
        left -= n;
    }
    let iops: f64 = paths.iter().map(|p| p.iops).sum();
    let data = f64::from(s.workload.blocks) * f64::from(s.block_size);
    Ideal {
        iops,
        bytes_per_sec: iops * data,
        paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scenario::GroupCfg;
    use mpath_core::Duration;

    fn one_path(p: PathCfg, qd: u32) -> Scenario {
        let mut s = Scenario::two_paths();
        s.paths = vec![p];
        s.workload.queue_depth = qd;
        s.workload.read_percent = 100;
        s
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn latency_bound_at_low_queue_depth() {
        // One I/O outstanding: one per round trip.
        let s = one_path(PathCfg::fast(1), 1);
        let i = ideal(&s);
        let p = i.paths[0];
        assert!(close(i.iops, 1.0 / p.round_trip));
        // 2 × (100 µs + 5 µs) + (48+16)/1.25e9 + 20 µs + 4096/2e9 + (48+4096)/1.25e9
        let expect = 2.0 * 105e-6 + 64.0 / 1.25e9 + 20e-6 + 4096.0 / 2e9 + 4144.0 / 1.25e9;
        assert!(close(p.round_trip, expect), "{} vs {expect}", p.round_trip);
        assert_eq!(p.outstanding, 1.0);
    }

    #[test]
    fn capacity_bound_at_high_queue_depth() {
        let s = one_path(PathCfg::fast(1), 1024);
        let i = ideal(&s);
        let p = i.paths[0];
        // The port: 20 µs + 4096 B at 2 GB/s per command.
        assert!(close(p.capacity, 1.0 / (20e-6 + 4096.0 / 2e9)));
        assert_eq!(p.bottleneck, "port");
        assert!(close(i.iops, p.capacity));
        assert!(p.outstanding < 1024.0);
    }

    #[test]
    fn the_link_limits_when_it_is_slower_than_the_port() {
        let mut p = PathCfg::fast(1);
        p.bandwidth = 100_000_000;
        let i = ideal(&one_path(p, 1024));
        assert_eq!(i.paths[0].bottleneck, "link to host");
        assert!(close(i.iops, 100e6 / (48.0 + 4096.0)));
        // Writes load the other direction.
        let mut s = one_path(p, 1024);
        s.workload.read_percent = 0;
        let w = ideal(&s);
        assert_eq!(w.paths[0].bottleneck, "link to target");
        assert!(close(w.iops, 100e6 / (48.0 + 16.0 + 4096.0)));
    }

    #[test]
    fn fills_the_shortest_round_trip_first() {
        let mut s = Scenario::two_paths();
        s.workload.queue_depth = 4;
        s.paths[1].latency = Duration::from_millis(30);
        let i = ideal(&s);
        // Four I/Os do not saturate the fast path: the slow one gets none.
        assert_eq!(i.paths[0].outstanding, 4.0);
        assert_eq!(i.paths[1].outstanding, 0.0);
        // Past the fast path's saturation the rest spill onto the slow one.
        s.workload.queue_depth = 1000;
        let i = ideal(&s);
        let fast = i.paths[0];
        assert!(close(fast.iops, fast.capacity));
        assert!(close(fast.outstanding, fast.capacity * fast.round_trip));
        assert!(close(i.paths[1].outstanding, 1000.0 - fast.outstanding));
        assert!(close(i.iops, fast.iops + i.paths[1].iops));
        assert!(i.paths[1].iops < i.paths[1].capacity);
    }

    #[test]
    fn paths_that_carry_no_io_are_left_out() {
        let mut s = Scenario::two_paths();
        s.groups.push(GroupCfg {
            id: 2,
            state: AluaState::Standby,
        });
        s.paths[1].group = 2;
        s.workload.queue_depth = 1000;
        let i = ideal(&s);
        assert!(!i.paths[1].usable);
        assert_eq!(i.paths[1].iops, 0.0);
        assert!(close(i.iops, i.paths[0].capacity));
        // A path in a group the scenario does not define carries nothing.
        s.paths[0].group = 9;
        assert_eq!(ideal(&s).iops, 0.0);
        assert_eq!(ideal(&s).fraction(5.0), 0.0);
    }

    #[test]
    fn fraction_and_bytes() {
        let s = one_path(PathCfg::fast(1), 1);
        let i = ideal(&s);
        assert!(close(i.fraction(i.iops / 2.0), 0.5));
        assert!(close(i.bytes_per_sec, i.iops * 4096.0));
    }
}
