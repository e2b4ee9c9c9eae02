//! Identify data multipath needs: the Identify Controller (CNS 01h) and
//! Identify Namespace (CNS 00h) fields Linux NVMe multipath reads (Base 2.0
//! "Identify Controller data structure"; NVM Command Set 1.0
//! "Identify Namespace data structure"; byte offsets below).
//!
//! Both structures are 4096 bytes. The `Repr`s here own only the fields they
//! name: `parse` reads them, `emit` writes them into a 4096-byte buffer and
//! leaves every other byte alone, so a simulator can emit over a template.

use mpath_core::time::Duration;

use crate::ana;
use crate::error::{Error, Result};
use crate::field::{self, put, u16_at, u32_at, u64_at, u8_at};

/// Length of every Identify data structure.
pub const IDENTIFY_LEN: usize = 4096;
/// Length of the SUBNQN field (bytes 768-1023).
pub const NQN_FIELD_LEN: usize = 256;

/// The Identify admin command (Base 2.0 "Identify command"): CDW10 holds
/// CNS (7:0) and CNTID (31:16); the NSID goes in the submission queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identify {
    /// Controller or Namespace Structure.
    pub cns: u8,
    /// Controller Identifier (for CNS values that take one).
    pub cntid: u16,
}

impl Identify {
    /// Admin command opcode.
    pub const OPCODE: u8 = 0x06;
    /// Identify Namespace (NSID = the namespace).
    pub const NAMESPACE: Identify = Identify {
        cns: 0x00,
        cntid: 0,
    };
    /// Identify Controller.
    pub const CONTROLLER: Identify = Identify {
        cns: 0x01,
        cntid: 0,
    };

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        u32::from(self.cns) | u32::from(self.cntid).checked_shl(16).unwrap_or(0)
    }

    /// Decodes Command Dword 10 (bits 15:8 are reserved and dropped).
    pub fn parse(cdw10: u32) -> Self {
        let [cns, _, lo, hi] = cdw10.to_le_bytes();
        Identify {
            cns,
            cntid: u16::from_le_bytes([lo, hi]),
        }
    }
}

bitflags::bitflags! {
    /// CMIC, Controller Multi-Path I/O and Namespace Sharing Capabilities
    /// (Identify Controller byte 76).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Cmic: u8 {
        /// The NVM subsystem may have more than one port.
        const MULTI_PORT = 1 << 0;
        /// The NVM subsystem may have more than one controller.
        const MULTI_CONTROLLER = 1 << 1;
        /// The controller is an SR-IOV virtual function.
        const SRIOV = 1 << 2;
        /// Asymmetric Namespace Access Reporting is supported; Linux enables
        /// ANA handling only when this is set.
        const ANA_REPORTING = 1 << 3;
    }

    /// ONCS, Optional NVM Command Support (Identify Controller bytes 520-521).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Oncs: u16 {
        /// Compare command.
        const COMPARE = 1 << 0;
        /// Write Uncorrectable command.
        const WRITE_UNCORRECTABLE = 1 << 1;
        /// Dataset Management command.
        const DATASET_MANAGEMENT = 1 << 2;
        /// Write Zeroes command.
        const WRITE_ZEROES = 1 << 3;
        /// Save field of Set Features and Select of Get Features.
        const SAVE_SELECT = 1 << 4;
        /// Reservations (Base 2.0 "Reservations").
        const RESERVATIONS = 1 << 5;
        /// Timestamp feature.
        const TIMESTAMP = 1 << 6;
        /// Verify command.
        const VERIFY = 1 << 7;
        /// Copy command.
        const COPY = 1 << 8;
    }

    /// ANACAP, Asymmetric Namespace Access Capabilities (Identify Controller
    /// byte 343): which ANA states the controller may report.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Anacap: u8 {
        /// Reports ANA Optimized.
        const OPTIMIZED = 1 << 0;
        /// Reports ANA Non-Optimized.
        const NON_OPTIMIZED = 1 << 1;
        /// Reports ANA Inaccessible.
        const INACCESSIBLE = 1 << 2;
        /// Reports ANA Persistent Loss.
        const PERSISTENT_LOSS = 1 << 3;
        /// Reports ANA Change.
        const CHANGE = 1 << 4;
        /// A namespace's ANAGRPID does not change while it is attached.
        const GRPID_NOT_CHANGED = 1 << 6;
        /// Namespace Management accepts a non-zero ANAGRPID.
        const GRPID_MGMT = 1 << 7;
    }

    /// NMIC, Namespace Multi-path I/O and Namespace Sharing Capabilities
    /// (Identify Namespace byte 30).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Nmic: u8 {
        /// The namespace may be attached to two or more controllers: a
        /// multipath candidate.
        const SHARED = 1 << 0;
        /// Dispersed namespace (Base 2.0 "Dispersed Namespaces").
        const DISPERSED = 1 << 1;
    }

    /// RESCAP, Reservation Capabilities (Identify Namespace byte 31).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rescap: u8 {
        /// Persist Through Power Loss.
        const PTPL = 1 << 0;
        /// Write Exclusive.
        const WRITE_EXCLUSIVE = 1 << 1;
        /// Exclusive Access.
        const EXCLUSIVE_ACCESS = 1 << 2;
        /// Write Exclusive - Registrants Only.
        const WRITE_EXCLUSIVE_REG_ONLY = 1 << 3;
        /// Exclusive Access - Registrants Only.
        const EXCLUSIVE_ACCESS_REG_ONLY = 1 << 4;
        /// Write Exclusive - All Registrants.
        const WRITE_EXCLUSIVE_ALL_REGS = 1 << 5;
        /// Exclusive Access - All Registrants.
        const EXCLUSIVE_ACCESS_ALL_REGS = 1 << 6;
        /// Ignore Existing Key behaves as in NVMe 1.3 and later (the key is
        /// ignored, not checked).
        const IEKEY_13 = 1 << 7;
    }
}

