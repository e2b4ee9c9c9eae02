//! Scenario files: every built-in written as TOML reads back equal, units
//! and names parse to the engine's values, defaults come from
//! `two-paths`, and every error names its line and key.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy, Policy};
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;
use mpath_sim::builtin::BUILTINS;
use mpath_sim::engine::{Fault, PathCfg, Scenario, Sim, Transport};
use mpath_sim::scenario_file::{from_toml, load, to_toml, FileError};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn parse(text: &str) -> Scenario {
    from_toml(text, "t").unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> FileError {
    match from_toml(text, "t") {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e,
    }
}

/// The error is on `line`, names `key`, and its message contains `what`.
fn assert_error(text: &str, line: usize, key: &str, what: &str) {
    let e = error(text);
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(e.key, key, "{e}");
    assert!(e.message.contains(what), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("line {line}")) && shown.contains(key),
        "{shown}"
    );
}

#[test]
fn every_builtin_round_trips_through_toml() {
    for b in BUILTINS {
        let s = (b.build)();
        let text = to_toml(&s);
        let back = from_toml(&text, "other").unwrap_or_else(|e| panic!("{}: {e}\n{text}", b.name));
        assert_eq!(back, s, "{}:\n{text}", b.name);
    }
}

#[test]
fn every_fault_kind_round_trips() {
    let mut s = Scenario::two_nvme_paths();
    s.reservation = Some(PrType::ExclusiveAccessAllRegistrants);
    s.groups.push(mpath_sim::engine::GroupCfg {
        id: 2,
        state: AluaState::Standby,
    });
    s.faults = vec![
        (ms(1), Fault::LinkDown { path: 0 }),
        (ms(2), Fault::LinkUp { path: 0 }),
        (
            ms(3),
            Fault::LinkDownLateWrites {
                path: 1,
                after: Duration::from_micros(1500),
            },
        ),
        (
            ms(4),
            Fault::Zombie {
                path: 1,
                hang: true,
            },
        ),
        (ms(5), Fault::Heal { path: 1 }),
        (
            ms(6),
            Fault::Slow {
                path: 0,
                extra: Duration::from_nanos(1),
            },
        ),
        (
            ms(7),
            Fault::Alua {
                group: 1,
                state: AluaState::LbaDependent,
            },
        ),
        (
            ms(8),
            Fault::Ana {
                group: 2,
                state: AnaState::PersistentLoss,
            },
        ),
        (ms(9), Fault::Reset { path: 1 }),
        (
            ms(10),
            Fault::Preempt {
                rtype: PrType::WriteExclusiveRegistrantsOnly,
            },
        ),
    ];
    let text = to_toml(&s);
    assert_eq!(parse(&text), s, "{text}");
    // A standby group on NVMe has no ANA name of its own (inaccessible
    // would read back as unavailable): it is written as its ALUA name.
    assert!(text.contains("state = \"standby\""), "{text}");
}

#[test]
fn the_example_file_parses_and_runs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/example.toml");
    let s = load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "example");
    assert_eq!(s.paths.len(), 2);
    assert_eq!(s.paths[1].latency, Duration::from_micros(150));
    assert_eq!(s.faults.len(), 6);
    let r = Sim::new(s, 1).unwrap().run();
    assert_eq!(r.violation, None);
    assert!(r.completed > 0);
}

#[test]
fn an_empty_file_is_two_paths() {
    let s = parse("");
    assert_eq!(
        s,
        Scenario {
            name: String::from("t"),
            ..Scenario::two_paths()
        }
    );
    // The file's name wins over the default name.
    assert_eq!(parse("name = \"mine\"").name, "mine");
}

#[test]
fn units_and_names_reach_the_engine() {
    let s = parse(
        r#"
        transport = "nvme"
        anatt = "3s"
        block_size = "4KiB"
        [device]
        policy = "queue-length"
        no_path = "queue-for 1.5s"
        quiesce = "250us"
        reservation = "write-exclusive"
        [workload]
        io_size = "64KiB"
        read_percent = 100
        duration = "2s"
        [[group]]
        id = 7
        state = "non-optimized"
        [[path]]
        bandwidth = "25Gbps"
        media_rate = "1.5GB/s"
        latency = "0.5ms"
        "#,
    );
    assert_eq!(s.transport, Transport::Nvme);
    assert_eq!(s.anatt, 3);
    assert_eq!(s.block_size, 4096);
    assert_eq!(s.policy, Policy::QueueDepth);
    assert_eq!(s.no_path, NoPathPolicy::QueueFor(ms(1500)));
    assert_eq!(s.quiesce, Duration::from_micros(250));
    assert_eq!(s.reservation, Some(PrType::WriteExclusive));
    assert_eq!(s.workload.blocks, 16);
    assert_eq!(s.duration, ms(2000));
    assert_eq!(s.groups[0].state, AluaState::ActiveNonOptimized);
    // A path's unspecified keys are PathCfg::fast's, in the first group.
    let fast = PathCfg::fast(7);
    assert_eq!(
        s.paths,
        vec![PathCfg {
            bandwidth: 3_125_000_000,
            media_rate: 1_500_000_000,
            latency: Duration::from_micros(500),
            ..fast
        }]
    );
}

#[test]
fn an_ana_state_on_a_scsi_group_is_named_as_such() {
    let e = error("[[group]]\nid = 1\nstate = \"optimized\"\n");
    assert_eq!((e.line, e.key.as_str()), (Some(3), "group[0].state"));
    assert!(e.message.contains("NVMe ANA state"), "{e}");
}

