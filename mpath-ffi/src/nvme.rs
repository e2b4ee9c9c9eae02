//! The NVMe adapter at the boundary: [`MpathNvmeAdapter`], one
//! `mpath_nvme::NvmeAdapter` for one namespace head (one device) and the
//! commands it gave C that await their response, with the exports that
//! drive it beside an [`MpathDevice`]. The call order is in
//! [`adapter`](crate::adapter); the mapping itself (ANA log reads for
//! probes and refreshes, a controller reset past ANATT, Reservation
//! commands) is `mpath_nvme`'s, unchanged.

use crate::adapter::{action, check_time, data_in, MpathApplied, MpathDataIn};
use crate::adapter::{settle_reservation, PrSettled};
use crate::adapter::{MPATH_ADAPTER_MAX_PENDING as PENDING, MPATH_DATA_IN_MAX};
use crate::codes::MPATH_CODE_UNKNOWN;
use crate::codes::{MpathAnaState, MpathAppliedKind, MpathCptpl, MpathProbeResult};
use crate::config::MpathConfig;
use crate::control_io::MpathAction;
use crate::dataplane::MPATH_MAX_PATHS;
use crate::device::{at, path, Dev, MpathDevice};
use crate::errno::{of_error, of_nvme_adapter_error as of_adapter, ENOSPC};
use crate::io::MpathCompletion;
use crate::nvme_wire::{MpathNvmeCommand, MpathNvmeIdentify, MpathNvmeResponse};
use crate::pending::Pending;
use crate::{found, need, ret, u32_of, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::reservation::PrReply;
use mpath_core::{Action, DeviceInputs, Instant, Locality, PathId};
use mpath_nvme::command::LogPurpose;
use mpath_nvme::identity::NsIdentity;
use mpath_nvme::log_page::GetLogPage;
use mpath_nvme::{AdapterError, AenFollowUp, Applied, NvmeAdapter, NvmeCommand, NvmePath};
use mpath_nvme::{NvmeResponse, PrStep};

/// One namespace head's NVMe adapter (opaque), at the library's path
/// count, with room for
/// [`MPATH_ADAPTER_MAX_PENDING`](crate::adapter::MPATH_ADAPTER_MAX_PENDING)
/// commands awaiting their response. It serves one device, whose paths it
/// adds and removes.
#[derive(Debug)]
pub struct MpathNvmeAdapter {
    ad: NvmeAdapter<MPATH_MAX_PATHS>,
    /// This host's Host Identifier (as a Reservation Report holds it), if
    /// C gave it: reports then say whether this host is registered.
    host_id: Option<[u8; 16]>,
    pending: Pending<NvmeCommand, PENDING>,
}

/// Make `mem` the NVMe adapter of namespace `nsid` of the subsystem whose
/// Identify Controller data is `identify->controller` (its SUBNQN), with
/// no paths. Every registration asks for Persist Through Power Loss
/// `cptpl` ([`MpathCptpl`] code); `host_id` (may be `NULL`) is this host's
/// Host Identifier as a Reservation Report shows it (a 64-bit identifier in
/// the first 8 bytes). Give the device the `Host` registration scope and a
/// configuration from `mpath_nvme_core_config`. Returns `mem` as the
/// adapter, or `NULL` with `*err` (if not `NULL`): `-EFAULT` a `NULL`
/// argument, `-EINVAL` a code outside its table, no SUBNQN, NSID 0 or
/// FFFFFFFFh, `-EBADMSG` Identify data that does not parse.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_init<'a>(
    mem: Option<&'a mut MaybeUninit<MpathNvmeAdapter>>,
    identify: Option<&MpathNvmeIdentify>,
    nsid: u32,
    cptpl: u32,
    host_id: Option<&[u8; 16]>,
    err: Option<&mut c_int>,
) -> Option<&'a mut MpathNvmeAdapter> {
    let made = (|| -> Result<&'a mut MpathNvmeAdapter, c_int> {
        let mem = need(mem)?;
        let (ctrl, _) = need(identify)?.decode()?;
        let identity = NsIdentity::from_identify(&ctrl, nsid).map_err(|e| of_adapter(e.into()))?;
        let ptpl = MpathCptpl::parse(cptpl)?.to_nvme();
        // Written straight into the caller's memory, as the SCSI adapter.
        Ok(mem.write(MpathNvmeAdapter {
            ad: NvmeAdapter::new(identity).with_ptpl(ptpl),
            host_id: host_id.copied(),
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

/// Make `*cfg` fit NVMe before `mpath_device_init`: the ANA access
/// protocol, no explicit activation (NVMe has none). `-EINVAL` for a
/// configuration the core refuses, `*cfg` unchanged.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_core_config(cfg: Option<&mut MpathConfig>) -> c_int {
    ret((|| -> Ret {
        let cfg = need(cfg)?;
        let fitted = NvmeAdapter::<MPATH_MAX_PATHS>::core_config(cfg.decode()?);
        *cfg = MpathConfig::of(&fitted);
        Ok(0)
    })())
}

/// Add the path through the controller `identify` describes (Identify
/// Controller and Namespace) to the device and the adapter, near
/// `locality`, its ANA state `ana_state` ([`MpathAnaState`] code, as an
/// ANA log read during discovery gave it; `NotRead` makes the device ask
/// for the log first). Its id goes to `*out_path`; its nexus is the
/// CNTLID. `-EXDEV` a path to another namespace or subsystem, `-ENOSPC` a
/// full table or an ANA log longer than `MPATH_DATA_IN_MAX`, the
/// device's refusals as `mpath_add_path`'s; nothing changed on a refusal.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_add_path(
    ad: Option<&mut MpathNvmeAdapter>,
    dev: Option<&mut MpathDevice>,
    identify: Option<&MpathNvmeIdentify>,
    ana_state: u32,
    locality: u32,
    now_ns: u64,
    out_path: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, out) = (need(ad)?, need(dev)?, need(out_path)?);
        let (ctrl, ns) = need(identify)?.decode()?;
        let state = MpathAnaState::parse(ana_state)?.to_nvme();
        let mut p = NvmePath::from_identify(&ctrl, &ns, ad.ad.identity().nsid)
            .map_err(|e| of_adapter(e.into()))?;
        p.locality = Locality(locality);
        let fits = p
            .ana_log_len(ad.ad.rgo())
            .and_then(|n| usize::try_from(n).ok())
            .is_some_and(|n| n <= MPATH_DATA_IN_MAX);
        if p.ana_reporting && !fits {
            return Err(-ENOSPC);
        }
        let now = at(now_ns);
        check_time(&dev.dev, now)?;
        let id = ad
            .ad
            .add_path(&mut dev.dev, &p, state, now)
            .map_err(of_adapter)?;
        *out = id.to_raw();
        Ok(0)
    })())
}