/// Command Retry Delay Times CRDT1..CRDT3 (Identify Controller bytes 128-133,
/// after the 16-byte FGUID at 112; libnvme and Linux `struct nvme_id_ctrl` agree),
/// in units of 100 milliseconds. A completion's CRD field selects one of them
/// (Base 2.0 "Status Field").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Crdt(pub [u16; 3]);

impl Crdt {
    /// The delay CRD asks for: zero for CRD 0, CRDTn x 100 ms for CRD n.
    pub fn delay(&self, crd: u8) -> Duration {
        let units = match crd {
            1..=3 => self
                .0
                .get(usize::from(crd).saturating_sub(1))
                .copied()
                .unwrap_or(0),
            _ => 0,
        };
        Duration::from_millis(u64::from(units).saturating_mul(100))
    }
}

/// VER, the NVM Express version the controller implements (bytes 80-83).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version (bits 31:16).
    pub major: u16,
    /// Minor version (bits 15:8).
    pub minor: u8,
    /// Tertiary version (bits 7:0).
    pub tertiary: u8,
}

impl Version {
    /// From the register value.
    pub fn from_u32(ver: u32) -> Self {
        let [tertiary, minor, lo, hi] = ver.to_le_bytes();
        Version {
            major: u16::from_le_bytes([lo, hi]),
            minor,
            tertiary,
        }
    }

    /// The register value.
    pub fn to_u32(self) -> u32 {
        let [lo, hi] = self.major.to_le_bytes();
        u32::from_le_bytes([self.tertiary, self.minor, lo, hi])
    }
}

/// An NVMe Qualified Name: 1 to 255 bytes, no NUL (Base 2.0 "NVMe
/// Qualified Names"), held inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nqn {
    bytes: [u8; NQN_FIELD_LEN],
    len: u8,
}

impl Nqn {
    /// An NQN from its bytes: non-empty, shorter than 256, no NUL.
    pub fn new(name: &[u8]) -> Result<Self> {
        let len = u8::try_from(name.len())
            .ok()
            .filter(|l| *l != 0 && !name.contains(&0))
            .ok_or(Error::Invalid {
                field: "SUBNQN",
                offset: 768,
                value: u64::try_from(name.len()).unwrap_or(u64::MAX),
            })?;
        let mut bytes = [0; NQN_FIELD_LEN];
        put(&mut bytes, 0, name)?;
        Ok(Nqn { bytes, len })
    }

