//! C ABI over `mpath-core`, at fixed sizes, as a `no_std` staticlib.
//!
//! This is the seed of the C interface a kernel module or a C daemon links
//! against. It instantiates the core once, at the sizes such embedders use:
//! [`DataPlane<64>`](mpath_core::DataPlane) and a
//! [`Device`](mpath_core::Device) publishing to it
//! (`Device<&'static DataPlane<64>, 64, 256, 16>`: 64 paths, 256 held
//! I/Os, 16 access-state groups), the controller and the
//! persistent-reservation coordinator behind one door. It exports every
//! input and output of the two as an `extern "C"` function named
//! `mpath_*`. It allocates nothing and holds no global state.
//!
//! # The device's call order
//!
//! As on the core's `Device`: each fact goes in once, through one
//! `mpath_*` input or command taking `now_ns` (`mpath_add_path`,
//! `mpath_handle_completion`, `mpath_handle_probe`,
//! `mpath_handle_reservation_reply`, `mpath_reservation`,
//! `mpath_fail_path`, ...). After each, C drains the outputs:
//! `mpath_poll_action` until `0` (probes, access-state re-reads,
//! activations, held-I/O dispatches and failures, and reservation
//! commands, each answered with its `mpath_handle_*` input), then
//! `mpath_poll_event` until `0` (path and tier changes, reservation
//! results, fences and moves), then `mpath_poll_timeout` to arm a timer
//! that calls `mpath_handle_timeout`.
//!
//! # The transport adapters
//!
//! [`MpathScsiAdapter`] and [`MpathNvmeAdapter`] sit beside one device
//! each and do what `mpath-scsi`'s and `mpath-nvme`'s adapters do, over
//! bytes: paths added from INQUIRY / VPD page 83h or Identify data,
//! actions mapped to commands C sends (`mpath_*_map_action`), responses
//! applied by tag (`mpath_*_apply`), I/O completions classified
//! (`mpath_*_classify_completion`). The call order is in [`adapter`].
//!
//! # Conventions
//!
//! - **Objects live in caller memory.** [`MpathDataPlane`], [`MpathCursor`],
//!   [`MpathDevice`] and [`MpathTicket`] are opaque:
//!   the caller reserves `MPATH_*_SIZE` bytes aligned to `MPATH_*_ALIGN`
//!   (see [`layout`]) and hands them to the matching `mpath_*_init`, which
//!   returns the same memory as the typed object (or `NULL`, with the
//!   reason in `*err`). Nothing needs freeing: the memory is the caller's
//!   to reuse once no other object refers to it.
//! - **Return values.** Functions return `int`: `0` for done, `1`/`0` for
//!   "got one"/"none" where they poll or look something up, and a negative
//!   errno ([`errno`]) when the input was refused, in which case nothing
//!   changed (one exception, documented on `mpath_reservation`: an
//!   operation the reservation coordinator refuses has still acted on the
//!   deadlines up to its time, as `mpath_handle_timeout` would). Results
//!   come back through out-parameters.
//! - **Pointers.** A `NULL` pointer parameter is refused with `-EFAULT`
//!   (the Rust side takes `Option<&T>`, so the check costs no `unsafe`),
//!   except where `NULL` has a documented meaning (no group for
//!   `mpath_switch_group`, no new state for `mpath_move_path_to_group`, no
//!   `err` out-parameter for an init). Two pointers passed to one call must
//!   not point at the same object.
//! - **Integers for enums.** Enumerations cross as `uint32_t` codes
//!   ([`codes`]) and flags as `uint8_t` `0`/`1`; a value outside the table
//!   is refused with `-EINVAL`, never trusted.
//! - **Time** is `uint64_t` nanoseconds of the embedder's monotonic clock.
//! - **Paths** are `PathId::to_raw` values (`uint32_t`), groups and
//!   nexuses the embedder's own `uint32_t` ids.
//!
//! # Threads
//!
//! As in the core: the data-plane functions (`mpath_dp_*`) take a shared
//! `const struct mpath_dataplane *` and may run on every CPU at once, each
//! with its own [`MpathCursor`] for that data plane (a cursor is bound to
//! the first data plane it serves, `-EXDEV` elsewhere: its admission
//! credits are that data plane's); everything taking a `struct mpath_device *`
//! must be serialised by the caller. The data plane must outlive the
//! device that publishes to it.
//!
//! # Panics, floats, stack
//!
//! `scripts/objgate.py` walks the relocation graph of the built staticlib
//! from every `mpath_*` export and fails CI if a panic, a float or 128-bit
//! helper, or an SSE/x87 instruction is reachable; it also prints the
//! largest stack frames. The `#[panic_handler]` below exists only because
//! a `no_std` staticlib must have one. The `*_init` functions build their
//! object by value, as the core constructs it, so they need stack for it
//! (the device: see `mpath_device_init`).
//!
//! # Unsafe code
//!
//! None: every pointer is an `Option<&T>`, every enum an integer checked
//! against its table. The `unsafe_code` lint counts `#[no_mangle]` itself
//! as unsafe code (it can clash with another symbol of the same name at
//! link time), so each export carries `#[allow(unsafe_code)]` for that
//! attribute alone; the `mpath_` prefix is what keeps the names apart.
//! The edition is 2021 and the attribute the plain `#[no_mangle]`, which
//! keeps the crate building on the workspace's MSRV (`#[unsafe(no_mangle)]`
//! needs 1.82).

