use super::*;

const A: HostIdentifier = HostIdentifier::Short([0xA; 8]);
const B: HostIdentifier = HostIdentifier::Short([0xB; 8]);
const C: HostIdentifier = HostIdentifier::Short([0xC; 8]);

fn reg(action: RegisterAction, iekey: bool, crkey: u64, nrkey: u64) -> ReservationRegister {
    ReservationRegister {
        action,
        iekey,
        cptpl: Cptpl::NoChange,
        crkey,
        nrkey,
    }
}

fn acq(
    action: AcquireAction,
    rtype: ReservationType,
    crkey: u64,
    prkey: u64,
) -> ReservationAcquire {
    ReservationAcquire {
        action,
        iekey: false,
        rtype,
        crkey,
        prkey,
    }
}

fn rel(action: ReleaseAction, rtype: Option<ReservationType>, crkey: u64) -> ReservationRelease {
    ReservationRelease {
        action,
        iekey: false,
        rtype,
        crkey,
    }
}

fn registered(hosts: &[(HostIdentifier, u64)]) -> ReservationState {
    let mut s = ReservationState::default();
    for (h, k) in hosts {
        s.register(*h, &reg(RegisterAction::Register, false, 0, *k))
            .unwrap();
    }
    s
}

#[test]
fn register_rules_and_generation() {
    let mut s = registered(&[(A, 1)]);
    assert_eq!(s.generation(), 1);
    // Same key again: success, GEN moves (every successful Register does).
    s.register(A, &reg(RegisterAction::Register, false, 0, 1))
        .unwrap();
    assert_eq!(s.generation(), 2);
    assert_eq!(
        s.register(A, &reg(RegisterAction::Register, false, 0, 2)),
        Err(CONFLICT)
    );
    assert_eq!(
        s.register(B, &reg(RegisterAction::Replace, true, 0, 2)),
        Err(CONFLICT),
        "replace needs a registration"
    );
    assert_eq!(
        s.register(A, &reg(RegisterAction::Replace, false, 9, 2)),
        Err(CONFLICT)
    );
    s.register(A, &reg(RegisterAction::Replace, true, 9, 2))
        .unwrap();
    assert_eq!(s.key_of(A), Some(2));
    assert_eq!(
        s.register(A, &reg(RegisterAction::Unregister, false, 1, 0)),
        Err(CONFLICT)
    );
    s.register(A, &reg(RegisterAction::Unregister, false, 2, 0))
        .unwrap();
    assert_eq!(s.key_of(A), None);
    assert_eq!(s.generation(), 4, "refused commands leave GEN alone");
}

#[test]
fn unregistering_the_holder_releases_and_tells_registrants_only_types() {
    for t in ReservationType::ALL {
        let mut s = registered(&[(A, 1), (B, 2)]);
        s.acquire(A, &acq(AcquireAction::Acquire, t, 1, 0)).unwrap();
        let fx = s
            .register(A, &reg(RegisterAction::Unregister, false, 1, 0))
            .unwrap();
        if all_registrants(t) {
            // B still holds it.
            assert_eq!(s.reservation().map(|r| r.rtype), Some(t));
            assert!(s.is_holder(B));
            assert!(fx.notify.is_empty());
        } else {
            assert_eq!(s.reservation(), None, "{t:?}");
            let expect = if registrants_only(t) {
                vec![(B, NotificationType::ReservationReleased)]
            } else {
                vec![]
            };
            assert_eq!(fx.notify, expect, "{t:?}");
        }
    }
}

#[test]
fn acquire_rules() {
    let mut s = registered(&[(A, 1), (B, 2)]);
    let we = ReservationType::WriteExclusive;
    assert_eq!(
        s.acquire(C, &acq(AcquireAction::Acquire, we, 3, 0)),
        Err(CONFLICT),
        "non-registrant"
    );
    assert_eq!(
        s.acquire(A, &acq(AcquireAction::Acquire, we, 9, 0)),
        Err(CONFLICT),
        "wrong key"
    );
    let mut ie = acq(AcquireAction::Acquire, we, 1, 0);
    ie.iekey = true;
    assert_eq!(s.acquire(A, &ie), Err(INVALID_FIELD));
    s.acquire(A, &acq(AcquireAction::Acquire, we, 1, 0))
        .unwrap();
    s.acquire(A, &acq(AcquireAction::Acquire, we, 1, 0))
        .unwrap();
    assert_eq!(
        s.acquire(
            A,
            &acq(
                AcquireAction::Acquire,
                ReservationType::ExclusiveAccess,
                1,
                0
            )
        ),
        Err(CONFLICT),
        "holder asking another type"
    );
    assert_eq!(
        s.acquire(B, &acq(AcquireAction::Acquire, we, 2, 0)),
        Err(CONFLICT)
    );
    assert_eq!(s.generation(), 2, "acquire leaves GEN alone");
}

