//! The NVMe adapter's bytes at the boundary: the Identify data a path is
//! described by ([`MpathNvmeIdentify`]), a command to send
//! ([`MpathNvmeCommand`]: the 64-byte submission queue entry, its queue and
//! data) and how it ended ([`MpathNvmeResponse`]: the completion queue
//! entry's status, or the transport's verdict). C never builds the
//! adapter's Rust types: Identify data is parsed with `mpath-nvme`'s own
//! decoders and the status read from completion Dword 3 as it does.

use crate::codes::{
    MpathDataDirection, MpathNvmeCommandKind, MpathNvmeDelivery, MpathNvmeQueue, MPATH_CODE_UNKNOWN,
};
use crate::errno::EBADMSG;
use crate::u32_of;
use core::ffi::c_int;
use mpath_nvme::classify::Delivery;
use mpath_nvme::identify::{IdentifyControllerRepr, IdentifyNamespaceRepr, IDENTIFY_LEN};
use mpath_nvme::status::Status;
use mpath_nvme::{CommandKind, NvmeCommand};

/// Bytes of an Identify data structure (Base 2.0 "Identify command").
pub const MPATH_NVME_IDENTIFY_LEN: usize = 4096;
/// Bytes of a submission queue entry.
pub const MPATH_NVME_SQE_LEN: usize = 64;
/// The longest data a command sends: a Reservation Register's or
/// Acquire's two keys (16 bytes).
pub const MPATH_NVME_DATA_OUT_MAX: usize = 16;

const _: () = assert!(MPATH_NVME_IDENTIFY_LEN == IDENTIFY_LEN);

/// Where the command dwords sit in a submission queue entry (Base 2.0
/// "Common Command Format"): CDW0 (opcode at byte 0, the command
/// identifier at bytes 2-3, C's to fill), NSID at 4-7, the data pointer at
/// 24-39 (C's), CDW10-15 at 40-63, all little-endian.
mod sqe {
    pub const OPCODE: usize = 0;
    pub const NSID: usize = 4;
    pub const CDW10: usize = 40;
}

/// What one controller says about itself and the namespace: Identify
/// Controller (CNS 01h) and Identify Namespace (CNS 00h) data, as they
/// came back. For `mpath_nvme_init` (which takes the subsystem NQN from
/// the controller's) and `mpath_nvme_add_path`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathNvmeIdentify {
    /// Identify Controller data.
    pub controller: [u8; MPATH_NVME_IDENTIFY_LEN],
    /// Identify Namespace data.
    pub namespace: [u8; MPATH_NVME_IDENTIFY_LEN],
}

impl Default for MpathNvmeIdentify {
    fn default() -> Self {
        MpathNvmeIdentify {
            controller: [0; MPATH_NVME_IDENTIFY_LEN],
            namespace: [0; MPATH_NVME_IDENTIFY_LEN],
        }
    }
}

impl MpathNvmeIdentify {
    /// The two structures parsed; `-EBADMSG` if either does not parse.
    pub(crate) fn decode(&self) -> Result<(IdentifyControllerRepr, IdentifyNamespaceRepr), c_int> {
        let ctrl = IdentifyControllerRepr::parse(&self.controller).map_err(|_| -EBADMSG)?;
        let ns = IdentifyNamespaceRepr::parse(&self.namespace).map_err(|_| -EBADMSG)?;
        Ok((ctrl, ns))
    }
}

/// A command to send on `path` for the adapter: its submission queue
/// entry (command identifier and data pointer left zero for C to fill),
/// the queue, the data it sends and the data-in buffer to post, and the
/// tag its response must carry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathNvmeCommand {
    /// Names the command in its response (`MpathNvmeResponse::tag`); not
    /// the command identifier, which stays the host driver's.
    pub tag: u64,
    /// The path (controller) to send it to.
    pub path: u32,
    /// [`MpathNvmeCommandKind`] code (`ResetController` is no command:
    /// reset the controller `cntlid`, then apply a successful response).
    pub kind: u32,
    /// [`MpathNvmeQueue`] code.
    pub queue: u32,
    /// [`MpathDataDirection`] code.
    pub direction: u32,
    /// The controller's CNTLID.
    pub cntlid: u16,
    /// Zero.
    pub reserved: u16,
    /// Bytes of `data_out` to send.
    pub data_out_len: u32,
    /// Bytes of data-in to post (the log page or report length).
    pub data_in_len: u32,
    /// Zero.
    pub reserved2: u32,
    /// The submission queue entry.
    pub sqe: [u8; MPATH_NVME_SQE_LEN],
    /// The data the command sends (reservation keys).
    pub data_out: [u8; MPATH_NVME_DATA_OUT_MAX],
}

