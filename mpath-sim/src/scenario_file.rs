//! Scenario files: an [`engine::Scenario`](crate::engine::Scenario) in
//! TOML, and back.
//!
//! ```toml
//! transport = "nvme"
//! [workload]
//! duration = "1s"
//! [[path]]
//! latency = "100us"
//! [[path]]
//! latency = "30ms"
//! [[fault]]
//! at = "200ms"
//! kind = "link-down"
//! path = 0
//! ```
//!
//! Every key is documented in `mpath-sim/scenarios/example.toml`. A key
//! left out takes its value from [`Scenario::two_paths`] (a path's from
//! [`PathCfg::fast`]). Durations, rates and sizes take units
//! ([`units`]); enumerations take the names in [`names`].
//!
//! A file is read in two steps: serde into the plain structs below (which
//! mirror the file, every field optional), then [`FileScenario::into_scenario`]
//! checks what serde cannot (names, cross references, one of two keys) and
//! builds the engine's value. Writing is the reverse
//! ([`FileScenario::from_scenario`]). Each engine field has one line in each
//! direction; a new [`Fault`](crate::engine::Fault) variant needs one arm in [`fault_from_file`]
//! and one in [`fault_to_file`].
//!
//! Errors name the line and the key (`path[1].latency`): serde's own
//! errors carry a byte span, which is mapped back to the key it falls in;
//! the checks of the second step name their key, which is looked up in the
//! same spanned parse of the file.

mod error;
mod fault;
pub mod names;
pub mod units;

use std::path::Path;

use mpath_core::Duration;
use serde::{Deserialize, Serialize};

use crate::engine::{GroupCfg, PathCfg, Scenario, Transport, MAX_CPUS, PATHS};
pub use error::{FileError, KeyPath};
use fault::check_fault_refs;
pub use fault::{describe_fault, fault_from_file, fault_to_file, FAULT_KINDS};
use names::{
    alua_name, ana_name, no_path_name, parse_alua, parse_ana, parse_no_path, parse_policy,
    parse_pr_type, parse_transport, pr_type_name, transport_name,
};
use units::format_duration;
pub use units::{Dur, LinkRate, Rate, Size};

// ---------------------------------------------------------------------------
// The file, as written.

/// A scenario file as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileScenario {
    /// Its name (default: the file's name without `.toml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Hosts sharing the storage. Reserved: only 1 for now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<u32>,
    /// "scsi" or "nvme".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// NVMe ANA transition time, whole seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anatt: Option<Dur>,
    /// Logical block size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size: Option<Size>,
    /// Liveness: every I/O must complete by the end of the drain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_all_complete: Option<bool>,
    /// The multipath device's configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<FileDevice>,
    /// The application's I/O.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<FileWorkload>,
    /// `[[group]]`: target port groups (NVMe: controllers reporting one
    /// ANA state).
    #[serde(default, rename = "group", skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<FileGroup>,
    /// `[[path]]`: paths, numbered from 0 in file order.
    #[serde(default, rename = "path", skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<FilePath>,
    /// `[[fault]]`: the fault timeline, in time order.
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FileFault>,
}

/// `[device]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDevice {
    /// Path selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// "fail", "queue" or "queue-for 5s".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_path: Option<String>,
    /// Write quiesce after a path failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiesce: Option<Dur>,
    /// How long the transport takes to fail commands of a dead link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect: Option<Dur>,
    /// The host's command timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_timeout: Option<Dur>,
    /// A reservation type, or "none".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<String>,
    /// Registrations ask to persist through power loss (SCSI APTPL, NVMe
    /// CPTPL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aptpl: Option<bool>,
    /// A dm-multipath table line configuring the device
    /// ([`Scenario::set_dm_table`]); it sets the selector, the no-path
    /// policy and the paths' weights, so `policy`, `no_path` and a path's
    /// `relative_throughput` cannot be given with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm_table: Option<String>,
}

