//! Responses to core events: TEST UNIT READY probes, REPORT TARGET PORT
//! GROUPS, SET TARGET PORT GROUPS (see the call order in [`crate::adapter`]).

use mpath_core::{
    ActivationResult, Completion, DeviceInputs, GroupId, Instant, Notices, Outcome, PathErrorKind,
    PathId, ProbeResult,
};

use super::{finish_refresh, AdapterError, ScsiAdapter, RTPG_MAX_ALLOC_LEN};
use crate::cdb::RtpgFormat;
use crate::classify::{classify, rule_for, status, Condition, Rule, TransportStatus};
use crate::command::{CommandKind, ScsiCommand, ScsiResponse};
use crate::error::{WireError, WireErrorKind};
use crate::inquiry::Tpgs;
use crate::rtpg::{Rtpg, RtpgRepr};
use crate::sense::Sense;
use crate::sense_key::SenseKey;
use crate::wire::usize_from;

/// INVALID FIELD IN CDB: what a target that does not know the extended
/// RTPG header answers (scsi_dh_alua then clears the format bit).
const ASC_INVALID_FIELD_IN_CDB: u8 = 0x24;

/// What a REPORT TARGET PORT GROUPS response did.
// A whole command by value: its parameter-list buffer is sized for REGISTER
// AND MOVE (`DATA_OUT_MAX`). no_std has no Box to put it behind, and the
// value is made once per response on the control path, never per I/O.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpgApplied {
    /// The states were given to the core and its refresh finished.
    Applied {
        /// Groups of this device whose state was reported to the core.
        groups: usize,
    },
    /// The response cannot be used as it is; send this command instead (a
    /// larger allocation length, or the length-only header). The core's
    /// refresh stays in flight until that command's response is applied.
    Reissue(ScsiCommand),
}

/// What [`ScsiAdapter::apply`] did with a response.
// Holds an `RtpgApplied`: see there.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// A probe result was given to the core.
    Probe(ProbeResult),
    /// A unit attention answered the TEST UNIT READY: its notices went to
    /// the core, and this TEST UNIT READY is to be sent now in its place.
    /// A unit attention is reported once (SAM-5 5.14), so the next answer
    /// is the path's state; multipathd's TUR checker asks again at once
    /// too, rather than leave a path that just logged in failed for a
    /// whole probe interval. After [`PROBE_ATTENTION_RETRIES`] in a row the
    /// core is told to retry after its delay instead.
    ProbeAgain(ScsiCommand),
    /// An access-state read.
    Refresh(RtpgApplied),
    /// An activation result was given to the core.
    Activation(ActivationResult),
}

/// Unit attentions in a row a TEST UNIT READY is sent again for at once
/// (multipathd's TUR checker: three).
pub const PROBE_ATTENTION_RETRIES: u8 = 3;

/// The notices a probe passes on. A TUR on a standby or transitioning port
/// answers 02/04/0B or 02/04/0A every time; those say the state is what the
/// probe result already tells the core, so only unit attentions (a change
/// the target announces once) and transport notices are passed on.
fn probe_notices(rule: &Rule) -> Notices {
    match rule.when {
        Condition::Sense(m) if m.key == SenseKey::UnitAttention => rule.notices,
        _ => rule.notices.difference(Notices::ACCESS_STATE_CHANGED),
    }
}

/// How scsi_dh_alua's `alua_stpg()` takes a SET TARGET PORT GROUPS result:
/// transient conditions (busy, unit attention, a transition under way, a
/// lost command) are retried; a refusal (ILLEGAL REQUEST: no explicit ALUA
/// or a group that cannot be set; an unavailable port; a reservation
/// conflict) is final.
fn activation_result(outcome: Outcome) -> ActivationResult {
    match outcome {
        Outcome::Success => ActivationResult::Done,
        Outcome::Retry { .. }
        | Outcome::PathError(
            PathErrorKind::Transitioning
            | PathErrorKind::Transport
            | PathErrorKind::Timeout
            | PathErrorKind::Aborted
            | PathErrorKind::PathingError,
        ) => ActivationResult::Retry,
        _ => ActivationResult::Failed,
    }
}

fn no_data(command: CommandKind, resp: &ScsiResponse<'_>) -> Result<(), AdapterError> {
    if resp.data_in.is_empty() {
        Ok(())
    } else {
        Err(AdapterError::UnexpectedData {
            command,
            len: resp.data_in.len(),
            allowed: 0,
        })
    }
}

