//! The SCSI adapter driving a real core over two paths to one logical unit
//! through two target port groups. Every byte the "target" returns is built
//! with this crate's emitters.

mod common;

use mpath_core::reservation::RegistrationScope;
use mpath_core::{
    AccessState, Action, ActivationResult, Config, DataPlane, Device, Disposition, GroupAccess,
    GroupId, Instant, Io, Link, Multipath, NexusId, PathId, Tier,
};
use mpath_scsi::alua::{AluaState, SupportedStates, TpgStatus};
use mpath_scsi::cdb::RtpgFormat;
use mpath_scsi::classify::status;
use mpath_scsi::inquiry::Tpgs;
use mpath_scsi::rtpg::{RelativePortId, TpgDescriptor};
use mpath_scsi::{
    classify_io, path_spec, AdapterError, Applied, CommandKind, List, PathIdentity, RtpgApplied,
    RtpgRepr, ScsiAdapter, ScsiCommand, ScsiResponse, SenseFormat, SenseKey, SenseRepr, StpgRepr,
    TransportStatus,
};

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// Standard INQUIRY and VPD 83h through relative port `port` in `tpg`.
fn discover(tpg: u16, port: u16) -> PathIdentity {
    common::identity(Tpgs::Both, Some(tpg), port)
}

/// A two-port-group array: TPG 1 holds relative port 1, TPG 2 port 2.
/// TPG 2 cannot be made active/optimized (AO_SUP clear); a transition of
/// TPG 1 ends in standby at `transition_ends`.
struct Array {
    states: [AluaState; 2],
    implicit_transition_time: u8,
    transition_ends: Instant,
    /// Groups named by STPG, and whether the array accepted it.
    stpgs: Vec<(u16, bool)>,
    /// Paths held I/O was dispatched on.
    io_paths: Vec<PathId>,
}

impl Array {
    fn supported(i: usize) -> SupportedStates {
        if i == 0 {
            SupportedStates::all()
        } else {
            SupportedStates::all().difference(SupportedStates::ACTIVE_OPTIMIZED)
        }
    }

    fn rtpg(&mut self, now: Instant) -> Vec<u8> {
        if self.states[0] == AluaState::Transitioning && now >= self.transition_ends {
            self.states[0] = AluaState::Standby;
        }
        let ports = [[RelativePortId(1)], [RelativePortId(2)]];
        let ds: Vec<TpgDescriptor<'_>> = (0..2)
            .map(|i| TpgDescriptor {
                preferred: false,
                state: self.states[i],
                supported: Self::supported(i),
                group: u16::try_from(i + 1).unwrap(),
                status: TpgStatus::AlteredByImplicitBehavior,
                vendor_specific: 0,
                ports: List::Items(&ports[i]),
            })
            .collect();
        let r = RtpgRepr {
            format: RtpgFormat::Extended,
            implicit_transition_time: self.implicit_transition_time,
            groups: List::Items(&ds),
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut b).unwrap();
        b
    }

