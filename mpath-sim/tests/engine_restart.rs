//! The target restarts under a reservation, on both transports. With
//! persistence through power loss (SCSI APTPL, NVMe PTPL) the host sees
//! its registration still there and carries on; without it the target
//! has forgotten every registration, and the host, which cannot tell a
//! power loss from another host's CLEAR, fences itself: it fails I/O
//! upward rather than write unregistered or register again behind what
//! may be a fence.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy};
use mpath_sim::engine::{Fault, Report, Scenario, Sim};

fn restart(mut s: Scenario, aptpl: bool, seed: u64) -> Report {
    s.reservation = Some(PrType::WriteExclusive);
    s.aptpl = aptpl;
    s.no_path = NoPathPolicy::Queue;
    s.duration = Duration::from_millis(400);
    s.faults = vec![(
        Duration::from_millis(150),
        Fault::TargetRestart {
            down: Duration::from_millis(20),
        },
    )];
    let r = Sim::new(s, seed).unwrap().run();
    assert!(r.violation.is_none(), "{:?}", r.violation);
    assert_eq!(r.restarts, 1);
    r
}

fn both() -> [Scenario; 2] {
    [Scenario::two_paths(), Scenario::two_nvme_paths()]
}

#[test]
fn with_aptpl_the_host_carries_on() {
    for s in both() {
        let name = s.name.clone();
        let r = restart(s, true, 3);
        assert_eq!(r.failed, 0, "{name}");
        assert_eq!(r.outstanding, 0, "{name}");
        // I/O resumed after the restart and went on to the end.
        let resumed = r.resume[0].expect("I/O resumed");
        assert!(resumed < Duration::from_millis(100), "{name}: {resumed:?}");
        assert!(r.window_completed > 1000, "{name}");
    }
}

#[test]
fn without_aptpl_the_host_fences_itself_and_writes_nothing_after() {
    for s in both() {
        let name = s.name.clone();
        let r = restart(s, false, 3);
        // The invariants (checked on every step) hold: no write landed
        // unregistered, none through a registration made again.
        assert!(r.failed > 0, "{name}: I/O fails upward once fenced");
        assert_eq!(r.outstanding, 0, "{name}");
    }
}

/// The same restart run twice is the same run.
#[test]
fn a_restart_replays_bit_for_bit() {
    for s in both() {
        let a = restart(s.clone(), false, 11);
        let b = restart(s, false, 11);
        assert_eq!(a.trace, b.trace);
    }
}