/// Whether the response refuses the extended RTPG header.
fn refuses_extended_header(resp: &ScsiResponse<'_>) -> bool {
    resp.transport == TransportStatus::Ok
        && resp.status == status::CHECK_CONDITION
        && resp.sense.map(Sense::new_truncated).is_some_and(|s| {
            s.is_ok_and(|s| {
                !s.is_deferred()
                    && s.key() == SenseKey::IllegalRequest
                    && s.asc() == ASC_INVALID_FIELD_IN_CDB
            })
        })
}

/// Whether `data`, a GOOD answer that [`RtpgRepr::parse_bytes`] refused
/// with `e`, is an extended-header answer cut short by its sender: FORMAT
/// TYPE says extended, every byte RETURN DATA LENGTH counts arrived, and
/// the descriptor list still runs past them.
///
/// This is LIO's answer (Linux `drivers/target/target_core_alua.c`,
/// `target_emulate_report_target_port_groups()`, seen on 6.1 and 6.6): with
/// the extended header its RETURN DATA LENGTH counts the descriptors but
/// not the header's 4 extra bytes (SPC-4 6.37 has it n - 3, the whole
/// header included), and it sends RETURN DATA LENGTH + 4 bytes, so the
/// last 4 bytes of the descriptor list, the last RELATIVE TARGET PORT
/// IDENTIFIER, never arrive. Its length-only answer is right, so the
/// adapter's policy is to ask again with the length-only header and not
/// ask that path for the extended one again; the parser stays strict (the
/// answer is still malformed and `rtpg.rs` says so). A transfer shorter
/// than RETURN DATA LENGTH is not this (the header format is not to
/// blame) and stays an error, as does a cut length-only answer: there is
/// no further format to fall back to.
fn extended_answer_cut_short(data: &[u8], e: WireError) -> bool {
    type View<'a> = Rtpg<&'a [u8]>;
    e.kind == WireErrorKind::Truncated
        && View::required_len(data).is_ok_and(|n| n <= data.len())
        && View::claimed_format(data) == Ok(RtpgFormat::Extended)
}

/// A checked RTPG response ready to apply, or the command to send instead.
enum RtpgRead<'a> {
    States(RtpgRepr<'a>),
    Grow(u32),
    LengthOnly,
}

impl<const P: usize> ScsiAdapter<P> {
    /// Applies the response to `cmd`, a command [`map_action`](Self::map_action)
    /// built (or an [`RtpgApplied::Reissue`]), routed by its
    /// [`CommandKind`]:
    ///
    /// - TEST UNIT READY: the probe result as multipathd's TUR checker
    ///   reads it (GOOD and RESERVATION CONFLICT up, 02/04/0B ghost,
    ///   02/04/0A pending, unit attention and busy retry, the rest down),
    ///   then any unit attention's notices (06/2A/06 makes the core re-read
    ///   access states). Data-in on a TUR makes no sense: the response is
    ///   not applied, and the core's probe timeout takes over.
    /// - REPORT TARGET PORT GROUPS: see [`RtpgApplied`] and below.
    /// - SET TARGET PORT GROUPS: GOOD is [`ActivationResult::Done`] (the
    ///   core then re-reads the states, as scsi_dh_alua follows STPG with
    ///   RTPG); busy, unit attention, a transition under way or a lost
    ///   command is [`ActivationResult::Retry`]; a refusal (ILLEGAL
    ///   REQUEST, an unavailable port, a reservation conflict) is
    ///   [`ActivationResult::Failed`]. Unit attentions also reach the core
    ///   as notices. Data-in on an STPG makes no sense: the core is told to
    ///   retry and the error returned.
    ///
    /// A response on a path the adapter does not know is
    /// [`AdapterError::UnknownPath`], with nothing changed. Responses to
    /// PERSISTENT RESERVE commands belong to the reservation coordinator:
    /// they are refused with [`AdapterError::WrongEntry`]; use
    /// [`ScsiAdapter::pr_reply`].
    ///
    /// REPORT TARGET PORT GROUPS in detail: on GOOD with well-formed data,
    /// for every target port group of this device in the response, the
    /// IMPLICIT TRANSITION TIME (if non-zero) becomes the group's
    /// transition timeout and its state goes to the core; then the core's
    /// refresh through the path succeeds. Groups no path of the device is
    /// in are skipped, so a target with many groups cannot fill the core's
    /// group table. When the target has more data than was allocated, or
    /// refuses the extended header (ILLEGAL REQUEST, INVALID FIELD IN CDB),
    /// or answers it cut short as LIO does (RETURN DATA LENGTH leaving out
    /// the extended header's last 4 bytes, so the descriptor list is
    /// truncated), the adapter remembers the fix and returns
    /// [`RtpgApplied::Reissue`]. A larger allocation length is learnt for
    /// every path of the device, the length-only header only for the path
    /// that answered (see
    /// [`AdapterPath::extended_header`](super::AdapterPath::extended_header)).
    /// Any other failure (a bad status, malformed data, a response missing
    /// the path's own group) changes no access state, fails the core's
    /// refresh (it retries after its delay), and is returned as an error
    /// naming the field and offset where the data went wrong. Unit
    /// attentions on the command also reach the core as notices.
    pub fn apply(
        &mut self,
        dev: &mut dyn DeviceInputs,
        cmd: &ScsiCommand,
        resp: &ScsiResponse<'_>,
        now: Instant,
    ) -> Result<Applied, AdapterError> {
        self.path(cmd.path)?;
        dev.check_path(cmd.path)?;
        match cmd.kind {
            CommandKind::Probe => self.probe(dev, cmd.path, resp, now),
            CommandKind::RefreshAccessState => {
                self.rtpg(dev, cmd.path, resp, now).map(Applied::Refresh)
            }
            CommandKind::ActivateGroup { group } => self
                .stpg(dev, group, cmd.path, resp, now)
                .map(Applied::Activation),
            CommandKind::Reservation { .. } => Err(AdapterError::WrongEntry { command: cmd.kind }),
        }
    }

