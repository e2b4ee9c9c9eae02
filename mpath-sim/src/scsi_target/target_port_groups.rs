//! Target ports and target port groups (SPC-4 5.15): the topology, each
//! group's asymmetric access state, and the two commands that read and set
//! them, REPORT TARGET PORT GROUPS (6.37) and SET TARGET PORT GROUPS (6.45).
//!
//! Groups and ports are reported in the order they were added. SET TARGET
//! PORT GROUPS changes exactly the groups it names (an array that keeps
//! one active/optimized group would also move the others; the engine does
//! that with [`LogicalUnit::set_group_state`](super::LogicalUnit::set_group_state)
//! if it wants to), and a descriptor that names the state a group is
//! already in changes nothing.

use mpath_scsi::cdb::RtpgFormat;
use mpath_scsi::{
    AluaState, List, RelativePortId, RtpgRepr, StpgRepr, SupportedStates, TpgDescriptor, TpgStatus,
    WireError,
};

use super::response::Failure;

/// One target port group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetPortGroup {
    /// TARGET PORT GROUP identifier.
    pub id: u16,
    /// ASYMMETRIC ACCESS STATE.
    pub state: AluaState,
    /// PREF: the preferred group among those in the same state.
    pub preferred: bool,
    /// STATUS CODE: why the state last changed.
    pub status: TpgStatus,
    /// The relative target port identifiers of its ports.
    pub ports: Vec<RelativePortId>,
}

/// Why a topology change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// Relative target port identifier 0 is reserved (SPC-4 7.8.6.7).
    #[error("relative target port identifier 0 is reserved")]
    ReservedPortId,
    /// The port already exists.
    #[error("target port {0} exists")]
    DuplicatePort(u16),
    /// The group already exists.
    #[error("target port group {0} exists")]
    DuplicateGroup(u16),
    /// No such group.
    #[error("no target port group {0}")]
    UnknownGroup(u16),
    /// No such port.
    #[error("no target port {0}")]
    UnknownPort(u16),
    /// A group descriptor counts its ports in one byte.
    #[error("target port group {0} is full (255 ports)")]
    GroupFull(u16),
    /// The state is not one this target puts a group in (logical block
    /// dependent), or not in the supported states.
    #[error("state {0:?} not supported")]
    UnsupportedState(AluaState),
}

/// The ports and groups of one logical unit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Topology {
    pub(crate) groups: Vec<TargetPortGroup>,
    /// Relative target port identifier and its group's index.
    ports: Vec<(u16, usize)>,
    /// Serialisation scratch for REPORT TARGET PORT GROUPS.
    scratch: Vec<u8>,
}

impl Topology {
    pub(crate) fn add_group(&mut self, id: u16, state: AluaState) -> Result<(), TopologyError> {
        if state == AluaState::LbaDependent {
            return Err(TopologyError::UnsupportedState(state));
        }
        if self.groups.iter().any(|g| g.id == id) {
            return Err(TopologyError::DuplicateGroup(id));
        }
        self.groups.push(TargetPortGroup {
            id,
            state,
            preferred: false,
            status: TpgStatus::None,
            ports: Vec::new(),
        });
        Ok(())
    }

    pub(crate) fn add_port(&mut self, rtpi: u16, group: u16) -> Result<(), TopologyError> {
        if rtpi == 0 {
            return Err(TopologyError::ReservedPortId);
        }
        if self.ports.iter().any(|&(p, _)| p == rtpi) {
            return Err(TopologyError::DuplicatePort(rtpi));
        }
        let gi = self
            .groups
            .iter()
            .position(|g| g.id == group)
            .ok_or(TopologyError::UnknownGroup(group))?;
        let g = self
            .groups
            .get_mut(gi)
            .ok_or(TopologyError::UnknownGroup(group))?;
        if g.ports.len() >= usize::from(u8::MAX) {
            return Err(TopologyError::GroupFull(group));
        }
        g.ports.push(RelativePortId(rtpi));
        self.ports.push((rtpi, gi));
        Ok(())
    }

