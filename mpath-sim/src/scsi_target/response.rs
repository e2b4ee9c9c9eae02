//! What the device server answers: SAM status, sense data, how much data-in
//! it transferred, and the residual; and the internal [`Failure`] a command
//! handler returns before it is turned into sense bytes.
//!
//! Sense data is built as an [`SenseRepr`] and emitted with mpath-scsi's own
//! emitter into a fixed buffer in the response (no allocation), in the
//! format the logical unit was configured with
//! ([`LuConfig::sense_format`](super::LuConfig::sense_format), fixed by
//! default as Linux LIO answers with D_SENSE clear). REQUEST SENSE picks the
//! format from its DESC bit instead.

use mpath_scsi::classify::status;
use mpath_scsi::{ScsiResponse, SenseFormat, SenseKey, SenseKeySpecific, SenseRepr, WireError};
use mpath_scsi::{TransportStatus, WireErrorKind};

/// Room for the sense data this target emits: 18 bytes of fixed format, or
/// 8 + 8 of descriptor format with a sense-key specific descriptor.
pub const SENSE_MAX: usize = 32;

/// SAM-5 status codes this device server returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 00h GOOD.
    Good,
    /// 02h CHECK CONDITION: the sense data says why.
    CheckCondition,
    /// 18h RESERVATION CONFLICT (SPC-4 5.13.1).
    ReservationConflict,
}

impl Status {
    /// The status byte.
    pub const fn code(self) -> u8 {
        match self {
            Status::Good => status::GOOD,
            Status::CheckCondition => status::CHECK_CONDITION,
            Status::ReservationConflict => status::RESERVATION_CONFLICT,
        }
    }
}

/// The residual, against the data-in buffer the caller gave (the
/// initiator's expected data transfer length, as iSCSI counts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Residual {
    /// The device server sent exactly what the buffer holds.
    Exact,
    /// The device server sent this many bytes fewer than the buffer holds.
    Underflow(usize),
    /// The device server had this many bytes more than the buffer holds;
    /// they were not transferred.
    Overflow(usize),
}

impl Residual {
    fn of(wanted: usize, room: usize) -> Self {
        match wanted.cmp(&room) {
            core::cmp::Ordering::Equal => Residual::Exact,
            core::cmp::Ordering::Less => Residual::Underflow(room.saturating_sub(wanted)),
            core::cmp::Ordering::Greater => Residual::Overflow(wanted.saturating_sub(room)),
        }
    }
}

/// Why a command never reached the device server: the engine treats it as
/// a transport failure (no status, no sense).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NotDelivered {
    /// The target port's group is offline (SPC-4 5.15.2.6: an offline
    /// port is not able to receive commands).
    #[error("target port {0} is offline")]
    PortOffline(u16),
    /// No such target port on this logical unit.
    #[error("no target port {0}")]
    UnknownPort(u16),
    /// The I_T nexus is not logged in.
    #[error("I_T nexus not logged in")]
    NexusNotLoggedIn,
}

/// The device server's answer to one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: Status,
    sense: [u8; SENSE_MAX],
    sense_len: u8,
    /// Bytes written at the front of the data-in buffer.
    pub data_in_len: usize,
    /// The residual against the data-in buffer's length.
    pub residual: Residual,
}

impl Response {
    /// GOOD, no data: the residual is the whole data-in buffer.
    pub(crate) fn good(data_in_room: usize) -> Self {
        Self::good_data(0, data_in_room)
    }

    /// GOOD after `transferred` bytes of the `wanted` (ALLOCATION LENGTH
    /// already applied) went into a buffer of `room` bytes.
    pub(crate) fn good_data(wanted: usize, room: usize) -> Self {
        Response {
            status: Status::Good,
            sense: [0; SENSE_MAX],
            sense_len: 0,
            data_in_len: wanted.min(room),
            residual: Residual::of(wanted, room),
        }
    }

