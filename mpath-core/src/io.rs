//! The I/O as the core sees it: a tag, a direction, a size and a retry budget.
//!
//! The core never holds data buffers. The embedder keeps its request (a
//! `struct request`, a bio, a simulator record) and hands the core an [`Io`]
//! describing it; the [`Ticket`] returned when the I/O starts on a path carries
//! the `Io` back at completion.

use crate::path::PathId;
use crate::time::Instant;

/// The embedder's name for an I/O (a blk-mq tag, a request pointer cast to an
/// integer, a sequence number). The core only compares tags for equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IoTag(pub u64);

/// Data direction, for the write-quiesce rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoKind {
    /// Reads and other commands that do not change the medium. They may be
    /// retried on another path at once after a path error.
    Read,
    /// Anything that changes the medium (write, write same, unmap, write
    /// zeroes) and flushes. After a path error they wait for the failed path's
    /// quiesce time before going out again, so the old attempt cannot land
    /// after the retry.
    Write,
}

/// One I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Io {
    /// The embedder's tag.
    pub tag: IoTag,
    /// Read or write.
    pub kind: IoKind,
    /// Payload size in bytes (queue-depth-by-bytes and service-time use it).
    pub bytes: u32,
    /// Retries left for same-path retries (busy, unit attention, transient).
    /// Path errors never spend it.
    pub retries: u8,
}

impl Io {
    /// A read of `bytes` with `retries` same-path retries.
    pub const fn read(tag: u64, bytes: u32, retries: u8) -> Self {
        Io {
            tag: IoTag(tag),
            kind: IoKind::Read,
            bytes,
            retries,
        }
    }
    /// A write of `bytes` with `retries` same-path retries.
    pub const fn write(tag: u64, bytes: u32, retries: u8) -> Self {
        Io {
            tag: IoTag(tag),
            kind: IoKind::Write,
            bytes,
            retries,
        }
    }
}

/// Why the core ended an I/O with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// No path can carry I/O and the no-path policy says fail.
    #[error("no usable path")]
    NoPath,
    /// The multipath head was removed after its last path went away.
    #[error("multipath device removed")]
    HeadRemoved,
    /// The target failed the command.
    #[error("target error: {0:?}")]
    Target(crate::outcome::TargetError),
    /// RESERVATION CONFLICT from the target.
    #[error("reservation conflict")]
    ReservationConflict,
    /// Same-path retries were used up.
    #[error("retries exhausted")]
    RetriesExhausted,
    /// Another host preempted this host's persistent-reservation
    /// registration: the device is fenced until the reservation is set up
    /// again.
    #[error("fenced by a persistent-reservation preemption")]
    Fenced,
    /// The embedder cancelled the I/O while the core held it.
    #[error("cancelled")]
    Cancelled,
}

/// Which shared counters an I/O's start incremented, so its end decrements
/// exactly those even if the selector changed in between. One byte of flags:
/// the completion path tests it with one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Counted(u8);

impl Counted {
    /// Nothing shared (round-robin, locality).
    pub(crate) const NOTHING: Counted = Counted(0);
    /// The path's outstanding-I/O count.
    pub(crate) const COUNT: Counted = Counted(1);
    /// The path's outstanding-byte count.
    pub(crate) const BYTES: Counted = Counted(2);
    /// Feed the completion's latency to the adaptive selector's estimate
    /// (the only policy that reads it; the store is a shared write).
    pub(crate) const LATENCY: Counted = Counted(4);

    pub(crate) const fn with(self, other: Counted) -> Counted {
        Counted(self.0 | other.0)
    }
    #[inline]
    pub(crate) const fn count(self) -> bool {
        self.0 & Self::COUNT.0 != 0
    }
    #[inline]
    pub(crate) const fn bytes(self) -> bool {
        self.0 & Self::BYTES.0 != 0
    }
    #[inline]
    pub(crate) const fn latency(self) -> bool {
        self.0 & Self::LATENCY.0 != 0
    }
    /// Whether the start incremented any shared counter.
    #[inline]
    pub(crate) const fn any_counter(self) -> bool {
        self.0 & (Self::COUNT.0 | Self::BYTES.0) != 0
    }
}

/// Proof that an I/O was started on a path. Not `Clone`: it is consumed
/// exactly once, by a successful completion on the data plane or by
/// [`Controller::handle_completion`](crate::Controller::handle_completion).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a started I/O must be completed"]
pub struct Ticket {
    pub(crate) io: Io,
    pub(crate) path: PathId,
    pub(crate) device: crate::dataplane::DeviceId,
    pub(crate) started: Instant,
    pub(crate) counted: Counted,
}

impl Ticket {
    /// The I/O.
    pub const fn io(&self) -> &Io {
        &self.io
    }
    /// The path it was sent on.
    pub const fn path(&self) -> PathId {
        self.path
    }
    /// The device whose data plane issued it.
    pub const fn device(&self) -> crate::dataplane::DeviceId {
        self.device
    }
    /// When it started.
    pub const fn started(&self) -> Instant {
        self.started
    }
}