#[test]
fn preempt_holder_moves_reservation_and_notifies() {
    let mut s = registered(&[(A, 1), (B, 2), (C, 3)]);
    let t = ReservationType::WriteExclusiveRegistrantsOnly;
    s.acquire(A, &acq(AcquireAction::Acquire, t, 1, 0)).unwrap();
    let g = s.generation();
    let fx = s
        .acquire(
            B,
            &acq(
                AcquireAction::PreemptAndAbort,
                ReservationType::ExclusiveAccess,
                2,
                1,
            ),
        )
        .unwrap();
    assert_eq!(
        s.reservation(),
        Some(HeldReservation {
            rtype: ReservationType::ExclusiveAccess,
            holder: Some(B)
        })
    );
    assert_eq!(s.key_of(A), None);
    assert_eq!(
        fx.notify,
        vec![
            (A, NotificationType::RegistrationPreempted),
            (C, NotificationType::ReservationReleased)
        ]
    );
    assert_eq!(fx.abort, vec![A]);
    assert_eq!(s.generation(), g + 1);
}

#[test]
fn preempt_registration_only_and_errors() {
    let mut s = registered(&[(A, 1), (B, 2), (C, 3)]);
    let we = ReservationType::WriteExclusive;
    s.acquire(A, &acq(AcquireAction::Acquire, we, 1, 0))
        .unwrap();
    // PRKEY names a non-holder: only its registration goes.
    let fx = s
        .acquire(B, &acq(AcquireAction::Preempt, we, 2, 3))
        .unwrap();
    assert_eq!(
        fx.notify,
        vec![(C, NotificationType::RegistrationPreempted)]
    );
    assert!(fx.abort.is_empty());
    assert!(s.is_holder(A));
    // The holder preempting another registrant removes it and keeps the
    // reservation.
    let fx = s
        .acquire(A, &acq(AcquireAction::Preempt, we, 1, 2))
        .unwrap();
    assert_eq!(
        fx.notify,
        vec![(B, NotificationType::RegistrationPreempted)]
    );
    assert!(s.is_holder(A));
    s.register(B, &reg(RegisterAction::Register, false, 0, 2))
        .unwrap();
    assert_eq!(
        s.acquire(B, &acq(AcquireAction::Preempt, we, 2, 77)),
        Err(CONFLICT),
        "no registrant has PRKEY"
    );
    assert_eq!(
        s.acquire(B, &acq(AcquireAction::Preempt, we, 2, 0)),
        Err(INVALID_FIELD)
    );
}

#[test]
fn preempt_all_registrants_with_zero_key_takes_over() {
    let t = ReservationType::ExclusiveAccessAllRegistrants;
    let mut s = registered(&[(A, 1), (B, 2), (C, 3)]);
    s.acquire(A, &acq(AcquireAction::Acquire, t, 1, 0)).unwrap();
    assert!(s.is_holder(B) && s.is_holder(C));
    let fx = s
        .acquire(
            B,
            &acq(
                AcquireAction::Preempt,
                ReservationType::WriteExclusive,
                2,
                0,
            ),
        )
        .unwrap();
    assert_eq!(s.registrants(), &[Registrant { host: B, key: 2 }]);
    assert_eq!(
        s.reservation(),
        Some(HeldReservation {
            rtype: ReservationType::WriteExclusive,
            holder: Some(B)
        })
    );
    assert_eq!(fx.notify.len(), 2);
}

#[test]
fn release_and_clear() {
    let t = ReservationType::ExclusiveAccessRegistrantsOnly;
    let mut s = registered(&[(A, 1), (B, 2)]);
    s.acquire(A, &acq(AcquireAction::Acquire, t, 1, 0)).unwrap();
    // Not the holder: success, nothing happens.
    let fx = s
        .release(B, &rel(ReleaseAction::Release, Some(t), 2))
        .unwrap();
    assert!(fx.notify.is_empty());
    assert!(s.is_holder(A));
    assert_eq!(
        s.release(
            A,
            &rel(
                ReleaseAction::Release,
                Some(ReservationType::WriteExclusive),
                1
            )
        ),
        Err(INVALID_FIELD)
    );
    assert_eq!(
        s.release(A, &rel(ReleaseAction::Release, Some(t), 5)),
        Err(CONFLICT)
    );
    let fx = s
        .release(A, &rel(ReleaseAction::Release, Some(t), 1))
        .unwrap();
    assert_eq!(fx.notify, vec![(B, NotificationType::ReservationReleased)]);
    assert_eq!(s.reservation(), None);
    let g = s.generation();
    let fx = s.release(B, &rel(ReleaseAction::Clear, None, 2)).unwrap();
    assert_eq!(fx.notify, vec![(A, NotificationType::ReservationPreempted)]);
    assert!(s.registrants().is_empty());
    assert_eq!(s.generation(), g + 1);
}

#[test]
fn power_loss_keeps_only_ptpl_state() {
    let mut s = registered(&[(A, 1)]);
    s.acquire(
        A,
        &acq(
            AcquireAction::Acquire,
            ReservationType::WriteExclusive,
            1,
            0,
        ),
    )
    .unwrap();
    let mut keep = s.clone();
    s.power_loss();
    assert_eq!(s, ReservationState::default());
    let mut r = reg(RegisterAction::Replace, false, 1, 1);
    r.cptpl = Cptpl::Persist;
    keep.register(A, &r).unwrap();
    assert!(keep.ptpl());
    let before = keep.clone();
    keep.power_loss();
    assert_eq!(keep, before);
}
