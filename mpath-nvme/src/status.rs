//! Completion queue entry status (NVMe Base 2.0 "Completion Queue
//! Entry": Dword 3 and its Status Field).
//!
//! CQE Dword 3 is `Status (31:17) | Phase Tag (16) | Command Identifier
//! (15:0)`. [`Status`] holds the 15-bit Status Field shifted down by 17, the
//! form Linux (`nvme_req(req)->status`) and libnvme (`enum nvme_status_field`)
//! use, so values and masks compare one to one with theirs:
//!
//! | bits  | field | meaning                                            |
//! |-------|-------|----------------------------------------------------|
//! | 7:0   | SC    | Status Code, meaning depends on SCT                |
//! | 10:8  | SCT   | Status Code Type                                   |
//! | 12:11 | CRD   | Command Retry Delay: selects CRDT1..3, 0 = none    |
//! | 13    | M     | More: the Error Information log page has more      |
//! | 14    | DNR   | Do Not Retry                                       |

use crate::field::bits;

/// A Status Code Type (SCT) value (NVMe Base 2.0 "Status Code Type
/// Values").
pub mod sct {
    /// Generic Command Status.
    pub const GENERIC: u8 = 0x0;
    /// Command Specific Status.
    pub const COMMAND_SPECIFIC: u8 = 0x1;
    /// Media and Data Integrity Errors.
    pub const MEDIA: u8 = 0x2;
    /// Path Related Status (added with ANA in NVMe 1.4).
    pub const PATH: u8 = 0x3;
    /// Vendor Specific.
    pub const VENDOR_SPECIFIC: u8 = 0x7;
}

/// A status code qualified by its type: the (SCT, SC) pair without the CRD,
/// More and DNR flags. The same SC value means different things under
/// different SCTs (81h is "capacity exceeded" under generic and "unrecovered
/// read error" under media), so codes are only ever compared as pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode {
    /// Status Code Type (3 bits).
    pub sct: u8,
    /// Status Code.
    pub sc: u8,
}

