use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;

const OPTS: AnaLogOptions = AnaLogOptions {
    anagrpmax: 128,
    rgo: false,
};

/// A page with two groups: group 1 optimized with NSIDs 1 and 2, group 7 in
/// change with NSID 3.
fn sample() -> Vec<u8> {
    let mut page = Vec::new();
    page.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    page.extend_from_slice(&2u16.to_le_bytes());
    page.extend_from_slice(&[0; 6]);
    for (grpid, cc, state, nsids) in [(1u32, 5u64, 0x01u8, &[1u32, 2][..]), (7, 6, 0x0F, &[3])] {
        page.extend_from_slice(&grpid.to_le_bytes());
        page.extend_from_slice(&u32::try_from(nsids.len()).unwrap().to_le_bytes());
        page.extend_from_slice(&cc.to_le_bytes());
        page.push(state);
        page.extend_from_slice(&[0; 15]);
        for n in nsids {
            page.extend_from_slice(&n.to_le_bytes());
        }
    }
    page
}

#[test]
fn parses_groups_and_nsids() {
    let page = sample();
    assert_eq!(page.len(), 16 + 32 + 8 + 32 + 4);
    let log = AnaLog::new_checked(&page[..], OPTS).unwrap();
    assert_eq!(log.change_count(), 0x1122_3344_5566_7788);
    assert_eq!(log.group_count(), 2);
    assert_eq!(log.len(), page.len());
    let groups: Vec<_> = log.groups().collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].grpid, 1);
    assert_eq!(groups[0].change_count, 5);
    assert_eq!(groups[0].state, AnaState::Optimized);
    assert_eq!(groups[0].nsids.iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(groups[1].grpid, 7);
    assert_eq!(groups[1].state, AnaState::Change);
    assert_eq!(groups[1].nsids, NsidList::Slice(&[3]));
    assert_eq!(
        log.group_states().collect::<Vec<_>>(),
        [(1, AccessState::Optimized), (7, AccessState::Change)]
    );
    assert_eq!(log.find_nsid(3), Some((7, AnaState::Change)));
    assert_eq!(log.find_nsid(2), Some((1, AnaState::Optimized)));
    assert_eq!(log.find_nsid(4), None);
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut page = sample();
    let used = page.len();
    page.extend_from_slice(&[0xFF; 40]);
    let log = AnaLog::new_checked(&page[..], OPTS).unwrap();
    assert_eq!(log.len(), used);
    assert_eq!(log.groups().count(), 2);
}

#[test]
fn return_groups_only_has_counts_without_lists() {
    // The same descriptors as `sample` but without NSID lists.
    let full = sample();
    let mut page = Vec::new();
    page.extend_from_slice(&full[..16 + 32]);
    page.extend_from_slice(&full[16 + 32 + 8..16 + 32 + 8 + 32]);
    let opts = AnaLogOptions { rgo: true, ..OPTS };
    let log = AnaLog::new_checked(&page[..], opts).unwrap();
    let groups: Vec<_> = log.groups().collect();
    assert_eq!(groups[0].nsids, NsidList::CountOnly(2));
    assert_eq!(groups[1].nsids, NsidList::CountOnly(1));
    assert_eq!(groups[1].grpid, 7);
    assert_eq!(log.find_nsid(3), None);
    // Read without RGO the same bytes are a truncated NSID list.
    assert!(AnaLog::new_checked(&page[..], OPTS).is_err());
}

#[test]
fn rejects_what_linux_rejects() {
    let base = sample();
    let second = 16 + 32 + 8;
    let set = |at: usize, bytes: &[u8]| {
        let mut p = base.clone();
        p[at..at + bytes.len()].copy_from_slice(bytes);
        p
    };
    let table: [(Vec<u8>, Error); 9] = [
        (
            base[..15].to_vec(),
            Error::Truncated {
                field: "ANA log header",
                offset: 0,
                needed: 16,
            },
        ),
        (
            set(16, &0u32.to_le_bytes()),
            Error::Invalid {
                field: "ANAGRPID",
                offset: 16,
                value: 0,
            },
        ),
        (
            set(second, &129u32.to_le_bytes()),
            Error::Invalid {
                field: "ANAGRPID",
                offset: second,
                value: 129,
            },
        ),
        (
            set(16 + 16, &[0x00]),
            Error::Invalid {
                field: "ANA state",
                offset: 32,
                value: 0,
            },
        ),
        (
            set(second + 16, &[0x05]),
            Error::Invalid {
                field: "ANA state",
                offset: second + 16,
                value: 5,
            },
        ),
        (
            set(second + 16, &[0x0E]),
            Error::Invalid {
                field: "ANA state",
                offset: second + 16,
                value: 0x0E,
            },
        ),
        (
            set(8, &3u16.to_le_bytes()),
            Error::Truncated {
                field: "ANA group descriptor",
                offset: base.len(),
                needed: 32,
            },
        ),
        (
            set(second + 4, &2u32.to_le_bytes()),
            Error::Truncated {
                field: "NSID list",
                offset: second + 32,
                needed: 8,
            },
        ),
        (
            set(16 + 4, &u32::MAX.to_le_bytes()),
            Error::Truncated {
                field: "NSID list",
                offset: 48,
                needed: (u32::MAX as usize) * 4,
            },
        ),
    ];
    for (i, (page, err)) in table.iter().enumerate() {
        assert_eq!(
            AnaLog::new_checked(&page[..], OPTS).map(|_| ()),
            Err(*err),
            "case {i}"
        );
    }
    // Reserved state bits are ignored (bits 7:4 of byte 16).
    let log_page = set(16 + 16, &[0x52]);
    let log = AnaLog::new_checked(&log_page[..], OPTS).unwrap();
    assert_eq!(log.groups().next().unwrap().state, AnaState::NonOptimized);
}

