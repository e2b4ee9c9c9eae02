//! The persistent reservation device server (SPC-4 5.13, 6.16, 6.17),
//! through real CDBs and parameter lists, answers decoded with mpath-scsi.

#[path = "scsi_common.rs"]
mod common;
use common::*;

use mpath_scsi::cdb::{self, RtpgFormat};
use mpath_scsi::pr_in::{PrIn, PrTypeMask};
use mpath_scsi::stpg::{StpgDescriptor, StpgRepr};
use mpath_scsi::{
    AluaState, List, PrInAction, PrInRepr, PrOutAction, PrOutParams, PrType, RegisterAndMoveParams,
    SenseKey,
};
use mpath_sim::scsi_target::{Holder, Nexus, Reservation, Response, Status};

const KA: u64 = 0xA;
const KB: u64 = 0xB;
const KC: u64 = 0xC;

/// STPG leaving group 1 active/optimized: a write-class command that
/// changes nothing.
fn stpg_noop(f: &mut Fx, n: Nexus) -> Response {
    let mut list = [0u8; 8];
    StpgRepr {
        descriptors: List::Items(&[StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: 1,
        }]),
    }
    .emit(&mut list)
    .unwrap();
    f.run(n, &cdb::set_target_port_groups(8), &list, 0).0
}

/// Which of READ, WRITE, TUR, INQUIRY, RTPG, STPG, READ CAPACITY, PR IN
/// pass for `n` (true = not a reservation conflict).
fn passes(n: Nexus, f: &mut Fx) -> [bool; 8] {
    let ok = |r: &Response| r.status != Status::ReservationConflict;
    let read = ok(&f.read(n, 1).0);
    let write = ok(&f.write(n, 1, 9, 1));
    let tur = ok(&f.tur(n));
    let inq = ok(&f.run(n, &cdb::inquiry(96), &[], 96).0);
    let rtpg = ok(&f
        .run(
            n,
            &cdb::report_target_port_groups(RtpgFormat::Extended, 256),
            &[],
            256,
        )
        .0);
    let stpg = ok(&stpg_noop(f, n));
    let mut rc16 = [0u8; 16];
    rc16[0] = 0x9E;
    rc16[1] = 0x10;
    rc16[13] = 32;
    let rc = ok(&f.run(n, &rc16, &[], 32).0);
    let prin = ok(&f
        .run(
            n,
            &cdb::persistent_reserve_in(PrInAction::ReadKeys, 64),
            &[],
            64,
        )
        .0);
    [read, write, tur, inq, rtpg, stpg, rc, prin]
}

#[test]
fn the_spc4_conflict_table_for_all_six_types() {
    // (type, registered: read, write; not registered: read, write). The
    // write column also governs SET TARGET PORT GROUPS; the rest always pass.
    let table = [
        (PrType::WriteExclusive, true, false, true, false),
        (PrType::ExclusiveAccess, false, false, false, false),
        (
            PrType::WriteExclusiveRegistrantsOnly,
            true,
            true,
            true,
            false,
        ),
        (
            PrType::ExclusiveAccessRegistrantsOnly,
            true,
            true,
            false,
            false,
        ),
        (
            PrType::WriteExclusiveAllRegistrants,
            true,
            true,
            true,
            false,
        ),
        (
            PrType::ExclusiveAccessAllRegistrants,
            true,
            true,
            false,
            false,
        ),
    ];
    for (t, rr, rw, ur, uw) in table {
        let mut f = fx();
        assert_good(&f.register(f.a1, KA));
        assert_good(&f.register(f.b1, KB));
        assert_good(&f.reserve(f.a1, KA, t));
        assert_eq!(passes(f.a1, &mut f), [true; 8], "holder, {t:?}");
        assert_eq!(
            passes(f.b1, &mut f),
            [rr, rw, true, true, true, rw, true, true],
            "registered, {t:?}"
        );
        assert_eq!(
            passes(f.c1, &mut f),
            [ur, uw, true, true, true, uw, true, true],
            "not registered, {t:?}"
        );
        // Host A through another port is a different, unregistered nexus.
        assert_eq!(
            passes(f.a2, &mut f),
            [ur, uw, true, true, true, uw, true, true],
            "holder's initiator, other port, {t:?}"
        );
        assert!(f.lu.store().stale_writes().is_empty());
    }
}

