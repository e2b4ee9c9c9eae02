//! Initiator ports and I_T nexuses (SAM-5 4.6).
//!
//! An initiator port is known by its TransportID (SPC-4 7.6.4), kept as the
//! canonical bytes mpath-scsi emits, so two spellings of one port (padding,
//! a TransportID read from PERSISTENT RESERVE OUT parameter data) compare
//! equal. Ports are interned: the rest of the target names them by
//! [`InitiatorId`], which keeps [`Nexus`] `Copy` and the I/O path free of
//! allocation. A TransportID that names an iSCSI initiator device (format
//! 00b, no ISID) is a different port from one with an ISID: this target
//! does not expand device names to their ports.

use std::collections::BTreeMap;

use mpath_scsi::{TransportId, WireError, WireItem};

use super::unit_attention::UnitAttentions;

/// An interned initiator port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InitiatorId(pub u32);

/// An I_T nexus: an initiator port and a target port of this logical unit
/// (by RELATIVE TARGET PORT IDENTIFIER).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nexus {
    /// The initiator port.
    pub initiator: InitiatorId,
    /// The target port's relative target port identifier.
    pub port: u16,
}

impl Nexus {
    /// The nexus of `initiator` through target port `port`.
    pub const fn new(initiator: InitiatorId, port: u16) -> Self {
        Nexus { initiator, port }
    }
}

/// The initiator ports this logical unit has heard of.
#[derive(Clone, Debug, Default)]
pub(crate) struct Initiators {
    /// Canonical TransportID bytes, indexed by `InitiatorId`.
    ports: Vec<Vec<u8>>,
}

fn canonical(id: &TransportId<'_>) -> Result<Vec<u8>, WireError> {
    let mut b = vec![0u8; id.buffer_len()];
    id.emit(&mut b)?;
    Ok(b)
}

impl Initiators {
    /// The id of `id`, interning it if new.
    pub(crate) fn intern(&mut self, id: &TransportId<'_>) -> Result<InitiatorId, WireError> {
        let bytes = canonical(id)?;
        if let Some(found) = self.find_bytes(&bytes) {
            return Ok(found);
        }
        let n = u32::try_from(self.ports.len())
            .map_err(|_| WireError::new(mpath_scsi::WireErrorKind::OutOfRange, "initiator", 0))?;
        self.ports.push(bytes);
        Ok(InitiatorId(n))
    }

    fn find_bytes(&self, bytes: &[u8]) -> Option<InitiatorId> {
        self.ports
            .iter()
            .position(|p| p == bytes)
            .and_then(|i| u32::try_from(i).ok())
            .map(InitiatorId)
    }

    /// The port's TransportID.
    pub(crate) fn transport_id(&self, id: InitiatorId) -> Option<TransportId<'_>> {
        let bytes = self.ports.get(usize::try_from(id.0).ok()?)?;
        TransportId::decode(bytes).ok().map(|(t, _)| t)
    }
}

/// What the target keeps per I_T nexus.
#[derive(Clone, Debug, Default)]
pub(crate) struct NexusState {
    /// Whether the nexus exists now (logged in and not dropped).
    pub(crate) logged_in: bool,
    /// Whether it has existed since the last power on: a new login is then
    /// an I_T nexus loss, not a power on, to the initiator.
    pub(crate) seen: bool,
    pub(crate) unit_attentions: UnitAttentions,
}

/// Every nexus the target keeps state for: logged in, once logged in, or
/// named by a registration (whose unit attentions wait for its login).
pub(crate) type Nexuses = BTreeMap<Nexus, NexusState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_port_two_spellings_is_one_initiator() {
        let mut t = Initiators::default();
        let a = TransportId::Iscsi {
            name: b"iqn.2024-01.sim:host1",
            isid: Some(b"23d000001"),
        };
        let b = TransportId::Iscsi {
            name: b"iqn.2024-01.sim:host1",
            isid: None,
        };
        let ia = t.intern(&a).unwrap();
        let ib = t.intern(&b).unwrap();
        assert_ne!(ia, ib);
        // The same port read back from wire bytes (padded differently is
        // impossible after canonical emission; this is the round trip).
        let bytes = canonical(&a).unwrap();
        let (again, _) = TransportId::decode(&bytes).unwrap();
        assert_eq!(t.intern(&again).unwrap(), ia);
        assert_eq!(t.transport_id(ia), Some(a));
        assert_eq!(t.transport_id(InitiatorId(9)), None);
    }
}
