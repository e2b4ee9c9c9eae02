//! READ FULL STATUS for the coordinator's key checks: the CDB, the answer,
//! which registration is the asking nexus's, and the fallback to READ KEYS
//! on a target without it. Parameter data is laid out by hand from SPC-4
//! 6.16.5 (tables 180-181) and 7.6.4.6 (iSCSI TransportID, table 400), not
//! with this crate's encoders.

use super::*;
use crate::classify::TransportStatus;
use crate::sense::{SenseFormat, SenseRepr};
use crate::sense_key::SenseKey;
use crate::transport_id::TransportId;
use alloc::vec;
use alloc::vec::Vec;

const VIA: PathId = PathId::from_raw(0x0003_0001);
const OURS: u64 = 0x0102_0304_0506_0708;
const THEIRS: u64 = 0x1112_1314_1516_1718;
const FULL: PrOptions = PrOptions::DEFAULT.with_full_status(true);
const NAME: &str = "iqn.2026-12.org.mpath:host-a";

/// One READ FULL STATUS descriptor: key, ALL_TG_PT, R_HOLDER and type,
/// RELATIVE TARGET PORT IDENTIFIER, and an iSCSI TransportID naming
/// `name` with `isid` (FORMAT CODE 01b) or without (00b).
fn descriptor(
    key: u64,
    all_tg_pt: bool,
    holder: Option<u8>,
    rtpi: u16,
    name: &str,
    isid: Option<&str>,
) -> Vec<u8> {
    let mut d = vec![0u8; 24];
    d[..8].copy_from_slice(&key.to_be_bytes());
    d[12] = u8::from(all_tg_pt) << 1 | u8::from(holder.is_some());
    d[13] = holder.unwrap_or(0);
    d[18..20].copy_from_slice(&rtpi.to_be_bytes());
    let mut text = name.as_bytes().to_vec();
    if let Some(isid) = isid {
        text.extend_from_slice(b",i,0x");
        text.extend_from_slice(isid.as_bytes());
    }
    text.push(0);
    while text.len() % 4 != 0 || text.len() < 20 {
        text.push(0);
    }
    let format = if isid.is_some() { 0x40 } else { 0 };
    let mut tid = vec![format | 0x05, 0];
    tid.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
    tid.extend_from_slice(&text);
    d[20..24].copy_from_slice(&u32::try_from(tid.len()).unwrap().to_be_bytes());
    d.extend_from_slice(&tid);
    d
}

/// READ FULL STATUS parameter data: PRGENERATION, ADDITIONAL LENGTH, the
/// descriptors.
fn full_status(descriptors: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = descriptors.concat();
    let mut b = vec![0, 0, 0, 5];
    b.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&body);
    b
}

fn nexus<'a>(isid: &'a str, rtpi: u16) -> ItNexus<'a> {
    ItNexus {
        initiator: TransportId::Iscsi {
            name: NAME.as_bytes(),
            isid: Some(isid.as_bytes()),
        },
        relative_target_port: rtpi,
    }
}

fn read_keys_cmd(opts: &PrOptions) -> ScsiCommand {
    opts.command(&PrAction {
        via: VIA,
        command: PrCommand::ReadKeys,
    })
    .unwrap()
}

fn here(data: &[u8], me: &ItNexus<'_>) -> PrReply {
    let sent = read_keys_cmd(&FULL);
    let d = FULL.decode(&sent, &ScsiResponse::good(data)).unwrap();
    assert_eq!(d.data_error, None, "{data:02x?}");
    d.reply_at(Some(OURS), Some(me)).unwrap()
}

#[test]
fn read_keys_goes_out_as_read_full_status_when_asked() {
    let plain = read_keys_cmd(&PrOptions::DEFAULT);
    assert_eq!(plain.cdb(), &[0x5E, 0, 0, 0, 0, 0, 0, 0x04, 0, 0]);
    let full = read_keys_cmd(&FULL);
    assert_eq!(full.cdb(), &[0x5E, 3, 0, 0, 0, 0, 0, 0x04, 0, 0]);
    assert_eq!(full.data_in_len(), 1024);
    assert!(FULL.full_status() && !PrOptions::DEFAULT.full_status());
    // Every other command is the same with or without it.
    for command in [
        PrCommand::ReadReservation,
        PrCommand::Register { key: OURS },
        PrCommand::Clear { key: OURS },
    ] {
        let a = PrAction { via: VIA, command };
        assert_eq!(
            FULL.command(&a).unwrap().cdb(),
            PrOptions::DEFAULT.command(&a).unwrap().cdb()
        );
    }
}