#[test]
fn register_rules_and_prgeneration_counting() {
    let mut f = fx();
    assert_eq!(f.keys(f.a1), (0, vec![]));
    // REGISTER from an unregistered nexus with a non-zero key: conflict,
    // and PRgeneration stays.
    let r = f.pr_out(f.a1, PrOutAction::Register, None, &PrOutParams::new(5, KA));
    assert_conflict(&r);
    assert_eq!(f.lu.pr_generation(), 0);
    assert_good(&f.pr_out(f.a1, PrOutAction::Register, None, &PrOutParams::new(0, KA)));
    assert_eq!(f.lu.pr_generation(), 1);
    // Change the key: REGISTER needs the current one.
    assert_conflict(&f.pr_out(
        f.a1,
        PrOutAction::Register,
        None,
        &PrOutParams::new(7, 0xAA),
    ));
    assert_good(&f.pr_out(
        f.a1,
        PrOutAction::Register,
        None,
        &PrOutParams::new(KA, 0xAA),
    ));
    assert_eq!(f.lu.registered_key(f.a1), Some(0xAA));
    // REGISTER AND IGNORE EXISTING KEY ignores it.
    assert_good(&f.register(f.a1, KA));
    assert_eq!(f.keys(f.b1), (3, vec![KA]));
    // RESERVE and RELEASE do not count (SPC-4 table 171).
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    assert_good(&f.release(f.a1, KA, PrType::WriteExclusive));
    assert_eq!(f.lu.pr_generation(), 3);
    // A REGISTER of key 0 from an unregistered nexus is a successful
    // no-op, and counts.
    assert_good(&f.register(f.c1, 0));
    assert_eq!((f.lu.pr_generation(), f.lu.registered_key(f.c1)), (4, None));
    // Unregister.
    assert_good(&f.pr_out(f.a1, PrOutAction::Register, None, &PrOutParams::new(KA, 0)));
    assert_eq!(f.keys(f.a1), (5, vec![]));
    // Errors do not count.
    let r = f.pr_out(f.b1, PrOutAction::Clear, None, &PrOutParams::new(KB, 0));
    assert_conflict(&r);
    assert_eq!(f.lu.pr_generation(), 5);
}

#[test]
fn reserve_and_release_rules() {
    let mut f = fx();
    let we = PrType::WriteExclusive;
    // Unregistered or wrong key: conflict.
    assert_conflict(&f.reserve(f.a1, KA, we));
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_conflict(&f.reserve(f.a1, KB, we));
    // TYPE 0 is INVALID FIELD IN CDB at SCOPE/TYPE.
    let r = f.pr_out(f.a1, PrOutAction::Reserve, None, &PrOutParams::new(KA, 0));
    assert_pointer(&r, 0x24, true, 2, Some(3));
    assert_good(&f.reserve(f.a1, KA, we));
    // Again, same type: a no-op; another type or another nexus: conflict.
    assert_good(&f.reserve(f.a1, KA, we));
    assert_conflict(&f.reserve(f.a1, KA, PrType::ExclusiveAccess));
    assert_conflict(&f.reserve(f.b1, KB, we));
    assert_eq!(f.read_reservation(f.c1), Some((KA, we)));
    // A non-holder's RELEASE is GOOD and changes nothing.
    assert_good(&f.release(f.b1, KB, we));
    assert_eq!(f.read_reservation(f.c1), Some((KA, we)));
    // The holder's RELEASE with another type: 26/04.
    let r = f.release(f.a1, KA, PrType::ExclusiveAccess);
    assert_check(&r, SenseKey::IllegalRequest, 0x26, 0x04);
    // A Write Exclusive release tells nobody.
    assert_good(&f.release(f.a1, KA, we));
    assert_eq!(f.read_reservation(f.c1), None);
    assert!(f.lu.pending_unit_attentions(f.b1).is_empty());
    // A registrants-only release tells the other registrants.
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusiveRegistrantsOnly));
    assert_good(&f.release(f.a1, KA, PrType::WriteExclusiveRegistrantsOnly));
    assert_ua(&f.tur(f.b1), 0x2A, 0x04);
    assert_good(&f.tur(f.a1));
    assert_good(&f.tur(f.c1));
    // So does an all-registrants release, by any registrant.
    assert_good(&f.reserve(f.b1, KB, PrType::ExclusiveAccessAllRegistrants));
    assert_eq!(
        f.read_reservation(f.c1),
        Some((0, PrType::ExclusiveAccessAllRegistrants))
    );
    assert_good(&f.release(f.a1, KA, PrType::ExclusiveAccessAllRegistrants));
    assert_ua(&f.tur(f.b1), 0x2A, 0x04);
    assert_eq!(f.lu.reservation(), None);
}

