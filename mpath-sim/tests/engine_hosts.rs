//! Several hosts on one target, each with its own device and adapter:
//! they share the target ports (contention), register side by side under
//! a reservation, keep to what the reservation type lets them do, and are
//! fenced together when the target forgets them.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy};
use mpath_sim::engine::{ideal, Fault, Report, Scenario, Sim, Transport};

fn run(s: Scenario, seed: u64) -> Report {
    let r = Sim::new(s, seed).unwrap().run();
    assert!(r.violation.is_none(), "{:?}", r.violation);
    r
}

fn both(hosts: u8) -> [Scenario; 2] {
    let mut scsi = Scenario::two_paths();
    scsi.hosts = hosts;
    scsi.duration = Duration::from_millis(200);
    let mut nvme = scsi.clone();
    nvme.transport = Transport::Nvme;
    nvme.name = String::from("two-nvme-paths");
    [scsi, nvme]
}

#[test]
fn hosts_share_the_ports_and_together_reach_the_ideal() {
    for mut s in both(2) {
        s.workload.queue_depth = 64;
        let one = ideal(&s).iops;
        let r = run(s.clone(), 1);
        assert_eq!(r.hosts.len(), 2);
        let secs = s.duration.as_nanos() as f64 / 1e9;
        let each: Vec<f64> = r.hosts.iter().map(|h| h.completed as f64 / secs).collect();
        let total: f64 = each.iter().sum();
        // The ports saturate: two hosts together get what one would (the
        // drain adds a little), and share it about evenly.
        assert!(
            (0.9..=1.05).contains(&(total / one)),
            "{}: {each:?} vs ideal {one}",
            s.name
        );
        for e in &each {
            assert!((0.35..=0.65).contains(&(e / total)), "{}: {each:?}", s.name);
        }
        // Host 0 alone would have had it all.
        let mut alone = s.clone();
        alone.hosts = 1;
        let a = run(alone, 1);
        assert!(a.iops() > 1.6 * r.iops(), "{}", s.name);
    }
}

#[test]
fn registrants_write_side_by_side_under_an_all_registrants_reservation() {
    for mut s in both(3) {
        s.reservation = Some(PrType::WriteExclusiveAllRegistrants);
        let r = run(s.clone(), 2);
        for (h, x) in r.hosts.iter().enumerate() {
            assert!(x.completed > 100, "{} host {h}: {x:?}", s.name);
            assert_eq!((x.failed, x.fenced), (0, false), "{} host {h}", s.name);
        }
    }
}

#[test]
fn under_write_exclusive_the_others_only_read_and_see_no_conflict() {
    for mut s in both(2) {
        s.reservation = Some(PrType::WriteExclusive);
        let r = run(s.clone(), 3);
        assert!(r.hosts[1].completed > 100, "{}", s.name);
        assert_eq!(r.hosts[1].failed, 0, "{}", s.name);
        s.reservation = Some(PrType::ExclusiveAccess);
        let r = run(s.clone(), 3);
        assert_eq!(r.hosts[1].submitted, 0, "{}: exclusive access", s.name);
        assert!(r.hosts[0].completed > 100, "{}", s.name);
    }
}

#[test]
fn a_preemption_fences_its_victim_and_spares_the_other_registrants() {
    for mut s in both(2) {
        s.reservation = Some(PrType::WriteExclusiveRegistrantsOnly);
        s.no_path = NoPathPolicy::Fail;
        s.faults = vec![(
            Duration::from_millis(80),
            Fault::Preempt {
                rtype: PrType::WriteExclusiveRegistrantsOnly,
            },
        )];
        let r = run(s.clone(), 4);
        assert!(r.hosts[0].fenced, "{}", s.name);
        assert!(r.hosts[0].failed > 0, "{}", s.name);
        assert!(!r.hosts[1].fenced, "{}", s.name);
        assert_eq!(r.hosts[1].failed, 0, "{}", s.name);
    }
}

#[test]
fn a_restart_without_aptpl_fences_every_host() {
    for mut s in both(2) {
        s.reservation = Some(PrType::WriteExclusiveAllRegistrants);
        s.no_path = NoPathPolicy::Queue;
        s.faults = vec![(
            Duration::from_millis(80),
            Fault::TargetRestart {
                down: Duration::from_millis(10),
            },
        )];
        let r = run(s.clone(), 5);
        for (h, x) in r.hosts.iter().enumerate() {
            assert!(x.fenced, "{} host {h}: {x:?}", s.name);
            assert_eq!(x.outstanding, 0, "{} host {h}", s.name);
        }
        s.aptpl = true;
        let r = run(s.clone(), 5);
        for (h, x) in r.hosts.iter().enumerate() {
            assert!(!x.fenced && x.failed == 0, "{} host {h}: {x:?}", s.name);
        }
    }
}

#[test]
fn more_hosts_than_supported_is_a_setup_error() {
    let mut s = Scenario::two_paths();
    s.hosts = 4;
    assert!(Sim::new(s.clone(), 1).is_err());
    s.hosts = 0;
    assert!(Sim::new(s, 1).is_err());
}
