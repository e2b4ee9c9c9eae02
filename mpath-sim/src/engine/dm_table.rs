//! A dm-multipath table line as a scenario's device configuration, bound
//! to the simulated fabric through [`mpath_dm::DmTarget`], so a run
//! exercises the crate's mapping rather than a copy of it.
//!
//! # The mapping (docs/SIMULATOR.md, "dm tables")
//!
//! - **Path devices** name the scenario's paths the way
//!   `mpath-sim topology` prints them: on SCSI the kernel's `major:minor`
//!   of the path's disk (`8:0` is path 0's `sda`, `8:16` path 1's `sdb`:
//!   sd disks are major 8, sixteen minors each) or its name (`sdb`,
//!   `/dev/sdb`); on NVMe the controller path's name (`nvme0c1n1`,
//!   `/dev/nvme0c1n1`). Every path of the scenario must be listed once: a
//!   dm device has only the paths its table names.
//! - **Priority groups** are the fabric's port groups (SCSI target port
//!   groups, NVMe groups of controllers), one to one, as multipathd's
//!   `group_by_prio` and `group_by_tpg` build them: a group's paths all
//!   reach one port group and a port group's paths are all in one
//!   priority group. The array decides membership (its REPORT TARGET
//!   PORT GROUPS answers, its ANA log); the table decides the order and
//!   the initial group, which `DmTarget::steer` makes the core's
//!   switched group. On NVMe every controller is a core group of its own
//!   (ANA state is per controller), so a priority group of several
//!   controllers cannot be switched to and the ANA tiers decide, as
//!   native NVMe multipath does.
//! - **The selector** (the initial group's) is the scenario's policy,
//!   **service-time's relative throughput** each path's weight, and
//!   **`queue_if_no_path`** the no-path policy (`queue`; without it,
//!   `fail`): [`Scenario::set_dm_table`] writes them into the scenario.
//!   What the scenario has no field for, the engine takes from
//!   [`DmTarget::config`] when it builds each host's device:
//!   `pg_init_retries`, `pg_init_delay_msecs`, and the hardware handler
//!   (explicit activation: with `1 alua` the host sends SET TARGET PORT
//!   GROUPS, without a handler it does not).
//! - A **hardware handler on NVMe** is refused, as the kernel refuses it:
//!   `scsi_dh_attach` fails on a device that is not SCSI ("error
//!   attaching hardware handler").

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use mpath_core::{Config, Instant, NexusId, PathId};
use mpath_dm::{target_params, DmTarget, ErrorKind, ParseError, Table};

use super::scenario::{Scenario, Transport};
use super::sim::{Dev, SetupError};

/// Why a table cannot configure a scenario's device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DmTableError {
    /// The kernel would refuse the line (`multipath_ctr`'s checks).
    #[error("{kind} at word {index} (`{word}`, byte {offset})")]
    Parse {
        /// What was wrong, in the kernel's words.
        kind: ErrorKind,
        /// The word (empty when the line ended too early).
        word: String,
        /// Its 0-based index in the line as given.
        index: usize,
        /// Its byte offset in the line as given.
        offset: usize,
    },
    /// A path device that is none of the scenario's paths.
    #[error("word {index} (`{word}`) names no path of the scenario; its paths are {known}")]
    UnknownPath {
        /// The device word.
        word: String,
        /// Its index in the line.
        index: usize,
        /// The scenario's paths, as the table may name them.
        known: String,
    },
    /// A path listed twice.
    #[error("word {index} (`{word}`) names path {path} again")]
    DuplicatePath {
        /// The device word.
        word: String,
        /// Its index in the line.
        index: usize,
        /// The scenario's path index.
        path: usize,
    },
    /// A path of the scenario the table does not list.
    #[error("path {path} ({device}) is not in the table: a dm device has only the paths its table lists")]
    MissingPath {
        /// The scenario's path index.
        path: usize,
        /// Its name in a table.
        device: String,
    },
    /// A priority group whose paths reach two port groups.
    #[error(
        "priority group {group} mixes port groups {first} and {second} (path {path}): \
         a priority group is one port group of the array"
    )]
    MixedGroup {
        /// The priority group, 1-based.
        group: u16,
        /// The port group of its first path.
        first: u16,
        /// The other port group.
        second: u16,
        /// The scenario path in the other port group.
        path: usize,
    },
    /// A port group whose paths are in two priority groups.
    #[error(
        "port group {port_group} is split over priority groups {first} and {second}: \
         the array, not the table, says which paths share a group"
    )]
    SplitGroup {
        /// The port group.
        port_group: u16,
        /// The first priority group it is in.
        first: u16,
        /// The other.
        second: u16,
    },
    /// A hardware handler on an NVMe scenario.
    #[error(
        "hardware handler `{name}` on NVMe: scsi_dh attaches only to SCSI devices \
         (the kernel: \"error attaching hardware handler\"); use `0` handler words"
    )]
    HwHandlerOnNvme {
        /// The handler's name.
        name: String,
    },
}