    /// The response for a failed command.
    pub(crate) fn failed(f: Failure, format: SenseFormat, room: usize) -> Self {
        match f {
            Failure::Conflict => Response {
                status: Status::ReservationConflict,
                ..Self::good(room)
            },
            Failure::Check(c) => {
                let mut r = Response {
                    status: Status::CheckCondition,
                    ..Self::good(room)
                };
                // Cannot fail: SENSE_MAX holds every layout `Check` makes
                // (no INFORMATION, no FRU); an empty sense would still be
                // a CHECK CONDITION the host classifies.
                if let Ok(n) = c.repr(format).emit(&mut r.sense) {
                    r.sense_len = u8::try_from(n).unwrap_or(0);
                }
                r
            }
        }
    }

    /// The sense data, for CHECK CONDITION.
    pub fn sense(&self) -> Option<&[u8]> {
        (self.sense_len != 0)
            .then(|| self.sense.get(..usize::from(self.sense_len)))
            .flatten()
    }

    /// The same answer as mpath-scsi's host side sees it, over the data-in
    /// buffer that was passed to the command.
    pub fn to_scsi<'a>(&'a self, data_in: &'a [u8]) -> ScsiResponse<'a> {
        ScsiResponse {
            transport: TransportStatus::Ok,
            status: self.status.code(),
            sense: self.sense(),
            data_in: data_in.get(..self.data_in_len).unwrap_or(data_in),
        }
    }
}

/// ADDITIONAL SENSE CODE / QUALIFIER pairs this device server uses (SPC-4
/// annex D).
pub mod asc {
    /// 04/0A LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION.
    pub const TRANSITIONING: (u8, u8) = (0x04, 0x0A);
    /// 04/0B LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
    pub const STANDBY: (u8, u8) = (0x04, 0x0B);
    /// 04/0C LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE.
    pub const UNAVAILABLE: (u8, u8) = (0x04, 0x0C);
    /// 0E/03 INVALID FIELD IN COMMAND INFORMATION UNIT: the data-out the
    /// transport delivered is shorter than the CDB says (LIO's answer to a
    /// write underflow).
    pub const INVALID_FIELD_IN_COMMAND_IU: (u8, u8) = (0x0E, 0x03);
    /// 1A/00 PARAMETER LIST LENGTH ERROR.
    pub const PARAMETER_LIST_LENGTH: (u8, u8) = (0x1A, 0x00);
    /// 20/00 INVALID COMMAND OPERATION CODE.
    pub const INVALID_OPCODE: (u8, u8) = (0x20, 0x00);
    /// 21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const LBA_OUT_OF_RANGE: (u8, u8) = (0x21, 0x00);
    /// 24/00 INVALID FIELD IN CDB.
    pub const INVALID_FIELD_IN_CDB: (u8, u8) = (0x24, 0x00);
    /// 26/00 INVALID FIELD IN PARAMETER LIST.
    pub const INVALID_FIELD_IN_PARAMETER_LIST: (u8, u8) = (0x26, 0x00);
    /// 26/04 INVALID RELEASE OF PERSISTENT RESERVATION.
    pub const INVALID_RELEASE: (u8, u8) = (0x26, 0x04);
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    pub const POWER_ON_RESET: (u8, u8) = (0x29, 0x00);
    /// 29/07 I_T NEXUS LOSS OCCURRED.
    pub const I_T_NEXUS_LOSS: (u8, u8) = (0x29, 0x07);
    /// 2A/03 RESERVATIONS PREEMPTED.
    pub const RESERVATIONS_PREEMPTED: (u8, u8) = (0x2A, 0x03);
    /// 2A/04 RESERVATIONS RELEASED.
    pub const RESERVATIONS_RELEASED: (u8, u8) = (0x2A, 0x04);
    /// 2A/05 REGISTRATIONS PREEMPTED.
    pub const REGISTRATIONS_PREEMPTED: (u8, u8) = (0x2A, 0x05);
    /// 2A/06 ASYMMETRIC ACCESS STATE CHANGED.
    pub const ASYMMETRIC_ACCESS_STATE_CHANGED: (u8, u8) = (0x2A, 0x06);
}

