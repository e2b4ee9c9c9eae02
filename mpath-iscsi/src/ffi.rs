//! Hand-written bindings for the part of libiscsi (1.19, `iscsi/iscsi.h`
//! and `iscsi/scsi-lowlevel.h`) the nexus uses: context set-up, a blocking
//! login, one raw-CDB command at a time, logout; and for batches of
//! outstanding writes, the asynchronous WRITE(10)/(16) tasks with a
//! completion callback and the event loop around them (`iscsi_get_fd`,
//! `iscsi_which_events`, `iscsi_service`, and libc's `poll`).
//!
//! Only `struct scsi_task` is laid out here, because the command's status,
//! sense and data-in are read from it directly (libiscsi has no accessors
//! for them). The layout below matches the x86_64 / aarch64 LP64 C layout
//! (checked with `offsetof`: size 176, `sense` at 48, `datain` at 64); the
//! compile-time assertions at the end keep it that way.

use std::os::raw::{c_char, c_int, c_short, c_uchar, c_ulong, c_void};

/// `struct iscsi_context`: opaque.
#[repr(C)]
pub(crate) struct IscsiContext {
    _private: [u8; 0],
}

/// `enum iscsi_session_type`: a normal (not discovery) session.
pub(crate) const ISCSI_SESSION_NORMAL: c_int = 2;
/// `enum iscsi_header_digest`: none.
pub(crate) const ISCSI_HEADER_DIGEST_NONE: c_int = 0;

/// `enum scsi_xfer_dir`.
pub(crate) const SCSI_XFER_NONE: c_int = 0;
pub(crate) const SCSI_XFER_READ: c_int = 1;
pub(crate) const SCSI_XFER_WRITE: c_int = 2;

/// libiscsi's own task states beyond the SAM status byte (`enum
/// scsi_status`): the command never got a SCSI status.
pub(crate) const SCSI_STATUS_CANCELLED: c_int = 0x0f00_0000;
pub(crate) const SCSI_STATUS_ERROR: c_int = 0x0f00_0001;
pub(crate) const SCSI_STATUS_TIMEOUT: c_int = 0x0f00_0002;

/// `struct scsi_sense`: libiscsi's parse of the sense data. The three
/// one-bit fields share an `unsigned int` with `bit_pointer` placed in its
/// second byte by the C compiler.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScsiSense {
    pub(crate) error_type: c_uchar,
    pub(crate) key: c_int,
    /// ASC in the high byte, ASCQ in the low byte.
    pub(crate) ascq: c_int,
    pub(crate) bits: u8,
    pub(crate) bit_pointer: c_uchar,
    pub(crate) field_pointer: u16,
}

/// `struct scsi_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScsiData {
    pub(crate) size: c_int,
    pub(crate) data: *mut c_uchar,
}

/// `struct scsi_iovector`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScsiIovector {
    iov: *mut c_void,
    niov: c_int,
    nalloc: c_int,
    offset: usize,
    consumed: c_int,
}

/// `struct scsi_task`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ScsiTask {
    pub(crate) status: c_int,
    pub(crate) cdb_size: c_int,
    pub(crate) xfer_dir: c_int,
    pub(crate) expxferlen: c_int,
    pub(crate) cdb: [c_uchar; 16],
    pub(crate) residual_status: c_int,
    pub(crate) residual: usize,
    pub(crate) sense: ScsiSense,
    pub(crate) datain: ScsiData,
    mem: *mut c_void,
    ptr: *mut c_void,
    itt: u32,
    cmdsn: u32,
    lun: u32,
    iovector_in: ScsiIovector,
    iovector_out: ScsiIovector,
}

/// `iscsi_command_cb`: called from inside `iscsi_service` (or a cancel)
/// when a task ends; `command_data` is the `struct scsi_task`, which the
/// callback owns from then on.
pub(crate) type IscsiCommandCb = unsafe extern "C" fn(
    iscsi: *mut IscsiContext,
    status: c_int,
    command_data: *mut c_void,
    private_data: *mut c_void,
);

/// `struct pollfd` (poll(2)).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollFd {
    pub(crate) fd: c_int,
    pub(crate) events: c_short,
    pub(crate) revents: c_short,
}

/// poll(2) event bits (Linux).
pub(crate) const POLLIN: c_short = 0x001;
pub(crate) const POLLOUT: c_short = 0x004;
pub(crate) const POLLERR: c_short = 0x008;
pub(crate) const POLLHUP: c_short = 0x010;

