//! ALUA vocabulary shared by REPORT and SET TARGET PORT GROUPS (SPC-4 5.15,
//! 6.37, 6.45): asymmetric access state codes, supported-state bits and the
//! descriptor STATUS CODE.

use mpath_core::access::AccessState;

use crate::error::WireError;

/// ASYMMETRIC ACCESS STATE (SPC-4 6.37, table 166). Codes 5h-Dh are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluaState {
    /// 0h active/optimized.
    ActiveOptimized,
    /// 1h active/non-optimized.
    ActiveNonOptimized,
    /// 2h standby.
    Standby,
    /// 3h unavailable.
    Unavailable,
    /// 4h logical block dependent.
    LbaDependent,
    /// Eh offline.
    Offline,
    /// Fh transitioning.
    Transitioning,
}

impl AluaState {
    /// Every defined state.
    pub const ALL: [AluaState; 7] = [
        AluaState::ActiveOptimized,
        AluaState::ActiveNonOptimized,
        AluaState::Standby,
        AluaState::Unavailable,
        AluaState::LbaDependent,
        AluaState::Offline,
        AluaState::Transitioning,
    ];

    /// From the 4-bit field at byte `offset`; reserved codes are an error.
    pub fn from_code(code: u8, offset: usize) -> Result<Self, WireError> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.code() == code)
            .ok_or(WireError::reserved("ASYMMETRIC ACCESS STATE", offset))
    }

    /// The 4-bit code.
    pub const fn code(self) -> u8 {
        match self {
            AluaState::ActiveOptimized => 0x0,
            AluaState::ActiveNonOptimized => 0x1,
            AluaState::Standby => 0x2,
            AluaState::Unavailable => 0x3,
            AluaState::LbaDependent => 0x4,
            AluaState::Offline => 0xE,
            AluaState::Transitioning => 0xF,
        }
    }

    /// The core's name for this state.
    pub const fn access_state(self) -> AccessState {
        match self {
            AluaState::ActiveOptimized => AccessState::Optimized,
            AluaState::ActiveNonOptimized => AccessState::NonOptimized,
            AluaState::Standby => AccessState::Standby,
            AluaState::Unavailable => AccessState::Unavailable,
            AluaState::LbaDependent => AccessState::LbaDependent,
            AluaState::Offline => AccessState::Offline,
            AluaState::Transitioning => AccessState::Transitioning,
        }
    }

    /// The ALUA code for a core state, if ALUA has one (the ANA-only states
    /// have none).
    pub const fn from_access_state(s: AccessState) -> Option<Self> {
        Some(match s {
            AccessState::Optimized => AluaState::ActiveOptimized,
            AccessState::NonOptimized => AluaState::ActiveNonOptimized,
            AccessState::Standby => AluaState::Standby,
            AccessState::Unavailable => AluaState::Unavailable,
            AccessState::LbaDependent => AluaState::LbaDependent,
            AccessState::Offline => AluaState::Offline,
            AccessState::Transitioning => AluaState::Transitioning,
            _ => return None,
        })
    }

    /// Whether SET TARGET PORT GROUPS may request this state: SPC-4 6.45
    /// allows only active/optimized, active/non-optimized, standby and
    /// unavailable.
    pub const fn settable(self) -> bool {
        matches!(
            self,
            AluaState::ActiveOptimized
                | AluaState::ActiveNonOptimized
                | AluaState::Standby
                | AluaState::Unavailable
        )
    }
}

impl From<AluaState> for AccessState {
    fn from(s: AluaState) -> Self {
        s.access_state()
    }
}

bitflags::bitflags! {
    /// The supported-state bits of a target port group descriptor (SPC-4
    /// 6.37, byte 1): which states the group can be in. Bit 5 is reserved.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct SupportedStates: u8 {
        /// T_SUP: transitioning.
        const TRANSITIONING = 0x80;
        /// O_SUP: offline.
        const OFFLINE = 0x40;
        /// LBD_SUP: logical block dependent.
        const LBA_DEPENDENT = 0x10;
        /// U_SUP: unavailable.
        const UNAVAILABLE = 0x08;
        /// S_SUP: standby.
        const STANDBY = 0x04;
        /// AN_SUP: active/non-optimized.
        const ACTIVE_NON_OPTIMIZED = 0x02;
        /// AO_SUP: active/optimized.
        const ACTIVE_OPTIMIZED = 0x01;
    }
}

/// STATUS CODE of a target port group descriptor (SPC-4 6.37, table 167):
/// why the state last changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TpgStatus {
    /// 00h: no status available.
    None,
    /// 01h: altered by SET TARGET PORT GROUPS.
    AlteredBySetTargetPortGroups,
    /// 02h: altered by implicit asymmetric access behavior.
    AlteredByImplicitBehavior,
    /// A reserved code, kept so a newer target's data still parses (the
    /// field is informational; the state itself is validated strictly).
    Reserved(u8),
}

impl TpgStatus {
    /// From the STATUS CODE byte.
    pub const fn from_code(c: u8) -> Self {
        match c {
            0 => TpgStatus::None,
            1 => TpgStatus::AlteredBySetTargetPortGroups,
            2 => TpgStatus::AlteredByImplicitBehavior,
            other => TpgStatus::Reserved(other),
        }
    }
    /// The STATUS CODE byte.
    pub const fn code(self) -> u8 {
        match self {
            TpgStatus::None => 0,
            TpgStatus::AlteredBySetTargetPortGroups => 1,
            TpgStatus::AlteredByImplicitBehavior => 2,
            TpgStatus::Reserved(c) => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_map_to_core_states() {
        let table = [
            (0x0, AccessState::Optimized),
            (0x1, AccessState::NonOptimized),
            (0x2, AccessState::Standby),
            (0x3, AccessState::Unavailable),
            (0x4, AccessState::LbaDependent),
            (0xE, AccessState::Offline),
            (0xF, AccessState::Transitioning),
        ];
        for (code, core) in table {
            let s = AluaState::from_code(code, 4).unwrap();
            assert_eq!(s.code(), code);
            assert_eq!(AccessState::from(s), core);
            assert_eq!(AluaState::from_access_state(core), Some(s));
        }
        for reserved in 5..=0xD {
            assert_eq!(
                AluaState::from_code(reserved, 4),
                Err(WireError::reserved("ASYMMETRIC ACCESS STATE", 4))
            );
        }
        assert_eq!(AluaState::from_access_state(AccessState::Change), None);
        let settable: usize = AluaState::ALL.iter().filter(|s| s.settable()).count();
        assert_eq!(settable, 4);
    }

    #[test]
    fn status_codes_round_trip() {
        for c in 0..=255u8 {
            assert_eq!(TpgStatus::from_code(c).code(), c);
        }
        assert_eq!(
            TpgStatus::from_code(2),
            TpgStatus::AlteredByImplicitBehavior
        );
    }
}
