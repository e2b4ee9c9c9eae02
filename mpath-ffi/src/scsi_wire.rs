//! The SCSI adapter's bytes at the boundary: what a path says about itself
//! ([`MpathScsiIdentity`]: standard INQUIRY data and VPD page 83h), a
//! command to send ([`MpathScsiCommand`]: CDB, data direction, parameter
//! list, allocation length) and what came back ([`MpathScsiResponse`]:
//! transport verdict, STATUS, sense data). C never builds the adapter's
//! Rust types: the bytes are parsed here with `mpath-scsi`'s own decoders.

use crate::codes::{MpathDataDirection, MpathScsiCommandKind, MpathScsiTransport};
use crate::errno::{self, EINVAL};
use crate::u32_of;
use core::ffi::c_int;
use mpath_scsi::command::DATA_OUT_MAX;
use mpath_scsi::{CommandKind, PathIdentity, ScsiCommand, ScsiResponse};

/// Bytes of standard INQUIRY data C can pass: the 36 SPC-4 requires and
/// the vendor-specific rest of what an ALLOCATION LENGTH of 255 returns.
pub const MPATH_SCSI_INQUIRY_MAX: usize = 256;
/// Bytes of VPD page 83h (Device Identification) C can pass: a logical
/// unit's designators, a target port's and its group's fit many times.
pub const MPATH_SCSI_VPD_MAX: usize = 1024;
/// The longest CDB the adapter builds (16 bytes: READ(16), PERSISTENT
/// RESERVE OUT, MAINTENANCE IN).
pub const MPATH_SCSI_CDB_MAX: usize = 16;
/// The longest parameter list a command carries: REGISTER AND MOVE's (24
/// bytes and a TransportID of up to 256).
pub const MPATH_SCSI_DATA_OUT_MAX: usize = 280;
/// The longest sense data (SPC-4 4.5.1: 252 bytes).
pub const MPATH_SCSI_SENSE_MAX: usize = 252;

// Literals so the header can state them; the adapter's values, checked.
const _: () = assert!(MPATH_SCSI_DATA_OUT_MAX == DATA_OUT_MAX);

/// What one I_T nexus says about the logical unit and its target port:
/// the standard INQUIRY data and VPD page 83h read through it, as they
/// came back (SPC-4 6.6.2, 7.8.6). For `mpath_scsi_init` (which takes the
/// logical unit's name from it), `mpath_scsi_add_path` and
/// `mpath_scsi_core_config`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathScsiIdentity {
    /// Bytes of `inquiry` that came back.
    pub inquiry_len: u32,
    /// Bytes of `vpd83` that came back.
    pub vpd83_len: u32,
    /// Standard INQUIRY data.
    pub inquiry: [u8; MPATH_SCSI_INQUIRY_MAX],
    /// VPD page 83h.
    pub vpd83: [u8; MPATH_SCSI_VPD_MAX],
}

impl Default for MpathScsiIdentity {
    fn default() -> Self {
        MpathScsiIdentity {
            inquiry_len: 0,
            vpd83_len: 0,
            inquiry: [0; MPATH_SCSI_INQUIRY_MAX],
            vpd83: [0; MPATH_SCSI_VPD_MAX],
        }
    }
}

/// The first `len` bytes of `buf`, `-EINVAL` past its end.
fn bytes(buf: &[u8], len: u32) -> Result<&[u8], c_int> {
    let len = usize::try_from(len).map_err(|_| -EINVAL)?;
    buf.get(..len).ok_or(-EINVAL)
}

impl MpathScsiIdentity {
    /// The path's identity, parsed by `PathIdentity::from_bytes`:
    /// `-EINVAL` for a length past its buffer or data that names no
    /// connected logical unit, `-EBADMSG` for malformed pages.
    pub(crate) fn decode(&self) -> Result<PathIdentity, c_int> {
        let inquiry = bytes(&self.inquiry, self.inquiry_len)?;
        let vpd = bytes(&self.vpd83, self.vpd83_len)?;
        PathIdentity::from_bytes(inquiry, vpd).map_err(|e| errno::of_scsi_adapter_error(e.into()))
    }
}

