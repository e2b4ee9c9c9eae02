//! Path identity: which multipath head a namespace path belongs to, and what
//! the adapter must know about the controller it runs through.
//!
//! Linux NVMe native multipath groups namespaces into one head
//! (`struct nvme_ns_head`) by subsystem and namespace identity
//! (`nvme_find_ns_head()`: same subsystem NQN, same NSID, matching
//! NGUID/EUI-64/UUID). Every controller of the subsystem that has the
//! namespace attached is one path to that head. [`NsIdentity`] is the head's
//! key; [`NvmePath`] is one controller's view of the namespace, built from
//! Identify Controller and Identify Namespace.

use mpath_core::path::{Locality, NexusId};
use mpath_core::time::Duration;

use crate::ana;
use crate::identify::{Crdt, IdentifyControllerRepr, IdentifyNamespaceRepr, Nqn};

/// NSID FFFFFFFFh is the broadcast value ("all namespaces"), never a
/// namespace (Base 2.0 "Namespace Identifier (NSID)").
pub const NSID_BROADCAST: u32 = 0xFFFF_FFFF;

/// Why a path description could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Identify Controller had no usable SUBNQN (empty or not terminated).
    /// Linux makes one up from vendor ID, serial and model; this crate leaves
    /// that to the embedder, who can pass it to [`NsIdentity::new`].
    #[error("Identify Controller has no SUBNQN")]
    MissingSubnqn,
    /// 0 and FFFFFFFFh are not namespace identifiers.
    #[error("invalid NSID {0:#x}")]
    InvalidNsid(u32),
}

/// Which multipath head a namespace belongs to: the subsystem NQN and the
/// NSID. Two paths with equal identities reach the same namespace (NSIDs are
/// unique within an NVM subsystem, Base 2.0 "Namespaces").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NsIdentity {
    /// SUBNQN from Identify Controller.
    pub subnqn: Nqn,
    /// The namespace identifier.
    pub nsid: u32,
}

impl NsIdentity {
    /// An identity from its parts; rejects NSID 0 and FFFFFFFFh.
    pub fn new(subnqn: Nqn, nsid: u32) -> Result<Self, IdentityError> {
        if nsid == 0 || nsid == NSID_BROADCAST {
            return Err(IdentityError::InvalidNsid(nsid));
        }
        Ok(NsIdentity { subnqn, nsid })
    }

    /// The identity of namespace `nsid` of the controller's subsystem.
    pub fn from_identify(ctrl: &IdentifyControllerRepr, nsid: u32) -> Result<Self, IdentityError> {
        let subnqn = ctrl.subnqn.ok_or(IdentityError::MissingSubnqn)?;
        NsIdentity::new(subnqn, nsid)
    }
}

/// One controller's path to a namespace: what the adapter needs to map core
/// actions to commands on it and to read its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NvmePath {
    /// The head the namespace belongs to.
    pub identity: NsIdentity,
    /// CNTLID: the controller, unique within the subsystem. The path *is*
    /// the controller: one namespace has at most one path per controller.
    pub cntlid: u16,
    /// ANAGRPID of the namespace (Identify Namespace); 0 without ANA.
    pub anagrpid: u32,
    /// Whether the controller reports ANA (CMIC bit 3). Without it there is
    /// no ANA log and every path is optimized.
    pub ana_reporting: bool,
    /// ANATT in seconds (Identify Controller).
    pub anatt: u8,
    /// ANAGRPMAX (Identify Controller): the largest group ID in the log.
    pub anagrpmax: u32,
    /// NANAGRPID (Identify Controller): descriptors the log may hold.
    pub nanagrpid: u32,
    /// MNAN, or NN when MNAN is 0: NSID entries the log may hold.
    pub max_namespaces: u32,
    /// Command Retry Delay Times (Identify Controller).
    pub crdt: Crdt,
    /// The nexus the core keys reservations and duplicate paths on. By
    /// default `NexusId(cntlid)`; an embedder with its own numbering (a
    /// fabrics association id) may replace it.
    pub nexus: NexusId,
    /// Locality hint for the core (NUMA node of the controller).
    pub locality: Locality,
}

