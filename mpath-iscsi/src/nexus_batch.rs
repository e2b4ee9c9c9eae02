//! Writes outstanding together on one nexus, on libiscsi's asynchronous
//! API: every WRITE is queued on the session at once
//! (`iscsi_write10_task` / `iscsi_write16_task` with a completion
//! callback), the session's socket is serviced with poll(2)
//! (`iscsi_get_fd`, `iscsi_which_events`, `iscsi_service`), and a cut can
//! run while writes are outstanding: queued and sent, without a status.
//!
//! A write is outstanding from its queueing until its callback. The cut
//! runs at the first of: every queued PDU handed to the socket, or the
//! first write finished. What each write then reports is what the
//! connection gave it: GOOD if its status was already on the wire, a
//! transport failure if the connection went first.
//!
//! Memory: each write's data and its [`Pending`] record live until the
//! batch returns, and the batch returns only after every task has called
//! back (a deadline cancels the rest, which calls them back at once); a
//! task that still has not called back takes the context down with it
//! before the buffers go.

use std::cell::Cell;
use std::os::raw::{c_int, c_short, c_void};
use std::ptr;
use std::time::{Duration, Instant};

use mpath_scsi::classify::TransportStatus;

use super::{delivery, error_of, read_task, CommandResult, IscsiNexus};
use crate::ffi;

/// How long poll(2) waits between services: libiscsi's timeouts are
/// checked from `iscsi_service`, and `iscsi_which_events` may ask for a
/// pause of at least 100 ms while it has nothing to poll for.
const POLL_MS: c_int = 100;

/// How a batch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchResult {
    /// Each write's result, in the order given.
    pub results: Vec<CommandResult>,
    /// Writes outstanding when the cut ran (0 without a cut).
    pub in_flight_at_cut: usize,
    /// Writes finished before the cut.
    pub finished_before_cut: usize,
    /// Why the cut failed, if it did.
    pub cut_error: Option<String>,
}

/// One write while libiscsi has it.
struct Pending {
    /// The task; null once its callback freed it.
    task: Cell<*mut ffi::ScsiTask>,
    /// Set by the callback.
    result: Cell<Option<CommandResult>>,
    /// Whether the callback ran (or the write was never queued).
    done: Cell<bool>,
}

impl Pending {
    fn new() -> Self {
        Pending {
            task: Cell::new(ptr::null_mut()),
            result: Cell::new(None),
            done: Cell::new(false),
        }
    }

    fn finish(&self, r: CommandResult) {
        self.result.set(Some(r));
        self.done.set(true);
    }
}

/// libiscsi's completion callback for a batch write.
///
/// # Safety
/// Called by libiscsi only, once per task, with `private_data` the
/// [`Pending`] the write was queued with, which outlives every task of its
/// batch (see the module notes).
unsafe extern "C" fn write_done(
    iscsi: *mut ffi::IscsiContext,
    status: c_int,
    _command_data: *mut c_void,
    private_data: *mut c_void,
) {
    // SAFETY: `private_data` is the address of a live `Pending` (the batch
    // keeps it until every callback ran); only shared references to it
    // exist, and it changes through `Cell`s.
    let pending = unsafe { &*private_data.cast::<Pending>() };
    let task = pending.task.replace(ptr::null_mut());
    let transport = delivery(status);
    let result = if task.is_null() {
        CommandResult::transport_failure(
            TransportStatus::Disrupted,
            String::from("libiscsi called back without a task"),
        )
    } else if transport != TransportStatus::Ok {
        // SAFETY: `iscsi` is the live context calling us.
        CommandResult::transport_failure(transport, unsafe { error_of(iscsi) })
    } else {
        // SAFETY: the task has finished (libiscsi calls back once, at the
        // end), its `datain` is valid, and the context is live.
        unsafe { read_task(iscsi, &*task) }
    };
    pending.finish(result);
    if !task.is_null() {
        // SAFETY: iscsi.h hands the task to the callback to release; the
        // `Pending` no longer points to it and libiscsi is done with it.
        unsafe { ffi::scsi_free_scsi_task(task) };
    }
}

