//! The host's map during a run, drawn the way `multipath -ll` draws one,
//! from the live device ([`Sim::device`]) rather than the scenario: each
//! path group with the access state the host believes, each path with
//! the state dm-multipath would show for it (from the core's link state
//! and tier), and after it what `multipath -ll` does not show: the
//! core's tier and health, the fabric's link as it really is (the host
//! learns of a dead link only when its transport notices), I/O in flight,
//! and the path's registration when a reservation key is set. A header
//! line gives the coordinator's reservation state.

use mpath_core::reservation::RegState;
use mpath_core::{AccessState, Health, Link, Tier};

use crate::engine::{Sim, Transport};
use crate::scenario_file::names::pr_type_name;
use crate::scenario_file::units::human_duration;

/// The alua (SCSI) and ana (NVMe) prioritizers' priority for a state
/// (multipath-tools `prioritizers/alua.c`, `prioritizers/ana.c`).
const fn prio(s: AccessState) -> u32 {
    match s {
        AccessState::Optimized => 50,
        AccessState::NonOptimized => 10,
        AccessState::LbaDependent | AccessState::Inaccessible => 5,
        AccessState::Standby | AccessState::PersistentLoss => 1,
        AccessState::Unavailable
        | AccessState::Offline
        | AccessState::Transitioning
        | AccessState::Change => 0,
        // The core may learn states the prioritizers do not know.
        _ => 0,
    }
}

/// dm state, checker state (SCSI: `ready`, `ghost`, `faulty`, `i/o
/// pending`; NVMe: the controller's `live` or `connecting`).
fn dm_state(t: Transport, link: Link, tier: Tier, access: AccessState) -> &'static str {
    match (t, link) {
        (Transport::Scsi, Link::Pending) => "active i/o pending running",
        (Transport::Scsi, Link::Down) => "failed faulty running",
        (Transport::Scsi, Link::Up) if tier != Tier::Ineligible => "active ready running",
        (Transport::Scsi, Link::Up) if access == AccessState::Standby => "active ghost running",
        (Transport::Scsi, Link::Up) => "failed faulty running",
        (Transport::Nvme, Link::Down) => "connecting",
        (Transport::Nvme, _) => "live",
    }
}

fn reg_name(r: RegState) -> &'static str {
    match r {
        RegState::Unknown => "unknown",
        RegState::Registering => "registering",
        RegState::Registered => "registered",
        RegState::Failed => "failed",
        RegState::Stale => "stale",
    }
}

fn health_name(h: Health) -> &'static str {
    match h {
        Health::Healthy => "healthy",
        Health::Sampling => "sampling",
        Health::Marginal => "marginal",
        Health::Damped => "damped",
    }
}

/// The device's map now.
pub fn render(sim: &Sim) -> String {
    let s = sim.scenario();
    let dev = sim.device();
    let ctl = dev.controller();
    let d = ctl.device_snapshot();
    let coord = dev.coordinator();
    let mut o = String::new();
    let name = match s.transport {
        Transport::Scsi => format!("{} dm-0", s.name),
        Transport::Nvme => format!("{} [nvme]:nvme0n1", s.name),
    };
    o.push_str(&format!(
        "{name} policy='{} 0' queued={} selectable={}/{} active_tier={}\n",
        s.policy.name(),
        d.queued,
        d.selectable,
        d.paths,
        d.active_tier.map_or("none", Tier::name),
    ));
    let index_of = |id| (0..s.paths.len()).find(|&i| sim.path_id(i) == Some(id));
    if let Some(key) = coord.key() {
        let holder = coord
            .holder()
            .and_then(index_of)
            .map_or_else(String::new, |i| format!(", held through path {i}"));
        o.push_str(&format!(
            "reservation: key {key:#018x}, {}{holder}{}{}\n",
            coord.reservation().map_or("no reservation", pr_type_name),
            if coord.is_fenced() {
                ", FENCED (another host preempted us)"
            } else {
                ""
            },
            if coord.is_quiesced() {
                ", I/O held while the reservation is checked or moved"
            } else {
                ""
            },
        ));
    }
    // Paths by group, as the host sees them; groups best first.
    let snaps: Vec<(usize, mpath_core::PathSnapshot)> = (0..s.paths.len())
        .filter_map(|i| {
            let id = sim.path_id(i)?;
            ctl.path_snapshot(id, &[]).ok().map(|p| (i, p))
        })
        .collect();
    // Groups by the scenario's ids (the target port group, the ANA
    // group a fault names), not the core's own numbering.
    let group_of = |i: usize| s.paths.get(i).map_or(0, |c| c.group);
    let mut groups: Vec<(u32, u16, AccessState)> = Vec::new();
    for (i, p) in &snaps {
        if !groups.iter().any(|g| g.1 == group_of(*i)) {
            groups.push((prio(p.access), group_of(*i), p.access));
        }
    }
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (gi, &(pr, gid, access)) in groups.iter().enumerate() {
        let (branch, stem) = if gi + 1 == groups.len() {
            ("`-+-", "  ")
        } else {
            ("|-+-", "| ")
        };
        let members: Vec<&(usize, mpath_core::PathSnapshot)> =
            snaps.iter().filter(|(i, _)| group_of(*i) == gid).collect();
        let status = if members.iter().any(|(_, p)| p.selectable) {
            "active"
        } else {
            "enabled"
        };
        o.push_str(&format!(
            "{branch} policy='{} 0' prio={pr} status={status}  (group {gid}, {})\n",
            s.policy.name(),
            access.name()
        ));
        for (k, (i, p)) in members.iter().enumerate() {
            let i = *i;
            let leaf = if k + 1 == members.len() { "`-" } else { "|-" };
            let dev_name = match s.transport {
                Transport::Scsi => {
                    format!("{}:0:0:0 sd{}", i + 1, char::from(b'a' + (i % 26) as u8))
                }
                Transport::Nvme => format!("0:{i}:1 nvme0c{i}n1"),
            };
            let fabric = match sim.link_is_up(i) {
                Some(true) => "up",
                Some(false) => "DOWN",
                None => "?",
            };
            let reg = if coord.key().is_some() {
                format!(
                    ", {}",
                    reg_name(coord.state(p.id).unwrap_or(RegState::Unknown))
                )
            } else {
                String::new()
            };
            o.push_str(&format!(
                "{stem}{leaf} {dev_name} {}  [path {i}: {}{}, {}, fabric link {fabric}, {} in flight, {} failovers{reg}]\n",
                dm_state(s.transport, p.link, p.tier, p.access),
                p.tier.name(),
                if p.selectable { " (in use)" } else { "" },
                health_name(p.health),
                p.inflight,
                p.counters.failovers,
            ));
        }
    }
    o
}

/// The header before a map: when, and what happened.
pub fn heading(at: mpath_core::Duration, what: &str) -> String {
    format!("--- {}: {what}\n", human_duration(at))
}
