use super::*;
use alloc::vec;
use proptest::prelude::*;

#[test]
fn controller_fields_at_spec_offsets() {
    let mut buf = vec![0u8; IDENTIFY_LEN];
    let nqn = b"nqn.2014-08.org.example:subsys1";
    // (offset, bytes): each field at the offset Base 2.0 gives it.
    let table: [(usize, &[u8]); 12] = [
        (76, &[0x0B]),
        (78, &[0x34, 0x12]),
        (80, &[0x00, 0x00, 0x02, 0x00]),
        (128, &[1, 0, 2, 0, 0x2C, 0x01]),
        (516, &[0x00, 0x04, 0, 0]),
        (520, &[0x20, 0x01]),
        (540, &[0x00, 0x02, 0, 0]),
        (342, &[10, 0x5F]),
        (344, &[0x80, 0, 0, 0]),
        (348, &[0x10, 0, 0, 0]),
        (768, nqn),
        (768 + nqn.len(), &[0]),
    ];
    for (at, bytes) in table {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let id = IdentifyControllerRepr::parse(&buf).unwrap();
    assert_eq!(
        id.cmic,
        Cmic::MULTI_PORT | Cmic::MULTI_CONTROLLER | Cmic::ANA_REPORTING
    );
    assert!(id.supports_ana());
    assert_eq!(id.cntlid, 0x1234);
    assert_eq!(
        id.ver,
        Version {
            major: 2,
            minor: 0,
            tertiary: 0
        }
    );
    assert_eq!(id.crdt, Crdt([1, 2, 300]));
    assert_eq!(id.nn, 1024);
    assert_eq!(id.oncs, Oncs::RESERVATIONS | Oncs::COPY);
    assert!(id.supports_reservations());
    assert_eq!(id.mnan, 512);
    assert_eq!(id.max_namespaces(), 512);
    assert_eq!(id.anatt, 10);
    assert_eq!(id.ana_transition_time(), Duration::from_secs(10));
    assert_eq!(
        id.anacap,
        Anacap::OPTIMIZED
            | Anacap::NON_OPTIMIZED
            | Anacap::INACCESSIBLE
            | Anacap::PERSISTENT_LOSS
            | Anacap::CHANGE
            | Anacap::GRPID_NOT_CHANGED
    );
    assert_eq!(id.anagrpmax, 128);
    assert_eq!(id.nanagrpid, 16);
    assert_eq!(
        id.subnqn.unwrap().as_str(),
        Some("nqn.2014-08.org.example:subsys1")
    );
    assert_eq!(id.ana_log_len(false), Some(16 + 16 * 32 + 512 * 4));

    let mut out = vec![0u8; IDENTIFY_LEN];
    id.emit(&mut out).unwrap();
    assert_eq!(out, buf);
}

#[test]
fn namespace_fields_at_spec_offsets() {
    let mut buf = vec![0u8; IDENTIFY_LEN];
    buf[0..8].copy_from_slice(&0x1_0000u64.to_le_bytes());
    buf[8..16].copy_from_slice(&0x8000u64.to_le_bytes());
    buf[16..24].copy_from_slice(&0x10u64.to_le_bytes());
    buf[30] = 0x01;
    buf[31] = 0xFF;
    buf[92..96].copy_from_slice(&7u32.to_le_bytes());
    let ns = IdentifyNamespaceRepr::parse(&buf).unwrap();
    assert_eq!((ns.nsze, ns.ncap, ns.nuse), (0x1_0000, 0x8000, 0x10));
    assert!(ns.is_shared());
    assert_eq!(ns.rescap, Rescap::all());
    assert_eq!(ns.anagrpid, 7);
    let mut out = vec![0u8; IDENTIFY_LEN];
    ns.emit(&mut out).unwrap();
    assert_eq!(out, buf);
}

#[test]
fn short_buffers_are_refused() {
    let buf = [0u8; IDENTIFY_LEN - 1];
    assert!(matches!(
        IdentifyControllerRepr::parse(&buf),
        Err(Error::Truncated {
            needed: IDENTIFY_LEN,
            ..
        })
    ));
    assert!(IdentifyNamespaceRepr::parse(&buf).is_err());
    let ns = IdentifyNamespaceRepr::parse(&[0u8; IDENTIFY_LEN]).unwrap();
    assert_eq!(
        ns.emit(&mut [0u8; 100]),
        Err(Error::BufferTooSmall {
            needed: IDENTIFY_LEN,
            available: 100
        })
    );
}

#[test]
fn subnqn_follows_linux_fallback_rules() {
    let mut buf = vec![0u8; IDENTIFY_LEN];
    // Empty: no NQN.
    assert_eq!(IdentifyControllerRepr::parse(&buf).unwrap().subnqn, None);
    // Unterminated: no NQN (Linux makes one up).
    buf[768..1024].fill(b'a');
    assert_eq!(IdentifyControllerRepr::parse(&buf).unwrap().subnqn, None);
    // 255 bytes and a NUL: the longest name.
    buf[1023] = 0;
    let nqn = IdentifyControllerRepr::parse(&buf).unwrap().subnqn.unwrap();
    assert_eq!(nqn.as_bytes().len(), 255);
    // Bytes after the NUL are not part of the name.
    buf[800] = 0;
    let nqn = IdentifyControllerRepr::parse(&buf).unwrap().subnqn.unwrap();
    assert_eq!(nqn.as_bytes(), &[b'a'; 32][..]);
    assert!(Nqn::new(b"").is_err());
    assert!(Nqn::new(b"a\0b").is_err());
    assert!(Nqn::new(&[b'x'; 256]).is_err());
}

#[test]
fn identify_command_dwords() {
    assert_eq!(Identify::CONTROLLER.cdw10(), 0x01);
    assert_eq!(
        Identify {
            cns: 0x01,
            cntid: 0x0102
        }
        .cdw10(),
        0x0102_0001
    );
    assert_eq!(
        Identify::parse(0x0102_FF00),
        Identify {
            cns: 0,
            cntid: 0x0102
        }
    );
}

fn arb_nqn() -> impl Strategy<Value = Option<Nqn>> {
    prop::option::of(prop::collection::vec(1u8..=255, 1..=255).prop_map(|b| Nqn::new(&b).unwrap()))
}

proptest! {
    #[test]
    fn controller_round_trips(
        cmic: u8, cntlid: u16, ver: u32, crdt: [u16; 3], nn: u32, oncs: u16, mnan: u32,
        anatt: u8, anacap: u8, anagrpmax: u32, nanagrpid: u32, subnqn in arb_nqn(),
    ) {
        let id = IdentifyControllerRepr {
            cmic: Cmic::from_bits_retain(cmic),
            cntlid,
            ver: Version::from_u32(ver),
            crdt: Crdt(crdt),
            nn,
            oncs: Oncs::from_bits_retain(oncs),
            mnan,
            anatt,
            anacap: Anacap::from_bits_retain(anacap),
            anagrpmax,
            nanagrpid,
            subnqn,
        };
        let mut buf = vec![0xA5u8; IDENTIFY_LEN];
        id.emit(&mut buf).unwrap();
        prop_assert_eq!(IdentifyControllerRepr::parse(&buf).unwrap(), id);
        prop_assert_eq!(id.ver.to_u32(), ver);
    }

    #[test]
    fn namespace_round_trips(nsze: u64, ncap: u64, nuse: u64, nmic: u8, rescap: u8, anagrpid: u32) {
        let ns = IdentifyNamespaceRepr {
            nsze, ncap, nuse,
            nmic: Nmic::from_bits_retain(nmic),
            rescap: Rescap::from_bits_retain(rescap),
            anagrpid,
        };
        let mut buf = vec![0u8; IDENTIFY_LEN];
        ns.emit(&mut buf).unwrap();
        prop_assert_eq!(IdentifyNamespaceRepr::parse(&buf).unwrap(), ns);
    }

    #[test]
    fn random_structures_reparse_stably(bytes in prop::collection::vec(any::<u8>(), IDENTIFY_LEN)) {
        let id = IdentifyControllerRepr::parse(&bytes).unwrap();
        let mut out = vec![0u8; IDENTIFY_LEN];
        id.emit(&mut out).unwrap();
        prop_assert_eq!(IdentifyControllerRepr::parse(&out).unwrap(), id);
        let ns = IdentifyNamespaceRepr::parse(&bytes).unwrap();
        ns.emit(&mut out).unwrap();
        prop_assert_eq!(IdentifyNamespaceRepr::parse(&out).unwrap(), ns);
    }
}