#[test]
fn unregistering_holder_releases() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.reserve(f.a1, KA, PrType::ExclusiveAccessRegistrantsOnly));
    assert_good(&f.register(f.a1, 0));
    assert_eq!(f.lu.reservation(), None);
    assert_ua(&f.tur(f.b1), 0x2A, 0x04);
    // All registrants: the reservation lasts until the last one goes.
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusiveAllRegistrants));
    assert_good(&f.register(f.a1, 0));
    assert!(f.lu.reservation().is_some());
    assert_good(&f.register(f.b1, 0));
    assert_eq!(f.lu.reservation(), None);
}

#[test]
fn clear_preempts_everyone_else() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.reserve(f.a1, KA, PrType::ExclusiveAccess));
    assert_conflict(&f.pr_out(f.c1, PrOutAction::Clear, None, &PrOutParams::new(KC, 0)));
    assert_good(&f.pr_out(f.b1, PrOutAction::Clear, None, &PrOutParams::new(KB, 0)));
    assert!(f.lu.registrations().is_empty());
    assert_eq!(f.lu.reservation(), None);
    assert_ua(&f.tur(f.a1), 0x2A, 0x03);
    assert_good(&f.tur(f.b1));
    assert_good(&f.tur(f.c1));
}

#[test]
fn preempt_another_hosts_reservation() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.register(f.c1, KC));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusiveRegistrantsOnly));
    let g = f.lu.pr_generation();
    // B takes the reservation with another type.
    assert_good(&f.preempt(f.b1, KB, KA, PrType::ExclusiveAccessRegistrantsOnly, false));
    assert_eq!(f.lu.pr_generation(), g + 1);
    assert_eq!(
        f.lu.reservation(),
        Some(Reservation {
            holder: Holder::Nexus(f.b1),
            pr_type: PrType::ExclusiveAccessRegistrantsOnly
        })
    );
    assert_eq!(f.keys(f.b1).1, vec![KB, KC]);
    assert_ua(&f.tur(f.a1), 0x2A, 0x05);
    // The type changed: the registrant left is told it was released.
    assert_ua(&f.tur(f.c1), 0x2A, 0x04);
    assert_good(&f.tur(f.b1));
    // A fenced host writes nothing.
    assert_conflict(&f.write(f.a1, 3, 1, 1));
    assert!(f.lu.take_aborted().is_empty());
}

#[test]
fn preempt_registrations_only_and_errors() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.register(f.c1, KC));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    // Not the holder's key: only C's registration goes.
    assert_good(&f.preempt(f.a1, KA, KC, PrType::WriteExclusive, false));
    assert_eq!(f.keys(f.a1).1, vec![KA, KB]);
    assert_eq!(f.read_reservation(f.a1), Some((KA, PrType::WriteExclusive)));
    assert_ua(&f.tur(f.c1), 0x2A, 0x05);
    // Nobody has that key: conflict, nothing counted.
    let g = f.lu.pr_generation();
    assert_conflict(&f.preempt(f.a1, KA, 0x99, PrType::WriteExclusive, false));
    assert_eq!(f.lu.pr_generation(), g);
    // SA key 0 outside an all-registrants reservation.
    let r = f.preempt(f.b1, KB, 0, PrType::WriteExclusive, false);
    assert_pointer(&r, 0x26, false, 8, None);
    // From an unregistered nexus.
    assert_conflict(&f.preempt(f.c1, KC, KA, PrType::WriteExclusive, false));
}

#[test]
fn preempt_own_key_moves_the_reservation_to_the_sender() {
    // Host A registered per nexus on ports 1 and 2 with one key; port 1
    // holds and dies; port 2 preempts its own key.
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.a2, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    assert_conflict(&f.write(f.a2, 0, 1, 1));
    f.lu.drop_nexus(f.a1);
    assert_good(&f.preempt(f.a2, KA, KA, PrType::WriteExclusive, false));
    assert!(f.lu.is_holder(f.a2));
    assert_eq!(f.lu.registered_key(f.a2), Some(KA));
    assert_eq!(f.lu.registered_key(f.a1), None);
    assert_eq!(f.keys(f.a2).1, vec![KA, KB]);
    assert_good(&f.write(f.a2, 0, 1, 2));
    // Port 1 comes back: I_T nexus loss replaced the preemption notice.
    f.lu.login(f.a1).unwrap();
    assert_ua(&f.tur(f.a1), 0x29, 0x07);
    assert_good(&f.tur(f.a1));
}

