//! PERSISTENT RESERVE OUT parameter lists (SPC-4 6.17.3, 6.17.4): the basic
//! list every service action but REGISTER AND MOVE uses, and the REGISTER AND
//! MOVE list. The PARAMETER LIST LENGTH in the CDB is the list's
//! `buffer_len()`; parsing takes the whole parameter list and checks its
//! length against the lengths inside it.

use crate::error::WireError;
use crate::transport_id::TransportId;
use crate::wire::{
    get_be16, get_be32, get_be64, get_from, get_range, get_u8, len_u32, need, put, room,
    usize_from, write_at, zero, List, WireItem,
};

/// The basic list without TransportIDs (SPC-4 6.17.3: PARAMETER LIST
/// LENGTH 24 when SPEC_I_PT is zero).
pub const BASIC_LEN: usize = 24;
const TRANSPORT_IDS_AT: usize = 28;
const MOVE_HEADER: usize = 24;

/// The basic PERSISTENT RESERVE OUT parameter list (SPC-4 6.17.3, table 172).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrOutParams<'a> {
    /// RESERVATION KEY: the key this I_T nexus is registered with (0 when
    /// registering from scratch).
    pub key: u64,
    /// SERVICE ACTION RESERVATION KEY: the new key (REGISTER), or the key to
    /// preempt (PREEMPT).
    pub sa_key: u64,
    /// SPEC_I_PT: also register the initiator ports in `transport_ids`
    /// (REGISTER only).
    pub spec_i_pt: bool,
    /// ALL_TG_PT: register through every target port.
    pub all_tg_pt: bool,
    /// APTPL: persist through power loss.
    pub aptpl: bool,
    /// The TransportIDs of SPEC_I_PT; must be empty unless `spec_i_pt`.
    pub transport_ids: List<'a, TransportId<'a>>,
}

impl<'a> PrOutParams<'a> {
    /// The list for REGISTER / REGISTER AND IGNORE EXISTING KEY of `new_key`
    /// (with `old_key` 0 for the latter), RESERVE, RELEASE, PREEMPT.
    pub const fn new(key: u64, sa_key: u64) -> Self {
        PrOutParams {
            key,
            sa_key,
            spec_i_pt: false,
            all_tg_pt: false,
            aptpl: false,
            transport_ids: List::Items(&[]),
        }
    }

    /// Validate and parse a whole parameter list.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        need(b, BASIC_LEN, "PARAMETER LIST LENGTH", 0)?;
        let flags = get_u8(b, 20);
        let spec_i_pt = flags & 0x08 != 0;
        let transport_ids = if spec_i_pt {
            need(b, TRANSPORT_IDS_AT, "TRANSPORTID PARAMETER DATA LENGTH", 24)?;
            let len = usize_from(get_be32(b, 24));
            let end = len.saturating_add(TRANSPORT_IDS_AT);
            need(b, end, "TRANSPORTID PARAMETER DATA LENGTH", 24)?;
            if b.len() != end {
                return Err(WireError::mismatch("PARAMETER LIST LENGTH", end));
            }
            List::parse(get_range(b, TRANSPORT_IDS_AT, end), TRANSPORT_IDS_AT)?
        } else {
            if b.len() != BASIC_LEN {
                return Err(WireError::mismatch("PARAMETER LIST LENGTH", BASIC_LEN));
            }
            List::EMPTY
        };
        Ok(PrOutParams {
            key: get_be64(b, 0),
            sa_key: get_be64(b, 8),
            spec_i_pt,
            all_tg_pt: flags & 0x04 != 0,
            aptpl: flags & 0x01 != 0,
            transport_ids,
        })
    }

    /// The bytes `emit` writes: the CDB's PARAMETER LIST LENGTH.
    pub fn buffer_len(&self) -> usize {
        if self.spec_i_pt {
            self.transport_ids
                .buffer_len()
                .saturating_add(TRANSPORT_IDS_AT)
        } else {
            BASIC_LEN
        }
    }

    /// Write the list; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if !self.spec_i_pt && !self.transport_ids.is_empty() {
            return Err(WireError::out_of_range("SPEC_I_PT", 20));
        }
        let len = self.buffer_len();
        room(buf, len, "PERSISTENT RESERVE OUT parameter list")?;
        zero(buf, 0, BASIC_LEN, "PERSISTENT RESERVE OUT parameter list")?;
        emit_keys(buf, self.key, self.sa_key)?;
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        let flags = bit(self.spec_i_pt, 0x08) | bit(self.all_tg_pt, 0x04) | bit(self.aptpl, 0x01);
        put(buf, 20, &[flags], "SPEC_I_PT")?;
        if self.spec_i_pt {
            let tl = len_u32(
                self.transport_ids.buffer_len(),
                "TRANSPORTID PARAMETER DATA LENGTH",
                24,
            )?;
            put(
                buf,
                24,
                &tl.to_be_bytes(),
                "TRANSPORTID PARAMETER DATA LENGTH",
            )?;
            write_at(buf, TRANSPORT_IDS_AT, "TransportID", |b| {
                self.transport_ids.emit(b)
            })?;
        }
        Ok(len)
    }
}

