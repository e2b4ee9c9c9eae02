//! Model check (loom) of the counting selectors' load publication
//! (`src/load.rs`): two CPUs end I/Os a third started, each on its own
//! cursor, while the third selects. Over every interleaving: the published
//! count only ever moves by whole batches, every CPU's view stays within
//! the stated bound, and once every cursor has published, the count is
//! exact: no batch is lost or applied twice.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p mpath-core --test
//! loom_load --release` (`scripts/test-all.sh` does).
#![cfg(loom)]

use loom::thread;
use mpath_core::load::PUBLISH_IOS;
use mpath_core::*;
use std::sync::Arc;

type Ctl = Controller<Arc<DataPlane<2>>, 2, 16, 2>;

const T0: Instant = Instant::from_nanos(1);

#[test]
fn publication_loses_nothing_and_views_stay_within_the_bound() {
    loom::model(|| {
        let dp = Arc::new(DataPlane::<2>::new());
        let mut cfg = Config::DEFAULT;
        cfg.policy = Policy::QueueDepth;
        let mut ctl = Ctl::new(Arc::clone(&dp), cfg).unwrap();
        let a = ctl
            .add_path(PathSpec::new(GroupId(1), NexusId(1)), T0)
            .unwrap();
        let b = ctl
            .add_path(PathSpec::new(GroupId(1), NexusId(2)), T0)
            .unwrap();
        // The submitting CPU starts two batches on `a`: both published.
        let batch = PUBLISH_IOS as usize;
        let mut submitter: Cursor<2> = Cursor::new(Locality(0));
        let mut tickets: Vec<Ticket> = (0..2 * batch)
            .map(|k| {
                dp.start(&mut submitter, a, Io::read(k as u64, 4096, 0), T0)
                    .unwrap()
            })
            .collect();
        assert_eq!(dp.inflight(a.slot()), 2 * PUBLISH_IOS);
        assert_eq!(submitter.unpublished(a.slot()), (0, 0));
        // Two CPUs each end one batch.
        let completers: Vec<_> = [tickets.split_off(batch), tickets]
            .into_iter()
            .map(|batch| {
                let dp = Arc::clone(&dp);
                thread::spawn(move || {
                    let mut cursor: Cursor<2> = Cursor::new(Locality(0));
                    for t in batch {
                        dp.complete(&mut cursor, t, T0).unwrap();
                        let (seen, _) = dp.load_seen_by(&cursor, a.slot());
                        assert!(seen <= u64::from(2 * PUBLISH_IOS), "{seen}");
                    }
                    cursor
                })
            })
            .collect();
        // Meanwhile the submitting CPU reads and selects: the published
        // count is always a whole number of batches, and `a` is chosen only
        // when it is seen idle (`b` is).
        let selector = {
            let dp = Arc::clone(&dp);
            thread::spawn(move || {
                let seen = dp.inflight(a.slot());
                assert!(seen % PUBLISH_IOS == 0 && seen <= 2 * PUBLISH_IOS, "{seen}");
                let picked = dp.select(&mut submitter, &Io::read(99, 4096, 0), T0);
                let (after, _) = dp.load_seen_by(&submitter, a.slot());
                assert!(
                    picked == Some(b) || (picked == Some(a) && after == 0),
                    "{picked:?}"
                );
                seen
            })
        };
        for c in completers {
            let c = c.join().unwrap();
            assert_eq!(c.unpublished(a.slot()), (0, 0), "a whole batch published");
        }
        let _seen = selector.join().unwrap();
        assert_eq!(dp.published_load(a.slot()), (0, 0), "exact after both");
    });
}