/// `[workload]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWorkload {
    /// I/Os kept outstanding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u32>,
    /// Percentage of reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_percent: Option<u8>,
    /// Blocks per I/O (or `io_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u32>,
    /// Bytes per I/O, a multiple of the block size (or `blocks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io_size: Option<Size>,
    /// Distinct I/O-sized slots the workload spreads over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<u64>,
    /// CPUs submitting, each with its own cursor (1 to 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// How long the workload submits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
    /// How long outstanding I/O has to finish after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain: Option<Dur>,
}

/// `[[group]]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileGroup {
    /// Target port group (ANA group) id.
    pub id: u16,
    /// ALUA state, or on NVMe an ANA state.
    pub state: String,
}

/// `[[path]]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePath {
    /// Its group (default: the first group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<u16>,
    /// One-way link latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Dur>,
    /// Up to this much more per message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Dur>,
    /// Link bandwidth each way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<LinkRate>,
    /// Commands the target port holds at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u32>,
    /// The port's time per command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Dur>,
    /// The port's media rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_rate: Option<Rate>,
    /// The host's service-time weight for the path, 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_throughput: Option<u8>,
}

/// `[[fault]]`: `at` and `kind`, and the keys that kind takes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFault {
    /// When, from the start of the run.
    pub at: Dur,
    /// Which fault (see [`fault_from_file`]).
    pub kind: String,
    /// Path index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<usize>,
    /// Group id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<u16>,
    /// The group's new state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `link-down-late-writes`: when the stranded writes land.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Dur>,
    /// `zombie`: hang instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hang: Option<bool>,
    /// `slow`: added one-way latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Dur>,
    /// `target-restart`: how long the target is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down: Option<Dur>,
    /// `preempt`: the reservation type the other host takes.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub rtype: Option<String>,
}

// ---------------------------------------------------------------------------
// Reading and writing.

/// A scenario from the text of a file; `default_name` names it if the file
/// does not.
pub fn from_toml(text: &str, default_name: &str) -> Result<Scenario, FileError> {
    let file: FileScenario = toml::from_str(text).map_err(|e| FileError::from_toml(text, &e))?;
    file.into_scenario(text, default_name)
}

/// A scenario from a file; named after the file unless it says otherwise.
pub fn load(path: &Path) -> Result<Scenario, FileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: Some(shown.clone()),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
        source_line: None,
    })?;
    let stem = path
        .file_stem()
        .map_or_else(|| shown.clone(), |s| s.to_string_lossy().into_owned());
    from_toml(&text, &stem).map_err(|e| e.in_file(&shown))
}

/// A scenario as a file, every key written out.
pub fn to_toml(s: &Scenario) -> String {
    let body = toml::to_string_pretty(&FileScenario::from_scenario(s))
        .unwrap_or_else(|e| format!("# cannot write this scenario as TOML: {e}\n"));
    format!(
        "# mpath-sim scenario `{}`: every key is described in \
         mpath-sim/scenarios/example.toml.\n# Run it with `mpath-sim run FILE.toml`.\n\n{body}",
        s.name
    )
}

/// What the second step needs to name a key's line.
struct Check<'a> {
    text: &'a str,
}

impl Check<'_> {
    fn err(&self, key: &KeyPath, message: impl Into<String>) -> FileError {
        FileError::at(self.text, key, message.into())
    }
}

/// A group's state: an ALUA name, or on NVMe also an ANA name (which the
/// engine keeps as the ALUA state it stands for, [`crate::engine::alua_state`]).
fn parse_group_state(transport: Transport, s: &str) -> Result<mpath_scsi::AluaState, String> {
    match (parse_alua(s), transport) {
        (Ok(a), _) => Ok(a),
        (Err(e), Transport::Scsi) => Err(if parse_ana(s).is_ok() {
            format!("\"{s}\" is an NVMe ANA state; a SCSI group takes an ALUA state ({e})")
        } else {
            e
        }),
        (Err(_), Transport::Nvme) => parse_ana(s)
            .map(crate::engine::alua_state)
            .map_err(|e| format!("{e} (or an ALUA state)")),
    }
}

