//! Path identity: slot plus generation, and what the embedder says about a
//! path when it adds one.

use crate::access::{GroupAccess, GroupId};
use core::fmt;

/// The most paths one multipath device can have. Eligibility is published to
/// the data plane as one 64-bit mask, so that selection is a single atomic
/// load; devices with more than 64 paths to one logical unit are outside what
/// dm-multipath and NVMe deployments use.
pub const MAX_PATHS: usize = 64;

/// A path's handle: a slot in the device's path table and the generation of
/// the path that holds it. A handle for a removed path stays recognisably
/// stale even after its slot is reused, so late completions and late probe
/// results can't be applied to the wrong path. Generations are 16 bits and
/// never zero; a slot must be reused 65 535 times for a handle to alias.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathId {
    slot: u16,
    generation: u16,
}

impl PathId {
    pub(crate) const fn new(slot: u16, generation: u16) -> Self {
        PathId { slot, generation }
    }
    /// The table slot, `0..N`.
    pub fn slot(self) -> usize {
        usize::from(self.slot)
    }
    /// The generation of the path in that slot.
    pub const fn generation(self) -> u16 {
        self.generation
    }
    /// A compact encoding for embedders that must store the id in foreign
    /// memory (a request PDU): generation in the high half, slot in the low.
    pub const fn to_raw(self) -> u32 {
        let [s0, s1] = self.slot.to_le_bytes();
        let [g0, g1] = self.generation.to_le_bytes();
        u32::from_le_bytes([s0, s1, g0, g1])
    }
    /// The inverse of [`PathId::to_raw`]. Validity is checked where the id is
    /// used (unknown or stale ids are typed errors there).
    pub const fn from_raw(raw: u32) -> Self {
        let [s0, s1, g0, g1] = raw.to_le_bytes();
        PathId {
            slot: u16::from_le_bytes([s0, s1]),
            generation: u16::from_le_bytes([g0, g1]),
        }
    }
}

impl fmt::Debug for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathId({}g{})", self.slot, self.generation)
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.slot, self.generation)
    }
}

/// The I_T nexus (SCSI) or host-controller association (NVMe) a path runs
/// over. Persistent-reservation registrations belong to a nexus; several paths
/// can share one only in unusual topologies, but the coordinator keys on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NexusId(pub u32);

/// A locality hint: the NUMA node (or queue set) a path is close to. The
/// locality selector prefers paths whose hint equals the submitting CPU's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Locality(pub u32);

/// What the embedder says about a new path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathSpec {
    /// The access-state group the path's target port belongs to.
    pub group: GroupId,
    /// The nexus it runs over.
    pub nexus: NexusId,
    /// Where it is close to.
    pub locality: Locality,
    /// dm service-time's relative throughput, `0..=100`: 0 means "use only if
    /// nothing else is usable", otherwise larger carries proportionally more.
    pub relative_throughput: u8,
    /// The group's access state if the embedder read it while discovering the
    /// path (RTPG, ANA log). A group the core has not seen before and no
    /// state given starts optimized, as a target without ALUA/ANA reports
    /// nothing and serves I/O on every port.
    pub access: Option<GroupAccess>,
    /// The group's transition timeout if the embedder knows it (NVMe ANATT
    /// from Identify Controller, RTPG IMPLICIT TRANSITION TIME); otherwise
    /// the configured default applies.
    pub transition_timeout: Option<crate::time::Duration>,
}

impl PathSpec {
    /// A path in `group` over `nexus`, local to node 0, relative throughput
    /// 1, access state unknown.
    pub const fn new(group: GroupId, nexus: NexusId) -> Self {
        PathSpec {
            group,
            nexus,
            locality: Locality(0),
            relative_throughput: 1,
            access: None,
            transition_timeout: None,
        }
    }
    /// The same spec with a locality hint.
    #[must_use]
    pub const fn with_locality(mut self, locality: Locality) -> Self {
        self.locality = locality;
        self
    }
    /// The same spec with a relative throughput (clamped to 100 when used).
    #[must_use]
    pub const fn with_relative_throughput(mut self, rt: u8) -> Self {
        self.relative_throughput = rt;
        self
    }
    /// The same spec with a known transition timeout.
    #[must_use]
    pub const fn with_transition_timeout(mut self, timeout: crate::time::Duration) -> Self {
        self.transition_timeout = Some(timeout);
        self
    }
    /// The same spec with a known access state.
    #[must_use]
    pub const fn with_access(mut self, access: GroupAccess) -> Self {
        self.access = Some(access);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        for (slot, gen) in [(0u16, 1u16), (63, 65535), (5, 42)] {
            let id = PathId::new(slot, gen);
            assert_eq!(PathId::from_raw(id.to_raw()), id);
            assert_eq!(id.slot(), usize::from(slot));
            assert_eq!(id.generation(), gen);
        }
    }
}
