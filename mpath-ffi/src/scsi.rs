//! The SCSI adapter at the boundary: [`MpathScsiAdapter`], one
//! `mpath_scsi::ScsiAdapter` for one logical unit (one device) and the
//! commands it gave C that await their response, with the exports that
//! drive it beside an [`MpathDevice`]. The call order is in
//! [`adapter`](crate::adapter); the mapping itself (TEST UNIT READY for
//! probes, REPORT and SET TARGET PORT GROUPS, PERSISTENT RESERVE OUT / IN)
//! is `mpath_scsi`'s, unchanged.

use crate::adapter::MPATH_ADAPTER_MAX_PENDING as PENDING;
use crate::adapter::{action, check_time, data_in, MpathApplied, MpathDataIn};
use crate::adapter::{settle_reservation, PrSettled};
use crate::codes::{MpathActivationResult, MpathAppliedKind, MpathProbeResult};
use crate::codes::{MpathRegistrationScope, MPATH_CODE_UNKNOWN};
use crate::config::MpathConfig;
use crate::control_io::MpathAction;
use crate::dataplane::MPATH_MAX_PATHS;
use crate::device::{at, path, Dev, MpathDevice};
use crate::errno::{of_error, of_scsi_adapter_error as of_adapter};
use crate::io::MpathCompletion;
use crate::paths::MpathPathSpec;
use crate::pending::Pending;
use crate::scsi_wire::{MpathScsiCommand, MpathScsiIdentity, MpathScsiResponse};
use crate::{flag, found, need, ret, u32_of, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::reservation::PrReply;
use mpath_core::{Action, DeviceInputs, Instant, NexusId, PathId, PathSpec};
use mpath_scsi::{
    path_spec, AdapterError, Applied, CommandKind, PrOptions, PrStep, RtpgApplied, ScsiAdapter,
    ScsiCommand, ScsiResponse,
};

/// One logical unit's SCSI adapter (opaque), at the library's path count,
/// with room for [`MPATH_ADAPTER_MAX_PENDING`](crate::adapter::MPATH_ADAPTER_MAX_PENDING)
/// commands awaiting their response. It serves one device, whose paths it
/// adds and removes.
#[derive(Debug)]
pub struct MpathScsiAdapter {
    ad: ScsiAdapter<MPATH_MAX_PATHS>,
    pending: Pending<ScsiCommand, PENDING>,
}

/// Make `mem` the SCSI adapter of the logical unit `identity` names (its
/// VPD page 83h designator; read through any one path), with no paths.
/// Reservations register per `scope` ([`MpathRegistrationScope`] code:
/// `Nexus`, or `InitiatorPort` for ALL_TG_PT; `Host` does not exist in
/// SCSI) with APTPL `aptpl` (0/1); give the device the same scope.
/// Returns `mem` as the adapter, or `NULL` with `*err` (if not `NULL`):
/// `-EFAULT` a `NULL` argument, `-EINVAL` a code or flag outside its
/// table, a length past its buffer, or data naming no logical unit,
/// `-EBADMSG` malformed pages.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_init<'a>(
    mem: Option<&'a mut MaybeUninit<MpathScsiAdapter>>,
    identity: Option<&MpathScsiIdentity>,
    scope: u32,
    aptpl: u8,
    err: Option<&mut c_int>,
) -> Option<&'a mut MpathScsiAdapter> {
    let made = (|| -> Result<&'a mut MpathScsiAdapter, c_int> {
        let mem = need(mem)?;
        let lu = need(identity)?.decode()?.lu;
        let scope = MpathRegistrationScope::parse(scope)?.to_core();
        let pr = PrOptions::new(scope)
            .map_err(of_adapter)?
            .with_aptpl(flag(aptpl)?);
        // Written straight into the caller's memory: the pending table is
        // tens of KiB, more than a kernel stack.
        Ok(mem.write(MpathScsiAdapter {
            ad: ScsiAdapter::new(lu).with_pr_options(pr),
            pending: Pending::new(),
        }))
    })();
    match made {
        Ok(ad) => Some(ad),
        Err(e) => {
            if let Some(err) = err {
                *err = e;
            }
            None
        }
    }
}