/// A group's state as written: the ANA name on NVMe when it stands for
/// exactly this ALUA state, else the ALUA name.
fn group_state_name(transport: Transport, s: mpath_scsi::AluaState) -> &'static str {
    let ana = crate::engine::ana_state(s);
    if transport == Transport::Nvme && crate::engine::alua_state(ana) == s {
        ana_name(ana)
    } else {
        alua_name(s)
    }
}

impl FileScenario {
    /// The engine's scenario: missing keys from [`Scenario::two_paths`],
    /// names and cross references checked.
    pub fn into_scenario(self, text: &str, default_name: &str) -> Result<Scenario, FileError> {
        let c = Check { text };
        let mut s = Scenario::two_paths();
        s.name = self.name.clone().unwrap_or_else(|| default_name.to_owned());
        if let Some(h) = self.hosts {
            s.hosts = u8::try_from(h)
                .ok()
                .filter(|&n| n >= 1 && usize::from(n) <= crate::engine::HOSTS)
                .ok_or_else(|| {
                    c.err(
                        &KeyPath::top("hosts"),
                        format!("{h} hosts: 1 to {} supported", crate::engine::HOSTS),
                    )
                })?;
        }
        if let Some(t) = &self.transport {
            s.transport = parse_transport(t).map_err(|e| c.err(&KeyPath::top("transport"), e))?;
        }
        if let Some(Dur(a)) = self.anatt {
            let ns = a.as_nanos();
            s.anatt = u8::try_from(ns / 1_000_000_000)
                .ok()
                .filter(|_| ns % 1_000_000_000 == 0)
                .ok_or_else(|| {
                    c.err(
                        &KeyPath::top("anatt"),
                        "ANATT is whole seconds, 0s to 255s (Identify Controller byte 82)",
                    )
                })?;
        }
        if let Some(Size(b)) = self.block_size {
            s.block_size = u32::try_from(b)
                .ok()
                .filter(|b| b.is_power_of_two() && *b >= 512)
                .ok_or_else(|| {
                    c.err(
                        &KeyPath::top("block_size"),
                        format!("{b}: a block size is a power of two of at least 512"),
                    )
                })?;
        }
        if let Some(e) = self.expect_all_complete {
            s.expect_all_complete = e;
        }
        if let Some(d) = &self.device {
            d.apply(&c, &mut s)?;
        }
        if let Some(w) = &self.workload {
            w.apply(&c, &mut s)?;
        }
        if !self.groups.is_empty() {
            s.groups.clear();
        }
        for (i, g) in self.groups.iter().enumerate() {
            let key = KeyPath::top("group").index(i);
            if s.groups.iter().any(|x| x.id == g.id) {
                return Err(c.err(&key.key("id"), format!("group {} defined twice", g.id)));
            }
            let state = parse_group_state(s.transport, &g.state)
                .map_err(|e| c.err(&key.key("state"), e))?;
            s.groups.push(GroupCfg { id: g.id, state });
        }
        let first_group = s.groups.first().map_or(1, |g| g.id);
        if !self.paths.is_empty() {
            s.paths.clear();
        }
        if self.paths.len() > PATHS {
            return Err(c.err(
                &KeyPath::top("path").index(PATHS),
                format!("{} paths: at most {PATHS}", self.paths.len()),
            ));
        }
        for (i, p) in self.paths.iter().enumerate() {
            let key = KeyPath::top("path").index(i);
            let group = p.group.unwrap_or(first_group);
            if !s.groups.iter().any(|g| g.id == group) {
                return Err(c.err(&key.key("group"), format!("no [[group]] with id {group}")));
            }
            if p.relative_throughput.is_some_and(|rt| rt > 100) {
                return Err(c.err(&key.key("relative_throughput"), "0 to 100 (dm's range)"));
            }
            s.paths.push(p.to_cfg(group));
        }
        if let Some(line) = self.device.as_ref().and_then(|d| d.dm_table.as_ref()) {
            self.apply_dm_table(&c, &mut s, line)?;
        }
        s.faults.clear();
        let mut last = Duration::ZERO;
        for (i, f) in self.faults.iter().enumerate() {
            let key = KeyPath::top("fault").index(i);
            if f.at.0 < last {
                return Err(c.err(
                    &key.key("at"),
                    format!(
                        "{} is before the fault above it ({}): list faults in time order",
                        format_duration(f.at.0),
                        format_duration(last)
                    ),
                ));
            }
            last = f.at.0;
            let fault = fault_from_file(f).map_err(|(k, e)| c.err(&key.key(k), e))?;
            check_fault_refs(&s, &fault).map_err(|(k, e)| c.err(&key.key(k), e))?;
            s.faults.push((f.at.0, fault));
        }
        Ok(s)
    }

