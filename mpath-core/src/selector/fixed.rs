//! Policies fixed when the embedder is built: one marker type per policy,
//! for [`DataPlane::submit_as`](crate::DataPlane::submit_as), so a driver
//! that only ever runs one selector gets a submit path compiled for it
//! alone: no jump over the six policies, and none of the other selectors'
//! code inlined around it.
//!
//! The run-time switch stays: `submit_as::<P>` compares the device's
//! published policy with `P` first (a byte on the line the selection reads
//! anyway) and takes the general path when they differ, so a policy changed
//! by the control plane is honoured at once.

use super::Policy;

/// A policy known at build time.
pub trait FixedPolicy {
    /// The policy.
    const POLICY: Policy;
}

macro_rules! fixed {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct $name;

            impl FixedPolicy for $name {
                const POLICY: Policy = Policy::$name;
            }
        )*
    };
}

fixed!(
    /// [`Policy::Locality`] at build time.
    Locality,
    /// [`Policy::RoundRobin`] at build time.
    RoundRobin,
    /// [`Policy::QueueDepth`] at build time.
    QueueDepth,
    /// [`Policy::QueueBytes`] at build time.
    QueueBytes,
    /// [`Policy::ServiceTime`] at build time.
    ServiceTime,
    /// [`Policy::Adaptive`] at build time.
    Adaptive,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_marker_names_its_policy() {
        assert_eq!(Locality::POLICY, Policy::Locality);
        assert_eq!(RoundRobin::POLICY, Policy::RoundRobin);
        assert_eq!(QueueDepth::POLICY, Policy::QueueDepth);
        assert_eq!(QueueBytes::POLICY, Policy::QueueBytes);
        assert_eq!(ServiceTime::POLICY, Policy::ServiceTime);
        assert_eq!(Adaptive::POLICY, Policy::Adaptive);
    }
}