/// Make `*cfg` fit the logical unit `identity` describes before
/// `mpath_device_init`: the ALUA access protocol, and explicit activation
/// (SET TARGET PORT GROUPS) only where TPGS allows it. Refused (`-EFAULT`,
/// `-EINVAL`, `-EBADMSG` as `mpath_scsi_init`): `*cfg` unchanged.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_core_config(
    identity: Option<&MpathScsiIdentity>,
    cfg: Option<&mut MpathConfig>,
) -> c_int {
    ret((|| -> Ret {
        let (identity, cfg) = (need(identity)?.decode()?, need(cfg)?);
        let fitted = ScsiAdapter::<MPATH_MAX_PATHS>::core_config(cfg.decode()?, identity.tpgs);
        *cfg = MpathConfig::of(&fitted);
        Ok(0)
    })())
}

/// The core's path spec for a path of `identity`: the group is the
/// identity's (its target port group, or the default group without ALUA;
/// `spec.group` must be 0 or that group), and without ALUA the state is
/// optimized whatever `spec` says; the rest is `spec`'s.
fn spec_for(identity: &mpath_scsi::PathIdentity, spec: &MpathPathSpec) -> Result<PathSpec, c_int> {
    let c = spec.decode()?;
    let base =
        path_spec(identity, NexusId(spec.nexus), c.access).map_err(|e| of_adapter(e.into()))?;
    if spec.group != 0 && spec.group != base.group.0 {
        return Err(-crate::errno::EINVAL);
    }
    Ok(PathSpec {
        locality: c.locality,
        relative_throughput: c.relative_throughput,
        transition_timeout: c.transition_timeout,
        ..base
    })
}

/// Add the path whose INQUIRY and VPD page 83h are `identity` to the
/// device and the adapter: over nexus `spec.nexus`, registrations counting
/// for initiator port `port`, the rest of `spec` as `mpath_add_path` takes
/// it (see `spec_for` for the group). Its id goes to `*out_path`. An ALUA
/// path added without an access state makes the device ask for REPORT
/// TARGET PORT GROUPS through it at once. `-EXDEV` for a path to another
/// logical unit, `-ENOSPC` for a full table, the device's refusals as
/// `mpath_add_path`'s; nothing changed on a refusal.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_add_path(
    ad: Option<&mut MpathScsiAdapter>,
    dev: Option<&mut MpathDevice>,
    identity: Option<&MpathScsiIdentity>,
    spec: Option<&MpathPathSpec>,
    port: u32,
    now_ns: u64,
    out_path: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, out) = (need(ad)?, need(dev)?, need(out_path)?);
        let identity = need(identity)?.decode()?;
        let spec = spec_for(&identity, need(spec)?)?;
        let now = at(now_ns);
        check_time(&dev.dev, now)?;
        let id = ad
            .ad
            .add_path(&mut dev.dev, &identity, spec, port, now)
            .map_err(of_adapter)?;
        *out = id.to_raw();
        Ok(0)
    })())
}

/// `Ok` if both the device and the adapter know `p`: the device's
/// refusal (`-EINVAL` unknown, `-ESTALE` removed) first, then the
/// adapter's (`-ESTALE`: a path the adapter did not add).
fn known(ad: &MpathScsiAdapter, dev: &Dev, p: PathId) -> Result<(), c_int> {
    dev.check_path(p).map_err(of_error)?;
    ad.ad.path(p).map(|_| ()).map_err(of_adapter)
}

/// Remove a path from the device and the adapter. Commands it was sent
/// that await a response are forgotten, but for reservation commands
/// (their answer is still owed to the device).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_remove_path(
    ad: Option<&mut MpathScsiAdapter>,
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, p, now) = (need(ad)?, need(dev)?, path(path_id), at(now_ns));
        known(ad, &dev.dev, p)?;
        check_time(&dev.dev, now)?;
        ad.ad
            .remove_path(&mut dev.dev, p, now)
            .map_err(of_adapter)?;
        ad.pending
            .forget(|c| c.path() == p && !matches!(c.kind(), CommandKind::Reservation { .. }));
        Ok(0)
    })())
}

/// The command for an action of `dev`'s, as the adapter builds it (no
/// slot taken).
fn command_for(
    ad: &MpathScsiAdapter,
    dev: &MpathDevice,
    a: &Action,
) -> Result<Option<ScsiCommand>, AdapterError> {
    match a {
        // REGISTER AND MOVE's TransportID is the coordinator's, beside
        // its command; every other command ignores it.
        Action::Reservation(pa) => {
            let tid = dev.dev.coordinator().move_destination().map(|(t, _)| t);
            ad.ad.pr_command_with(pa, tid).map(Some)
        }
        other => ad.ad.map_action(other),
    }
}