#[test]
fn preempt_all_registrants_with_key_zero() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.register(f.c1, KC));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusiveAllRegistrants));
    assert_good(&f.preempt(f.b1, KB, 0, PrType::ExclusiveAccess, true));
    assert_eq!(f.keys(f.b1).1, vec![KB]);
    assert_eq!(
        f.read_reservation(f.b1),
        Some((KB, PrType::ExclusiveAccess))
    );
    assert_eq!(f.lu.take_aborted(), vec![f.a1, f.c1]);
    assert!(f.lu.take_aborted().is_empty());
    assert_ua(&f.tur(f.a1), 0x2A, 0x05);
    assert_ua(&f.tur(f.c1), 0x2A, 0x05);
}

#[test]
fn preempt_and_abort_lists_every_port_of_an_all_tg_pt_victim() {
    let mut f = fx();
    let p = PrOutParams {
        all_tg_pt: true,
        ..PrOutParams::new(0, KA)
    };
    assert_good(&f.pr_out(f.a1, PrOutAction::RegisterAndIgnoreExistingKey, None, &p));
    assert_good(&f.register(f.b1, KB));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    assert_good(&f.preempt(f.b1, KB, KA, PrType::WriteExclusive, true));
    let a = f.a1.initiator;
    assert_eq!(
        f.lu.take_aborted(),
        (1..=4).map(|p| Nexus::new(a, p)).collect::<Vec<_>>()
    );
    for n in [f.a1, f.a2, f.a3] {
        assert_ua(&f.tur(n), 0x2A, 0x05);
    }
}

#[test]
fn all_tg_pt_registers_every_target_port() {
    let mut f = fx();
    let p = PrOutParams {
        all_tg_pt: true,
        ..PrOutParams::new(0, KA)
    };
    assert_good(&f.pr_out(f.a1, PrOutAction::RegisterAndIgnoreExistingKey, None, &p));
    for n in [f.a1, f.a2, f.a3] {
        assert_eq!(f.lu.registered_key(n), Some(KA));
    }
    // One registration, one key, ALL_TG_PT in READ FULL STATUS.
    assert_eq!(f.keys(f.b1).1, vec![KA]);
    let (_, rows) = f.full_status(f.b1);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].all_tg_pt && !rows[0].r_holder);
    assert_eq!(rows[0].name, NAME_A);
    // The holder is the nexus that reserved, not every port of the host.
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    assert_good(&f.write(f.a1, 2, 1, 1));
    assert_conflict(&f.write(f.a2, 2, 1, 2));
    assert_good(&f.read(f.a2, 2).0);
    // Unregistering through any port drops the whole registration, and
    // with it the reservation.
    assert_good(&f.register(f.a3, 0));
    assert!(f.lu.registrations().is_empty());
    assert_eq!(f.lu.reservation(), None);
}

#[test]
fn spec_i_pt_registers_the_named_initiator_ports() {
    let mut f = fx();
    let ids = [tid(NAME_B), tid(NAME_C)];
    let p = PrOutParams {
        spec_i_pt: true,
        transport_ids: List::Items(&ids),
        ..PrOutParams::new(0, KA)
    };
    assert_good(&f.pr_out(f.a1, PrOutAction::Register, None, &p));
    // Through the port that received the command only.
    assert_eq!(f.lu.registered_key(f.a1), Some(KA));
    assert_eq!(f.lu.registered_key(f.b1), Some(KA));
    assert_eq!(f.lu.registered_key(f.c1), Some(KA));
    assert_eq!(f.lu.registered_key(f.b2), None);
    assert_eq!(f.keys(f.a1), (1, vec![KA, KA, KA]));
    // From a registered nexus: INVALID FIELD IN PARAMETER LIST at SPEC_I_PT.
    let r = f.pr_out(
        f.a1,
        PrOutAction::Register,
        None,
        &PrOutParams { key: KA, ..p },
    );
    assert_pointer(&r, 0x26, false, 20, Some(3));
    // With REGISTER AND IGNORE EXISTING KEY: likewise.
    let r = f.pr_out(f.a2, PrOutAction::RegisterAndIgnoreExistingKey, None, &p);
    assert_pointer(&r, 0x26, false, 20, Some(3));
    // Naming a nexus already registered: the pointer is at that TransportID.
    let ids = [tid(NAME_B)];
    let p = PrOutParams {
        spec_i_pt: true,
        transport_ids: List::Items(&ids),
        ..PrOutParams::new(0, KB)
    };
    let r = f.pr_out(f.a2, PrOutAction::Register, None, &PrOutParams { ..p });
    assert_good(&r); // b2 is not registered: fine
    let r = f.pr_out(f.a3, PrOutAction::Register, None, &p);
    assert_good(&r);
    let mut g = fx();
    assert_good(&g.register(g.b1, KB));
    let r = g.pr_out(g.a1, PrOutAction::Register, None, &p);
    assert_pointer(&r, 0x26, false, 28, None);
    assert_eq!(g.lu.registered_key(g.a1), None);
}

