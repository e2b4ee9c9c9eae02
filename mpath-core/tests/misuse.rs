//! API misuse gets a typed error and leaves state unchanged.

mod common;
use common::*;
use mpath_core::*;

fn fingerprint(d: &Dev) -> String {
    format!(
        "{:?}\n{}\n{:?}",
        d.controller().device_snapshot(),
        d.controller().topology("dev"),
        d.controller().poll_timeout()
    )
}

#[test]
fn stale_unknown_duplicate_full_and_backwards_time() {
    let mut cfg = Config::DEFAULT;
    cfg.delayed_removal = Duration::from_secs(60);
    let mut d: Multipath<2, 4, 2> = Multipath::new(cfg).unwrap();
    let a = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), secs(1))
        .unwrap();
    d.controller_mut().remove_path(a, secs(2)).unwrap();
    let b = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), secs(3))
        .unwrap();
    assert_eq!(a.slot(), b.slot(), "slot reused with a new generation");
    let state = format!("{:?}", d.controller().device_snapshot());

    assert_eq!(
        d.controller_mut().fail_path(a, secs(4)),
        Err(Error::StalePath(a))
    );
    let bogus = PathId::from_raw(0x0001_0007);
    assert_eq!(
        d.controller_mut().fail_path(bogus, secs(4)),
        Err(Error::UnknownPath(bogus))
    );
    let future = PathId::from_raw(b.to_raw() + 0x0001_0000);
    assert_eq!(
        d.controller_mut()
            .handle_probe(future, ProbeResult::Up, secs(4)),
        Err(Error::UnknownPath(future))
    );
    let dup = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), secs(4))
        .unwrap_err();
    assert_eq!(dup.error, Error::DuplicateNexus(NexusId(2)));
    assert_eq!(dup.item, PathSpec::new(GroupId(1), NexusId(2)));
    d.controller_mut()
        .add_path(PathSpec::new(GroupId(2), NexusId(3)), secs(4))
        .unwrap();
    let state2 = format!("{:?}", d.controller().device_snapshot());
    assert_ne!(state, state2);
    let full = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(2), NexusId(4)), secs(5))
        .unwrap_err();
    assert_eq!(full.error, Error::PathTableFull);
    assert_eq!(format!("{:?}", d.controller().device_snapshot()), state2);
    // Group table full (G = 2).
    assert_eq!(
        d.controller_mut().handle_access_state(
            GroupId(3),
            GroupAccess::new(AccessState::Standby),
            secs(5)
        ),
        Err(Error::GroupTableFull)
    );
    assert_eq!(
        d.controller_mut()
            .set_transition_timeout(GroupId(9), Duration::from_secs(1)),
        Err(Error::UnknownGroup(GroupId(9)))
    );
}

#[test]
fn time_going_backwards_is_refused_everywhere_without_change() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(10));
    let t = dispatched(submit(&mut d, Io::write(1, 512, 0), secs(10)));
    let before = fingerprint(&d);
    let back = secs(9);
    let want = Error::Time(TimeError::WentBackwards {
        now: back,
        last: secs(10),
    });
    let c = d.controller_mut();
    assert_eq!(c.handle_timeout(back), Err(want));
    assert_eq!(c.fail_path(a, back), Err(want));
    assert_eq!(c.handle_probe(a, ProbeResult::Down, back), Err(want));
    assert_eq!(
        c.handle_access_state(GroupId(1), GroupAccess::new(AccessState::Standby), back),
        Err(want)
    );
    let pr = mpath_core::reservation::Coordinator::<8>::new(
        mpath_core::reservation::RegistrationScope::Nexus,
    );
    assert_eq!(c.apply_reservation(&pr, back), Err(want));
    assert_eq!(
        c.add_path(PathSpec::new(GroupId(1), NexusId(5)), back)
            .unwrap_err()
            .error,
        want
    );
    assert_eq!(
        c.submit(Io::read(2, 512, 0), back).unwrap_err().item,
        Io::read(2, 512, 0)
    );
    // The ticket comes back untouched and can still be completed.
    let rejected = c.handle_completion(t, path_err(), back).unwrap_err();
    assert_eq!(rejected.error, want);
    assert_eq!(fingerprint(&d), before);
    let t = rejected.item;
    assert!(matches!(
        d.complete(t, Outcome::Success.into(), secs(10)).unwrap(),
        Disposition::Done { result: Ok(()), .. }
    ));
}

#[test]
fn results_for_commands_never_sent() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(1));
    assert_eq!(
        d.controller_mut().handle_refresh_result(a, true, secs(2)),
        Err(Error::NotPending {
            what: "access-state refresh"
        })
    );
    assert_eq!(
        d.controller_mut()
            .handle_activation_result(GroupId(1), ActivationResult::Done, secs(2)),
        Err(Error::NotPending { what: "activation" })
    );
    assert_eq!(
        d.controller_mut().cancel(IoTag(42), secs(2)),
        Err(Error::UnknownIo(IoTag(42)))
    );
}

#[test]
fn bad_configuration_is_refused() {
    let mut cfg = Config::DEFAULT;
    cfg.probe.timeout = Duration::ZERO;
    assert!(matches!(
        Multipath::<4>::new(cfg),
        Err(ConfigError::ZeroInterval { .. })
    ));
    let mut d = dev(Config::DEFAULT);
    assert!(matches!(
        d.controller_mut()
            .set_no_path_policy(NoPathPolicy::QueueFor(Duration::ZERO), secs(1)),
        Err(Error::Config(_))
    ));
}

