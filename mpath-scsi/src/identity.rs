//! Path identity: which multipath device a SCSI path belongs to, and where
//! its target port sits in the logical unit's ALUA topology.
//!
//! Every I_T nexus to a logical unit reports the same logical-unit
//! designator in VPD page 83h, so equal designators mean one multipath
//! device (multipath-tools' `uid_attribute`, the kernel's
//! `scsi_vpd_lun_id()`). The same page, through each target port, names that
//! port's RELATIVE TARGET PORT IDENTIFIER and TARGET PORT GROUP, which
//! scsi_dh_alua's `alua_check_vpd()` reads to find the path's state in a
//! REPORT TARGET PORT GROUPS response. Standard INQUIRY's TPGS field says
//! whether there are access states at all and whether SET TARGET PORT
//! GROUPS may be sent.
//!
//! # Groups
//!
//! An ALUA logical unit's core group is its target port group:
//! `GroupId(u32::from(tpg))`. A logical unit without ALUA (TPGS 00b) has no
//! groups; all its paths go into [`DEFAULT_GROUP`], which lies outside the
//! 16-bit target port group space so it can never alias a real group, and
//! stays active/optimized (as every port of such a target serves I/O).

use core::fmt;

use mpath_core::access::{AccessState, GroupAccess, GroupId};
use mpath_core::path::{NexusId, PathSpec};

use crate::designator::{CodeSet, Designation, Designator, DeviceIdRepr};
use crate::error::WireError;
use crate::inquiry::{InquiryRepr, Tpgs};

/// The core group of every path to a logical unit without ALUA. Target port
/// group identifiers are 16 bits, so this id cannot be one.
pub const DEFAULT_GROUP: GroupId = GroupId(0x1_0000);

/// The longest designator VPD page 83h can carry (DESIGNATOR LENGTH is one
/// byte).
pub const LU_NAME_MAX: usize = 255;

/// Why a path's identity could not be built or used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A page did not parse; the wire error names the field and offset.
    #[error("{page}: {error}")]
    Wire {
        /// "standard INQUIRY data" or "VPD page 83h".
        page: &'static str,
        /// Where it went wrong.
        error: WireError,
    },
    /// PERIPHERAL QUALIFIER is not 000b: no logical unit is connected at
    /// this LUN, so there is nothing to multipath.
    #[error("no logical unit connected (peripheral qualifier {qualifier})")]
    NotConnected {
        /// The qualifier reported.
        qualifier: u8,
    },
    /// Page 83h names the logical unit with no designator that can identify
    /// it across ports (NAA, EUI-64, SCSI name string or T10 vendor ID).
    #[error("VPD page 83h has no logical unit designator")]
    NoLuDesignator,
    /// TPGS says the logical unit has ALUA, but page 83h through this port
    /// names no target port group: the path's state could not be found in a
    /// REPORT TARGET PORT GROUPS response (scsi_dh_alua refuses to attach).
    #[error("ALUA logical unit without a target port group designator")]
    MissingTargetPortGroup,
}

/// The logical unit's name: an owned copy of its preferred designator from
/// VPD page 83h. Paths with equal names reach the same logical unit and
/// belong to one multipath device.
///
/// Displays as Linux names it (`/sys/block/sdX/device/wwid`): `naa.` or
/// `eui.` and lower-case hex, `t10.` and the vendor text, or a SCSI name
/// string as written (it carries its own `iqn.`/`naa.`/`eui.` prefix).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LuName {
    designator_type: u8,
    code_set: CodeSet,
    len: u8,
    // Bytes past `len` are always zero, so the derived comparisons are exact.
    bytes: [u8; LU_NAME_MAX],
}

impl LuName {
    /// The name held by a logical-unit designation, if its type can name a
    /// logical unit (NAA, EUI-64, SCSI name string, T10 vendor ID).
    pub fn from_designation(d: &Designation<'_>) -> Option<Self> {
        let src = match d.designator {
            Designator::Naa(b)
            | Designator::Eui64(b)
            | Designator::ScsiNameString(b)
            | Designator::T10VendorId(b) => b,
            _ => return None,
        };
        let len = u8::try_from(src.len()).ok()?;
        let mut bytes = [0u8; LU_NAME_MAX];
        for (dst, s) in bytes.iter_mut().zip(src) {
            *dst = *s;
        }
        Some(LuName {
            designator_type: d.designator.designator_type(),
            code_set: d.code_set,
            len,
            bytes,
        })
    }

    /// The preferred logical-unit designator of a page 83h (see
    /// [`DeviceIdRepr::lu_designator`]).
    pub fn from_device_id(vpd: &DeviceIdRepr<'_>) -> Option<Self> {
        vpd.lu_designator()
            .as_ref()
            .and_then(Self::from_designation)
    }

    /// DESIGNATOR TYPE.
    pub const fn designator_type(&self) -> u8 {
        self.designator_type
    }

    /// CODE SET.
    pub const fn code_set(&self) -> CodeSet {
        self.code_set
    }