/// The REGISTER AND MOVE parameter list (SPC-4 6.17.4, table 174).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterAndMoveParams<'a> {
    /// RESERVATION KEY of this I_T nexus (the reservation holder).
    pub key: u64,
    /// SERVICE ACTION RESERVATION KEY to register the destination with.
    pub sa_key: u64,
    /// UNREG: unregister this I_T nexus after the move.
    pub unreg: bool,
    /// APTPL: persist through power loss.
    pub aptpl: bool,
    /// RELATIVE TARGET PORT IDENTIFIER of the destination.
    pub relative_target_port: u16,
    /// The destination initiator port.
    pub transport_id: TransportId<'a>,
}

impl<'a> RegisterAndMoveParams<'a> {
    /// Validate and parse a whole parameter list.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        need(b, MOVE_HEADER, "PARAMETER LIST LENGTH", 0)?;
        let tl = usize_from(get_be32(b, 20));
        let end = tl.saturating_add(MOVE_HEADER);
        need(b, end, "TRANSPORTID PARAMETER DATA LENGTH", 20)?;
        if b.len() != end {
            return Err(WireError::mismatch("PARAMETER LIST LENGTH", end));
        }
        let (transport_id, n) =
            TransportId::decode(get_from(b, MOVE_HEADER)).map_err(|e| e.at(MOVE_HEADER))?;
        if n != tl {
            return Err(WireError::mismatch("TRANSPORTID PARAMETER DATA LENGTH", 20));
        }
        let flags = get_u8(b, 17);
        Ok(RegisterAndMoveParams {
            key: get_be64(b, 0),
            sa_key: get_be64(b, 8),
            unreg: flags & 0x02 != 0,
            aptpl: flags & 0x01 != 0,
            relative_target_port: get_be16(b, 18),
            transport_id,
        })
    }

    /// The bytes `emit` writes: the CDB's PARAMETER LIST LENGTH.
    pub fn buffer_len(&self) -> usize {
        self.transport_id.buffer_len().saturating_add(MOVE_HEADER)
    }

    /// Write the list; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        room(buf, len, "REGISTER AND MOVE parameter list")?;
        zero(buf, 0, MOVE_HEADER, "REGISTER AND MOVE parameter list")?;
        emit_keys(buf, self.key, self.sa_key)?;
        let flags = if self.unreg { 0x02 } else { 0 } | u8::from(self.aptpl);
        let [ph, pl] = self.relative_target_port.to_be_bytes();
        put(buf, 17, &[flags, ph, pl], "UNREG")?;
        let tl = len_u32(
            self.transport_id.buffer_len(),
            "TRANSPORTID PARAMETER DATA LENGTH",
            20,
        )?;
        put(
            buf,
            20,
            &tl.to_be_bytes(),
            "TRANSPORTID PARAMETER DATA LENGTH",
        )?;
        write_at(buf, MOVE_HEADER, "TransportID", |b| {
            self.transport_id.encode(b)
        })?;
        Ok(len)
    }
}

