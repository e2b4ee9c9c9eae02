//! The persistent-reservation scenarios, written once against [`Fabric`]:
//! the real-target suite runs them on tgt and LIO, `mpath-prtest` on any
//! target given by its portals, mpath-sim on its simulated logical unit
//! (`SimFabric`). Each takes a fresh fabric and returns its details, or
//! why it failed, or why the target does not support what it exercises
//! ([`Unmet::Unsupported`]: the target rejected an option with ILLEGAL
//! REQUEST, which is a property of the target, not a failure);
//! [`run_suite`] collects [`Row`]s and [`table`] prints them.
//!
//! One concept per file: [`basic`] (registration and the second path),
//! [`moves`] (the holder's nexus dies, the type changes, the reservation
//! is handed to another host through the coordinator), [`fence`]
//! (another host preempts), [`types`] (what each reservation type lets
//! each nexus do), [`raw`] (options at the command level: READ FULL
//! STATUS, ALL_TG_PT, SPEC_I_PT, REGISTER AND MOVE), [`aptpl`] (APTPL,
//! and registrations across a target restart where the fabric can restart
//! its target).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mpath_core::reservation::{PrCommand, PrOp, PrType};
use serde::Serialize;

use crate::fabric::Fabric;
use crate::host::{Host, Sent};
use crate::pr_transport::{PrAnswer, PrExchange};

pub mod aptpl;
pub mod basic;
pub mod fence;
pub mod moves;
pub mod raw;
pub mod types;

/// Our host's reservation key.
pub const OURS: u64 = 0x6d70_6174_6800_00a1;
/// The key our host changes to when it replaces its key.
pub const OURS_NEW: u64 = 0x6d70_6174_6800_00a3;
/// The other host's key.
pub const THEIRS: u64 = 0x6d70_6174_6800_00b2;
/// The type the scenarios reserve: the one clusters use over multipath.
pub const RTYPE: PrType = PrType::WriteExclusiveRegistrantsOnly;

/// How a scenario ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything it checked held.
    Passed,
    /// Something it checked did not hold.
    Failed,
    /// The target rejected a feature the scenario needs (ILLEGAL
    /// REQUEST for an option or service action), or the fabric cannot do
    /// what it needs (restart the target): not a failure, and never
    /// counted as a pass.
    Unsupported,
}

impl Verdict {
    /// The word in the table.
    pub const fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "pass",
            Verdict::Failed => "FAIL",
            Verdict::Unsupported => "unsupported",
        }
    }
}

/// Why a scenario did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmet {
    /// A check failed: what was seen.
    Failed(String),
    /// The target does not support a feature: which, and its answer.
    Unsupported(String),
}

impl From<String> for Unmet {
    fn from(s: String) -> Self {
        Unmet::Failed(s)
    }
}

impl From<&str> for Unmet {
    fn from(s: &str) -> Self {
        Unmet::Failed(s.to_owned())
    }
}

/// A scenario's outcome: details on success, else why not.
pub type ScenarioResult = Result<String, Unmet>;

/// One line of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Scenario name.
    pub scenario: &'static str,
    /// How it ended.
    pub result: Verdict,
    /// What it saw.
    pub details: String,
}

impl Row {
    /// The row for scenario `name` ending as `r`.
    pub fn new(name: &'static str, r: ScenarioResult) -> Self {
        let (result, details) = match r {
            Ok(d) => (Verdict::Passed, d),
            Err(Unmet::Failed(d)) => (Verdict::Failed, d),
            Err(Unmet::Unsupported(d)) => (Verdict::Unsupported, d),
        };
        Row {
            scenario: name,
            result,
            details,
        }
    }
}

/// A scenario: its name, the nexuses it starts with, and its body.
#[derive(Clone, Copy, Debug)]
pub struct Scenario<F: Fabric> {
    /// Name in the table.
    pub name: &'static str,
    /// Nexuses of our host when it starts.
    pub nexuses: usize,
    /// The body.
    pub run: fn(&mut F) -> ScenarioResult,
}

