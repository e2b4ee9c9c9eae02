//! APTPL (activate persist through power loss, SPC-4 5.13.5): the
//! registration option ([`persist_through_power_loss`]: PTPL_A follows
//! the APTPL bit of the last REGISTER) and what it promises
//! ([`survives_a_target_restart`]: registrations and the reservation are
//! there again after the target loses power, and not without APTPL).
//!
//! The restart is the fabric's ([`Fabric::restart_target`]). A fabric that
//! cannot restart its target (tgt's, plain portals) makes the second
//! scenario unsupported, with what it did before the restart in the
//! reason: what did not run is never reported passed.

use mpath_core::reservation::PrCommand;
use mpath_core::Outcome;
use mpath_scsi::cdb::{self, RwParams};
use mpath_scsi::classify::classify;
use mpath_scsi::pr_in::Capabilities;
use mpath_scsi::{PrOutAction, PrOutParams};

use super::raw::{
    capabilities, check, full_status, io_outcome, pr_out, send, with_capability, Registration, Via,
};
use super::{
    count, done_pr, ensure, keys, pattern, reservation, type_name, ScenarioResult, Unmet, OURS,
    RTYPE,
};
use crate::fabric::{Fabric, RestartError};

/// The block written before the restart and read after it.
const LBA: u64 = 7;
/// The data generation [`pattern`] writes there.
const GENERATION: u8 = 0xa7;

/// REGISTER AND IGNORE EXISTING KEY with APTPL: GOOD, and REPORT
/// CAPABILITIES then shows PTPL_A (persist through power loss
/// activated); registering again without APTPL clears it. Whether the
/// registration survives a restart is [`survives_a_target_restart`].
pub fn persist_through_power_loss<F: Fabric>(f: &mut F) -> ScenarioResult {
    let before = capabilities(f, Via::Theirs)?;
    let said = before.map_or(String::from("REPORT CAPABILITIES unsupported"), |c| {
        format!("REPORT CAPABILITIES PTPL_C = {}", u8::from(c.ptpl_c))
    });
    let r = register(f, 0, true)?;
    with_capability(
        check(&r, "REGISTER AND IGNORE EXISTING KEY with APTPL"),
        &said,
    )?;
    // PTPL_A is in REPORT CAPABILITIES only.
    let after = capabilities(f, Via::Theirs)?
        .ok_or_else(|| Unmet::Unsupported(format!("{said}: PTPL_A cannot be read")))?;
    ensure(after.ptpl_a, || {
        format!("PTPL_A not set after registering with APTPL: {after:?}")
    })?;
    let k = keys(f)?;
    ensure(count(&k, OURS) == 1, || format!("keys {k:x?}"))?;
    // Registering again without APTPL turns it off (SPC-4 5.13.5).
    let off = register(f, 0, false)?;
    check(&off, "REGISTER without APTPL")?;
    let last = capabilities(f, Via::Theirs)?.ok_or("REPORT CAPABILITIES rejected")?;
    ensure(!last.ptpl_a, || {
        String::from("PTPL_A still set after registering without APTPL")
    })?;
    done_pr(f.pr(0, PrCommand::Clear { key: OURS }), "clear")?;
    Ok(format!(
        "{said}; PTPL_A {:?} before, set after REGISTER with APTPL, clear after REGISTER \
         without (the restart is the next scenario's)",
        before.map(|c| c.ptpl_a)
    ))
}