impl Default for MpathNvmeCommand {
    fn default() -> Self {
        MpathNvmeCommand {
            tag: 0,
            path: 0,
            kind: 0,
            queue: 0,
            direction: 0,
            cntlid: 0,
            reserved: 0,
            data_out_len: 0,
            data_in_len: 0,
            reserved2: 0,
            sqe: [0; MPATH_NVME_SQE_LEN],
            data_out: [0; MPATH_NVME_DATA_OUT_MAX],
        }
    }
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    for (to, from) in b.iter_mut().skip(at).zip(v.to_le_bytes()) {
        *to = from;
    }
}

impl MpathNvmeCommand {
    pub(crate) fn of(cmd: &NvmeCommand, cntlid: u16, tag: u64) -> Self {
        let mut out = MpathNvmeCommand {
            tag,
            path: cmd.path().to_raw(),
            kind: match cmd.kind() {
                CommandKind::Probe => MpathNvmeCommandKind::Probe.code(),
                CommandKind::RefreshAccessState => MpathNvmeCommandKind::RefreshAccessState.code(),
                CommandKind::ReservationNotification => {
                    MpathNvmeCommandKind::ReservationNotification.code()
                }
                CommandKind::ChangedNamespaceList => {
                    MpathNvmeCommandKind::ChangedNamespaceList.code()
                }
                CommandKind::ResetController => MpathNvmeCommandKind::ResetController.code(),
                CommandKind::Reservation { .. } => MpathNvmeCommandKind::Reservation.code(),
                _ => MPATH_CODE_UNKNOWN,
            },
            queue: if cmd.is_admin() {
                MpathNvmeQueue::Admin
            } else {
                MpathNvmeQueue::Io
            }
            .code(),
            cntlid,
            // The adapter's lengths fit: ANA logs longer than
            // MPATH_DATA_IN_MAX are refused when the path is added.
            data_in_len: u32::try_from(cmd.data_in_len()).unwrap_or(u32::MAX),
            ..MpathNvmeCommand::default()
        };
        if let Some(opcode) = cmd.opcode() {
            if let Some(b) = out.sqe.get_mut(sqe::OPCODE) {
                *b = opcode;
            }
            put_u32(&mut out.sqe, sqe::NSID, cmd.nsid());
            for (i, dw) in cmd.cdws().into_iter().enumerate() {
                put_u32(
                    &mut out.sqe,
                    sqe::CDW10.saturating_add(i.saturating_mul(4)),
                    dw,
                );
            }
        }
        out.data_out_len = cmd.emit_data_out(&mut out.data_out).map_or(0, u32_of);
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

/// How a command ended: the completion queue entry's Dword 3 (the status
/// field in bits 31:17, as the controller wrote it) or the transport's
/// verdict. Its data-in bytes travel beside it (an
/// [`MpathDataIn`](crate::adapter::MpathDataIn)). For an I/O completion
/// (`mpath_nvme_classify_completion`) the tag and data-in are not read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathNvmeResponse {
    /// The tag of the command this answers.
    pub tag: u64,
    /// [`MpathNvmeDelivery`] code.
    pub delivery: u32,
    /// `Completed`: completion queue entry Dword 3 (status and phase tag,
    /// CID).
    pub dw3: u32,
    /// Bytes of data-in that came back.
    pub data_in_len: u32,
    /// Zero.
    pub reserved: u32,
}

impl MpathNvmeResponse {
    /// The delivery as the adapter takes it; `-EINVAL` for a code outside
    /// its table.
    pub(crate) fn delivery(&self) -> Result<Delivery, c_int> {
        Ok(match MpathNvmeDelivery::parse(self.delivery)? {
            MpathNvmeDelivery::Completed => Delivery::Completed(Status::from_cqe_dw3(self.dw3)),
            MpathNvmeDelivery::Timeout => Delivery::Timeout,
            MpathNvmeDelivery::ConnectionLost => Delivery::ConnectionLost,
            MpathNvmeDelivery::ControllerReset => Delivery::ControllerReset,
        })
    }
}
