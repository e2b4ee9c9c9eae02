//! mpath-scsi's host-side reservation mapping (`PrOptions::command` and
//! `decode`, what the adapter sends for the coordinator) against the
//! simulated logical unit: the host gets the answers SPC-4 says it should.

#[path = "scsi_common.rs"]
mod common;
use common::*;

use mpath_core::reservation::{PrAction, PrCommand, PrReply, PrType, RegistrationScope};
use mpath_core::PathId;
use mpath_scsi::{PrOptions, PrStep, ScsiCommand};
use mpath_sim::scsi_target::Nexus;

const KA: u64 = 0xAAAA;
const KB: u64 = 0xBBBB;

/// Send the command the host built for `command` on `n`, follow resends,
/// and return the coordinator's reply for `our_key` and whether any
/// response carried a notice.
trait Ask {
    fn ask(
        &mut self,
        opts: PrOptions,
        n: Nexus,
        command: PrCommand,
        our_key: Option<u64>,
    ) -> (PrReply, bool);
}

impl Ask for Fx {
    fn ask(
        &mut self,
        opts: PrOptions,
        n: Nexus,
        command: PrCommand,
        our_key: Option<u64>,
    ) -> (PrReply, bool) {
        let mut cmd: ScsiCommand = opts
            .command(&PrAction {
                via: PathId::from_raw(0),
                command,
            })
            .unwrap();
        let mut noticed = false;
        for _ in 0..4 {
            let mut buf = vec![0u8; cmd.data_in_len() as usize];
            let r = self
                .lu
                .command(n, cmd.cdb(), cmd.data_out(), &mut buf)
                .unwrap();
            let decoded = opts.decode(&cmd, &r.to_scsi(&buf)).unwrap();
            noticed |= decoded.notices != Default::default();
            match decoded.step {
                PrStep::Answer(a) => return (a.reply(our_key), noticed),
                PrStep::Resend(next) => cmd = next,
            }
        }
        panic!("no answer after resends");
    }
}

#[test]
fn coordinator_commands_get_spc4_answers() {
    let mut f = fx();
    let o = PrOptions::DEFAULT;
    let we = PrType::WriteExclusive;
    assert_eq!(
        f.ask(o, f.a1, PrCommand::Register { key: KA }, Some(KA)).0,
        PrReply::Done
    );
    assert_eq!(
        f.ask(o, f.a2, PrCommand::Register { key: KA }, Some(KA)).0,
        PrReply::Done
    );
    assert_eq!(
        f.ask(o, f.b1, PrCommand::ReadKeys, Some(KA)).0,
        PrReply::Keys {
            ours: 2,
            total: 2,
            here: None
        }
    );
    let reserve = PrCommand::Reserve { key: KA, rtype: we };
    assert_eq!(f.ask(o, f.a1, reserve, Some(KA)).0, PrReply::Done);
    assert_eq!(
        f.ask(o, f.c1, PrCommand::ReadReservation, None).0,
        PrReply::Reservation(Some((KA, we)))
    );
    // Another host: its RESERVE conflicts; its PREEMPT wins.
    assert_eq!(
        f.ask(o, f.b1, PrCommand::Register { key: KB }, Some(KB)).0,
        PrReply::Done
    );
    let ea = PrType::ExclusiveAccess;
    let r = f.ask(o, f.b1, PrCommand::Reserve { key: KB, rtype: ea }, Some(KB));
    assert_eq!(r.0, PrReply::Conflict);
    let preempt = PrCommand::Preempt {
        key: KB,
        victim: KA,
        rtype: ea,
        abort: true,
    };
    assert_eq!(f.ask(o, f.b1, preempt, Some(KB)).0, PrReply::Done);
    assert_eq!(f.lu.take_aborted(), vec![f.a1, f.a2]);
    // Host A learns it was preempted: a unit attention, resent, no key left.
    let (reply, noticed) = f.ask(o, f.a1, PrCommand::ReadKeys, Some(KA));
    assert_eq!(
        reply,
        PrReply::Keys {
            ours: 0,
            total: 1,
            here: None
        }
    );
    assert!(noticed);
    // Its writes are fenced.
    assert_conflict(&f.write(f.a1, 0, 1, 1));
    // Port 2 was preempted too: unregistered, its RELEASE is a conflict.
    let release = PrCommand::Release { key: KA, rtype: we };
    assert_eq!(f.ask(o, f.a2, release, Some(KA)).0, PrReply::Conflict);
    // B unregisters: its reservation goes with it.
    assert_eq!(
        f.ask(o, f.b1, PrCommand::Unregister, Some(KB)).0,
        PrReply::Done
    );
    assert_eq!(f.lu.reservation(), None);
}