    /// Move target port `rtpi` into `group`; whether it moved (already
    /// there: no).
    pub(crate) fn move_port(&mut self, rtpi: u16, group: u16) -> Result<bool, TopologyError> {
        let k = self
            .ports
            .iter()
            .position(|&(p, _)| p == rtpi)
            .ok_or(TopologyError::UnknownPort(rtpi))?;
        let to = self
            .groups
            .iter()
            .position(|g| g.id == group)
            .ok_or(TopologyError::UnknownGroup(group))?;
        let from = self.ports[k].1;
        if from == to {
            return Ok(false);
        }
        if self.groups[to].ports.len() >= usize::from(u8::MAX) {
            return Err(TopologyError::GroupFull(group));
        }
        self.groups[from]
            .ports
            .retain(|&p| p != RelativePortId(rtpi));
        self.groups[to].ports.push(RelativePortId(rtpi));
        self.ports[k].1 = to;
        Ok(true)
    }

    /// The group of target port `rtpi`.
    pub(crate) fn group_of(&self, rtpi: u16) -> Option<&TargetPortGroup> {
        let &(_, gi) = self.ports.iter().find(|&&(p, _)| p == rtpi)?;
        self.groups.get(gi)
    }

    /// Every relative target port identifier, in the order added.
    pub(crate) fn port_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports.iter().map(|&(p, _)| p)
    }

    pub(crate) fn has_port(&self, rtpi: u16) -> bool {
        self.ports.iter().any(|&(p, _)| p == rtpi)
    }

    /// Move `group` to `state`; whether it changed.
    pub(crate) fn set_state(
        &mut self,
        group: u16,
        state: AluaState,
        status: TpgStatus,
    ) -> Result<bool, TopologyError> {
        if state == AluaState::LbaDependent {
            return Err(TopologyError::UnsupportedState(state));
        }
        let g = self
            .groups
            .iter_mut()
            .find(|g| g.id == group)
            .ok_or(TopologyError::UnknownGroup(group))?;
        if g.state == state {
            return Ok(false);
        }
        g.state = state;
        g.status = status;
        Ok(true)
    }

    pub(crate) fn set_preferred(&mut self, group: u16, pref: bool) -> Result<(), TopologyError> {
        let g = self
            .groups
            .iter_mut()
            .find(|g| g.id == group)
            .ok_or(TopologyError::UnknownGroup(group))?;
        g.preferred = pref;
        Ok(())
    }

    /// The REPORT TARGET PORT GROUPS parameter data, whole, in `format`.
    /// The length-only header has no IMPLICIT TRANSITION TIME field, so it
    /// is dropped there.
    pub(crate) fn report(
        &mut self,
        format: RtpgFormat,
        transition_time: u8,
        supported: SupportedStates,
    ) -> Result<&[u8], WireError> {
        let descriptors: Vec<TpgDescriptor<'_>> = self
            .groups
            .iter()
            .map(|g| TpgDescriptor {
                preferred: g.preferred,
                state: g.state,
                supported,
                group: g.id,
                status: g.status,
                vendor_specific: 0,
                ports: List::Items(&g.ports),
            })
            .collect();
        let repr = RtpgRepr {
            format,
            implicit_transition_time: match format {
                RtpgFormat::Extended => transition_time,
                RtpgFormat::LengthOnly => 0,
            },
            groups: List::Items(&descriptors),
        };
        self.scratch.clear();
        self.scratch.resize(repr.buffer_len(), 0);
        let n = repr.emit(&mut self.scratch)?;
        Ok(self.scratch.get(..n).unwrap_or(&[]))
    }

    /// Check a SET TARGET PORT GROUPS parameter list against this topology
    /// and `supported`, then apply it; returns the groups that changed.
    /// Nothing changes unless every descriptor is valid (SPC-4 6.45: the
    /// command either does all or is terminated).
    pub(crate) fn apply_stpg(
        &mut self,
        list: &[u8],
        supported: SupportedStates,
    ) -> Result<Vec<u16>, Failure> {
        // SPC-4 6.45: a PARAMETER LIST LENGTH of zero is not an error.
        if list.is_empty() {
            return Ok(Vec::new());
        }
        let repr = StpgRepr::parse_bytes(list).map_err(Failure::from_param_error)?;
        for (i, d) in repr.descriptors.iter().enumerate() {
            let at = i.saturating_mul(4).saturating_add(4);
            if !self.groups.iter().any(|g| g.id == d.group) {
                return Err(Failure::invalid_param(at.saturating_add(2), None));
            }
            if !supports(supported, d.state) {
                return Err(Failure::invalid_param(at, Some(3)));
            }
        }
        let mut changed = Vec::new();
        for d in repr.descriptors.iter() {
            if let Ok(true) =
                self.set_state(d.group, d.state, TpgStatus::AlteredBySetTargetPortGroups)
            {
                changed.push(d.group);
            }
        }
        Ok(changed)
    }
}