    /// `[device] dm_table`, once the paths are known: the keys it sets
    /// must not be given too (the file says each thing once), and a line
    /// the kernel or the fabric refuses names the word.
    fn apply_dm_table(&self, c: &Check<'_>, s: &mut Scenario, line: &str) -> Result<(), FileError> {
        let dev = KeyPath::top("device");
        let d = self.device.as_ref();
        for (given, key) in [
            (d.is_some_and(|d| d.policy.is_some()), "policy"),
            (d.is_some_and(|d| d.no_path.is_some()), "no_path"),
        ] {
            if given {
                return Err(c.err(
                    &dev.key(key),
                    format!("`{key}` and `dm_table` both set it: the table's selector and features decide, leave `{key}` out"),
                ));
            }
        }
        if let Some(i) = self
            .paths
            .iter()
            .position(|p| p.relative_throughput.is_some())
        {
            return Err(c.err(
                &KeyPath::top("path").index(i).key("relative_throughput"),
                "`dm_table` sets each path's relative throughput (service-time's per-path argument): leave it out",
            ));
        }
        s.set_dm_table(line)
            .map_err(|e| c.err(&dev.key("dm_table"), e.to_string()))
    }

    /// The file that stands for `s`, every key written (those a dm table
    /// sets left to it).
    pub fn from_scenario(s: &Scenario) -> FileScenario {
        let bs = u64::from(s.block_size);
        let by_table = s.dm_table.is_some();
        FileScenario {
            name: Some(s.name.clone()),
            hosts: Some(u32::from(s.hosts)),
            transport: Some(transport_name(s.transport).to_owned()),
            anatt: Some(Dur(Duration::from_secs(u64::from(s.anatt)))),
            block_size: Some(Size(bs)),
            expect_all_complete: Some(s.expect_all_complete),
            device: Some(FileDevice {
                policy: (!by_table).then(|| s.policy.name().to_owned()),
                no_path: (!by_table).then(|| no_path_name(s.no_path)),
                quiesce: Some(Dur(s.quiesce)),
                detect: Some(Dur(s.detect)),
                command_timeout: Some(Dur(s.command_timeout)),
                reservation: Some(
                    s.reservation
                        .map_or_else(|| String::from("none"), |t| pr_type_name(t).to_owned()),
                ),
                aptpl: Some(s.aptpl),
                dm_table: s.dm_table.clone(),
            }),
            workload: Some(FileWorkload {
                queue_depth: Some(s.workload.queue_depth),
                read_percent: Some(s.workload.read_percent),
                blocks: None,
                io_size: Some(Size(bs * u64::from(s.workload.blocks))),
                slots: Some(s.workload.slots),
                cpus: (s.workload.cpus != 1).then_some(s.workload.cpus),
                duration: Some(Dur(s.duration)),
                drain: Some(Dur(s.drain)),
            }),
            groups: s
                .groups
                .iter()
                .map(|g| FileGroup {
                    id: g.id,
                    state: group_state_name(s.transport, g.state).to_owned(),
                })
                .collect(),
            paths: s
                .paths
                .iter()
                .map(|p| FilePath {
                    group: Some(p.group),
                    latency: Some(Dur(p.latency)),
                    jitter: Some(Dur(p.jitter)),
                    bandwidth: Some(LinkRate(p.bandwidth)),
                    queue_depth: Some(p.queue_depth),
                    service: Some(Dur(p.service)),
                    media_rate: Some(Rate(p.media_rate)),
                    relative_throughput: (!by_table).then_some(p.relative_throughput),
                })
                .collect(),
            faults: s
                .faults
                .iter()
                .map(|&(at, f)| fault_to_file(at, f))
                .collect(),
        }
    }
}