/// A table bound to a scenario's paths.
#[derive(Clone, Debug)]
pub struct DmPlan<'a> {
    /// The table, bound to nothing yet.
    pub target: DmTarget<'a>,
    /// For each path of the table, in table order, the scenario's path.
    pub paths: Vec<usize>,
}

/// Path `i`'s device name on `t`, as `mpath-sim topology` prints it:
/// `sdb` or `nvme0c1n1`.
pub fn path_name(t: Transport, i: usize) -> String {
    match t {
        Transport::Scsi => {
            let mut n = i;
            let mut s = Vec::new();
            loop {
                s.push(b'a' + (n % 26) as u8);
                if n < 26 {
                    break;
                }
                n = n / 26 - 1;
            }
            s.reverse();
            format!("sd{}", String::from_utf8_lossy(&s))
        }
        Transport::Nvme => format!("nvme0c{i}n1"),
    }
}

/// Path `i`'s device as a dm table names it by default: SCSI `8:16`
/// (`major:minor`, what `dmsetup table` prints), NVMe `nvme0c1n1`.
pub fn path_device(t: Transport, i: usize) -> String {
    match t {
        Transport::Scsi => format!("8:{}", 16 * i),
        Transport::Nvme => path_name(t, i),
    }
}

/// The scenario path a table's device word names, of `n` paths.
pub fn path_of_device(t: Transport, word: &str, n: usize) -> Option<usize> {
    let name = word.strip_prefix("/dev/").unwrap_or(word);
    (0..n).find(|&i| name == path_name(t, i) || word == path_device(t, i))
}

/// The scenario's paths as a table may name them, for error messages.
fn known_paths(t: Transport, n: usize) -> String {
    (0..n)
        .map(|i| match t {
            Transport::Scsi => format!("{} ({})", path_device(t, i), path_name(t, i)),
            Transport::Nvme => path_device(t, i),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The target's parameters in `line` (a `dmsetup table` line, with or
/// without the device's name, or the parameters alone) and the words
/// and bytes before them, so errors count positions in the line as given.
fn params(line: &str) -> (&str, usize, usize) {
    match target_params(line) {
        Some(p) => {
            let before = line.len() - p.len();
            let words = line
                .get(..before)
                .map_or(0, |b| b.split_whitespace().count());
            (p, words, before)
        }
        None => (line, 0, 0),
    }
}

/// `line` checked against scenario `s`'s fabric, by the rules in the
/// module documentation.
pub fn plan<'a>(s: &Scenario, line: &'a str) -> Result<DmPlan<'a>, DmTableError> {
    let (p, skip_words, skip_bytes) = params(line);
    let table = Table::parse(p).map_err(|e: ParseError<'_>| DmTableError::Parse {
        kind: e.kind,
        word: e.word.to_owned(),
        index: e.index + skip_words,
        offset: e.offset + skip_bytes,
    })?;
    if let (Transport::Nvme, Some(h)) = (s.transport, table.hw_handler) {
        return Err(DmTableError::HwHandlerOnNvme {
            name: h.name.to_owned(),
        });
    }
    // Device words' indexes, for errors: a path's device is the first
    // word at or after its group's header that is exactly the device.
    let word_index = |device: &str, from: usize| {
        p.split_whitespace()
            .enumerate()
            .skip(from)
            .find(|(_, w)| *w == device)
            .map_or(0, |(k, _)| k + skip_words)
    };
    let mut paths = Vec::new();
    let mut search_from = 0;
    for tp in table.paths() {
        let index = word_index(tp.device, search_from);
        search_from = index.saturating_sub(skip_words) + 1;
        let i = path_of_device(s.transport, tp.device, s.paths.len()).ok_or_else(|| {
            DmTableError::UnknownPath {
                word: tp.device.to_owned(),
                index,
                known: known_paths(s.transport, s.paths.len()),
            }
        })?;
        if paths.contains(&i) {
            return Err(DmTableError::DuplicatePath {
                word: tp.device.to_owned(),
                index,
                path: i,
            });
        }
        paths.push(i);
    }
    if let Some(i) = (0..s.paths.len()).find(|i| !paths.contains(i)) {
        return Err(DmTableError::MissingPath {
            path: i,
            device: path_device(s.transport, i),
        });
    }
    // One priority group, one port group.
    let port_group = |i: usize| s.paths[i].group;
    let mut owner: Vec<(u16, u16)> = Vec::new(); // (port group, priority group)
    for (k, &i) in paths.iter().enumerate() {
        let Some(g) = table.group_of(k) else { continue };
        let first_of_group = (0..k).find(|&j| table.group_of(j) == Some(g));
        if let Some(j) = first_of_group {
            if port_group(paths[j]) != port_group(i) {
                return Err(DmTableError::MixedGroup {
                    group: g,
                    first: port_group(paths[j]),
                    second: port_group(i),
                    path: i,
                });
            }
        }
        match owner.iter().find(|(pg, _)| *pg == port_group(i)) {
            Some(&(_, other)) if other != g => {
                return Err(DmTableError::SplitGroup {
                    port_group: port_group(i),
                    first: other,
                    second: g,
                })
            }
            Some(_) => {}
            None => owner.push((port_group(i), g)),
        }
    }
    Ok(DmPlan {
        target: DmTarget::new(table),
        paths,
    })
}

