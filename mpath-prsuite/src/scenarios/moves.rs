//! The reservation's holder dies or its type changes (rule 6): I/O is
//! held while our own key is preempted from a live nexus, the other
//! nexuses register again, and nothing is lost or written twice: every
//! write carries a data generation of its own and every block is read
//! back. And the reservation handed to another host on purpose (rule 12,
//! REGISTER AND MOVE through the coordinator).

use mpath_core::reservation::{PrCommand, PrError, PrEvent, PrOp, PrType};
use mpath_core::{DeviceEvent, IoError, Outcome};
use mpath_scsi::TransportId;

use super::raw::{full_status, io_outcome, isid_hex, port_of, Via};
use super::{
    count, done, done_pr, ensure, host, keys, pattern, reservation, setup, setup_with, type_name,
    Ledger, ScenarioResult, Unmet, OURS, RTYPE, THEIRS,
};
use crate::fabric::Fabric;
use crate::host::{HostError, Sent};

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
    let mut ledger = Ledger::default();
    for lba in 0..8 {
        let i = ledger.write(&mut h, lba)?;
        used[i] += 1;
    }

    let mut lba = 8;
    let mut writes: Vec<(u64, Vec<u8>)> = Vec::new();
    for k in 0..BATCH_WRITES {
        let blocks = if k % 2 == 0 { 1 } else { LARGE_BLOCKS };
        writes.push((lba, ledger.data(bs, lba, blocks)));
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

    // Writes continue on the live nexuses, and the batch's blocks are
    // written over in new generations: a first attempt that landed late
    // would show up as an old generation.
    let end = batch_end + 16;
    for lba in batch_end..end {
        let i = ledger.write(&mut h, lba)?;
        used[i] += 1;
    }
    for (lba, data) in &writes {
        let blocks = (data.len() / bs) as u64;
        let again = ledger.data(bs, *lba, blocks);
        let i = h
            .write(*lba, &again)
            .map_err(|e| format!("rewrite {lba}: {e}"))?;
        used[i] += 1;
    }
    ensure(
        used.get(old).copied().unwrap_or(0) > 0 && used.iter().filter(|&&u| u > 0).count() > 1,
        || format!("writes per nexus {used:?}"),
    )?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    let verified = ledger.verify(&mut h)?;
    ensure(verified as u64 == end, || {
        format!("{verified} blocks in the ledger, {end} written")
    })?;
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
         after the move; {} generations, {end} blocks read back, {} live keys",
        stats.in_flight_at_cut,
        stats.failed.len(),
        ledger.next,
        k.len()
    ),
    )
}

