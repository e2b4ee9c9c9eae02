//! One iSCSI session to one logical unit: one I_T nexus.
//!
//! A SCSI persistent-reservation registration belongs to the I_T nexus,
//! which iSCSI names by the initiator name plus the ISID (RFC 7143 10.12.5).
//! libiscsi picks a random ISID per context, so each [`IscsiNexus`] pins
//! its own ([`NexusConfig::isid`]): a reconnect then comes back as the same
//! nexus, as the Linux initiator's session recovery does, and a stale
//! registration on it is the coordinator's business (rule 3).
//!
//! Commands are synchronous (`iscsi_scsi_command_sync`) with a per-command
//! timeout, and libiscsi's automatic reconnect is off by default: a cut
//! connection must show up as a failed command so the multipath core sees
//! the path go down, not as a command that silently waits for a reconnect.

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_int;
use std::ptr::NonNull;

use mpath_scsi::classify::TransportStatus;
use mpath_scsi::ScsiCommand;

use crate::ffi;

/// A finished command: mpath-prsuite's, which every fabric answers with.
pub use mpath_prsuite::command::CommandResult;

/// The random part of every ISID we log in with (ISID type 10b, "random",
/// RFC 7143 10.12.5): "MPI".
pub const ISID_RANDOM: u32 = 0x4d_5049;

/// The whole 48-bit ISID a nexus with ISID qualifier `qualifier` logs in
/// with: libiscsi's `iscsi_set_isid_random` puts 80h, the 24 random bits
/// and the 16-bit qualifier in that order. A target names the initiator
/// port by it (TransportID format 01b: `name,i,0x<ISID>`).
pub const fn isid(qualifier: u16) -> u64 {
    (0x80u64 << 40) | ((ISID_RANDOM as u64) << 16) | qualifier as u64
}

/// Where and as whom to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NexusConfig {
    /// Target portal, `host:port`.
    pub portal: String,
    /// Target name (IQN).
    pub target: String,
    /// Initiator name (IQN): the host.
    pub initiator: String,
    /// Logical unit number.
    pub lun: u32,
    /// ISID qualifier (16 bits); with the initiator name it names the nexus.
    pub isid: u16,
    /// InitiatorAlias sent at login; tgt lists it with the session, which
    /// is how a test finds the session of one nexus to cut.
    pub alias: Option<String>,
    /// Seconds before a command or login is given up (0: never).
    pub timeout_secs: u32,
    /// Let libiscsi reconnect by itself after a connection loss.
    pub auto_reconnect: bool,
}

impl NexusConfig {
    /// A config with a 10 s timeout and no automatic reconnect.
    pub fn new(portal: &str, target: &str, initiator: &str, lun: u32, isid: u16) -> Self {
        NexusConfig {
            portal: portal.to_owned(),
            target: target.to_owned(),
            initiator: initiator.to_owned(),
            lun,
            isid,
            alias: None,
            timeout_secs: 10,
            auto_reconnect: false,
        }
    }
}

/// Why a login failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NexusError {
    /// What we were doing.
    pub what: &'static str,
    /// libiscsi's message.
    pub message: String,
}

impl fmt::Display for NexusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

impl std::error::Error for NexusError {}

/// An owned libiscsi context, logged in or not.
struct Context(NonNull<ffi::IscsiContext>);

impl Context {
    fn error(&self) -> String {
        // SAFETY: the context is live.
        unsafe { error_of(self.0.as_ptr()) }
    }
}

