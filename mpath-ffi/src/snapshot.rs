//! Observability at the boundary: device and path snapshots as plain
//! structs, and the `multipath -ll`-style topology written into a
//! caller's fixed buffer (no allocation).
//!
//! The per-queue I/O statistics live in the cursors
//! (`mpath_cursor_stats`); a path snapshot here counts only the
//! controller's own cursor, and C sums the per-CPU ones itself.

use crate::codes::{MpathAccessState, MpathHealth, MpathLink, MpathPolicy, MpathTier};
use crate::device::{MpathDevice, MpathHead};
use crate::errno::{self, EINVAL};
use crate::{need, ret, u32_of, u8_of, Ret};
use core::ffi::c_int;
use core::fmt::Write;
use mpath_core::{DeviceCounters, DeviceSnapshot, PathCounters, PathId, PathSnapshot};

/// Per-path event counters ([`PathCounters`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPathCounters {
    /// Path errors seen on I/O.
    pub path_errors: u64,
    /// Target errors seen on I/O.
    pub target_errors: u64,
    /// RESERVATION CONFLICT completions.
    pub conflicts: u64,
    /// Same-path retries.
    pub retries: u64,
    /// I/Os failed over away from this path.
    pub failovers: u64,
    /// I/Os put in the requeue to retry on this path.
    pub requeues: u64,
    /// Probe results received.
    pub probes: u64,
    /// Probes that found the path down or timed out.
    pub probe_failures: u64,
    /// Times flap damping held the path out.
    pub damped: u64,
    /// Error-rate samples started.
    pub marginal_samples: u64,
    /// Samples that found the path marginal.
    pub marginal_verdicts: u64,
    /// Access-state re-reads that gave up.
    pub refresh_failures: u64,
    /// Reservation notices received on this path.
    pub reservation_notices: u64,
    /// Resets reported on this path.
    pub resets: u64,
}

impl MpathPathCounters {
    fn of(c: &PathCounters) -> Self {
        // Exhaustive: a counter added to the core fails this build until
        // the C struct has it too.
        let PathCounters {
            path_errors,
            target_errors,
            conflicts,
            retries,
            failovers,
            requeues,
            probes,
            probe_failures,
            damped,
            marginal_samples,
            marginal_verdicts,
            refresh_failures,
            reservation_notices,
            resets,
        } = *c;
        MpathPathCounters {
            path_errors,
            target_errors,
            conflicts,
            retries,
            failovers,
            requeues,
            probes,
            probe_failures,
            damped,
            marginal_samples,
            marginal_verdicts,
            refresh_failures,
            reservation_notices,
            resets,
        }
    }
}

/// Device-wide counters ([`DeviceCounters`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathDeviceCounters {
    /// I/Os submitted through the control plane.
    pub submitted: u64,
    /// Failovers (path errors).
    pub failovers: u64,
    /// I/Os put in the requeue.
    pub requeued: u64,
    /// Same-path retries.
    pub retries: u64,
    /// I/Os ended because retries ran out.
    pub retries_exhausted: u64,
    /// Target errors.
    pub target_errors: u64,
    /// Reservation conflicts.
    pub conflicts: u64,
    /// I/Os failed by the no-path policy.
    pub no_path_failures: u64,
    /// Times the requeue was full and an I/O was handed back.
    pub busy: u64,
    /// Paths added.
    pub paths_added: u64,
    /// Paths removed.
    pub paths_removed: u64,
    /// Access-state changes.
    pub access_changes: u64,
    /// Explicit activations that succeeded.
    pub activations: u64,
    /// Failbacks deferred by the failback policy.
    pub failbacks_deferred: u64,
    /// Changes of the published selectable set.
    pub publishes: u64,
}

impl MpathDeviceCounters {
    fn of(c: &DeviceCounters) -> Self {
        let DeviceCounters {
            submitted,
            failovers,
            requeued,
            retries,
            retries_exhausted,
            target_errors,
            conflicts,
            no_path_failures,
            busy,
            paths_added,
            paths_removed,
            access_changes,
            activations,
            failbacks_deferred,
            publishes,
        } = *c;
        MpathDeviceCounters {
            submitted,
            failovers,
            requeued,
            retries,
            retries_exhausted,
            target_errors,
            conflicts,
            no_path_failures,
            busy,
            paths_added,
            paths_removed,
            access_changes,
            activations,
            failbacks_deferred,
            publishes,
        }
    }
}

