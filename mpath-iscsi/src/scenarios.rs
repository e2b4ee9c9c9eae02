//! The persistent-reservation scenarios, written once against [`Fabric`]:
//! the real-target suite runs them on tgt, a simulator can run them on its
//! own fabric. Each takes a fresh fabric and returns its details, or why it
//! failed; [`run_suite`] collects [`Row`]s and [`table`] prints them.

use std::fmt::Write as _;

use mpath_core::reservation::{PrCommand, PrError, PrEvent, PrOp, PrType};
use mpath_core::{DeviceEvent, IoError, Outcome};

use crate::fabric::Fabric;
use crate::host::{Host, HostError, Sent};
use crate::pr_transport::{PrAnswer, PrExchange};

/// Our host's reservation key.
pub const OURS: u64 = 0x6d70_6174_6800_00a1;
/// The other host's key.
pub const THEIRS: u64 = 0x6d70_6174_6800_00b2;
/// The type the scenarios reserve: the one clusters use over multipath.
pub const RTYPE: PrType = PrType::WriteExclusiveRegistrantsOnly;

/// A scenario's outcome: details on success, the reason on failure.
pub type ScenarioResult = Result<String, String>;

/// One line of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Scenario name.
    pub scenario: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What it saw.
    pub details: String,
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

/// Every scenario, in table order.
pub fn all<F: Fabric>() -> Vec<Scenario<F>> {
    vec![
        Scenario {
            name: "second session conflicts until registered",
            nexuses: 2,
            run: unregistered_session_conflicts,
        },
        Scenario {
            name: "register, reserve, write on every path",
            nexuses: 3,
            run: register_reserve_write_everywhere,
        },
        Scenario {
            name: "new path registered before first write",
            nexuses: 2,
            run: new_path_registered_first,
        },
        Scenario {
            name: "holder cut mid-write: reservation moves",
            nexuses: 3,
            run: holder_cut_mid_write,
        },
        Scenario {
            name: "other host preempts: fenced",
            nexuses: 2,
            run: preempted_and_fenced,
        },
        Scenario {
            name: "release, clear, unregister: no key left",
            nexuses: 2,
            run: no_key_left_behind,
        },
        Scenario {
            name: "registration on a down path completes on return",
            nexuses: 3,
            run: down_path_registered_on_return,
        },
    ]
}

