//! Model check (loom) of selection against slot reuse: every interleaving
//! of one CPU selecting a path with the controller removing a path and
//! adding another in the freed slot.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p mpath-core --test
//! loom_select --release` (`scripts/test-all.sh` does). Under `--cfg loom`
//! the data plane is built on loom's atomics (`src/sync.rs`), so this
//! explores the real `select` and the real `remove_path`/`add_path`
//! publication, not a copy of them.
#![cfg(loom)]

use loom::thread;
use mpath_core::*;
use std::sync::Arc;

type Ctl = Controller<Arc<DataPlane<2>>, 2, 4, 2>;

const T0: Instant = Instant::from_nanos(0);

fn spec(group: u32, nexus: u32, state: AccessState, node: u32) -> PathSpec {
    PathSpec::new(GroupId(group), NexusId(nexus))
        .with_access(GroupAccess::new(state))
        .with_locality(Locality(node))
}

/// Two optimized paths, `a` in slot 0 and `b` in slot 1, under `policy`.
fn device(policy: Policy) -> (Arc<DataPlane<2>>, Ctl, PathId, PathId) {
    let dp = Arc::new(DataPlane::<2>::new());
    let mut cfg = Config::DEFAULT;
    cfg.policy = policy;
    let mut ctl = Ctl::new(Arc::clone(&dp), cfg).unwrap();
    let a = ctl
        .add_path(spec(1, 1, AccessState::Optimized, 1), T0)
        .unwrap();
    let b = ctl
        .add_path(spec(1, 2, AccessState::Optimized, 0), T0)
        .unwrap();
    (dp, ctl, a, b)
}

/// The controller swaps `a` for a standby path in slot 0 while `b` stays
/// optimized: the standby path is never selectable, so no selection may
/// return it, whatever the interleaving. With `then_optimized`, the
/// standby path is swapped in turn for an optimized one, so slot 0's bit is
/// set again by the time the selection re-reads the mask.
fn swap_for_standby(policy: Policy, warm_cursor: bool, then_optimized: bool) {
    loom::model(move || {
        let (dp, mut ctl, a, b) = device(policy);
        let mut cursor: Cursor<2> = Cursor::new(Locality(1));
        let io = Io::write(1, 4096, 0);
        if warm_cursor {
            // The locality cache now names `a` (node 1).
            assert_eq!(dp.select(&mut cursor, &io, T0), Some(a));
        }
        let reader = {
            let dp = Arc::clone(&dp);
            thread::spawn(move || dp.select(&mut cursor, &io, T0))
        };
        ctl.remove_path(a, T0).unwrap();
        let standby = ctl
            .add_path(spec(2, 3, AccessState::Standby, 1), T0)
            .unwrap();
        assert_eq!(standby.slot(), a.slot(), "the freed slot is reused");
        assert_eq!(ctl.data_plane().selectable(), 1 << b.slot());
        let mut c = None;
        if then_optimized {
            ctl.remove_path(standby, T0).unwrap();
            let p = ctl
                .add_path(spec(1, 4, AccessState::Optimized, 1), T0)
                .unwrap();
            assert_eq!(p.slot(), a.slot());
            c = Some(p);
        }
        let got = reader.join().unwrap();
        assert_ne!(got, Some(standby), "selected a path never selectable");
        assert!(
            got.is_none() || got == Some(a) || got == Some(b) || got == c,
            "{got:?}"
        );
    });
}

#[test]
fn round_robin_never_selects_a_path_that_was_never_selectable() {
    swap_for_standby(Policy::RoundRobin, false, false);
}

#[test]
fn round_robin_never_selects_a_slot_reused_twice() {
    swap_for_standby(Policy::RoundRobin, false, true);
}

#[test]
fn locality_cache_never_selects_a_path_that_was_never_selectable() {
    swap_for_standby(Policy::Locality, true, false);
}

#[test]
fn locality_cache_never_selects_a_slot_reused_twice() {
    swap_for_standby(Policy::Locality, true, true);
}

#[test]
fn queue_depth_never_selects_a_path_that_was_never_selectable() {
    swap_for_standby(Policy::QueueDepth, false, false);
}
