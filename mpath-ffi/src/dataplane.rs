//! The data plane at the boundary: `mpath_dp_*` (select, start, submit,
//! complete and the getters) on a shared [`MpathDataPlane`], each CPU with
//! its own [`MpathCursor`]. These take `const` pointers to the data plane
//! and may run on every CPU at once, concurrently with one serialised
//! control-plane call; they never block.

use crate::codes::MpathPolicy;
use crate::config::MpathSelectorParams;
use crate::errno::{self, EINVAL};
use crate::io::{MpathIo, MpathTicket};
use crate::{found, need, ret, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::{Cursor, DataPlane, DeviceId, Instant, Locality, PathId};

/// The path capacity every object in this library is built for.
pub const MPATH_MAX_PATHS: usize = 64;

/// The shared, lock-free half of a multipath device (opaque).
#[derive(Debug)]
pub struct MpathDataPlane {
    pub(crate) dp: DataPlane<MPATH_MAX_PATHS>,
}

/// One CPU's (or hardware queue's) selector state and statistics (opaque).
/// Never share one between threads.
#[derive(Debug)]
pub struct MpathCursor {
    cursor: Cursor<MPATH_MAX_PATHS>,
}

/// Per-queue statistics of one path ([`QueueStats`](mpath_core::QueueStats)).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathQueueStats {
    /// I/Os started on the path from this queue.
    pub started: u64,
    /// I/Os that completed successfully on this queue.
    pub completed: u64,
    /// Bytes of those completions.
    pub bytes: u64,
}

/// A path slot number from C: `-EINVAL` outside `0..MPATH_MAX_PATHS`.
fn slot(slot: u32) -> Result<usize, c_int> {
    usize::try_from(slot)
        .ok()
        .filter(|&s| s < MPATH_MAX_PATHS)
        .ok_or(-EINVAL)
}

/// Make `mem` an empty data plane (no path selectable, round-robin). Its
/// device id is `device_id`, or a fresh one from a process-wide counter
/// when `device_id` is 0. Returns `mem` as the data plane, or `NULL` when
/// `mem` is `NULL`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dataplane_init(
    mem: Option<&mut MaybeUninit<MpathDataPlane>>,
    device_id: u32,
) -> Option<&mut MpathDataPlane> {
    let mem = mem?;
    Some(match device_id {
        0 => fresh_dataplane(mem),
        id => dataplane_with_id(mem, DeviceId(id)),
    })
}

// One function per constructor, and the core's constructor called
// through an opaque pointer (`black_box`) so the optimiser cannot inline
// it: it builds the per-path arrays with `array::from_fn` on its own
// frame, and inlined (which a change elsewhere in the crate can tip) that
// frame and this one's copy of the result added up past the 8 KiB
// `scripts/objgate.py` allows. Apart, each stays near half of it.

type Dp = DataPlane<MPATH_MAX_PATHS>;

#[inline(never)]
fn fresh_dataplane(mem: &mut MaybeUninit<MpathDataPlane>) -> &mut MpathDataPlane {
    let new: fn() -> Dp = core::hint::black_box(Dp::new);
    mem.write(MpathDataPlane { dp: new() })
}

#[inline(never)]
fn dataplane_with_id(mem: &mut MaybeUninit<MpathDataPlane>, id: DeviceId) -> &mut MpathDataPlane {
    let with_id: fn(DeviceId) -> Dp = core::hint::black_box(Dp::with_device_id);
    mem.write(MpathDataPlane { dp: with_id(id) })
}

/// Make `mem` a cursor for a CPU on NUMA node `node`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_init(
    mem: Option<&mut MaybeUninit<MpathCursor>>,
    node: u32,
) -> Option<&mut MpathCursor> {
    Some(mem?.write(MpathCursor {
        cursor: Cursor::new(Locality(node)),
    }))
}

/// The node the cursor's CPU is on.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_node(cursor: Option<&MpathCursor>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(cursor)?.cursor.node().0;
        Ok(0)
    })())
}

/// This queue's statistics for `path`: `1` and `*out` filled, or `0` if the
/// queue has seen no I/O for this path (this generation of its slot).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_stats(
    cursor: Option<&MpathCursor>,
    path: u32,
    out: Option<&mut MpathQueueStats>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(cursor)?.cursor.stats(PathId::from_raw(path)) {
            Some(s) => {
                *out = MpathQueueStats {
                    started: s.started,
                    completed: s.completed,
                    bytes: s.bytes,
                };
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// Admission credits the cursor keeps for its next I/Os.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_credits(
    cursor: Option<&MpathCursor>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(cursor)?.cursor.credits();
        Ok(0)
    })())
}

/// Return every credit the cursor keeps to the shared pool (for a CPU that
/// goes idle or offline).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_release_credits(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
) -> c_int {
    ret((|| -> Ret {
        need(dp)?.dp.release_credits(&mut need(cursor)?.cursor);
        Ok(0)
    })())
}

/// Credits in the shared pool now: about how many more I/Os the device
/// admits before back-pressure.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_credits_available(
    dp: Option<&MpathDataPlane>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dp)?.dp.credits_available();
        Ok(0)
    })())
}