#[test]
fn the_asking_nexus_is_found_by_initiator_port_and_target_port() {
    let me = nexus("23d000000001", 2);
    let mine = descriptor(OURS, false, None, 2, NAME, Some("23d000000001"));
    let sibling = descriptor(OURS, false, None, 1, NAME, Some("23d000000002"));
    let other_port = descriptor(OURS, false, None, 1, NAME, Some("23d000000001"));
    let theirs_here = descriptor(THEIRS, false, Some(1), 2, NAME, Some("23d000000001"));
    let other_host = descriptor(
        OURS,
        false,
        None,
        2,
        "iqn.2026-12.org.mpath:host-b",
        Some("23d000000001"),
    );
    let keys = |ours, total, here| PrReply::Keys { ours, total, here };

    assert_eq!(
        here(&full_status(&[sibling.clone(), mine.clone()]), &me),
        keys(2, 2, Some(true))
    );
    // Ours elsewhere only: this nexus must register, and the count after
    // must have grown.
    assert_eq!(
        here(&full_status(core::slice::from_ref(&sibling)), &me),
        keys(1, 1, Some(false))
    );
    // The same initiator port through another target port is another
    // nexus.
    assert_eq!(
        here(&full_status(&[other_port]), &me),
        keys(1, 1, Some(false))
    );
    // Another key on this nexus is not ours.
    assert_eq!(
        here(&full_status(&[theirs_here]), &me),
        keys(0, 1, Some(false))
    );
    // Another initiator with our key (a shared key) is not this nexus.
    assert_eq!(
        here(&full_status(&[other_host]), &me),
        keys(1, 1, Some(false))
    );
    assert_eq!(here(&full_status(&[]), &me), keys(0, 0, Some(false)));
}

#[test]
fn all_tg_pt_names_and_isids_compare_as_registrations_do() {
    let me = nexus("23d000000001", 7);
    let keys = |here| PrReply::Keys {
        ours: 1,
        total: 1,
        here,
    };
    // ALL_TG_PT: the target port does not matter.
    let all = descriptor(OURS, true, None, 1, NAME, Some("23d000000001"));
    assert_eq!(here(&full_status(&[all]), &me), keys(Some(true)));
    // Names in another case, ISIDs with other letter case and zeros.
    let upper = descriptor(
        OURS,
        false,
        None,
        7,
        &NAME.to_uppercase(),
        Some("23D000000001"),
    );
    assert_eq!(here(&full_status(&[upper]), &me), keys(Some(true)));
    let padded = descriptor(OURS, false, None, 7, NAME, Some("000000000001"));
    assert_eq!(
        here(&full_status(&[padded]), &nexus("1", 7)),
        keys(Some(true))
    );
    // FORMAT CODE 00b names the initiator, not the port: cannot tell.
    let device = descriptor(OURS, false, None, 7, NAME, None);
    assert_eq!(
        here(&full_status(core::slice::from_ref(&device)), &me),
        keys(None)
    );
    // ... unless another descriptor is this nexus for certain.
    let exact = descriptor(OURS, false, None, 7, NAME, Some("23d000000001"));
    assert_eq!(
        here(&full_status(&[device, exact]), &me),
        PrReply::Keys {
            ours: 2,
            total: 2,
            here: Some(true)
        }
    );
}

#[test]
fn without_a_nexus_full_status_answers_as_read_keys_does() {
    let sent = read_keys_cmd(&FULL);
    let data = full_status(&[
        descriptor(OURS, false, None, 2, NAME, Some("1")),
        descriptor(THEIRS, false, None, 2, NAME, Some("2")),
    ]);
    let d = FULL.decode(&sent, &ScsiResponse::good(&data)).unwrap();
    assert!(matches!(d.step, PrStep::Answer(PrAnswer::FullStatus(_))));
    let expect = PrReply::Keys {
        ours: 1,
        total: 2,
        here: None,
    };
    assert_eq!(d.reply(Some(OURS)), Some(expect));
    assert_eq!(d.reply_at(Some(OURS), None), Some(expect));
    // READ KEYS data never names a nexus, whoever asks.
    let plain = read_keys_cmd(&PrOptions::DEFAULT);
    let mut keys = vec![0, 0, 0, 1, 0, 0, 0, 8];
    keys.extend_from_slice(&OURS.to_be_bytes());
    let d = PrOptions::DEFAULT
        .decode(&plain, &ScsiResponse::good(&keys))
        .unwrap();
    assert_eq!(
        d.reply_at(Some(OURS), Some(&nexus("1", 2))),
        Some(PrReply::Keys {
            ours: 1,
            total: 1,
            here: None
        })
    );
}