const fn sc<F: Fabric>(
    name: &'static str,
    nexuses: usize,
    run: fn(&mut F) -> ScenarioResult,
) -> Scenario<F> {
    Scenario { name, nexuses, run }
}

/// Every scenario, in table order.
pub fn all<F: Fabric>() -> Vec<Scenario<F>> {
    vec![
        sc(
            "second session conflicts until registered",
            2,
            basic::unregistered_session_conflicts,
        ),
        sc(
            "register, reserve, write on every path",
            3,
            basic::register_reserve_write_everywhere,
        ),
        sc(
            "new path registered before first write",
            2,
            basic::new_path_registered_first,
        ),
        sc(
            "register, replace key, release, clear, unregister",
            2,
            basic::key_lifecycle,
        ),
        sc(
            "registration on a down path completes on return",
            3,
            basic::down_path_registered_on_return,
        ),
        sc(
            "holder cut mid-write: reservation moves",
            3,
            moves::holder_cut_mid_write,
        ),
        sc(
            "holder dies with no path up: moved on return",
            2,
            moves::holder_dies_with_no_path_up,
        ),
        sc(
            "type change under load: WE-RO, EA-RO, WE, WE-RO",
            2,
            moves::type_change_under_load,
        ),
        sc(
            "other host preempts: fenced",
            2,
            fence::preempted_and_fenced,
        ),
        sc(
            "other host preempts and aborts: fenced",
            2,
            fence::preempted_and_aborted,
        ),
        sc(
            "path restored after a preemption: fenced, no write lands",
            2,
            fence::restored_after_preemption,
        ),
        sc("type WE: access per SPC-4", 2, types::write_exclusive),
        sc("type EA: access per SPC-4", 2, types::exclusive_access),
        sc(
            "type WE-RO: access per SPC-4",
            2,
            types::write_exclusive_registrants_only,
        ),
        sc(
            "type EA-RO: access per SPC-4",
            2,
            types::exclusive_access_registrants_only,
        ),
        sc(
            "type WE-AR: access per SPC-4",
            2,
            types::write_exclusive_all_registrants,
        ),
        sc(
            "type EA-AR: access per SPC-4",
            2,
            types::exclusive_access_all_registrants,
        ),
        sc(
            "all registrants: release, then EA-AR to WE-RO",
            2,
            types::all_registrants_release_and_change,
        ),
        sc(
            "two hosts race: the other host reserves first",
            2,
            types::other_host_reserves_first,
        ),
        sc(
            "READ FULL STATUS agrees with the coordinator",
            2,
            raw::full_status_agrees,
        ),
        sc("ALL_TG_PT registration", 2, raw::all_target_ports),
        sc("APTPL registration", 1, aptpl::persist_through_power_loss),
        sc(
            "APTPL: registrations survive a target restart",
            2,
            aptpl::survives_a_target_restart,
        ),
        sc(
            "SPEC_I_PT registers the other host",
            1,
            raw::specify_initiator_ports,
        ),
        sc(
            "REGISTER AND MOVE to the other host",
            1,
            raw::register_and_move,
        ),
        sc(
            "REGISTER AND MOVE through the coordinator",
            2,
            moves::register_and_move_through_the_coordinator,
        ),
    ]
}

/// Run every scenario on a fresh fabric from `make(nexuses)`; a fabric
/// that cannot be made fails its scenario.
pub fn run_suite<F: Fabric>(mut make: impl FnMut(usize) -> Result<F, String>) -> Vec<Row> {
    all::<F>()
        .into_iter()
        .map(|s| {
            let r = make(s.nexuses)
                .map_err(Unmet::Failed)
                .and_then(|mut f| (s.run)(&mut f));
            Row::new(s.name, r)
        })
        .collect()
}