/// RESERVATION KEY and SERVICE ACTION RESERVATION KEY, bytes 0-15 of both
/// parameter lists (SPC-4 tables 172 and 174).
fn emit_keys(buf: &mut [u8], key: u64, sa_key: u64) -> Result<(), WireError> {
    put(buf, 0, &key.to_be_bytes(), "RESERVATION KEY")?;
    put(
        buf,
        8,
        &sa_key.to_be_bytes(),
        "SERVICE ACTION RESERVATION KEY",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireErrorKind;
    use proptest::prelude::*;

    use alloc::vec::Vec;

    #[test]
    fn register_and_ignore_existing_key_list() {
        // What mpathpersist sends to register key 0x123abc with APTPL.
        let p = PrOutParams {
            aptpl: true,
            ..PrOutParams::new(0, 0x12_3ABC)
        };
        let mut out = [0u8; 24];
        assert_eq!(p.emit(&mut out).unwrap(), 24);
        let mut want = [0u8; 24];
        want[13..16].copy_from_slice(&[0x12, 0x3A, 0xBC]);
        want[20] = 0x01;
        assert_eq!(out, want);
        assert_eq!(PrOutParams::parse_bytes(&out).unwrap(), p);
    }

    #[test]
    fn spec_i_pt_carries_transport_ids() {
        let ids = [
            TransportId::Iscsi {
                name: b"iqn.2004-10.com.example:b",
                isid: None,
            },
            TransportId::Sas {
                address: 0x5000_0000_0000_0001,
            },
        ];
        let p = PrOutParams {
            spec_i_pt: true,
            all_tg_pt: true,
            transport_ids: List::Items(&ids),
            ..PrOutParams::new(0, 7)
        };
        let mut out = [0u8; 128];
        let n = p.emit(&mut out).unwrap();
        assert_eq!(n, 28 + 32 + 24);
        assert_eq!(out[20], 0x0C);
        assert_eq!(&out[24..28], &[0, 0, 0, 56]);
        assert_eq!(PrOutParams::parse_bytes(&out[..n]).unwrap(), p);
        // Lengths that disagree.
        assert_eq!(
            PrOutParams::parse_bytes(&out[..n + 4]).unwrap_err(),
            WireError::mismatch("PARAMETER LIST LENGTH", n)
        );
        assert_eq!(
            PrOutParams::parse_bytes(&out[..n - 1]).unwrap_err(),
            WireError::truncated("TRANSPORTID PARAMETER DATA LENGTH", 24)
        );
        let bad = PrOutParams {
            spec_i_pt: false,
            ..p
        };
        assert_eq!(
            bad.emit(&mut out).unwrap_err(),
            WireError::out_of_range("SPEC_I_PT", 20)
        );
    }

    #[test]
    fn basic_list_must_be_24_bytes_without_spec_i_pt() {
        assert_eq!(
            PrOutParams::parse_bytes(&[0u8; 23]).unwrap_err(),
            WireError::truncated("PARAMETER LIST LENGTH", 0)
        );
        assert_eq!(
            PrOutParams::parse_bytes(&[0u8; 28]).unwrap_err(),
            WireError::mismatch("PARAMETER LIST LENGTH", 24)
        );
    }

    #[test]
    fn register_and_move_list() {
        let p = RegisterAndMoveParams {
            key: 1,
            sa_key: 2,
            unreg: true,
            aptpl: false,
            relative_target_port: 3,
            transport_id: TransportId::FibreChannel {
                n_port_name: 0x2000_0000_C9AB_CDEF,
            },
        };
        let mut out = [0u8; 64];
        let n = p.emit(&mut out).unwrap();
        assert_eq!(n, 48);
        assert_eq!(&out[16..24], &[0, 0x02, 0, 3, 0, 0, 0, 24]);
        assert_eq!(RegisterAndMoveParams::parse_bytes(&out[..n]).unwrap(), p);
        let mut bad = out;
        bad[23] = 28;
        assert_eq!(
            RegisterAndMoveParams::parse_bytes(&bad[..52]).unwrap_err(),
            WireError::mismatch("TRANSPORTID PARAMETER DATA LENGTH", 20)
        );
        assert_eq!(
            RegisterAndMoveParams::parse_bytes(&out[..40])
                .unwrap_err()
                .kind,
            WireErrorKind::Truncated
        );
        assert_eq!(
            p.emit(&mut out[..47]).unwrap_err().kind,
            WireErrorKind::BufferTooSmall
        );
    }

    proptest! {
        #[test]
        fn lists_round_trip(
            keys in any::<(u64, u64)>(),
            flags in any::<[bool; 4]>(),
            port in any::<u16>(),
            names in proptest::collection::vec(proptest::collection::vec(b'a'..=b'z', 1..40), 0..4),
        ) {
            let ids: Vec<TransportId<'_>> = names.iter().map(|n| TransportId::Iscsi { name: n, isid: None }).collect();
            let p = PrOutParams {
                key: keys.0, sa_key: keys.1, spec_i_pt: flags[0] || !ids.is_empty(), all_tg_pt: flags[1], aptpl: flags[2],
                transport_ids: List::Items(&ids),
            };
            let mut out = [0u8; 512];
            let n = p.emit(&mut out).unwrap();
            prop_assert_eq!(PrOutParams::parse_bytes(&out[..n]).unwrap(), p);
            if let Some(first) = ids.first() {
                let m = RegisterAndMoveParams {
                    key: keys.0, sa_key: keys.1, unreg: flags[3], aptpl: flags[2],
                    relative_target_port: port, transport_id: *first,
                };
                let n = m.emit(&mut out).unwrap();
                prop_assert_eq!(RegisterAndMoveParams::parse_bytes(&out[..n]).unwrap(), m);
            }
        }

        #[test]
        fn random_lists_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut out = [0u8; 128];
            if let Ok(p) = PrOutParams::parse_bytes(&b) {
                let n = p.emit(&mut out).unwrap();
                prop_assert_eq!(PrOutParams::parse_bytes(&out[..n]).unwrap(), p);
            }
            if let Ok(p) = RegisterAndMoveParams::parse_bytes(&b) {
                let n = p.emit(&mut out).unwrap();
                prop_assert_eq!(RegisterAndMoveParams::parse_bytes(&out[..n]).unwrap(), p);
            }
        }
    }
}