macro_rules! status_codes {
    ($( $(#[$doc:meta])* $name:ident = ($sct:expr, $sc:expr); )*) => {
        impl StatusCode {
            $( $(#[$doc])* pub const $name: StatusCode = StatusCode { sct: $sct, sc: $sc }; )*
            /// Every named code with its constant's name, for logs and tests.
            pub const NAMED: &'static [(StatusCode, &'static str)] = &[
                $( (StatusCode::$name, stringify!($name)), )*
            ];
        }
    };
}

// Values from NVMe Base 2.0 "Generic Command Status", "Command Specific
// Status", "Media and Data Integrity Errors" and "Path Related Status"; NVM
// Command Set 1.0 for the NVM-specific ones. Only the codes multipath treats specially or
// logs by name are listed; the classifier handles every other value.
status_codes! {
    /// Successful Completion (generic 00h).
    SUCCESS = (sct::GENERIC, 0x00);
    /// Invalid Command Opcode (generic 01h).
    INVALID_OPCODE = (sct::GENERIC, 0x01);
    /// Invalid Field in Command (generic 02h).
    INVALID_FIELD = (sct::GENERIC, 0x02);
    /// Data Transfer Error (generic 04h).
    DATA_TRANSFER_ERROR = (sct::GENERIC, 0x04);
    /// Commands Aborted due to Power Loss Notification (generic 05h).
    POWER_LOSS_ABORT = (sct::GENERIC, 0x05);
    /// Internal Error (generic 06h).
    INTERNAL_ERROR = (sct::GENERIC, 0x06);
    /// Command Abort Requested (generic 07h).
    ABORT_REQUESTED = (sct::GENERIC, 0x07);
    /// Command Aborted due to SQ Deletion (generic 08h).
    ABORT_SQ_DELETION = (sct::GENERIC, 0x08);
    /// Invalid Namespace or Format (generic 0Bh).
    INVALID_NAMESPACE = (sct::GENERIC, 0x0B);
    /// Command Aborted due to Preempt and Abort (generic 1Bh): another host's
    /// Reservation Acquire with preempt-and-abort killed this command.
    ABORTED_PREEMPT = (sct::GENERIC, 0x1B);
    /// Namespace is Write Protected (generic 20h).
    NAMESPACE_WRITE_PROTECTED = (sct::GENERIC, 0x20);
    /// Command Interrupted (generic 21h): retry is expected to succeed.
    COMMAND_INTERRUPTED = (sct::GENERIC, 0x21);
    /// Transient Transport Error (generic 22h).
    TRANSIENT_TRANSPORT_ERROR = (sct::GENERIC, 0x22);
    /// LBA Out of Range (generic, NVM command set 80h).
    LBA_OUT_OF_RANGE = (sct::GENERIC, 0x80);
    /// Capacity Exceeded (generic, NVM command set 81h).
    CAPACITY_EXCEEDED = (sct::GENERIC, 0x81);
    /// Namespace Not Ready (generic, NVM command set 82h).
    NAMESPACE_NOT_READY = (sct::GENERIC, 0x82);
    /// Reservation Conflict (generic, NVM command set 83h).
    RESERVATION_CONFLICT = (sct::GENERIC, 0x83);
    /// Format In Progress (generic, NVM command set 84h).
    FORMAT_IN_PROGRESS = (sct::GENERIC, 0x84);
    /// Invalid Log Page (command specific 09h).
    INVALID_LOG_PAGE = (sct::COMMAND_SPECIFIC, 0x09);
    /// ANA Group Identifier Invalid (command specific 24h).
    ANA_GROUP_ID_INVALID = (sct::COMMAND_SPECIFIC, 0x24);
    /// Conflicting Attributes (command specific, NVM 80h).
    CONFLICTING_ATTRIBUTES = (sct::COMMAND_SPECIFIC, 0x80);
    /// Invalid Protection Information (command specific, NVM 81h).
    INVALID_PROTECTION_INFO = (sct::COMMAND_SPECIFIC, 0x81);
    /// Attempted Write to Read Only Range (command specific, NVM 82h).
    WRITE_TO_READ_ONLY_RANGE = (sct::COMMAND_SPECIFIC, 0x82);
    /// Write Fault (media 80h).
    WRITE_FAULT = (sct::MEDIA, 0x80);
    /// Unrecovered Read Error (media 81h).
    UNRECOVERED_READ_ERROR = (sct::MEDIA, 0x81);
    /// End-to-end Guard Check Error (media 82h).
    GUARD_CHECK_ERROR = (sct::MEDIA, 0x82);
    /// End-to-end Application Tag Check Error (media 83h).
    APP_TAG_CHECK_ERROR = (sct::MEDIA, 0x83);
    /// End-to-end Reference Tag Check Error (media 84h).
    REF_TAG_CHECK_ERROR = (sct::MEDIA, 0x84);
    /// Compare Failure (media 85h).
    COMPARE_FAILURE = (sct::MEDIA, 0x85);
    /// Access Denied (media 86h).
    ACCESS_DENIED = (sct::MEDIA, 0x86);
    /// Deallocated or Unwritten Logical Block (media 87h).
    UNWRITTEN_BLOCK = (sct::MEDIA, 0x87);
    /// Internal Path Error (path 00h).
    INTERNAL_PATH_ERROR = (sct::PATH, 0x00);
    /// Asymmetric Access Persistent Loss (path 01h).
    ANA_PERSISTENT_LOSS = (sct::PATH, 0x01);
    /// Asymmetric Access Inaccessible (path 02h).
    ANA_INACCESSIBLE = (sct::PATH, 0x02);
    /// Asymmetric Access Transition (path 03h).
    ANA_TRANSITION = (sct::PATH, 0x03);
    /// Controller Pathing Error (path 60h; 60h-6Fh are controller detected).
    CONTROLLER_PATHING_ERROR = (sct::PATH, 0x60);
    /// Host Pathing Error (path 70h; 70h-7Fh are host detected, never sent by
    /// a controller: the host driver makes them up).
    HOST_PATHING_ERROR = (sct::PATH, 0x70);
    /// Command Aborted By Host (path 71h).
    ABORTED_BY_HOST = (sct::PATH, 0x71);
}

impl StatusCode {
    /// A code from its type and value; `sct` is truncated to its 3 bits.
    pub const fn new(sct: u8, sc: u8) -> Self {
        StatusCode { sct: sct & 0x7, sc }
    }

    /// The constant's name if this code is one of [`StatusCode::NAMED`].
    pub fn name(self) -> Option<&'static str> {
        StatusCode::NAMED
            .iter()
            .find(|(code, _)| *code == self)
            .map(|(_, name)| *name)
    }

    /// Whether the code is Path Related Status (SCT 3h), the test Linux's
    /// `nvme_is_path_error()` makes: every SCT 3h code, vendor specific ones
    /// included, means another path may succeed.
    pub const fn is_path_related(self) -> bool {
        self.sct == sct::PATH
    }

    /// Whether the code is one of the three ANA codes after which Linux
    /// (`nvme_is_ana_error()`, `nvme_failover_req()`) re-reads the ANA log.
    pub const fn is_ana(self) -> bool {
        self.sct == sct::PATH && matches!(self.sc, 0x01..=0x03)
    }
}

/// The 15-bit Status Field of a completion (see the module documentation for
/// the layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status(u16);

const SCT_SHIFT: u32 = 8;
const CRD_SHIFT: u32 = 11;
const MORE: u16 = 1 << 13;
const DNR: u16 = 1 << 14;
const FIELD_MASK: u16 = 0x7FFF;

impl Status {
    /// Successful completion, no flags.
    pub const SUCCESS: Status = Status(0);
    /// Mask of the CRD field, as libnvme's `NVME_SC_CRD`.
    pub const CRD_MASK: u16 = 0x1800;
    /// The More bit, as libnvme's `NVME_SC_MORE`.
    pub const MORE: u16 = MORE;
    /// The Do Not Retry bit, as libnvme's `NVME_SC_DNR`.
    pub const DNR: u16 = DNR;

    /// From the 15-bit Status Field; bit 15 (outside the field) is dropped.
    pub const fn from_field(field: u16) -> Self {
        Status(field & FIELD_MASK)
    }

    /// From a type and code with CRD, More and DNR clear.
    pub fn new(code: StatusCode) -> Self {
        let sct = u16::from(code.sct & 0x7);
        Status(sct.checked_shl(SCT_SHIFT).unwrap_or(0) | u16::from(code.sc))
    }

    /// From CQE Dword 3 (Status Field in bits 31:17).
    pub fn from_cqe_dw3(dw3: u32) -> Self {
        let field = bits(dw3, 17, u32::from(FIELD_MASK));
        Status::from_field(u16::try_from(field).unwrap_or(0))
    }

    /// The 15-bit Status Field.
    pub const fn field(self) -> u16 {
        self.0
    }

    /// Status Code.
    pub fn sc(self) -> u8 {
        self.0.to_le_bytes()[0]
    }

    /// Status Code Type.
    pub fn sct(self) -> u8 {
        self.0.to_le_bytes()[1] & 0x7
    }

    /// The (SCT, SC) pair.
    pub fn code(self) -> StatusCode {
        StatusCode::new(self.sct(), self.sc())
    }

    /// Command Retry Delay: 0 = retry at once, 1..=3 select CRDT1..CRDT3 of
    /// Identify Controller.
    pub fn crd(self) -> u8 {
        let crd = self.0.checked_shr(CRD_SHIFT).unwrap_or(0) & 0x3;
        crd.to_le_bytes()[0]
    }

    /// More: further information is in the Error Information log page.
    pub const fn more(self) -> bool {
        self.0 & MORE != 0
    }

    /// Do Not Retry: the same command is expected to fail again if
    /// resubmitted.
    pub const fn dnr(self) -> bool {
        self.0 & DNR != 0
    }

    /// Whether this is successful completion. Flags are ignored: Linux tests
    /// `status & NVME_SCT_SC_MASK` when mapping to a block status.
    pub fn is_success(self) -> bool {
        self.code() == StatusCode::SUCCESS
    }

    /// This status with CRD set to `crd & 3`.
    pub fn with_crd(self, crd: u8) -> Self {
        let crd = u16::from(crd & 0x3).checked_shl(CRD_SHIFT).unwrap_or(0);
        Status((self.0 & !Self::CRD_MASK) | crd)
    }

    /// This status with More set or cleared.
    pub const fn with_more(self, more: bool) -> Self {
        Status(if more { self.0 | MORE } else { self.0 & !MORE })
    }

    /// This status with DNR set or cleared.
    pub const fn with_dnr(self, dnr: bool) -> Self {
        Status(if dnr { self.0 | DNR } else { self.0 & !DNR })
    }
}

impl From<StatusCode> for Status {
    fn from(code: StatusCode) -> Self {
        Status::new(code)
    }
}

/// Completion Queue Entry Dword 3 (NVMe Base 2.0 "Common Completion
/// Queue Entry Layout").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CqeDw3 {
    /// Command Identifier.
    pub cid: u16,
    /// Phase Tag: flips on every pass through the completion queue.
    pub phase: bool,
    /// Status Field.
    pub status: Status,
}

