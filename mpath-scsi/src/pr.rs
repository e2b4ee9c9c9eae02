//! Persistent reservation vocabulary shared by the CDBs and parameter data
//! (SPC-4 5.13 and 6.16-6.17).

use crate::error::WireError;

/// PERSISTENT RESERVE IN service actions (SPC-4 6.16.1, table 155).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrInAction {
    /// READ KEYS: the registered reservation keys.
    ReadKeys = 0,
    /// READ RESERVATION: the current reservation, if any.
    ReadReservation = 1,
    /// REPORT CAPABILITIES.
    ReportCapabilities = 2,
    /// READ FULL STATUS: every registration with its I_T nexus.
    ReadFullStatus = 3,
}

impl PrInAction {
    /// From the 5-bit SERVICE ACTION field.
    pub fn from_code(code: u8, offset: usize) -> Result<Self, WireError> {
        Ok(match code {
            0 => PrInAction::ReadKeys,
            1 => PrInAction::ReadReservation,
            2 => PrInAction::ReportCapabilities,
            3 => PrInAction::ReadFullStatus,
            _ => return Err(WireError::reserved("SERVICE ACTION", offset)),
        })
    }
    /// The SERVICE ACTION code.
    pub const fn code(self) -> u8 {
        match self {
            PrInAction::ReadKeys => 0,
            PrInAction::ReadReservation => 1,
            PrInAction::ReportCapabilities => 2,
            PrInAction::ReadFullStatus => 3,
        }
    }
    /// The service action's name in sg3_utils' wording.
    pub const fn name(self) -> &'static str {
        match self {
            PrInAction::ReadKeys => "read keys",
            PrInAction::ReadReservation => "read reservation",
            PrInAction::ReportCapabilities => "report capabilities",
            PrInAction::ReadFullStatus => "read full status",
        }
    }
}

/// PERSISTENT RESERVE OUT service actions (SPC-4 6.17.2, table 170).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrOutAction {
    /// REGISTER: register, change or (with key 0) remove a registration.
    Register,
    /// RESERVE.
    Reserve,
    /// RELEASE.
    Release,
    /// CLEAR: remove every registration and the reservation.
    Clear,
    /// PREEMPT.
    Preempt,
    /// PREEMPT AND ABORT.
    PreemptAndAbort,
    /// REGISTER AND IGNORE EXISTING KEY: what a multipath stack uses to
    /// register a nexus whatever it held before.
    RegisterAndIgnoreExistingKey,
    /// REGISTER AND MOVE: register another I_T nexus and move the
    /// reservation to it.
    RegisterAndMove,
}

impl PrOutAction {
    /// Every action, in code order.
    pub const ALL: [PrOutAction; 8] = [
        PrOutAction::Register,
        PrOutAction::Reserve,
        PrOutAction::Release,
        PrOutAction::Clear,
        PrOutAction::Preempt,
        PrOutAction::PreemptAndAbort,
        PrOutAction::RegisterAndIgnoreExistingKey,
        PrOutAction::RegisterAndMove,
    ];

    /// From the 5-bit SERVICE ACTION field.
    pub fn from_code(code: u8, offset: usize) -> Result<Self, WireError> {
        Self::ALL
            .get(usize::from(code))
            .copied()
            .ok_or(WireError::reserved("SERVICE ACTION", offset))
    }
    /// The SERVICE ACTION code.
    pub const fn code(self) -> u8 {
        match self {
            PrOutAction::Register => 0,
            PrOutAction::Reserve => 1,
            PrOutAction::Release => 2,
            PrOutAction::Clear => 3,
            PrOutAction::Preempt => 4,
            PrOutAction::PreemptAndAbort => 5,
            PrOutAction::RegisterAndIgnoreExistingKey => 6,
            PrOutAction::RegisterAndMove => 7,
        }
    }
    /// Whether the action uses the SCOPE and TYPE fields (SPC-4 6.17.2:
    /// RESERVE, RELEASE, PREEMPT, PREEMPT AND ABORT, REGISTER AND MOVE).
    pub const fn uses_type(self) -> bool {
        matches!(
            self,
            PrOutAction::Reserve
                | PrOutAction::Release
                | PrOutAction::Preempt
                | PrOutAction::PreemptAndAbort
                | PrOutAction::RegisterAndMove
        )
    }
    /// The service action's name in sg3_utils' wording.
    pub const fn name(self) -> &'static str {
        match self {
            PrOutAction::Register => "register",
            PrOutAction::Reserve => "reserve",
            PrOutAction::Release => "release",
            PrOutAction::Clear => "clear",
            PrOutAction::Preempt => "preempt",
            PrOutAction::PreemptAndAbort => "preempt and abort",
            PrOutAction::RegisterAndIgnoreExistingKey => "register and ignore existing key",
            PrOutAction::RegisterAndMove => "register and move",
        }
    }
}

