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
use mpath_core::selector::fixed;
use mpath_core::{Cursor, DataPlane, DeviceId, Instant, Locality, PathId};

/// The path capacity every object in this library is built for.
pub const MPATH_MAX_PATHS: usize = 64;

/// A cursor publishes its part of a path's outstanding I/Os to the other
/// CPUs once it reaches this many either way (`mpath_core::load`).
pub const MPATH_PUBLISH_IOS: u32 = 4;
/// ... and its part of the outstanding bytes once it reaches this many.
pub const MPATH_PUBLISH_BYTES: u64 = 65536;

const _: () = {
    assert!(MPATH_PUBLISH_IOS == mpath_core::load::PUBLISH_IOS);
    assert!(MPATH_PUBLISH_BYTES == mpath_core::load::PUBLISH_BYTES);
};

/// The shared, lock-free half of a multipath device (opaque).
#[derive(Debug)]
pub struct MpathDataPlane {
    pub(crate) dp: DataPlane<MPATH_MAX_PATHS>,
}

/// One CPU's (or hardware queue's) selector state and statistics for one
/// data plane (opaque). Never share one between threads; a CPU that
/// submits to several devices keeps a cursor per device. The first
/// `mpath_dp_*` call that goes through binds it to its data plane, and
/// every other data plane refuses it with `-EXDEV`: its admission credits
/// come from that data plane's pool.
#[derive(Debug)]
pub struct MpathCursor {
    cursor: Cursor<MPATH_MAX_PATHS>,
    /// The data plane it serves, from the first call that went through.
    /// Bound on first use rather than at init, so that
    /// `mpath_cursor_init` keeps its signature.
    bound: Option<DeviceId>,
}

impl MpathCursor {
    /// `-EXDEV` if the cursor serves another data plane. Checked with the
    /// other inputs, before anything changes.
    fn check(&self, dp: &MpathDataPlane) -> Result<(), c_int> {
        match self.bound {
            Some(id) if id != dp.dp.device_id() => Err(-errno::EXDEV),
            _ => Ok(()),
        }
    }

    /// The cursor's state, bound to `dp` from now on; only once every
    /// input was checked (`check` included), so a refused call binds
    /// nothing.
    fn bind(&mut self, dp: &MpathDataPlane) -> &mut Cursor<MPATH_MAX_PATHS> {
        self.bound = Some(dp.dp.device_id());
        &mut self.cursor
    }
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
    let id = match device_id {
        0 => DataPlane::<MPATH_MAX_PATHS>::next_device_id(),
        id => DeviceId(id),
    };
    // Built in `mem`, not on this frame (the data plane is 5 KiB).
    Some(DataPlane::new_in_wrapped(
        mem?,
        |dp| MpathDataPlane { dp },
        |m| &mut m.dp,
        id,
    ))
}

/// Make `mem` a cursor for a CPU on NUMA node `node`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_init(
    mem: Option<&mut MaybeUninit<MpathCursor>>,
    node: u32,
) -> Option<&mut MpathCursor> {
    // From a constant, so the 3 KiB are copied from read-only data into
    // `mem` rather than built on the stack first.
    const FRESH: MpathCursor = MpathCursor {
        cursor: Cursor::FRESH,
        bound: None,
    };
    let made = mem?.write(FRESH);
    made.cursor.set_node(Locality(node));
    Some(made)
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
/// goes idle or offline). `-EXDEV` for a cursor bound to another data
/// plane (its credits are not this pool's).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_release_credits(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
) -> c_int {
    // An unbound cursor holds no credits: nothing to bind it for.
    on_own_cursor(dp, cursor, DataPlane::release_credits)
}

/// `f` on the data plane and a cursor that is not bound to another one.
fn on_own_cursor(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    f: impl FnOnce(&DataPlane<MPATH_MAX_PATHS>, &mut Cursor<MPATH_MAX_PATHS>),
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor) = (need(dp)?, need(cursor)?);
        cursor.check(dp)?;
        f(&dp.dp, &mut cursor.cursor);
        Ok(0)
    })())
}

/// A CPU goes idle or offline: publish the cursor's part of every path's
/// load (the counting selectors' per-CPU counts, see `mpath_core::load`)
/// and return its credits to the pool. `-EXDEV` for a cursor bound to
/// another data plane. The cursor stays usable.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_park(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
) -> c_int {
    on_own_cursor(dp, cursor, DataPlane::park)
}