/// Every nexus registers with APTPL, nexus 0 reserves [`RTYPE`], the last
/// nexus writes block 7; the target restarts. Then, through nexuses
/// logged in again with the same ISIDs: READ KEYS shows one registration
/// per nexus, READ RESERVATION our key and type, READ FULL STATUS (where
/// supported) the same descriptors as before (initiator ports, relative
/// target ports, holder), REPORT CAPABILITIES PTPL_A still set; the block
/// reads back; the reservation is enforced (the other host, not
/// registered, conflicts on write; our registered nexus writes). Control:
/// nexus 0 registers again without APTPL (PTPL_A clears) and the target
/// restarts again: no registration, no reservation, the block still
/// there.
pub fn survives_a_target_restart<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let last = n.checked_sub(1).ok_or("no nexus")?;
    for i in 0..n {
        let r = register(f, i, true)?;
        check(
            &r,
            &format!("REGISTER AND IGNORE EXISTING KEY with APTPL on nexus {i}"),
        )?;
    }
    let reserve = PrCommand::Reserve {
        key: OURS,
        rtype: RTYPE,
    };
    done_pr(f.pr(0, reserve), "reserve")?;
    let bs = f.block_size();
    let data = pattern(bs, LBA, GENERATION);
    let w = write_block(f, Via::Ours(last), LBA, &data);
    ensure(w == Outcome::Success, || {
        format!("write {LBA} on nexus {last}: {w:?}")
    })?;
    let before = optional(full_status(f, Via::Theirs))?.map(sorted);
    let ptpl = capabilities(f, Via::Theirs)?;
    ensure(ptpl.map_or(true, |c| c.ptpl_a), || {
        format!("PTPL_A not set after registering with APTPL: {ptpl:?}")
    })?;

    let first = match f.restart_target() {
        Ok(said) => said,
        Err(RestartError::Unsupported(why)) => {
            // Leave the target as it was: APTPL off, nothing registered.
            check(&register(f, 0, false)?, "REGISTER without APTPL")?;
            done_pr(f.pr(0, PrCommand::Clear { key: OURS }), "clear")?;
            return Err(Unmet::Unsupported(format!(
                "{n} nexus(es) registered with APTPL, {} reserved, block {LBA} written; not \
                 restarted, so nothing checked after a restart: {why}",
                type_name(RTYPE)
            )));
        }
        Err(RestartError::Failed(e)) => return Err(format!("restart: {e}").into()),
    };

    let kept = keys(f)?;
    ensure(count(&kept, OURS) == n && kept.len() == n, || {
        format!("after the restart: keys {kept:x?}, want {n} of ours")
    })?;
    let res = reservation(f)?;
    ensure(res == Some((OURS, RTYPE)), || {
        format!("after the restart: reservation {res:x?}")
    })?;
    let status = match (&before, optional(full_status(f, Via::Theirs))?) {
        (Some(b), Some(a)) => {
            let a = sorted(a);
            ensure(b == &a, || {
                format!("READ FULL STATUS before the restart {b:x?}, after {a:x?}")
            })?;
            let holder = a.iter().find(|r| r.r_holder).map(|r| r.port);
            format!(
                "READ FULL STATUS unchanged ({} descriptors, R_HOLDER on relative port {})",
                a.len(),
                holder.map_or(String::from("none"), |p| p.to_string())
            )
        }
        _ => String::from("READ FULL STATUS unsupported"),
    };
    let ptpl_after = capabilities(f, Via::Theirs)?;
    ensure(ptpl_after.map_or(true, |c| c.ptpl_a), || {
        format!("PTPL_A not set after the restart: {ptpl_after:?}")
    })?;
    let got = read_block(f, Via::Ours(0), LBA)?;
    ensure(got == data, || {
        format!("block {LBA} does not read back after the restart")
    })?;
    let theirs = io_outcome(f, Via::Theirs, true, LBA + 1);
    let ours = io_outcome(f, Via::Ours(last), true, LBA + 1);
    ensure(
        theirs == Outcome::ReservationConflict && ours == Outcome::Success,
        || {
            format!(
                "{} after the restart: the other host's write {theirs:?}, nexus {last}'s \
                 {ours:?}",
                type_name(RTYPE)
            )
        },
    )?;

    // Control: the same restart with APTPL off loses every registration.
    check(&register(f, 0, false)?, "REGISTER without APTPL")?;
    let off = capabilities(f, Via::Theirs)?;
    ensure(off.map_or(true, |c| !c.ptpl_a), || {
        String::from("PTPL_A still set after registering without APTPL")
    })?;
    let second = f
        .restart_target()
        .map_err(|e| Unmet::Failed(format!("second restart: {e}")))?;
    let k = keys(f)?;
    let res = reservation(f)?;
    ensure(k.is_empty() && res.is_none(), || {
        format!("restarted with APTPL off: keys {k:x?}, reservation {res:x?}")
    })?;
    let got = read_block(f, Via::Ours(0), LBA)?;
    ensure(got == data, || {
        format!("block {LBA} does not read back after the second restart")
    })?;
    let free = io_outcome(f, Via::Theirs, true, LBA + 1);
    ensure(free == Outcome::Success, || {
        format!("the other host's write with nothing reserved: {free:?}")
    })?;
    Ok(format!(
        "{n} nexuses registered with APTPL (PTPL_A {}), {} held by nexus 0, block {LBA} \
         written; restart: {first}; after it: keys {kept:x?}, {} held by our key, {status}, \
         PTPL_A {}, block {LBA} read back, the other host's write conflicts and ours lands. \
         Control: registered again without APTPL (PTPL_A {}), restart: {second}; after it: no \
         registration, no reservation, block {LBA} still read back",
        said_ptpl(ptpl),
        type_name(RTYPE),
        type_name(RTYPE),
        said_ptpl(ptpl_after),
        said_ptpl(off),
    ))
}

