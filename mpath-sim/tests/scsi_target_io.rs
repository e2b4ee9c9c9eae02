//! READ, WRITE, READ CAPACITY, REPORT LUNS and CDB errors.

#[path = "scsi_common.rs"]
mod common;
use common::*;

use mpath_scsi::cdb;
use mpath_scsi::{RwParams, SenseKey};
use mpath_sim::block_store::BlockStamp;
use mpath_sim::scsi_target::{LuConfig, Residual};

fn stamped(host: u32, generation: u64, lba: u64, blocks: usize) -> Vec<u8> {
    let mut data = vec![0u8; BS * blocks];
    for (i, b) in data.chunks_mut(BS).enumerate() {
        b[..24].copy_from_slice(
            &BlockStamp {
                generation: generation + i as u64,
                host,
                lba: lba + i as u64,
            }
            .to_bytes(),
        );
    }
    data
}

#[test]
fn write_then_read_in_both_cdb_sizes() {
    let mut f = fx();
    let data = stamped(1, 10, 5, 3);
    let r = f
        .run(f.a1, &cdb::write16(&RwParams::new(5, 3)).unwrap(), &data, 0)
        .0;
    assert_good(&r);
    assert_eq!(r.residual, Residual::Exact);
    let (r, back) = f.run(
        f.b1,
        &cdb::read10(&RwParams::new(5, 3)).unwrap(),
        &[],
        3 * BS,
    );
    assert_good(&r);
    no_residual(&r);
    assert_eq!(back, data);
    assert_eq!(f.lu.store().writes_applied(), 3);
    // Zero blocks: nothing moves, not an error, even at the last LBA + 1.
    let r = f
        .run(
            f.a1,
            &cdb::write10(&RwParams::new(BLOCKS, 0)).unwrap(),
            &[],
            0,
        )
        .0;
    assert_good(&r);
    assert_eq!(f.lu.store().writes_applied(), 3);
}

#[test]
fn out_of_range_and_short_data() {
    let mut f = fx();
    for p in [
        RwParams::new(BLOCKS, 1),
        RwParams::new(BLOCKS - 1, 2),
        RwParams::new(u64::MAX, 1),
    ] {
        let r = f.run(f.a1, &cdb::read16(&p).unwrap(), &[], BS * 2).0;
        assert_pointer(&r, 0x21, true, 2, None);
        let r = f
            .run(f.a1, &cdb::write16(&p).unwrap(), &vec![0; BS * 2], 0)
            .0;
        assert_pointer(&r, 0x21, true, 2, None);
    }
    // Fewer bytes than the WRITE says: 0E/03, nothing written.
    let r = f
        .run(
            f.a1,
            &cdb::write10(&RwParams::new(0, 2)).unwrap(),
            &stamped(1, 1, 0, 1),
            0,
        )
        .0;
    assert_check(&r, SenseKey::IllegalRequest, 0x0E, 0x03);
    assert_eq!(f.lu.store().writes_applied(), 0);
    // Protection information is not supported.
    let p = RwParams {
        protect: 1,
        ..RwParams::new(0, 1)
    };
    let r = f.run(f.a1, &cdb::read10(&p).unwrap(), &[], BS).0;
    assert_pointer(&r, 0x24, true, 1, Some(7));
}

#[test]
fn short_data_in_gets_what_fits() {
    let mut f = fx();
    let data = stamped(2, 1, 0, 2);
    assert_good(
        &f.run(f.a1, &cdb::write10(&RwParams::new(0, 2)).unwrap(), &data, 0)
            .0,
    );
    let (r, back) = f.run(
        f.a1,
        &cdb::read10(&RwParams::new(0, 2)).unwrap(),
        &[],
        BS + 10,
    );
    assert_good(&r);
    assert_eq!(r.residual, Residual::Overflow(BS - 10));
    assert_eq!(back[..], data[..BS + 10]);
    let (r, back) = f.run(
        f.a1,
        &cdb::read10(&RwParams::new(1, 1)).unwrap(),
        &[],
        3 * BS,
    );
    assert_eq!(r.residual, Residual::Underflow(2 * BS));
    assert_eq!(back, data[BS..]);
}

#[test]
fn stale_write_is_the_store_truth() {
    let mut f = fx();
    assert_good(&f.write(f.a1, 3, 1, 11));
    assert_good(&f.write(f.a2, 3, 1, 10));
    assert_eq!(f.lu.store().stale_writes().len(), 1);
    assert_eq!(f.read(f.b1, 3).1.map(|s| s.generation), Some(10));
}

#[test]
fn read_capacity_and_report_luns() {
    let mut f = fx();
    let (r, d) = f.run(f.a1, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8);
    assert_good(&r);
    assert_eq!(d, [0, 0, 0, 63, 0, 0, 2, 0]);
    let mut c = [0u8; 16];
    c[0] = 0x9E;
    c[1] = 0x10;
    c[13] = 12;
    let (r, d) = f.run(f.a1, &c, &[], 64);
    assert_eq!((r.data_in_len, r.residual), (12, Residual::Underflow(52)));
    assert_eq!(d, [0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 2, 0]);
    c[1] = 0x11;
    assert_check(
        &f.run(f.a1, &c, &[], 64).0,
        SenseKey::IllegalRequest,
        0x20,
        0,
    );
    let mut g = fx_with(LuConfig {
        lun: 300,
        ..config()
    });
    let luns = [0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    let (_, d) = g.run(g.a1, &luns, &[], 256);
    assert_eq!(d[..10], [0, 0, 0, 8, 0, 0, 0, 0, 0x41, 0x2C]);
    let (_, d) = g.run(g.a1, &[0xA0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0], &[], 256);
    assert_eq!(d, [0; 8]);
}

#[test]
fn cdb_errors_say_where() {
    let mut f = fx();
    // Unknown operation code.
    let r = f
        .run(
            f.a1,
            &[0xC1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[],
            0,
        )
        .0;
    assert_pointer(&r, 0x20, true, 0, None);
    assert_check(
        &f.run(f.a1, &[], &[], 0).0,
        SenseKey::IllegalRequest,
        0x20,
        0,
    );
    // Shorter than its operation code's CDB.
    let r = f.run(f.a1, &[0x28, 0, 0, 0], &[], 0).0;
    assert_pointer(&r, 0x24, true, 4, None);
    // A reserved bit in TEST UNIT READY.
    let r = f.run(f.a1, &[0, 0, 0, 1, 0, 0], &[], 0).0;
    assert_pointer(&r, 0x24, true, 1, None);
    // An unsupported PERSISTENT RESERVE IN service action.
    let r = f.run(f.a1, &[0x5E, 0x07, 0, 0, 0, 0, 0, 0, 8, 0], &[], 8).0;
    assert_pointer(&r, 0x24, true, 1, Some(4));
    // NACA.
    let r = f.run(f.a1, &[0, 0, 0, 0, 0, 0x04], &[], 0).0;
    assert_pointer(&r, 0x24, true, 5, Some(2));
    // Descriptor format when configured.
    let mut g = fx_with(LuConfig {
        sense_format: mpath_scsi::SenseFormat::Descriptor,
        ..config()
    });
    let r = g.run(g.a1, &[0x28, 0, 0, 0], &[], 0).0;
    assert_eq!(sense(&r).format, mpath_scsi::SenseFormat::Descriptor);
    assert_pointer(&r, 0x24, true, 4, None);
}