/// The holder's nexus dies while no other path is up either: the move
/// cannot go anywhere and waits, I/O held (a write submitted then is held
/// by the device, not failed). When a path returns, it joins, the move
/// runs on it (READ RESERVATION, PREEMPT of our own key), and only then is
/// the held write dispatched, to the new holder (Write Exclusive: only
/// the holder writes). Writes afterwards land, and every block reads back.
pub fn holder_dies_with_no_path_up<F: Fabric>(f: &mut F) -> ScenarioResult {
    let rtype = PrType::WriteExclusive;
    let mut h = host(f)?;
    setup_with(&mut h, rtype)?;
    let old = h.holder().ok_or("no holder after reserve")?;
    let back = if old == 0 { 1 } else { 0 };
    let bs = h.fabric().block_size();
    let mut ledger = Ledger::default();
    for lba in 0..4 {
        let i = ledger.write(&mut h, lba)?;
        ensure(i == old, || {
            format!("WE write {lba} on nexus {i}, holder {old}")
        })?;
    }
    for i in [old, back] {
        h.fabric().cut_nexus(i).map_err(|e| e.to_string())?;
        h.path_lost(i).map_err(|e| format!("path {i} lost: {e}"))?;
    }
    ensure(h.coordinator().is_quiesced(), || {
        String::from("holder lost with no path up, and I/O not held")
    })?;
    let data = ledger.data(bs, 4, 1);
    h.begin_write(4, data)
        .map_err(|e| format!("write with no path: {e}"))?;
    ensure(h.write_in_hand_held() == Some(true), || {
        String::from("a write was dispatched with no path up")
    })?;
    let dispatched_before = h.dispatches.len();
    h.fabric().restore_nexus(back).map_err(|e| e.to_string())?;
    let from = h.log.len();
    h.path_returned(back)
        .map_err(|e| format!("path returned: {e}"))?;
    let moved = h.events.iter().rev().find_map(|e| match e {
        DeviceEvent::Reservation(PrEvent::Moved { holder }) => h.nexus_of(*holder),
        _ => None,
    });
    ensure(moved == Some(back) && h.holder() == Some(back), || {
        format!("moved to {moved:?}, holder {:?}", h.holder())
    })?;
    let d = *h
        .dispatches
        .get(dispatched_before)
        .ok_or("the held write was not dispatched after the return")?;
    let before_dispatch: Vec<Sent> = h
        .log
        .get(from..d.log_len)
        .unwrap_or_default()
        .iter()
        .map(|(_, s)| *s)
        .collect();
    let preempted = before_dispatch
        .iter()
        .any(|s| matches!(s, Sent::Pr(PrCommand::Preempt { victim, .. }) if *victim == OURS));
    ensure(
        preempted && !d.quiesced && d.holder == Some(back) && d.nexus == Some(back),
        || {
            format!(
                "held write dispatched to {:?} (holder {:?}, quiesced {}) after {before_dispatch:?}",
                d.nexus, d.holder, d.quiesced
            )
        },
    )?;
    ensure(
        !before_dispatch.iter().any(|s| matches!(s, Sent::Write(_))),
        || format!("a write went out before the move: {before_dispatch:?}"),
    )?;
    let i = h.end_write().map_err(|e| format!("held write: {e}"))?;
    ensure(i == back, || format!("held write completed on nexus {i}"))?;
    for lba in 5..12 {
        let i = ledger.write(&mut h, lba)?;
        ensure(i == back, || {
            format!("WE write {lba} on nexus {i}, holder {back}")
        })?;
    }
    let r = reservation(h.fabric())?;
    ensure(r == Some((OURS, rtype)), || format!("reservation {r:x?}"))?;
    let k = keys(h.fabric())?;
    ensure(count(&k, OURS) == 1, || {
        format!("keys with one path up after the move {k:x?}")
    })?;
    // The old holder's nexus returns too: it joins, and under Write
    // Exclusive still carries no write.
    h.fabric().restore_nexus(old).map_err(|e| e.to_string())?;
    h.path_returned(old)
        .map_err(|e| format!("old holder returned: {e}"))?;
    for lba in 12..16 {
        let i = ledger.write(&mut h, lba)?;
        ensure(i == back, || {
            format!("WE write {lba} on nexus {i}, holder {back}")
        })?;
    }
    let k = keys(h.fabric())?;
    ensure(count(&k, OURS) == 2, || format!("keys at the end {k:x?}"))?;
    let blocks = ledger.verify(&mut h)?;
    ensure(h.conflicts == 0, || format!("{} conflicts", h.conflicts))?;
    done(
        &h,
        format!(
            "holder {old} and nexus {back} down; held write dispatched to {back} after \
             {before_dispatch:?}; {blocks} blocks read back"
        ),
    )
}

