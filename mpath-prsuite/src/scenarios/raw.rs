//! Options at the command level, sent through [`Fabric::command`] with
//! mpath-scsi's PERSISTENT RESERVE codecs rather than through the
//! coordinator (which uses none of them but READ KEYS and READ
//! RESERVATION): READ FULL STATUS checked against what the coordinator
//! believes, ALL_TG_PT, SPEC_I_PT (TransportIDs) and REGISTER AND MOVE;
//! APTPL, which uses these helpers too, is [`super::aptpl`]. A target
//! that rejects one with ILLEGAL REQUEST does not support it: the
//! scenario reports that, never a pass. Unit attentions (a preemption's
//! or a release's notice, a restarted target's power on) are answered by
//! sending again, as an initiator's mid-layer does.

use mpath_core::reservation::{PrCommand, PrType, RegState};
use mpath_core::Outcome;
use mpath_scsi::cdb::{self, RwParams};
use mpath_scsi::classify::classify;
use mpath_scsi::pr_in::Capabilities;
use mpath_scsi::pr_map::scsi_type;
use mpath_scsi::{
    List, PrInAction, PrInRepr, PrOutAction, PrOutParams, RegisterAndMoveParams, Sense, SenseKey,
    TransportId, TransportStatus,
};

use super::{
    count, done, done_pr, ensure, host, keys, pattern, reservation, setup, ScenarioResult, Unmet,
    OURS, RTYPE, THEIRS,
};
use crate::command::CommandResult;
use crate::fabric::Fabric;

/// Which nexus a raw command goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Our host's nexus `i`.
    Ours(usize),
    /// The other host's nexus.
    Theirs,
}

/// Sends of one raw command at most: a unit attention or two, then the
/// answer.
const ATTEMPTS: usize = 4;
/// ALLOCATION LENGTH for READ FULL STATUS: a few registrations with
/// iSCSI TransportIDs (each up to 24 + 228 bytes).
const FULL_STATUS_LEN: u16 = 4096;
/// REPORT CAPABILITIES is 8 bytes (SPC-4 6.16.4).
const CAPABILITIES_LEN: u16 = 8;
/// SAM status CHECK CONDITION.
const CHECK_CONDITION: u8 = 0x02;

fn sense(r: &CommandResult) -> Option<(SenseKey, u8, u8)> {
    if r.transport != TransportStatus::Ok || r.status != CHECK_CONDITION {
        return None;
    }
    let s = Sense::new_truncated(r.sense.as_slice()).ok()?;
    Some((s.key(), s.asc(), s.ascq()))
}

/// Send `cdb` on `via`, again after a unit attention.
pub fn send<F: Fabric>(
    f: &mut F,
    via: Via,
    cdb: &[u8],
    data_out: Option<&[u8]>,
    data_in_len: usize,
) -> CommandResult {
    let mut r = CommandResult::no_nexus(usize::MAX);
    for _ in 0..ATTEMPTS {
        r = match via {
            Via::Ours(i) => f.command(i, cdb, data_out, data_in_len),
            Via::Theirs => f.other_host_command(cdb, data_out, data_in_len),
        };
        if !matches!(sense(&r), Some((SenseKey::UnitAttention, _, _))) {
            break;
        }
    }
    r
}

/// The target's answer in words.
pub fn answer(r: &CommandResult) -> String {
    if r.transport != TransportStatus::Ok {
        return format!(
            "transport {:?} ({})",
            r.transport,
            r.error.as_deref().unwrap_or("-")
        );
    }
    match (r.status, sense(r)) {
        (0, _) => String::from("GOOD"),
        (0x18, _) => String::from("RESERVATION CONFLICT"),
        (_, Some((k, asc, ascq))) => format!("CHECK CONDITION {k:?} {asc:02x}/{ascq:02x}"),
        (s, None) => format!("status {s:#04x}"),
    }
}

/// `Ok` on GOOD; ILLEGAL REQUEST is the target not supporting `what`;
/// anything else fails.
pub(super) fn check(r: &CommandResult, what: &str) -> Result<(), Unmet> {
    if r.transport == TransportStatus::Ok && r.status == 0 {
        return Ok(());
    }
    let said = format!("{what}: {}", answer(r));
    match sense(r) {
        Some((SenseKey::IllegalRequest, _, _)) => Err(Unmet::Unsupported(said)),
        _ => Err(Unmet::Failed(said)),
    }
}