/// Persistent reservation TYPE (SPC-4 6.16.3.4, table 164). Codes 0h, 2h and
/// 4h are obsolete; 9h-Fh reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrType {
    /// 1h Write Exclusive.
    WriteExclusive,
    /// 3h Exclusive Access.
    ExclusiveAccess,
    /// 5h Write Exclusive - Registrants Only.
    WriteExclusiveRegistrantsOnly,
    /// 6h Exclusive Access - Registrants Only.
    ExclusiveAccessRegistrantsOnly,
    /// 7h Write Exclusive - All Registrants.
    WriteExclusiveAllRegistrants,
    /// 8h Exclusive Access - All Registrants.
    ExclusiveAccessAllRegistrants,
}

impl PrType {
    /// Every defined type.
    pub const ALL: [PrType; 6] = [
        PrType::WriteExclusive,
        PrType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants,
    ];

    /// From the 4-bit TYPE field.
    pub fn from_code(code: u8, offset: usize) -> Result<Self, WireError> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.code() == code)
            .ok_or(WireError::reserved("TYPE", offset))
    }

    /// The 4-bit TYPE code.
    pub const fn code(self) -> u8 {
        match self {
            PrType::WriteExclusive => 0x1,
            PrType::ExclusiveAccess => 0x3,
            PrType::WriteExclusiveRegistrantsOnly => 0x5,
            PrType::ExclusiveAccessRegistrantsOnly => 0x6,
            PrType::WriteExclusiveAllRegistrants => 0x7,
            PrType::ExclusiveAccessAllRegistrants => 0x8,
        }
    }

    /// Whether every registrant is a reservation holder (SPC-4 5.13.9: the
    /// all-registrants types), which changes who may release.
    pub const fn all_registrants(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveAllRegistrants | PrType::ExclusiveAccessAllRegistrants
        )
    }
}

/// The SCOPE/TYPE byte: SCOPE must be 0h LU_SCOPE (SPC-4 6.16.3.3: the other
/// scopes are obsolete), TYPE a defined type or, where `allow_none`, zero.
pub(crate) fn parse_scope_type(
    b: u8,
    offset: usize,
    allow_none: bool,
) -> Result<Option<PrType>, WireError> {
    if b & 0xF0 != 0 {
        return Err(WireError::reserved("SCOPE", offset));
    }
    match b & 0x0F {
        0 if allow_none => Ok(None),
        t => PrType::from_code(t, offset).map(Some),
    }
}

/// The SCOPE/TYPE byte for `t` (LU_SCOPE).
pub(crate) fn scope_type_byte(t: Option<PrType>) -> u8 {
    t.map_or(0, PrType::code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reserved_codes_are_errors() {
        for a in PrOutAction::ALL {
            assert_eq!(PrOutAction::from_code(a.code(), 1), Ok(a));
        }
        assert_eq!(
            PrOutAction::from_code(8, 1),
            Err(WireError::reserved("SERVICE ACTION", 1))
        );
        for code in 0..4 {
            assert_eq!(PrInAction::from_code(code, 1).unwrap().code(), code);
        }
        assert!(PrInAction::from_code(4, 1).is_err());
        for t in PrType::ALL {
            assert_eq!(PrType::from_code(t.code(), 2), Ok(t));
        }
        for bad in [0u8, 2, 4, 9, 0xF] {
            assert_eq!(
                PrType::from_code(bad, 2),
                Err(WireError::reserved("TYPE", 2))
            );
        }
        assert_eq!(parse_scope_type(0x00, 2, true), Ok(None));
        assert!(parse_scope_type(0x00, 2, false).is_err());
        assert_eq!(
            parse_scope_type(0x05, 2, false),
            Ok(Some(PrType::WriteExclusiveRegistrantsOnly))
        );
        assert_eq!(
            parse_scope_type(0x15, 2, false),
            Err(WireError::reserved("SCOPE", 2))
        );
        assert!(PrType::ExclusiveAccessAllRegistrants.all_registrants());
        assert!(!PrType::WriteExclusive.all_registrants());
    }
}
