//! The persistent-reservation scenarios against a second real target:
//! LIO, the Linux kernel's SCSI target, in a qemu VM (TCG) booted per
//! test, reached through libiscsi sessions over qemu's port forwards.
//! These tests need qemu-system-x86, busybox-static, cpio, apt's package
//! lists (the kernel is fetched into target/qemu-cache on first use) and
//! libiscsi-dev; without them they fail with a message saying what to
//! install. They never skip.
//!
//! Every test runs LIO as it comes, with ALUA on (TPGS 11b, one target
//! port group holding both ports), as users have it. LIO cuts its REPORT
//! TARGET PORT GROUPS answer short when asked for the extended header (see
//! `lio::Alua` and the evidence at the end of this file); mpath-scsi's
//! adapter then asks again with the length-only header, which LIO gets
//! right, and keeps to it on that path, so the host's bring-up goes
//! through RTPG on every path before the reservation steps. One scenario
//! also runs with ALUA off (TPGS 00b, as on tgt): that is the adapter's
//! other branch (no RTPG, every path in the default group), and it shows
//! the reservation behaviour does not hang on ALUA.

use mpath_iscsi::lio::Alua;
use mpath_iscsi::lio_fabric::LioFabric;
use mpath_iscsi::scenarios::{self, Row, Scenario, Verdict};

fn fabric_with(n: usize, alua: Alua) -> LioFabric {
    LioFabric::start(n, alua).unwrap_or_else(|e| panic!("cannot start the LIO fabric: {e}"))
}

fn fabric(n: usize) -> LioFabric {
    fabric_with(n, Alua::On)
}

fn run(name: &str) {
    run_with(name, Alua::On);
}

/// Run scenario `name` on its own VM: on LIO every scenario must pass.
fn run_with(name: &str, alua: Alua) {
    let s: Scenario<LioFabric> = scenarios::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let mut f = fabric_with(s.nexuses, alua);
    let row = Row::new(s.name, (s.run)(&mut f));
    eprintln!("{name}: {:?}: {}", row.result, row.details);
    assert_eq!(
        row.result,
        Verdict::Passed,
        "{name}: {}\nconsole tail:\n{}",
        row.details,
        console_tail(&f)
    );
}

fn console_tail(f: &LioFabric) -> String {
    let c = f.target().console();
    let lines: Vec<&str> = c.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The scenarios each test below runs, in table order; a scenario added
/// to `scenarios::all` fails this until it has a test here.
const COVERED: [&str; 26] = [
    "second session conflicts until registered",
    "register, reserve, write on every path",
    "new path registered before first write",
    "register, replace key, release, clear, unregister",
    "registration on a down path completes on return",
    "holder cut mid-write: reservation moves",
    "holder dies with no path up: moved on return",
    "type change under load: WE-RO, EA-RO, WE, WE-RO",
    "other host preempts: fenced",
    "other host preempts and aborts: fenced",
    "path restored after a preemption: fenced, no write lands",
    "type WE: access per SPC-4",
    "type EA: access per SPC-4",
    "type WE-RO: access per SPC-4",
    "type EA-RO: access per SPC-4",
    "type WE-AR: access per SPC-4",
    "type EA-AR: access per SPC-4",
    "all registrants: release, then EA-AR to WE-RO",
    "two hosts race: the other host reserves first",
    "READ FULL STATUS agrees with the coordinator",
    "ALL_TG_PT registration",
    "APTPL registration",
    "APTPL: registrations survive a target restart",
    "SPEC_I_PT registers the other host",
    "REGISTER AND MOVE to the other host",
    "REGISTER AND MOVE through the coordinator",
];

#[test]
fn every_scenario_has_a_test() {
    let names: Vec<&str> = scenarios::all::<LioFabric>()
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, COVERED);
}

macro_rules! scenario_tests {
    ($($test:ident = $i:expr;)*) => {$(
        #[test]
        fn $test() {
            run(COVERED[$i]);
        }
    )*};
}

scenario_tests! {
    second_session_conflicts_until_registered = 0;
    register_reserve_write_on_every_path = 1;
    new_path_registered_before_first_write = 2;
    register_replace_key_release_clear_unregister = 3;
    registration_on_down_path_completes_on_return = 4;
    holder_cut_mid_write_reservation_moves = 5;
    holder_dies_with_no_path_up_moved_on_return = 6;
    type_change_under_load = 7;
    other_host_preempts_we_are_fenced = 8;
    other_host_preempts_and_aborts_we_are_fenced = 9;
    path_restored_after_preemption_stays_fenced = 10;
    type_we_access = 11;
    type_ea_access = 12;
    type_we_ro_access = 13;
    type_ea_ro_access = 14;
    type_we_ar_access = 15;
    type_ea_ar_access = 16;
    all_registrants_release_and_type_change = 17;
    other_host_reserves_first = 18;
    read_full_status_agrees_with_the_coordinator = 19;
    all_tg_pt_registration = 20;
    aptpl_registration = 21;
    aptpl_registrations_survive_a_target_restart = 22;
    spec_i_pt_registers_the_other_host = 23;
    register_and_move_to_the_other_host = 24;
    register_and_move_through_the_coordinator = 25;
}