/// One path as seen now ([`PathSnapshot`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPathSnapshot {
    /// Its id.
    pub id: u32,
    /// Its group.
    pub group: u32,
    /// Its nexus.
    pub nexus: u32,
    /// Its locality hint.
    pub locality: u32,
    /// [`MpathLink`] code.
    pub link: u32,
    /// [`MpathHealth`] code.
    pub health: u32,
    /// [`MpathAccessState`] code of its group's effective state.
    pub access: u32,
    /// [`MpathTier`] code.
    pub tier: u32,
    /// Outstanding I/Os (counting policies only): as published, plus the
    /// device's own cursor's part; each busy CPU cursor may hold back
    /// fewer than `MPATH_PUBLISH_IOS` more (`mpath_dp_park` publishes).
    pub inflight: u32,
    /// Failed by hand.
    pub admin_failed: u8,
    /// The group's preferred bit.
    pub preferred: u8,
    /// Registered with the reservation key.
    pub registered: u8,
    /// Selection may use it now.
    pub selectable: u8,
    /// Outstanding bytes (byte-counting policies only), counted as
    /// `inflight` is.
    pub inflight_bytes: u64,
    /// Adaptive selector's latency estimate, if `has_latency`.
    pub latency_ns: u64,
    /// Current probe interval.
    pub probe_interval_ns: u64,
    /// I/Os started (controller's own cursor).
    pub started: u64,
    /// I/Os completed successfully (controller's own cursor).
    pub completed: u64,
    /// Bytes completed successfully (controller's own cursor).
    pub bytes: u64,
    /// 1 if `latency_ns` holds an estimate.
    pub has_latency: u8,
    /// Zero.
    pub reserved: [u8; 7],
    /// Event counters.
    pub counters: MpathPathCounters,
}

impl MpathPathSnapshot {
    fn of(s: &PathSnapshot) -> Self {
        let PathSnapshot {
            id,
            group,
            nexus,
            locality,
            link,
            admin_failed,
            health,
            access,
            preferred,
            registered,
            tier,
            selectable,
            inflight,
            inflight_bytes,
            latency,
            probe_interval,
            started,
            completed,
            bytes,
            counters,
        } = *s;
        MpathPathSnapshot {
            id: id.to_raw(),
            group: group.0,
            nexus: nexus.0,
            locality: locality.0,
            link: MpathLink::of(link),
            health: MpathHealth::of(health),
            access: MpathAccessState::of(access),
            tier: MpathTier::of(tier),
            inflight,
            admin_failed: u8_of(admin_failed),
            preferred: u8_of(preferred),
            registered: u8_of(registered),
            selectable: u8_of(selectable),
            inflight_bytes,
            latency_ns: latency.map_or(0, |d| d.as_nanos()),
            probe_interval_ns: probe_interval.as_nanos(),
            started,
            completed,
            bytes,
            has_latency: u8_of(latency.is_some()),
            reserved: [0; 7],
            counters: MpathPathCounters::of(&counters),
        }
    }
}

/// The device as seen now ([`DeviceSnapshot`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathDeviceSnapshot {
    /// Head lifecycle.
    pub head: MpathHead,
    /// [`MpathPolicy`] code.
    pub policy: u32,
    /// [`MpathTier`] code of the tier in use (`None`: nothing usable).
    pub active_tier: u32,
    /// Paths present.
    pub paths: u32,
    /// Paths selectable.
    pub selectable: u32,
    /// I/Os held.
    pub queued: u32,
    /// Group switched to by hand, if `has_switched_group`.
    pub switched_group: u32,
    /// A reservation key is set.
    pub key_active: u8,
    /// 1 if `switched_group` is set.
    pub has_switched_group: u8,
    /// Zero.
    pub reserved: [u8; 6],
    /// Counters.
    pub counters: MpathDeviceCounters,
}