#[test]
fn register_and_move_hands_the_reservation_over() {
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.register(f.c1, KC));
    let dest = tid(NAME_B);
    let mv = |key, sa_key, port, unreg| RegisterAndMoveParams {
        key,
        sa_key,
        unreg,
        aptpl: false,
        relative_target_port: port,
        transport_id: dest,
    };
    let send = |n, f: &mut Fx, p: RegisterAndMoveParams<'_>| {
        let mut list = vec![0u8; p.buffer_len()];
        p.emit(&mut list).unwrap();
        let c = cdb::persistent_reserve_out(
            PrOutAction::RegisterAndMove,
            Some(PrType::WriteExclusive),
            list.len() as u32,
        );
        f.run(n, &c, &list, 0).0
    };
    // No reservation: conflict.
    assert_conflict(&send(f.a1, &mut f, mv(KA, 0xBB, 2, false)));
    assert_good(&f.reserve(f.a1, KA, PrType::ExclusiveAccess));
    // Not the holder: conflict.
    assert_conflict(&send(f.c1, &mut f, mv(KC, 0xBB, 2, false)));
    // Bad destination port, zero key.
    assert_pointer(
        &send(f.a1, &mut f, mv(KA, 0xBB, 9, false)),
        0x26,
        false,
        18,
        None,
    );
    assert_pointer(
        &send(f.a1, &mut f, mv(KA, 0, 2, false)),
        0x26,
        false,
        8,
        None,
    );
    let g = f.lu.pr_generation();
    assert_good(&send(f.a1, &mut f, mv(KA, 0xBB, 2, true)));
    assert_eq!(f.lu.pr_generation(), g + 1);
    assert_eq!(f.lu.registered_key(f.b2), Some(0xBB));
    assert_eq!(f.lu.registered_key(f.a1), None);
    assert_eq!(
        f.lu.reservation(),
        Some(Reservation {
            holder: Holder::Nexus(f.b2),
            pr_type: PrType::ExclusiveAccess
        })
    );
    assert_good(&f.write(f.b2, 4, 2, 1));
    assert_conflict(&f.write(f.b1, 4, 2, 2));
    // All-registrants reservations cannot be moved.
    let mut f = fx();
    assert_good(&f.register(f.a1, KA));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusiveAllRegistrants));
    assert_conflict(&send(f.a1, &mut f, mv(KA, 0xBB, 2, false)));
}

#[test]
fn aptpl_decides_what_survives_a_restart() {
    let mut f = fx();
    let p = PrOutParams {
        aptpl: true,
        ..PrOutParams::new(0, KA)
    };
    assert_good(&f.pr_out(f.a1, PrOutAction::RegisterAndIgnoreExistingKey, None, &p));
    assert_good(&f.reserve(f.a1, KA, PrType::WriteExclusive));
    let caps = f.pr_in(f.a1, PrInAction::ReportCapabilities, 8);
    match PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &caps).unwrap() {
        PrInRepr::ReportCapabilities(c) => {
            assert!(c.ptpl_a && c.ptpl_c && c.sip_c && c.atp_c && c.tmv);
            assert!(!c.crh && !c.rlr_c);
            assert_eq!((c.allow_commands, c.types), (1, PrTypeMask::all()));
        }
        other => panic!("{other:?}"),
    }
    let g = f.lu.pr_generation();
    f.lu.restart();
    for n in f.all() {
        assert_ua(&f.tur(n), 0x29, 0x00);
    }
    assert_eq!(f.read_reservation(f.b1), Some((KA, PrType::WriteExclusive)));
    assert_eq!(f.lu.pr_generation(), g);
    // The last register action clears APTPL: now a restart forgets.
    assert_good(&f.register(f.b1, KB));
    assert!(!f.lu.aptpl());
    f.lu.restart();
    assert!(f.lu.registrations().is_empty());
    assert_eq!(f.lu.reservation(), None);
    assert_eq!(f.lu.pr_generation(), 0);
}