    /// Classifies how an I/O sent on `path` ended, for the device's
    /// `handle_completion` (see [`classify`] for the table).
    pub fn classify_completion(
        &self,
        path: PathId,
        resp: &ScsiResponse<'_>,
    ) -> Result<Completion, AdapterError> {
        self.path(path)?;
        Ok(classify(resp.transport, resp.status, resp.sense))
    }

    /// A TEST UNIT READY result on `path` (see [`apply`](Self::apply)).
    fn probe(
        &mut self,
        dev: &mut dyn DeviceInputs,
        path: PathId,
        resp: &ScsiResponse<'_>,
        now: Instant,
    ) -> Result<Applied, AdapterError> {
        no_data(CommandKind::Probe, resp)?;
        let rule = rule_for(resp.transport, resp.status, resp.sense);
        let attention =
            matches!(rule.when, Condition::Sense(m) if m.key == SenseKey::UnitAttention);
        let rec = self.path_mut(path)?;
        let again = attention && rec.probe_attentions < PROBE_ATTENTION_RETRIES;
        rec.probe_attentions = if again {
            rec.probe_attentions.saturating_add(1)
        } else {
            0
        };
        let notices = probe_notices(rule);
        if again {
            if !notices.is_empty() {
                dev.handle_notices(path, notices, now)?;
            }
            return Ok(Applied::ProbeAgain(self.test_unit_ready(path)?));
        }
        dev.handle_probe(path, rule.probe, now)?;
        if !notices.is_empty() {
            dev.handle_notices(path, notices, now)?;
        }
        Ok(Applied::Probe(rule.probe))
    }

    /// A REPORT TARGET PORT GROUPS response read through `via` (see
    /// [`apply`](Self::apply)).
    fn rtpg(
        &mut self,
        dev: &mut dyn DeviceInputs,
        via: PathId,
        resp: &ScsiResponse<'_>,
        now: Instant,
    ) -> Result<RtpgApplied, AdapterError> {
        let read = self.read_rtpg(via, resp);
        let repr = match read {
            Ok(RtpgRead::States(repr)) => repr,
            Ok(RtpgRead::Grow(len)) => {
                // One logical unit answers the same through every port.
                for p in self.paths.iter_mut() {
                    p.rtpg_alloc_len = p.rtpg_alloc_len.max(len);
                }
                return Ok(RtpgApplied::Reissue(self.report_target_port_groups(via)?));
            }
            Ok(RtpgRead::LengthOnly) => {
                self.path_mut(via)?.extended_header = false;
                return Ok(RtpgApplied::Reissue(self.report_target_port_groups(via)?));
            }
            Err(e) => {
                let notices = probe_notices(rule_for(resp.transport, resp.status, resp.sense));
                if !notices.is_empty() {
                    dev.handle_notices(via, notices, now)?;
                }
                finish_refresh(dev, via, false, now)?;
                return Err(e);
            }
        };
        self.follow_moved_ports(dev, &repr, now);
        let timeout = repr.implicit_transition_timeout();
        let mut groups = 0usize;
        for d in repr.groups.iter() {
            if !self.has_target_port_group(d.group) {
                continue;
            }
            let group = GroupId(u32::from(d.group));
            if let Some(t) = timeout {
                dev.set_transition_timeout(group, t)?;
            }
            dev.handle_access_state(group, d.access(), now)?;
            groups = groups.saturating_add(1);
        }
        finish_refresh(dev, via, true, now)?;
        Ok(RtpgApplied::Applied { groups })
    }

