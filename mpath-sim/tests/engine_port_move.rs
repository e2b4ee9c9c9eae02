//! A target port moving between groups, on both transports: the host
//! follows it (SCSI: the moved port's RTPG; NVMe: the controller's ANA
//! state), stops using the path while its new group is standby, and uses
//! it again once it is back.

use mpath_core::Duration;
use mpath_scsi::AluaState;
use mpath_sim::engine::{Fault, GroupCfg, Scenario, Sim, Transport};

#[test]
fn a_moved_port_is_followed_there_and_back() {
    for transport in [Transport::Scsi, Transport::Nvme] {
        let mut s = Scenario::two_paths();
        s.transport = transport;
        s.duration = Duration::from_millis(300);
        s.groups.push(GroupCfg {
            id: 2,
            state: AluaState::Standby,
        });
        s.faults = vec![
            (
                Duration::from_millis(100),
                Fault::PortMove { path: 1, group: 2 },
            ),
            (
                Duration::from_millis(200),
                Fault::PortMove { path: 1, group: 1 },
            ),
        ];
        let r = Sim::new(s, 6).unwrap().run();
        assert!(r.violation.is_none(), "{transport:?}: {:?}", r.violation);
        assert_eq!(r.failed, 0, "{transport:?}");
        let t = &r.timeline;
        // Slices are 1.5 ms: path 1 carries I/O before, none in the
        // middle of the standby spell, and some again after.
        let ios =
            |from: usize, to: usize| -> u64 { t.samples[from..to].iter().map(|x| x.ios[1]).sum() };
        assert!(ios(10, 60) > 0, "{transport:?}");
        assert_eq!(ios(80, 130), 0, "{transport:?}");
        assert!(ios(150, 199) > 0, "{transport:?}");
        // Path 0 carried everything meanwhile.
        assert!(
            t.samples[80..130].iter().all(|x| x.ios[0] > 0),
            "{transport:?}"
        );
    }
}
