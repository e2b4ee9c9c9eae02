//! ALUA / ANA access states, tiers, activation, PR gate, switch_group,
//! failback policies.

mod common;
use common::*;
use mpath_core::*;

fn selectable(d: &Dev) -> Vec<PathId> {
    let mask = d.controller().data_plane().selectable();
    d.controller()
        .path_ids()
        .filter(|p| mask & (1 << p.slot()) != 0)
        .collect()
}

#[test]
fn best_tier_only_and_marginal_as_last_resort() {
    let mut d = dev(Config::DEFAULT);
    let ao = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let ano = add(&mut d, 2, 2, AccessState::NonOptimized, ms(0));
    let sb = add(&mut d, 3, 3, AccessState::Standby, ms(0));
    assert_eq!(selectable(&d), vec![ao]);
    assert_eq!(d.controller().active_tier(), Some(Tier::Optimized));
    d.controller_mut().set_marginal(ao, ms(1)).unwrap();
    assert_eq!(selectable(&d), vec![ano]);
    d.controller_mut().fail_path(ano, ms(2)).unwrap();
    assert_eq!(
        selectable(&d),
        vec![ao],
        "marginal used when nothing better"
    );
    assert_eq!(d.controller().active_tier(), Some(Tier::Marginal));
    assert_eq!(d.controller().tier(sb).unwrap(), Tier::Ineligible);
    d.controller_mut().clear_marginal(ao, ms(3)).unwrap();
    assert_eq!(d.controller().active_tier(), Some(Tier::Optimized));
}

#[test]
fn preferred_bit_narrows_within_a_tier() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = d
        .controller_mut()
        .add_path(
            PathSpec::new(GroupId(2), NexusId(2))
                .with_access(GroupAccess::preferred(AccessState::Optimized)),
            ms(0),
        )
        .unwrap();
    assert_eq!(selectable(&d), vec![b]);
    d.controller_mut().fail_path(b, ms(1)).unwrap();
    assert_eq!(selectable(&d), vec![a]);
}

/// The admission gate follows the reservation coordinator: while a key
/// is set, only paths whose nexus is registered carry I/O; a new path is
/// registered before it is admitted.
#[test]
fn pr_gate_admits_only_registered_paths_while_a_key_is_set() {
    use mpath_core::reservation::{Coordinator, PrCommand, PrOp, PrReply, RegistrationScope};
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    let mut pr: Coordinator<8> = Coordinator::new(RegistrationScope::Nexus);
    pr.path_added(a, 1, true);
    pr.path_added(b, 2, true);
    pr.submit(PrOp::Register(0xA1)).unwrap();
    // The coordinator asks for both registrations; `b`'s fails.
    let mut asked = Vec::new();
    while let Some(act) = pr.poll_action() {
        asked.push(act.via);
        let reply = match act.command {
            PrCommand::Register { .. } if act.via == b => PrReply::PathFailed,
            PrCommand::ReadKeys => PrReply::Keys {
                ours: 1,
                total: 1,
                here: None,
            },
            _ => PrReply::Done,
        };
        assert!(pr.reply(act.via, reply));
        d.controller_mut().apply_reservation(&pr, ms(1)).unwrap();
        if act.via == a && act.command == (PrCommand::Register { key: 0xA1 }) {
            assert!(
                !selectable(&d).contains(&b),
                "not admitted before it is registered"
            );
        }
    }
    assert!(asked.contains(&a) && asked.contains(&b));
    assert_eq!(selectable(&d), vec![a]);
    assert_eq!(d.controller().tier(b).unwrap(), Tier::Ineligible);
    // A new path is not admitted until registered.
    let c = add(&mut d, 1, 3, AccessState::Optimized, ms(3));
    pr.path_added(c, 3, true);
    d.controller_mut().apply_reservation(&pr, ms(3)).unwrap();
    assert_eq!(d.controller().tier(c).unwrap(), Tier::Ineligible);
    while let Some(act) = pr.poll_action() {
        let reply = match act.command {
            PrCommand::ReadKeys => PrReply::Keys {
                ours: 2,
                total: 2,
                here: None,
            },
            _ => PrReply::Done,
        };
        assert!(pr.reply(act.via, reply));
    }
    d.controller_mut().apply_reservation(&pr, ms(4)).unwrap();
    assert_eq!(selectable(&d), vec![a, c]);
    // Unregistered everywhere: the gate opens for every path.
    assert!(matches!(
        pr.poll_event(),
        Some(mpath_core::reservation::PrEvent::Finished { .. })
    ));
    pr.submit(PrOp::Unregister).unwrap();
    while let Some(act) = pr.poll_action() {
        let reply = match act.command {
            PrCommand::ReadReservation => PrReply::Reservation(None),
            _ => PrReply::Done,
        };
        assert!(pr.reply(act.via, reply));
    }
    d.controller_mut().apply_reservation(&pr, ms(5)).unwrap();
    assert_eq!(selectable(&d), vec![a, b, c]);
}

