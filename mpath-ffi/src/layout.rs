//! Sizes and alignments of the opaque objects, for C to reserve memory.
//!
//! Each `MPATH_*_SIZE` is a bound the object fits in on every supported
//! target (checked at compile time below), not its exact size: C reserves
//! that many bytes aligned to `MPATH_*_ALIGN`, and a core change that
//! outgrows a bound fails this crate's build instead of overrunning C's
//! memory. Raising a bound changes the ABI. `mpath_object_layout` reports
//! the exact figures of the library actually linked, for a C start-up check
//! that its header matches.

use crate::dataplane::{MpathCursor, MpathDataPlane};
use crate::device::MpathDevice;
use crate::errno::EINVAL;
use crate::io::MpathTicket;
use crate::nvme::MpathNvmeAdapter;
use crate::scsi::MpathScsiAdapter;
use crate::{need, ret, Ret};
use core::ffi::c_int;
use core::mem::{align_of, size_of};

/// Bytes to reserve for an [`MpathDataPlane`].
pub const MPATH_DATAPLANE_SIZE: usize = 8192;
/// Alignment of an [`MpathDataPlane`] (its per-path counters sit on their
/// own cache lines).
pub const MPATH_DATAPLANE_ALIGN: usize = 64;
/// Bytes to reserve for an [`MpathCursor`].
pub const MPATH_CURSOR_SIZE: usize = 4096;
/// Alignment of an [`MpathCursor`].
pub const MPATH_CURSOR_ALIGN: usize = 8;
/// Bytes to reserve for an [`MpathDevice`].
pub const MPATH_DEVICE_SIZE: usize = 49152;
/// Alignment of an [`MpathDevice`].
pub const MPATH_DEVICE_ALIGN: usize = 8;
/// Bytes to reserve for an [`MpathTicket`].
pub const MPATH_TICKET_SIZE: usize = 64;
/// Alignment of an [`MpathTicket`].
pub const MPATH_TICKET_ALIGN: usize = 8;
/// Bytes to reserve for an [`MpathScsiAdapter`] (mostly the commands
/// awaiting a response, each with room for a REGISTER AND MOVE parameter
/// list).
pub const MPATH_SCSI_ADAPTER_SIZE: usize = 98304;
/// Alignment of an [`MpathScsiAdapter`].
pub const MPATH_SCSI_ADAPTER_ALIGN: usize = 8;
/// Bytes to reserve for an [`MpathNvmeAdapter`].
pub const MPATH_NVME_ADAPTER_SIZE: usize = 24576;
/// Alignment of an [`MpathNvmeAdapter`].
pub const MPATH_NVME_ADAPTER_ALIGN: usize = 8;

const _: () = {
    assert!(size_of::<MpathDataPlane>() <= MPATH_DATAPLANE_SIZE);
    assert!(align_of::<MpathDataPlane>() <= MPATH_DATAPLANE_ALIGN);
    assert!(size_of::<MpathCursor>() <= MPATH_CURSOR_SIZE);
    assert!(align_of::<MpathCursor>() <= MPATH_CURSOR_ALIGN);
    assert!(size_of::<MpathDevice>() <= MPATH_DEVICE_SIZE);
    assert!(align_of::<MpathDevice>() <= MPATH_DEVICE_ALIGN);
    assert!(size_of::<MpathTicket>() <= MPATH_TICKET_SIZE);
    assert!(align_of::<MpathTicket>() <= MPATH_TICKET_ALIGN);
    assert!(size_of::<MpathScsiAdapter>() <= MPATH_SCSI_ADAPTER_SIZE);
    assert!(align_of::<MpathScsiAdapter>() <= MPATH_SCSI_ADAPTER_ALIGN);
    assert!(size_of::<MpathNvmeAdapter>() <= MPATH_NVME_ADAPTER_SIZE);
    assert!(align_of::<MpathNvmeAdapter>() <= MPATH_NVME_ADAPTER_ALIGN);
};

c_enum! {
    /// The opaque objects, for `mpath_object_layout`.
    pub enum MpathObject {
        /// [`MpathDataPlane`].
        DataPlane = 0,
        /// [`MpathCursor`].
        Cursor = 1,
        /// [`MpathDevice`] (the controller and the reservation coordinator).
        Device = 2,
        // 3 was the separate reservation coordinator, now inside the
        // device; not reused, so a stale header's code is refused.
        /// [`MpathTicket`].
        Ticket = 4,
        /// [`MpathScsiAdapter`].
        ScsiAdapter = 5,
        /// [`MpathNvmeAdapter`].
        NvmeAdapter = 6,
    }
}

/// An object's exact size and alignment in the library linked.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathLayout {
    /// `sizeof`.
    pub size: u64,
    /// `_Alignof`.
    pub align: u64,
    /// The bound C reserves (`MPATH_*_SIZE`).
    pub reserve: u64,
    /// The alignment C reserves at (`MPATH_*_ALIGN`).
    pub reserve_align: u64,
}

fn u64_of(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The layout of `object` ([`MpathObject`] code).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_object_layout(object: u32, out: Option<&mut MpathLayout>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        let (size, align, reserve, reserve_align) =
            match MpathObject::from_code(object).ok_or(-EINVAL)? {
                MpathObject::DataPlane => (
                    size_of::<MpathDataPlane>(),
                    align_of::<MpathDataPlane>(),
                    MPATH_DATAPLANE_SIZE,
                    MPATH_DATAPLANE_ALIGN,
                ),
                MpathObject::Cursor => (
                    size_of::<MpathCursor>(),
                    align_of::<MpathCursor>(),
                    MPATH_CURSOR_SIZE,
                    MPATH_CURSOR_ALIGN,
                ),
                MpathObject::Device => (
                    size_of::<MpathDevice>(),
                    align_of::<MpathDevice>(),
                    MPATH_DEVICE_SIZE,
                    MPATH_DEVICE_ALIGN,
                ),
                MpathObject::Ticket => (
                    size_of::<MpathTicket>(),
                    align_of::<MpathTicket>(),
                    MPATH_TICKET_SIZE,
                    MPATH_TICKET_ALIGN,
                ),
                MpathObject::ScsiAdapter => (
                    size_of::<MpathScsiAdapter>(),
                    align_of::<MpathScsiAdapter>(),
                    MPATH_SCSI_ADAPTER_SIZE,
                    MPATH_SCSI_ADAPTER_ALIGN,
                ),
                MpathObject::NvmeAdapter => (
                    size_of::<MpathNvmeAdapter>(),
                    align_of::<MpathNvmeAdapter>(),
                    MPATH_NVME_ADAPTER_SIZE,
                    MPATH_NVME_ADAPTER_ALIGN,
                ),
            };
        *out = MpathLayout {
            size: u64_of(size),
            align: u64_of(align),
            reserve: u64_of(reserve),
            reserve_align: u64_of(reserve_align),
        };
        Ok(0)
    })())
}