/// One-block READ (10) or WRITE (10) at `lba` on `via`, classified.
pub fn io_outcome<F: Fabric>(f: &mut F, via: Via, write: bool, lba: u64) -> Outcome {
    let bs = f.block_size();
    let p = RwParams::new(lba, 1);
    let (c, data) = if write {
        (cdb::write10(&p), Some(pattern(bs, lba, 0x5a)))
    } else {
        (cdb::read10(&p), None)
    };
    let Ok(c) = c else {
        return Outcome::TargetError(mpath_core::outcome::TargetError::IllegalRequest);
    };
    let len = if write { 0 } else { bs };
    let r = send(f, via, &c, data.as_deref(), len);
    classify(r.transport, r.status, r.sense()).outcome
}

/// PERSISTENT RESERVE OUT with the basic parameter list.
pub(super) fn pr_out<F: Fabric>(
    f: &mut F,
    via: Via,
    action: PrOutAction,
    rtype: Option<PrType>,
    params: &PrOutParams<'_>,
) -> Result<CommandResult, String> {
    let mut buf = vec![0; params.buffer_len()];
    params
        .emit(&mut buf)
        .map_err(|e| format!("{}: {e}", action.name()))?;
    let len = u32::try_from(buf.len()).map_err(|e| e.to_string())?;
    let c = cdb::persistent_reserve_out(action, rtype.map(scsi_type), len);
    Ok(send(f, via, &c, Some(&buf), 0))
}

/// PREEMPT (AND ABORT) from the other host, removing `victim`'s
/// registrations and holding `rtype` with `key`.
pub(super) fn preempt<F: Fabric>(
    f: &mut F,
    key: u64,
    victim: u64,
    rtype: PrType,
    abort: bool,
) -> Result<CommandResult, String> {
    let action = if abort {
        PrOutAction::PreemptAndAbort
    } else {
        PrOutAction::Preempt
    };
    pr_out(
        f,
        Via::Theirs,
        action,
        Some(rtype),
        &PrOutParams::new(key, victim),
    )
}

/// PERSISTENT RESERVE IN.
fn pr_in<F: Fabric>(f: &mut F, via: Via, action: PrInAction, len: u16) -> CommandResult {
    let c = cdb::persistent_reserve_in(action, len);
    send(f, via, &c, None, usize::from(len))
}

/// A READ FULL STATUS descriptor, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// RESERVATION KEY.
    pub key: u64,
    /// ALL_TG_PT.
    pub all_tg_pt: bool,
    /// R_HOLDER.
    pub r_holder: bool,
    /// TYPE, when `r_holder`.
    pub rtype: Option<mpath_scsi::PrType>,
    /// RELATIVE TARGET PORT IDENTIFIER.
    pub port: u16,
    /// iSCSI name of the initiator (empty for another protocol).
    pub name: String,
    /// ISID, for an iSCSI initiator port.
    pub isid: Option<u64>,
}

/// READ FULL STATUS on `via`, parsed.
pub fn full_status<F: Fabric>(f: &mut F, via: Via) -> Result<Vec<Registration>, Unmet> {
    let r = pr_in(f, via, PrInAction::ReadFullStatus, FULL_STATUS_LEN);
    check(&r, "READ FULL STATUS")?;
    let Ok(PrInRepr::ReadFullStatus { registrations, .. }) =
        PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &r.data)
            .map_err(|e| Unmet::Failed(format!("READ FULL STATUS data {:02x?}: {e}", r.data)))
    else {
        return Err(Unmet::Failed(String::from(
            "READ FULL STATUS: wrong layout",
        )));
    };
    Ok(registrations
        .iter()
        .map(|d| {
            let name = match d.transport_id {
                TransportId::Iscsi { name, .. } => String::from_utf8_lossy(name).into_owned(),
                _ => String::new(),
            };
            Registration {
                key: d.key,
                all_tg_pt: d.all_tg_pt,
                r_holder: d.r_holder,
                rtype: d.pr_type,
                port: d.relative_target_port,
                name,
                isid: d.transport_id.isid_value(),
            }
        })
        .collect())
}