#[test]
fn alua_transition_polls_then_times_out_to_standby() {
    let mut cfg = Config::DEFAULT;
    cfg.access.transition_timeout = Duration::from_secs(10);
    cfg.access.transition_poll = Duration::from_secs(2);
    cfg.no_path = NoPathPolicy::Queue;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    drain(&mut d);
    // An I/O meets 02/04/0A: failed over (no other path: held) and the
    // group is taken to be transitioning at once.
    let t = dispatched(submit(&mut d, Io::read(1, 512, 0), secs(1)));
    let c: Completion = Completion {
        outcome: Outcome::PathError(PathErrorKind::Transitioning),
        notices: Notices::ACCESS_STATE_CHANGED,
    };
    assert_eq!(d.complete(t, c, secs(1)).unwrap(), Disposition::Queued);
    assert_eq!(
        d.controller().group_access(GroupId(1)).unwrap().state,
        AccessState::Transitioning
    );
    let acts = drain(&mut d);
    assert!(acts.contains(&Action::RefreshAccessState { via: a }));
    d.controller_mut()
        .handle_refresh_result(a, true, secs(1))
        .unwrap();
    // Polls every 2 s.
    d.controller_mut().handle_timeout(secs(3)).unwrap();
    assert!(drain(&mut d).contains(&Action::RefreshAccessState { via: a }));
    d.controller_mut()
        .handle_refresh_result(a, true, secs(3))
        .unwrap();
    // Past the timeout: standby; I/O still held (queue policy).
    d.controller_mut().handle_timeout(secs(11)).unwrap();
    let acts = drain(&mut d);
    assert!(acts.contains(&Action::TransitionTimedOut { group: GroupId(1) }));
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.access, AccessState::Standby);
    assert_eq!(d.controller().queued(), 1);
    // The array finishes: the I/O goes out.
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            secs(12),
        )
        .unwrap();
    assert!(drain(&mut d)
        .iter()
        .any(|x| matches!(x, Action::Dispatch(t) if t.path() == a)));
}

#[test]
fn ana_change_past_anatt_raises_an_action() {
    let mut cfg = Config::DEFAULT;
    cfg.access.protocol = AccessProtocol::Ana;
    let mut d = dev(cfg);
    let a = add(&mut d, 7, 1, AccessState::Optimized, secs(0));
    d.controller_mut()
        .set_transition_timeout(GroupId(7), Duration::from_secs(5))
        .unwrap();
    let t = dispatched(submit(&mut d, Io::read(1, 512, 0), secs(1)));
    let _ = d
        .complete(
            t,
            Outcome::PathError(PathErrorKind::Transitioning).into(),
            secs(1),
        )
        .unwrap();
    assert_eq!(
        d.controller().group_access(GroupId(7)).unwrap().state,
        AccessState::Change
    );
    d.controller_mut().handle_timeout(secs(6)).unwrap();
    assert!(drain(&mut d).contains(&Action::TransitionTimedOut { group: GroupId(7) }));
    assert_eq!(
        d.controller().path_snapshot(a, &[]).unwrap().access,
        AccessState::Inaccessible
    );
}

#[test]
fn a_path_moves_to_another_group() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    let c = add(&mut d, 2, 3, AccessState::NonOptimized, ms(0));
    assert_eq!(selectable(&d), vec![a, b]);
    // b's target port now reports in group 2.
    d.controller_mut()
        .move_path_to_group(b, GroupId(2), None, ms(1))
        .unwrap();
    assert_eq!(selectable(&d), vec![a]);
    assert_eq!(d.controller().tier(b).unwrap(), Tier::NonOptimized);
    // a moves to a group not seen before, in standby: group 1 is left
    // empty and forgotten, and the non-optimized paths carry I/O.
    d.controller_mut()
        .move_path_to_group(
            a,
            GroupId(3),
            Some(GroupAccess::new(AccessState::Standby)),
            ms(2),
        )
        .unwrap();
    assert_eq!(d.controller().group_access(GroupId(1)), None);
    assert_eq!(selectable(&d), vec![b, c]);
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
    let snap = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(
        (snap.group, snap.access),
        (GroupId(3), AccessState::Standby)
    );
    // Misuse leaves everything as it was.
    assert!(matches!(
        d.controller_mut()
            .move_path_to_group(a, GroupId(1), None, ms(1)),
        Err(Error::Time(_))
    ));
    add(&mut d, 4, 4, AccessState::Optimized, ms(3));
    add(&mut d, 5, 5, AccessState::Optimized, ms(3));
    assert_eq!(
        d.controller_mut()
            .move_path_to_group(c, GroupId(9), None, ms(4)),
        Err(Error::GroupTableFull),
        "four groups, and group 2 keeps b"
    );
    assert_eq!(
        d.controller().path_snapshot(c, &[]).unwrap().group,
        GroupId(2)
    );
    // The last path of a group may move to a new one: its entry is reused.
    d.controller_mut()
        .move_path_to_group(a, GroupId(9), None, ms(4))
        .unwrap();
    assert_eq!(d.controller().group_access(GroupId(3)), None);
    d.controller_mut().remove_path(a, ms(5)).unwrap();
    assert_eq!(
        d.controller_mut()
            .move_path_to_group(a, GroupId(2), None, ms(5)),
        Err(Error::StalePath(a))
    );
}