/// REGISTER AND IGNORE EXISTING KEY with [`OURS`] on our nexus `i`,
/// APTPL as given.
fn register<F: Fabric>(
    f: &mut F,
    i: usize,
    aptpl: bool,
) -> Result<crate::command::CommandResult, String> {
    let params = PrOutParams {
        aptpl,
        ..PrOutParams::new(0, OURS)
    };
    pr_out(
        f,
        Via::Ours(i),
        PrOutAction::RegisterAndIgnoreExistingKey,
        None,
        &params,
    )
}

/// `None` when the target does not support what was asked.
fn optional<T>(r: Result<T, Unmet>) -> Result<Option<T>, Unmet> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(Unmet::Unsupported(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Descriptors in a fixed order: a target lists registrations in its
/// own order, which a restart may change.
fn sorted(mut v: Vec<Registration>) -> Vec<Registration> {
    v.sort_by(|a, b| (a.port, a.isid, &a.name).cmp(&(b.port, b.isid, &b.name)));
    v
}

fn said_ptpl(c: Option<Capabilities>) -> &'static str {
    match c {
        Some(c) if c.ptpl_a => "set",
        Some(_) => "clear",
        None => "unreadable",
    }
}

/// One-block WRITE (10) of `data` at `lba` on `via`, classified (sent
/// again after a unit attention).
fn write_block<F: Fabric>(f: &mut F, via: Via, lba: u64, data: &[u8]) -> Outcome {
    let Ok(c) = cdb::write10(&RwParams::new(lba, 1)) else {
        return Outcome::TargetError(mpath_core::outcome::TargetError::IllegalRequest);
    };
    let r = send(f, via, &c, Some(data), 0);
    classify(r.transport, r.status, r.sense()).outcome
}

/// One-block READ (10) at `lba` on `via`: the data, or what went wrong.
fn read_block<F: Fabric>(f: &mut F, via: Via, lba: u64) -> Result<Vec<u8>, String> {
    let c = cdb::read10(&RwParams::new(lba, 1)).map_err(|e| e.to_string())?;
    let bs = f.block_size();
    let r = send(f, via, &c, None, bs);
    let o = classify(r.transport, r.status, r.sense()).outcome;
    ensure(o == Outcome::Success, || format!("read {lba}: {o:?}"))?;
    Ok(r.data)
}
