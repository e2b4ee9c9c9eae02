//! The invariants, checked as the run goes, against the truth the target
//! keeps. The first one broken ends the run with the step and virtual time
//! it broke at.

use std::fmt;

use mpath_core::Instant;

/// Which invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// Every I/O completes upward exactly once.
    ExactlyOnce,
    /// No I/O is lost: when the run ends (liveness: faults healed and the
    /// drain over) every I/O has completed.
    NoneLost,
    /// Nothing is dispatched to a path the device holds ineligible.
    EligibleDispatch,
    /// The target never applies a write after a newer write to the same
    /// block from the same host, nor on a block it was not meant for.
    NoStaleWrite,
    /// A read returns data at least as new as the last write to its
    /// blocks acknowledged before the read was issued.
    NoLostWrite,
    /// No I/O fails upward with a reservation conflict while no other host
    /// has touched our reservation (our own failover caused it).
    NoOwnConflict,
    /// A host another host fenced writes nothing through a registration
    /// made after the fence. (A preemption racing the host's own REGISTER
    /// operation does not count: the user asked to be registered.)
    FencedWritesNothing,
    /// With a reservation set up, a write of ours lands only through an
    /// I_T nexus registered with our key (a nexus the target has forgotten,
    /// as a restart without APTPL makes it forget, is not one to write
    /// through as if the reservation still held).
    RegisteredWrites,
    /// I/O fails for want of a path only as the no-path policy says: never
    /// under `queue`, and under `queue-for` not before that long has
    /// passed since the device last had a usable path, nor held much
    /// after (runs without a reservation: a write held after a path
    /// failure waits for its quiesce time too).
    NoPathOnTime,
    /// Submitted = completed + failed + outstanding, once quiet.
    CountersBalance,
}

impl Invariant {
    /// A short name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Invariant::ExactlyOnce => "exactly-once",
            Invariant::NoneLost => "none-lost",
            Invariant::EligibleDispatch => "eligible-dispatch",
            Invariant::NoStaleWrite => "no-stale-write",
            Invariant::NoLostWrite => "no-lost-write",
            Invariant::NoOwnConflict => "no-own-conflict",
            Invariant::FencedWritesNothing => "fenced-writes-nothing",
            Invariant::RegisteredWrites => "registered-writes",
            Invariant::NoPathOnTime => "no-path-on-time",
            Invariant::CountersBalance => "counters-balance",
        }
    }
}

/// An invariant broken: which, when, and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant.
    pub invariant: Invariant,
    /// The engine step (events handled so far).
    pub step: u64,
    /// Virtual time.
    pub at: Instant,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {} broken at step {} (t={} µs): {}",
            self.invariant.name(),
            self.step,
            self.at.as_nanos() / 1_000,
            self.detail
        )
    }
}
