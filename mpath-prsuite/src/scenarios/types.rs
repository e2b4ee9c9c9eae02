//! What each reservation type lets each nexus do (SPC-4 5.13.1, table
//! "SPC commands that are allowed in the presence of various
//! reservations"; READ and WRITE rows): our host reserves through the
//! device, writes and reads through it (the device must send I/O only
//! where the type allows: WE writes and EA reads and writes only on the
//! holder's nexus), and the target is asked directly what it allows each
//! of our nexuses and the other host, which is not registered.

use mpath_core::reservation::{PrCommand, PrError, PrOp, PrType};
use mpath_core::{IoError, Outcome};

use super::raw::{io_outcome, Via};
use super::{
    done, done_pr, ensure, host, reservation, setup_with, type_name, Ledger, ScenarioResult, OURS,
    THEIRS,
};
use crate::fabric::Fabric;
use crate::host::HostError;

/// What an I_T nexus may do under a reservation of type `t`: (read,
/// write). `registered`: the nexus is registered (and not the holder);
/// otherwise it is not registered at all.
pub fn allowed(t: PrType, registered: bool) -> (bool, bool) {
    match t {
        PrType::WriteExclusive => (true, false),
        PrType::ExclusiveAccess => (false, false),
        PrType::WriteExclusiveRegistrantsOnly | PrType::WriteExclusiveAllRegistrants => {
            (true, registered)
        }
        PrType::ExclusiveAccessRegistrantsOnly | PrType::ExclusiveAccessAllRegistrants => {
            (registered, registered)
        }
    }
}

/// Write Exclusive.
pub fn write_exclusive<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::WriteExclusive)
}
/// Exclusive Access.
pub fn exclusive_access<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::ExclusiveAccess)
}
/// Write Exclusive - Registrants Only.
pub fn write_exclusive_registrants_only<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::WriteExclusiveRegistrantsOnly)
}
/// Exclusive Access - Registrants Only.
pub fn exclusive_access_registrants_only<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::ExclusiveAccessRegistrantsOnly)
}
/// Write Exclusive - All Registrants.
pub fn write_exclusive_all_registrants<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::WriteExclusiveAllRegistrants)
}
/// Exclusive Access - All Registrants.
pub fn exclusive_access_all_registrants<F: Fabric>(f: &mut F) -> ScenarioResult {
    type_access(f, PrType::ExclusiveAccessAllRegistrants)
}

/// `Success` when `ok`, else `ReservationConflict`.
fn expect(ok: bool) -> Outcome {
    if ok {
        Outcome::Success
    } else {
        Outcome::ReservationConflict
    }
}

fn rw(ok: (bool, bool)) -> String {
    let w = |b: bool| if b { "ok" } else { "conflict" };
    format!("read {}, write {}", w(ok.0), w(ok.1))
}

/// The type's holder as READ RESERVATION reports it: our key, or 0 for
/// the all-registrants types (SPC-4 6.16.3.2: no single holder, the
/// RESERVATION KEY field is zero).
fn reported_holder_ok(t: PrType, key: u64) -> bool {
    if t.all_registrants() {
        key == 0
    } else {
        key == OURS
    }
}