#[test]
fn serde_errors_name_line_and_key() {
    assert_error(
        "[workload]\nqueue_depth = 8\nduration = \"5 parsecs\"\n",
        3,
        "workload.duration",
        "unknown duration unit `parsecs`",
    );
    assert_error(
        "[[path]]\nlatency = \"1ms\"\n[[path]]\nlatncy = \"1ms\"\n",
        4,
        "path[1].latncy",
        "unknown field `latncy`",
    );
    assert_error("colour = \"blue\"\n", 1, "colour", "unknown field `colour`");
    assert_error(
        "[workload]\nread_percent = 300\n",
        2,
        "workload.read_percent",
        "300",
    );
    assert_error("[workload]\ncpus = 0\n", 2, "workload.cpus", "0: 1 to 64");
    assert_error("[workload]\ncpus = 65\n", 2, "workload.cpus", "65: 1 to 64");
    assert_error(
        "[[path]]\nbandwidth = \"10\"\n",
        2,
        "path[0].bandwidth",
        "no unit",
    );
    assert_error(
        "[[path]]\n[[fault]]\nkind = \"heal\"\npath = 0\n",
        2,
        "fault[0]",
        "missing field `at`",
    );
}

#[test]
fn check_errors_name_line_and_key() {
    let one_path = "[[path]]\n";
    assert_error("hosts = 4\n", 1, "hosts", "1 to 3 supported");
    assert_error("hosts = 0\n", 1, "hosts", "1 to 3 supported");
    assert_error("transport = \"fc\"\n", 1, "transport", "unknown transport");
    assert_error("anatt = \"1500ms\"\n", 1, "anatt", "whole seconds");
    assert_error("block_size = 1000\n", 1, "block_size", "power of two");
    assert_error(
        "[device]\nno_path = \"sometimes\"\n",
        2,
        "device.no_path",
        "no-path policy",
    );
    assert_error(
        "[device]\nreservation = \"exclusive\"\n",
        2,
        "device.reservation",
        "reservation type",
    );
    assert_error(
        "[workload]\nblocks = 8\nio_size = \"4KiB\"\n",
        3,
        "workload.io_size",
        "not both",
    );
    assert_error(
        "[workload]\nio_size = 1000\n",
        2,
        "workload.io_size",
        "512-byte blocks",
    );
    assert_error(
        "[[group]]\nid = 1\nstate = \"standby\"\n[[group]]\nid = 1\nstate = \"standby\"\n",
        5,
        "group[1].id",
        "twice",
    );
    assert_error(
        "[[path]]\ngroup = 2\n",
        2,
        "path[0].group",
        "no [[group]] with id 2",
    );
    assert_error(
        &format!("{one_path}[[fault]]\nat = \"1ms\"\nkind = \"link-down\"\npath = 1\n"),
        5,
        "fault[0].path",
        "no path 1",
    );
    assert_error(
        &format!("{one_path}[[fault]]\nat = \"1ms\"\nkind = \"slow\"\npath = 0\n"),
        2,
        "fault[0].extra",
        "needs `extra`",
    );
    assert_error(
        &format!("{one_path}[[fault]]\nat = \"1ms\"\nkind = \"heal\"\npath = 0\nhang = true\n"),
        6,
        "fault[0].hang",
        "takes no `hang`",
    );
    assert_error(
        &format!("{one_path}[[fault]]\nat = \"1ms\"\nkind = \"explode\"\n"),
        4,
        "fault[0].kind",
        "unknown fault kind",
    );
    assert_error(
        &format!(
            "{one_path}[[fault]]\nat = \"2ms\"\nkind = \"reset\"\npath = 0\n\
             [[fault]]\nat = \"1ms\"\nkind = \"reset\"\npath = 0\n"
        ),
        7,
        "fault[1].at",
        "time order",
    );
    assert_error(
        &format!(
            "{one_path}[[fault]]\nat = \"1ms\"\nkind = \"ana\"\ngroup = 1\nstate = \"standby\"\n"
        ),
        6,
        "fault[0].state",
        "unknown ANA state",
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let e = error("[workload]\nqueue_depth = [1,\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn a_missing_file_names_the_file() {
    let e = load(std::path::Path::new("/no/such/dir/x.toml")).unwrap_err();
    assert!(e.to_string().contains("/no/such/dir/x.toml"), "{e}");
}

#[test]
fn relative_throughput_is_dms_range_and_reaches_the_path() {
    let s = parse("[[path]]\nrelative_throughput = 0\n[[path]]\nrelative_throughput = 100\n");
    let w: Vec<u8> = s.paths.iter().map(|p| p.relative_throughput).collect();
    assert_eq!(w, [0, 100]);
    // Unset: dm's default.
    assert_eq!(parse("[[path]]\n").paths[0].relative_throughput, 1);
    assert_error(
        "[[path]]\n[[path]]\nlatency = \"1ms\"\nrelative_throughput = 101\n",
        4,
        "path[1].relative_throughput",
        "0 to 100",
    );
}

/// `cpus` reads into the workload, and is written back only when it is not
/// the default of one.
#[test]
fn cpus_reads_and_writes_back() {
    let s = parse("[workload]\ncpus = 8\n");
    assert_eq!(s.workload.cpus, 8);
    let text = to_toml(&s);
    assert!(text.contains("cpus = 8"), "{text}");
    assert_eq!(parse(&text).workload.cpus, 8);
    let one = parse("");
    assert_eq!(one.workload.cpus, 1);
    assert!(!to_toml(&one).contains("cpus"));
}