/// Map an action `mpath_poll_action` gave for `dev` to a SCSI command:
/// `1` and `*out` (send it; its response goes to `mpath_scsi_apply` with
/// `out->tag`), or `0` for an action that is no SCSI command (dispatch,
/// fail, head changes, a transition timeout). Refused, nothing changed:
/// `-EINVAL` a code outside its table, `-ENOSPC` too many commands await
/// a response, and the adapter's reasons (`-ESTALE` a path it does not
/// know, `-EOPNOTSUPP` no ALUA or no explicit ALUA, `-ENOENT` an unknown
/// group or no REGISTER AND MOVE destination): give those to
/// `mpath_scsi_settle_unmapped`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_map_action(
    ad: Option<&mut MpathScsiAdapter>,
    dev: Option<&MpathDevice>,
    action_in: Option<&MpathAction>,
    out: Option<&mut MpathScsiCommand>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, out) = (need(ad)?, need(dev)?, need(out)?);
        let Some(a) = action(need(action_in)?)? else {
            return Ok(0);
        };
        let Some(cmd) = command_for(ad, dev, &a).map_err(of_adapter)? else {
            return Ok(0);
        };
        let slot = ad.pending.free_slot()?;
        let tag = ad.pending.insert(slot, cmd);
        *out = MpathScsiCommand::of(&cmd, tag);
        Ok(found(true))
    })())
}

/// Tell the device how an action `mpath_scsi_map_action` refused ended,
/// so nothing stays pending: a refresh through a path without ALUA is
/// answered with its only state, other refreshes and activations failed,
/// a probe on a path the adapter does not know found it down; a
/// reservation command that could not be built is answered `Refused`
/// (no REGISTER AND MOVE destination, a bad TransportID) or `PathFailed`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_settle_unmapped(
    ad: Option<&MpathScsiAdapter>,
    dev: Option<&mut MpathDevice>,
    action_in: Option<&MpathAction>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, now) = (need(ad)?, need(dev)?, at(now_ns));
        let Some(a) = action(need(action_in)?)? else {
            return Ok(0);
        };
        check_time(&dev.dev, now)?;
        if let Action::Reservation(pa) = a {
            let reply = match command_for(ad, dev, &a) {
                Ok(_) => return Ok(0),
                Err(AdapterError::NoMoveDestination | AdapterError::Wire(_)) => PrReply::Refused,
                Err(_) => PrReply::PathFailed,
            };
            dev.dev
                .handle_reservation_reply(pa.via, reply, now)
                .map_err(of_error)?;
            return Ok(0);
        }
        ad.ad
            .settle_unmapped(&mut dev.dev, &a, now)
            .map_err(of_adapter)?;
        Ok(0)
    })())
}

/// What applying a response came to: the report, and the command to send
/// in its place, if any.
type Outcome = (MpathApplied, Option<ScsiCommand>);

/// A control command's response through `ScsiAdapter::apply`.
fn apply_control(
    ad: &mut MpathScsiAdapter,
    dev: &mut MpathDevice,
    cmd: &ScsiCommand,
    resp: &ScsiResponse<'_>,
    now: Instant,
) -> Result<Outcome, c_int> {
    known(ad, &dev.dev, cmd.path())?;
    let kind = MpathApplied::of_kind;
    Ok(match ad.ad.apply(&mut dev.dev, cmd, resp, now) {
        Ok(Applied::Probe(p)) => (
            MpathApplied {
                probe: MpathProbeResult::of(p),
                ..kind(MpathAppliedKind::Probe)
            },
            None,
        ),
        Ok(Applied::ProbeAgain(next)) => (kind(MpathAppliedKind::ProbeAgain), Some(next)),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups })) => (
            MpathApplied {
                count: u32_of(groups),
                ..kind(MpathAppliedKind::Refresh)
            },
            None,
        ),
        Ok(Applied::Refresh(RtpgApplied::Reissue(next))) => {
            (kind(MpathAppliedKind::Reissue), Some(next))
        }
        Ok(Applied::Activation(a)) => (
            MpathApplied {
                activation: MpathActivationResult::of(a),
                ..kind(MpathAppliedKind::Activation)
            },
            None,
        ),
        Ok(_) => (
            MpathApplied {
                kind: MPATH_CODE_UNKNOWN,
                ..MpathApplied::default()
            },
            None,
        ),
        Err(e) => (MpathApplied::failed(of_adapter(e)), None),
    })
}

