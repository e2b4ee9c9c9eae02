//! mpath-nvme's host-side adapter driven against the simulated subsystem:
//! discovery from Identify, ANA refreshes from the ANA log page, and the
//! reservation coordinator's commands, all in real bytes.

#[path = "nvme_common.rs"]
mod common;
use common::*;

use mpath_core::reservation::{PrAction, PrCommand, PrReply, PrType};
use mpath_core::{AccessState, Config, Instant, Multipath, PathId};
use mpath_nvme::ana::AnaState;
use mpath_nvme::classify::Delivery;
use mpath_nvme::command::{NvmeCommand, NvmeResponse};
use mpath_nvme::identify::{IdentifyControllerRepr, IdentifyNamespaceRepr, IDENTIFY_LEN};
use mpath_nvme::identity::{NsIdentity, NvmePath};
use mpath_nvme::{Applied, NvmeAdapter, PrStep};
use mpath_sim::nvme_target::admin::cns;
use mpath_sim::nvme_target::{Queue, SubmissionEntry, Subsystem};

fn nvme_path(s: &mut Subsystem, cntlid: u16, nsid: u32) -> NvmePath {
    let mut c = vec![0u8; IDENTIFY_LEN];
    let mut n = vec![0u8; IDENTIFY_LEN];
    ok(&run(
        s,
        cntlid,
        Queue::Admin,
        &SubmissionEntry::identify(1, cns::CONTROLLER, 0),
        &[],
        &mut c,
    ));
    ok(&run(
        s,
        cntlid,
        Queue::Admin,
        &SubmissionEntry::identify(2, cns::NAMESPACE, nsid),
        &[],
        &mut n,
    ));
    NvmePath::from_identify(
        &IdentifyControllerRepr::parse(&c).unwrap(),
        &IdentifyNamespaceRepr::parse(&n).unwrap(),
        nsid,
    )
    .unwrap()
}

/// Sends an adapter command to controller `cntlid`: the completion's
/// delivery and the data that came back.
fn send(s: &mut Subsystem, cntlid: u16, cmd: &NvmeCommand) -> (Delivery, Vec<u8>) {
    let e = SubmissionEntry::from_command(cmd, 0x99).unwrap();
    let mut out = vec![0u8; cmd.data_out_len()];
    cmd.emit_data_out(&mut out).unwrap();
    let q = if cmd.is_admin() {
        Queue::Admin
    } else {
        Queue::Io
    };
    let mut data_in = vec![0u8; cmd.data_in_len() as usize];
    let c = run(s, cntlid, q, &e, &out, &mut data_in);
    (Delivery::Completed(c.status), data_in)
}

struct Host {
    mp: Multipath<4>,
    ad: NvmeAdapter<4>,
    paths: Vec<(PathId, u16)>,
}

fn host_a(s: &mut Subsystem, rgo: bool) -> Host {
    let p1 = nvme_path(s, A1, NS1);
    let identity = NsIdentity::new(p1.identity.subnqn, NS1).unwrap();
    let mut mp = Multipath::<4>::new(NvmeAdapter::<4>::core_config(Config::DEFAULT)).unwrap();
    let mut ad = NvmeAdapter::<4>::new(identity).with_rgo(rgo);
    let t0 = Instant::from_nanos(0);
    let mut paths = Vec::new();
    for cntlid in [A1, A2] {
        let p = nvme_path(s, cntlid, NS1);
        let id = ad.add_path(mp.controller_mut(), &p, None, t0).unwrap();
        paths.push((id, cntlid));
    }
    Host { mp, ad, paths }
}

impl Host {
    fn cntlid(&self, path: PathId) -> u16 {
        self.paths.iter().find(|(p, _)| *p == path).unwrap().1
    }

    /// Runs every action the core asks for against the subsystem;
    /// returns the refreshes applied.
    fn pump(&mut self, s: &mut Subsystem) -> usize {
        let mut refreshed = 0;
        let now = Instant::from_nanos(1);
        while let Some(action) = self.mp.controller_mut().poll_action() {
            let Ok(Some(cmd)) = self.ad.map_action(&action) else {
                continue;
            };
            let (delivery, data) = send(s, self.cntlid(cmd.path()), &cmd);
            let resp = NvmeResponse {
                delivery,
                data_in: &data,
            };
            if let Ok(Applied::Refresh { .. }) =
                self.ad.apply(self.mp.controller_mut(), &cmd, &resp, now)
            {
                refreshed += 1;
            }
        }
        refreshed
    }