#![no_std]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_arithmetic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::as_conversions,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::cast_possible_truncation,
        clippy::std_instead_of_alloc,
        clippy::std_instead_of_core
    )
)]

// Hosted targets (the workspace's host build, its tests, a daemon linking
// the staticlib) take std's panic runtime: rustc refuses to build a `no_std`
// staticlib under the hosted targets' `panic=unwind`. Nothing here uses std.
#[cfg(not(target_os = "none"))]
extern crate std;

#[macro_use]
pub mod codes;
pub mod adapter;
pub mod config;
pub mod control_io;
pub mod dataplane;
pub mod device;
pub mod errno;
pub mod events;
pub mod io;
pub mod layout;
pub mod nvme;
pub mod nvme_wire;
pub mod paths;
mod pending;
pub mod reservation;
pub mod scsi;
pub mod scsi_wire;
pub mod snapshot;
pub mod transport;

#[cfg(feature = "gate-selftest")]
pub mod gate_selftest;

#[cfg(test)]
mod tests;

pub use config::MpathConfig;
pub use dataplane::{MpathCursor, MpathDataPlane};
pub use device::MpathDevice;
pub use io::{MpathIo, MpathTicket};
pub use nvme::MpathNvmeAdapter;
pub use scsi::MpathScsiAdapter;

use core::ffi::c_int;

/// The body of an export: `Ok(n)` with `n >= 0`, or `Err(-errno)`.
pub(crate) type Ret = Result<c_int, c_int>;

/// Fold a body's result into the `int` C sees.
#[inline]
pub(crate) fn ret(r: Ret) -> c_int {
    match r {
        Ok(v) | Err(v) => v,
    }
}

/// A pointer parameter C must not pass as `NULL`.
#[inline]
pub(crate) fn need<T>(p: Option<T>) -> Result<T, c_int> {
    p.ok_or(-errno::EFAULT)
}

/// A `uint8_t` flag: `0` or `1`, anything else refused.
#[inline]
pub(crate) fn flag(v: u8) -> Result<bool, c_int> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(-errno::EINVAL),
    }
}

/// `1` for "got one", `0` for "none".
#[inline]
pub(crate) const fn found(b: bool) -> c_int {
    if b {
        1
    } else {
        0
    }
}

/// A `bool` as the `uint8_t` C sees.
#[inline]
pub(crate) const fn u8_of(b: bool) -> u8 {
    if b {
        1
    } else {
        0
    }
}

/// A count that fits in `uint32_t` (path and queue counts are bounded by
/// the fixed sizes; saturates rather than wraps if that ever changed).
#[inline]
pub(crate) fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Required by a `no_std` staticlib; the object-code gate fails CI if any
/// export can reach it. A kernel build would rather `BUG()`; with nothing
/// reaching it, halting in place is enough.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic_halt(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