#[test]
fn non_optimized_carrying_io_is_activated_only_when_asked() {
    let activations = |d: &mut Dev| -> Vec<GroupId> {
        drain(d)
            .iter()
            .filter_map(|a| match a {
                Action::ActivateGroup { group, .. } => Some(*group),
                _ => None,
            })
            .collect()
    };
    for optimize in [false, true] {
        let mut cfg = Config::DEFAULT;
        cfg.access.explicit_activation = true;
        cfg.access.activate_non_optimized = optimize;
        let mut d = dev(cfg);
        let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
        let ano = add(&mut d, 2, 2, AccessState::NonOptimized, secs(0));
        let _sb = add(&mut d, 3, 3, AccessState::Standby, secs(0));
        drain(&mut d);
        d.controller_mut().fail_path(ao, secs(1)).unwrap();
        assert_eq!(selectable(&d), vec![ano]);
        if optimize {
            // scsi_dh_alua with optimize_stpg: STPG the group in use.
            assert_eq!(activations(&mut d), vec![GroupId(2)]);
            continue;
        }
        // The default, as in the kernel: I/O runs on the non-optimized
        // path and the standby group is left alone.
        assert_eq!(activations(&mut d), vec![]);
        // A manual switch to the standby group activates it anyway.
        d.controller_mut()
            .switch_group(Some(GroupId(3)), secs(2))
            .unwrap();
        assert_eq!(activations(&mut d), vec![GroupId(3)]);
        d.controller_mut()
            .handle_activation_result(GroupId(3), ActivationResult::Failed, secs(3))
            .unwrap();
        d.controller_mut().switch_group(None, secs(3)).unwrap();
        drain(&mut d);
        // With the non-optimized path gone too, standby is the way out.
        d.controller_mut().fail_path(ano, secs(4)).unwrap();
        assert_eq!(activations(&mut d), vec![GroupId(3)]);
    }
}

#[test]
fn explicit_activation_when_no_optimized_path_is_left() {
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    cfg.access.activation_retries = 2;
    cfg.access.activation_delay = Duration::from_secs(1);
    cfg.no_path = NoPathPolicy::Queue;
    let mut d = dev(cfg);
    let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let sb = add(&mut d, 2, 2, AccessState::Standby, secs(0));
    drain(&mut d);
    d.controller_mut().fail_path(ao, secs(1)).unwrap();
    let acts = drain(&mut d);
    assert!(acts.contains(&Action::ActivateGroup {
        group: GroupId(2),
        via: sb
    }));
    // Busy twice, then the retries run out.
    d.controller_mut()
        .handle_activation_result(GroupId(2), ActivationResult::Retry, secs(1))
        .unwrap();
    assert!(!drain(&mut d)
        .iter()
        .any(|a| matches!(a, Action::ActivateGroup { .. })));
    d.controller_mut().handle_timeout(secs(2)).unwrap();
    assert!(drain(&mut d).contains(&Action::ActivateGroup {
        group: GroupId(2),
        via: sb
    }));
    d.controller_mut()
        .handle_activation_result(GroupId(2), ActivationResult::Retry, secs(2))
        .unwrap();
    d.controller_mut().handle_timeout(secs(3)).unwrap();
    assert!(drain(&mut d).contains(&Action::ActivateGroup {
        group: GroupId(2),
        via: sb
    }));
    d.controller_mut()
        .handle_activation_result(GroupId(2), ActivationResult::Retry, secs(3))
        .unwrap();
    d.controller_mut().handle_timeout(secs(10)).unwrap();
    assert!(
        !drain(&mut d)
            .iter()
            .any(|a| matches!(a, Action::ActivateGroup { .. })),
        "gave up"
    );
    assert_eq!(
        d.controller_mut()
            .handle_activation_result(GroupId(2), ActivationResult::Done, secs(10)),
        Err(Error::NotPending { what: "activation" })
    );
    // A state change re-arms it; success is followed by a re-read.
    d.controller_mut()
        .handle_access_state(GroupId(2), GroupAccess::new(AccessState::Standby), secs(11))
        .unwrap();
    d.controller_mut()
        .handle_access_state(GroupId(1), GroupAccess::new(AccessState::Standby), secs(11))
        .unwrap();
    let acts = drain(&mut d);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::ActivateGroup { .. })));
    let group = acts
        .iter()
        .find_map(|a| match a {
            Action::ActivateGroup { group, .. } => Some(*group),
            _ => None,
        })
        .unwrap();
    d.controller_mut()
        .handle_activation_result(group, ActivationResult::Done, secs(12))
        .unwrap();
    assert!(drain(&mut d)
        .iter()
        .any(|a| matches!(a, Action::RefreshAccessState { .. })));
}

#[test]
fn switch_group_overrides_tier_order() {
    let mut d = dev(Config::DEFAULT);
    let ao = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let ano = add(&mut d, 2, 2, AccessState::NonOptimized, ms(0));
    d.controller_mut()
        .switch_group(Some(GroupId(2)), ms(1))
        .unwrap();
    assert_eq!(selectable(&d), vec![ano]);
    d.controller_mut().fail_path(ano, ms(2)).unwrap();
    assert_eq!(selectable(&d), vec![ao], "no usable path in the group");
    d.controller_mut().switch_group(None, ms(3)).unwrap();
    assert_eq!(selectable(&d), vec![ao]);
    assert_eq!(
        d.controller_mut().switch_group(Some(GroupId(9)), ms(4)),
        Err(Error::UnknownGroup(GroupId(9)))
    );
}

fn failback_case(fb: Failback) -> (Dev, PathId, PathId) {
    let mut cfg = Config::DEFAULT;
    cfg.failback = fb;
    let mut d = dev(cfg);
    let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let ano = add(&mut d, 2, 2, AccessState::NonOptimized, secs(0));
    d.controller_mut()
        .handle_probe(ao, ProbeResult::Down, secs(1))
        .unwrap();
    assert_eq!(selectable(&d), vec![ano]);
    d.controller_mut()
        .handle_probe(ao, ProbeResult::Up, secs(2))
        .unwrap();
    (d, ao, ano)
}