impl FileDevice {
    fn apply(&self, c: &Check<'_>, s: &mut Scenario) -> Result<(), FileError> {
        let key = KeyPath::top("device");
        if let Some(p) = &self.policy {
            s.policy = parse_policy(p).map_err(|e| c.err(&key.key("policy"), e))?;
        }
        if let Some(p) = &self.no_path {
            s.no_path = parse_no_path(p).map_err(|e| c.err(&key.key("no_path"), e))?;
        }
        if let Some(Dur(d)) = self.quiesce {
            s.quiesce = d;
        }
        if let Some(Dur(d)) = self.detect {
            s.detect = d;
        }
        if let Some(Dur(d)) = self.command_timeout {
            s.command_timeout = d;
        }
        if let Some(r) = &self.reservation {
            s.reservation = if r == "none" {
                None
            } else {
                Some(
                    parse_pr_type(r)
                        .map_err(|e| c.err(&key.key("reservation"), format!("{e}, or none")))?,
                )
            };
        }
        if let Some(a) = self.aptpl {
            s.aptpl = a;
        }
        Ok(())
    }
}

impl FileWorkload {
    fn apply(&self, c: &Check<'_>, s: &mut Scenario) -> Result<(), FileError> {
        let key = KeyPath::top("workload");
        let w = &mut s.workload;
        if let Some(q) = self.queue_depth {
            if q == 0 {
                return Err(c.err(&key.key("queue_depth"), "at least 1"));
            }
            w.queue_depth = q;
        }
        if let Some(r) = self.read_percent {
            if r > 100 {
                return Err(c.err(&key.key("read_percent"), format!("{r}: 0 to 100")));
            }
            w.read_percent = r;
        }
        match (self.blocks, self.io_size) {
            (Some(_), Some(_)) => {
                return Err(c.err(&key.key("io_size"), "give `blocks` or `io_size`, not both"))
            }
            (Some(0), None) => return Err(c.err(&key.key("blocks"), "at least 1")),
            (Some(b), None) => w.blocks = b,
            (None, Some(Size(bytes))) => {
                let bs = u64::from(s.block_size);
                w.blocks = u32::try_from(bytes / bs)
                    .ok()
                    .filter(|&b| b > 0 && bytes % bs == 0)
                    .ok_or_else(|| {
                        c.err(
                            &key.key("io_size"),
                            format!("{bytes} bytes is not a whole number of {bs}-byte blocks"),
                        )
                    })?;
            }
            (None, None) => {}
        }
        if let Some(n) = self.slots {
            if n == 0 {
                return Err(c.err(&key.key("slots"), "at least 1"));
            }
            w.slots = n;
        }
        if let Some(n) = self.cpus {
            if !(1..=MAX_CPUS).contains(&n) {
                return Err(c.err(&key.key("cpus"), format!("{n}: 1 to {MAX_CPUS}")));
            }
            w.cpus = n;
        }
        if let Some(Dur(d)) = self.duration {
            s.duration = d;
        }
        if let Some(Dur(d)) = self.drain {
            s.drain = d;
        }
        Ok(())
    }
}

impl FilePath {
    fn to_cfg(&self, group: u16) -> PathCfg {
        let d = PathCfg::fast(group);
        PathCfg {
            group,
            latency: self.latency.map_or(d.latency, |x| x.0),
            jitter: self.jitter.map_or(d.jitter, |x| x.0),
            bandwidth: self.bandwidth.map_or(d.bandwidth, |x| x.0),
            queue_depth: self.queue_depth.unwrap_or(d.queue_depth),
            service: self.service.map_or(d.service, |x| x.0),
            media_rate: self.media_rate.map_or(d.media_rate, |x| x.0),
            relative_throughput: self.relative_throughput.unwrap_or(d.relative_throughput),
        }
    }
}