fn type_access<F: Fabric>(f: &mut F, t: PrType) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    setup_with(&mut h, t)?;
    let holder = h.holder();
    ensure(t.all_registrants() == holder.is_none(), || {
        format!("holder {holder:?} for {}", type_name(t))
    })?;
    // Through the device: writes, then reads of every block.
    let mut ledger = Ledger::default();
    let (mut wrote, mut read) = (vec![0; n], vec![0; n]);
    for lba in 0..(4 * n as u64) {
        let i = ledger.write(&mut h, lba)?;
        wrote[i] += 1;
    }
    for lba in 0..(4 * n as u64) {
        let (i, _) = h.read(lba, 1).map_err(|e| format!("read {lba}: {e}"))?;
        read[i] += 1;
    }
    ledger.verify(&mut h)?;
    ensure(h.conflicts == 0, || {
        format!("{} conflicts on our I/O", h.conflicts)
    })?;
    let only_holder = |used: &[usize]| {
        holder.is_some_and(|x| used.iter().enumerate().all(|(i, &u)| (u > 0) == (i == x)))
    };
    let everywhere = |used: &[usize]| used.iter().all(|&u| u > 0);
    let writes_ok = match t {
        PrType::WriteExclusive | PrType::ExclusiveAccess => only_holder(&wrote),
        _ => everywhere(&wrote),
    };
    let reads_ok = match t {
        PrType::ExclusiveAccess => only_holder(&read),
        _ => everywhere(&read),
    };
    ensure(writes_ok && reads_ok, || {
        format!("holder {holder:?}: writes per nexus {wrote:?}, reads {read:?}")
    })?;
    // The target, asked directly: our other (registered) nexus, and the
    // other host (not registered).
    let spare = 4 * n as u64;
    let mut ours = Vec::new();
    for i in 0..n {
        let want = if holder.map_or(true, |x| x == i) {
            (true, true)
        } else {
            allowed(t, true)
        };
        let got = (
            io_outcome(h.fabric(), Via::Ours(i), false, spare),
            io_outcome(h.fabric(), Via::Ours(i), true, spare),
        );
        ensure(got == (expect(want.0), expect(want.1)), || {
            format!("nexus {i} raw: {got:?}, want {}", rw(want))
        })?;
        ours.push(format!("nexus {i}: {}", rw(want)));
    }
    let want = allowed(t, false);
    let got = (
        io_outcome(h.fabric(), Via::Theirs, false, 0),
        io_outcome(h.fabric(), Via::Theirs, true, spare + 1),
    );
    ensure(got == (expect(want.0), expect(want.1)), || {
        format!("other host: {got:?}, want {}", rw(want))
    })?;
    let r = reservation(h.fabric())?;
    ensure(
        r.is_some_and(|(k, rt)| rt == t && reported_holder_ok(t, k)),
        || format!("READ RESERVATION {r:x?}"),
    )?;
    let key = r.map_or(0, |x| x.0);
    h.op(PrOp::Release).map_err(|e| format!("release: {e}"))?;
    let after = reservation(h.fabric())?;
    ensure(after.is_none(), || format!("after release: {after:x?}"))?;
    let free = io_outcome(h.fabric(), Via::Theirs, true, spare + 1);
    ensure(free == Outcome::Success, || {
        format!("other host write after release: {free:?}")
    })?;
    done(
        &h,
        format!(
            "{}: held by nexus {holder:?} (READ RESERVATION key {key:#x}); ours: writes \
             {wrote:?} reads {read:?}, 0 conflicts; raw {}; other host {}; released",
            type_name(t),
            ours.join(", "),
            rw(want)
        ),
    )
}

/// The all-registrants types: reserve WE-AR (every registered nexus
/// writes), release it (READ RESERVATION: none), reserve EA-AR, then
/// change to WE-RO, which from an all-registrants type is RELEASE and
/// RESERVE (no PREEMPT can change it without removing other hosts'
/// registrations).
pub fn all_registrants_release_and_change<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    setup_with(&mut h, PrType::WriteExclusiveAllRegistrants)?;
    let mut ledger = Ledger::default();
    let mut lba = 0;
    let mut spread = |h: &mut crate::host::Host<'_, F>,
                      ledger: &mut Ledger,
                      what: &str|
     -> Result<Vec<usize>, String> {
        let mut used = vec![0; n];
        for _ in 0..(3 * n) {
            let i = ledger.write(h, lba)?;
            used[i] += 1;
            lba += 1;
        }
        ensure(used.iter().all(|&u| u > 0), || {
            format!("{what}: writes per nexus {used:?}")
        })?;
        Ok(used)
    };
    spread(&mut h, &mut ledger, "WE-AR")?;
    let r = reservation(h.fabric())?;
    ensure(
        r.is_some_and(|(k, t)| {
            t == PrType::WriteExclusiveAllRegistrants
                && reported_holder_ok(PrType::WriteExclusiveAllRegistrants, k)
        }),
        || format!("WE-AR: READ RESERVATION {r:x?}"),
    )?;
    h.op(PrOp::Release)
        .map_err(|e| format!("release WE-AR: {e}"))?;
    let r = reservation(h.fabric())?;
    ensure(r.is_none(), || format!("after release: {r:x?}"))?;
    h.op(PrOp::Reserve(PrType::ExclusiveAccessAllRegistrants))
        .map_err(|e| format!("reserve EA-AR: {e}"))?;
    spread(&mut h, &mut ledger, "EA-AR")?;
    let theirs = io_outcome(h.fabric(), Via::Theirs, false, 0);
    ensure(theirs == Outcome::ReservationConflict, || {
        format!("unregistered other host read under EA-AR: {theirs:?}")
    })?;
    h.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .map_err(|e| format!("change EA-AR to WE-RO: {e}"))?;
    let r = reservation(h.fabric())?;
    ensure(
        r == Some((OURS, PrType::WriteExclusiveRegistrantsOnly)),
        || format!("after the change to WE-RO: {r:x?}"),
    )?;
    let used = spread(&mut h, &mut ledger, "WE-RO")?;
    let blocks = ledger.verify(&mut h)?;
    done(
        &h,
        format!(
            "WE-AR written on every nexus, released (none reserved); EA-AR, then WE-RO held by \
             nexus {:?}, writes {used:?}; {blocks} blocks read back, {} conflict(s) retried",
            h.holder(),
            h.conflicts
        ),
    )
}

