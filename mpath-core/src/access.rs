//! Asymmetric access states: SCSI ALUA (SPC-4 §5.15.2) and NVMe ANA (NVMe base
//! specification, Asymmetric Namespace Access) in one vocabulary.
//!
//! An access state belongs to a *group*: a SCSI target port group, or for NVMe
//! an ANA group as seen through one controller. The core treats [`GroupId`] as
//! opaque; the transport adapter decides what it keys. ALUA adapters use the
//! target port group identifier, so every I_T nexus through ports of one TPG
//! shares its state. NVMe adapters must give each (controller, ANAGRPID) pair its
//! own id, because ANA state is reported per controller: the same ANA group can
//! be optimized through one controller and inaccessible through another.

use core::fmt;

/// Opaque identifier of an access-state group (target port group or ANA group
/// through one controller). Chosen by the transport adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub u32);

/// The access state of a group, as the target reports it.
///
/// ALUA and ANA states with the same meaning share a variant; states that exist
/// in one protocol only keep their own name so logs read in the protocol's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessState {
    /// ALUA active/optimized (0h), ANA optimized (01h).
    Optimized,
    /// ALUA active/non-optimized (1h), ANA non-optimized (02h).
    NonOptimized,
    /// ALUA standby (2h): only a limited command set (TUR, INQUIRY, RTPG, PR...)
    /// is processed; an explicit activation (STPG) can make it active.
    Standby,
    /// ALUA unavailable (3h): the target port group cannot reach the logical unit.
    Unavailable,
    /// ALUA logical block dependent (4h): access depends on the LBA; usable,
    /// but not all LBAs at full speed.
    LbaDependent,
    /// ALUA offline (Eh): the target ports are offline; nothing is coming back
    /// without administrative action.
    Offline,
    /// ALUA transitioning (Fh): a change is in progress; commands get NOT READY,
    /// ASYMMETRIC ACCESS STATE TRANSITION (02/04/0A) until it ends or the
    /// transition timeout passes.
    Transitioning,
    /// ANA inaccessible (03h): temporarily unable to access the namespace.
    Inaccessible,
    /// ANA persistent loss (04h): access is lost for good through this controller.
    PersistentLoss,
    /// ANA change (0Fh): a transition is in progress; it must end within ANATT.
    Change,
}

/// How a group in a given access state may be used for I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessClass {
    /// Full speed I/O.
    Optimized,
    /// I/O works but is slower (or partly redirected inside the array).
    NonOptimized,
    /// No I/O now, but the state may become usable soon (transition in progress).
    Transitional,
    /// No I/O; an explicit activation could make it usable (ALUA standby).
    Activatable,
    /// No I/O and no way to make it usable from here.
    Unusable,
}

impl AccessState {
    /// The class that decides eligibility and tier.
    pub const fn class(self) -> AccessClass {
        match self {
            AccessState::Optimized => AccessClass::Optimized,
            // LBA dependent is usable (scsi_dh_alua lets I/O through in this
            // state); the target reports errors for the LBAs it cannot serve.
            AccessState::NonOptimized | AccessState::LbaDependent => AccessClass::NonOptimized,
            AccessState::Transitioning | AccessState::Change => AccessClass::Transitional,
            AccessState::Standby => AccessClass::Activatable,
            AccessState::Unavailable
            | AccessState::Offline
            | AccessState::Inaccessible
            | AccessState::PersistentLoss => AccessClass::Unusable,
        }
    }

    /// Whether I/O may be sent to a path in this state.
    pub const fn carries_io(self) -> bool {
        matches!(
            self.class(),
            AccessClass::Optimized | AccessClass::NonOptimized
        )
    }