/// Run every scenario on a fresh fabric from `make(nexuses)`.
pub fn run_suite<F: Fabric>(mut make: impl FnMut(usize) -> Result<F, String>) -> Vec<Row> {
    all::<F>()
        .into_iter()
        .map(|s| {
            let r = make(s.nexuses).and_then(|mut f| (s.run)(&mut f));
            Row {
                scenario: s.name,
                passed: r.is_ok(),
                details: r.unwrap_or_else(|e| e),
            }
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
    let _ = writeln!(s, "{:<w$} | result | details", "scenario");
    let _ = writeln!(s, "{}-|--------|--------", "-".repeat(w));
    for r in rows {
        let res = if r.passed { "pass" } else { "FAIL" };
        let _ = writeln!(s, "{:<w$} | {res:<6} | {}", r.scenario, r.details);
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

/// A block whose bytes say which block and which pass wrote it.
pub fn pattern(bs: usize, lba: u64, pass: u8) -> Vec<u8> {
    (0..bs)
        .map(|k| {
            let x = lba.wrapping_mul(31).wrapping_add(k as u64 * 7) as u8;
            x ^ pass
        })
        .collect()
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

fn keys<F: Fabric>(f: &mut F) -> Result<Vec<u64>, String> {
    match f.other_host_pr(PrCommand::ReadKeys).answer {
        PrAnswer::Keys(k) => Ok(k),
        other => Err(format!("READ KEYS: {other:?}")),
    }
}

fn reservation<F: Fabric>(f: &mut F) -> Result<Option<(u64, PrType)>, String> {
    match f.other_host_pr(PrCommand::ReadReservation).answer {
        PrAnswer::Reservation(r) => Ok(r),
        other => Err(format!("READ RESERVATION: {other:?}")),
    }
}

fn setup<F: Fabric>(h: &mut Host<'_, F>) -> Result<(), String> {
    let n = h.fabric().nexus_count();
    let rep = h
        .op(PrOp::Register(OURS))
        .map_err(|e| format!("register: {e}"))?;
    ensure(rep.registered.count_ones() as usize == n, || {
        format!("registered {:#b} of {n} nexuses", rep.registered)
    })?;
    h.op(PrOp::Reserve(RTYPE))
        .map_err(|e| format!("reserve: {e}"))?;
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

/// The behaviour the issue saw on tgt: with WE-RO registered through one
/// session only, a write through a second session of the same initiator
/// conflicts; after registering that session too, it succeeds.
pub fn unregistered_session_conflicts<F: Fabric>(f: &mut F) -> ScenarioResult {
    let bs = f.block_size();
    let data = pattern(bs, 0, 1);
    done_pr(f.pr(0, PrCommand::Register { key: OURS }), "register")?;
    let reserve = PrCommand::Reserve {
        key: OURS,
        rtype: RTYPE,
    };
    done_pr(f.pr(0, reserve), "reserve")?;
    let before = f.write(1, 0, &data).outcome;
    ensure(before == Outcome::ReservationConflict, || {
        format!("unregistered session wrote: {before:?}")
    })?;
    done_pr(f.pr(1, PrCommand::Register { key: OURS }), "register 2")?;
    let after = f.write(1, 0, &data).outcome;
    ensure(after == Outcome::Success, || {
        format!("registered session: {after:?}")
    })?;
    done_pr(f.pr(0, PrCommand::Clear { key: OURS }), "clear")?;
    Ok(String::from(
        "unregistered: RESERVATION CONFLICT; registered: GOOD",
    ))
}

/// Register on every nexus, reserve, then write through all of them.
pub fn register_reserve_write_everywhere<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    setup(&mut h)?;
    let mut used = vec![0; n];
    write_range(&mut h, 0..(4 * n as u64), 1, &mut used)?;
    ensure(used.iter().all(|&u| u > 0), || {
        format!("writes per nexus {used:?}")
    })?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    verify(&mut h, 0..(4 * n as u64), 1)?;
    let k = keys(h.fabric())?;
    ensure(k.len() == n && k.iter().all(|&x| x == OURS), || {
        format!("keys on target {k:x?}")
    })?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((OURS, RTYPE)), || format!("reservation {r:x?}"))?;
    done(
        &h,
        format!(
            "{} writes over {n} nexuses {used:?}, 0 conflicts, {n} keys",
            4 * n
        ),
    )
}

/// A nexus that appears while a key is set is registered before it
/// carries a write.
pub fn new_path_registered_first<F: Fabric>(f: &mut F) -> ScenarioResult {
    let mut h = host(f)?;
    setup(&mut h)?;
    let i = h.fabric().add_nexus().map_err(|e| e.to_string())?;
    h.attach(i).map_err(|e| format!("attach: {e}"))?;
    ensure(!h.selectable(i), || {
        String::from("new path selectable before registration")
    })?;
    h.settle().map_err(|e| format!("settle: {e}"))?;
    ensure(h.selectable(i), || {
        String::from("new path not admitted after registering")
    })?;
    let mut used = vec![0; i + 1];
    write_range(&mut h, 0..12, 2, &mut used)?;
    let joined = join_commands(&h.log, 0, i);
    ensure(joined == JOIN, || {
        format!("commands on the new nexus before its first I/O: {joined:?}")
    })?;
    ensure(used.get(i).copied().unwrap_or(0) > 0, || {
        format!("no write went to the new nexus {used:?}")
    })?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    verify(&mut h, 0..12, 2)?;
    done(
        &h,
        format!("nexus {i}: REGISTER first, then writes {used:?}, 0 conflicts"),
    )
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

/// Writes of the in-flight batch: alternately one block (carried whole in
/// the command PDU as immediate data) and [`LARGE_BLOCKS`] blocks (more
/// than tgt's 8 KiB MaxRecvDataSegmentLength: the rest waits for an R2T).
pub const BATCH_WRITES: usize = 12;
/// Blocks of a large batch write.
pub const LARGE_BLOCKS: u64 = 32;

/// The nexus holding the reservation is cut while writes are outstanding
/// on it: a batch of writes is queued on every nexus at once (the holder's
/// share outstanding together), the holder's connection is deleted before
/// they complete, every write that did not complete GOOD goes back to the
/// core as a path error and is sent again on a live nexus after the
/// reservation moved, writes continue, and every block reads back.
pub fn holder_cut_mid_write<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    setup(&mut h)?;
    let bs = h.fabric().block_size();
    let old = h.holder().ok_or("no holder after reserve")?;
    let mut used = vec![0; n];
    write_range(&mut h, 0..8, 3, &mut used)?;

    let mut lba = 8;
    let mut writes: Vec<(u64, Vec<u8>)> = Vec::new();
    for k in 0..BATCH_WRITES {
        let blocks = if k % 2 == 0 { 1 } else { LARGE_BLOCKS };
        let data: Vec<u8> = (lba..lba + blocks)
            .flat_map(|b| pattern(bs, b, 3))
            .collect();
        writes.push((lba, data));
        lba += blocks;
    }
    let batch_end = lba;
    let stats = h
        .write_batch(&writes, Some(old))
        .map_err(|e| format!("write batch: {e}"))?;
    println!(
        "holder cut mid-write: {} write(s) in flight on nexus {old} at the cut, {} failed over \
         (LBAs {:?}), re-issued on nexuses {:?}, completed per nexus {:?}",
        stats.in_flight_at_cut,
        stats.failed.len(),
        stats.failed,
        stats.reissued.iter().map(|r| r.1).collect::<Vec<_>>(),
        stats.completed_on
    );
    ensure(stats.in_flight_at_cut > 0, || {
        String::from("no write was in flight at the cut")
    })?;
    ensure(!stats.failed.is_empty(), || {
        String::from("every write in flight completed GOOD: nothing was failed over")
    })?;
    for &lba in &stats.failed {
        ensure(
            stats
                .reissued
                .iter()
                .any(|r| r.0 == lba && r.1 != old && r.2),
            || format!("write at {lba} not re-issued on a new holder after the move"),
        )?;
    }
    ensure(stats.reissued.iter().all(|r| r.1 != old && r.2), || {
        format!(
            "re-issued before the move or on the cut nexus: {:?}",
            stats.reissued
        )
    })?;
    let moved = h.events.iter().find_map(|e| match e {
        DeviceEvent::Reservation(PrEvent::Moved { holder }) => Some(*holder),
        _ => None,
    });
    let new = moved.and_then(|p| h.nexus_of(p)).ok_or("no Moved event")?;
    ensure(new != old, || format!("holder still nexus {old}"))?;
    ensure(h.holder() == Some(new), || {
        format!("holder {:?}", h.holder())
    })?;
    ensure(!h.coordinator().is_quiesced(), || {
        String::from("still quiesced")
    })?;

    // Writes continue on the live nexuses.
    let end = batch_end + 16;
    write_range(&mut h, batch_end..end, 3, &mut used)?;
    ensure(
        used.get(old).copied().unwrap_or(0) > 0 && used.iter().filter(|&&u| u > 0).count() > 1,
        || format!("writes per nexus {used:?}"),
    )?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    verify(&mut h, 0..end, 3)?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((OURS, RTYPE)), || format!("reservation {r:x?}"))?;
    let k = keys(h.fabric())?;
    ensure(k.len() == n - 1 && k.iter().all(|&x| x == OURS), || {
        format!("keys after the move {k:x?}")
    })?;
    done(
        &h,
        format!(
        "holder {old} -> {new}; {} write(s) in flight at the cut, {} failed over and re-issued \
         after the move; {end} blocks verified, {} live keys",
        stats.in_flight_at_cut,
        stats.failed.len(),
        k.len()
    ),
    )
}

/// Another host preempts our key: we are fenced, I/O fails with a clear
/// error, nothing re-registers behind the fence.
pub fn preempted_and_fenced<F: Fabric>(f: &mut F) -> ScenarioResult {
    let mut h = host(f)?;
    setup(&mut h)?;
    let bs = h.fabric().block_size();
    write_range(&mut h, 0..4, 4, &mut [0; 8])?;
    let register = PrCommand::Register { key: THEIRS };
    done_pr(h.fabric().other_host_pr(register), "other host register")?;
    let preempt = PrCommand::Preempt {
        key: THEIRS,
        victim: OURS,
        rtype: RTYPE,
        abort: false,
    };
    done_pr(h.fabric().other_host_pr(preempt), "preempt")?;
    let logged = h.log.len();
    let err = h.write(4, &pattern(bs, 4, 4));
    ensure(err == Err(HostError::Io(IoError::Fenced)), || {
        format!("write after preemption: {err:?}")
    })?;
    ensure(h.coordinator().is_fenced(), || String::from("not fenced"))?;
    ensure(
        h.events
            .contains(&DeviceEvent::Reservation(PrEvent::Fenced)),
        || String::from("no Fenced event"),
    )?;
    let again = h.write(5, &pattern(bs, 5, 4));
    ensure(again == Err(HostError::Io(IoError::Fenced)), || {
        format!("second write: {again:?}")
    })?;
    let rereg = h.log[logged..]
        .iter()
        .any(|(_, s)| matches!(s, Sent::Pr(PrCommand::Register { .. })));
    ensure(!rereg, || String::from("re-registered behind the fence"))?;
    let reserve = h.op(PrOp::Reserve(RTYPE));
    ensure(
        reserve == Err(HostError::Reservation(PrError::Fenced)),
        || format!("reserve while fenced: {reserve:?}"),
    )?;
    let raw = h.fabric().write(0, 6, &pattern(bs, 6, 4)).outcome;
    ensure(raw == Outcome::ReservationConflict, || {
        format!("target let a fenced nexus write: {raw:?}")
    })?;
    let theirs = h.fabric().other_host_write(6, &pattern(bs, 6, 5)).outcome;
    ensure(theirs == Outcome::Success, || {
        format!("other host write: {theirs:?}")
    })?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((THEIRS, RTYPE)), || format!("reservation {r:x?}"))?;
    let clear = PrCommand::Clear { key: THEIRS };
    done_pr(h.fabric().other_host_pr(clear), "other host clear")?;
    done(
        &h,
        format!(
            "I/O error \"{}\"; target: our writes conflict",
            IoError::Fenced
        ),
    )
}

/// Release, clear and unregister each leave nothing of ours behind.
pub fn no_key_left_behind<F: Fabric>(f: &mut F) -> ScenarioResult {
    let mut h = host(f)?;
    setup(&mut h)?;
    h.op(PrOp::Release).map_err(|e| format!("release: {e}"))?;
    let r = reservation(h.fabric())?;
    ensure(r.is_none(), || format!("after release: {r:x?}"))?;
    h.op(PrOp::Reserve(RTYPE))
        .map_err(|e| format!("reserve: {e}"))?;
    h.op(PrOp::Clear).map_err(|e| format!("clear: {e}"))?;
    let (k, r) = (keys(h.fabric())?, reservation(h.fabric())?);
    ensure(k.is_empty() && r.is_none(), || {
        format!("after clear: {k:x?} {r:x?}")
    })?;
    setup(&mut h)?;
    h.op(PrOp::Release).map_err(|e| format!("release: {e}"))?;
    h.op(PrOp::Unregister)
        .map_err(|e| format!("unregister: {e}"))?;
    let (k, r) = (keys(h.fabric())?, reservation(h.fabric())?);
    ensure(k.is_empty() && r.is_none(), || {
        format!("after unregister: {k:x?} {r:x?}")
    })?;
    let rep = h
        .op(PrOp::ReadKeys)
        .map_err(|e| format!("read keys: {e}"))?;
    ensure(rep.keys == Some((0, 0)), || {
        format!("read keys {:?}", rep.keys)
    })?;
    done(
        &h,
        String::from("release: no reservation; clear and unregister: 0 keys"),
    )
}

/// Registration fails on a nexus that is down; it is completed when the
/// nexus returns, before that path carries I/O.
pub fn down_path_registered_on_return<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let down = n - 1;
    let mut h = host(f)?;
    h.fabric().cut_nexus(down).map_err(|e| e.to_string())?;
    let rep = h
        .op(PrOp::Register(OURS))
        .map_err(|e| format!("register: {e}"))?;
    let p = h.path(down).ok_or("no path")?;
    ensure(rep.failed == 1 << p.slot(), || {
        format!("failed mask {:#b}", rep.failed)
    })?;
    ensure(rep.registered.count_ones() as usize == n - 1, || {
        format!("registered mask {:#b}", rep.registered)
    })?;
    ensure(!h.coordinator().admitted(p), || {
        String::from("down path admitted")
    })?;
    let k = keys(h.fabric())?;
    ensure(k.len() == n - 1, || format!("keys while down {k:x?}"))?;
    h.op(PrOp::Reserve(RTYPE))
        .map_err(|e| format!("reserve: {e}"))?;
    h.fabric().restore_nexus(down).map_err(|e| e.to_string())?;
    let before = h.log.len();
    h.path_returned(down)
        .map_err(|e| format!("path returned: {e}"))?;
    let joined = join_commands(&h.log, before, down);
    ensure(joined == JOIN, || {
        format!("commands on the returned nexus before its first I/O: {joined:?}")
    })?;
    ensure(h.coordinator().admitted(p), || {
        String::from("returned path not admitted")
    })?;
    let k = keys(h.fabric())?;
    ensure(k.len() == n, || format!("keys after return {k:x?}"))?;
    let mut used = vec![0; n];
    write_range(&mut h, 0..(3 * n as u64), 6, &mut used)?;
    ensure(used.iter().all(|&u| u > 0), || {
        format!("writes per nexus {used:?}")
    })?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    done(
        &h,
        format!("failed on nexus {down}, registered on return; writes {used:?}, 0 conflicts"),
    )
}