/// A command to send on `path` for the adapter: the CDB, which way data
/// moves, the parameter list (data-out), the data-in buffer to provide,
/// and the tag its response must carry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathScsiCommand {
    /// Names the command in its response (`MpathScsiResponse::tag`); not
    /// a SCSI task tag, which stays the transport's.
    pub tag: u64,
    /// The path (I_T nexus) to send it on.
    pub path: u32,
    /// [`MpathScsiCommandKind`] code: what it carries out.
    pub kind: u32,
    /// [`MpathDataDirection`] code.
    pub direction: u32,
    /// Bytes of `cdb`.
    pub cdb_len: u32,
    /// The CDB.
    pub cdb: [u8; MPATH_SCSI_CDB_MAX],
    /// Bytes of `data_out` to send (the PARAMETER LIST LENGTH).
    pub data_out_len: u32,
    /// The data-in buffer to provide: the CDB's ALLOCATION LENGTH.
    pub data_in_len: u32,
    /// The parameter list.
    pub data_out: [u8; MPATH_SCSI_DATA_OUT_MAX],
}

impl Default for MpathScsiCommand {
    fn default() -> Self {
        MpathScsiCommand {
            tag: 0,
            path: 0,
            kind: 0,
            direction: 0,
            cdb_len: 0,
            cdb: [0; MPATH_SCSI_CDB_MAX],
            data_out_len: 0,
            data_in_len: 0,
            data_out: [0; MPATH_SCSI_DATA_OUT_MAX],
        }
    }
}

/// Copy `from` to the front of `to`; its length.
fn copy(to: &mut [u8], from: &[u8]) -> u32 {
    let mut n = 0usize;
    for (t, f) in to.iter_mut().zip(from) {
        *t = *f;
        n = n.saturating_add(1);
    }
    u32_of(n)
}

impl MpathScsiCommand {
    pub(crate) fn of(cmd: &ScsiCommand, tag: u64) -> Self {
        let mut out = MpathScsiCommand {
            tag,
            path: cmd.path().to_raw(),
            kind: match cmd.kind() {
                CommandKind::Probe => MpathScsiCommandKind::Probe.code(),
                CommandKind::RefreshAccessState => MpathScsiCommandKind::RefreshAccessState.code(),
                CommandKind::ActivateGroup { .. } => MpathScsiCommandKind::ActivateGroup.code(),
                CommandKind::Reservation { .. } => MpathScsiCommandKind::Reservation.code(),
                _ => crate::codes::MPATH_CODE_UNKNOWN,
            },
            data_in_len: cmd.data_in_len(),
            ..MpathScsiCommand::default()
        };
        out.cdb_len = copy(&mut out.cdb, cmd.cdb());
        out.data_out_len = copy(&mut out.data_out, cmd.data_out());
        out.direction = if out.data_out_len != 0 {
            MpathDataDirection::ToDevice
        } else if out.data_in_len != 0 {
            MpathDataDirection::FromDevice
        } else {
            MpathDataDirection::None
        }
        .code();
        out
    }
}

/// What came back for a command: the transport's verdict, the STATUS byte
/// and the sense data. Its data-in bytes travel beside it (an
/// [`MpathDataIn`](crate::adapter::MpathDataIn)). For an I/O completion
/// (`mpath_scsi_classify_completion`) the tag and data-in are not read.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathScsiResponse {
    /// The tag of the command this answers.
    pub tag: u64,
    /// [`MpathScsiTransport`] code (`Ok` when the status byte is
    /// meaningful).
    pub transport: u32,
    /// The SCSI STATUS byte.
    pub status: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// Bytes of `sense` (0: none).
    pub sense_len: u32,
    /// Bytes of data-in that came back.
    pub data_in_len: u32,
    /// Sense data, for CHECK CONDITION.
    pub sense: [u8; MPATH_SCSI_SENSE_MAX],
}

impl Default for MpathScsiResponse {
    fn default() -> Self {
        MpathScsiResponse {
            tag: 0,
            transport: 0,
            status: 0,
            reserved: [0; 3],
            sense_len: 0,
            data_in_len: 0,
            sense: [0; MPATH_SCSI_SENSE_MAX],
        }
    }
}

impl MpathScsiResponse {
    /// The adapter's response over `data_in`: `-EINVAL` for a transport
    /// code outside its table or a sense length past its buffer.
    pub(crate) fn decode<'a>(&'a self, data_in: &'a [u8]) -> Result<ScsiResponse<'a>, c_int> {
        let sense = match self.sense_len {
            0 => None,
            n => Some(bytes(&self.sense, n)?),
        };
        Ok(ScsiResponse {
            transport: MpathScsiTransport::parse(self.transport)?.to_core(),
            status: self.status,
            sense,
            data_in,
        })
    }
}