    fn state(&self, cntlid: u16) -> AccessState {
        let (path, _) = *self.paths.iter().find(|(_, c)| *c == cntlid).unwrap();
        let group = self.ad.path(path).unwrap().group;
        self.mp.controller().group_access(group).unwrap().state
    }

    fn pr(&self, s: &mut Subsystem, via: usize, command: PrCommand, key: Option<u64>) -> PrReply {
        let (path, cntlid) = self.paths[via];
        let mut cmd = self
            .ad
            .pr_command(&PrAction { via: path, command })
            .unwrap();
        loop {
            let (delivery, data) = send(s, cntlid, &cmd);
            let resp = NvmeResponse {
                delivery,
                data_in: &data,
            };
            let decoded = self.ad.pr_reply(&cmd, &resp).unwrap();
            match decoded.step {
                PrStep::Answer(a) => return a.reply(key),
                PrStep::Resend(next) => cmd = next,
            }
        }
    }
}

#[test]
fn adapter_reads_ana_states_from_the_log_page() {
    for rgo in [false, true] {
        let mut s = subsystem();
        s.set_ana_state(A1, 1, AnaState::NonOptimized).unwrap();
        s.set_ana_state(A2, 1, AnaState::Inaccessible).unwrap();
        let mut h = host_a(&mut s, rgo);
        assert!(h.pump(&mut s) >= 2, "rgo {rgo}: both paths refreshed");
        assert_eq!(h.state(A1), AccessState::NonOptimized, "rgo {rgo}");
        assert_eq!(h.state(A2), AccessState::Inaccessible, "rgo {rgo}");
    }
}

#[test]
fn adapter_drives_reservations_through_the_coordinators_commands() {
    let mut s = subsystem();
    let h = host_a(&mut s, false);
    let key = Some(0x1234);
    assert_eq!(
        h.pr(&mut s, 0, PrCommand::Register { key: 0x1234 }, key),
        PrReply::Done
    );
    // Registered through A1: the report lists both of A's controllers.
    assert_eq!(
        h.pr(&mut s, 1, PrCommand::ReadKeys, key),
        PrReply::Keys {
            ours: 2,
            total: 2,
            here: None
        }
    );
    // Register with another key meets the existing registration; the
    // adapter replaces it with IEKEY.
    assert_eq!(
        h.pr(&mut s, 1, PrCommand::Register { key: 0x5678 }, None),
        PrReply::Done
    );
    assert_eq!(s.reservation_state(NS1).unwrap().key_of(A), Some(0x5678));
    let key = Some(0x5678);
    let rtype = PrType::WriteExclusiveRegistrantsOnly;
    assert_eq!(
        h.pr(&mut s, 0, PrCommand::Reserve { key: 0x5678, rtype }, key),
        PrReply::Done
    );
    assert_eq!(
        h.pr(&mut s, 1, PrCommand::ReadReservation, key),
        PrReply::Reservation(Some((0x5678, rtype)))
    );
    // Another host takes it over.
    ok(&register(&mut s, B1, NS1, 0xB));
    assert_eq!(
        h.pr(&mut s, 0, PrCommand::Reserve { key: 0x5678, rtype }, key),
        PrReply::Done
    );
    ok(&acquire(
        &mut s,
        B1,
        NS1,
        mpath_nvme::reservation::AcquireAction::Preempt,
        mpath_nvme::reservation::ReservationType::ExclusiveAccess,
        0xB,
        0x5678,
    ));
    assert_eq!(
        h.pr(&mut s, 1, PrCommand::ReadKeys, key),
        PrReply::Keys {
            ours: 0,
            total: 1,
            here: None
        }
    );
    assert_eq!(
        h.pr(&mut s, 0, PrCommand::Reserve { key: 0x5678, rtype }, key),
        PrReply::Conflict
    );
}