/// A CHECK CONDITION before it is bytes: key, code and where the error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Check {
    /// SENSE KEY.
    pub key: SenseKey,
    /// ADDITIONAL SENSE CODE and QUALIFIER.
    pub code: (u8, u8),
    /// The sense-key specific field (a field pointer for ILLEGAL REQUEST).
    pub sks: Option<SenseKeySpecific>,
}

impl Check {
    /// As sense data in `format`.
    pub fn repr(&self, format: SenseFormat) -> SenseRepr {
        SenseRepr {
            sks: self.sks,
            ..SenseRepr::new(format, self.key, self.code.0, self.code.1)
        }
    }
}

/// Why a command handler did not complete with GOOD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// CHECK CONDITION with this sense.
    Check(Check),
    /// RESERVATION CONFLICT.
    Conflict,
}

/// A FIELD POINTER value: byte offsets past 65535 point at the last
/// representable byte rather than wrapping.
fn field(byte: usize) -> u16 {
    u16::try_from(byte).unwrap_or(u16::MAX)
}

impl Failure {
    fn check(key: SenseKey, code: (u8, u8), sks: Option<SenseKeySpecific>) -> Self {
        Failure::Check(Check { key, code, sks })
    }

    /// ILLEGAL REQUEST without a field pointer.
    pub(crate) fn illegal(code: (u8, u8)) -> Self {
        Self::check(SenseKey::IllegalRequest, code, None)
    }

    /// NOT READY: the access state refuses the command (SPC-4 5.15.2).
    pub(crate) fn not_ready(code: (u8, u8)) -> Self {
        Self::check(SenseKey::NotReady, code, None)
    }

    /// UNIT ATTENTION `code`.
    pub(crate) fn unit_attention(code: (u8, u8)) -> Self {
        Self::check(SenseKey::UnitAttention, code, None)
    }

    /// INVALID FIELD IN CDB at `byte` (and `bit`, the field's most
    /// significant bit, when the field does not start at bit 7).
    pub(crate) fn invalid_cdb(byte: usize, bit: Option<u8>) -> Self {
        Self::pointer(asc::INVALID_FIELD_IN_CDB, true, byte, bit)
    }

    /// INVALID FIELD IN PARAMETER LIST at `byte` of the parameter list.
    pub(crate) fn invalid_param(byte: usize, bit: Option<u8>) -> Self {
        Self::pointer(asc::INVALID_FIELD_IN_PARAMETER_LIST, false, byte, bit)
    }

    /// ILLEGAL REQUEST `code` with a field pointer (SPC-4 4.5.2.4.2).
    pub(crate) fn pointer(code: (u8, u8), command: bool, byte: usize, bit: Option<u8>) -> Self {
        Self::check(
            SenseKey::IllegalRequest,
            code,
            Some(SenseKeySpecific::FieldPointer {
                command,
                bit,
                field: field(byte),
            }),
        )
    }

    /// The answer to a CDB mpath-scsi's parser refused: an unknown
    /// operation code is INVALID COMMAND OPERATION CODE, a CDB cut short
    /// points at its first missing byte, anything else points at the
    /// field the parser named.
    pub(crate) fn from_cdb_error(e: WireError) -> Self {
        if e.field == "OPERATION CODE" {
            return Self::pointer(asc::INVALID_OPCODE, true, 0, None);
        }
        Self::invalid_cdb(e.offset, cdb_bit(e.field))
    }

    /// The answer to a parameter list mpath-scsi's parser refused: a list
    /// whose length is wrong for its contents is PARAMETER LIST LENGTH
    /// ERROR (SPC-4 6.17.3, 6.45); a bad field points at it.
    pub(crate) fn from_param_error(e: WireError) -> Self {
        let length = e.field == "PARAMETER LIST LENGTH"
            || (e.kind == WireErrorKind::Truncated
                && e.field == "set target port group descriptor");
        if length {
            Self::illegal(asc::PARAMETER_LIST_LENGTH)
        } else {
            Self::invalid_param(e.offset, param_bit(e.field))
        }
    }
}

