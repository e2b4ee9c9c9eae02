//! Where a REGISTER AND MOVE sends the reservation (rule 12): the
//! destination's TransportID and relative target port, kept in the
//! coordinator while the command runs.
//!
//! Why here and not in the command: [`PrCommand`](super::PrCommand),
//! [`PrAction`](super::PrAction) and [`PrOp`](super::PrOp) are `Copy` and
//! travel inside the device's `Action`, which every I/O dispatch and
//! failure passes through; a 256-byte buffer in them would make every one
//! of those moves copy it. One buffer per coordinator costs that once. The
//! core knows no byte layout: the bytes are the embedder's, checked here
//! only for length, and the transport adapter parses them when it builds
//! the command.

use super::{PrError, TRANSPORT_ID_MAX};

/// A destination TransportID (opaque bytes) and its relative target port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Destination {
    bytes: [u8; TRANSPORT_ID_MAX],
    /// Bytes in use; 0 when no move is under way.
    len: usize,
    relative_target_port: u16,
}

impl Destination {
    /// No destination.
    pub(super) const NONE: Destination = Destination {
        bytes: [0; TRANSPORT_ID_MAX],
        len: 0,
        relative_target_port: 0,
    };

    /// Check `transport_id`'s length: 1 to [`TRANSPORT_ID_MAX`] bytes.
    pub(super) fn check(transport_id: &[u8]) -> Result<(), PrError> {
        if transport_id.is_empty() || transport_id.len() > TRANSPORT_ID_MAX {
            return Err(PrError::BadTransportId);
        }
        Ok(())
    }

    /// Keep `transport_id` and `relative_target_port`; a TransportID
    /// [`check`](Self::check) refuses leaves the destination as it was.
    pub(super) fn set(
        &mut self,
        transport_id: &[u8],
        relative_target_port: u16,
    ) -> Result<(), PrError> {
        Self::check(transport_id)?;
        // `check` bounds the length; zip copies without a length check
        // that could panic (the object-code gate would find one).
        for (to, from) in self.bytes.iter_mut().zip(transport_id) {
            *to = *from;
        }
        self.len = transport_id.len();
        self.relative_target_port = relative_target_port;
        Ok(())
    }

    /// The TransportID and relative target port, if one is kept.
    pub(super) fn get(&self) -> Option<(&[u8], u16)> {
        let bytes = self.bytes.get(..self.len).filter(|b| !b.is_empty())?;
        Some((bytes, self.relative_target_port))
    }

    /// Forget the destination (the move ended).
    pub(super) fn clear(&mut self) {
        *self = Self::NONE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_from_one_to_the_maximum_are_kept_others_refused() {
        let mut d = Destination::NONE;
        assert_eq!(d.get(), None);
        assert_eq!(d.set(&[], 1), Err(PrError::BadTransportId));
        assert_eq!(
            d.set(&[7; TRANSPORT_ID_MAX + 1], 1),
            Err(PrError::BadTransportId)
        );
        assert_eq!(d, Destination::NONE, "a refusal keeps nothing");
        d.set(&[5], 3).unwrap();
        assert_eq!(d.get(), Some((&[5u8][..], 3)));
        let long = [9u8; TRANSPORT_ID_MAX];
        d.set(&long, 0x1234).unwrap();
        assert_eq!(d.get(), Some((&long[..], 0x1234)));
        // A shorter one replaces it whole.
        d.set(&[1, 2], 2).unwrap();
        assert_eq!(d.get(), Some((&[1u8, 2][..], 2)));
        assert_eq!(d.set(&[], 4), Err(PrError::BadTransportId));
        assert_eq!(d.get(), Some((&[1u8, 2][..], 2)), "kept after a refusal");
        d.clear();
        assert_eq!(d.get(), None);
        assert_eq!(d, Destination::NONE);
    }
}
