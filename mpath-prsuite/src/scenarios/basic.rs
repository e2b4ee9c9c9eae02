//! Registration and the second path: a nexus that is not registered gets
//! RESERVATION CONFLICT under a registrants-only type, so every path is
//! registered before it carries I/O, new and returning ones included; and
//! the key's life cycle (register, replace, release, clear, unregister)
//! leaves on the target exactly what READ KEYS should show.

use mpath_core::reservation::{PrCommand, PrOp};
use mpath_core::Outcome;

use super::{
    done, done_pr, ensure, host, join_commands, keys, pattern, reservation, setup, verify,
    write_range, ScenarioResult, JOIN, OURS, OURS_NEW, RTYPE,
};
use crate::fabric::Fabric;

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

/// The key's life cycle, with READ KEYS (and READ RESERVATION) from the
/// other host after each step: register on every nexus, reserve, replace
/// the key (REGISTER AND IGNORE EXISTING KEY with a new key: SPC-4
/// 5.13.11.2.4 keeps the reservation with the new key), write, release,
/// reserve again, clear, register again, unregister.
pub fn key_lifecycle<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    let want = |k: &[u64], key: u64, what: &str| {
        ensure(k.len() == n && k.iter().all(|&x| x == key), || {
            format!("after {what}: keys {k:x?}, want {n} x {key:#x}")
        })
    };
    setup(&mut h)?;
    want(&keys(h.fabric())?, OURS, "register")?;
    let rep = h
        .op(PrOp::Register(OURS_NEW))
        .map_err(|e| format!("replace key: {e}"))?;
    ensure(rep.registered.count_ones() as usize == n, || {
        format!("replaced on {:#b}", rep.registered)
    })?;
    want(&keys(h.fabric())?, OURS_NEW, "replace key")?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((OURS_NEW, RTYPE)), || {
        format!("reservation after replacing the key: {r:x?}")
    })?;
    write_range(&mut h, 0..(2 * n as u64), 7, &mut [0; 8])?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    h.op(PrOp::Release).map_err(|e| format!("release: {e}"))?;
    let r = reservation(h.fabric())?;
    ensure(r.is_none(), || format!("after release: {r:x?}"))?;
    want(&keys(h.fabric())?, OURS_NEW, "release")?;
    h.op(PrOp::Reserve(RTYPE))
        .map_err(|e| format!("reserve: {e}"))?;
    h.op(PrOp::Clear).map_err(|e| format!("clear: {e}"))?;
    let (k, r) = (keys(h.fabric())?, reservation(h.fabric())?);
    ensure(k.is_empty() && r.is_none(), || {
        format!("after clear: {k:x?} {r:x?}")
    })?;
    setup(&mut h)?;
    want(&keys(h.fabric())?, OURS, "register again")?;
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
    verify(&mut h, 0..(2 * n as u64), 7)?;
    done(
        &h,
        format!(
            "keys {n} x old, {n} x new (reservation kept with the new key), {n} after release, \
             0 after clear, 0 after unregister"
        ),
    )
}