#[test]
fn a_target_without_read_full_status_is_asked_read_keys() {
    let sent = read_keys_cmd(&FULL);
    for (asc, ascq) in [(0x24, 0), (0x20, 0)] {
        let r = SenseRepr::new(SenseFormat::Fixed, SenseKey::IllegalRequest, asc, ascq);
        let mut sense = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut sense).unwrap();
        let d = FULL
            .decode(&sent, &ScsiResponse::check_condition(&sense[..n]))
            .unwrap();
        let PrStep::Resend(again) = d.step else {
            panic!("{d:?}")
        };
        assert_eq!(again.cdb(), &[0x5E, 0, 0, 0, 0, 0, 0, 0x04, 0, 0]);
        assert_eq!(again.kind(), sent.kind(), "not a failed attempt");
        assert_eq!(again.path(), VIA);
        // READ KEYS refused as well is refused.
        let d = FULL
            .decode(&again, &ScsiResponse::check_condition(&sense[..n]))
            .unwrap();
        assert_eq!(d.step, PrStep::Answer(PrAnswer::Refused));
    }
    // A transport failure is not a missing command.
    let d = FULL
        .decode(&sent, &ScsiResponse::transport(TransportStatus::NoConnect))
        .unwrap();
    assert_eq!(d.step, PrStep::Answer(PrAnswer::PathFailed));
}

#[test]
fn full_status_cut_short_is_asked_again_as_full_status() {
    let ds: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            descriptor(
                if i == 39 { OURS } else { THEIRS },
                false,
                None,
                2,
                NAME,
                Some("1"),
            )
        })
        .collect();
    let data = full_status(&ds);
    assert!(data.len() > 1024);
    let sent = read_keys_cmd(&FULL);
    let d = FULL
        .decode(&sent, &ScsiResponse::good(&data[..1024]))
        .unwrap();
    let PrStep::Resend(again) = d.step else {
        panic!("{d:?}")
    };
    let [h, l] = u16::try_from(data.len()).unwrap().to_be_bytes();
    assert_eq!(again.cdb(), &[0x5E, 3, 0, 0, 0, 0, 0, h, l, 0]);
    let d = FULL.decode(&again, &ScsiResponse::good(&data)).unwrap();
    assert_eq!(
        d.reply_at(Some(OURS), Some(&nexus("1", 2))),
        Some(PrReply::Keys {
            ours: 1,
            total: 40,
            here: Some(true)
        })
    );
}

#[test]
fn malformed_full_status_is_refused_with_the_reason() {
    let sent = read_keys_cmd(&FULL);
    let mut bad = full_status(&[descriptor(OURS, false, None, 2, NAME, Some("1"))]);
    // ADDITIONAL DESCRIPTOR LENGTH one longer than the TransportID.
    bad[8 + 23] += 4;
    bad[7] += 4;
    bad.extend_from_slice(&[0, 0, 0, 0]);
    let d = FULL.decode(&sent, &ScsiResponse::good(&bad)).unwrap();
    assert_eq!(d.step, PrStep::Answer(PrAnswer::Refused));
    assert!(d.data_error.is_some());
}

/// A Fibre Channel registration (TransportID FORMAT CODE 00b, PROTOCOL
/// IDENTIFIER 0h, N_PORT_NAME in bytes 8-15: SPC-4 7.6.4.2) is this nexus's
/// when the port name and the target port match.
#[test]
fn fibre_channel_ports_compare_by_port_name() {
    let fc = |wwpn: u64, rtpi: u16| {
        let mut d = vec![0u8; 24];
        d[..8].copy_from_slice(&OURS.to_be_bytes());
        d[18..20].copy_from_slice(&rtpi.to_be_bytes());
        d[20..24].copy_from_slice(&24u32.to_be_bytes());
        let mut tid = vec![0u8; 24];
        tid[8..16].copy_from_slice(&wwpn.to_be_bytes());
        d.extend_from_slice(&tid);
        d
    };
    let me = ItNexus {
        initiator: TransportId::FibreChannel {
            n_port_name: 0x2100_0024_ff7f_0001,
        },
        relative_target_port: 3,
    };
    let keys = |here| PrReply::Keys {
        ours: 1,
        total: 1,
        here,
    };
    assert_eq!(
        here(&full_status(&[fc(0x2100_0024_ff7f_0001, 3)]), &me),
        keys(Some(true))
    );
    assert_eq!(
        here(&full_status(&[fc(0x2100_0024_ff7f_0002, 3)]), &me),
        keys(Some(false))
    );
    assert_eq!(
        here(&full_status(&[fc(0x2100_0024_ff7f_0001, 4)]), &me),
        keys(Some(false))
    );
}