/// LIO names the I_T nexus by initiator name and ISID, not by session: a
/// nexus cut and logged in again with the same ISID keeps its
/// registration (tgt does not; see tgt_pr.rs). The nexuses sit on both
/// TPGs, and a cut nexus fails at the transport until it is restored.
#[test]
fn lio_keeps_the_registration_across_a_relogin_with_the_same_isid() {
    use mpath_core::reservation::PrCommand;
    use mpath_core::Outcome;
    use mpath_iscsi::pr_transport::PrAnswer;
    use mpath_iscsi::Fabric;
    let mut f = fabric(2);
    let ports: Vec<_> = (0..2)
        .map(|i| f.identify(i).unwrap().relative_target_port)
        .collect();
    assert!(
        ports[0].is_some() && ports[0] != ports[1],
        "relative target ports {ports:?}"
    );
    let key = scenarios::OURS;
    assert_eq!(f.pr(0, PrCommand::Register { key }).answer, PrAnswer::Done);
    assert_eq!(f.pr(1, PrCommand::Register { key }).answer, PrAnswer::Done);
    let rtype = scenarios::RTYPE;
    assert_eq!(
        f.pr(0, PrCommand::Reserve { key, rtype }).answer,
        PrAnswer::Done
    );
    let block = scenarios::pattern(f.block_size(), 1, 0);
    assert_eq!(f.write(1, 1, &block).outcome, Outcome::Success);
    f.cut_nexus(1).unwrap();
    assert!(
        matches!(f.write(1, 1, &block).outcome, Outcome::PathError(_)),
        "cut nexus still writes"
    );
    assert!(
        matches!(f.write(1, 1, &block).outcome, Outcome::PathError(_)),
        "cut nexus came back by itself"
    );
    f.restore_nexus(1).unwrap();
    assert_eq!(
        f.write(1, 1, &block).outcome,
        Outcome::Success,
        "LIO kept the registration of the same I_T nexus"
    );
    assert_eq!(
        f.other_host_pr(PrCommand::ReadKeys).answer,
        PrAnswer::Keys(vec![key, key]),
        "one registration per nexus, none duplicated"
    );
    // READ FULL STATUS as the coordinator's joins send it: LIO's
    // TransportIDs (name, ISID) and relative target ports name each
    // nexus, so the host can tell its own registration from its sibling's.
    let full = mpath_scsi::PrOptions::DEFAULT.with_full_status(true);
    for (i, port) in ports.iter().enumerate() {
        let (name, isid) = f.initiator_port(i).expect("LIO fabric names its ports");
        let port = port.unwrap();
        let x = mpath_iscsi::pr_transport::execute(&full, PrCommand::ReadKeys, |c| f.send(i, c));
        assert!(
            matches!(x.answer, PrAnswer::FullStatus(_)),
            "{:?}",
            x.answer
        );
        let here = |isid: u64, port: u16| {
            let isid = format!("{isid:012x}");
            let me = mpath_scsi::ItNexus {
                initiator: mpath_scsi::TransportId::Iscsi {
                    name: name.as_bytes(),
                    isid: Some(isid.as_bytes()),
                },
                relative_target_port: port,
            };
            x.answer.reply_at(Some(key), Some(&me))
        };
        let keys = |here| mpath_core::reservation::PrReply::Keys {
            ours: 2,
            total: 2,
            here,
        };
        assert_eq!(here(isid, port), keys(Some(true)), "nexus {i}");
        assert_eq!(
            here(isid ^ 0xff, port),
            keys(Some(false)),
            "nexus {i}, another ISID"
        );
        assert_eq!(
            here(isid, port ^ 0x7f),
            keys(Some(false)),
            "nexus {i}, another port"
        );
    }
    assert_eq!(f.pr(0, PrCommand::Clear { key }).answer, PrAnswer::Done);
}

/// The fixture stops exactly the qemu it started and leaves no process.
#[test]
fn the_vm_is_stopped_by_pid() {
    let mut f = fabric(1);
    let pid = f.target().pid().expect("running");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("qemu-system-x86_64"),
        "pid {pid} is not qemu"
    );
    f.target_mut().shutdown().unwrap();
    assert!(f.target().pid().is_none());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// REPORT TARGET PORT GROUPS, allocation length 128, with the extended