#[test]
fn read_full_status_describes_every_registration() {
    let mut f = fx();
    let p = PrOutParams {
        all_tg_pt: true,
        ..PrOutParams::new(0, KA)
    };
    assert_good(&f.pr_out(f.a1, PrOutAction::RegisterAndIgnoreExistingKey, None, &p));
    assert_good(&f.register(f.b2, KB));
    assert_good(&f.reserve(f.b2, KB, PrType::ExclusiveAccessRegistrantsOnly));
    let (generation, rows) = f.full_status(f.c1);
    assert_eq!(generation, 2);
    assert_eq!(
        rows,
        vec![
            StatusRow {
                key: KA,
                all_tg_pt: true,
                r_holder: false,
                pr_type: None,
                rtpi: 0,
                name: NAME_A.to_vec(),
            },
            StatusRow {
                key: KB,
                all_tg_pt: false,
                r_holder: true,
                pr_type: Some(PrType::ExclusiveAccessRegistrantsOnly),
                rtpi: 2,
                name: NAME_B.to_vec(),
            },
        ]
    );
}

#[test]
fn allocation_length_cuts_data_but_not_additional_length() {
    let mut f = fx();
    for (i, n) in f.all().into_iter().enumerate() {
        assert_good(&f.register(n, 0x100 + i as u64));
    }
    let data = f.pr_in(f.a1, PrInAction::ReadKeys, 20);
    assert_eq!(data.len(), 20);
    assert_eq!(
        PrIn::<&[u8]>::required_len(&data, PrInAction::ReadKeys),
        Ok(8 + 48)
    );
    assert_eq!(&data[8..16], &0x100u64.to_be_bytes());
    assert!(PrInRepr::parse_bytes(PrInAction::ReadKeys, &data).is_err());
    let full = f.pr_in(f.a1, PrInAction::ReadFullStatus, 30);
    assert_eq!(full.len(), 30);
    let whole = f.pr_in(f.a1, PrInAction::ReadFullStatus, 4096);
    assert_eq!(
        PrIn::<&[u8]>::required_len(&full, PrInAction::ReadFullStatus),
        Ok(whole.len())
    );
    // A buffer smaller than the allocation length: what fits, and an
    // overflow residual.
    let c = cdb::persistent_reserve_in(PrInAction::ReadKeys, 1024);
    let (r, data) = f.run(f.a1, &c, &[], 10);
    assert_eq!(data.len(), 10);
    assert_eq!(
        r.residual,
        mpath_sim::scsi_target::Residual::Overflow(56 - 10)
    );
}

#[test]
fn parameter_list_errors() {
    let mut f = fx();
    // PARAMETER LIST LENGTH 20: 1A/00.
    let c = cdb::persistent_reserve_out(PrOutAction::RegisterAndIgnoreExistingKey, None, 20);
    let r = f.run(f.a1, &c, &[0u8; 20], 0).0;
    assert_check(&r, SenseKey::IllegalRequest, 0x1A, 0x00);
    // The initiator sent less than it said: 0E/03.
    let c = cdb::persistent_reserve_out(PrOutAction::RegisterAndIgnoreExistingKey, None, 24);
    let r = f.run(f.a1, &c, &[0u8; 10], 0).0;
    assert_check(&r, SenseKey::IllegalRequest, 0x0E, 0x03);
    // SPEC_I_PT on RESERVE.
    let ids = [tid(NAME_B)];
    let p = PrOutParams {
        spec_i_pt: true,
        transport_ids: List::Items(&ids),
        ..PrOutParams::new(0, 0)
    };
    let r = f.pr_out(f.a1, PrOutAction::Reserve, Some(PrType::WriteExclusive), &p);
    assert_pointer(&r, 0x26, false, 20, Some(3));
    assert_eq!(f.lu.pr_generation(), 0);
}