#[test]
fn states_map_to_core_access_states() {
    let table = [
        (0x01, AnaState::Optimized, AccessState::Optimized),
        (0x02, AnaState::NonOptimized, AccessState::NonOptimized),
        (0x03, AnaState::Inaccessible, AccessState::Inaccessible),
        (0x04, AnaState::PersistentLoss, AccessState::PersistentLoss),
        (0x0F, AnaState::Change, AccessState::Change),
    ];
    for (code, state, access) in table {
        assert_eq!(AnaState::from_byte(code), Some(state));
        assert_eq!(state.code(), code);
        assert_eq!(AccessState::from(state), access);
    }
    for code in [0x00, 0x05, 0x0E] {
        assert_eq!(AnaState::from_byte(code), None);
    }
    assert_eq!(AnaState::ALL.len(), table.len());
}

#[test]
fn emit_checks_buffer_and_counts() {
    let groups = [AnaGroupRepr {
        grpid: 1,
        change_count: 0,
        state: AnaState::Optimized,
        nsids: NsidList::Slice(&[9, 10]),
    }];
    let repr = AnaLogRepr {
        change_count: 1,
        groups: &groups,
    };
    assert_eq!(repr.buffer_len(), 16 + 32 + 8);
    let mut small = [0u8; 55];
    assert_eq!(
        repr.emit(&mut small),
        Err(Error::BufferTooSmall {
            needed: 56,
            available: 55
        })
    );
    let mut buf = [0xAAu8; 56];
    repr.emit(&mut buf).unwrap();
    assert_eq!(&buf[8..16], &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&buf[16 + 17..16 + 32], &[0; 15]);
}

#[test]
fn log_buffer_size_as_linux() {
    assert_eq!(max_log_len(4, 10, false), Some(16 + 4 * 32 + 40));
    assert_eq!(max_log_len(4, 10, true), Some(16 + 4 * 32));
    assert_eq!(
        max_log_len(u32::MAX, u32::MAX, false).is_some(),
        usize::BITS > 32
    );
}

fn arb_state() -> impl Strategy<Value = AnaState> {
    prop::sample::select(AnaState::ALL.to_vec())
}

type Group = (u32, u64, AnaState, Vec<u32>);

fn arb_groups() -> impl Strategy<Value = Vec<Group>> {
    prop::collection::vec(
        (
            1u32..=128,
            any::<u64>(),
            arb_state(),
            prop::collection::vec(any::<u32>(), 0..6),
        ),
        0..6,
    )
}

fn reprs(groups: &[Group], rgo: bool) -> Vec<AnaGroupRepr<'_>> {
    groups
        .iter()
        .map(|(grpid, change_count, state, nsids)| AnaGroupRepr {
            grpid: *grpid,
            change_count: *change_count,
            state: *state,
            nsids: if rgo {
                NsidList::CountOnly(u32::try_from(nsids.len()).unwrap())
            } else {
                NsidList::Slice(nsids)
            },
        })
        .collect()
}

proptest! {
    #[test]
    fn emit_parse_round_trips(change_count: u64, groups in arb_groups(), rgo: bool) {
        let groups = reprs(&groups, rgo);
        let repr = AnaLogRepr { change_count, groups: &groups };
        let mut buf = alloc::vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        let log = AnaLog::new_checked(&buf[..], AnaLogOptions { anagrpmax: 128, rgo }).unwrap();
        prop_assert_eq!(log.change_count(), change_count);
        prop_assert_eq!(log.len(), buf.len());
        prop_assert_eq!(log.groups().collect::<Vec<_>>(), groups);
    }

    #[test]
    fn random_bytes_never_panic_and_reemit_stably(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        anagrpmax: u32,
        rgo: bool,
    ) {
        let opts = AnaLogOptions { anagrpmax, rgo };
        if let Ok(log) = AnaLog::new_checked(&bytes[..], opts) {
            let groups: Vec<_> = log.groups().collect();
            prop_assert_eq!(groups.len(), usize::from(log.group_count()));
            let repr = AnaLogRepr { change_count: log.change_count(), groups: &groups };
            let mut out = alloc::vec![0u8; repr.buffer_len()];
            repr.emit(&mut out).unwrap();
            let again = AnaLog::new_checked(&out[..], opts).unwrap();
            prop_assert_eq!(again.groups().collect::<Vec<_>>(), groups);
        }
    }

    #[test]
    fn sparse_pages_parse(ngrps in 0u16..4, grpid in 1u32..4, state in 0u8..=255, nnsids in 0u32..3, len in 0usize..200) {
        // Plausible headers over short buffers: the interesting boundary cases.
        let mut page = alloc::vec![0u8; len.max(16)];
        page[8..10].copy_from_slice(&ngrps.to_le_bytes());
        if page.len() >= 48 {
            page[16..20].copy_from_slice(&grpid.to_le_bytes());
            page[20..24].copy_from_slice(&nnsids.to_le_bytes());
            page[32] = state;
        }
        let page = &page[..len.min(page.len())];
        match AnaLog::new_checked(page, OPTS) {
            Ok(log) => {
                prop_assert_eq!(log.groups().count(), usize::from(ngrps));
                prop_assert!(log.len() <= page.len());
            }
            // Only a short page or a bad state/group can fail.
            Err(e) => {
                let expected = matches!(e, Error::Truncated { .. } | Error::Invalid { .. });
                prop_assert!(expected, "{e:?}");
            }
        }
    }
}
