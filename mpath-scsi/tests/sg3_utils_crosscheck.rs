//! Cross-check our sense and CDB codecs against sg3_utils' `sg_decode_sense`,
//! an independent decoder SCSI engineers use every day.
//!
//! Requires the Debian/Ubuntu package `sg3-utils`. Without it the test fails
//! (it never skips): a silent pass would hide a regression in CI.

use std::process::Command as Process;

use mpath_scsi::cdb::{self, Command, RtpgFormat, RwParams};
use mpath_scsi::classify::{Condition, RULES};
use mpath_scsi::{
    CdbRepr, PrInAction, PrOutAction, PrType, Sense, SenseFormat, SenseKey, SenseKeySpecific,
    SenseRepr,
};

const TOOL: &str = "sg_decode_sense";

fn sg_decode(extra: &[&str], bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let out = Process::new(TOOL)
        .args(extra)
        .args(&hex)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{TOOL}` ({e}): install sg3-utils (`apt-get install -y sg3-utils`) \
             to run the sg3_utils cross-check"
            )
        });
    assert!(out.status.success(), "{TOOL} {hex:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("sg_decode_sense prints UTF-8")
}

/// A representative real ASC/ASCQ for each sense key's catch-all row.
fn typical_asc(key: SenseKey) -> (u8, u8) {
    match key {
        SenseKey::RecoveredError => (0x17, 0x01),
        SenseKey::NotReady => (0x04, 0x03),
        SenseKey::MediumError => (0x11, 0x00),
        SenseKey::HardwareError => (0x44, 0x00),
        SenseKey::IllegalRequest => (0x24, 0x00),
        SenseKey::UnitAttention => (0x28, 0x00),
        SenseKey::DataProtect => (0x27, 0x00),
        SenseKey::AbortedCommand => (0x47, 0x00),
        SenseKey::Miscompare => (0x1D, 0x00),
        _ => (0x00, 0x00),
    }
}

fn emit(r: &SenseRepr) -> Vec<u8> {
    let mut out = [0u8; 96];
    let n = r.emit(&mut out).unwrap();
    out[..n].to_vec()
}

/// The sense corpus: every classification row in both formats, plus buffers
/// exercising INFORMATION, every SKS layout, FRU, ILI, SDAT_OVFL, deferred
/// errors, vendor codes and truncation.
fn corpus() -> Vec<Vec<u8>> {
    let mut c = Vec::new();
    for rule in RULES {
        if let Condition::Sense(m) = rule.when {
            let (a, q) = typical_asc(m.key);
            let (asc, ascq) = (
                m.asc.unwrap_or(a),
                m.ascq.unwrap_or(if m.asc.is_some() { 0 } else { q }),
            );
            for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
                c.push(emit(&SenseRepr::new(format, m.key, asc, ascq)));
            }
        }
    }
    let with = |format, key, asc, ascq, f: &dyn Fn(&mut SenseRepr)| {
        let mut r = SenseRepr::new(format, key, asc, ascq);
        f(&mut r);
        emit(&r)
    };
    use SenseFormat::{Descriptor as D, Fixed as F};
    use SenseKey as K;
    for format in [F, D] {
        c.push(with(format, K::MediumError, 0x11, 0, &|r| {
            r.information = Some(0x1234_5678)
        }));
        c.push(with(format, K::MediumError, 0x11, 0, &|r| {
            r.information = Some(0x0BAD_CAFE);
            r.sks = Some(SenseKeySpecific::RetryCount(3));
        }));
        c.push(with(format, K::IllegalRequest, 0x24, 0, &|r| {
            r.sks = Some(SenseKeySpecific::FieldPointer {
                command: true,
                bit: None,
                field: 2,
            })
        }));
        c.push(with(format, K::IllegalRequest, 0x26, 0, &|r| {
            r.sks = Some(SenseKeySpecific::FieldPointer {
                command: false,
                bit: Some(5),
                field: 256,
            })
        }));
        c.push(with(format, K::NotReady, 0x04, 0x01, &|r| {
            r.sks = Some(SenseKeySpecific::Progress(0x8000))
        }));
        c.push(with(format, K::NotReady, 0x04, 0x04, &|r| {
            r.sks = Some(SenseKeySpecific::Progress(0x0040))
        }));
        c.push(with(format, K::CopyAborted, 0x1D, 0, &|r| {
            r.sks = Some(SenseKeySpecific::SegmentPointer {
                segment_descriptor: true,
                bit: Some(1),
                field: 16,
            })
        }));
        c.push(with(format, K::UnitAttention, 0x29, 0x07, &|r| {
            r.sks = Some(SenseKeySpecific::UnitAttentionOverflow(true))
        }));
        c.push(with(format, K::IllegalRequest, 0x24, 0, &|r| {
            r.fru = Some(7)
        }));
        c.push(with(format, K::AbortedCommand, 0x10, 0x01, &|r| {
            r.ili = true
        }));
        c.push(with(format, K::IllegalRequest, 0x24, 0, &|r| {
            r.sdat_ovfl = true
        }));
        c.push(with(format, K::MediumError, 0x11, 0, &|r| {
            r.deferred = true
        }));
        c.push(with(format, K::HardwareError, 0x80, 0x01, &|_| {}));
        c.push(with(format, K::IllegalRequest, 0x25, 0, &|_| {}));
    }
    c.push(with(D, K::RecoveredError, 0x17, 0x01, &|r| {
        r.information = Some(0x1_0000_0002)
    }));
    // A fixed-format buffer cut after ASCQ (ADDITIONAL SENSE LENGTH says 10).
    c.push(vec![
        0x70, 0, 0x06, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x2A, 0x06,
    ]);
    c
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn check_sense(b: &[u8]) {
    let v = Sense::new_truncated(b).unwrap_or_else(|e| panic!("{b:02x?}: {e}"));
    let r = SenseRepr::parse(&v);
    let sg = sg_decode(&[], b);
    let ctx = format!("{b:02x?}\n{sg}");
    let head = first_line(&sg);
    let format = match r.format {
        SenseFormat::Fixed => "Fixed format",
        SenseFormat::Descriptor => "Descriptor format",
    };
    assert!(head.starts_with(format), "{ctx}");
    assert_eq!(head.contains("<<<deferred>>>"), r.deferred, "{ctx}");
    assert!(!r.deferred || !head.contains("current"), "{ctx}");
    let key = head
        .split("Sense key: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{ctx}"));
    assert!(
        key.starts_with(r.key.name()),
        "key {key:?} vs {:?}\n{ctx}",
        r.key.name()
    );
    if let Some(text) = r.asc_text() {
        assert!(
            sg.contains(&format!("Additional sense: {text}\n")),
            "{text}\n{ctx}"
        );
    } else if r.asc >= 0x80 || r.ascq >= 0x80 {
        assert!(
            sg.contains(&format!(
                "vendor specific ASC={:02x}, ASCQ={:02x}",
                r.asc, r.ascq
            )),
            "{ctx}"
        );
    } else {
        // A code our table lacks: sg3_utils must still know it's this pair.
        assert!(
            sg.contains("Additional sense: ")
                || sg.contains(&format!("ASC={:02x}, ASCQ={:02x}", r.asc, r.ascq)),
            "{ctx}"
        );
    }
    match (r.information, r.format) {
        (Some(i), SenseFormat::Fixed) => {
            assert!(sg.contains(&format!("Info fld=0x{i:x} [{i}]")), "{ctx}")
        }
        (Some(i), SenseFormat::Descriptor) => {
            assert!(sg.contains(&format!("Information: 0x{i:016x}")), "{ctx}")
        }
        (None, _) => assert!(
            !sg.contains("Info fld") && !sg.contains("Information:"),
            "{ctx}"
        ),
    }
    match r.sks {
        Some(SenseKeySpecific::FieldPointer {
            command,
            bit,
            field,
        }) => {
            let place = if command {
                "Error in Command"
            } else {
                "Error in Data parameters"
            };
            let bit = bit.map(|b| format!(" bit {b}")).unwrap_or_default();
            assert!(
                sg.contains(&format!("{place}: byte {field}{bit}\n")),
                "{ctx}"
            );
        }
        Some(s @ SenseKeySpecific::Progress(_)) => {
            let bp = s.progress_basis_points().unwrap();
            assert!(
                sg.contains(&format!(
                    "Progress indication: {}.{:02}%",
                    bp / 100,
                    bp % 100
                )),
                "{ctx}"
            );
        }
        Some(SenseKeySpecific::RetryCount(n)) => {
            assert!(
                sg.contains(&format!("retry count: 0x{n:04x}"))
                    || sg.contains(&format!("retry count: {n}")),
                "{ctx}"
            );
        }
        Some(SenseKeySpecific::SegmentPointer {
            segment_descriptor,
            bit,
            field,
        }) => {
            let rel = if segment_descriptor {
                "segment descriptor"
            } else {
                "parameter list"
            };
            let bit = bit.map(|b| format!(" bit {b}")).unwrap_or_default();
            assert!(
                sg.contains(&format!("Relative to start of {rel}, byte {field}{bit}")),
                "{ctx}"
            );
        }
        Some(SenseKeySpecific::UnitAttentionOverflow(o)) => {
            assert!(
                sg.contains(&format!("overflow flag is {}", u8::from(o))),
                "{ctx}"
            );
        }
        Some(other) => panic!("corpus has no {other:?}"),
        None => assert!(
            !sg.contains("Sense key specific") && !sg.contains("Sense Key Specific"),
            "{ctx}"
        ),
    }
    assert_eq!(
        sg.contains("Field replaceable unit code"),
        r.fru.is_some(),
        "{ctx}"
    );
    assert_eq!(sg.contains("ILI"), r.ili, "{ctx}");
    assert_eq!(sg.contains("SDAT_OVFL"), r.sdat_ovfl, "{ctx}");
}

#[test]
fn sense_data_agrees_with_sg_decode_sense() {
    let corpus = corpus();
    assert!(corpus.len() >= 40, "corpus has {} buffers", corpus.len());
    let keys: std::collections::HashSet<u8> = corpus
        .iter()
        .map(|b| Sense::new_truncated(&b[..]).unwrap().key().code())
        .collect();
    assert!(keys.len() >= 12, "only {} sense keys covered", keys.len());
    for b in &corpus {
        check_sense(b);
    }
}

/// Every CDB shape the crate builds.
fn cdbs() -> Vec<Vec<u8>> {
    let mut c = vec![
        cdb::test_unit_ready().to_vec(),
        cdb::inquiry(96).to_vec(),
        cdb::inquiry_vpd(0x00, 255).to_vec(),
        cdb::inquiry_vpd(0x83, 4096).to_vec(),
        cdb::report_target_port_groups(RtpgFormat::LengthOnly, 4096).to_vec(),
        cdb::report_target_port_groups(RtpgFormat::Extended, 4096).to_vec(),
        cdb::set_target_port_groups(8).to_vec(),
        cdb::read10(&RwParams::new(0x1000, 8)).unwrap().to_vec(),
        cdb::write10(&RwParams {
            fua: true,
            ..RwParams::new(0x1000, 8)
        })
        .unwrap()
        .to_vec(),
        cdb::read16(&RwParams::new(1 << 40, 256)).unwrap().to_vec(),
        cdb::write16(&RwParams::new(1 << 40, 256)).unwrap().to_vec(),
    ];
    for a in [
        PrInAction::ReadKeys,
        PrInAction::ReadReservation,
        PrInAction::ReportCapabilities,
        PrInAction::ReadFullStatus,
    ] {
        c.push(cdb::persistent_reserve_in(a, 8192).to_vec());
    }
    for a in PrOutAction::ALL {
        c.push(
            cdb::persistent_reserve_out(a, Some(PrType::WriteExclusiveRegistrantsOnly), 24)
                .to_vec(),
        );
    }
    c
}

#[test]
fn cdb_names_agree_with_sg_decode_sense() {
    let all = cdbs();
    assert_eq!(all.len(), 23);
    for b in &all {
        let r = CdbRepr::parse(b).unwrap_or_else(|e| panic!("{b:02x?}: {e}"));
        let sg = sg_decode(&["--cdb"], b);
        assert_eq!(first_line(&sg).trim(), r.command.name(), "{b:02x?}");
        // And our own parse agrees with what we built.
        if let Command::PersistentReserveOut {
            action,
            pr_type,
            param_len,
        } = r.command
        {
            assert_eq!(param_len, 24);
            assert_eq!(pr_type.is_some(), action.uses_type());
        }
    }
}

/// The CDBs the adapter builds for every reservation coordinator command
/// are the PERSISTENT RESERVE commands sg3_utils names for them.
#[test]
fn reservation_command_cdbs_agree_with_sg_decode_sense() {
    use mpath_core::reservation::{PrAction, PrCommand, PrType as T};
    use mpath_core::PathId;
    use mpath_scsi::PrOptions;
    let commands = [
        (
            PrCommand::Register { key: 1 },
            "Persistent reserve out, register and ignore existing key",
        ),
        (
            PrCommand::Unregister,
            "Persistent reserve out, register and ignore existing key",
        ),
        (
            PrCommand::Reserve {
                key: 1,
                rtype: T::WriteExclusiveRegistrantsOnly,
            },
            "Persistent reserve out, reserve",
        ),
        (
            PrCommand::Release {
                key: 1,
                rtype: T::ExclusiveAccess,
            },
            "Persistent reserve out, release",
        ),
        (
            PrCommand::Preempt {
                key: 1,
                victim: 2,
                rtype: T::WriteExclusive,
                abort: false,
            },
            "Persistent reserve out, preempt",
        ),
        (
            PrCommand::Preempt {
                key: 1,
                victim: 2,
                rtype: T::WriteExclusive,
                abort: true,
            },
            "Persistent reserve out, preempt and abort",
        ),
        (PrCommand::Clear { key: 1 }, "Persistent reserve out, clear"),
        (PrCommand::ReadKeys, "Persistent reserve in, read keys"),
        (
            PrCommand::ReadReservation,
            "Persistent reserve in, read reservation",
        ),
    ];
    for (command, name) in commands {
        let c = PrOptions::DEFAULT
            .command(&PrAction {
                via: PathId::from_raw(0),
                command,
            })
            .unwrap();
        let sg = sg_decode(&["--cdb"], c.cdb());
        assert_eq!(first_line(&sg).trim(), name, "{command:?}");
    }
}