/// `Ok` if both the device and the adapter know `p` (as the SCSI side).
fn known(ad: &MpathNvmeAdapter, dev: &Dev, p: PathId) -> Result<(), c_int> {
    dev.check_path(p).map_err(of_error)?;
    ad.ad.path(p).map(|_| ()).map_err(of_adapter)
}

/// Remove a path from the device and the adapter. Commands sent to its
/// controller that await a response are forgotten, but for reservation
/// commands (their answer is still owed to the device).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_remove_path(
    ad: Option<&mut MpathNvmeAdapter>,
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
            .forget(|c| c.path() == p && c.pr_command().is_none());
        Ok(0)
    })())
}

/// The host connected the path's controller again (a new association):
/// the device checks its registration before the path carries I/O under
/// it, since a subsystem that lost power may have dropped it silently.
/// Call after telling the device the link is up.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_reconnected(
    ad: Option<&MpathNvmeAdapter>,
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, p, now) = (need(ad)?, need(dev)?, path(path_id), at(now_ns));
        known(ad, &dev.dev, p)?;
        check_time(&dev.dev, now)?;
        ad.ad
            .reconnected(&mut dev.dev, p, now)
            .map_err(of_adapter)?;
        Ok(0)
    })())
}

/// The command for an action, as the adapter builds it (no slot taken).
fn command_for(ad: &MpathNvmeAdapter, a: &Action) -> Result<Option<NvmeCommand>, AdapterError> {
    match a {
        Action::Reservation(pa) => ad.ad.pr_command(pa).map(Some),
        other => ad.ad.map_action(other),
    }
}

/// `cmd` kept until its response, and as C sends it.
fn give_out(ad: &mut MpathNvmeAdapter, slot: usize, cmd: NvmeCommand) -> MpathNvmeCommand {
    let cntlid = ad.ad.path(cmd.path()).map_or(0, |p| p.cntlid);
    let tag = ad.pending.insert(slot, cmd);
    MpathNvmeCommand::of(&cmd, cntlid, tag)
}

