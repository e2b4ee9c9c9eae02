//! SET TARGET PORT GROUPS parameter list (SPC-4 6.45): a 4-byte reserved
//! header, then one 4-byte descriptor per target port group to change.

use crate::alua::AluaState;
use crate::error::WireError;
use crate::wire::{
    get_be16, get_from, get_range, get_u8, need, put, room, write_at, List, ListIter, WireItem,
};

const HEADER: usize = 4;
const DESCRIPTOR: usize = 4;

/// A set target port group descriptor (SPC-4 6.45, table 240).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StpgDescriptor {
    /// The state to move the group to: active/optimized, active/non-optimized,
    /// standby or unavailable (SPC-4 6.45 forbids the others).
    pub state: AluaState,
    /// TARGET PORT GROUP.
    pub group: u16,
}

impl WireItem<'_> for StpgDescriptor {
    fn decode(buf: &[u8]) -> Result<(Self, usize), WireError> {
        need(buf, DESCRIPTOR, "set target port group descriptor", 0)?;
        let b0 = get_u8(buf, 0);
        if b0 & 0xF0 != 0 || get_u8(buf, 1) != 0 {
            return Err(WireError::reserved("reserved", 0));
        }
        let state = AluaState::from_code(b0, 0)?;
        if !state.settable() {
            return Err(WireError::reserved("ASYMMETRIC ACCESS STATE", 0));
        }
        Ok((
            StpgDescriptor {
                state,
                group: get_be16(buf, 2),
            },
            DESCRIPTOR,
        ))
    }
    fn encoded_len(&self) -> usize {
        DESCRIPTOR
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        if !self.state.settable() {
            return Err(WireError::out_of_range("ASYMMETRIC ACCESS STATE", 0));
        }
        let [h, l] = self.group.to_be_bytes();
        put(
            buf,
            0,
            &[self.state.code(), 0, h, l],
            "set target port group descriptor",
        )
    }
}

/// A checked view of a SET TARGET PORT GROUPS parameter list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stpg<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Stpg<T> {
    /// Validate: the reserved header and whole, valid descriptors (the
    /// parameter list length is the buffer length).
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        need(b, HEADER, "reserved", 0)?;
        if get_range(b, 0, HEADER) != [0; HEADER] {
            return Err(WireError::reserved("reserved", 0));
        }
        List::<StpgDescriptor>::parse(get_from(b, HEADER), HEADER)?;
        Ok(Stpg { buf })
    }

    /// The descriptors.
    pub fn descriptors(&self) -> ListIter<'_, StpgDescriptor> {
        List::Wire(get_from(self.buf.as_ref(), HEADER)).iter()
    }
}

/// A SET TARGET PORT GROUPS parameter list as values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StpgRepr<'a> {
    /// The groups to change.
    pub descriptors: List<'a, StpgDescriptor>,
}

impl<'a> StpgRepr<'a> {
    /// Read from a checked view.
    pub fn parse(v: &Stpg<&'a [u8]>) -> Self {
        StpgRepr {
            descriptors: List::Wire(get_from(v.buf, HEADER)),
        }
    }

    /// Validate and parse in one step.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        Stpg::new_checked(b).map(|v| Self::parse(&v))
    }

    /// The bytes `emit` writes: the CDB's PARAMETER LIST LENGTH.
    pub fn buffer_len(&self) -> usize {
        HEADER.saturating_add(self.descriptors.buffer_len())
    }

    /// Write the parameter list; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        room(buf, len, "SET TARGET PORT GROUPS parameter list")?;
        put(buf, 0, &[0; HEADER], "reserved")?;
        write_at(buf, HEADER, "set target port group descriptor", |b| {
            self.descriptors.emit(b)
        })?;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireErrorKind;

    #[test]
    fn activate_one_group_as_scsi_dh_alua_does() {
        // scsi_dh_alua's submit_stpg: one descriptor, active/optimized.
        let want = [0, 0, 0, 0, 0x00, 0, 0x01, 0x02];
        let r = StpgRepr {
            descriptors: List::Items(&[StpgDescriptor {
                state: AluaState::ActiveOptimized,
                group: 0x0102,
            }]),
        };
        let mut out = [0u8; 8];
        assert_eq!(r.emit(&mut out).unwrap(), 8);
        assert_eq!(out, want);
        assert_eq!(StpgRepr::parse_bytes(&want).unwrap(), r);
    }

    #[test]
    fn round_trips_and_rejects_what_spc4_forbids() {
        let b = [0, 0, 0, 0, 0x02, 0, 0, 5, 0x03, 0, 0, 6];
        let v = Stpg::new_checked(&b[..]).unwrap();
        let d: alloc::vec::Vec<_> = v.descriptors().collect();
        assert_eq!(
            d,
            [
                StpgDescriptor {
                    state: AluaState::Standby,
                    group: 5
                },
                StpgDescriptor {
                    state: AluaState::Unavailable,
                    group: 6
                }
            ]
        );
        let mut out = [0u8; 12];
        StpgRepr::parse(&v).emit(&mut out).unwrap();
        assert_eq!(out, b);
        let cases: &[(&[u8], WireErrorKind, &str, usize)] = &[
            (&[0, 0, 0], WireErrorKind::Truncated, "reserved", 0),
            (&[1, 0, 0, 0], WireErrorKind::Reserved, "reserved", 0),
            (
                &[0, 0, 0, 0, 0x0F, 0, 0, 1],
                WireErrorKind::Reserved,
                "ASYMMETRIC ACCESS STATE",
                4,
            ),
            (
                &[0, 0, 0, 0, 0x05, 0, 0, 1],
                WireErrorKind::Reserved,
                "ASYMMETRIC ACCESS STATE",
                4,
            ),
            (
                &[0, 0, 0, 0, 0x00, 0, 0],
                WireErrorKind::Truncated,
                "set target port group descriptor",
                4,
            ),
        ];
        for &(b, kind, field, offset) in cases {
            assert_eq!(
                Stpg::new_checked(b).unwrap_err(),
                WireError::new(kind, field, offset),
                "{b:02x?}"
            );
        }
        let bad = StpgRepr {
            descriptors: List::Items(&[StpgDescriptor {
                state: AluaState::Offline,
                group: 1,
            }]),
        };
        assert_eq!(
            bad.emit(&mut out).unwrap_err(),
            WireError::out_of_range("ASYMMETRIC ACCESS STATE", 4)
        );
    }
}