    /// The name's bytes (without the terminating NUL).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The name as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// Reads a NUL-terminated NQN field. An empty or unterminated field gives
    /// `None`: Linux `nvme_init_subnqn()` then makes up an NQN from the vendor
    /// ID, serial and model, because such a controller cannot be matched to a
    /// subsystem by name.
    fn from_field(field: &[u8]) -> Option<Self> {
        let len = field.iter().position(|b| *b == 0)?;
        Nqn::new(field.get(..len)?).ok()
    }
}

/// The Identify Controller fields multipath needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdentifyControllerRepr {
    /// CMIC (byte 76).
    pub cmic: Cmic,
    /// CNTLID, Controller ID (bytes 78-79).
    pub cntlid: u16,
    /// VER (bytes 80-83).
    pub ver: Version,
    /// CRDT1..3 (bytes 128-133).
    pub crdt: Crdt,
    /// NN, Number of Namespaces: the largest valid NSID (bytes 516-519).
    pub nn: u32,
    /// ONCS (bytes 520-521).
    pub oncs: Oncs,
    /// MNAN, Maximum Number of Allowed Namespaces (bytes 540-543); 0 means
    /// not reported, and NN bounds the count.
    pub mnan: u32,
    /// ANATT, ANA Transition Time in seconds (byte 342): how long a group may
    /// stay in ANA Change.
    pub anatt: u8,
    /// ANACAP (byte 343).
    pub anacap: Anacap,
    /// ANAGRPMAX, the largest ANA group ID (bytes 344-347).
    pub anagrpmax: u32,
    /// NANAGRPID, the number of ANA group IDs supported (bytes 348-351).
    pub nanagrpid: u32,
    /// SUBNQN (bytes 768-1023), `None` when empty or not NUL-terminated.
    pub subnqn: Option<Nqn>,
}

// Byte offsets in the Identify Controller data structure.
const CMIC: usize = 76;
const CNTLID: usize = 78;
const VER: usize = 80;
const CRDT1: usize = 128;
const NN: usize = 516;
const ONCS: usize = 520;
const MNAN: usize = 540;
const ANATT: usize = 342;
const ANACAP: usize = 343;
const ANAGRPMAX: usize = 344;
const NANAGRPID: usize = 348;
const SUBNQN: usize = 768;

impl IdentifyControllerRepr {
    /// Reads the fields from a 4096-byte Identify Controller data structure.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        field::check_in(buf, IDENTIFY_LEN, "Identify Controller data structure")?;
        let crdt = |i: usize| u16_at(buf, CRDT1.saturating_add(i.saturating_mul(2)), "CRDT");
        let subnqn = buf
            .get(SUBNQN..SUBNQN.saturating_add(NQN_FIELD_LEN))
            .and_then(Nqn::from_field);
        Ok(IdentifyControllerRepr {
            cmic: Cmic::from_bits_retain(u8_at(buf, CMIC, "CMIC")?),
            cntlid: u16_at(buf, CNTLID, "CNTLID")?,
            ver: Version::from_u32(u32_at(buf, VER, "VER")?),
            crdt: Crdt([crdt(0)?, crdt(1)?, crdt(2)?]),
            nn: u32_at(buf, NN, "NN")?,
            oncs: Oncs::from_bits_retain(u16_at(buf, ONCS, "ONCS")?),
            mnan: u32_at(buf, MNAN, "MNAN")?,
            anatt: u8_at(buf, ANATT, "ANATT")?,
            anacap: Anacap::from_bits_retain(u8_at(buf, ANACAP, "ANACAP")?),
            anagrpmax: u32_at(buf, ANAGRPMAX, "ANAGRPMAX")?,
            nanagrpid: u32_at(buf, NANAGRPID, "NANAGRPID")?,
            subnqn,
        })
    }

    /// Bytes [`emit`](Self::emit) needs.
    pub const fn buffer_len(&self) -> usize {
        IDENTIFY_LEN
    }

    /// Writes the fields into a 4096-byte buffer; other bytes are untouched.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, IDENTIFY_LEN)?;
        put(buf, CMIC, &[self.cmic.bits()])?;
        put(buf, CNTLID, &self.cntlid.to_le_bytes())?;
        put(buf, VER, &self.ver.to_u32().to_le_bytes())?;
        let mut at = CRDT1;
        for crdt in self.crdt.0 {
            put(buf, at, &crdt.to_le_bytes())?;
            at = at.saturating_add(2);
        }
        put(buf, NN, &self.nn.to_le_bytes())?;
        put(buf, ONCS, &self.oncs.bits().to_le_bytes())?;
        put(buf, MNAN, &self.mnan.to_le_bytes())?;
        put(buf, ANATT, &[self.anatt, self.anacap.bits()])?;
        put(buf, ANAGRPMAX, &self.anagrpmax.to_le_bytes())?;
        put(buf, NANAGRPID, &self.nanagrpid.to_le_bytes())?;
        let nqn = self
            .subnqn
            .as_ref()
            .map_or(&[0u8; NQN_FIELD_LEN], |n| &n.bytes);
        put(buf, SUBNQN, nqn)
    }

    /// Whether the controller reports ANA (CMIC bit 3).
    pub fn supports_ana(&self) -> bool {
        self.cmic.contains(Cmic::ANA_REPORTING)
    }

    /// Whether the controller supports reservations (ONCS bit 5).
    pub fn supports_reservations(&self) -> bool {
        self.oncs.contains(Oncs::RESERVATIONS)
    }

    /// ANATT as a duration: the deadline of a group in ANA Change.
    pub fn ana_transition_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.anatt))
    }

    /// How many namespaces may be attached: MNAN, or NN when MNAN is 0.
    pub fn max_namespaces(&self) -> u32 {
        if self.mnan == 0 {
            self.nn
        } else {
            self.mnan
        }
    }

    /// Buffer size for the whole ANA log page (see [`ana::max_log_len`]).
    pub fn ana_log_len(&self, rgo: bool) -> Option<usize> {
        ana::max_log_len(self.nanagrpid, self.max_namespaces(), rgo)
    }
}

