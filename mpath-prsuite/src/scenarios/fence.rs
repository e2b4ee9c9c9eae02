//! Another host preempts our key (rule 7): we are fenced, our I/O fails
//! with the fenced error, and nothing of ours registers again behind the
//! fence, also when a path that was away while it happened comes back.

use mpath_core::reservation::{PrCommand, PrError, PrEvent, PrOp};
use mpath_core::{DeviceEvent, IoError, Outcome};

use super::{
    count, done, done_pr, ensure, host, keys, pattern, reservation, setup, write_range,
    ScenarioResult, Unmet, OURS, RTYPE, THEIRS,
};
use crate::fabric::Fabric;
use crate::host::{Host, HostError, Sent};

/// Another host preempts our key: we are fenced, I/O fails with a clear
/// error, nothing re-registers behind the fence.
pub fn preempted_and_fenced<F: Fabric>(f: &mut F) -> ScenarioResult {
    preempted(f, false)
}

/// The same with PREEMPT AND ABORT, which also aborts the commands our
/// nexuses have outstanding (SPC-4 5.13.11.4.6).
pub fn preempted_and_aborted<F: Fabric>(f: &mut F) -> ScenarioResult {
    preempted(f, true)
}

/// The other host registers [`THEIRS`] and preempts [`OURS`].
fn other_host_preempts<F: Fabric>(h: &mut Host<'_, F>, abort: bool) -> Result<(), Unmet> {
    let register = PrCommand::Register { key: THEIRS };
    done_pr(h.fabric().other_host_pr(register), "other host register")?;
    if abort {
        // Sent raw to tell a target that does not support PREEMPT AND
        // ABORT (ILLEGAL REQUEST) from one that refuses it.
        let r = super::raw::preempt(h.fabric(), THEIRS, OURS, RTYPE, true)?;
        return super::raw::check(&r, "PREEMPT AND ABORT");
    }
    let preempt = PrCommand::Preempt {
        key: THEIRS,
        victim: OURS,
        rtype: RTYPE,
        abort,
    };
    done_pr(h.fabric().other_host_pr(preempt), "preempt").map_err(Unmet::Failed)
}

/// No registration of ours left on the target, and the other host's
/// reservation in place.
fn nothing_of_ours<F: Fabric>(h: &mut Host<'_, F>) -> Result<Vec<u64>, String> {
    let k = keys(h.fabric())?;
    ensure(count(&k, OURS) == 0 && count(&k, THEIRS) == 1, || {
        format!("keys after the preemption {k:x?}")
    })?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((THEIRS, RTYPE)), || format!("reservation {r:x?}"))?;
    Ok(k)
}

fn fenced_event<F: Fabric>(h: &Host<'_, F>) -> Result<(), String> {
    ensure(h.coordinator().is_fenced(), || String::from("not fenced"))?;
    ensure(
        h.events
            .contains(&DeviceEvent::Reservation(PrEvent::Fenced)),
        || String::from("no Fenced event"),
    )
}

fn preempted<F: Fabric>(f: &mut F, abort: bool) -> ScenarioResult {
    let mut h = host(f)?;
    setup(&mut h)?;
    let bs = h.fabric().block_size();
    write_range(&mut h, 0..4, 4, &mut [0; 8])?;
    other_host_preempts(&mut h, abort)?;
    let logged = h.log.len();
    let err = h.write(4, &pattern(bs, 4, 4));
    ensure(err == Err(HostError::Io(IoError::Fenced)), || {
        format!("write after preemption: {err:?}")
    })?;
    fenced_event(&h)?;
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
    let k = nothing_of_ours(&mut h)?;
    let clear = PrCommand::Clear { key: THEIRS };
    done_pr(h.fabric().other_host_pr(clear), "other host clear")?;
    done(
        &h,
        format!(
            "{}: I/O error \"{}\", nothing re-registered, keys {k:x?}; target: our writes conflict",
            if abort {
                "PREEMPT AND ABORT"
            } else {
                "PREEMPT"
            },
            IoError::Fenced
        ),
    )
}

/// The race between a path's return and a preemption: registered and
/// reserved over two nexuses; one nexus is cut (the host is told); the
/// other host preempts our key while it is away; the nexus comes back and
/// the host is told. The returning nexus must not put our key back
/// (its join looks first: READ KEYS shows none of ours), the host is
/// fenced, no write of ours is sent or lands, and READ KEYS shows no key
/// of ours.
pub fn restored_after_preemption<F: Fabric>(f: &mut F) -> ScenarioResult {
    let mut h = host(f)?;
    setup(&mut h)?;
    let bs = h.fabric().block_size();
    write_range(&mut h, 0..4, 8, &mut [0; 8])?;
    // Cut the nexus that does not hold the reservation: this scenario is
    // about the join, not a move.
    let away = match h.holder() {
        Some(0) => 1,
        _ => 0,
    };
    h.fabric().cut_nexus(away).map_err(|e| e.to_string())?;
    h.path_lost(away).map_err(|e| format!("path lost: {e}"))?;
    other_host_preempts(&mut h, false)?;
    h.fabric().restore_nexus(away).map_err(|e| e.to_string())?;
    let from = h.log.len();
    let returned = h.path_returned(away);
    ensure(returned.is_ok(), || format!("path returned: {returned:?}"))?;
    for lba in 10..14 {
        match h.write(lba, &pattern(bs, lba, 9)) {
            Err(HostError::Io(IoError::Fenced)) => {}
            Ok(i) => {
                return Err(
                    format!("write {lba} succeeded on nexus {i} after the preemption").into(),
                )
            }
            Err(e) => return Err(format!("write {lba}: {e}").into()),
        }
    }
    fenced_event(&h)?;
    let after: Vec<Sent> = h.log[from..].iter().map(|(_, s)| *s).collect();
    ensure(
        !after
            .iter()
            .any(|s| matches!(s, Sent::Pr(PrCommand::Register { .. }) | Sent::Write(_))),
        || format!("sent after the return: {after:?}"),
    )?;
    // What the other host (the holder now) reads is not ours.
    for lba in 10..14 {
        let r = h.fabric().other_host_command(
            &mpath_scsi::cdb::read10(&mpath_scsi::RwParams::new(lba, 1))
                .map_err(|e| e.to_string())?,
            None,
            bs,
        );
        ensure(r.status == 0 && r.data != pattern(bs, lba, 9), || {
            format!(
                "block {lba} after the preemption: status {} (ours if it matches)",
                r.status
            )
        })?;
    }
    let k = nothing_of_ours(&mut h)?;
    let clear = PrCommand::Clear { key: THEIRS };
    done_pr(h.fabric().other_host_pr(clear), "other host clear")?;
    done(
        &h,
        format!(
            "nexus {away} returned after the preemption: sent {after:?}, fenced, 4 writes \
             failed \"{}\" and none reached the target, keys {k:x?}",
            IoError::Fenced
        ),
    )
}
