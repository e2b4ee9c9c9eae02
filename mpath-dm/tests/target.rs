//! A dm table on a device: configuration, paths, messages with dm's
//! checks, and the status lines read back from the device.

use mpath_core::reservation::RegistrationScope;
use mpath_core::{
    Config, DataPlane, Device, Duration, GroupId, Instant, LinkEvent, NexusId, NoPathPolicy, Policy,
};
use mpath_dm::{DmError, DmTarget, ErrorKind, InfoStatus, Message, MessageLineError, Table};
use std::string::ToString;

type Dev = Device<DataPlane<8>, 8>;
const T0: Instant = Instant::from_nanos(0);

fn setup(line: &str) -> (DmTarget<'_>, Dev) {
    let t = DmTarget::new(Table::parse(line).unwrap());
    let cfg = t.config(Config::DEFAULT);
    let mut dev = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let mut t = t;
    t.add_paths(&mut dev, 0, T0, |i, _| {
        NexusId(u32::try_from(i).unwrap() + 1)
    })
    .unwrap();
    (t, dev)
}

const TWO_GROUPS: &str =
    "3 queue_if_no_path pg_init_retries 50 1 alua 2 1 service-time 0 1 2 8:80 1 1 service-time 0 2 2 8:16 1 4 8:144 1 0";

#[test]
fn config_follows_the_table() {
    let t = DmTarget::new(Table::parse(TWO_GROUPS).unwrap());
    let c = t.config(Config::DEFAULT);
    assert_eq!(c.policy, Policy::ServiceTime);
    assert_eq!(c.no_path, NoPathPolicy::Queue);
    assert_eq!(c.access.activation_retries, 50);
    assert_eq!(c.access.activation_delay, Duration::from_millis(2000));
    assert!(c.access.explicit_activation);
    assert_eq!(c.selector.rr_switch_ios, 1);
    assert_eq!(c.validate(), Ok(()));
    let t = t.with_no_path_retry(Duration::from_secs(25));
    assert_eq!(
        t.config(Config::DEFAULT).no_path,
        NoPathPolicy::QueueFor(Duration::from_secs(25))
    );

    let t = DmTarget::new(
        Table::parse(
            "2 pg_init_delay_msecs 0 0 2 2 round-robin 0 1 1 8:0 1 queue-length 0 1 1 8:16 1",
        )
        .unwrap(),
    );
    let c = t.config(Config::DEFAULT);
    // The initial group's selector is the device's.
    assert_eq!(c.policy, Policy::QueueDepth);
    assert_eq!(c.no_path, NoPathPolicy::Fail);
    assert_eq!(c.access.activation_retries, 0);
    // 0 ms would re-arm at the same instant; the core refuses that.
    assert_eq!(c.access.activation_delay, Duration::from_millis(1));
    assert!(!c.access.explicit_activation);
    assert_eq!(c.validate(), Ok(()));
    let t = DmTarget::new(Table::parse("2 pg_init_delay_msecs 700 0 0 0").unwrap());
    assert_eq!(
        t.config(Config::DEFAULT).access.activation_delay,
        Duration::from_millis(700)
    );
    assert_eq!(t.config(Config::DEFAULT).policy, Policy::RoundRobin);
}

#[test]
fn paths_land_in_their_groups_with_their_throughput() {
    let (t, dev) = setup(TWO_GROUPS);
    for (i, (group, rt)) in [(1u32, 1u8), (2, 4), (2, 0)].into_iter().enumerate() {
        let id = t.path_id(i).unwrap();
        let s = dev.controller().path_snapshot(id, &[]).unwrap();
        assert_eq!(s.group, GroupId(group));
        assert_eq!(t.path_spec(i, NexusId(9)).unwrap().relative_throughput, rt);
    }
    // The initial group is the switched one: only 8:80 is selectable.
    assert_eq!(
        dev.controller().device_snapshot().switched_group,
        Some(GroupId(1))
    );
    assert!(t.path_id(3).is_none());
    assert!(t.path_spec(3, NexusId(1)).is_none());
}

#[test]
fn status_lines_read_the_device() {
    let (mut t, mut dev) = setup(TWO_GROUPS);
    let s = t.info_status(&dev);
    assert_eq!(
        s.to_string(),
        "2 0 0 0 2 1 A 0 1 2 8:80 A 0 0 1 E 0 2 2 8:16 A 0 0 4 8:144 A 0 0 0"
    );
    // What we print, dm's parser reads back.
    assert_eq!(InfoStatus::parse(&s.to_string()).unwrap(), s);
    assert_eq!(
        t.table_status(&dev).to_string(),
        "3 queue_if_no_path pg_init_retries 50 1 alua 2 1 service-time 0 1 2 8:80 1 1 service-time 0 2 2 8:16 1 4 8:144 1 0"
    );

    // The path of group 1 fails at the transport: group 2 takes over, the
    // fail count goes up once however often the status is read.
    dev.handle_link(t.path_id(0).unwrap(), LinkEvent::Down, T0)
        .unwrap();
    t.steer(&mut dev, T0).unwrap();
    let line = "2 0 0 0 2 2 E 0 1 2 8:80 F 1 0 1 A 0 2 2 8:16 A 0 0 4 8:144 A 0 0 0";
    assert_eq!(t.info_status(&dev).to_string(), line);
    assert_eq!(t.info_status(&dev).to_string(), line);
    assert!(t
        .table_status(&dev)
        .to_string()
        .contains(" 2 2 service-time"));
}

