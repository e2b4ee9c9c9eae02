//! `mpath-sim topology`: a scenario's map drawn the way `multipath -ll`
//! draws one, so a storage engineer reads it at a glance. SCSI maps look
//! like a dm-multipath map over `scsi_dh_alua` (one path group per target
//! port group, prio from the alua prioritizer); NVMe maps like
//! multipath-tools' native NVMe foreign library shows an ANA subsystem
//! (hwhandler 'ANA', a controller path per path). After each path, what
//! `multipath -ll` does not show: the path index the scenario's faults
//! use, and the link and port behind it.
//!
//! It is computed from the scenario, as the fabric stands at time 0; the
//! faults follow as a timeline. A scenario with a dm table then gets dm's
//! own view, from the live device ([`dm_view`](super::dm_view)).

use std::process::ExitCode;

use mpath_core::NoPathPolicy;
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;

use crate::engine::{ana_state, path_name, Scenario, Transport};
use crate::scenario_file::describe_fault;
use crate::scenario_file::names::{alua_name, ana_name, no_path_name, pr_type_name};
use crate::scenario_file::units::{format_duration, format_link_rate, format_rate};
use crate::scsi_target::LuConfig;

use super::{source, CliError, ScenarioArg};

/// The subsystem NQN the engine gives its NVMe subsystem (engine/nvme.rs).
const SUBSYSTEM_NQN: &str = "nqn.2026-12.org.mpath:sim";
/// Its Identify Controller model number (nvme_target/admin.rs).
const NVME_MODEL: &str = "mpath-sim NVMe subsystem";

/// The alua prioritizer's priority for a state (multipath-tools
/// `prioritizers/alua.c`): optimized 50, non-optimized 10, LBA dependent
/// 5, standby 1, the rest 0.
const fn alua_prio(s: AluaState) -> u32 {
    match s {
        AluaState::ActiveOptimized => 50,
        AluaState::ActiveNonOptimized => 10,
        AluaState::LbaDependent => 5,
        AluaState::Standby => 1,
        AluaState::Unavailable | AluaState::Offline | AluaState::Transitioning => 0,
    }
}

/// The ana prioritizer's (`prioritizers/ana.c`): optimized 50,
/// non-optimized 10, inaccessible 5, persistent loss 1, change 0.
const fn ana_prio(s: AnaState) -> u32 {
    match s {
        AnaState::Optimized => 50,
        AnaState::NonOptimized => 10,
        AnaState::Inaccessible => 5,
        AnaState::PersistentLoss => 1,
        AnaState::Change => 0,
    }
}

/// dm state, path checker state and device state of a SCSI path, as the
/// tur checker and scsi_dh_alua leave them: standby answers TEST UNIT
/// READY "not ready, standby" (ghost), transitioning is pending,
/// unavailable and offline fail.
const fn scsi_path_state(s: AluaState) -> &'static str {
    match s {
        AluaState::ActiveOptimized | AluaState::ActiveNonOptimized | AluaState::LbaDependent => {
            "active ready running"
        }
        AluaState::Standby => "active ghost running",
        AluaState::Transitioning => "active i/o pending running",
        AluaState::Unavailable => "failed faulty running",
        AluaState::Offline => "failed faulty offline",
    }
}