    /// Answer a command: (status, sense, data-in).
    fn serve(&mut self, cmd: &ScsiCommand, now: Instant) -> (u8, Vec<u8>, Vec<u8>) {
        match cmd.kind() {
            CommandKind::Probe => (status::GOOD, Vec::new(), Vec::new()),
            CommandKind::RefreshAccessState => (status::GOOD, Vec::new(), self.rtpg(now)),
            CommandKind::ActivateGroup { .. } => {
                let list = StpgRepr::parse_bytes(cmd.data_out()).unwrap();
                for d in list.descriptors.iter() {
                    let i = usize::from(d.group) - 1;
                    let ok = d.state != AluaState::ActiveOptimized
                        || Self::supported(i).contains(SupportedStates::ACTIVE_OPTIMIZED);
                    self.stpgs.push((d.group, ok));
                    if !ok {
                        // INVALID FIELD IN PARAMETER LIST.
                        let r =
                            SenseRepr::new(SenseFormat::Fixed, SenseKey::IllegalRequest, 0x26, 0);
                        let mut sb = vec![0u8; r.buffer_len()];
                        r.emit(&mut sb).unwrap();
                        return (status::CHECK_CONDITION, sb, Vec::new());
                    }
                    self.states[i] = d.state;
                }
                (status::GOOD, Vec::new(), Vec::new())
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

type Mp = Multipath<8>;

/// Carry out every action the core has, answering commands from `array`;
/// returns the commands sent.
fn pump(mp: &mut Mp, ad: &mut ScsiAdapter<8>, array: &mut Array, now: Instant) -> Vec<ScsiCommand> {
    let mut sent = Vec::new();
    while let Some(action) = mp.controller_mut().poll_action() {
        if let Action::Dispatch(tk) = action {
            array.io_paths.push(tk.path());
            mp.complete_ok(tk, now).unwrap();
            continue;
        }
        let Some(mut cmd) = ad.map_action(&action).unwrap() else {
            assert!(matches!(
                action,
                Action::HeadLive | Action::TransitionTimedOut { .. }
            ));
            continue;
        };
        loop {
            sent.push(cmd);
            let (st, sense, data) = array.serve(&cmd, now);
            let resp = ScsiResponse {
                transport: TransportStatus::Ok,
                status: st,
                sense: (!sense.is_empty()).then_some(&sense[..]),
                data_in: &data,
            };
            match ad.apply(mp.controller_mut(), &cmd, &resp, now).unwrap() {
                Applied::Refresh(RtpgApplied::Reissue(c)) => cmd = c,
                _ => break,
            }
        }
    }
    sent
}

fn dispatch(d: Disposition) -> mpath_core::Ticket {
    match d {
        Disposition::Dispatch(t) => t,
        other => panic!("expected a dispatch, got {other:?}"),
    }
}

#[test]
fn alua_failover_transition_timeout_and_explicit_activation() {
    // Discovery: two I_T nexuses, one logical unit, two port groups.
    let a = discover(1, 1);
    let b = discover(2, 2);
    assert_eq!(a.lu, b.lu, "one multipath device");
    assert_eq!(a.lu.to_string(), "naa.6001405abcdef0123456789abcdef012");
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    let cfg = ScsiAdapter::<8>::core_config(cfg, a.tpgs);
    assert!(cfg.access.explicit_activation, "TPGS says explicit");
    let mut mp = Mp::new(cfg).unwrap();
    let mut ad = ScsiAdapter::<8>::new(a.lu);
    let ctl = mp.controller_mut();
    let p1 = ad
        .add_path(ctl, &a, path_spec(&a, NexusId(1), None).unwrap(), 0, t(0))
        .unwrap();
    let p2 = ad
        .add_path(ctl, &b, path_spec(&b, NexusId(2), None).unwrap(), 0, t(0))
        .unwrap();

    // RTPG: TPG 1 active/optimized, TPG 2 active/non-optimized.
    let mut array = Array {
        states: [AluaState::ActiveOptimized, AluaState::ActiveNonOptimized],
        implicit_transition_time: 0,
        transition_ends: t(10_002),
        stpgs: Vec::new(),
        io_paths: Vec::new(),
    };
    let sent = pump(&mut mp, &mut ad, &mut array, t(0));
    assert_eq!(sent.len(), 2, "one RTPG through each new path");
    let ctl = mp.controller();
    assert_eq!(ctl.tier(p1), Ok(Tier::Optimized));
    assert_eq!(ctl.tier(p2), Ok(Tier::NonOptimized));
    for tag in 0..4 {
        let tk = dispatch(mp.submit(Io::read(tag, 4096, 3), t(1)).unwrap());
        assert_eq!(tk.path(), p1, "only the TPG 1 path");
        mp.complete_ok(tk, t(1)).unwrap();
    }

    // A write on path 1 meets NOT READY, ASYMMETRIC ACCESS STATE TRANSITION.
    let tk = dispatch(mp.submit(Io::write(10, 4096, 3), t(2)).unwrap());
    assert_eq!(tk.path(), p1);
    let sense = SenseRepr::new(SenseFormat::Descriptor, SenseKey::NotReady, 0x04, 0x0A);
    let mut sb = [0u8; 32];
    let n = sense.emit(&mut sb).unwrap();
    let c = classify_io(TransportStatus::Ok, status::CHECK_CONDITION, Some(&sb[..n]));
    let d = mp.controller_mut().handle_completion(tk, c, t(2)).unwrap();
    // Writes wait out the quiesce time before they go to path 2.
    assert_eq!(d, Disposition::Queued);
    assert_eq!(mp.controller().tier(p1), Ok(Tier::Ineligible));
    let action = mp.controller_mut().poll_action().unwrap();
    assert_eq!(action, Action::RefreshAccessState { via: p1 });
    let rtpg = ad.map_action(&action).unwrap().unwrap();
    assert_eq!(
        rtpg.cdb(),
        [0xA3, 0x2A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0],
        "MAINTENANCE IN / RTPG, extended header, 128 bytes"
    );
    // TPG 1 is transitioning, and says it may take 10 s.
    array.states[0] = AluaState::Transitioning;
    array.implicit_transition_time = 10;
    let data = array.rtpg(t(3));
    let got = ad.apply(mp.controller_mut(), &rtpg, &ScsiResponse::good(&data), t(3));
    assert_eq!(
        got,
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 2 }))
    );

    // Until the transition times out: RTPG polls, the held write goes to
    // path 2, and the core's try to activate TPG 2 is refused (no AO_SUP).
    let mut now = t(3);
    let mut sent = Vec::new();
    while now < t(10_002) {
        sent.extend(pump(&mut mp, &mut ad, &mut array, now));
        now = mp.controller().poll_timeout().unwrap();
        mp.controller_mut().handle_timeout(now).unwrap();
    }
    // The timeout bounds the whole transition, which began when the write
    // reported it (t = 2 ms), not when RTPG confirmed it.
    assert_eq!(now, t(10_002), "10 s after the transition began");
    assert_eq!(array.io_paths, [p2]);
    assert!(
        array.stpgs.iter().all(|&s| s == (2, false)),
        "{:?}",
        array.stpgs
    );
    let polls = sent
        .iter()
        .filter(|c| c.kind() == CommandKind::RefreshAccessState)
        .count();
    assert!(
        polls >= 9,
        "RTPG about every second while transitioning: {polls}"
    );
    // Past the implicit transition time: treated as standby.
    let snap = mp.controller().path_snapshot(p1, &[]).unwrap();
    assert_eq!(snap.access, AccessState::Standby);
    assert_eq!(snap.tier, Tier::Ineligible);
    sent.clear();
    sent.extend(pump(&mut mp, &mut ad, &mut array, now));
    assert_eq!(
        mp.controller().group_access(GroupId(1)),
        Some(GroupAccess::new(AccessState::Standby))
    );

    // The administrator prefers TPG 1 (dm switch_group): with explicit
    // ALUA the core activates it.
    mp.controller_mut()
        .switch_group(Some(GroupId(1)), now)
        .unwrap();
    let action = mp.controller_mut().poll_action().unwrap();
    assert_eq!(
        action,
        Action::ActivateGroup {
            group: GroupId(1),
            via: p1
        }
    );
    let stpg = ad.map_action(&action).unwrap().unwrap();
    assert_eq!(stpg.cdb(), [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]);
    assert_eq!(stpg.data_out(), [0, 0, 0, 0, 0x00, 0, 0, 1]);
    let list = StpgRepr::parse_bytes(stpg.data_out()).unwrap();
    let ds: Vec<_> = list.descriptors.iter().collect();
    assert_eq!(
        (ds.len(), ds[0].group, ds[0].state),
        (1, 1, AluaState::ActiveOptimized)
    );
    let (st, _, _) = array.serve(&stpg, now);
    assert_eq!(st, status::GOOD);
    let got = ad.apply(mp.controller_mut(), &stpg, &ScsiResponse::GOOD, now);
    assert_eq!(got, Ok(Applied::Activation(ActivationResult::Done)));
    // GOOD is followed by RTPG, which finds TPG 1 active/optimized.
    let action = mp.controller_mut().poll_action().unwrap();
    assert_eq!(action, Action::RefreshAccessState { via: p1 });
    let rtpg = ad.map_action(&action).unwrap().unwrap();
    let data = array.rtpg(now);
    ad.apply(mp.controller_mut(), &rtpg, &ScsiResponse::good(&data), now)
        .unwrap();
    pump(&mut mp, &mut ad, &mut array, now);
    assert_eq!(mp.controller().tier(p1), Ok(Tier::Optimized));
    for tag in 20..24 {
        let tk = dispatch(mp.submit(Io::read(tag, 4096, 3), now).unwrap());
        assert_eq!(tk.path(), p1, "I/O is back on path 1");
        mp.complete_ok(tk, now).unwrap();
    }
}

/// A probe on a path the adapter does not know (forgotten here; removed
/// paths answer the same): `map_action` and `apply` refuse it with
/// `UnknownPath` and change nothing, and `settle_unmapped` tells the device
/// the path is down, since nothing can be sent on it. Driven through a
/// `Device`, which takes the adapter's inputs like a bare controller.
#[test]
fn a_probe_on_an_unknown_path_is_refused_as_unknown_path() {
    let mut dev: Device<DataPlane<8>, 8> = Device::new(
        DataPlane::new(),
        ScsiAdapter::<8>::core_config(Config::DEFAULT, Tpgs::NotSupported),
        RegistrationScope::Nexus,
    )
    .unwrap();
    let id = common::identity(Tpgs::NotSupported, None, 1);
    let mut ad = ScsiAdapter::<8>::new(id.lu);
    let spec = path_spec(&id, NexusId(1), None).unwrap();
    let p = ad.add_path(&mut dev, &id, spec, 0, t(0)).unwrap();
    while dev.poll_action().is_some() {}
    let tur = ad.test_unit_ready(p).unwrap();
    assert!(ad.forget(p));
    let probe = Action::Probe(p);
    assert_eq!(ad.map_action(&probe), Err(AdapterError::UnknownPath(p)));
    let before = dev.controller().path_snapshot(p, &[]).unwrap();
    assert_eq!(
        ad.apply(&mut dev, &tur, &ScsiResponse::GOOD, t(1)),
        Err(AdapterError::UnknownPath(p))
    );
    assert_eq!(dev.controller().path_snapshot(p, &[]).unwrap(), before);
    assert_eq!(
        ad.classify_completion(p, &ScsiResponse::GOOD),
        Err(AdapterError::UnknownPath(p))
    );
    ad.settle_unmapped(&mut dev, &probe, t(1)).unwrap();
    assert_eq!(
        dev.controller().path_snapshot(p, &[]).unwrap().link,
        Link::Down
    );
}