/// Whether the supported-state bits allow `state`.
pub(crate) fn supports(supported: SupportedStates, state: AluaState) -> bool {
    let bit = match state {
        AluaState::ActiveOptimized => SupportedStates::ACTIVE_OPTIMIZED,
        AluaState::ActiveNonOptimized => SupportedStates::ACTIVE_NON_OPTIMIZED,
        AluaState::Standby => SupportedStates::STANDBY,
        AluaState::Unavailable => SupportedStates::UNAVAILABLE,
        AluaState::LbaDependent => SupportedStates::LBA_DEPENDENT,
        AluaState::Offline => SupportedStates::OFFLINE,
        AluaState::Transitioning => SupportedStates::TRANSITIONING,
    };
    supported.contains(bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpath_scsi::StpgDescriptor;

    fn two_groups() -> Topology {
        let mut t = Topology::default();
        t.add_group(1, AluaState::ActiveOptimized).unwrap();
        t.add_group(2, AluaState::Standby).unwrap();
        t.add_port(1, 1).unwrap();
        t.add_port(2, 2).unwrap();
        t.add_port(3, 2).unwrap();
        t
    }

    #[test]
    fn topology_errors() {
        let mut t = two_groups();
        assert_eq!(t.add_port(0, 1), Err(TopologyError::ReservedPortId));
        assert_eq!(t.add_port(2, 1), Err(TopologyError::DuplicatePort(2)));
        assert_eq!(t.add_port(9, 9), Err(TopologyError::UnknownGroup(9)));
        assert_eq!(
            t.add_group(1, AluaState::Standby),
            Err(TopologyError::DuplicateGroup(1))
        );
        assert_eq!(
            t.set_state(1, AluaState::LbaDependent, TpgStatus::None),
            Err(TopologyError::UnsupportedState(AluaState::LbaDependent))
        );
        assert_eq!(t.group_of(3).map(|g| g.id), Some(2));
        assert_eq!(t.port_ids().collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn report_round_trips_through_the_host_parser() {
        let mut t = two_groups();
        let all = SupportedStates::all();
        for format in [RtpgFormat::LengthOnly, RtpgFormat::Extended] {
            let data = t.report(format, 7, all).unwrap().to_vec();
            let r = RtpgRepr::parse_bytes(&data).unwrap();
            assert_eq!(r.format, format);
            let want_time = if format == RtpgFormat::Extended { 7 } else { 0 };
            assert_eq!(r.implicit_transition_time, want_time);
            assert_eq!(
                r.group_of_port(3).map(|g| g.state),
                Some(AluaState::Standby)
            );
            assert_eq!(r.groups.len(), 2);
        }
    }

    #[test]
    fn stpg_is_all_or_nothing() {
        let mut t = two_groups();
        let all = SupportedStates::all();
        let mut list = [0u8; 12];
        let n = StpgRepr {
            descriptors: List::Items(&[
                StpgDescriptor {
                    state: AluaState::ActiveOptimized,
                    group: 2,
                },
                StpgDescriptor {
                    state: AluaState::Standby,
                    group: 7,
                },
            ]),
        }
        .emit(&mut list)
        .unwrap();
        assert_eq!(
            t.apply_stpg(&list[..n], all),
            Err(Failure::invalid_param(10, None))
        );
        assert_eq!(t.group_of(2).unwrap().state, AluaState::Standby);
        assert_eq!(t.apply_stpg(&list[..8], all), Ok(vec![2]));
        let g = t.group_of(2).unwrap();
        assert_eq!(
            (g.state, g.status),
            (
                AluaState::ActiveOptimized,
                TpgStatus::AlteredBySetTargetPortGroups
            )
        );
        // Again: no change.
        assert_eq!(t.apply_stpg(&list[..8], all), Ok(vec![]));
        assert_eq!(
            t.apply_stpg(&list[..8], SupportedStates::STANDBY),
            Err(Failure::invalid_param(4, Some(3)))
        );
        assert_eq!(t.apply_stpg(&[], all), Ok(vec![]));
    }
}