/// The cursor's part of `slot`'s load that it has not published yet: net
/// I/Os in `*out_ios` and bytes in `*out_bytes` (negative when it ended
/// more than it started there). Fewer than `MPATH_PUBLISH_IOS` I/Os and
/// `MPATH_PUBLISH_BYTES` bytes either way. `-EINVAL` for a slot past the
/// capacity.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cursor_unpublished(
    cursor: Option<&MpathCursor>,
    slot_nr: u32,
    out_ios: Option<&mut i32>,
    out_bytes: Option<&mut i64>,
) -> c_int {
    ret((|| -> Ret {
        let (cursor, ios, bytes) = (need(cursor)?, need(out_ios)?, need(out_bytes)?);
        (*ios, *bytes) = cursor.cursor.unpublished(slot(slot_nr)?);
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
/// plane's slow path). `-EXDEV` for a cursor bound to another data plane.
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
        cursor.check(dp)?;
        match dp
            .dp
            .select(cursor.bind(dp), &io, Instant::from_nanos(now_ns))
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
/// started; hold it and retry after a completion). `-EXDEV` for a cursor
/// bound to another data plane.
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
        cursor.check(dp)?;
        match dp.dp.start(
            cursor.bind(dp),
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
/// `-EXDEV` for a cursor bound to another data plane.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_dp_submit(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    io: Option<&MpathIo>,
    now_ns: u64,
    ticket: Option<&mut MpathTicket>,
) -> c_int {
    submit_through(dp, cursor, io, now_ns, ticket, DataPlane::submit)
}

/// `mpath_dp_submit` with `submit`: the general one, or one compiled for a
/// fixed policy.
#[inline(always)]
fn submit_through(
    dp: Option<&MpathDataPlane>,
    cursor: Option<&mut MpathCursor>,
    io: Option<&MpathIo>,
    now_ns: u64,
    ticket: Option<&mut MpathTicket>,
    submit: impl FnOnce(
        &DataPlane<MPATH_MAX_PATHS>,
        &mut Cursor<MPATH_MAX_PATHS>,
        mpath_core::Io,
        Instant,
    ) -> Result<mpath_core::Ticket, mpath_core::Io>,
) -> c_int {
    ret((|| -> Ret {
        let (dp, cursor, slot) = (need(dp)?, need(cursor)?, need(ticket)?);
        let io = need(io)?.decode()?;
        slot.check_empty()?;
        cursor.check(dp)?;
        match submit(&dp.dp, cursor.bind(dp), io, Instant::from_nanos(now_ns)) {
            Ok(t) => {
                slot.put(t);
                Ok(1)
            }
            Err(_) => Ok(0),
        }
    })())
}

/// One `mpath_dp_submit_POLICY` per policy: `mpath_dp_submit` compiled for
/// that policy alone, for an embedder that fixes its policy when it is
/// built (no dispatch over the policies). A device whose policy the control
/// plane set to another is served by the general path, so a switch is
/// still honoured.
macro_rules! submit_fixed {
    ($($(#[$doc:meta])* $name:ident => $policy:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[allow(unsafe_code)]
            #[no_mangle]
            pub extern "C" fn $name(
                dp: Option<&MpathDataPlane>,
                cursor: Option<&mut MpathCursor>,
                io: Option<&MpathIo>,
                now_ns: u64,
                ticket: Option<&mut MpathTicket>,
            ) -> c_int {
                submit_through(dp, cursor, io, now_ns, ticket, DataPlane::submit_as::<fixed::$policy>)
            }
        )*
    };
}

submit_fixed!(
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_ROUND_ROBIN`.
    mpath_dp_submit_round_robin => RoundRobin,
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_QUEUE_DEPTH`.
    mpath_dp_submit_queue_depth => QueueDepth,
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_QUEUE_BYTES`.
    mpath_dp_submit_queue_bytes => QueueBytes,
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_SERVICE_TIME`.
    mpath_dp_submit_service_time => ServiceTime,
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_ADAPTIVE`.
    mpath_dp_submit_adaptive => Adaptive,
    /// `mpath_dp_submit` compiled for `MPATH_POLICY_LOCALITY`.
    mpath_dp_submit_locality => Locality,
);

/// A successful completion on the fast path: takes the ticket out of the
/// slot and writes the I/O to `*out_io`. `-EXDEV` for a ticket another
/// device issued (it stays in the slot) or a cursor bound to another data
/// plane, `-ENOENT` for an empty slot. Failed completions go to
/// `mpath_handle_completion`.
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
        cursor.check(dp)?;
        let t = slot.take()?;
        // Not bound yet: a foreign ticket is refused below and must not
        // bind the cursor either.
        match dp
            .dp
            .complete(&mut cursor.cursor, t, Instant::from_nanos(now_ns))
        {
            Ok(io) => {
                cursor.bind(dp);
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

/// Outstanding I/Os on a path slot (counting policies only), as the CPUs'
/// cursors have published them: each may hold back fewer than
/// `MPATH_PUBLISH_IOS` either way (`mpath_cursor_unpublished`); exact once
/// every cursor is parked.
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

/// Outstanding bytes on a path slot (byte-counting policies only), as
/// published: see `mpath_dp_inflight`.
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