impl IscsiNexus {
    /// Queue every write of `writes` (LBA, whole blocks of `block_size`
    /// bytes) on this session at once and service the session until each
    /// has a result. With `cut`, call it once while writes are outstanding
    /// (see the module notes). A transport failure marks the nexus
    /// disconnected, as [`IscsiNexus::command`] does.
    pub fn write_batch(
        &mut self,
        block_size: usize,
        writes: &[(u64, &[u8])],
        mut cut: Option<&mut dyn FnMut() -> Result<(), String>>,
    ) -> BatchResult {
        let n = writes.len();
        let mut out = BatchResult {
            results: Vec::with_capacity(n),
            in_flight_at_cut: 0,
            finished_before_cut: 0,
            cut_error: None,
        };
        let (Some(ctx), Ok(lun), Ok(bs)) = (
            self.ctx.as_ref(),
            c_int::try_from(self.cfg.lun),
            c_int::try_from(block_size),
        ) else {
            let why = if self.ctx.is_none() {
                "not connected"
            } else {
                "LUN or block size out of range"
            };
            out.results = (0..n)
                .map(|_| CommandResult::transport_failure(TransportStatus::NoConnect, why.into()))
                .collect();
            return out;
        };
        let p = ctx.0.as_ptr();
        // Owned copies: libiscsi keeps pointers to them until each task ends.
        let mut bufs: Vec<Vec<u8>> = writes.iter().map(|(_, d)| d.to_vec()).collect();
        let pending: Vec<Pending> = (0..n).map(|_| Pending::new()).collect();
        for ((buf, &(lba, _)), slot) in bufs.iter_mut().zip(writes).zip(&pending) {
            // SAFETY: the context is live; `buf` and `slot` stay where they
            // are until every task called back (module notes).
            let task = unsafe { queue_write(p, lun, bs, lba, buf, slot) };
            if task.is_null() {
                // SAFETY: the context is live.
                let why = unsafe { error_of(p) };
                slot.finish(CommandResult::transport_failure(
                    TransportStatus::NoConnect,
                    why,
                ));
            } else {
                slot.task.set(task);
            }
        }
        let queued = pending.iter().filter(|s| !s.done.get()).count();
        let limit = match self.cfg.timeout_secs {
            0 => 30,
            t => u64::from(t).saturating_add(5),
        };
        let deadline = Instant::now() + Duration::from_secs(limit);
        let mut broken = false;
        loop {
            let open = pending.iter().filter(|s| !s.done.get()).count();
            if open == 0 {
                break;
            }
            if broken || Instant::now() >= deadline {
                // SAFETY: the context is live; every remaining task calls
                // back (CANCELLED) before this returns.
                unsafe { ffi::iscsi_scsi_cancel_all_tasks(p) };
                break;
            }
            // SAFETY: the context is live.
            let all_sent = unsafe { ffi::iscsi_out_queue_length(p) } == 0;
            if let Some(f) = cut.take_if(|_| all_sent || open < queued) {
                out.in_flight_at_cut = open;
                out.finished_before_cut = n - open;
                out.cut_error = f().err();
            }
            // SAFETY: the context is live.
            broken = unsafe { service(p) } < 0;
        }
        let stuck = pending.iter().any(|s| !s.done.get());
        if stuck {
            // The cancel did not call every task back: take the context
            // (and whatever it still holds) down before the buffers go.
            self.ctx = None;
        }
        out.results = pending
            .iter()
            .map(|s| {
                s.result.take().unwrap_or_else(|| {
                    CommandResult::transport_failure(
                        TransportStatus::Disrupted,
                        String::from("no completion from libiscsi"),
                    )
                })
            })
            .collect();
        if broken
            || out
                .results
                .iter()
                .any(|r| r.transport != TransportStatus::Ok)
        {
            self.ctx = None;
        }
        drop(bufs);
        out
    }
}

/// Queue one WRITE(10), or WRITE(16) when the LBA or length needs it.
///
/// # Safety
/// `p` must be a live context; `buf` and `slot` must not move or be freed
/// until the task has called back.
unsafe fn queue_write(
    p: *mut ffi::IscsiContext,
    lun: c_int,
    block_size: c_int,
    lba: u64,
    buf: &mut [u8],
    slot: &Pending,
) -> *mut ffi::ScsiTask {
    let Ok(len) = u32::try_from(buf.len()) else {
        return ptr::null_mut();
    };
    let private = ptr::from_ref(slot).cast_mut().cast::<c_void>();
    let blocks = usize::try_from(block_size)
        .ok()
        .filter(|&b| b > 0)
        .map_or(0, |b| buf.len() / b);
    let data = buf.as_mut_ptr();
    match u32::try_from(lba) {
        // SAFETY: `p` is live; libiscsi reads `len` bytes at `data` (never
        // writes them) while the task lives, and calls `write_done` once
        // with `private`, all per this function's contract.
        Ok(lba32) if blocks <= usize::from(u16::MAX) => unsafe {
            ffi::iscsi_write10_task(
                p, lun, lba32, data, len, block_size, 0, 0, 0, 0, 0, write_done, private,
            )
        },
        // SAFETY: as above.
        _ => unsafe {
            ffi::iscsi_write16_task(
                p, lun, lba, data, len, block_size, 0, 0, 0, 0, 0, write_done, private,
            )
        },
    }
}

/// Wait up to [`POLL_MS`] for the events the session wants and service
/// them (with no events too, so libiscsi checks its timeouts). Negative
/// when the connection failed.
///
/// # Safety
/// `p` must be a live context.
unsafe fn service(p: *mut ffi::IscsiContext) -> c_int {
    // SAFETY: `p` is live.
    let (fd, events) = unsafe { (ffi::iscsi_get_fd(p), ffi::iscsi_which_events(p)) };
    let mut pfd = ffi::PollFd {
        fd,
        events: c_short::try_from(events).unwrap_or(ffi::POLLIN | ffi::POLLOUT),
        revents: 0,
    };
    // SAFETY: one valid `pollfd`; a negative fd is ignored by poll(2).
    let rc = unsafe { ffi::poll(&mut pfd, 1, POLL_MS) };
    let revents = if rc > 0 {
        pfd.revents & (ffi::POLLIN | ffi::POLLOUT | ffi::POLLERR | ffi::POLLHUP)
    } else {
        0
    };
    // SAFETY: `p` is live; callbacks run from inside this call.
    unsafe { ffi::iscsi_service(p, c_int::from(revents)) }
}