    /// The designator bytes as they were on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    /// The name as a borrowed [`Designator`], e.g. to emit it again.
    pub fn designator(&self) -> Designator<'_> {
        let b = self.as_bytes();
        match self.designator_type {
            0x1 => Designator::T10VendorId(b),
            0x2 => Designator::Eui64(b),
            0x3 => Designator::Naa(b),
            // Only the four types above are ever stored.
            _ => Designator::ScsiNameString(b),
        }
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    b.iter().try_for_each(|x| write!(f, "{x:02x}"))
}

/// Printable ASCII as is, anything else as `\xNN` (the kernel's `%pE`).
fn write_text(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    b.iter().try_for_each(|&c| {
        if c.is_ascii_graphic() || c == b' ' {
            write!(f, "{}", char::from(c))
        } else {
            write!(f, "\\x{c:02x}")
        }
    })
}

impl fmt::Display for LuName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.designator() {
            Designator::Naa(b) => {
                f.write_str("naa.")?;
                write_hex(f, b)
            }
            Designator::Eui64(b) => {
                f.write_str("eui.")?;
                write_hex(f, b)
            }
            Designator::T10VendorId(b) => {
                f.write_str("t10.")?;
                write_text(f, b)
            }
            d => write_text(f, d.scsi_name().unwrap_or_default()),
        }
    }
}

impl fmt::Debug for LuName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LuName(\"{self}\")")
    }
}

/// What one path says about itself: the logical unit it reaches and, for
/// ALUA, the target port it goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathIdentity {
    /// The logical unit (the multipath device).
    pub lu: LuName,
    /// RELATIVE TARGET PORT IDENTIFIER of the port that answered.
    pub relative_target_port: Option<u16>,
    /// TARGET PORT GROUP of the port that answered.
    pub target_port_group: Option<u16>,
    /// TPGS from standard INQUIRY: whether there is ALUA, and which kind.
    pub tpgs: Tpgs,
}

impl PathIdentity {
    /// From parsed standard INQUIRY data and VPD page 83h read through the
    /// path.
    pub fn new(inquiry: &InquiryRepr, vpd: &DeviceIdRepr<'_>) -> Result<Self, IdentityError> {
        if !inquiry.peripheral.is_connected() {
            return Err(IdentityError::NotConnected {
                qualifier: inquiry.peripheral.qualifier,
            });
        }
        Ok(PathIdentity {
            lu: LuName::from_device_id(vpd).ok_or(IdentityError::NoLuDesignator)?,
            relative_target_port: vpd.relative_target_port(),
            target_port_group: vpd.target_port_group(),
            tpgs: inquiry.tpgs,
        })
    }

    /// From the bytes of standard INQUIRY data and of VPD page 83h.
    pub fn from_bytes(inquiry: &[u8], vpd83: &[u8]) -> Result<Self, IdentityError> {
        let inquiry = InquiryRepr::parse_bytes(inquiry).map_err(|error| IdentityError::Wire {
            page: "standard INQUIRY data",
            error,
        })?;
        let vpd = DeviceIdRepr::parse_bytes(vpd83).map_err(|error| IdentityError::Wire {
            page: "VPD page 83h",
            error,
        })?;
        Self::new(&inquiry, &vpd)
    }

    /// Whether the logical unit reports access states (TPGS not 00b).
    pub const fn alua(&self) -> bool {
        !matches!(self.tpgs, Tpgs::NotSupported)
    }

    /// Whether SET TARGET PORT GROUPS may be sent (TPGS 10b or 11b).
    pub const fn explicit_alua(&self) -> bool {
        self.tpgs.explicit()
    }

    /// The core group of the path: its target port group with ALUA,
    /// [`DEFAULT_GROUP`] without. A target port group designator on a
    /// logical unit without ALUA is ignored, as scsi_dh_alua ignores it.
    pub fn group(&self) -> Result<GroupId, IdentityError> {
        if !self.alua() {
            return Ok(DEFAULT_GROUP);
        }
        self.target_port_group
            .map(|tpg| GroupId(u32::from(tpg)))
            .ok_or(IdentityError::MissingTargetPortGroup)
    }
}

/// The core's [`PathSpec`] for a path over `nexus`.
///
/// With ALUA the group is the target port group and `access` (from an RTPG
/// read during discovery, if any) is passed on; without one the core starts
/// the group optimized until the first REPORT TARGET PORT GROUPS says
/// otherwise. Without ALUA the path goes into [`DEFAULT_GROUP`], always
/// active/optimized, whatever `access` says.
pub fn path_spec(
    identity: &PathIdentity,
    nexus: NexusId,
    access: Option<GroupAccess>,
) -> Result<PathSpec, IdentityError> {
    let spec = PathSpec::new(identity.group()?, nexus);
    Ok(match (identity.alua(), access) {
        (false, _) => spec.with_access(GroupAccess::new(AccessState::Optimized)),
        (true, Some(a)) => spec.with_access(a),
        (true, None) => spec,
    })
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