/// REPORT CAPABILITIES on `via`; `None` when the target does not support
/// it.
pub(super) fn capabilities<F: Fabric>(f: &mut F, via: Via) -> Result<Option<Capabilities>, Unmet> {
    let r = pr_in(f, via, PrInAction::ReportCapabilities, CAPABILITIES_LEN);
    match check(&r, "REPORT CAPABILITIES") {
        Ok(()) => {}
        Err(Unmet::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    match PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &r.data) {
        Ok(PrInRepr::ReportCapabilities(c)) => Ok(Some(c)),
        other => Err(Unmet::Failed(format!(
            "REPORT CAPABILITIES data {:02x?}: {other:?}",
            r.data
        ))),
    }
}

/// A check's result with what REPORT CAPABILITIES said added to its
/// reason.
pub(super) fn with_capability(r: Result<(), Unmet>, said: &str) -> Result<(), Unmet> {
    r.map_err(|e| match e {
        Unmet::Unsupported(s) => Unmet::Unsupported(format!("{said}; {s}")),
        Unmet::Failed(s) => Unmet::Failed(format!("{said}; {s}")),
    })
}

/// The ISID as a TransportID carries it: 12 hexadecimal digits.
pub(super) fn isid_hex(isid: u64) -> String {
    format!("{isid:012x}")
}

/// A fabric that does not name its initiator ports cannot build
/// TransportIDs.
pub(super) fn port_of(p: Option<(String, u64)>, whose: &str) -> Result<(String, u64), String> {
    p.ok_or_else(|| format!("the fabric does not name {whose} initiator port"))
}

/// READ FULL STATUS, read by the other host, against what the
/// coordinator believes after registering on every nexus and reserving:
/// one registration with our key per nexus it counts registered, each on
/// the relative target port that nexus reaches, under our initiator name
/// and that nexus's ISID; R_HOLDER (with the type) on the holder's
/// nexus only; the other host's registration beside them.
pub fn full_status_agrees<F: Fabric>(f: &mut F) -> ScenarioResult {
    let n = f.nexus_count();
    let ports: Vec<Option<u16>> = (0..n)
        .map(|i| f.identify(i).map(|id| id.relative_target_port))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let names: Vec<(String, u64)> = (0..n)
        .map(|i| port_of(f.initiator_port(i), "our"))
        .collect::<Result<_, _>>()?;
    let other = port_of(f.other_initiator_port(), "the other host's")?;
    let mut h = host(f)?;
    setup(&mut h)?;
    done_pr(
        h.fabric()
            .other_host_pr(PrCommand::Register { key: THEIRS }),
        "other host register",
    )?;
    let st = full_status(h.fabric(), Via::Theirs)?;
    ensure(
        count(&st.iter().map(|r| r.key).collect::<Vec<_>>(), OURS) == n,
        || format!("READ FULL STATUS {st:x?}: want {n} registrations of ours"),
    )?;
    let mut seen = Vec::new();
    for i in 0..n {
        let p = h.path(i).ok_or("no path")?;
        ensure(
            h.coordinator().state(p) == Some(RegState::Registered),
            || format!("coordinator: nexus {i} {:?}", h.coordinator().state(p)),
        )?;
        let (name, isid) = &names[i];
        let mine: Vec<&super::raw::Registration> = st
            .iter()
            .filter(|r| r.key == OURS && &r.name == name && r.isid == Some(*isid))
            .collect();
        let [d] = mine.as_slice() else {
            return Err(format!(
                "nexus {i} ({name}, ISID {}): {} descriptors in {st:x?}",
                isid_hex(*isid),
                mine.len()
            )
            .into());
        };
        let holder = h.holder() == Some(i);
        ensure(
            d.r_holder == holder && (!holder || d.rtype == Some(scsi_type(RTYPE))),
            || {
                format!(
                    "nexus {i}: R_HOLDER {} TYPE {:?}, coordinator holder {:?}",
                    d.r_holder,
                    d.rtype,
                    h.holder()
                )
            },
        )?;
        ensure(
            ports[i].map_or(true, |p| p == d.port) && !d.all_tg_pt,
            || {
                format!(
                    "nexus {i}: port {} ALL_TG_PT {}, INQUIRY says {:?}",
                    d.port, d.all_tg_pt, ports[i]
                )
            },
        )?;
        seen.push(format!(
            "nexus {i} port {}{}",
            d.port,
            if holder { " (holder)" } else { "" }
        ));
    }
    let theirs: Vec<_> = st.iter().filter(|r| r.key == THEIRS).collect();
    ensure(
        theirs.len() == 1
            && theirs[0].name == other.0
            && theirs[0].isid == Some(other.1)
            && !theirs[0].r_holder,
        || format!("the other host's registration: {theirs:x?}"),
    )?;
    done_pr(
        h.fabric().other_host_pr(PrCommand::Unregister),
        "other host unregister",
    )?;
    done(
        &h,
        format!(
            "{} descriptors: {}; other host's on port {}",
            st.len(),
            seen.join(", "),
            theirs[0].port
        ),
    )
}

/// REGISTER AND IGNORE EXISTING KEY with ALL_TG_PT from nexus 0: GOOD,
/// READ KEYS shows the key, READ FULL STATUS (where supported) reports
/// the registration with ALL_TG_PT set or on every relative target port,
/// and the registration lets nexus 0 reserve and write.
pub fn all_target_ports<F: Fabric>(f: &mut F) -> ScenarioResult {
    // What the target says it can do, reported beside its answer: the
    // command itself is the test.
    let caps = capabilities(f, Via::Theirs)?;
    let said = caps.map_or(String::from("REPORT CAPABILITIES unsupported"), |c| {
        format!("REPORT CAPABILITIES ATP_C = {}", u8::from(c.atp_c))
    });
    let (name, isid) = port_of(f.initiator_port(0), "our")?;
    let params = PrOutParams {
        all_tg_pt: true,
        ..PrOutParams::new(0, OURS)
    };
    let r = pr_out(
        f,
        Via::Ours(0),
        PrOutAction::RegisterAndIgnoreExistingKey,
        None,
        &params,
    )?;
    with_capability(
        check(&r, "REGISTER AND IGNORE EXISTING KEY with ALL_TG_PT"),
        &said,
    )?;
    let k = keys(f)?;
    ensure(count(&k, OURS) >= 1, || format!("keys {k:x?}"))?;
    let status = match full_status(f, Via::Theirs) {
        Ok(st) => {
            let mine: Vec<_> = st
                .iter()
                .filter(|r| r.key == OURS && r.name == name && r.isid == Some(isid))
                .collect();
            let mut ports: Vec<u16> = mine.iter().map(|r| r.port).collect();
            ports.sort_unstable();
            ports.dedup();
            ensure(
                !mine.is_empty() && (mine.iter().all(|r| r.all_tg_pt) || ports.len() > 1),
                || format!("READ FULL STATUS {st:x?}"),
            )?;
            format!(
                "READ FULL STATUS: {} registration(s), ALL_TG_PT {}, ports {ports:?}",
                mine.len(),
                mine.iter().all(|r| r.all_tg_pt)
            )
        }
        Err(Unmet::Unsupported(s)) => format!("({s})"),
        Err(e) => return Err(e),
    };
    let reserve = PrCommand::Reserve {
        key: OURS,
        rtype: RTYPE,
    };
    done_pr(f.pr(0, reserve), "reserve")?;
    let w = io_outcome(f, Via::Ours(0), true, 0);
    ensure(w == Outcome::Success, || format!("write on nexus 0: {w:?}"))?;
    done_pr(f.pr(0, PrCommand::Clear { key: OURS }), "clear")?;
    Ok(format!(
        "{said}; registered with ALL_TG_PT, keys {k:x?}; {status}"
    ))
}

/// REGISTER with SPEC_I_PT from our unregistered nexus 0, naming the
/// other host's initiator port (iSCSI TransportID, format 01b with its
/// ISID): both are registered with the key (READ KEYS shows it twice),
/// and the other host can use it (its RESERVE with that key is GOOD).
pub fn specify_initiator_ports<F: Fabric>(f: &mut F) -> ScenarioResult {
    // What the target says it can do, reported beside its answer: the
    // command itself is the test.
    let caps = capabilities(f, Via::Theirs)?;
    let said = caps.map_or(String::from("REPORT CAPABILITIES unsupported"), |c| {
        format!("REPORT CAPABILITIES SIP_C = {}", u8::from(c.sip_c))
    });
    let (name, isid) = port_of(f.other_initiator_port(), "the other host's")?;
    let hex = isid_hex(isid);
    let ids = [TransportId::Iscsi {
        name: name.as_bytes(),
        isid: Some(hex.as_bytes()),
    }];
    let params = PrOutParams {
        spec_i_pt: true,
        transport_ids: List::Items(&ids),
        ..PrOutParams::new(0, OURS)
    };
    let r = pr_out(f, Via::Ours(0), PrOutAction::Register, None, &params)?;
    with_capability(check(&r, "REGISTER with SPEC_I_PT"), &said)?;
    let k = keys(f)?;
    ensure(count(&k, OURS) == 2 && k.len() == 2, || {
        format!("keys after SPEC_I_PT {k:x?}")
    })?;
    let reserve = PrCommand::Reserve {
        key: OURS,
        rtype: PrType::WriteExclusive,
    };
    done_pr(f.other_host_pr(reserve), "other host reserve with the key")?;
    let r = reservation(f)?;
    ensure(r == Some((OURS, PrType::WriteExclusive)), || {
        format!("reservation {r:x?}")
    })?;
    let theirs = io_outcome(f, Via::Theirs, true, 0);
    let ours = io_outcome(f, Via::Ours(0), true, 1);
    ensure(
        theirs == Outcome::Success && ours == Outcome::ReservationConflict,
        || format!("WE held by the other host: its write {theirs:?}, ours {ours:?}"),
    )?;
    done_pr(f.other_host_pr(PrCommand::Clear { key: OURS }), "clear")?;
    Ok(format!(
        "{said}; registered {name},i,0x{hex} too: keys {k:x?}; it reserved WE with the key"
    ))
}

/// REGISTER AND MOVE from our holder nexus 0 to the other host's
/// initiator port on the target port it reaches: the other host is
/// registered with the new key and holds the reservation (READ
/// RESERVATION), writes where we now conflict (Write Exclusive), and our
/// registration stays (UNREG = 0).
pub fn register_and_move<F: Fabric>(f: &mut F) -> ScenarioResult {
    let (name, isid) = port_of(f.other_initiator_port(), "the other host's")?;
    // SPC-4 7.7.3.7: VPD page 83h names the relative target port; a
    // target that does not (tgt) has one port, and numbers from 1.
    let reported = f
        .other_host_identify()
        .map_err(|e| e.to_string())?
        .relative_target_port;
    let port = reported.unwrap_or(1);
    let rtype = PrType::WriteExclusive;
    done_pr(f.pr(0, PrCommand::Register { key: OURS }), "register")?;
    let reserve = PrCommand::Reserve { key: OURS, rtype };
    done_pr(f.pr(0, reserve), "reserve")?;
    let hex = isid_hex(isid);
    let params = RegisterAndMoveParams {
        key: OURS,
        sa_key: THEIRS,
        unreg: false,
        aptpl: false,
        relative_target_port: port,
        transport_id: TransportId::Iscsi {
            name: name.as_bytes(),
            isid: Some(hex.as_bytes()),
        },
    };
    let mut buf = vec![0; params.buffer_len()];
    params.emit(&mut buf).map_err(|e| e.to_string())?;
    let len = u32::try_from(buf.len()).map_err(|e| e.to_string())?;
    let c = cdb::persistent_reserve_out(PrOutAction::RegisterAndMove, Some(scsi_type(rtype)), len);
    let r = send(f, Via::Ours(0), &c, Some(&buf), 0);
    check(&r, "REGISTER AND MOVE")?;
    let res = reservation(f)?;
    ensure(res == Some((THEIRS, rtype)), || {
        format!("reservation after the move {res:x?}")
    })?;
    let k = keys(f)?;
    ensure(count(&k, OURS) == 1 && count(&k, THEIRS) == 1, || {
        format!("keys after the move {k:x?}")
    })?;
    let theirs = io_outcome(f, Via::Theirs, true, 0);
    let ours = io_outcome(f, Via::Ours(0), true, 1);
    ensure(
        theirs == Outcome::Success && ours == Outcome::ReservationConflict,
        || format!("after the move: other host's write {theirs:?}, ours {ours:?}"),
    )?;
    done_pr(f.other_host_pr(PrCommand::Clear { key: THEIRS }), "clear")?;
    Ok(format!(
        "moved WE to {name},i,0x{hex} on relative port {port}{}: reservation {res:x?}, keys \
         {k:x?}",
        if reported.is_none() {
            " (not in VPD 83h: assumed)"
        } else {
            ""
        }
    ))
}
