//! Admission: a device admits at most its requeue depth of I/O, started
//! and held together, so a failed completion always finds room. Credits
//! move between the shared pool, the cursors, tickets and held I/O; none is
//! created or lost.

use mpath_core::*;

type Ctl<'a> = Controller<&'a DataPlane<4>, 4, 8, 2>;

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// Credits everywhere: the pool plus what each cursor keeps.
fn credits(dp: &DataPlane<4>, cursors: &[&Cursor<4>], ctl: &Ctl<'_>) -> u32 {
    dp.credits_available() + cursors.iter().map(|c| c.credits()).sum::<u32>() + ctl.cursor_credits()
}

#[test]
fn credits_bound_outstanding_io_and_are_conserved() {
    let dp: DataPlane<4> = DataPlane::new();
    let mut ctl: Ctl<'_> = Controller::new(&dp, Config::DEFAULT).unwrap();
    let a = ctl
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), t(0))
        .unwrap();
    let _b = ctl
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), t(0))
        .unwrap();
    while ctl.poll_action().is_some() {}
    assert_eq!(dp.credits_available(), 8);
    let mut cpu0: Cursor<4> = Cursor::new(Locality(0));
    let mut cpu1: Cursor<4> = Cursor::new(Locality(0));
    // Two CPUs start I/O until the budget is spent: exactly 8 get in.
    let mut tickets = Vec::new();
    let mut refused = 0;
    for tag in 0..20u64 {
        let cpu = if tag % 2 == 0 { &mut cpu0 } else { &mut cpu1 };
        match dp.submit(cpu, Io::write(tag, 512, 0), t(1)) {
            Ok(tk) => tickets.push(tk),
            Err(io) => {
                assert_eq!(io.tag, IoTag(tag), "handed back unstarted");
                refused += 1;
            }
        }
    }
    assert_eq!(tickets.len(), 8);
    assert_eq!(refused, 12);
    // The slow path is refused too, before anything is dispatched.
    match ctl.submit(Io::write(99, 512, 0), t(1)).unwrap() {
        Disposition::Busy(io) => assert_eq!(io.tag, IoTag(99)),
        other => panic!("{other:?}"),
    }
    // `start` with no credit hands the I/O back.
    assert_eq!(
        dp.start(&mut cpu0, a, Io::read(100, 512, 0), t(1)),
        Err(Io::read(100, 512, 0))
    );
    // Every I/O on `a` fails: each finds room in the requeue (depth 8).
    let mut held = 0;
    for tk in std::mem::take(&mut tickets) {
        if tk.path() == a {
            let c = Outcome::PathError(PathErrorKind::Transport).into();
            match ctl.handle_completion(tk, c, t(2)).unwrap() {
                Disposition::Queued => held += 1,
                Disposition::Dispatch(tk) => tickets.push(tk),
                other => panic!("a failed completion is never refused: {other:?}"),
            }
        } else {
            tickets.push(tk);
        }
    }
    assert!(held > 0);
    assert_eq!(ctl.queued(), held);
    // Cancel one held write: its credit comes back.
    let before = credits(&dp, &[&cpu0, &cpu1], &ctl);
    assert!((0..20).map(IoTag).any(|g| ctl.cancel(g, t(3)).is_ok()));
    assert_eq!(credits(&dp, &[&cpu0, &cpu1], &ctl), before + 1);
    // Held writes go out after the quiesce time; complete everything.
    ctl.handle_timeout(t(200)).unwrap();
    while let Some(act) = ctl.poll_action() {
        match act {
            Action::Dispatch(tk) => tickets.push(tk),
            Action::Probe(p) => ctl.handle_probe(p, ProbeResult::Down, t(200)).unwrap(),
            other => panic!("{other:?}"),
        }
    }
    for (i, tk) in tickets.into_iter().enumerate() {
        let cpu = if i % 2 == 0 { &mut cpu0 } else { &mut cpu1 };
        dp.complete(cpu, tk, t(201)).unwrap();
    }
    assert_eq!(ctl.queued(), 0);
    assert_eq!(
        credits(&dp, &[&cpu0, &cpu1], &ctl),
        8,
        "none created or lost"
    );
    // A CPU going idle gives back what it keeps.
    dp.release_credits(&mut cpu0);
    dp.release_credits(&mut cpu1);
    assert_eq!(cpu0.credits() + cpu1.credits(), 0);
    assert_eq!(dp.credits_available() + ctl.cursor_credits(), 8);
}

/// A cursor keeps at most two batches: a CPU that completes much more than
/// it submits (completions steered to it) gives the surplus back.
#[test]
fn a_cursor_keeps_at_most_two_batches() {
    let dp: DataPlane<4> = DataPlane::new();
    let mut ctl: Controller<&DataPlane<4>, 4, 64, 2> =
        Controller::new(&dp, Config::DEFAULT).unwrap();
    ctl.add_path(PathSpec::new(GroupId(1), NexusId(1)), t(0))
        .unwrap();
    let mut submitter: Cursor<4> = Cursor::new(Locality(0));
    let mut completer: Cursor<4> = Cursor::new(Locality(0));
    let tickets: Vec<_> = (0..40)
        .map(|tag| {
            dp.submit(&mut submitter, Io::read(tag, 512, 0), t(1))
                .unwrap()
        })
        .collect();
    for tk in tickets {
        dp.complete(&mut completer, tk, t(2)).unwrap();
        assert!(completer.credits() <= 2 * mpath_core::dataplane::CREDIT_BATCH);
    }
    assert!(submitter.credits() < mpath_core::dataplane::CREDIT_BATCH);
    assert_eq!(
        dp.credits_available() + submitter.credits() + completer.credits(),
        64
    );
}