    /// Whether a target port group (NVMe: a controller's ANA group) in this
    /// state processes reservation commands. SPC-4 5.15.2.4 lists
    /// PERSISTENT RESERVE IN and OUT among the commands of the active
    /// states, LBA dependent and standby (5.15.2.4.4), not of unavailable,
    /// transitioning or offline; NVMe aborts I/O commands, the reservation
    /// commands among them, with an Asymmetric Access status in
    /// inaccessible, persistent loss and change. A reservation command
    /// sent there fails as a path failure, the probe finds the path up,
    /// and the command would go again at once: the device keeps such a
    /// path out of the coordinator's reach until its state serves them.
    pub const fn serves_reservations(self) -> bool {
        matches!(
            self,
            AccessState::Optimized
                | AccessState::NonOptimized
                | AccessState::LbaDependent
                | AccessState::Standby
        )
    }

    /// Whether this state ends by itself within a deadline (ALUA transition
    /// timeout, NVMe ANATT).
    pub const fn is_transitional(self) -> bool {
        matches!(self.class(), AccessClass::Transitional)
    }

    /// The state a transitional state is taken to be once its deadline passed.
    ///
    /// ALUA: a target port group still transitioning after its transition
    /// timeout is treated as standby (so it can be activated explicitly or
    /// waited on). NVMe: a group still in change after ANATT is treated as
    /// inaccessible until a fresh ANA log page says otherwise.
    pub const fn after_transition_timeout(self) -> AccessState {
        match self {
            AccessState::Transitioning => AccessState::Standby,
            AccessState::Change => AccessState::Inaccessible,
            other => other,
        }
    }

    /// The protocol's own short name, as `multipath -ll` and `nvme list-subsys`
    /// print them.
    pub const fn name(self) -> &'static str {
        match self {
            AccessState::Optimized => "optimized",
            AccessState::NonOptimized => "non-optimized",
            AccessState::Standby => "standby",
            AccessState::Unavailable => "unavailable",
            AccessState::LbaDependent => "lba-dependent",
            AccessState::Offline => "offline",
            AccessState::Transitioning => "transitioning",
            AccessState::Inaccessible => "inaccessible",
            AccessState::PersistentLoss => "persistent-loss",
            AccessState::Change => "change",
        }
    }
}

impl fmt::Display for AccessState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A group's access state together with the ALUA preferred bit (PREF, SPC-4
/// REPORT TARGET PORT GROUPS descriptor byte 0 bit 7). NVMe has no preferred
/// bit; its adapters pass `false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GroupAccess {
    /// The reported state.
    pub state: AccessState,
    /// The target's preference for this group among groups in the same state.
    pub preferred: bool,
}

impl GroupAccess {
    /// A group in `state` without the preferred bit.
    pub const fn new(state: AccessState) -> Self {
        GroupAccess {
            state,
            preferred: false,
        }
    }
    /// A group in `state` with the preferred bit set.
    pub const fn preferred(state: AccessState) -> Self {
        GroupAccess {
            state,
            preferred: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_alua_and_ana_semantics() {
        use AccessClass as C;
        use AccessState as S;
        let table = [
            (S::Optimized, C::Optimized, true),
            (S::NonOptimized, C::NonOptimized, true),
            (S::LbaDependent, C::NonOptimized, true),
            (S::Standby, C::Activatable, false),
            (S::Unavailable, C::Unusable, false),
            (S::Offline, C::Unusable, false),
            (S::Transitioning, C::Transitional, false),
            (S::Inaccessible, C::Unusable, false),
            (S::PersistentLoss, C::Unusable, false),
            (S::Change, C::Transitional, false),
        ];
        for (state, class, io) in table {
            assert_eq!(state.class(), class, "{state}");
            assert_eq!(state.carries_io(), io, "{state}");
        }
    }

    #[test]
    fn transition_timeouts_degrade_per_protocol() {
        assert_eq!(
            AccessState::Transitioning.after_transition_timeout(),
            AccessState::Standby
        );
        assert_eq!(
            AccessState::Change.after_transition_timeout(),
            AccessState::Inaccessible
        );
        assert_eq!(
            AccessState::Optimized.after_transition_timeout(),
            AccessState::Optimized
        );
    }
}
