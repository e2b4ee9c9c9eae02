//! Property test of the PR coordinator: random path events, operations,
//! notices and replies (including nonsense) never panic, and the gate it
//! publishes stays consistent.

#![allow(clippy::collapsible_match, clippy::needless_range_loop)]

use mpath_core::reservation::*;
use mpath_core::{Notices, PathId};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Ev {
    Op(u8, u64),
    Up(usize),
    Down(usize),
    Remove(usize),
    Add(usize),
    Notice(usize),
    Renexus(usize),
    Reply(u8),
    Stray(usize, u8),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        1 => (0u8..8, 1u64..4).prop_map(|(o, k)| Ev::Op(o, k)),
        1 => (0usize..6).prop_map(Ev::Up),
        1 => (0usize..6).prop_map(Ev::Down),
        1 => (0usize..6).prop_map(Ev::Remove),
        1 => (0usize..6).prop_map(Ev::Add),
        1 => (0usize..6).prop_map(Ev::Notice),
        1 => (0usize..6).prop_map(Ev::Renexus),
        4 => (0u8..9).prop_map(Ev::Reply),
        1 => (0usize..8, 0u8..9).prop_map(|(p, r)| Ev::Stray(p, r)),
    ]
}

fn reply(n: u8) -> PrReply {
    match n {
        0..=2 => PrReply::Done,
        3 => PrReply::Keys {
            ours: 1,
            total: 2,
            here: None,
        },
        4 => PrReply::Keys {
            ours: 0,
            total: 1,
            here: None,
        },
        5 => PrReply::Reservation(Some((1, PrType::WriteExclusive))),
        6 => PrReply::Conflict,
        7 => PrReply::PathFailed,
        _ => PrReply::Refused,
    }
}

fn id(i: usize) -> PathId {
    PathId::from_raw(0x0001_0000 | i as u32)
}

proptest! {
    #[test]
    fn coordinator_never_panics_and_gate_is_consistent(
        scope in 0u8..3,
        evs in proptest::collection::vec(ev(), 1..150),
    ) {
        let scope = [RegistrationScope::Nexus, RegistrationScope::InitiatorPort, RegistrationScope::Host][scope as usize];
        let mut c: Coordinator<8> = Coordinator::new(scope);
        let mut present = [false; 6];
        let mut up = [false; 6];
        let mut outstanding: Vec<PrAction> = Vec::new();
        for e in evs {
            match e {
                Ev::Op(o, k) => {
                    let op = match o {
                        0 => PrOp::Register(k),
                        1 => PrOp::Unregister,
                        2 => PrOp::Reserve(PrType::WriteExclusive),
                        3 => PrOp::Reserve(PrType::ExclusiveAccessAllRegistrants),
                        4 => PrOp::Release,
                        5 => PrOp::Preempt { victim: 9, rtype: PrType::ExclusiveAccess, abort: true },
                        6 => PrOp::Clear,
                        _ => PrOp::ReadKeys,
                    };
                    let _ = c.submit(op);
                }
                Ev::Add(i) if !present[i] => {
                    present[i] = true;
                    up[i] = true;
                    c.path_added(id(i), (i / 2) as u32, true);
                }
                Ev::Up(i) if present[i] => { up[i] = true; c.path_up(id(i)); }
                Ev::Down(i) if present[i] => { up[i] = false; c.path_down(id(i)); }
                Ev::Remove(i) if present[i] => {
                    present[i] = false;
                    up[i] = false;
                    outstanding.retain(|a| a.via != id(i));
                    c.path_removed(id(i));
                }
                Ev::Renexus(i) if present[i] => {
                    // The old nexus's command is failed by the coordinator.
                    outstanding.retain(|a| a.via != id(i));
                    c.nexus_replaced(id(i), (i / 2) as u32);
                }
                Ev::Notice(i) => c.handle_notices(id(i), Notices::REGISTRATIONS_PREEMPTED),
                Ev::Reply(n) => {
                    if !outstanding.is_empty() {
                        let a = outstanding.remove(0);
                        prop_assert!(c.reply(a.via, reply(n)));
                    }
                }
                Ev::Stray(p, n) => {
                    if !outstanding.iter().any(|a| a.via == id(p)) {
                        prop_assert!(!c.reply(id(p), reply(n)));
                    }
                }
                _ => {}
            }
            while let Some(a) = c.poll_action() {
                let i = a.via.slot();
                prop_assert!(i < 6 && present[i], "command for a missing path");
                prop_assert!(up[i], "command for a path that is down");
                prop_assert!(!outstanding.iter().any(|o| o.via == a.via), "two commands on one path");
                outstanding.push(a);
            }
            while c.poll_event().is_some() {}
            for i in 0..6 {
                if !present[i] { continue; }
                let admitted = c.admitted(id(i));
                if c.is_fenced() {
                    prop_assert!(!admitted);
                } else if c.key().is_some() {
                    prop_assert_eq!(admitted, c.state(id(i)) == Some(RegState::Registered));
                } else {
                    prop_assert!(admitted);
                }
            }
        }
    }
}