impl DmPlan<'_> {
    /// The table's position of scenario path `i`.
    pub fn entry_of(&self, i: usize) -> Option<usize> {
        self.paths.iter().position(|&p| p == i)
    }
}

impl Scenario {
    /// Configure the device with a dm table line: checked against the
    /// fabric ([`plan`]), then the selector, the no-path policy and each
    /// path's relative throughput set as the table says (through
    /// [`DmTarget::config`] and [`DmTarget::path_spec`]), and the line
    /// kept for the engine, which takes the rest from it.
    pub fn set_dm_table(&mut self, line: &str) -> Result<(), DmTableError> {
        let plan = plan(self, line)?;
        let c = plan.target.config(Config::DEFAULT);
        self.policy = c.policy;
        self.no_path = c.no_path;
        for (k, &i) in plan.paths.iter().enumerate() {
            if let (Some(spec), Some(p)) =
                (plan.target.path_spec(k, NexusId(0)), self.paths.get_mut(i))
            {
                p.relative_throughput = spec.relative_throughput;
            }
        }
        self.dm_table = Some(line.trim().to_owned());
        Ok(())
    }
}

/// `line` for the life of the process. A [`DmTarget`] borrows its words
/// from the line (the crate allocates nothing), and the run that keeps
/// one cannot also own the line it borrows from; so each distinct line
/// is kept once, and runs of the same table share it.
fn interned(line: &str) -> &'static str {
    static LINES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut lines = LINES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(l) = lines.get(line) {
        return l;
    }
    let l: &'static str = Box::leak(line.to_owned().into_boxed_str());
    lines.insert(l);
    l
}

fn setup_err(e: DmTableError) -> SetupError {
    SetupError::Scenario(format!("dm table: {e}"))
}

/// The device configuration `base` with what scenario `s`'s table asks
/// for and the scenario has no field for: activation retries and delay,
/// explicit activation (the hardware handler). The caller sets the
/// scenario's own fields after.
pub(crate) fn device_config(s: &Scenario, base: Config) -> Result<Config, SetupError> {
    let Some(line) = &s.dm_table else {
        return Ok(base);
    };
    let plan = plan(s, line).map_err(setup_err)?;
    Ok(plan.target.config(base))
}

/// Bind scenario `s`'s table to a host's device whose path `i` is
/// `ids[i]`: each table path attached to its device path, then steered
/// to the initial group.
pub(crate) fn bind(
    s: &Scenario,
    dev: &mut Dev,
    ids: &[PathId],
    now: Instant,
) -> Result<Option<DmTarget<'static>>, SetupError> {
    let Some(line) = &s.dm_table else {
        return Ok(None);
    };
    let mut plan = plan(s, interned(line)).map_err(setup_err)?;
    for (k, &i) in plan.paths.iter().enumerate() {
        let id = ids
            .get(i)
            .copied()
            .ok_or_else(|| SetupError::Scenario(format!("dm table: no device path {i}")))?;
        plan.target
            .attach(k, id)
            .map_err(|e| SetupError::Device(format!("dm table: path {i}: {e}")))?;
    }
    plan.target
        .steer(dev, now)
        .map_err(|e| SetupError::Device(format!("dm table: {e}")))?;
    Ok(Some(plan.target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_name_paths_as_topology_prints_them() {
        let t = Transport::Scsi;
        assert_eq!(path_of_device(t, "8:16", 2), Some(1));
        assert_eq!(path_of_device(t, "sdb", 2), Some(1));
        assert_eq!(path_of_device(t, "/dev/sda", 2), Some(0));
        assert_eq!(path_of_device(t, "8:32", 2), None);
        assert_eq!(path_of_device(t, "8:17", 2), None);
        assert_eq!(path_name(t, 26), "sdaa");
        let n = Transport::Nvme;
        assert_eq!(path_of_device(n, "nvme0c1n1", 2), Some(1));
        assert_eq!(path_of_device(n, "8:16", 2), None);
    }

    #[test]
    fn errors_count_words_in_the_line_as_given() {
        let s = Scenario::two_paths();
        let e = plan(
            &s,
            "mpatha: 0 2048 multipath 0 0 1 1 round-robin 0 2 1 8:0 x 8:16 1",
        )
        .unwrap_err();
        assert!(
            matches!(&e, DmTableError::Parse { kind: ErrorKind::RepeatCount, word, index: 13, .. } if word == "x"),
            "{e:?}"
        );
    }
}