/// Map an action `mpath_poll_action` gave to an NVMe command: `1` and
/// `*out` (send it, or for `ResetController` reset the controller; the
/// response goes to `mpath_nvme_apply` with `out->tag`), or `0` for an
/// action that is no command. Refused, nothing changed: `-EINVAL` a code
/// outside its table, `-ENOSPC` too many commands await a response, and
/// the adapter's reasons (`-ESTALE` a path it does not know,
/// `-EOPNOTSUPP` an activation or REGISTER AND MOVE, which NVMe does not
/// have, or a refresh through a controller without ANA, `-ENOENT` an
/// unknown group): give those to `mpath_nvme_settle_unmapped`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_map_action(
    ad: Option<&mut MpathNvmeAdapter>,
    action_in: Option<&MpathAction>,
    out: Option<&mut MpathNvmeCommand>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, out) = (need(ad)?, need(out)?);
        let Some(a) = action(need(action_in)?)? else {
            return Ok(0);
        };
        let Some(cmd) = command_for(ad, &a).map_err(of_adapter)? else {
            return Ok(0);
        };
        let slot = ad.pending.free_slot()?;
        *out = give_out(ad, slot, cmd);
        Ok(found(true))
    })())
}

/// Tell the device how an action `mpath_nvme_map_action` refused ended,
/// so nothing stays pending: an activation failed, a refresh through a
/// controller without ANA is answered optimized, other refreshes failed, a
/// probe on a path the adapter does not know found it down; a reservation
/// command NVMe does not have is answered `Refused`, one that could not be
/// built otherwise `PathFailed`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_settle_unmapped(
    ad: Option<&MpathNvmeAdapter>,
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
            let reply = match command_for(ad, &a) {
                Ok(_) => return Ok(0),
                Err(AdapterError::Unsupported { .. }) => PrReply::Refused,
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
type Outcome = (MpathApplied, Option<NvmeCommand>);

/// A control command's response through `NvmeAdapter::apply`.
fn apply_control(
    ad: &mut MpathNvmeAdapter,
    dev: &mut MpathDevice,
    cmd: &NvmeCommand,
    resp: &NvmeResponse<'_>,
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
        Ok(Applied::Refresh { paths }) => (
            MpathApplied {
                count: u32_of(paths),
                ..kind(MpathAppliedKind::Refresh)
            },
            None,
        ),
        Ok(Applied::Notification(page)) => {
            // More pages queued: read the next one (Linux
            // `nvme_resv_notification_work` loops the same way).
            let next = (page.available > 0).then_some(NvmeCommand::GetLogPage {
                path: cmd.path(),
                purpose: LogPurpose::ReservationNotification,
                cmd: GetLogPage::reservation_notification(),
            });
            (
                MpathApplied {
                    count: u32::from(page.available),
                    ..kind(MpathAppliedKind::Notification)
                },
                next,
            )
        }
        Ok(Applied::ChangedNamespaces) => (kind(MpathAppliedKind::ChangedNamespaces), None),
        Ok(Applied::Reset) => (kind(MpathAppliedKind::Reset), None),
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

/// A reservation command's response through `NvmeAdapter::pr_reply`, as
/// on the SCSI side.
fn apply_reservation(
    ad: &MpathNvmeAdapter,
    dev: &mut MpathDevice,
    cmd: &NvmeCommand,
    resp: &NvmeResponse<'_>,
    now: Instant,
) -> Result<Outcome, c_int> {
    let via = cmd.path();
    let d = ad.ad.pr_reply(cmd, resp).map_err(of_adapter)?;
    let settled = match d.step {
        PrStep::Resend(next) => PrSettled::Resend(next),
        PrStep::Answer(a) => {
            PrSettled::Answer(a.reply_at(dev.dev.coordinator().key(), ad.host_id.as_ref()))
        }
    };
    let result = d.data_error.map_or(0, of_adapter);
    settle_reservation(dev, via, settled, result, d.notices, now)
}

/// Apply the response to the command tagged `resp->tag` (its data-in: the
/// first `resp->data_in_len` bytes of `data_in`, which may be `NULL` when
/// there are none), at `now_ns`. Returns `1` when `*next` holds a command
/// to send now in its place (Register met an existing registration and
/// becomes Replace, a report needs more room, another Reservation
/// Notification page is queued), else `0`; `*out` says what was done
/// (`Failed` with the reason when the command failed or its data was
/// unusable, which the device has been told as the adapter tells it).
/// Refused, the command still awaiting its response and nothing changed:
/// `-EPROTO` no command awaits a response with that tag, or the device
/// awaits no reservation answer on its path; `-EINVAL` a code outside its
/// table or a length past its buffer; `-ERANGE` time going backwards;
/// `-ESTALE` / `-EINVAL` the command's path is gone (cancel it).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_apply(
    ad: Option<&mut MpathNvmeAdapter>,
    dev: Option<&mut MpathDevice>,
    resp: Option<&MpathNvmeResponse>,
    data: Option<&MpathDataIn>,
    now_ns: u64,
    out: Option<&mut MpathApplied>,
    next: Option<&mut MpathNvmeCommand>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, resp) = (need(ad)?, need(dev)?, need(resp)?);
        let (out, next) = (need(out)?, need(next)?);
        let r = NvmeResponse {
            delivery: resp.delivery()?,
            data_in: data_in(data, resp.data_in_len)?,
        };
        let cmd = ad.pending.get(resp.tag)?;
        let now = at(now_ns);
        check_time(&dev.dev, now)?;
        let (applied, follow) = match cmd.pr_command() {
            Some(_) => apply_reservation(ad, dev, &cmd, &r, now)?,
            None => apply_control(ad, dev, &cmd, &r, now)?,
        };
        *out = applied;
        ad.pending.remove(resp.tag)?;
        match follow {
            Some(c) => {
                // The slot just freed takes the command sent in its place.
                let slot = ad.pending.free_slot()?;
                *next = give_out(ad, slot, c);
                Ok(found(true))
            }
            None => Ok(found(false)),
        }
    })())
}