#[test]
fn failback_policies() {
    let (d, ao, _) = failback_case(Failback::Immediate);
    assert_eq!(selectable(&d), vec![ao]);

    let (mut d, ao, ano) = failback_case(Failback::Manual);
    assert_eq!(selectable(&d), vec![ano]);
    d.controller_mut().handle_timeout(secs(1000)).unwrap();
    assert_eq!(selectable(&d), vec![ano]);
    d.controller_mut().failback(secs(1001)).unwrap();
    assert_eq!(selectable(&d), vec![ao]);

    let (mut d, ao, ano) = failback_case(Failback::Delayed(Duration::from_secs(30)));
    assert_eq!(selectable(&d), vec![ano]);
    assert_eq!(
        d.controller().poll_timeout().map(|t| t <= secs(32)),
        Some(true)
    );
    d.controller_mut().handle_timeout(secs(32)).unwrap();
    assert_eq!(selectable(&d), vec![ao]);

    // Followover: the first path of its group coming back fails back...
    let (d, ao, _) = failback_case(Failback::FollowOver);
    assert_eq!(selectable(&d), vec![ao]);
    // ...an access-state change (another node moved the LU) does not.
    let mut cfg = Config::DEFAULT;
    cfg.failback = Failback::FollowOver;
    let mut d = dev(cfg);
    let g1 = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let g2 = add(&mut d, 2, 2, AccessState::Optimized, secs(0));
    let set = |d: &mut Dev, g: u32, s: AccessState, t: u64| {
        d.controller_mut()
            .handle_access_state(GroupId(g), GroupAccess::new(s), secs(t))
            .unwrap()
    };
    set(&mut d, 1, AccessState::NonOptimized, 1);
    set(&mut d, 2, AccessState::NonOptimized, 1);
    assert_eq!(selectable(&d), vec![g1, g2]);
    // The array makes group 2 optimized (another node asked for it): we
    // stay where we are, on the non-optimized tier.
    set(&mut d, 2, AccessState::Optimized, 2);
    assert_eq!(selectable(&d), vec![g1], "followover stays");
    assert_eq!(d.controller().active_tier(), Some(Tier::NonOptimized));
    // The pinned tier empties: the better one is used after all.
    set(&mut d, 1, AccessState::Standby, 3);
    assert_eq!(selectable(&d), vec![g2]);
    assert_eq!(d.controller().active_tier(), Some(Tier::Optimized));
}

#[test]
fn transition_timeout_set_late_measures_from_the_start() {
    let mut cfg = Config::DEFAULT;
    cfg.access.protocol = AccessProtocol::Ana;
    let mut d = dev(cfg);
    let a = d
        .controller_mut()
        .add_path(
            PathSpec::new(GroupId(3), NexusId(1))
                .with_access(GroupAccess::new(AccessState::Change))
                .with_transition_timeout(Duration::from_secs(10)),
            secs(0),
        )
        .unwrap();
    // ANATT from the spec, not the 60 s default.
    d.controller_mut().handle_timeout(secs(10)).unwrap();
    assert!(drain(&mut d).contains(&Action::TransitionTimedOut { group: GroupId(3) }));
    // Learnt while a transition runs: the deadline moves, from its start.
    d.controller_mut()
        .handle_access_state(GroupId(3), GroupAccess::new(AccessState::Change), secs(20))
        .unwrap();
    d.controller_mut()
        .set_transition_timeout(GroupId(3), Duration::from_secs(4))
        .unwrap();
    d.controller_mut().handle_timeout(secs(24)).unwrap();
    assert!(drain(&mut d).contains(&Action::TransitionTimedOut { group: GroupId(3) }));
    assert_eq!(
        d.controller().path_snapshot(a, &[]).unwrap().access,
        AccessState::Inaccessible
    );
}

#[test]
fn groups_without_paths_are_forgotten() {
    let mut cfg = Config::DEFAULT;
    cfg.delayed_removal = Duration::from_secs(60);
    let mut d: Multipath<4, 4, 2> = Multipath::new(cfg).unwrap();
    for round in 0..5u32 {
        let p = d
            .controller_mut()
            .add_path(
                PathSpec::new(GroupId(100 + round), NexusId(round)),
                secs(round.into()),
            )
            .unwrap();
        d.controller_mut()
            .remove_path(p, secs(round.into()))
            .unwrap();
        assert_eq!(d.controller().group_access(GroupId(100 + round)), None);
    }
}

#[test]
fn a_refresh_asked_for_during_one_in_flight_is_repeated() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    drain(&mut d);
    d.controller_mut()
        .handle_notices(a, Notices::ACCESS_STATE_CHANGED, secs(1))
        .unwrap();
    assert!(drain(&mut d).contains(&Action::RefreshAccessState { via: a }));
    assert!(d.controller().refresh_pending(a).unwrap());
    // A second change notice while the first read is out.
    d.controller_mut()
        .handle_notices(a, Notices::ACCESS_STATE_CHANGED, secs(2))
        .unwrap();
    assert!(!drain(&mut d).contains(&Action::RefreshAccessState { via: a }));
    d.controller_mut()
        .handle_refresh_result(a, true, secs(3))
        .unwrap();
    assert!(drain(&mut d).contains(&Action::RefreshAccessState { via: a }));
    d.controller_mut()
        .handle_refresh_result(a, true, secs(4))
        .unwrap();
    assert!(!d.controller().refresh_pending(a).unwrap());
}

