use super::*;
use crate::error::WireErrorKind;
use proptest::prelude::*;

#[test]
fn fixed_format_fields_per_spc4_4_5_3() {
    // 70h with VALID, INFORMATION 0x12345678, ILI, ILLEGAL REQUEST, 24/00,
    // FRU 7, SKS field pointer CDB byte 2.
    let b = [
        0xF0, 0, 0x25, 0x12, 0x34, 0x56, 0x78, 0x0A, 0, 0, 0, 9, 0x24, 0x00, 7, 0xC0, 0x00, 0x02,
    ];
    let s = Sense::new_checked(&b[..]).unwrap();
    assert_eq!(s.format(), SenseFormat::Fixed);
    assert!(!s.is_deferred());
    assert_eq!(s.key(), SenseKey::IllegalRequest);
    assert_eq!((s.asc(), s.ascq()), (0x24, 0x00));
    assert_eq!(s.information(), Some(0x1234_5678));
    assert_eq!(s.command_specific(), Some(9));
    assert_eq!(s.fru(), Some(7));
    assert!(s.ili() && !s.eom() && !s.filemark());
    assert_eq!(
        s.sks(),
        Some(SenseKeySpecific::FieldPointer {
            command: true,
            bit: None,
            field: 2
        })
    );
    let r = SenseRepr::parse(&s);
    let mut out = [0u8; 32];
    assert_eq!(r.emit(&mut out).unwrap(), 18);
    assert_eq!(&out[..18], &b[..]);
}

#[test]
fn descriptor_format_fields_per_spc4_4_5_2() {
    let b = [
        0x73, 0x02, 0x04, 0x01, 0x80, 0, 0, 0x20, // header, deferred, SDAT_OVFL
        0x00, 0x0A, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 2, // information 0x1_0000_0002
        0x01, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, // command specific 5
        0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0, // progress 0x4000
    ];
    let s = Sense::new_checked(&b[..]).unwrap();
    assert_eq!(s.format(), SenseFormat::Descriptor);
    assert!(s.is_deferred());
    assert!(s.sdat_ovfl());
    assert_eq!(s.key(), SenseKey::NotReady);
    assert_eq!((s.asc(), s.ascq()), (0x04, 0x01));
    assert_eq!(s.information(), Some(0x1_0000_0002));
    assert_eq!(s.command_specific(), Some(5));
    assert_eq!(s.sks(), Some(SenseKeySpecific::Progress(0x4000)));
    assert_eq!(s.fru(), None);
    assert_eq!(s.descriptors().count(), 3);
    let r = SenseRepr::parse(&s);
    let mut out = [0u8; 64];
    let n = r.emit(&mut out).unwrap();
    assert_eq!(&out[..n], &b[..]);
}

#[test]
fn malformed_sense_is_a_typed_error_naming_the_field() {
    let cases: &[(&[u8], WireErrorKind, &str, usize)] = &[
        (&[], WireErrorKind::Truncated, "RESPONSE CODE", 0),
        (
            &[0x7F, 0, 0, 0, 0, 0, 0, 0],
            WireErrorKind::UnknownFormat,
            "RESPONSE CODE",
            0,
        ),
        (
            &[0x60, 0, 0, 0, 0, 0, 0, 0],
            WireErrorKind::UnknownFormat,
            "RESPONSE CODE",
            0,
        ),
        (
            &[0x70, 0, 5, 0, 0, 0, 0],
            WireErrorKind::Truncated,
            "ADDITIONAL SENSE LENGTH",
            7,
        ),
        (
            &[0x70, 0, 5, 0, 0, 0, 0, 10, 0],
            WireErrorKind::Truncated,
            "ADDITIONAL SENSE LENGTH",
            7,
        ),
        // Information descriptor with the wrong ADDITIONAL LENGTH.
        (
            &[0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x00, 0x02, 0x80, 0],
            WireErrorKind::LengthMismatch,
            "ADDITIONAL LENGTH",
            9,
        ),
        // A vendor descriptor running past ADDITIONAL SENSE LENGTH.
        (
            &[0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x80, 0x04, 1, 2],
            WireErrorKind::Truncated,
            "sense data descriptor",
            10,
        ),
    ];
    for &(b, kind, field, offset) in cases {
        assert_eq!(
            Sense::new_checked(b).unwrap_err(),
            WireError::new(kind, field, offset),
            "{b:02x?}"
        );
    }
}