/// Choose a path for `io`: `1` and the path in `*out_path`, or `0` when no
/// path is selectable (then submit through `mpath_submit`, the control
/// plane's slow path).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_select(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    io: Option<&MpathIo>,
    now_ns: u64,
    out_path: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor, out) = (need(dp)?, need(cursor)?, need(out_path)?);
        let io = need(io)?.decode()?;
        match dp
            .dp
            .select(&mut cursor.cursor, &io, Instant::from_nanos(now_ns))
        {
            Some(p) => {
                *out = p.to_raw();
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// Account the start of `io` on `path` (one `mpath_dp_select` chose): `1`
/// with its ticket in the empty slot `ticket`, or `0` when the device's
/// outstanding-I/O budget is spent (back-pressure: the I/O was not
/// started; hold it and retry after a completion).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_start(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    path: u32,
    io: Option<&MpathIo>,
    now_ns: u64,
    ticket: Option<&mut MpathTicket>,
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor, slot) = (need(dp)?, need(cursor)?, need(ticket)?);
        let io = need(io)?.decode()?;
        slot.check_empty()?;
        match dp.dp.start(
            &mut cursor.cursor,
            PathId::from_raw(path),
            io,
            Instant::from_nanos(now_ns),
        ) {
            Ok(t) => {
                slot.put(t);
                Ok(1)
            }
            Err(_) => Ok(0),
        }
    })())
}

/// Select and start in one: `1` with the ticket in the slot, or `0` when no
/// path is selectable or the outstanding-I/O budget is spent (the slot
/// stays empty; submit through `mpath_submit`, which says which).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_submit(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    io: Option<&MpathIo>,
    now_ns: u64,
    ticket: Option<&mut MpathTicket>,
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor, slot) = (need(dp)?, need(cursor)?, need(ticket)?);
        let io = need(io)?.decode()?;
        slot.check_empty()?;
        match dp
            .dp
            .submit(&mut cursor.cursor, io, Instant::from_nanos(now_ns))
        {
            Ok(t) => {
                slot.put(t);
                Ok(1)
            }
            Err(_) => Ok(0),
        }
    })())
}

/// A successful completion on the fast path: takes the ticket out of the
/// slot and writes the I/O to `*out_io`. `-EXDEV` for a ticket another
/// device issued (it stays in the slot), `-ENOENT` for an empty slot.
/// Failed completions go to `mpath_handle_completion`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_complete(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    ticket: Option<&mut MpathTicket>,
    now_ns: u64,
    out_io: Option<&mut MpathIo>,
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor, slot, out) = (need(dp)?, need(cursor)?, need(ticket)?, need(out_io)?);
        let t = slot.take()?;
        match dp
            .dp
            .complete(&mut cursor.cursor, t, Instant::from_nanos(now_ns))
        {
            Ok(io) => {
                *out = MpathIo::of(&io);
                Ok(0)
            }
            Err(rejected) => {
                slot.put(rejected.item);
                Err(errno::of_error(rejected.error))
            }
        }
    })())
}

/// The data plane's device id.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_device_id(dp: Option<&MpathDataPlane>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dp)?.dp.device_id().0;
        Ok(0)
    })())
}

/// The mask of path slots selection may use now.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_selectable(dp: Option<&MpathDataPlane>, out: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dp)?.dp.selectable();
        Ok(0)
    })())
}

/// The active policy, an [`MpathPolicy`] code.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_policy(dp: Option<&MpathDataPlane>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathPolicy::of(need(dp)?.dp.policy());
        Ok(0)
    })())
}

/// The selector parameters in force.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_params(
    dp: Option<&MpathDataPlane>,
    out: Option<&mut MpathSelectorParams>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathSelectorParams::of(&need(dp)?.dp.params());
        Ok(0)
    })())
}

/// `1` if `path` is the path currently published in its slot, else `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_is_current(dp: Option<&MpathDataPlane>, path: u32) -> c_int {
    ret(need(dp).map(|dp| found(dp.dp.is_current(PathId::from_raw(path)))))
}

/// Outstanding I/Os on a path slot (counting policies only).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_inflight(
    dp: Option<&MpathDataPlane>,
    slot_nr: u32,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dp)?.dp.inflight(slot(slot_nr)?);
        Ok(0)
    })())
}

/// Outstanding bytes on a path slot (byte-counting policies only).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_inflight_bytes(
    dp: Option<&MpathDataPlane>,
    slot_nr: u32,
    out: Option<&mut u64>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = need(dp)?.dp.inflight_bytes(slot(slot_nr)?);
        Ok(0)
    })())
}

/// The adaptive selector's latency estimate for a slot in nanoseconds: `1`
/// and `*out_ns`, or `0` if the slot has no sample.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_latency_estimate(
    dp: Option<&MpathDataPlane>,
    slot_nr: u32,
    out_ns: Option<&mut u64>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out_ns)?;
        match need(dp)?.dp.latency_estimate(slot(slot_nr)?) {
            Some(d) => {
                *out = d.as_nanos();
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}