/// The Identify Namespace fields multipath needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdentifyNamespaceRepr {
    /// NSZE, Namespace Size in logical blocks (bytes 0-7).
    pub nsze: u64,
    /// NCAP, Namespace Capacity in logical blocks (bytes 8-15).
    pub ncap: u64,
    /// NUSE, Namespace Utilization in logical blocks (bytes 16-23).
    pub nuse: u64,
    /// NMIC (byte 30).
    pub nmic: Nmic,
    /// RESCAP (byte 31).
    pub rescap: Rescap,
    /// ANAGRPID, the namespace's ANA group (bytes 92-95); 0 when ANA is not
    /// reported.
    pub anagrpid: u32,
}

const NSZE: usize = 0;
const NCAP: usize = 8;
const NUSE: usize = 16;
const NMIC: usize = 30;
const RESCAP: usize = 31;
const ANAGRPID: usize = 92;

impl IdentifyNamespaceRepr {
    /// Reads the fields from a 4096-byte Identify Namespace data structure.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        field::check_in(buf, IDENTIFY_LEN, "Identify Namespace data structure")?;
        Ok(IdentifyNamespaceRepr {
            nsze: u64_at(buf, NSZE, "NSZE")?,
            ncap: u64_at(buf, NCAP, "NCAP")?,
            nuse: u64_at(buf, NUSE, "NUSE")?,
            nmic: Nmic::from_bits_retain(u8_at(buf, NMIC, "NMIC")?),
            rescap: Rescap::from_bits_retain(u8_at(buf, RESCAP, "RESCAP")?),
            anagrpid: u32_at(buf, ANAGRPID, "ANAGRPID")?,
        })
    }

    /// Bytes [`emit`](Self::emit) needs.
    pub const fn buffer_len(&self) -> usize {
        IDENTIFY_LEN
    }

    /// Writes the fields into a 4096-byte buffer; other bytes are untouched.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, IDENTIFY_LEN)?;
        put(buf, NSZE, &self.nsze.to_le_bytes())?;
        put(buf, NCAP, &self.ncap.to_le_bytes())?;
        put(buf, NUSE, &self.nuse.to_le_bytes())?;
        put(buf, NMIC, &[self.nmic.bits(), self.rescap.bits()])?;
        put(buf, ANAGRPID, &self.anagrpid.to_le_bytes())
    }

    /// Whether the namespace may be reached through several controllers.
    pub fn is_shared(&self) -> bool {
        self.nmic.contains(Nmic::SHARED)
    }
}

#[cfg(test)]
#[path = "identify_tests.rs"]
mod tests;
