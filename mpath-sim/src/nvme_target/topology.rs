//! What a subsystem is made of, as the simulator configures it: hosts
//! (Host Identifier and host NQN), controllers (each bound to one host),
//! namespaces (NSID, size, ANA group) and ANA groups (Base 2.0 "NVM
//! Subsystem Entities", "Asymmetric Namespace Access Reporting").

use mpath_core::time::Duration;
use mpath_nvme::identify::{Crdt, Nqn};

/// A Host Identifier (Base 2.0 "Host Identifier" feature, 81h): 64-bit,
/// or 128-bit (extended, EXHID) as NVMe over Fabrics requires. Reservations
/// belong to it: every controller of one host shares its registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostIdentifier {
    /// A 64-bit identifier.
    Short([u8; 8]),
    /// A 128-bit (extended) identifier.
    Extended([u8; 16]),
}

impl HostIdentifier {
    /// Whether it is 128-bit: the regular Reservation Report format cannot
    /// carry it.
    pub const fn is_extended(&self) -> bool {
        matches!(self, HostIdentifier::Extended(_))
    }

    /// As the reservation report codec holds it: 16 bytes, a 64-bit
    /// identifier in the first half.
    pub fn to_report_bytes(&self) -> [u8; 16] {
        match self {
            HostIdentifier::Short(s) => {
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(s);
                b
            }
            HostIdentifier::Extended(e) => *e,
        }
    }
}

/// A host that may connect controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Host NQN, as the host gives it on Connect.
    pub nqn: Nqn,
    /// Host Identifier.
    pub hostid: HostIdentifier,
}

/// A namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// Namespace Identifier: 1..=NN.
    pub nsid: u32,
    /// Size in logical blocks (NSZE = NCAP).
    pub blocks: u64,
    /// Logical block size in bytes: a power of two, at least 512 (LBADS
    /// is a power of two from 9 up).
    pub block_size: u32,
    /// The ANA group the namespace belongs to.
    pub anagrpid: u32,
}

/// Subsystem-wide settings, reported in Identify Controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubsystemConfig {
    /// SUBNQN.
    pub nqn: Nqn,
    /// ANATT in seconds: how long a group may stay in ANA Change. The
    /// simulator's engine enforces it; the target only reports it.
    pub anatt: u8,
    /// ANAGRPMAX and NANAGRPID: group IDs run 1..=anagrpmax.
    pub anagrpmax: u32,
    /// NN: the largest NSID.
    pub nn: u32,
    /// AERL, 0's based: outstanding Asynchronous Event Requests allowed per
    /// controller, minus one.
    pub aerl: u8,
    /// Command Retry Delay Times.
    pub crdt: Crdt,
}

impl SubsystemConfig {
    /// Defaults: ANATT 10 s, 16 ANA groups, NN 256, 4 AERs per controller
    /// (Linux keeps one outstanding), no retry delays.
    pub const fn new(nqn: Nqn) -> Self {
        SubsystemConfig {
            nqn,
            anatt: 10,
            anagrpmax: 16,
            nn: 256,
            aerl: 3,
            crdt: Crdt([0; 3]),
        }
    }

    /// ANATT as a duration, for the engine's transition deadline.
    pub fn ana_transition_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.anatt))
    }
}

/// Why a topology change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// NSID 0, FFFFFFFFh, or above NN.
    #[error("invalid NSID {0:#x}")]
    InvalidNsid(u32),
    /// The NSID is taken.
    #[error("namespace {0} exists")]
    DuplicateNamespace(u32),
    /// Block size not a power of two from 512 up.
    #[error("invalid block size {0}")]
    InvalidBlockSize(u32),
    /// ANAGRPID 0 or above ANAGRPMAX.
    #[error("invalid ANA group {0}")]
    InvalidAnaGroup(u32),
    /// The group exists.
    #[error("ANA group {0} exists")]
    DuplicateAnaGroup(u32),
    /// No such group.
    #[error("no ANA group {0}")]
    UnknownAnaGroup(u32),
    /// The host identifier is taken.
    #[error("host {0:?} exists")]
    DuplicateHost(HostIdentifier),
    /// No such host.
    #[error("no host {0:?}")]
    UnknownHost(HostIdentifier),
    /// The CNTLID is taken.
    #[error("controller {0} exists")]
    DuplicateController(u16),
    /// CNTLID FFF0h-FFFFh are reserved (FFFFh means "no controller" in
    /// reservation reports).
    #[error("invalid CNTLID {0:#x}")]
    InvalidCntlid(u16),
    /// No such controller.
    #[error("no controller {0}")]
    UnknownController(u16),
}

/// Why a command could not be put to a controller at all (the engine's
/// mistake, not a status the host would see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// No such controller.
    #[error("no controller {0}")]
    UnknownController(u16),
    /// The controller is disconnected: nothing reaches it.
    #[error("controller {0} is disconnected")]
    Disconnected(u16),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_fill_the_first_half() {
        let s = HostIdentifier::Short([1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(!s.is_extended());
        assert_eq!(
            s.to_report_bytes(),
            [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let e = HostIdentifier::Extended([9; 16]);
        assert!(e.is_extended());
        assert_eq!(e.to_report_bytes(), [9; 16]);
    }

    #[test]
    fn defaults_report_anatt_as_duration() {
        let nqn = Nqn::new(b"nqn.2014-08.org.example:sim").unwrap();
        let c = SubsystemConfig::new(nqn);
        assert_eq!(c.ana_transition_time(), Duration::from_secs(10));
    }
}