#[test]
fn completion_for_a_removed_path_is_failed_over_not_lost() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(1));
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(1));
    let t = dispatched(submit(&mut d, Io::read(1, 512, 0), secs(2)));
    let gone = t.path();
    d.controller_mut().remove_path(gone, secs(3)).unwrap();
    let other = if gone == a { b } else { a };
    let r = dispatched(d.complete(t, path_err(), secs(4)).unwrap());
    assert_eq!(r.path(), other);
    d.complete_ok(r, secs(4)).unwrap();
}

#[test]
fn topology_reads_like_multipath_ll() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(1));
    add(&mut d, 2, 2, AccessState::Standby, secs(1));
    d.controller_mut().fail_path(a, secs(2)).unwrap();
    let text = d.controller().topology("mpatha").to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("mpatha live policy='round-robin'"),
        "{text}"
    );
    assert!(lines[1].contains("group 1 access=optimized"), "{text}");
    assert!(
        lines[2].contains("down") || lines[2].contains("failed by admin"),
        "{text}"
    );
    assert!(lines[2].contains("tier=ineligible"), "{text}");
    assert!(lines[3].contains("group 2 access=standby"), "{text}");
    assert_eq!(lines.len(), 5, "{text}");
}

/// A ticket carries the identity of the device that issued it. Completing
/// device 1's ticket on device 2, as a failure or a success, is refused
/// with the ticket handed back; device 2's paths, counters and in-flight
/// counts are untouched, and device 1 still takes it.
#[test]
fn a_ticket_from_another_device_is_refused_and_changes_nothing() {
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::QueueDepth;
    let mut d1 = dev(cfg);
    let mut d2 = dev(cfg);
    assert_ne!(
        d1.controller().data_plane().device_id(),
        d2.controller().data_plane().device_id()
    );
    let a1 = add(&mut d1, 1, 1, AccessState::Optimized, secs(0));
    let a2 = add(&mut d2, 1, 1, AccessState::Optimized, secs(0));
    assert_eq!(a1, a2, "same slot and generation on both devices");
    let t1 = dispatched(submit(&mut d1, Io::write(1, 4096, 3), secs(1)));
    let t2 = dispatched(submit(&mut d2, Io::write(2, 4096, 3), secs(1)));
    let before = fingerprint(&d2);
    let clock = d2.controller().now();
    let inflight = |d: &Dev, p: PathId| d.controller().path_snapshot(p, &[]).unwrap().inflight;
    assert_eq!(inflight(&d2, a2), 1);

    let refused = d2.complete(t1, path_err(), secs(2)).unwrap_err();
    assert_eq!(
        refused.error,
        Error::ForeignTicket {
            issued_by: d1.controller().data_plane().device_id(),
            device: d2.controller().data_plane().device_id(),
        }
    );
    let t1 = refused.item;
    let refused = d2.complete_ok(t1, secs(2)).unwrap_err();
    assert!(matches!(refused.error, Error::ForeignTicket { .. }));
    let t1 = refused.item;
    assert_eq!(fingerprint(&d2), before);
    assert_eq!(inflight(&d2, a2), 1);
    assert_eq!(d2.controller().tier(a2).unwrap(), Tier::Optimized);
    assert_eq!(d2.controller().now(), clock, "not even the clock moved");

    assert_eq!(d1.complete_ok(t1, secs(2)).unwrap().tag, IoTag(1));
    assert_eq!(inflight(&d1, a1), 0);
    assert_eq!(d2.complete_ok(t2, secs(2)).unwrap().tag, IoTag(2));
    assert_eq!(inflight(&d2, a2), 0);
}

/// Unknown versus stale ids: a generation the slot never had (zero, or
/// the slot's next one) is unknown; one it had is stale. Getters read back.
#[test]
fn unknown_and_stale_ids_and_getters() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(1));
    assert_eq!(d.controller().now(), secs(1));
    d.controller_mut().remove_path(a, secs(2)).unwrap();
    assert_eq!(d.controller().now(), secs(2));
    let next = PathId::from_raw(a.to_raw() + 0x0001_0000);
    let zero = PathId::from_raw(a.to_raw() & 0xffff);
    let empty_zero = PathId::from_raw(5);
    assert_eq!(d.controller().tier(a), Err(Error::StalePath(a)));
    assert_eq!(d.controller().tier(next), Err(Error::UnknownPath(next)));
    assert_eq!(d.controller().tier(zero), Err(Error::UnknownPath(zero)));
    assert_eq!(
        d.controller().tier(empty_zero),
        Err(Error::UnknownPath(empty_zero))
    );
    assert!(!d.controller().reservation_key_active());
    let mut pr = mpath_core::reservation::Coordinator::<8>::new(
        mpath_core::reservation::RegistrationScope::Nexus,
    );
    pr.submit(mpath_core::reservation::PrOp::Register(7))
        .unwrap();
    d.controller_mut().apply_reservation(&pr, secs(3)).unwrap();
    assert!(d.controller().reservation_key_active());
}

/// The topology's tree: `|-` before every group and path but the last of
/// its level, `` `- `` before the last, and a pipe under groups that have
/// more after them.
#[test]
fn topology_tree_marks_last_groups_and_paths() {
    let mut d = dev(Config::DEFAULT);
    add(&mut d, 1, 1, AccessState::Optimized, secs(1));
    add(&mut d, 1, 2, AccessState::Optimized, secs(1));
    add(&mut d, 2, 3, AccessState::Standby, secs(1));
    add(&mut d, 2, 4, AccessState::Standby, secs(1));
    let text = d.controller().topology("m").to_string();
    let marks: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(marks, ["|-+-", "|", "|", "`-+-", "|-", "`-"], "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[2].starts_with("|  |- "), "{text}");
    assert!(lines[3].starts_with("|  `- "), "{text}");
    assert!(lines[5].starts_with("   |- "), "{text}");
    assert!(lines[6].starts_with("   `- "), "{text}");
}