/// The rows as a text table: scenario | result | details.
pub fn table(rows: &[Row]) -> String {
    let w = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut s = String::new();
    // Writing into a String cannot fail; `writeln!` returns a Result only
    // because it also writes to sinks that can.
    let _ = writeln!(s, "{:<w$} | result      | details", "scenario");
    let _ = writeln!(s, "{}-|-------------|--------", "-".repeat(w));
    for r in rows {
        let _ = writeln!(
            s,
            "{:<w$} | {:<11} | {}",
            r.scenario,
            r.result.label(),
            r.details
        );
    }
    s
}

fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(msg())
    }
}

/// A block whose bytes say which block and which pass (data generation)
/// wrote it.
pub fn pattern(bs: usize, lba: u64, pass: u8) -> Vec<u8> {
    (0..bs)
        .map(|k| {
            let x = lba.wrapping_mul(31).wrapping_add(k as u64 * 7) as u8;
            x ^ pass
        })
        .collect()
}

/// The short name of a reservation type.
pub fn type_name(t: PrType) -> &'static str {
    match t {
        PrType::WriteExclusive => "WE",
        PrType::ExclusiveAccess => "EA",
        PrType::WriteExclusiveRegistrantsOnly => "WE-RO",
        PrType::ExclusiveAccessRegistrantsOnly => "EA-RO",
        PrType::WriteExclusiveAllRegistrants => "WE-AR",
        PrType::ExclusiveAccessAllRegistrants => "EA-AR",
    }
}

/// A host on every nexus of `f`, every one of them added.
fn host<F: Fabric>(f: &mut F) -> Result<Host<'_, F>, String> {
    let h = Host::new(f).map_err(|e| format!("host: {e}"))?;
    clean(&h)?;
    Ok(h)
}

/// Nothing the host fed in was refused or answered unusably.
fn clean<F: Fabric>(h: &Host<'_, F>) -> Result<(), String> {
    ensure(h.refused.is_empty(), || format!("refused: {:?}", h.refused))
}

/// The scenario's details, once nothing was refused along the way.
fn done<F: Fabric>(h: &Host<'_, F>, details: String) -> ScenarioResult {
    clean(h)?;
    Ok(details)
}

/// `Ok` if the target answered a PR command GOOD, else what it said.
fn done_pr(x: PrExchange, what: &str) -> Result<(), String> {
    ensure(x.answer == PrAnswer::Done, || {
        format!("{what}: {:?}", x.answer)
    })
}

/// Every registered key, read by the other host.
fn keys<F: Fabric>(f: &mut F) -> Result<Vec<u64>, String> {
    match f.other_host_pr(PrCommand::ReadKeys).answer {
        PrAnswer::Keys(k) => Ok(k),
        other => Err(format!("READ KEYS: {other:?}")),
    }
}

/// How many registrations carry `key`.
fn count(keys: &[u64], key: u64) -> usize {
    keys.iter().filter(|&&k| k == key).count()
}

/// The reservation, read by the other host.
fn reservation<F: Fabric>(f: &mut F) -> Result<Option<(u64, PrType)>, String> {
    match f.other_host_pr(PrCommand::ReadReservation).answer {
        PrAnswer::Reservation(r) => Ok(r),
        other => Err(format!("READ RESERVATION: {other:?}")),
    }
}

/// Register [`OURS`] on every nexus and reserve [`RTYPE`].
fn setup<F: Fabric>(h: &mut Host<'_, F>) -> Result<(), String> {
    setup_with(h, RTYPE)
}

/// Register [`OURS`] on every nexus and reserve `rtype`.
fn setup_with<F: Fabric>(h: &mut Host<'_, F>, rtype: PrType) -> Result<(), String> {
    let n = h.fabric().nexus_count();
    let rep = h
        .op(PrOp::Register(OURS))
        .map_err(|e| format!("register: {e}"))?;
    ensure(rep.registered.count_ones() as usize == n, || {
        format!("registered {:#b} of {n} nexuses", rep.registered)
    })?;
    h.op(PrOp::Reserve(rtype))
        .map_err(|e| format!("reserve {}: {e}", type_name(rtype)))?;
    Ok(())
}