#[test]
fn messages_drive_the_device() {
    let (mut t, mut dev) = setup(TWO_GROUPS);
    let sw = |dev: &Dev| dev.controller().device_snapshot().switched_group;

    t.message(Message::FailIfNoPath, &mut dev, T0).unwrap();
    assert_eq!(dev.controller().config().no_path, NoPathPolicy::Fail);
    assert!(t
        .table_status(&dev)
        .to_string()
        .starts_with("2 pg_init_retries 50 "));
    t.message(Message::QueueIfNoPath, &mut dev, T0).unwrap();
    assert_eq!(dev.controller().config().no_path, NoPathPolicy::Queue);

    t.message(Message::SwitchGroup(2), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(2)));
    assert!(t
        .info_status(&dev)
        .to_string()
        .starts_with("2 0 0 0 2 2 E 0 1 2 8:80 A 0 0 1 A "));

    // Disabling the preferred group moves to the first enabled one.
    t.message(Message::DisableGroup(2), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(1)));
    assert!(t.info_status(&dev).to_string().contains(" D 0 2 2 "));
    t.message(Message::EnableGroup(2), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(2)));
    // switch_group clears every bypass, as the kernel's does.
    t.message(Message::DisableGroup(1), &mut dev, T0).unwrap();
    t.message(Message::SwitchGroup(1), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(1)));
    assert!(!t.info_status(&dev).to_string().contains(" D "));
    // All bypassed: the first group still serves.
    t.message(Message::DisableGroup(1), &mut dev, T0).unwrap();
    t.message(Message::DisableGroup(2), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(1)));

    t.message(Message::FailPath("8:16"), &mut dev, T0).unwrap();
    let id = t.path_id(1).unwrap();
    assert!(
        dev.controller()
            .path_snapshot(id, &[])
            .unwrap()
            .admin_failed
    );
    assert!(t.info_status(&dev).to_string().contains("8:16 F 1 0 4"));
    // Failing a failed path counts nothing more.
    t.message(Message::FailPath("8:16"), &mut dev, T0).unwrap();
    t.message(Message::ReinstatePath("8:16"), &mut dev, T0)
        .unwrap();
    assert!(
        !dev.controller()
            .path_snapshot(id, &[])
            .unwrap()
            .admin_failed
    );
    assert!(t.info_status(&dev).to_string().contains("8:16 A 1 0 4"));
}

#[test]
fn refused_messages_change_nothing() {
    let (mut t, mut dev) = setup(TWO_GROUPS);
    let before = t.info_status(&dev).to_string();
    for (line, kind) in [
        ("switch_group 3", ErrorKind::GroupNumber),
        ("disable_group 70000", ErrorKind::GroupNumber),
        ("enable_group 3", ErrorKind::GroupNumber),
        ("fail_path 8:99", ErrorKind::NoSuchDevice),
        ("reinstate_path /dev/sdb", ErrorKind::NoSuchDevice),
    ] {
        assert_eq!(
            t.message_line(line, &mut dev, T0),
            Err(MessageLineError::Apply(DmError::Refused(kind))),
            "{line}"
        );
        assert_eq!(t.info_status(&dev).to_string(), before, "{line}");
    }
    let e = t.message_line("switch_group 0", &mut dev, T0).unwrap_err();
    assert!(
        matches!(e, MessageLineError::Parse(p) if p.kind == ErrorKind::GroupNumber && p.index == 1)
    );
    assert_eq!(
        dev.controller().device_snapshot().switched_group,
        Some(GroupId(1))
    );
    assert!(t.message_line("Switch_Group 2", &mut dev, T0).is_ok());
    assert!(t.attach(64, t.path_id(0).unwrap()).is_err());
    assert!(t.attach(3, t.path_id(0).unwrap()).is_err());
}

#[test]
fn message_words_are_checked_as_the_kernel_checks_them() {
    use ErrorKind::*;
    let ok = [
        ("queue_if_no_path", Message::QueueIfNoPath),
        ("FAIL_IF_NO_PATH", Message::FailIfNoPath),
        ("disable_group 1", Message::DisableGroup(1)),
        ("enable_group\t007", Message::EnableGroup(7)),
        ("switch_group 1024", Message::SwitchGroup(1024)),
        ("fail_path 8:16", Message::FailPath("8:16")),
        (
            "Reinstate_Path /dev/sdb",
            Message::ReinstatePath("/dev/sdb"),
        ),
    ];
    for (line, want) in ok {
        assert_eq!(Message::parse(line), Ok(want), "{line}");
        let printed = want.to_string();
        assert_eq!(Message::parse(&printed), Ok(want));
    }
    for (line, kind, index) in [
        ("", MessageArgs, 0),
        ("fail_path", MessageArgs, 1),
        ("queue_if_no_path now", UnknownMessage, 0),
        ("fail_path 8:16 8:32", MessageArgs, 2),
        ("disable_group 0", GroupNumber, 1),
        ("disable_group x", GroupNumber, 1),
        ("enable_group -1", GroupNumber, 1),
        ("switch_group 1x", GroupNumber, 1),
        ("switch_group 4294967296", GroupNumber, 1),
        ("bogus 1", UnknownMessage, 0),
    ] {
        let e = Message::parse(line).unwrap_err();
        assert_eq!((e.kind, e.index), (kind, index), "{line:?}");
    }
}