#[test]
fn initiator_port_scope_registers_once_for_every_port() {
    let mut f = fx();
    let o = PrOptions::new(RegistrationScope::InitiatorPort)
        .unwrap()
        .with_aptpl(true);
    assert_eq!(
        f.ask(o, f.a3, PrCommand::Register { key: KA }, Some(KA)).0,
        PrReply::Done
    );
    assert_eq!(f.lu.registrations().len(), 1);
    assert!(f.lu.registrations()[0].all_tg_pt());
    assert!(f.lu.aptpl());
    assert_eq!(
        f.ask(o, f.b1, PrCommand::ReadKeys, Some(KA)).0,
        PrReply::Keys {
            ours: 1,
            total: 1,
            here: None
        }
    );
    f.lu.restart();
    // POWER ON is a unit attention the mapping resends through.
    let (reply, noticed) = f.ask(o, f.a1, PrCommand::ReadKeys, Some(KA));
    assert_eq!(
        reply,
        PrReply::Keys {
            ours: 1,
            total: 1,
            here: None
        }
    );
    assert!(noticed);
}

/// READ FULL STATUS as the coordinator's key check sends it
/// (`PrOptions::with_full_status`), decoded by the host with the asking
/// nexus's name: the simulated device server's descriptors (its own
/// encoder) say which nexus is registered.
#[test]
fn full_status_names_the_asking_nexus() {
    use mpath_scsi::ItNexus;
    let mut f = fx();
    let full = PrOptions::DEFAULT.with_full_status(true);
    f.ask(full, f.a1, PrCommand::Register { key: KA }, Some(KA));
    f.ask(full, f.b1, PrCommand::Register { key: KB }, Some(KB));
    let here = |f: &mut Fx, n: Nexus, rtpi: u16| {
        let cmd = full
            .command(&PrAction {
                via: PathId::from_raw(0),
                command: PrCommand::ReadKeys,
            })
            .unwrap();
        assert_eq!(cmd.cdb()[1] & 0x1f, 3, "READ FULL STATUS");
        let mut buf = vec![0u8; cmd.data_in_len() as usize];
        let r =
            f.lu.command(n, cmd.cdb(), cmd.data_out(), &mut buf)
                .unwrap();
        let d = full.decode(&cmd, &r.to_scsi(&buf)).unwrap();
        let me = ItNexus {
            initiator: tid(NAME_A),
            relative_target_port: rtpi,
        };
        d.reply_at(Some(KA), Some(&me)).unwrap()
    };
    let keys = |here| PrReply::Keys {
        ours: 1,
        total: 2,
        here,
    };
    let (a1, a2) = (f.a1, f.a2);
    assert_eq!(here(&mut f, a1, 1), keys(Some(true)));
    assert_eq!(here(&mut f, a2, 2), keys(Some(false)));
    // Registered through port 2 as well: both nexuses hold it.
    f.ask(full, a2, PrCommand::Register { key: KA }, Some(KA));
    assert_eq!(
        here(&mut f, a2, 2),
        PrReply::Keys {
            ours: 2,
            total: 3,
            here: Some(true)
        }
    );
}