/// Changing the reservation type while writing: WE-RO to EA-RO to WE and
/// back to WE-RO, each a PREEMPT of our own key (rule 6). Writes go out
/// before and after each change, and one write is dispatched before each
/// change and sent after it (in flight across the change: under WE it may
/// reach a nexus that no longer may write, whose RESERVATION CONFLICT our
/// own move caused and is retried, never failed upward). Every block
/// reads back.
pub fn type_change_under_load<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let mut h = host(f)?;
    setup(&mut h)?;
    let bs = h.fabric().block_size();
    let mut ledger = Ledger::default();
    let mut lba = 0;
    let mut seen = Vec::new();
    for t in [
        PrType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusive,
        RTYPE,
    ] {
        for _ in 0..(2 * n) {
            ledger.write(&mut h, lba)?;
            lba += 1;
        }
        let data = ledger.data(bs, lba, 1);
        h.begin_write(lba, data)
            .map_err(|e| format!("write before {}: {e}", type_name(t)))?;
        h.op(PrOp::Reserve(t))
            .map_err(|e| format!("change to {}: {e}", type_name(t)))?;
        h.end_write()
            .map_err(|e| format!("write across the change to {}: {e}", type_name(t)))?;
        lba += 1;
        let r = reservation(h.fabric())?;
        ensure(
            r == Some((OURS, t)) && h.coordinator().reservation() == Some(t),
            || format!("after changing to {}: target {r:x?}", type_name(t)),
        )?;
        for _ in 0..(2 * n) {
            ledger.write(&mut h, lba)?;
            lba += 1;
        }
        seen.push(format!("{} (holder {:?})", type_name(t), h.holder()));
    }
    ensure(!h.coordinator().is_fenced(), || String::from("fenced"))?;
    let blocks = ledger.verify(&mut h)?;
    let k = keys(h.fabric())?;
    ensure(count(&k, OURS) == n, || format!("keys at the end {k:x?}"))?;
    done(
        &h,
        format!(
            "WE-RO -> {}; {blocks} blocks, none failed, {} conflict(s) from our own moves \
             retried",
            seen.join(" -> "),
            h.conflicts
        ),
    )
}