/// BIT POINTER for CDB fields that do not start at bit 7 (SPC-4 4.5.2.4.2
/// points at the field's most significant bit).
fn cdb_bit(field: &str) -> Option<u8> {
    match field {
        "SERVICE ACTION" => Some(4),
        "TYPE" => Some(3),
        "GROUP NUMBER" => Some(4),
        "RARC/obsolete" => Some(2),
        "EVPD" => Some(1),
        _ => None,
    }
}

/// BIT POINTER for parameter list fields that do not start at bit 7.
fn param_bit(field: &str) -> Option<u8> {
    match field {
        "ASYMMETRIC ACCESS STATE" => Some(3),
        "PROTOCOL IDENTIFIER" => Some(3),
        _ => None,
    }
}

/// Copy `data` (the whole response the device server has) into `data_in`,
/// cut to `alloc_len` (SPC-4 4.2.5.6: the device server stops at the
/// ALLOCATION LENGTH without error) and to the buffer.
pub(crate) fn send(data: &[u8], alloc_len: usize, data_in: &mut [u8]) -> Response {
    let wanted = data.len().min(alloc_len);
    let n = wanted.min(data_in.len());
    if let (Some(dst), Some(src)) = (data_in.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    Response::good_data(wanted, data_in.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residual_is_against_the_buffer() {
        let mut buf = [0u8; 8];
        let r = send(&[1, 2, 3, 4], 100, &mut buf);
        assert_eq!((r.data_in_len, r.residual), (4, Residual::Underflow(4)));
        assert_eq!(buf[..4], [1, 2, 3, 4]);
        let r = send(&[1; 20], 12, &mut buf);
        assert_eq!((r.data_in_len, r.residual), (8, Residual::Overflow(4)));
        let r = send(&[1; 20], 8, &mut buf);
        assert_eq!(r.residual, Residual::Exact);
        assert_eq!(r.sense(), None);
    }

    #[test]
    fn sense_is_emitted_in_the_asked_format_and_parses() {
        for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
            let r = Response::failed(Failure::invalid_cdb(2, Some(3)), format, 0);
            assert_eq!(r.status, Status::CheckCondition);
            let s = SenseRepr::parse_bytes(r.sense().unwrap()).unwrap();
            assert_eq!(s.format, format);
            assert_eq!((s.key, s.asc, s.ascq), (SenseKey::IllegalRequest, 0x24, 0));
            assert_eq!(
                s.sks,
                Some(SenseKeySpecific::FieldPointer {
                    command: true,
                    bit: Some(3),
                    field: 2
                })
            );
        }
        let r = Response::failed(Failure::Conflict, SenseFormat::Fixed, 4);
        assert_eq!(r.status.code(), 0x18);
        assert_eq!((r.sense(), r.residual), (None, Residual::Underflow(4)));
    }

    #[test]
    fn parser_errors_map_to_where_they_are() {
        let f = Failure::from_cdb_error(WireError::new(
            WireErrorKind::UnknownFormat,
            "OPERATION CODE",
            0,
        ));
        assert!(matches!(f, Failure::Check(c) if c.code == asc::INVALID_OPCODE));
        let f = Failure::from_param_error(WireError::new(
            WireErrorKind::LengthMismatch,
            "PARAMETER LIST LENGTH",
            24,
        ));
        assert!(matches!(f, Failure::Check(c) if c.code == asc::PARAMETER_LIST_LENGTH));
        let f = Failure::from_param_error(WireError::new(WireErrorKind::Reserved, "reserved", 5));
        assert!(matches!(
            f,
            Failure::Check(Check {
                sks: Some(SenseKeySpecific::FieldPointer {
                    command: false,
                    field: 5,
                    ..
                }),
                ..
            })
        ));
    }
}