impl CqeDw3 {
    /// Decodes the dword; every value is valid.
    pub fn parse(dw3: u32) -> Self {
        CqeDw3 {
            cid: u16::try_from(bits(dw3, 0, 0xFFFF)).unwrap_or(0),
            phase: bits(dw3, 16, 1) != 0,
            status: Status::from_cqe_dw3(dw3),
        }
    }

    /// Encodes the dword.
    pub fn emit(&self) -> u32 {
        let status = u32::from(self.status.field()).checked_shl(17).unwrap_or(0);
        status | (u32::from(self.phase) << 16) | u32::from(self.cid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_layout_matches_linux_masks() {
        // Linux: NVME_SCT_MASK 0x700, NVME_STATUS_CRD 0x1800, MORE 0x2000,
        // DNR 0x4000 over the status shifted right by one from CQE DW3[31:16].
        let s = Status::new(StatusCode::ANA_TRANSITION)
            .with_crd(2)
            .with_dnr(true);
        assert_eq!(s.field(), 0x0303 | 0x1000 | 0x4000);
        assert_eq!(s.sct(), sct::PATH);
        assert_eq!(s.sc(), 0x03);
        assert_eq!(s.crd(), 2);
        assert!(s.dnr() && !s.more());
        assert!(s.with_more(true).more());
        assert!(!s.with_dnr(false).dnr());
        assert_eq!(s.with_crd(0).crd(), 0);
    }

    #[test]
    fn cqe_dw3_places_status_above_phase() {
        let table = [
            // (dw3, cid, phase, status field)
            (0x0000_0000, 0, false, 0x0000),
            (0x0001_1234, 0x1234, true, 0x0000),
            (0x8000_0000, 0, false, 0x4000),
            (0x0106_0000 | 0x0001_0007, 7, true, 0x0083),
        ];
        for (dw3, cid, phase, field) in table {
            let d = CqeDw3::parse(dw3);
            assert_eq!(
                (d.cid, d.phase, d.status.field()),
                (cid, phase, field),
                "{dw3:#x}"
            );
            assert_eq!(d.emit(), dw3);
        }
        assert_eq!(
            CqeDw3::parse(0x0106_0000).status.code(),
            StatusCode::RESERVATION_CONFLICT
        );
    }

    #[test]
    fn codes_classify_as_linux_does() {
        assert!(StatusCode::HOST_PATHING_ERROR.is_path_related());
        assert!(StatusCode::new(3, 0xC0).is_path_related());
        assert!(!StatusCode::RESERVATION_CONFLICT.is_path_related());
        for code in [
            StatusCode::ANA_PERSISTENT_LOSS,
            StatusCode::ANA_INACCESSIBLE,
            StatusCode::ANA_TRANSITION,
        ] {
            assert!(code.is_ana());
        }
        assert!(!StatusCode::INTERNAL_PATH_ERROR.is_ana());
        assert!(!StatusCode::new(sct::GENERIC, 0x02).is_ana());
        assert_eq!(
            StatusCode::new(2, 0x81).name(),
            Some("UNRECOVERED_READ_ERROR")
        );
        assert_eq!(StatusCode::new(0, 0x81).name(), Some("CAPACITY_EXCEEDED"));
        assert_eq!(StatusCode::new(5, 0x81).name(), None);
    }

    #[test]
    fn named_codes_are_unique() {
        for (i, (a, _)) in StatusCode::NAMED.iter().enumerate() {
            for (b, _) in &StatusCode::NAMED[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    proptest! {
        #[test]
        fn dw3_round_trips(dw3 in any::<u32>()) {
            prop_assert_eq!(CqeDw3::parse(dw3).emit(), dw3);
        }

        #[test]
        fn fields_round_trip(sct in 0u8..8, sc in any::<u8>(), crd in 0u8..4, more: bool, dnr: bool) {
            let s = Status::new(StatusCode::new(sct, sc)).with_crd(crd).with_more(more).with_dnr(dnr);
            prop_assert_eq!((s.sct(), s.sc(), s.crd(), s.more(), s.dnr()), (sct, sc, crd, more, dnr));
            prop_assert_eq!(Status::from_field(s.field()), s);
        }
    }
}