/// Two hosts register; the other host reserves first. Our RESERVE is
/// answered RESERVATION CONFLICT and reported as such; our I/O then gets
/// what the other host's type allows a registered nexus that does not
/// hold it: under WE-RO reads and writes, under EA neither, under WE
/// reads only. A conflict is checked (READ KEYS: still registered, not
/// fenced) and failed upward, not retried without end.
pub fn other_host_reserves_first<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let bs = f.block_size();
    let mut h = host(f)?;
    h.op(PrOp::Register(OURS))
        .map_err(|e| format!("register: {e}"))?;
    let register = PrCommand::Register { key: THEIRS };
    done_pr(h.fabric().other_host_pr(register), "other host register")?;
    let mut seen = Vec::new();
    let mut lba = 0;
    let mut held: Option<PrType> = None;
    for theirs in [
        PrType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccess,
        PrType::WriteExclusive,
    ] {
        if let Some(rtype) = held {
            let release = PrCommand::Release { key: THEIRS, rtype };
            done_pr(h.fabric().other_host_pr(release), "other host release")?;
        }
        let reserve = PrCommand::Reserve {
            key: THEIRS,
            rtype: theirs,
        };
        done_pr(h.fabric().other_host_pr(reserve), "other host reserve")?;
        held = Some(theirs);
        if seen.is_empty() {
            let ours = h.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly));
            ensure(
                ours == Err(HostError::Reservation(PrError::Conflict)),
                || format!("our reserve over theirs: {ours:?}"),
            )?;
        }
        let r = reservation(h.fabric())?;
        ensure(r == Some((THEIRS, theirs)), || {
            format!("reservation {r:x?}")
        })?;
        let want = allowed(theirs, true);
        let mut got = (true, true);
        for _ in 0..(2 * n) {
            let w = h.write(lba, &super::pattern(bs, lba, 3)).map(drop);
            let r = h.read(lba, 1).map(drop);
            for (res, ok, read) in [(w, want.1, false), (r, want.0, true)] {
                match res {
                    Ok(()) if ok => {}
                    Err(HostError::Io(IoError::ReservationConflict)) if !ok => {
                        if read {
                            got.0 = false;
                        } else {
                            got.1 = false;
                        }
                    }
                    other => {
                        return Err(format!(
                            "under the other host's {}: {} at {lba}: {other:?}, want {}",
                            type_name(theirs),
                            if read { "read" } else { "write" },
                            rw(want)
                        )
                        .into())
                    }
                }
            }
            lba += 1;
        }
        ensure(!h.coordinator().is_fenced(), || {
            format!("fenced under the other host's {}", type_name(theirs))
        })?;
        seen.push(format!("{}: {}", type_name(theirs), rw(got)));
    }
    let clear = PrCommand::Clear { key: THEIRS };
    done_pr(h.fabric().other_host_pr(clear), "other host clear")?;
    done(
        &h,
        format!(
            "our RESERVE: conflict; our I/O under theirs: {}",
            seen.join("; ")
        ),
    )
}