#[test]
fn truncated_sense_still_gives_key_and_asc() {
    // Fixed format claiming 0x0A additional bytes, cut after ASCQ.
    let fixed = [0x70, 0, 0x06, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x29, 0x00];
    assert!(Sense::new_checked(&fixed[..]).is_err());
    let s = Sense::new_truncated(&fixed[..]).unwrap();
    assert!(s.is_truncated());
    assert_eq!(
        (s.key(), s.asc(), s.ascq()),
        (SenseKey::UnitAttention, 0x29, 0)
    );
    assert_eq!(s.sks(), None);
    // Descriptor format cut in the middle of its second descriptor.
    let desc = [
        0x72, 0x06, 0x2A, 0x06, 0, 0, 0, 0x14, 0x03, 0x02, 0, 9, 0x00, 0x0A, 0x80,
    ];
    let s = Sense::new_truncated(&desc[..]).unwrap();
    assert_eq!(
        (s.key(), s.asc(), s.ascq()),
        (SenseKey::UnitAttention, 0x2A, 6)
    );
    assert_eq!(s.fru(), Some(9));
    assert_eq!(s.information(), None);
    assert_eq!(s.descriptors().count(), 1);
}

#[test]
fn sense_cut_inside_the_header() {
    type KeyAsc = Option<(SenseKey, u8, u8)>;
    let cases: &[(&[u8], KeyAsc)] = &[
        (&[0x70, 0, 0x06, 0], Some((SenseKey::UnitAttention, 0, 0))),
        (
            &[0x72, 0x02, 0x04, 0x0B],
            Some((SenseKey::NotReady, 4, 0x0B)),
        ),
        (&[0x72, 0x02, 0x04], Some((SenseKey::NotReady, 4, 0))),
        (&[0x73, 0x05], Some((SenseKey::IllegalRequest, 0, 0))),
        (&[0x70, 0], None),
        (&[0x72], None),
    ];
    for &(b, want) in cases {
        assert!(Sense::new_checked(b).is_err());
        let got = Sense::new_truncated(b).ok().map(|s| {
            assert!(s.is_truncated());
            assert_eq!(
                (s.information(), s.sks(), s.descriptors().count()),
                (None, None, 0)
            );
            (s.key(), s.asc(), s.ascq())
        });
        assert_eq!(got, want, "{b:02x?}");
    }
}

#[test]
fn short_fixed_format_reads_only_what_is_covered() {
    // ADDITIONAL SENSE LENGTH 6: ASC/ASCQ present, FRU and SKS not; the
    // trailing bytes of a zero-filled 96-byte buffer are ignored.
    let mut b = [0u8; 96];
    b[..14].copy_from_slice(&[0x70, 0, 0x02, 0, 0, 0, 0, 6, 0, 0, 0, 0, 4, 0x0B]);
    b[14] = 0x55; // outside the covered range
    let s = Sense::new_checked(&b[..]).unwrap();
    assert_eq!((s.asc(), s.ascq()), (4, 0x0B));
    assert_eq!(s.fru(), None);
}

#[test]
fn display_names_key_codes_and_text() {
    use alloc::string::ToString;
    let mut r = SenseRepr::new(SenseFormat::Descriptor, SenseKey::UnitAttention, 0x2A, 0x06);
    assert_eq!(
        r.to_string(),
        "Unit Attention 2A/06 (Asymmetric access state changed)"
    );
    r.asc = 0x99;
    r.deferred = true;
    assert_eq!(r.to_string(), "Unit Attention 99/06 [deferred]");
}