/// REGISTER AND MOVE through the coordinator (rule 12): our host reserves
/// Write Exclusive over its nexuses and writes through the holder, then
/// `Device::reservation_move_to` hands the reservation to the other
/// host's initiator port (an iSCSI TransportID with its ISID, format 01b)
/// on the target port that host reaches. The command goes out once, on the
/// holder's nexus. Afterwards the other host holds Write Exclusive (READ
/// RESERVATION; READ FULL STATUS, where the target has it, names the
/// other host's I_T nexus the holder), registered with the key we gave,
/// and writes; ours stay registered on every nexus (UNREG 0); the
/// coordinator holds nothing and is not fenced; our reads go through and
/// our writes meet RESERVATION CONFLICT (the other host's Write
/// Exclusive). Once the other host releases, our writes land again, and
/// every block reads back. A target that refuses REGISTER AND MOVE
/// (ILLEGAL REQUEST: tgt) makes the scenario unsupported.
pub fn register_and_move_through_the_coordinator<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let (name, isid) = port_of(f.other_initiator_port(), "the other host's")?;
    // SPC-4 7.7.3.7: VPD page 83h names the relative target port; a
    // target that does not (tgt) has one port, and numbers from 1.
    let reported = f
        .other_host_identify()
        .map_err(|e| e.to_string())?
        .relative_target_port;
    let port = reported.unwrap_or(1);
    let hex = isid_hex(isid);
    let tid = TransportId::Iscsi {
        name: name.as_bytes(),
        isid: Some(hex.as_bytes()),
    };
    let mut tid_bytes = vec![0; tid.buffer_len()];
    tid.emit(&mut tid_bytes).map_err(|e| e.to_string())?;
    let rtype = PrType::WriteExclusive;
    let mut h = host(f)?;
    setup_with(&mut h, rtype)?;
    let holder = h.holder().ok_or("no holder after reserve")?;
    let bs = h.fabric().block_size();
    let mut ledger = Ledger::default();
    for lba in 0..4 {
        let i = ledger.write(&mut h, lba)?;
        ensure(i == holder, || {
            format!("WE write {lba} on nexus {i}, holder {holder}")
        })?;
    }
    let from = h.log.len();
    match h.move_to(&tid_bytes, port, THEIRS) {
        Ok(rep) => ensure(rep.reservation.is_none(), || {
            format!("the move reports {:x?} held", rep.reservation)
        })?,
        Err(HostError::Reservation(PrError::Refused)) => {
            let still = reservation(h.fabric())?;
            return Err(Unmet::Unsupported(format!(
                "REGISTER AND MOVE refused by the target (ILLEGAL REQUEST); the reservation \
                 stays {still:x?}"
            )));
        }
        Err(e) => return Err(format!("register and move: {e}").into()),
    }
    let sent: Vec<usize> = h
        .log
        .get(from..)
        .unwrap_or_default()
        .iter()
        .filter(|(_, s)| matches!(s, Sent::Pr(PrCommand::RegisterAndMove { .. })))
        .map(|(i, _)| *i)
        .collect();
    ensure(sent == [holder], || {
        format!("REGISTER AND MOVE sent on nexuses {sent:?}, holder {holder}")
    })?;
    let c = h.coordinator();
    ensure(
        c.reservation().is_none()
            && c.holder().is_none()
            && !c.is_fenced()
            && c.move_destination().is_none(),
        || {
            format!(
                "coordinator after the move: {:?} holder {:?} fenced {}",
                c.reservation(),
                c.holder(),
                c.is_fenced()
            )
        },
    )?;
    let r = reservation(h.fabric())?;
    ensure(r == Some((THEIRS, rtype)), || {
        format!("reservation after the move {r:x?}")
    })?;
    let k = keys(h.fabric())?;
    ensure(count(&k, OURS) == n && count(&k, THEIRS) == 1, || {
        format!("keys after the move {k:x?}")
    })?;
    let status = match full_status(h.fabric(), Via::Theirs) {
        Ok(st) => {
            let holders: Vec<_> = st.iter().filter(|d| d.r_holder).collect();
            ensure(
                matches!(holders.as_slice(), [d] if d.key == THEIRS
                    && d.name == name
                    && d.isid == Some(isid)
                    && (d.all_tg_pt || d.port == port)),
                || format!("READ FULL STATUS after the move {st:x?}"),
            )?;
            format!("READ FULL STATUS: holder {name},i,0x{hex} on port {port}")
        }
        Err(Unmet::Unsupported(s)) => format!("({s})"),
        Err(e) => return Err(e),
    };
    // The other host's Write Exclusive now: it writes; we read, and our
    // writes conflict without fencing us (our keys are all there).
    let theirs = io_outcome(h.fabric(), Via::Theirs, true, 64);
    ensure(theirs == Outcome::Success, || {
        format!("the new holder's write: {theirs:?}")
    })?;
    match h.write(8, &pattern(bs, 8, 1)) {
        Err(HostError::Io(IoError::ReservationConflict)) => {}
        other => return Err(format!("our write under the other host's WE: {other:?}").into()),
    }
    ensure(!h.coordinator().is_fenced(), || {
        String::from("fenced by a conflict under another host's reservation")
    })?;
    ledger.verify(&mut h)?;
    done_pr(
        h.fabric()
            .other_host_pr(PrCommand::Release { key: THEIRS, rtype }),
        "other host release",
    )?;
    for lba in 4..8 {
        ledger.write(&mut h, lba)?;
    }
    let blocks = ledger.verify(&mut h)?;
    done_pr(
        h.fabric().other_host_pr(PrCommand::Unregister),
        "other host unregister",
    )?;
    done(
        &h,
        format!(
            "WE moved from nexus {holder} to {name},i,0x{hex} on relative port {port}{}: \
             reservation {r:x?}, keys {k:x?}; {status}; our write conflicted, {blocks} blocks \
             read back",
            if reported.is_none() {
                " (not in VPD 83h: assumed)"
            } else {
                ""
            }
        ),
    )
}
