//! An I_T nexus named the way READ FULL STATUS names registrations: the
//! initiator port's TransportID and the target port's RELATIVE TARGET PORT
//! IDENTIFIER (SPC-4 6.16.5).
//!
//! The reservation coordinator asks, when a path joins a registration that
//! already exists, whether that path's own nexus is registered with our
//! key; READ KEYS cannot say (it lists keys, not nexuses), READ FULL STATUS
//! can if the host knows its own name. An iSCSI host knows it (its
//! initiator name and the session's ISID), a Fibre Channel or SAS host its
//! port name; the relative target port comes from VPD page 83h through the
//! path ([`PathIdentity`](crate::PathIdentity)).

use crate::pr_in::FullStatus;
use crate::transport_id::TransportId;

/// One I_T nexus: an initiator port and a target port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItNexus<'a> {
    /// The initiator port, as a TransportID (iSCSI: FORMAT CODE 01b with
    /// the session's ISID).
    pub initiator: TransportId<'a>,
    /// RELATIVE TARGET PORT IDENTIFIER of the target port the path
    /// reaches.
    pub relative_target_port: u16,
}

impl ItNexus<'_> {
    /// Whether the READ FULL STATUS descriptor `d` is a registration of
    /// this nexus: `Some(true)` or `Some(false)`, or `None` when the
    /// descriptor cannot tell (an iSCSI TransportID of FORMAT CODE 00b
    /// names the initiator device, not which of its ports).
    ///
    /// A registration made with ALL_TG_PT covers every target port, so
    /// its RELATIVE TARGET PORT IDENTIFIER (meaningless then) is not
    /// compared. iSCSI names compare without regard to case (RFC 3722
    /// folds them to lower case; targets echo them as given) and ISIDs as
    /// numbers (targets differ in leading zeros and letter case).
    pub fn holds(&self, d: &FullStatus<'_>) -> Option<bool> {
        let port = d.all_tg_pt || d.relative_target_port == self.relative_target_port;
        let initiator = match (self.initiator, d.transport_id) {
            (
                TransportId::Iscsi {
                    name: mine,
                    isid: Some(_),
                },
                TransportId::Iscsi { name, isid },
            ) => {
                if !mine.eq_ignore_ascii_case(name) {
                    Some(false)
                } else if isid.is_none() {
                    None
                } else {
                    Some(self.initiator.isid_value() == d.transport_id.isid_value())
                }
            }
            (mine, theirs) => Some(mine == theirs),
        };
        match (initiator, port) {
            (Some(false), _) | (_, false) => Some(false),
            (Some(true), true) => Some(true),
            (None, true) => None,
        }
    }
}