/// header (`extended`) or the length-only one.
fn rtpg_cdb(extended: bool) -> [u8; 12] {
    let format = if extended { 0x20 } else { 0 };
    [0xA3, 0x0A | format, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0]
}

/// Evidence for `lio::Alua` and for mpath-scsi's fallback to the
/// length-only header (its unit tests replay these bytes): LIO's one
/// target port group holds both relative target ports; the length-only
/// answer lists both, the extended one counts the header as 4 bytes, not
/// 8, and stops 4 bytes short, so TARGET PORT COUNT says 2 and one
/// identifier is missing. Should LIO get fixed, this fails and says so.
#[test]
fn lio_cuts_the_last_port_from_an_extended_rtpg_answer() {
    use mpath_iscsi::Fabric;
    let mut f = fabric_with(2, Alua::On);
    let inquiry = f.command(0, &[0x12, 0, 0, 0, 96, 0], None, 96);
    assert_eq!(
        inquiry.data[5] & 0x30,
        0x30,
        "TPGS: implicit and explicit ALUA"
    );
    let short = f.command(0, &rtpg_cdb(false), None, 128);
    assert_eq!(short.status, 0);
    assert_eq!(
        short.data,
        [0, 0, 0, 16, 0x00, 0xcf, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2],
        "length-only: group 0, active/optimized, ports 1 and 2"
    );
    let ext = f.command(0, &rtpg_cdb(true), None, 128);
    assert_eq!(ext.status, 0);
    assert_eq!(
        ext.data,
        [0, 0, 0, 16, 0x10, 0, 0, 0, 0x00, 0xcf, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1],
        "extended: RETURN DATA LENGTH 16 where SPC-4 has 20, port 2 cut off"
    );
}

/// The one scenario with ALUA off (TPGS 00b, LIO's `alua_access_type` 0):
/// the host sends no RTPG and keeps every path in the default group, the
/// branch tgt always takes; the reservation steps are the same.
#[test]
fn register_reserve_write_on_every_path_with_alua_off() {
    run_with(COVERED[1], Alua::Off);
}

/// The same target reached as an external one (`mpath-prtest`'s plain
/// portals), which has no way to restart it: the restart scenario does
/// everything before the restart, reports the rest not done
/// (unsupported, never passed), and leaves the target as it found it
/// (APTPL off, nothing registered).
#[test]
fn plain_portals_report_the_restart_not_done() {
    use mpath_core::reservation::PrCommand;
    use mpath_iscsi::lio::LioTarget;
    use mpath_iscsi::lio_fabric::{HOST_A, HOST_B};
    use mpath_iscsi::pr_transport::PrAnswer;
    use mpath_iscsi::{Fabric, PortalConfig, PortalFabric};
    let target = LioTarget::start(&[HOST_A, HOST_B], Alua::On).expect("LIO target");
    let cfg = PortalConfig {
        portals: vec![target.portal(0), target.portal(1)],
        target: target.iqn().to_owned(),
        lun: mpath_iscsi::lio::LUN,
        initiator: HOST_A.to_owned(),
        other_initiator: HOST_B.to_owned(),
        label: String::from("LIO as an external target"),
    };
    let mut f = PortalFabric::start(cfg, 2).expect("portal fabric");
    let row = Row::new(
        COVERED[22],
        scenarios::aptpl::survives_a_target_restart(&mut f),
    );
    eprintln!("{:?}: {}", row.result, row.details);
    assert_eq!(row.result, Verdict::Unsupported, "{}", row.details);
    assert!(
        row.details.contains("registered with APTPL") && row.details.contains("not restarted"),
        "{}",
        row.details
    );
    assert_eq!(
        f.other_host_pr(PrCommand::ReadKeys).answer,
        PrAnswer::Keys(Vec::new()),
        "left registrations behind"
    );
    // REPORT CAPABILITIES (sent again after a unit attention): PTPL_A is
    // byte 3, bit 0.
    let cdb = mpath_scsi::cdb::persistent_reserve_in(mpath_scsi::PrInAction::ReportCapabilities, 8);
    let c = scenarios::raw::send(&mut f, scenarios::raw::Via::Theirs, &cdb, None, 8);
    assert_eq!(c.status, 0, "REPORT CAPABILITIES: {:02x?}", c.sense);
    assert_eq!(c.data[3] & 0x01, 0, "PTPL_A left set: {:02x?}", c.data);
    drop(f);
    drop(target);
}