fn write_range<F: Fabric>(
    h: &mut Host<'_, F>,
    lbas: std::ops::Range<u64>,
    pass: u8,
    used: &mut [usize],
) -> Result<(), String> {
    let bs = h.fabric().block_size();
    for lba in lbas {
        let i = h
            .write(lba, &pattern(bs, lba, pass))
            .map_err(|e| format!("write {lba}: {e}"))?;
        if let Some(u) = used.get_mut(i) {
            *u += 1;
        }
    }
    Ok(())
}

fn verify<F: Fabric>(
    h: &mut Host<'_, F>,
    lbas: std::ops::Range<u64>,
    pass: u8,
) -> Result<(), String> {
    let bs = h.fabric().block_size();
    for lba in lbas {
        let (_, got) = h.read(lba, 1).map_err(|e| format!("read {lba}: {e}"))?;
        ensure(got == pattern(bs, lba, pass), || {
            format!("block {lba} does not read back")
        })?;
    }
    Ok(())
}

/// Which data generation each block should hold: every write gets a
/// generation of its own, so a write that lands late (a retry's first
/// attempt, a fenced host's write) shows up as the wrong generation.
#[derive(Debug, Default)]
struct Ledger {
    blocks: BTreeMap<u64, u8>,
    next: u8,
}

impl Ledger {
    /// A fresh generation (never 0, which a zeroed disk would match).
    fn generation(&mut self) -> u8 {
        self.next = self.next.wrapping_add(1).max(1);
        self.next
    }

    /// The data for `blocks` blocks at `lba` in a fresh generation,
    /// recorded as what those blocks hold once it lands.
    fn data(&mut self, bs: usize, lba: u64, blocks: u64) -> Vec<u8> {
        let g = self.generation();
        (lba..lba + blocks)
            .flat_map(|b| {
                self.blocks.insert(b, g);
                pattern(bs, b, g)
            })
            .collect()
    }

    /// Write one block at `lba` in a fresh generation through the host;
    /// the nexus that completed it.
    fn write<F: Fabric>(&mut self, h: &mut Host<'_, F>, lba: u64) -> Result<usize, String> {
        let bs = h.fabric().block_size();
        let data = self.data(bs, lba, 1);
        h.write(lba, &data).map_err(|e| format!("write {lba}: {e}"))
    }

    /// Read every block back through the host and compare.
    fn verify<F: Fabric>(&self, h: &mut Host<'_, F>) -> Result<usize, String> {
        let bs = h.fabric().block_size();
        for (&lba, &g) in &self.blocks {
            let (_, got) = h.read(lba, 1).map_err(|e| format!("read {lba}: {e}"))?;
            if got != pattern(bs, lba, g) {
                let seen = (0..=u8::MAX).find(|&x| got == pattern(bs, lba, x));
                return Err(format!(
                    "block {lba}: want generation {g}, read {}",
                    seen.map_or(String::from("other data"), |x| format!("generation {x}"))
                ));
            }
        }
        Ok(self.blocks.len())
    }
}

/// How a nexus joins a registration that already exists: READ KEYS (our
/// key must still be registered somewhere, or we were preempted), REGISTER
/// AND IGNORE EXISTING KEY, READ KEYS again (no preemption landed in
/// between), and only then I/O.
const JOIN: [Sent; 3] = [
    Sent::Pr(PrCommand::ReadKeys),
    Sent::Pr(PrCommand::Register { key: OURS }),
    Sent::Pr(PrCommand::ReadKeys),
];

/// The commands sent on `nexus` from `log[from..]` up to its first I/O.
fn join_commands(log: &[(usize, Sent)], from: usize, nexus: usize) -> Vec<Sent> {
    log.get(from..)
        .unwrap_or_default()
        .iter()
        .filter(|(n, _)| *n == nexus)
        .map(|(_, s)| *s)
        .take_while(|s| matches!(s, Sent::Pr(_)))
        .collect()
}
