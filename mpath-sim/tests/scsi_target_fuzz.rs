//! Any bytes in, a well-formed answer out: the device server never panics,
//! and every sense it returns parses strictly with mpath-scsi's parser.

#[path = "scsi_common.rs"]
mod common;
use common::*;

use mpath_sim::scsi_target::Status;
use proptest::prelude::*;

/// Operation codes the target knows, so random CDBs reach past the opcode.
const KNOWN: [u8; 14] = [
    0x00, 0x03, 0x12, 0x25, 0x28, 0x2A, 0x5E, 0x5F, 0x88, 0x8A, 0x9E, 0xA0, 0xA3, 0xA4,
];

fn check_response(
    f: &mut Fx,
    who: usize,
    cdb: &[u8],
    out: &[u8],
    room: usize,
) -> Result<(), TestCaseError> {
    let n = f.all()[who % 6];
    let mut buf = vec![0u8; room];
    let r = f.lu.command(n, cdb, out, &mut buf).unwrap();
    prop_assert!(r.data_in_len <= room);
    match r.status {
        Status::CheckCondition => {
            let s = r.sense().expect("CHECK CONDITION has sense");
            prop_assert!(mpath_scsi::SenseRepr::parse_bytes(s).is_ok(), "{s:02x?}");
        }
        _ => prop_assert!(r.sense().is_none()),
    }
    Ok(())
}

/// Zero the fields that make most random CDBs fail early (reserved bytes,
/// lengths far beyond `out`), so the sequences reach the state machines.
fn shape(cdb: &mut [u8], out: &mut [u8]) {
    match cdb[0] {
        0x5F => {
            cdb[2] &= 0x0F;
            cdb[3..8].fill(0);
            cdb[8] = out.len().min(255) as u8;
            cdb[9] = 0;
        }
        0xA4 => {
            cdb[1] = 0x0A;
            cdb[2..9].fill(0);
            cdb[9] = out.len() as u8 & !3;
            cdb[10..12].fill(0);
            let k = out.len().min(4);
            out[..k].fill(0);
        }
        0x28 | 0x2A => {
            cdb[1] &= 0x18;
            cdb[2..4].fill(0);
            cdb[6] &= 0x1F;
            cdb[7] = 0;
            cdb[9] = 0;
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        cdb in proptest::collection::vec(any::<u8>(), 0..20),
        out in proptest::collection::vec(any::<u8>(), 0..80),
        room in 0usize..600,
        who in 0usize..6,
    ) {
        let mut f = fx();
        check_response(&mut f, who, &cdb, &out, room)?;
    }

    /// Known operation codes with random fields, in sequence on one logical
    /// unit, so the PR and ALUA state machines see random inputs too.
    #[test]
    fn known_opcodes_in_sequence(
        steps in proptest::collection::vec(
            (0usize..14, proptest::collection::vec(any::<u8>(), 15), proptest::collection::vec(any::<u8>(), 0..64), 0usize..1100, 0usize..6, any::<bool>()),
            1..24,
        ),
    ) {
        let mut f = fx();
        for (op, rest, mut out, room, who, small_len) in steps {
            let mut cdb = vec![KNOWN[op]];
            cdb.extend_from_slice(&rest);
            if small_len {
                shape(&mut cdb, &mut out);
            }
            check_response(&mut f, who, &cdb, &out, room)?;
            // The truth stays coherent: a reservation's holder is registered.
            if let Some(res) = f.lu.reservation() {
                if let mpath_sim::scsi_target::Holder::Nexus(h) = res.holder {
                    prop_assert!(f.lu.registered_key(h).is_some());
                } else {
                    prop_assert!(!f.lu.registrations().is_empty());
                }
            }
        }
    }
}
