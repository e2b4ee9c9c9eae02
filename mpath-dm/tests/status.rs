//! INFO status lines: lines from the kernel's documentation, dmsetup and
//! multipathd on real systems, each parsed and printed back word for word;
//! every refusal; and the round trip on built lines.

use mpath_dm::{ErrorKind, GroupState, InfoStatus, PathStatus, SelectorInfo};
use std::string::ToString;

#[track_caller]
fn round_trip(line: &str) -> InfoStatus<'_> {
    let s = InfoStatus::parse(line).unwrap();
    // The kernel leaves a trailing space; Display does not.
    assert_eq!(s.to_string(), line.trim_end());
    s
}

/// Documentation/admin-guide/device-mapper/dm-service-time.rst and
/// dm-queue-length.rst (`dmsetup status`, after `test: 0 10 multipath`).
#[test]
fn kernel_documentation_status_lines() {
    let s = round_trip("2 0 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 4");
    assert_eq!(s.groups()[0].state, GroupState::Enabled);
    assert_eq!(
        s.paths()[1].info,
        SelectorInfo::ServiceTime {
            in_flight_bytes: 0,
            relative_throughput: 4
        }
    );
    round_trip("2 0 0 0 1 1 E 0 2 2 8:0 A 0 0 2 8:16 A 0 0 8");
    let s = round_trip("2 0 0 0 1 1 E 0 2 1 8:0 A 0 0 8:16 A 0 0");
    assert_eq!(s.paths()[0].info, SelectorInfo::InFlight(0));
}

/// From real systems: `dmsetup status` and multipathd's `status =` log
/// lines (a multipath-tools bug report on an rdac array, the second with
/// the queue_io bit set while pg_init ran).
#[test]
fn real_status_lines() {
    round_trip("2 0 0 0 1 1 A 0 1 0 8:48 A 0");
    round_trip("2 0 0 0 1 1 A 0 1 2 8:48 A 0 0 1 ");
    let s = round_trip("2 0 1 0 2 1 A 0 1 0 8:16 A 0 E 0 1 0 8:32 A 0");
    assert_eq!(s.pg_init_count, 1);
    assert!(!s.queue_io);
    assert_eq!(s.groups().len(), 2);
    assert_eq!(s.group_paths(&s.groups()[1])[0].device, "8:32");
    let s = round_trip(
        "2 1 0 0 4 1 A 0 1 0 8:96 A 0 E 0 1 0 8:48 A 0 E 0 1 0 8:144 F 3 D 0 1 0 8:192 A 0",
    );
    assert!(s.queue_io);
    assert!(!s.paths()[2].active);
    assert_eq!(s.paths()[2].fail_count, 3);
    assert_eq!(s.groups()[3].state, GroupState::Disabled);
    round_trip("2 0 0 0 0 0");
}

#[test]
fn refusals_name_the_word() {
    use ErrorKind::*;
    for (line, kind, index) in [
        ("", MissingWord, 0),
        ("3 0 0 0 0 0", StatusField, 0),
        ("2 2 0 0 0 0", StatusField, 1),
        ("2 0 x 0 0 0", Number, 2),
        ("2 0 0 1 x 0 0", StatusField, 3),
        ("2 0 0 0 65 1", TooManyPaths, 4),
        ("2 0 0 0 1 70000", Number, 5),
        ("2 0 0 0 1 1 B 0 1 0 8:16 A 0", GroupState, 6),
        ("2 0 0 0 1 1 A 1 1 0 8:16 A 0", StatusField, 7),
        ("2 0 0 0 1 1 A 0 1 3 8:16 A 0", InfoArgs, 9),
        ("2 0 0 0 1 1 A 0 1 0 8:16 X 0", PathState, 11),
        ("2 0 0 0 1 1 A 0 1 0 8:16 A -1", Number, 12),
        ("2 0 0 0 1 1 A 0 1 1 8:16 A 0 -1", Number, 13),
        ("2 0 0 0 1 1 A 0 1 2 8:16 A 0 0 101", Number, 14),
        ("2 0 0 0 1 1 A 0 1 0 8:16 A 0 8:32", TrailingWord, 13),
        ("2 0 0 0 1 1 A 0 2 0 8:16 A 0", MissingWord, 13),
    ] {
        let e = InfoStatus::parse(line).unwrap_err();
        assert_eq!((e.kind, e.index), (kind, index), "{line:?}: {e}");
    }
}

#[test]
fn built_lines_print_and_parse_back() {
    let mut s = InfoStatus::new(true, 7, 2);
    s.push_group(GroupState::Enabled, 2).unwrap();
    let st = |d, a, f, b, r| PathStatus {
        device: d,
        active: a,
        fail_count: f,
        info: SelectorInfo::ServiceTime {
            in_flight_bytes: b,
            relative_throughput: r,
        },
    };
    s.push_path(st("8:0", true, 0, 4096, 1)).unwrap();
    s.push_path(st("8:16", false, 9, 0, 100)).unwrap();
    s.push_group(GroupState::Active, 1).unwrap();
    s.push_path(PathStatus {
        device: "8:32",
        active: true,
        fail_count: 1,
        info: SelectorInfo::InFlight(u64::MAX),
    })
    .unwrap();
    // A path whose info does not fit its group is refused.
    assert!(s.push_path(st("8:48", true, 0, 0, 1)).is_err());
    assert!(s.push_group(GroupState::Active, 3).is_err());
    assert!(InfoStatus::new(false, 0, 0)
        .push_path(st("8:48", true, 0, 0, 1))
        .is_err());
    let line = s.to_string();
    assert_eq!(
        line,
        "2 1 7 0 2 2 E 0 2 2 8:0 A 0 4096 1 8:16 F 9 0 100 A 0 1 1 8:32 A 1 18446744073709551615"
    );
    assert_eq!(InfoStatus::parse(&line).unwrap(), s);
}

#[test]
fn a_status_line_holds_sixty_four_groups() {
    let line = |n: usize| {
        let mut s = format!("2 0 0 0 {n} 1");
        for i in 0..n {
            s.push_str(&format!(" E 0 1 0 8:{i} A 0"));
        }
        s
    };
    let ok = line(64);
    assert_eq!(InfoStatus::parse(&ok).unwrap().groups().len(), 64);
    let over = line(65);
    let e = InfoStatus::parse(&over).unwrap_err();
    assert_eq!(
        (e.kind, e.index, e.word),
        (ErrorKind::TooManyPaths, 4, "65")
    );
}