impl MpathDeviceSnapshot {
    fn of(s: &DeviceSnapshot) -> Self {
        let DeviceSnapshot {
            head,
            policy,
            active_tier,
            paths,
            selectable,
            queued,
            key_active,
            switched_group,
            counters,
        } = *s;
        MpathDeviceSnapshot {
            head: MpathHead::of(head),
            policy: MpathPolicy::of(policy),
            active_tier: MpathTier::of_opt(active_tier),
            paths: u32_of(paths),
            selectable: u32_of(selectable),
            queued: u32_of(queued),
            switched_group: switched_group.map_or(0, |g| g.0),
            key_active: u8_of(key_active),
            has_switched_group: u8_of(switched_group.is_some()),
            reserved: [0; 6],
            counters: MpathDeviceCounters::of(&counters),
        }
    }
}

/// A snapshot of the device.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_device_snapshot(
    dev: Option<&MpathDevice>,
    out: Option<&mut MpathDeviceSnapshot>,
) -> c_int {
    ret((|| -> Ret {
        *need(out)? = MpathDeviceSnapshot::of(&need(dev)?.dev.controller().device_snapshot());
        Ok(0)
    })())
}

/// A snapshot of one path.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_path_snapshot(
    dev: Option<&MpathDevice>,
    path: u32,
    out: Option<&mut MpathPathSnapshot>,
) -> c_int {
    ret((|| -> Ret {
        let s = need(dev)?
            .dev
            .controller()
            .path_snapshot(PathId::from_raw(path), &[])
            .map_err(errno::of_error)?;
        *need(out)? = MpathPathSnapshot::of(&s);
        Ok(0)
    })())
}

/// Bytes of text an [`MpathText`] holds.
pub const MPATH_TEXT_CAPACITY: usize = 4096;
/// Bytes of a device name ([`MpathName`]).
pub const MPATH_NAME_CAPACITY: usize = 32;

/// A device name: UTF-8, ended by the first NUL or the end of the array.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathName {
    /// The bytes.
    pub bytes: [u8; MPATH_NAME_CAPACITY],
}

/// Text written by the library into caller memory (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathText {
    /// Bytes written.
    pub len: u32,
    /// 1 if the text did not fit and was cut at `len`.
    pub truncated: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// The text, UTF-8 (cut at a character boundary).
    pub bytes: [u8; MPATH_TEXT_CAPACITY],
}

/// `fmt::Write` into an [`MpathText`], stopping (not failing) when full.
struct TextWriter<'a> {
    text: &'a mut MpathText,
    len: usize,
}

impl Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.text.bytes.get_mut(self.len..).unwrap_or_default();
        let mut n = s.len().min(room.len());
        // Cut at a character boundary so the text stays UTF-8.
        while !s.is_char_boundary(n) {
            n = n.saturating_sub(1);
        }
        let (src, dst) = (s.as_bytes().get(..n), room.get_mut(..n));
        if let (Some(src), Some(dst)) = (src, dst) {
            dst.copy_from_slice(src);
        }
        self.len = self.len.saturating_add(n);
        if n < s.len() {
            self.text.truncated = 1;
            return Err(core::fmt::Error);
        }
        Ok(())
    }
}

/// The `multipath -ll`-style topology of the device called `name`, into
/// `*out`. `-EINVAL` if `name` is not UTF-8. A topology longer than
/// `MPATH_TEXT_CAPACITY` is cut, with `truncated` set.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_topology(
    dev: Option<&MpathDevice>,
    name: Option<&MpathName>,
    out: Option<&mut MpathText>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, name, out) = (need(dev)?, need(name)?, need(out)?);
        let end = name
            .bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MPATH_NAME_CAPACITY);
        let name = name
            .bytes
            .get(..end)
            .and_then(|b| core::str::from_utf8(b).ok())
            .ok_or(-EINVAL)?;
        out.truncated = 0;
        let mut w = TextWriter { text: out, len: 0 };
        // A full buffer stops the formatting with an error; what fitted is
        // kept and `truncated` says so.
        let _ = write!(w, "{}", dev.dev.controller().topology(name));
        let len = w.len;
        out.len = u32_of(len);
        Ok(0)
    })())
}