#[test]
fn emit_rejects_small_buffers_and_wide_fixed_information() {
    let mut r = SenseRepr::new(SenseFormat::Fixed, SenseKey::MediumError, 0x11, 0);
    let mut out = [0u8; 17];
    assert_eq!(
        r.emit(&mut out).unwrap_err().kind,
        WireErrorKind::BufferTooSmall
    );
    r.information = Some(1 << 32);
    let mut out = [0u8; 18];
    assert_eq!(
        r.emit(&mut out).unwrap_err(),
        WireError::new(WireErrorKind::OutOfRange, "INFORMATION", 3)
    );
    r.information = None;
    r.command_specific = Some(0);
    assert_eq!(
        r.emit(&mut out).unwrap_err(),
        WireError::new(WireErrorKind::OutOfRange, "COMMAND-SPECIFIC INFORMATION", 8)
    );
    r.command_specific = None;
    r.fru = Some(0);
    assert_eq!(
        r.emit(&mut out).unwrap_err().field,
        "FIELD REPLACEABLE UNIT CODE"
    );
    r.fru = None;
    r.information = Some(1 << 32);
    r.format = SenseFormat::Descriptor;
    let mut out = [0u8; 20];
    assert_eq!(r.emit(&mut out).unwrap(), 20);
    assert_eq!(SenseRepr::parse_bytes(&out).unwrap(), r);
}

fn key() -> impl Strategy<Value = SenseKey> {
    (0u8..16).prop_map(SenseKey::from_nibble)
}

/// A SKS value of the layout the key selects, with reserved bits clear.
fn sks_for(key: SenseKey) -> impl Strategy<Value = Option<SenseKeySpecific>> {
    proptest::option::of(any::<[u8; 3]>()).prop_map(move |raw| {
        raw.and_then(|[a, b, c]| SenseKeySpecific::decode(key, [a | 0x80, b, c]))
    })
}

fn repr() -> impl Strategy<Value = SenseRepr> {
    (key(), any::<bool>(), any::<bool>()).prop_flat_map(|(key, fixed, deferred)| {
        let (wide, csi_min) = if fixed {
            (u64::from(u32::MAX), 1)
        } else {
            (u64::MAX, 0)
        };
        (
            any::<(u8, u8)>(),
            proptest::option::of(0..=wide),
            proptest::option::of(csi_min..=wide),
            sks_for(key),
            proptest::option::of(if fixed { 1u8..=255 } else { 0u8..=255 }),
            any::<[bool; 4]>(),
        )
            .prop_map(
                move |((asc, ascq), information, command_specific, sks, fru, f)| {
                    let format = if fixed {
                        SenseFormat::Fixed
                    } else {
                        SenseFormat::Descriptor
                    };
                    SenseRepr {
                        format,
                        deferred,
                        key,
                        asc,
                        ascq,
                        information,
                        command_specific,
                        sks,
                        fru,
                        filemark: f[0],
                        eom: f[1],
                        ili: f[2],
                        sdat_ovfl: f[3],
                    }
                },
            )
    })
}

proptest! {
    #[test]
    fn repr_emit_parse_is_identity(r in repr()) {
        let mut out = [0u8; 64];
        let n = r.emit(&mut out).unwrap();
        prop_assert_eq!(n, r.buffer_len());
        let back = SenseRepr::parse_bytes(&out[..n]).unwrap();
        prop_assert_eq!(back, r);
        let mut again = [0u8; 64];
        prop_assert_eq!(back.emit(&mut again).unwrap(), n);
        prop_assert_eq!(&again[..n], &out[..n]);
    }

    #[test]
    fn random_bytes_never_panic_and_reparse_stably(
        b in proptest::collection::vec(any::<u8>(), 0..80),
        first in 0x70u8..0x74,
    ) {
        let mut b = b;
        if let Some(x) = b.first_mut() { *x = first; }
        for s in [Sense::new_checked(&b[..]), Sense::new_truncated(&b[..])].into_iter().flatten() {
            let r = SenseRepr::parse(&s);
            let mut out = [0u8; 64];
            // Fixed format with a descriptor-only value cannot emit; anything
            // that emits must re-parse to itself.
            if let Ok(n) = r.emit(&mut out) {
                prop_assert_eq!(SenseRepr::parse_bytes(&out[..n]).unwrap(), r);
            }
        }
    }
}