/// `struct iscsi_data`: the data-out buffer of a command.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct IscsiData {
    pub(crate) size: usize,
    pub(crate) data: *mut c_uchar,
}

// The C layout, as `offsetof` reports it for libiscsi 1.19 on LP64.
const _: () = {
    assert!(std::mem::size_of::<ScsiSense>() == 16);
    assert!(std::mem::offset_of!(ScsiSense, bit_pointer) == 13);
    assert!(std::mem::offset_of!(ScsiTask, sense) == 48);
    assert!(std::mem::offset_of!(ScsiTask, datain) == 64);
    assert!(std::mem::offset_of!(ScsiTask, iovector_in) == 112);
    assert!(std::mem::size_of::<ScsiTask>() == 176);
    assert!(std::mem::size_of::<IscsiData>() == 16);
};

extern "C" {
    pub(crate) fn iscsi_create_context(initiator_name: *const c_char) -> *mut IscsiContext;
    pub(crate) fn iscsi_destroy_context(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_get_error(iscsi: *mut IscsiContext) -> *const c_char;
    pub(crate) fn iscsi_set_targetname(iscsi: *mut IscsiContext, name: *const c_char) -> c_int;
    pub(crate) fn iscsi_set_alias(iscsi: *mut IscsiContext, alias: *const c_char) -> c_int;
    pub(crate) fn iscsi_set_session_type(iscsi: *mut IscsiContext, session_type: c_int) -> c_int;
    pub(crate) fn iscsi_set_header_digest(iscsi: *mut IscsiContext, digest: c_int) -> c_int;
    pub(crate) fn iscsi_set_timeout(iscsi: *mut IscsiContext, timeout: c_int) -> c_int;
    pub(crate) fn iscsi_set_noautoreconnect(iscsi: *mut IscsiContext, state: c_int);
    pub(crate) fn iscsi_set_reconnect_max_retries(iscsi: *mut IscsiContext, count: c_int);
    pub(crate) fn iscsi_set_isid_random(
        iscsi: *mut IscsiContext,
        rnd: u32,
        qualifier: u32,
    ) -> c_int;
    pub(crate) fn iscsi_full_connect_sync(
        iscsi: *mut IscsiContext,
        portal: *const c_char,
        lun: c_int,
    ) -> c_int;
    pub(crate) fn iscsi_is_logged_in(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_logout_sync(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_disconnect(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_scsi_command_sync(
        iscsi: *mut IscsiContext,
        lun: c_int,
        task: *mut ScsiTask,
        data: *mut IscsiData,
    ) -> *mut ScsiTask;
    pub(crate) fn scsi_create_task(
        cdb_size: c_int,
        cdb: *mut c_uchar,
        xfer_dir: c_int,
        expxferlen: c_int,
    ) -> *mut ScsiTask;
    pub(crate) fn scsi_free_scsi_task(task: *mut ScsiTask);

    pub(crate) fn iscsi_get_fd(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_which_events(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_service(iscsi: *mut IscsiContext, revents: c_int) -> c_int;
    pub(crate) fn iscsi_out_queue_length(iscsi: *mut IscsiContext) -> c_int;
    pub(crate) fn iscsi_scsi_cancel_all_tasks(iscsi: *mut IscsiContext);
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn iscsi_write10_task(
        iscsi: *mut IscsiContext,
        lun: c_int,
        lba: u32,
        data: *mut c_uchar,
        datalen: u32,
        blocksize: c_int,
        wrprotect: c_int,
        dpo: c_int,
        fua: c_int,
        fua_nv: c_int,
        group_number: c_int,
        cb: IscsiCommandCb,
        private_data: *mut c_void,
    ) -> *mut ScsiTask;
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn iscsi_write16_task(
        iscsi: *mut IscsiContext,
        lun: c_int,
        lba: u64,
        data: *mut c_uchar,
        datalen: u32,
        blocksize: c_int,
        wrprotect: c_int,
        dpo: c_int,
        fua: c_int,
        fua_nv: c_int,
        group_number: c_int,
        cb: IscsiCommandCb,
        private_data: *mut c_void,
    ) -> *mut ScsiTask;

    /// libc's poll(2); `nfds_t` is `unsigned long` on Linux.
    pub(crate) fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
}