/// A reservation command's response through `ScsiAdapter::pr_reply`: the
/// answer to the device (refused there, nothing changed), then its
/// notices; or the command to send instead.
fn apply_reservation(
    ad: &MpathScsiAdapter,
    dev: &mut MpathDevice,
    cmd: &ScsiCommand,
    resp: &ScsiResponse<'_>,
    now: Instant,
) -> Result<Outcome, c_int> {
    let via = cmd.path();
    let d = ad.ad.pr_reply(cmd, resp).map_err(of_adapter)?;
    let settled = match d.step {
        PrStep::Resend(next) => PrSettled::Resend(next),
        PrStep::Answer(a) => PrSettled::Answer(a.reply(dev.dev.coordinator().key())),
    };
    let result = d.data_error.map_or(0, of_adapter);
    settle_reservation(dev, via, settled, result, d.notices, now)
}

/// Apply the response to the command tagged `resp->tag` (its data-in: the
/// first `resp->data_in_len` bytes of `data_in`, which may be `NULL` when
/// there are none), at `now_ns`. Returns `1` when `*next` holds a command
/// to send now in its place (a TEST UNIT READY after a unit attention, an
/// REPORT TARGET PORT GROUPS with more room or the length-only header, a
/// PERSISTENT RESERVE command again), else `0`; `*out` says what was done
/// (`Failed` with the reason when the command failed or its data was
/// unusable, which the device has been told as the adapter tells it).
/// Refused, the command still awaiting its response and nothing changed:
/// `-EPROTO` no command awaits a response with that tag, or the device
/// awaits no reservation answer on its path; `-EINVAL` a code outside its
/// table or a length past its buffer; `-ERANGE` time going backwards;
/// `-ESTALE` / `-EINVAL` the command's path is gone (cancel it).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_apply(
    ad: Option<&mut MpathScsiAdapter>,
    dev: Option<&mut MpathDevice>,
    resp: Option<&MpathScsiResponse>,
    data: Option<&MpathDataIn>,
    now_ns: u64,
    out: Option<&mut MpathApplied>,
    next: Option<&mut MpathScsiCommand>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, resp) = (need(ad)?, need(dev)?, need(resp)?);
        let (out, next) = (need(out)?, need(next)?);
        let r = resp.decode(data_in(data, resp.data_in_len)?)?;
        let cmd = ad.pending.get(resp.tag)?;
        let now = at(now_ns);
        check_time(&dev.dev, now)?;
        let (applied, follow) = match cmd.kind() {
            CommandKind::Reservation { .. } => apply_reservation(ad, dev, &cmd, &r, now)?,
            _ => apply_control(ad, dev, &cmd, &r, now)?,
        };
        *out = applied;
        match follow {
            Some(c) => {
                let tag = ad.pending.replace(resp.tag, c);
                *next = MpathScsiCommand::of(&c, tag);
                Ok(found(true))
            }
            None => {
                ad.pending.remove(resp.tag)?;
                Ok(found(false))
            }
        }
    })())
}

/// Forget the command tagged `tag`: C gave up on it and no response will
/// be applied. The device's own timeout then ends what it was for.
/// `-EPROTO` if no command awaits a response with that tag.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_cancel(ad: Option<&mut MpathScsiAdapter>, tag: u64) -> c_int {
    ret((|| -> Ret {
        need(ad)?.pending.remove(tag)?;
        Ok(0)
    })())
}

/// Commands awaiting their response.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_pending(
    ad: Option<&MpathScsiAdapter>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = u32_of(need(ad)?.pending.len());
        Ok(0)
    })())
}

/// Classify how an I/O sent on `path_id` ended (`resp`'s transport
/// verdict, STATUS and sense; its tag is not read) into `*out` for
/// `mpath_handle_completion`, as the adapter does: CHECK CONDITION by
/// sense key and ASC/ASCQ (SAM-5, scsi_dh_alua, multipath-tools), unit
/// attentions as retries with their notices. `-ESTALE` for a path the
/// adapter does not know, `-EINVAL` for a bad code or length.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_scsi_classify_completion(
    ad: Option<&MpathScsiAdapter>,
    path_id: u32,
    resp: Option<&MpathScsiResponse>,
    out: Option<&mut MpathCompletion>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, out) = (need(ad)?, need(out)?);
        let r = need(resp)?.decode(&[])?;
        let c = ad
            .ad
            .classify_completion(path(path_id), &r)
            .map_err(of_adapter)?;
        *out = MpathCompletion::of(&c);
        Ok(0)
    })())
}