/// The size as `multipath -ll` prints it (`size=2.0G`).
fn human_size(bytes: u64) -> String {
    let units = ["K", "M", "G", "T", "P"];
    let mut v = bytes as f64;
    let mut unit = "";
    for u in units {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if unit.is_empty() {
        format!("{bytes}")
    } else {
        format!("{v:.1}{unit}")
    }
}

/// The size the views print for the device: the workload's range of
/// LBAs (one host's).
pub(crate) fn device_bytes(s: &Scenario) -> u64 {
    s.workload
        .slots
        .saturating_mul(u64::from(s.workload.blocks))
        .max(1)
        .saturating_mul(u64::from(s.block_size))
}

/// The topology as text.
pub fn render(s: &Scenario) -> String {
    let lu = LuConfig::default();
    let bytes = device_bytes(s);
    let queueing = !matches!(s.no_path, NoPathPolicy::Fail);
    let mut o = String::new();
    match s.transport {
        Transport::Scsi => {
            let wwid: String = lu.naa.iter().map(|b| format!("{b:02x}")).collect();
            o.push_str(&format!(
                "{} (3{wwid}) dm-0 {},{}\n",
                s.name,
                String::from_utf8_lossy(&lu.vendor).trim_end(),
                String::from_utf8_lossy(&lu.product).trim_end()
            ));
            o.push_str(&format!(
                "size={} features='{}' hwhandler='1 alua' wp=rw\n",
                human_size(bytes),
                if queueing { "1 queue_if_no_path" } else { "0" }
            ));
        }
        Transport::Nvme => {
            o.push_str(&format!(
                "{} ({SUBSYSTEM_NQN} nsid 1) [nvme]:nvme0n1 NVMe,{NVME_MODEL}\n",
                s.name
            ));
            o.push_str(&format!(
                "size={} features='n/a' hwhandler='ANA' wp=rw anatt={}s\n",
                human_size(bytes),
                s.anatt
            ));
        }
    }
    // Path groups, best priority first, as multipath orders them.
    let mut groups: Vec<(u32, u16, AluaState)> = s
        .groups
        .iter()
        .map(|g| {
            let prio = match s.transport {
                Transport::Scsi => alua_prio(g.state),
                Transport::Nvme => ana_prio(ana_state(g.state)),
            };
            (prio, g.id, g.state)
        })
        .collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let active = groups
        .iter()
        .position(|&(prio, id, _)| prio > 0 && s.paths.iter().any(|p| p.group == id));
    for (gi, &(prio, id, state)) in groups.iter().enumerate() {
        let last_group = gi + 1 == groups.len();
        let (branch, stem) = if last_group {
            ("`-+-", "  ")
        } else {
            ("|-+-", "| ")
        };
        let status = match s.transport {
            Transport::Scsi if Some(gi) == active => "active",
            Transport::Scsi => "enabled",
            Transport::Nvme => ana_name(ana_state(state)),
        };
        o.push_str(&format!(
            "{branch} policy='{} 0' prio={prio} status={status}  (group {id}, {})\n",
            s.policy.name(),
            match s.transport {
                Transport::Scsi => format!("ALUA {}", alua_name(state)),
                Transport::Nvme => format!("ANA {}", ana_name(ana_state(state))),
            }
        ));
        let members: Vec<(usize, &crate::engine::PathCfg)> = s
            .paths
            .iter()
            .enumerate()
            .filter(|(_, p)| p.group == id)
            .collect();
        for (k, &(i, p)) in members.iter().enumerate() {
            let leaf = if k + 1 == members.len() { "`-" } else { "|-" };
            let dev = match s.transport {
                Transport::Scsi => format!(
                    "{}:0:0:{} {:<4} 8:{:<4} {}",
                    i + 1,
                    lu.lun,
                    path_name(Transport::Scsi, i),
                    16 * i,
                    scsi_path_state(state)
                ),
                Transport::Nvme => {
                    let ana = ana_state(state);
                    let live = if matches!(ana, AnaState::PersistentLoss) {
                        "dead"
                    } else {
                        "live"
                    };
                    format!("0:{i}:1 nvme0c{i}n1 0:0 n/a {} {live}", ana_name(ana))
                }
            };
            o.push_str(&format!(
                "{stem}{leaf} {dev}  [path {i}: link {}+{} {}, port qd {} {}+{}{}]\n",
                format_duration(p.latency),
                format_duration(p.jitter),
                format_link_rate(p.bandwidth),
                p.queue_depth,
                format_duration(p.service),
                format_rate(p.media_rate),
                if p.relative_throughput == 1 {
                    String::new()
                } else {
                    format!(", weight {}", p.relative_throughput)
                },
            ));
        }
    }
    o.push_str(&format!(
        "mpath: no_path={} quiesce={} detect={} command_timeout={} reservation={}\n",
        no_path_name(s.no_path),
        format_duration(s.quiesce),
        format_duration(s.detect),
        format_duration(s.command_timeout),
        s.reservation.map_or("none", pr_type_name)
    ));
    if !s.faults.is_empty() {
        o.push_str("faults:\n");
        for &(at, f) in &s.faults {
            o.push_str(&format!(
                "  {:>9}  {}\n",
                format_duration(at),
                describe_fault(f)
            ));
        }
    }
    o
}

/// `topology`.
pub fn topology(a: &ScenarioArg) -> Result<ExitCode, CliError> {
    let s = source::load(a)?;
    print!("{}", render(&s));
    print!("{}", super::dm_view::render(&s)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_names_run_like_the_kernel_s() {
        // One naming for this view and dm tables (engine/dm_table.rs).
        let sd = |i| path_name(Transport::Scsi, i);
        assert_eq!(sd(0), "sda");
        assert_eq!(sd(25), "sdz");
        assert_eq!(sd(26), "sdaa");
    }

    #[test]
    fn groups_are_ordered_by_priority_and_the_best_is_active() {
        let t = render(&crate::builtin::alua_transition());
        let ao = t.find("prio=50 status=active").unwrap();
        let ano = t.find("prio=10 status=enabled").unwrap();
        assert!(ao < ano, "{t}");
        assert!(t.contains("hwhandler='1 alua'"), "{t}");
        let n = render(&crate::builtin::ana_change());
        assert!(
            n.contains("hwhandler='ANA'") && n.contains("nvme0c1n1"),
            "{n}"
        );
    }
}