/// libiscsi's last error message on `ctx`.
///
/// # Safety
/// `ctx` must be a live context.
unsafe fn error_of(ctx: *mut ffi::IscsiContext) -> String {
    // SAFETY: per the contract `ctx` is live; libiscsi returns a
    // NUL-terminated string it owns (or NULL), valid until the next call on
    // it, and we copy it out at once.
    unsafe {
        let p = ffi::iscsi_get_error(ctx);
        if p.is_null() {
            String::from("(no message)")
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// What a task's status says about delivery: libiscsi's own codes beyond
/// the SAM status byte mean the command never got a SCSI status.
fn delivery(status: c_int) -> TransportStatus {
    match status {
        ffi::SCSI_STATUS_TIMEOUT => TransportStatus::Timeout,
        // We cancel tasks only after the connection broke (a batch that
        // outlived its deadline); libiscsi cancels them itself when the
        // connection drops with auto-reconnect off (seen on tgt).
        ffi::SCSI_STATUS_CANCELLED => TransportStatus::Disrupted,
        ffi::SCSI_STATUS_ERROR => TransportStatus::Disrupted,
        s if !(0..=0xff).contains(&s) => TransportStatus::Disrupted,
        _ => TransportStatus::Ok,
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: we own the context and nothing else refers to it; destroy
        // closes the socket and frees every task still queued on it.
        unsafe {
            ffi::iscsi_destroy_context(self.0.as_ptr());
        }
    }
}

fn cstring(what: &'static str, s: &str) -> Result<CString, NexusError> {
    CString::new(s).map_err(|_| NexusError {
        what,
        message: format!("{s:?} contains a NUL byte"),
    })
}

/// One logged-in iSCSI session to one LUN: one I_T nexus.
pub struct IscsiNexus {
    cfg: NexusConfig,
    ctx: Option<Context>,
}

impl fmt::Debug for IscsiNexus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IscsiNexus")
            .field("portal", &self.cfg.portal)
            .field("initiator", &self.cfg.initiator)
            .field("isid", &self.cfg.isid)
            .field("connected", &self.ctx.is_some())
            .finish()
    }
}

impl IscsiNexus {
    /// Log in.
    pub fn connect(cfg: NexusConfig) -> Result<Self, NexusError> {
        let ctx = Self::login(&cfg)?;
        Ok(IscsiNexus {
            cfg,
            ctx: Some(ctx),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NexusConfig {
        &self.cfg
    }

    /// Whether the session is believed up (no transport failure since the
    /// last login).
    pub fn is_connected(&self) -> bool {
        self.ctx.is_some()
    }

    fn login(cfg: &NexusConfig) -> Result<Context, NexusError> {
        let initiator = cstring("initiator name", &cfg.initiator)?;
        let target = cstring("target name", &cfg.target)?;
        let portal = cstring("portal", &cfg.portal)?;
        let lun = c_int::try_from(cfg.lun).map_err(|_| NexusError {
            what: "lun",
            message: format!("{} out of range", cfg.lun),
        })?;
        let alias = cfg
            .alias
            .as_deref()
            .map(|a| cstring("alias", a))
            .transpose()?;
        let timeout = c_int::try_from(cfg.timeout_secs).unwrap_or(c_int::MAX);
        // SAFETY: the initiator name is a valid C string for the call;
        // libiscsi copies it.
        let raw = unsafe { ffi::iscsi_create_context(initiator.as_ptr()) };
        let ctx = Context(NonNull::new(raw).ok_or(NexusError {
            what: "iscsi_create_context",
            message: String::from("out of memory"),
        })?);
        let p = ctx.0.as_ptr();
        // SAFETY: `p` is the live context we own; the C strings outlive the
        // calls and libiscsi copies them. The setters only store values.
        let rc = unsafe {
            ffi::iscsi_set_isid_random(p, ISID_RANDOM, u32::from(cfg.isid));
            ffi::iscsi_set_targetname(p, target.as_ptr());
            if let Some(a) = &alias {
                ffi::iscsi_set_alias(p, a.as_ptr());
            }
            ffi::iscsi_set_session_type(p, ffi::ISCSI_SESSION_NORMAL);
            ffi::iscsi_set_header_digest(p, ffi::ISCSI_HEADER_DIGEST_NONE);
            ffi::iscsi_set_timeout(p, timeout);
            if !cfg.auto_reconnect {
                ffi::iscsi_set_noautoreconnect(p, 1);
                ffi::iscsi_set_reconnect_max_retries(p, 0);
            }
            ffi::iscsi_full_connect_sync(p, portal.as_ptr(), lun)
        };
        if rc != 0 {
            return Err(NexusError {
                what: "login",
                message: format!("{} via {}: {}", cfg.target, cfg.portal, ctx.error()),
            });
        }
        Ok(ctx)
    }

    /// Log out (if logged in) and log in again as the same nexus.
    pub fn reconnect(&mut self) -> Result<(), NexusError> {
        self.disconnect();
        self.ctx = Some(Self::login(&self.cfg)?);
        Ok(())
    }

    /// Log out and close the connection. Commands then fail with
    /// [`TransportStatus::NoConnect`] until [`IscsiNexus::reconnect`].
    pub fn disconnect(&mut self) {
        if let Some(ctx) = self.ctx.take() {
            // SAFETY: the context is live and owned; logout on a broken
            // connection returns an error, which changes nothing we rely on.
            unsafe {
                if ffi::iscsi_is_logged_in(ctx.0.as_ptr()) != 0 {
                    ffi::iscsi_logout_sync(ctx.0.as_ptr());
                }
                ffi::iscsi_disconnect(ctx.0.as_ptr());
            }
        }
    }

    /// Send one command and wait for it. `data_out` goes to the target
    /// (WRITE, PERSISTENT RESERVE OUT); up to `data_in_len` bytes come back.
    /// A transport failure marks the nexus disconnected.
    pub fn command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        let Some(ctx) = self.ctx.as_ref() else {
            return CommandResult::transport_failure(
                TransportStatus::NoConnect,
                String::from("not connected"),
            );
        };
        let result = Self::run(ctx, self.cfg.lun, cdb, data_out, data_in_len);
        if result.transport != TransportStatus::Ok {
            self.ctx = None;
        }
        result
    }

    /// Send a command the SCSI adapter built, and wait for it.
    pub fn send(&mut self, cmd: &ScsiCommand) -> CommandResult {
        let (data_out, data_in_len) = crate::fabric::buffers(cmd);
        self.command(cmd.cdb(), data_out, data_in_len)
    }

    fn run(
        ctx: &Context,
        lun: u32,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        let bad = |m: &str| CommandResult::transport_failure(TransportStatus::Aborted, m.into());
        if cdb.is_empty() || cdb.len() > 16 {
            return bad("CDB length");
        }
        let (dir, len) = match data_out {
            Some(d) => (ffi::SCSI_XFER_WRITE, d.len()),
            None if data_in_len > 0 => (ffi::SCSI_XFER_READ, data_in_len),
            None => (ffi::SCSI_XFER_NONE, 0),
        };
        let (Ok(len), Ok(cdb_len), Ok(lun)) = (
            c_int::try_from(len),
            c_int::try_from(cdb.len()),
            c_int::try_from(lun),
        ) else {
            return bad("transfer length");
        };
        let mut cdb_buf = [0u8; 16];
        cdb_buf[..cdb.len()].copy_from_slice(cdb);
        // libiscsi reads data-out through this pointer and never writes it;
        // the buffer outlives the synchronous call.
        let mut out_buf: Vec<u8> = data_out.map(<[u8]>::to_vec).unwrap_or_default();
        let mut out = ffi::IscsiData {
            size: out_buf.len(),
            data: out_buf.as_mut_ptr(),
        };
        // SAFETY: scsi_create_task copies `cdb_size` bytes from the buffer
        // and returns an owned task (or NULL).
        let task = unsafe { ffi::scsi_create_task(cdb_len, cdb_buf.as_mut_ptr(), dir, len) };
        let Some(task) = NonNull::new(task) else {
            return bad("scsi_create_task: out of memory");
        };
        let out_ptr: *mut ffi::IscsiData = if data_out.is_some() {
            &mut out
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: the context and task are live; `out_ptr` is NULL or points
        // to `out`, whose buffer lives until after the call. The sync call
        // returns the same task (or NULL if it could not be queued); either
        // way we still own the task and free it below.
        let done =
            unsafe { ffi::iscsi_scsi_command_sync(ctx.0.as_ptr(), lun, task.as_ptr(), out_ptr) };
        let result = if done.is_null() {
            CommandResult::transport_failure(TransportStatus::NoConnect, ctx.error())
        } else {
            // SAFETY: the call finished, so libiscsi no longer touches the
            // task; its `datain` points to `size` bytes the task owns; the
            // context is live.
            unsafe { read_task(ctx.0.as_ptr(), task.as_ref()) }
        };
        // SAFETY: we own the task; nothing refers to it any more.
        unsafe { ffi::scsi_free_scsi_task(task.as_ptr()) };
        result
    }
}

/// A finished task as a [`CommandResult`].
///
/// # Safety
/// `ctx` must be a live context and `task` a finished task whose `datain`
/// is valid.
unsafe fn read_task(ctx: *mut ffi::IscsiContext, task: &ffi::ScsiTask) -> CommandResult {
    let status = task.status;
    let transport = delivery(status);
    if transport != TransportStatus::Ok {
        // SAFETY: `ctx` is live per the contract.
        return CommandResult::transport_failure(transport, unsafe { error_of(ctx) });
    }
    let data = match (
        task.datain.data.is_null(),
        usize::try_from(task.datain.size),
    ) {
        (false, Ok(n)) if n > 0 => {
            // SAFETY: per this function's contract, `datain.data` points
            // to `datain.size` readable bytes.
            unsafe { std::slice::from_raw_parts(task.datain.data, n) }.to_vec()
        }
        _ => Vec::new(),
    };
    let status = u8::try_from(status).unwrap_or(0xff);
    if status == mpath_scsi::classify::status::CHECK_CONDITION {
        // For CHECK CONDITION libiscsi leaves the SCSI Response PDU's
        // data segment in `datain`: a 2-byte SenseLength (RFC 7143
        // 11.4.7.2) followed by the sense data as the target sent it.
        let sense = sense_from_segment(&data).unwrap_or_else(|| synthesize(&task.sense));
        return CommandResult {
            transport,
            status,
            sense,
            data: Vec::new(),
            error: None,
        };
    }
    CommandResult {
        transport,
        status,
        sense: Vec::new(),
        data,
        error: None,
    }
}

#[path = "nexus_batch.rs"]
mod batch;
pub use batch::BatchResult;

/// The sense data inside a SCSI Response data segment.
fn sense_from_segment(seg: &[u8]) -> Option<Vec<u8>> {
    let len = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?]));
    let sense = seg.get(2..2 + len)?;
    (len > 0).then(|| sense.to_vec())
}

/// Fixed-format sense from libiscsi's parse, for the case where the raw
/// bytes are not available.
fn synthesize(s: &ffi::ScsiSense) -> Vec<u8> {
    use mpath_scsi::sense::{SenseFormat, SenseRepr};
    use mpath_scsi::sense_key::SenseKey;
    let [_, _, asc, ascq] = s.ascq.to_be_bytes();
    let key = SenseKey::from_nibble(u8::try_from(s.key & 0x0f).unwrap_or(0));
    let repr = SenseRepr::new(SenseFormat::Fixed, key, asc, ascq);
    let mut buf = vec![0u8; repr.buffer_len()];
    match repr.emit(&mut buf) {
        Ok(n) => {
            buf.truncate(n);
            buf
        }
        Err(_) => Vec::new(),
    }
}

impl Drop for IscsiNexus {
    fn drop(&mut self) {
        self.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sense_is_cut_out_of_the_response_segment() {
        let seg = [0, 3, 0x70, 0, 6, 9];
        assert_eq!(sense_from_segment(&seg), Some(vec![0x70, 0, 6]));
        assert_eq!(sense_from_segment(&[0, 9, 1]), None);
        assert_eq!(sense_from_segment(&[0, 0]), None);
    }

    #[test]
    fn synthesized_sense_classifies_like_the_original() {
        let s = ffi::ScsiSense {
            error_type: 0x70,
            key: 6,
            ascq: 0x2a05,
            bits: 0,
            bit_pointer: 0,
            field_pointer: 0,
        };
        let buf = synthesize(&s);
        let c = mpath_scsi::classify::classify(TransportStatus::Ok, 2, Some(&buf));
        assert_eq!(
            c.notices,
            mpath_core::Notices::REGISTRATIONS_PREEMPTED,
            "{buf:02x?}"
        );
    }
}