/// An Asynchronous Event Request completion (its Dword 0) from the
/// controller of `path_id`: the device hears the event's notices (an ANA
/// change makes it read the log). Returns `1` when `*next` is a log page
/// to read now (Reservation Notification, Changed Namespace List), else
/// `0`. Re-arming the request is C's. Refused, nothing changed: `-ENOSPC`
/// too many commands await a response, `-ERANGE`, and the path refusals.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_apply_aen(
    ad: Option<&mut MpathNvmeAdapter>,
    dev: Option<&mut MpathDevice>,
    path_id: u32,
    dw0: u32,
    now_ns: u64,
    next: Option<&mut MpathNvmeCommand>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, dev, next) = (need(ad)?, need(dev)?, need(next)?);
        let (p, now) = (path(path_id), at(now_ns));
        known(ad, &dev.dev, p)?;
        check_time(&dev.dev, now)?;
        let slot = ad.pending.free_slot()?;
        match ad.ad.apply_aen(&mut dev.dev, p, dw0, now) {
            Ok(AenFollowUp::ReadLog(cmd)) => {
                *next = give_out(ad, slot, cmd);
                Ok(found(true))
            }
            Ok(_) => Ok(found(false)),
            Err(e) => Err(of_adapter(e)),
        }
    })())
}

/// Forget the command tagged `tag`: C gave up on it and no response will
/// be applied. `-EPROTO` if no command awaits a response with that tag.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_cancel(ad: Option<&mut MpathNvmeAdapter>, tag: u64) -> c_int {
    ret((|| -> Ret {
        need(ad)?.pending.remove(tag)?;
        Ok(0)
    })())
}

/// Commands awaiting their response.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_pending(
    ad: Option<&MpathNvmeAdapter>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = u32_of(need(ad)?.pending.len());
        Ok(0)
    })())
}

/// Classify how an I/O sent on `path_id` ended (`resp`'s delivery and
/// Dword 3; its tag is not read) into `*out` for `mpath_handle_completion`,
/// as the adapter does, with that controller's Command Retry Delay Times:
/// ANA and other path-related statuses fail over, reservation conflicts
/// are conflicts, other statuses retry unless DNR is set. `-ESTALE` for a
/// path the adapter does not know, `-EINVAL` for a bad code.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_nvme_classify_completion(
    ad: Option<&MpathNvmeAdapter>,
    path_id: u32,
    resp: Option<&MpathNvmeResponse>,
    out: Option<&mut MpathCompletion>,
) -> c_int {
    ret((|| -> Ret {
        let (ad, out) = (need(ad)?, need(out)?);
        let delivery = need(resp)?.delivery()?;
        let c = ad
            .ad
            .classify_completion(path(path_id), delivery)
            .map_err(of_adapter)?;
        *out = MpathCompletion::of(&c);
        Ok(0)
    })())
}