impl NvmePath {
    /// The path through the controller described by `ctrl` to namespace
    /// `nsid`, described by `ns`.
    pub fn from_identify(
        ctrl: &IdentifyControllerRepr,
        ns: &IdentifyNamespaceRepr,
        nsid: u32,
    ) -> Result<Self, IdentityError> {
        let ana_reporting = ctrl.supports_ana();
        Ok(NvmePath {
            identity: NsIdentity::from_identify(ctrl, nsid)?,
            cntlid: ctrl.cntlid,
            anagrpid: if ana_reporting { ns.anagrpid } else { 0 },
            ana_reporting,
            anatt: ctrl.anatt,
            anagrpmax: ctrl.anagrpmax,
            nanagrpid: ctrl.nanagrpid,
            max_namespaces: ctrl.max_namespaces(),
            crdt: ctrl.crdt,
            nexus: NexusId(u32::from(ctrl.cntlid)),
            locality: Locality(0),
        })
    }

    /// ANATT as the core's transition timeout; `None` without ANA or when
    /// the controller reports 0 (the spec requires a non-zero ANATT with ANA,
    /// so the core's default then applies).
    pub fn ana_transition_time(&self) -> Option<Duration> {
        (self.ana_reporting && self.anatt != 0).then(|| Duration::from_secs(u64::from(self.anatt)))
    }

    /// Bytes of the whole ANA log page through this controller, sized as
    /// Linux sizes `ctrl->ana_log_buf` (see [`ana::max_log_len`]). `None`
    /// when it does not fit a Get Log Page transfer (u32).
    pub fn ana_log_len(&self, rgo: bool) -> Option<u32> {
        ana::max_log_len(self.nanagrpid, self.max_namespaces, rgo)
            .and_then(|len| u32::try_from(len).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::{Anacap, Cmic, Nmic, Oncs, Rescap, Version};

    fn ctrl(cmic: Cmic, subnqn: Option<Nqn>) -> IdentifyControllerRepr {
        IdentifyControllerRepr {
            cmic,
            cntlid: 7,
            ver: Version::from_u32(0x0002_0000),
            crdt: Crdt([1, 2, 3]),
            nn: 32,
            oncs: Oncs::RESERVATIONS,
            mnan: 0,
            anatt: 10,
            anacap: Anacap::all(),
            anagrpmax: 4,
            nanagrpid: 4,
            subnqn,
        }
    }

    const NS: IdentifyNamespaceRepr = IdentifyNamespaceRepr {
        nsze: 1,
        ncap: 1,
        nuse: 1,
        nmic: Nmic::SHARED,
        rescap: Rescap::empty(),
        anagrpid: 3,
    };

    #[test]
    fn path_from_identify() {
        let nqn = Nqn::new(b"nqn.2014-08.org.example:sub").unwrap();
        let p = NvmePath::from_identify(&ctrl(Cmic::ANA_REPORTING, Some(nqn)), &NS, 5).unwrap();
        assert_eq!(p.identity, NsIdentity::new(nqn, 5).unwrap());
        assert_eq!((p.cntlid, p.anagrpid, p.nexus), (7, 3, NexusId(7)));
        assert_eq!(p.max_namespaces, 32);
        assert_eq!(p.ana_transition_time(), Some(Duration::from_secs(10)));
        // 16 + 4 * 32 + 32 * 4
        assert_eq!(p.ana_log_len(false), Some(272));
        assert_eq!(p.ana_log_len(true), Some(144));

        // Without ANA reporting the namespace's ANAGRPID means nothing.
        let p = NvmePath::from_identify(&ctrl(Cmic::empty(), Some(nqn)), &NS, 5).unwrap();
        assert_eq!((p.anagrpid, p.ana_transition_time()), (0, None));
    }

    #[test]
    fn identity_errors() {
        let nqn = Nqn::new(b"nqn.x").unwrap();
        assert_eq!(
            NvmePath::from_identify(&ctrl(Cmic::ANA_REPORTING, None), &NS, 1),
            Err(IdentityError::MissingSubnqn)
        );
        for nsid in [0, NSID_BROADCAST] {
            assert_eq!(
                NsIdentity::new(nqn, nsid),
                Err(IdentityError::InvalidNsid(nsid))
            );
        }
        // Same subsystem, different namespace: different heads.
        assert_ne!(
            NsIdentity::new(nqn, 1).unwrap(),
            NsIdentity::new(nqn, 2).unwrap()
        );
    }
}