    /// A path whose target port the response lists under another target
    /// port group than the one VPD 0x83 gave (the target was reconfigured)
    /// moves to that group in the core, with the group's reported state.
    /// A move the core refuses (its group table is full) leaves the path
    /// where it was; the next RTPG tries again.
    fn follow_moved_ports(
        &mut self,
        dev: &mut dyn DeviceInputs,
        repr: &RtpgRepr<'_>,
        now: Instant,
    ) {
        for p in self.paths.iter_mut() {
            let (Some(port), Some(known)) = (p.relative_target_port, p.target_port_group) else {
                continue;
            };
            let Some(d) = repr.group_of_port(port) else {
                continue;
            };
            if d.group == known || p.tpgs == Tpgs::NotSupported {
                continue;
            }
            let group = GroupId(u32::from(d.group));
            if dev
                .move_path_to_group(p.id, group, Some(d.access()), now)
                .is_ok()
            {
                p.target_port_group = Some(d.group);
                p.group = group;
            }
        }
    }

    /// Everything about an RTPG response that can go wrong, checked before
    /// the core hears any of it.
    fn read_rtpg<'a>(
        &self,
        via: PathId,
        resp: &ScsiResponse<'a>,
    ) -> Result<RtpgRead<'a>, AdapterError> {
        let p = self.path(via)?;
        if p.tpgs == Tpgs::NotSupported {
            return Err(AdapterError::NotAlua(via));
        }
        let command = CommandKind::RefreshAccessState;
        let allowed = usize_from(p.rtpg_alloc_len);
        let data = resp.data_in;
        if data.len() > allowed {
            return Err(AdapterError::UnexpectedData {
                command,
                len: data.len(),
                allowed,
            });
        }
        if p.extended_header && refuses_extended_header(resp) {
            return Ok(RtpgRead::LengthOnly);
        }
        let outcome = rule_for(resp.transport, resp.status, resp.sense).outcome;
        if outcome != Outcome::Success {
            return Err(AdapterError::CommandFailed { command, outcome });
        }
        let required = Rtpg::<&[u8]>::required_len(data)?;
        if required > data.len() && required > allowed {
            // The target had more to say than we let it (SPC-4 4.3.5.6):
            // ask again with room for all of it, as scsi_dh_alua does.
            return match u32::try_from(required) {
                Ok(len) if len <= RTPG_MAX_ALLOC_LEN => Ok(RtpgRead::Grow(len)),
                _ => Err(AdapterError::RtpgTooLarge { required }),
            };
        }
        let repr = match RtpgRepr::parse_bytes(data) {
            Ok(repr) => repr,
            // Only while the path still asks for the extended header: the
            // length-only reissue clears it, so this falls back at most
            // once per path and never loops.
            Err(e) if p.extended_header && extended_answer_cut_short(data, e) => {
                return Ok(RtpgRead::LengthOnly);
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(tpg) = p.target_port_group {
            if repr.group(tpg).is_none() {
                return Err(AdapterError::GroupNotInRtpg { tpg });
            }
        }
        Ok(RtpgRead::States(repr))
    }

    /// A SET TARGET PORT GROUPS result for `group`, sent through `via`
    /// (see [`apply`](Self::apply)).
    fn stpg(
        &self,
        dev: &mut dyn DeviceInputs,
        group: GroupId,
        via: PathId,
        resp: &ScsiResponse<'_>,
        now: Instant,
    ) -> Result<ActivationResult, AdapterError> {
        if let Err(e) = no_data(CommandKind::ActivateGroup { group }, resp) {
            dev.handle_activation_result(group, ActivationResult::Retry, now)?;
            return Err(e);
        }
        let rule = rule_for(resp.transport, resp.status, resp.sense);
        let result = activation_result(rule.outcome);
        let notices = probe_notices(rule);
        if !notices.is_empty() {
            dev.handle_notices(via, notices, now)?;
        }
        dev.handle_activation_result(group, result, now)?;
        Ok(result)
    }
}
