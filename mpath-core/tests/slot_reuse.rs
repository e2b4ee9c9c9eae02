//! A freed path slot is reused at once by `add_path`; nothing that
//! remembered the slot may mistake the new path for the old one.

mod common;
use common::*;
use mpath_core::*;

/// The locality selector's per-CPU cache named a local path by its slot.
/// After that path is removed and a remote path takes its slot, the cursor
/// must go to the other local path, not keep choosing the remote one.
#[test]
fn locality_cache_does_not_follow_a_reused_slot() {
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::Locality;
    let mut d = dev(cfg);
    let ctl = d.controller_mut();
    let spec =
        |nexus, node| PathSpec::new(GroupId(1), NexusId(nexus)).with_locality(Locality(node));
    let local = ctl.add_path(spec(1, 1), secs(0)).unwrap();
    let _remote = ctl.add_path(spec(2, 0), secs(0)).unwrap();
    let other_local = ctl.add_path(spec(3, 1), secs(0)).unwrap();
    assert_eq!(local.slot(), 0);
    let mut cpu: Cursor<8> = Cursor::new(Locality(1));
    let io = Io::read(1, 4096, 0);
    let dp = d.controller().data_plane();
    assert_eq!(dp.select(&mut cpu, &io, secs(1)), Some(local));
    d.controller_mut().remove_path(local, secs(2)).unwrap();
    let newcomer = d.controller_mut().add_path(spec(4, 0), secs(2)).unwrap();
    assert_eq!(newcomer.slot(), local.slot(), "the slot is reused");
    let dp = d.controller().data_plane();
    for _ in 0..4 {
        assert_eq!(dp.select(&mut cpu, &io, secs(3)), Some(other_local));
    }
}

/// A removed path is no longer current on the data plane: its slot's id is
/// retired with it, so a late completion cannot feed its statistics to
/// whatever takes the slot next.
#[test]
fn a_removed_path_is_retired_from_the_data_plane() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    assert!(d.controller().data_plane().is_current(a));
    d.controller_mut().remove_path(a, secs(1)).unwrap();
    let dp = d.controller().data_plane();
    assert!(!dp.is_current(a));
    assert!(dp.is_current(b));
    assert_eq!(dp.selectable(), 1 << b.slot());
}