#[test]
fn ana_refresh_goes_only_through_the_groups_own_controller() {
    let mut cfg = Config::DEFAULT;
    cfg.access.protocol = AccessProtocol::Ana;
    cfg.access.transition_poll = Duration::from_secs(1);
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let b = add(&mut d, 2, 2, AccessState::Optimized, secs(0));
    d.controller_mut()
        .handle_access_state(GroupId(1), GroupAccess::new(AccessState::Change), secs(1))
        .unwrap();
    d.controller_mut()
        .handle_probe(a, ProbeResult::Down, secs(1))
        .unwrap();
    drain(&mut d);
    d.controller_mut().handle_timeout(secs(2)).unwrap();
    let acts = drain(&mut d);
    assert!(
        !acts.contains(&Action::RefreshAccessState { via: b }),
        "{acts:?}"
    );
}

/// `NoPathPolicy::Fail` holds I/O only while a path may come back without
/// outside help: a probe reported a transition (pending), a re-read of the
/// access states is under way on a reachable path, or a reachable path's
/// group is transitioning. Otherwise I/O with no usable path fails at once.
#[test]
fn fail_policy_holds_io_only_while_recovery_is_expected() {
    type Setup = fn(&mut Dev, PathId);
    let cases: [(&str, Setup, bool); 7] = [
        (
            "failed by hand",
            |d, a| d.controller_mut().fail_path(a, ms(1)).unwrap(),
            false,
        ),
        (
            "probe pending",
            |d, a| {
                d.controller_mut()
                    .handle_probe(a, ProbeResult::Pending, ms(1))
                    .unwrap()
            },
            true,
        ),
        (
            "probe down",
            |d, a| {
                d.controller_mut()
                    .handle_probe(a, ProbeResult::Down, ms(1))
                    .unwrap()
            },
            false,
        ),
        (
            "standby, re-read under way",
            |d, a| {
                let c = d.controller_mut();
                c.handle_access_state(GroupId(1), GroupAccess::new(AccessState::Standby), ms(1))
                    .unwrap();
                c.handle_notices(a, Notices::ACCESS_STATE_CHANGED, ms(1))
                    .unwrap();
            },
            true,
        ),
        (
            "down, re-read wanted on it",
            |d, a| {
                let c = d.controller_mut();
                c.handle_probe(a, ProbeResult::Down, ms(1)).unwrap();
                c.handle_notices(a, Notices::ACCESS_STATE_CHANGED, ms(1))
                    .unwrap();
            },
            false,
        ),
        (
            "up, group transitioning",
            |d, _| {
                d.controller_mut()
                    .handle_access_state(
                        GroupId(1),
                        GroupAccess::new(AccessState::Transitioning),
                        ms(1),
                    )
                    .unwrap()
            },
            true,
        ),
        (
            "down, group transitioning",
            |d, a| {
                let c = d.controller_mut();
                c.handle_access_state(
                    GroupId(1),
                    GroupAccess::new(AccessState::Transitioning),
                    ms(1),
                )
                .unwrap();
                c.handle_probe(a, ProbeResult::Down, ms(1)).unwrap();
            },
            false,
        ),
    ];
    for (name, setup, held) in cases {
        let mut cfg = Config::DEFAULT;
        cfg.no_path = NoPathPolicy::Fail;
        let mut d = dev(cfg);
        let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
        setup(&mut d, a);
        assert_eq!(d.controller().active_tier(), None, "{name}: no usable path");
        match submit(&mut d, Io::read(1, 512, 0), ms(2)) {
            Disposition::Queued => assert!(held, "{name}: held, expected to fail"),
            Disposition::Done { result, .. } => {
                assert!(!held, "{name}: failed, expected to be held");
                assert_eq!(result, Err(IoError::NoPath), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// While a group transitions its state is re-read periodically through a
/// reachable path: one of the group's own that is neither down nor failed
/// by hand, or, with ALUA (an RTPG through any port reports every group),
/// any such path. ANA has no such fallback: a controller's log says nothing
/// about another controller's groups.
#[test]
fn transition_polls_go_through_a_reachable_path() {
    for protocol in [AccessProtocol::Alua, AccessProtocol::Ana] {
        let mut cfg = Config::DEFAULT;
        cfg.access.protocol = protocol;
        let mut d = dev(cfg);
        let failed = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
        let other = add(&mut d, 2, 2, AccessState::Optimized, secs(0));
        let down = add(&mut d, 1, 3, AccessState::Optimized, secs(0));
        let c = d.controller_mut();
        c.fail_path(failed, secs(0)).unwrap();
        c.handle_probe(down, ProbeResult::Down, secs(0)).unwrap();
        let transitioning = GroupAccess::new(protocol.transitioning());
        c.handle_access_state(GroupId(1), transitioning, secs(0))
            .unwrap();
        drain(&mut d);
        let poll = d.controller().config().access.transition_poll;
        let at = secs(0).saturating_add(poll);
        d.controller_mut().handle_timeout(at).unwrap();
        let refreshes: Vec<PathId> = drain(&mut d)
            .into_iter()
            .filter_map(|a| match a {
                Action::RefreshAccessState { via } => Some(via),
                _ => None,
            })
            .collect();
        let want: Vec<PathId> = match protocol {
            AccessProtocol::Alua => vec![other],
            AccessProtocol::Ana => vec![],
        };
        assert_eq!(refreshes, want, "{protocol:?}");
    }
}

fn activations_via(d: &mut Dev) -> Vec<(GroupId, PathId)> {
    drain(d)
        .into_iter()
        .filter_map(|a| match a {
            Action::ActivateGroup { group, via } => Some((group, via)),
            _ => None,
        })
        .collect()
}

/// An explicit activation in flight: group 1's optimized path failed, so
/// standby group 2 (paths `s1`, `s2`) is activated through `s1`. Group 3
/// (path `other`) is unrelated.
fn activation_in_flight() -> (Dev, PathId, PathId, PathId) {
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d: Dev = Multipath::new(cfg).unwrap();
    let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let s1 = add(&mut d, 2, 2, AccessState::Standby, secs(0));
    let s2 = add(&mut d, 2, 3, AccessState::Standby, secs(0));
    let other = add(&mut d, 3, 4, AccessState::Unavailable, secs(0));
    drain(&mut d);
    d.controller_mut().fail_path(ao, secs(1)).unwrap();
    assert_eq!(activations_via(&mut d), vec![(GroupId(2), s1)]);
    (d, s1, s2, other)
}

/// What ends an activation in flight and what leaves it alone.
#[test]
fn an_activation_in_flight_ends_only_with_its_path_or_group() {
    let still_pending = |d: &mut Dev| {
        d.controller_mut()
            .handle_activation_result(GroupId(2), ActivationResult::Retry, secs(3))
            .is_ok()
    };
    // Its path removed: activated again through the group's other path.
    let (mut d, s1, s2, _) = activation_in_flight();
    d.controller_mut().remove_path(s1, secs(2)).unwrap();
    assert_eq!(activations_via(&mut d), vec![(GroupId(2), s2)]);
    // An unrelated path removed: the activation goes on.
    let (mut d, _, _, other) = activation_in_flight();
    d.controller_mut().remove_path(other, secs(2)).unwrap();
    assert_eq!(activations_via(&mut d), vec![]);
    assert!(still_pending(&mut d));
    // Its path moved to another group: activated again through `s2`.
    let (mut d, s1, s2, _) = activation_in_flight();
    d.controller_mut()
        .move_path_to_group(s1, GroupId(3), None, secs(2))
        .unwrap();
    assert_eq!(activations_via(&mut d), vec![(GroupId(2), s2)]);
    // The group's other path moved away: the activation goes on.
    let (mut d, _, s2, _) = activation_in_flight();
    d.controller_mut()
        .move_path_to_group(s2, GroupId(3), None, secs(2))
        .unwrap();
    assert_eq!(activations_via(&mut d), vec![]);
    assert!(still_pending(&mut d));
    // Another group's state changes, or its own goes on transitioning:
    // still pending. A result for another group is not this one's.
    let (mut d, _, _, _) = activation_in_flight();
    let c = d.controller_mut();
    c.handle_access_state(GroupId(3), GroupAccess::new(AccessState::Standby), secs(2))
        .unwrap();
    c.handle_access_state(
        GroupId(2),
        GroupAccess::new(AccessState::Transitioning),
        secs(2),
    )
    .unwrap();
    assert_eq!(
        c.handle_activation_result(GroupId(3), ActivationResult::Done, secs(2)),
        Err(Error::NotPending { what: "activation" })
    );
    assert!(still_pending(&mut d));
    // Its group reports optimized: done, nothing more to wait for.
    let (mut d, _, _, _) = activation_in_flight();
    d.controller_mut()
        .handle_access_state(
            GroupId(2),
            GroupAccess::new(AccessState::Optimized),
            secs(2),
        )
        .unwrap();
    assert!(!still_pending(&mut d));
}

/// A switched-to group (dm `switch_group`) stays the choice while it has
/// paths, whatever else is removed, and is forgotten with its last path.
#[test]
fn a_switched_group_is_forgotten_only_with_its_last_path() {
    let mut d = dev(Config::DEFAULT);
    let a1 = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let a2 = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    let n = add(&mut d, 2, 3, AccessState::NonOptimized, secs(0));
    d.controller_mut()
        .switch_group(Some(GroupId(2)), secs(1))
        .unwrap();
    assert_eq!(selectable(&d), vec![n]);
    d.controller_mut().remove_path(a2, secs(2)).unwrap();
    assert_eq!(selectable(&d), vec![n], "still switched");
    d.controller_mut().remove_path(n, secs(3)).unwrap();
    assert_eq!(selectable(&d), vec![a1]);
    let n2 = add(&mut d, 2, 4, AccessState::NonOptimized, secs(4));
    assert_eq!(selectable(&d), vec![a1], "the switch went with group 2");
    let _ = n2;
}

/// Reports for known groups are taken with the group table full; an
/// access-denied path is usable again once its group's state is read.
#[test]
fn group_reports_with_a_full_table_and_access_denied_paths() {
    let mut d: Multipath<4, 16, 2> = Multipath::new(Config::DEFAULT).unwrap();
    let ctl = d.controller_mut();
    let spec = |g, n| PathSpec::new(GroupId(g), NexusId(n));
    let a = ctl.add_path(spec(1, 1), secs(0)).unwrap();
    let b = ctl.add_path(spec(2, 2), secs(0)).unwrap();
    ctl.handle_access_state(
        GroupId(2),
        GroupAccess::new(AccessState::Optimized),
        secs(1),
    )
    .unwrap();
    assert_eq!(
        ctl.handle_access_state(
            GroupId(3),
            GroupAccess::new(AccessState::Optimized),
            secs(1)
        ),
        Err(Error::GroupTableFull)
    );
    let t = loop {
        let t = match d.submit(Io::read(1, 512, 0), secs(2)).unwrap() {
            Disposition::Dispatch(t) => t,
            other => panic!("{other:?}"),
        };
        if t.path() == a {
            break t;
        }
        d.complete_ok(t, secs(2)).unwrap();
    };
    let denied = Outcome::PathError(PathErrorKind::AccessDenied).into();
    let r = match d.complete(t, denied, secs(3)).unwrap() {
        Disposition::Dispatch(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.path(), b);
    d.complete_ok(r, secs(3)).unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
    d.controller_mut()
        .handle_access_state(
            GroupId(2),
            GroupAccess::new(AccessState::Optimized),
            secs(4),
        )
        .unwrap();
    assert_eq!(
        d.controller().tier(a).unwrap(),
        Tier::Ineligible,
        "another group's report says nothing about a's"
    );
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            secs(4),
        )
        .unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
}

/// A failed re-read is counted once, when its retries run out.
#[test]
fn refresh_failures_count_when_retries_run_out() {
    let mut cfg = Config::DEFAULT;
    cfg.access.refresh_retries = 2;
    cfg.access.refresh_delay = Duration::from_secs(1);
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    drain(&mut d);
    d.controller_mut()
        .handle_notices(a, Notices::ACCESS_STATE_CHANGED, secs(1))
        .unwrap();
    let failures = |d: &Dev| {
        d.controller()
            .path_snapshot(a, &[])
            .unwrap()
            .counters
            .refresh_failures
    };
    let mut now = secs(1);
    let mut sent = 0;
    for _ in 0..10 {
        if drain(&mut d).contains(&Action::RefreshAccessState { via: a }) {
            sent += 1;
            d.controller_mut()
                .handle_refresh_result(a, false, now)
                .unwrap();
            if sent < 3 {
                assert_eq!(failures(&d), 0, "attempt {sent}");
            }
        }
        now = now.saturating_add(Duration::from_secs(1));
        d.controller_mut().handle_timeout(now).unwrap();
    }
    assert_eq!(sent, 3, "the first read and two retries");
    assert_eq!(failures(&d), 1);
}

/// Deferred failback never fires, nor counts, on a republish that changes
/// nothing; a delayed failback measures from the last time the better tier
/// came back, not from an earlier return that did not last.
#[test]
fn failback_deferral_counts_and_delays() {
    // Nothing better came back: nothing to defer.
    let mut cfg = Config::DEFAULT;
    cfg.failback = Failback::Manual;
    let mut d = dev(cfg);
    add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            secs(1),
        )
        .unwrap();
    assert_eq!(
        d.controller().device_snapshot().counters.failbacks_deferred,
        0
    );

    let (mut d, ao, ano) = failback_case(Failback::Manual);
    assert_eq!(
        d.controller().device_snapshot().counters.failbacks_deferred,
        1
    );
    // An unrelated change: same tiers, nothing deferred again.
    d.controller_mut()
        .handle_access_state(
            GroupId(2),
            GroupAccess::new(AccessState::NonOptimized),
            secs(3),
        )
        .unwrap();
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            secs(3),
        )
        .unwrap();
    assert_eq!(
        d.controller().device_snapshot().counters.failbacks_deferred,
        1
    );
    assert_eq!(selectable(&d), vec![ano]);
    let _ = ao;

    let (mut d, ao, ano) = failback_case(Failback::Delayed(Duration::from_secs(10)));
    // Back at 2 s (deferred to 12 s), gone again at 4 s, back at 8 s: the
    // delay runs from 8 s.
    d.controller_mut()
        .handle_probe(ao, ProbeResult::Down, secs(4))
        .unwrap();
    d.controller_mut()
        .handle_probe(ao, ProbeResult::Up, secs(8))
        .unwrap();
    d.controller_mut().handle_timeout(secs(12)).unwrap();
    assert_eq!(selectable(&d), vec![ano], "not at 12 s");
    d.controller_mut().handle_timeout(secs(18)).unwrap();
    assert_eq!(selectable(&d), vec![ao], "at 18 s");
}

/// A switched-to group's own best tier is the active tier, and the publish
/// counter moves only when the mask does.
#[test]
fn switched_group_tier_and_publish_count() {
    let mut d = dev(Config::DEFAULT);
    let _ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let ano = add(&mut d, 2, 2, AccessState::NonOptimized, secs(0));
    d.controller_mut()
        .switch_group(Some(GroupId(2)), secs(1))
        .unwrap();
    assert_eq!(selectable(&d), vec![ano]);
    assert_eq!(d.controller().active_tier(), Some(Tier::NonOptimized));
    let n = d.controller().device_snapshot().counters.publishes;
    // Same state reported again: republished, mask unchanged.
    d.controller_mut()
        .handle_access_state(
            GroupId(2),
            GroupAccess::new(AccessState::NonOptimized),
            secs(2),
        )
        .unwrap();
    assert_eq!(d.controller().device_snapshot().counters.publishes, n);
    d.controller_mut().switch_group(None, secs(3)).unwrap();
    assert_eq!(d.controller().device_snapshot().counters.publishes, n + 1);
}

/// Followover: the first path of a group to come back fails back; a second
/// path of a group that already has one back does not count as first.
#[test]
fn followover_first_path_of_a_group() {
    let mut cfg = Config::DEFAULT;
    cfg.failback = Failback::FollowOver;
    let mut d = dev(cfg);
    let a1 = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let a2 = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    let n = add(&mut d, 2, 3, AccessState::NonOptimized, secs(0));
    for p in [a1, a2] {
        d.controller_mut()
            .handle_probe(p, ProbeResult::Down, secs(1))
            .unwrap();
    }
    assert_eq!(selectable(&d), vec![n]);
    d.controller_mut()
        .handle_probe(a1, ProbeResult::Up, secs(2))
        .unwrap();
    assert_eq!(selectable(&d), vec![a1], "first of its group: failback");
    d.controller_mut()
        .handle_probe(a2, ProbeResult::Up, secs(3))
        .unwrap();
    assert_eq!(selectable(&d), vec![a1, a2]);
}

/// After an activation succeeds the group is not activated again before
/// its state is read back, whatever else changes meanwhile (here: an
/// unrelated path is removed); the read-back ends the wait.
#[test]
fn no_reactivation_before_the_read_back() {
    let (mut d, s1, _, other) = activation_in_flight();
    d.controller_mut()
        .handle_activation_result(GroupId(2), ActivationResult::Done, secs(2))
        .unwrap();
    let acts = drain(&mut d);
    assert!(
        acts.contains(&Action::RefreshAccessState { via: s1 }),
        "{acts:?}"
    );
    d.controller_mut().remove_path(other, secs(3)).unwrap();
    assert_eq!(activations_via(&mut d), vec![], "not before the read-back");
    // Another group's report is not the read-back.
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            secs(4),
        )
        .unwrap();
    assert_eq!(activations_via(&mut d), vec![]);
    // The read-back says still standby: now it may be activated again.
    d.controller_mut()
        .handle_access_state(GroupId(2), GroupAccess::new(AccessState::Standby), secs(4))
        .unwrap();
    assert_eq!(activations_via(&mut d).len(), 1);
}

/// Which paths an activation may go through: up, not failed by hand, and
/// registered while a key is set; among groups, the preferred one first.
#[test]
fn activation_picks_a_usable_path_and_the_preferred_group() {
    let setup = || {
        let mut cfg = Config::DEFAULT;
        cfg.access.explicit_activation = true;
        cfg.no_path = NoPathPolicy::Queue;
        let mut d: Dev = Multipath::new(cfg).unwrap();
        let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
        let s1 = add(&mut d, 2, 2, AccessState::Standby, secs(0));
        let s2 = add(&mut d, 2, 3, AccessState::Standby, secs(0));
        drain(&mut d);
        (d, ao, s1, s2)
    };
    // One standby path failed by hand, the other down: nothing to go through.
    let (mut d, ao, s1, s2) = setup();
    d.controller_mut().fail_path(s1, secs(1)).unwrap();
    d.controller_mut()
        .handle_probe(s2, ProbeResult::Down, secs(1))
        .unwrap();
    d.controller_mut().fail_path(ao, secs(1)).unwrap();
    assert_eq!(activations_via(&mut d), vec![]);
    // A key is set and only `s1` is registered: through `s1`.
    let (mut d, ao, s1, s2) = setup();
    let mut pr: reservation::Coordinator<8> =
        reservation::Coordinator::new(reservation::RegistrationScope::Nexus);
    for (p, port) in [(ao, 1), (s1, 2), (s2, 3)] {
        pr.path_added(p, port, true);
    }
    pr.submit(reservation::PrOp::Register(7)).unwrap();
    while let Some(a) = pr.poll_action() {
        let reply = match a.command {
            reservation::PrCommand::Register { .. } if a.via == s2 => {
                reservation::PrReply::PathFailed
            }
            reservation::PrCommand::ReadKeys => reservation::PrReply::Keys {
                ours: 2,
                total: 2,
                here: None,
            },
            _ => reservation::PrReply::Done,
        };
        assert!(pr.reply(a.via, reply));
    }
    d.controller_mut().apply_reservation(&pr, secs(1)).unwrap();
    d.controller_mut().fail_path(ao, secs(1)).unwrap();
    assert_eq!(activations_via(&mut d), vec![(GroupId(2), s1)]);
    // Two standby groups: the preferred one is activated.
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d: Dev = Multipath::new(cfg).unwrap();
    let ao = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    add(&mut d, 2, 2, AccessState::Standby, secs(0));
    let pref = d
        .controller_mut()
        .add_path(
            PathSpec::new(GroupId(3), NexusId(3))
                .with_access(GroupAccess::preferred(AccessState::Standby)),
            secs(0),
        )
        .unwrap();
    drain(&mut d);
    d.controller_mut().fail_path(ao, secs(1)).unwrap();
    assert_eq!(activations_via(&mut d), vec![(GroupId(3), pref)]);
}

/// Reservation notices are counted on the path they arrived on.
#[test]
fn reservation_notices_are_counted() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    for n in [
        Notices::RESERVATIONS_PREEMPTED,
        Notices::RESERVATIONS_RELEASED,
        Notices::REGISTRATIONS_PREEMPTED,
        Notices::ACCESS_STATE_CHANGED,
    ] {
        d.controller_mut().handle_notices(a, n, secs(1)).unwrap();
    }
    let c = d.controller().path_snapshot(a, &[]).unwrap().counters;
    assert_eq!(c.reservation_notices, 3);
}
