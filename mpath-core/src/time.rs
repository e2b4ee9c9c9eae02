//! Caller-supplied time.
//!
//! The core never reads a clock. Every input that depends on time carries an
//! [`Instant`] the caller took from its own monotonic clock (`ktime_get_ns()` in a
//! kernel, `CLOCK_MONOTONIC` in a daemon, a virtual clock in the simulator).
//! The unit is the nanosecond for the whole workspace: a `u64` of nanoseconds
//! covers 584 years of uptime, and the kernel's own clocks speak nanoseconds.
//!
//! All arithmetic is checked or saturating: an [`Instant`] plus a huge
//! [`Duration`] saturates at [`Instant::MAX`] ("never"), and a duration between
//! two instants in the wrong order is a typed [`TimeError`], never a wrap.

use core::fmt;

/// A point on the caller's monotonic clock, in nanoseconds from an arbitrary
/// origin (boot, process start, simulation start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// A span of time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

/// Time was used in a way a monotonic clock cannot produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// An input carried a time earlier than one the core had already seen.
    #[error("time went backwards: got {now:?}, already saw {last:?}")]
    WentBackwards {
        /// The time the caller passed.
        now: Instant,
        /// The latest time the core had seen before.
        last: Instant,
    },
}

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);
    /// The end of time; used as "never" by saturating arithmetic.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.0.checked_add(d.0) {
            Some(v) => Some(Instant(v)),
            None => None,
        }
    }

    /// `self - d`, saturating at the origin.
    #[must_use]
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }

    /// The time from `earlier` to `self`, or an error if `earlier` is later.
    pub const fn checked_duration_since(self, earlier: Instant) -> Result<Duration, TimeError> {
        match self.0.checked_sub(earlier.0) {
            Some(v) => Ok(Duration(v)),
            None => Err(TimeError::WentBackwards {
                now: self,
                last: earlier,
            }),
        }
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span; "forever".
    pub const MAX: Duration = Duration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        Duration(nanos)
    }
    /// A span of `micros` microseconds, saturating.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros.saturating_mul(1_000))
    }
    /// A span of `millis` milliseconds, saturating.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis.saturating_mul(1_000_000))
    }
    /// A span of `secs` seconds, saturating.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs.saturating_mul(1_000_000_000))
    }
    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// The span in whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// `self + other`, saturating.
    #[must_use]
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
    /// `self - other`, saturating at zero.
    #[must_use]
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
    /// `self * factor`, saturating.
    #[must_use]
    pub const fn saturating_mul(self, factor: u64) -> Duration {
        Duration(self.0.saturating_mul(factor))
    }
    /// Whether this is the zero span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns >= 1_000_000_000 && ns % 1_000_000 == 0 {
            write!(f, "{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
        } else if ns >= 1_000_000 {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns >= 1_000 {
            write!(f, "{}us", ns / 1_000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

/// Saturating: `Instant::MAX` is "never", not an overflow.
impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

/// Saturating at the origin.
impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.saturating_sub(d)
    }
}

/// The core's view of "now": the latest instant any input carried.
///
/// Every `handle_*` input goes through [`Clock::advance`] first, so a caller
/// whose clock stepped backwards gets [`TimeError::WentBackwards`] and the state
/// machine is left exactly as it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    now: Instant,
}

impl Clock {
    /// A clock that has seen only the origin.
    pub const fn new() -> Self {
        Clock { now: Instant::ZERO }
    }
    /// The latest instant seen.
    pub const fn now(&self) -> Instant {
        self.now
    }
    /// Check `now` against the latest instant seen without moving the clock.
    pub const fn check(&self, now: Instant) -> Result<(), TimeError> {
        if now.0 < self.now.0 {
            Err(TimeError::WentBackwards {
                now,
                last: self.now,
            })
        } else {
            Ok(())
        }
    }
    /// Move to `now`; equal instants are fine, earlier ones are an error.
    pub fn advance(&mut self, now: Instant) -> Result<(), TimeError> {
        self.check(now)?;
        self.now = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_and_checked_arithmetic() {
        let cases: &[(u64, u64, u64)] = &[
            (0, 0, 0),
            (1, 2, 3),
            (u64::MAX - 1, 1, u64::MAX),
            (u64::MAX, 5, u64::MAX),
        ];
        for &(a, d, want) in cases {
            assert_eq!(
                Instant::from_nanos(a).saturating_add(Duration::from_nanos(d)),
                Instant::from_nanos(want)
            );
        }
        assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::from_millis(3).as_nanos(), 3_000_000);
        assert_eq!(Duration::from_micros(7).as_nanos(), 7_000);
    }

    #[test]
    fn duration_since_is_typed_error_when_backwards() {
        let a = Instant::from_nanos(10);
        let b = Instant::from_nanos(4);
        assert_eq!(a.checked_duration_since(b), Ok(Duration::from_nanos(6)));
        assert_eq!(
            b.checked_duration_since(a),
            Err(TimeError::WentBackwards { now: b, last: a })
        );
        assert_eq!(b.saturating_duration_since(a), Duration::ZERO);
    }

    #[test]
    fn clock_refuses_to_go_backwards_and_stays_put() {
        let mut c = Clock::new();
        c.advance(Instant::from_nanos(100)).unwrap();
        c.advance(Instant::from_nanos(100)).unwrap();
        let err = c.advance(Instant::from_nanos(99)).unwrap_err();
        assert_eq!(
            err,
            TimeError::WentBackwards {
                now: Instant::from_nanos(99),
                last: Instant::from_nanos(100)
            }
        );
        assert_eq!(c.now(), Instant::from_nanos(100));
    }

    #[test]
    fn display_picks_a_readable_unit() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Duration::from_secs(5).to_string(), "5.000s");
        assert_eq!(Duration::from_millis(1500).to_string(), "1.500s");
        assert_eq!(Duration::from_millis(20).to_string(), "20ms");
        assert_eq!(Duration::from_micros(20).to_string(), "20us");
        assert_eq!(Duration::from_nanos(20).to_string(), "20ns");
    }
}