#[test]
fn a_table_without_groups_maps_to_nothing() {
    let (mut t, mut dev) = setup("0 0 0 0");
    t.steer(&mut dev, T0).unwrap();
    assert_eq!(dev.controller().device_snapshot().switched_group, None);
    assert_eq!(t.info_status(&dev).to_string(), "2 0 0 0 0 0");
    assert_eq!(t.table_status(&dev).to_string(), "0 0 0 0");
    assert_eq!(
        t.message(Message::SwitchGroup(1), &mut dev, T0),
        Err(DmError::Refused(ErrorKind::GroupNumber))
    );
}

/// Past a bypassed preferred group, dm takes the first group in table
/// order with a usable path; so does the steering rule.
#[test]
fn a_bypassed_preference_falls_to_the_first_usable_group_in_order() {
    let (mut t, mut dev) =
        setup("0 0 3 1 round-robin 0 1 1 8:0 1 round-robin 0 1 1 8:16 1 round-robin 0 1 1 8:32 1");
    let sw = |dev: &Dev| dev.controller().device_snapshot().switched_group;
    t.message(Message::FailPath("8:16"), &mut dev, T0).unwrap();
    t.message(Message::DisableGroup(1), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(3)));
    // Group 2 usable again: it comes first in table order.
    t.message(Message::ReinstatePath("8:16"), &mut dev, T0)
        .unwrap();
    t.steer(&mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(2)));
    // No group that is not bypassed has a usable path: the first of them
    // is still preferred over the bypassed one.
    t.message(Message::FailPath("8:16"), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(3)));
    t.message(Message::FailPath("8:32"), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(2)));
}

#[test]
fn fail_counts_count_each_failure_and_queue_io_shows_held_io() {
    let (mut t, mut dev) = setup("1 queue_if_no_path 0 1 1 round-robin 0 1 1 8:0 1");
    for _ in 0..2 {
        t.message(Message::FailPath("8:0"), &mut dev, T0).unwrap();
        t.message(Message::ReinstatePath("8:0"), &mut dev, T0)
            .unwrap();
    }
    assert_eq!(
        t.info_status(&dev).to_string(),
        "2 0 0 0 1 1 A 0 1 0 8:0 A 2"
    );
    t.message(Message::FailPath("8:0"), &mut dev, T0).unwrap();
    let d = dev.submit(mpath_core::Io::read(1, 4096, 3), T0).unwrap();
    assert!(matches!(d, mpath_core::Disposition::Queued), "{d:?}");
    assert_eq!(
        t.info_status(&dev).to_string(),
        "2 1 0 0 1 1 E 0 1 0 8:0 F 3"
    );
}

/// An embedder that adds paths itself keys the core's groups its own way
/// (the SCSI adapter by target port group): steering follows the group
/// the attached paths are in, not the dm group's number; a dm group whose
/// paths are in several core groups (NVMe: one per controller) is not
/// made the switched group, and the tier order decides.
#[test]
fn steering_follows_the_core_groups_of_attached_paths() {
    use mpath_core::PathSpec;
    let line = "0 0 2 2 round-robin 0 1 1 8:0 1 round-robin 0 2 1 8:16 1 8:32 1";
    let mut t = DmTarget::new(Table::parse(line).unwrap());
    let mut dev = Dev::new(
        DataPlane::new(),
        t.config(Config::DEFAULT),
        RegistrationScope::Nexus,
    )
    .unwrap();
    // dm group 1 is target port group 7; dm group 2's paths are in core
    // groups 3 and 4.
    for (i, g) in [(0usize, 7u32), (1, 3), (2, 4)] {
        let spec = PathSpec::new(GroupId(g), NexusId(u32::try_from(i).unwrap() + 1));
        let id = dev.add_path(spec, 0, T0).unwrap();
        t.attach(i, id).unwrap();
    }
    let sw = |dev: &Dev| dev.controller().device_snapshot().switched_group;
    // Initial group 2 spans two core groups: nothing to switch to.
    t.steer(&mut dev, T0).unwrap();
    assert_eq!(sw(&dev), None);
    t.message(Message::SwitchGroup(1), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), Some(GroupId(7)));
    t.message(Message::SwitchGroup(2), &mut dev, T0).unwrap();
    assert_eq!(sw(&dev), None);
}
