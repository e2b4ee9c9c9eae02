//! dm tables in the simulator: the `[device] dm_table` key (and each way
//! it is refused, naming the line, the key and the dm word), the
//! `--dm-table` flag end to end (the table's selector and weights are
//! what runs), and `topology`'s dm status lines, parsed back with
//! `mpath_dm`'s own parser.

use std::process::{Command, Output};

use mpath_core::{NoPathPolicy, Policy};
use mpath_dm::{GroupState, InfoStatus, SelectorInfo};
use mpath_sim::builtin::by_name;
use mpath_sim::engine::{DmTableError, Scenario, Sim};
use mpath_sim::scenario_file::{from_toml, to_toml, FileError};

fn mpath_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpath-sim"))
        .args(args)
        .env_remove("MPATH_SIM_TRACE")
        .output()
        .expect("the binary runs")
}

fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn json(o: &Output) -> serde_json::Value {
    assert_exit(o, 0);
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Two SCSI groups (ids 1 and 2), two paths each.
const TWO_GROUPS: &str = r#"
[[group]]
id = 1
state = "active-optimized"
[[group]]
id = 2
state = "active-non-optimized"
[[path]]
group = 1
[[path]]
group = 1
[[path]]
group = 2
[[path]]
group = 2
"#;

fn file_error(text: &str) -> FileError {
    match from_toml(text, "t") {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e,
    }
}

/// The error is on `line`, names `key`, and says each of `what`.
fn assert_file_error(text: &str, line: usize, key: &str, what: &[&str]) {
    let e = file_error(text);
    assert_eq!((e.line, e.key.as_str()), (Some(line), key), "{e}");
    for w in what {
        assert!(e.message.contains(w), "`{w}` not in: {e}");
    }
}

#[test]
fn the_key_sets_selector_no_path_and_weights_and_round_trips() {
    let text = format!(
        "[device]\ndm_table = \"1 queue_if_no_path 1 alua 2 2 service-time 0 2 2 8:0 1 3 sdb 1 7 \
         service-time 0 2 2 /dev/sdc 1 0 8:48 1 100\"\n{TWO_GROUPS}"
    );
    let s = from_toml(&text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.policy, Policy::ServiceTime);
    assert_eq!(s.no_path, NoPathPolicy::Queue);
    let weights: Vec<u8> = s.paths.iter().map(|p| p.relative_throughput).collect();
    assert_eq!(weights, [3, 7, 0, 100]);
    // Written out, the table stands in for the keys it sets, and reads
    // back the same.
    let out = to_toml(&s);
    assert!(
        out.contains("dm_table = ") && !out.contains("policy ="),
        "{out}"
    );
    assert!(!out.contains("relative_throughput"), "{out}");
    assert_eq!(from_toml(&out, "other").unwrap(), s);
    // Without queue_if_no_path dm fails I/O with no path.
    let s = from_toml(
        "[device]\ndm_table = \"0 0 1 1 round-robin 0 2 1 8:0 1 8:16 1\"",
        "t",
    )
    .unwrap();
    assert_eq!(
        (s.policy, s.no_path),
        (Policy::RoundRobin, NoPathPolicy::Fail)
    );
}

#[test]
fn a_line_the_kernel_refuses_names_line_key_and_word() {
    // Line 3: the word `x` is the 12th (index 11), a repeat count.
    assert_file_error(
        "name = \"t\"\n[device]\ndm_table = \"0 0 1 1 round-robin 0 2 1 8:0 1 8:16 x\"\n",
        3,
        "device.dm_table",
        &["invalid repeat count", "word 11", "`x`"],
    );
    assert_file_error(
        "[device]\ndm_table = \"0 0 1 1 service-time 0 2 2 8:0 1 101 8:16 1 1\"",
        2,
        "device.dm_table",
        &["invalid relative_throughput value", "word 10", "`101`"],
    );
    assert_file_error(
        "[device]\ndm_table = \"1 queue_if_no_path 0 2 1 round-robin 0 2 1 8:0 1 8:16 1\"",
        2,
        "device.dm_table",
        &["priority group count mismatch"],
    );
}

#[test]
fn a_table_that_disagrees_with_the_fabric_is_refused() {
    let dm = |line: &str| format!("[device]\ndm_table = \"{line}\"\n{TWO_GROUPS}");
    for (line, what) in [
        (
            "0 0 1 1 round-robin 0 4 1 8:0 1 8:16 1 8:32 1 8:80 1",
            &["word 14", "`8:80`", "names no path", "8:48 (sdd)"][..],
        ),
        (
            "0 0 1 1 round-robin 0 4 1 8:0 1 sda 1 8:32 1 8:48 1",
            &["word 10", "`sda`", "path 0 again"],
        ),
        (
            "0 0 2 1 round-robin 0 2 1 8:0 1 8:16 1 round-robin 0 1 1 8:32 1",
            &["path 3 (8:48) is not in the table"],
        ),
        (
            "0 0 2 1 round-robin 0 2 1 8:0 1 8:32 1 round-robin 0 2 1 8:16 1 8:48 1",
            &["priority group 1 mixes port groups 1 and 2"],
        ),
        (
            "0 0 3 1 round-robin 0 1 1 8:0 1 round-robin 0 1 1 8:16 1 round-robin 0 2 1 8:32 1 8:48 1",
            &["port group 1 is split over priority groups 1 and 2"],
        ),
    ] {
        assert_file_error(&dm(line), 2, "device.dm_table", what);
    }
    // NVMe: no scsi_dh handler, as the kernel refuses one.
    let mut s = Scenario::two_nvme_paths();
    assert!(matches!(
        s.set_dm_table("0 1 alua 1 1 round-robin 0 2 1 nvme0c0n1 1 nvme0c1n1 1"),
        Err(DmTableError::HwHandlerOnNvme { .. })
    ));
    s.set_dm_table("0 0 1 1 round-robin 0 2 1 nvme0c0n1 1 /dev/nvme0c1n1 1")
        .unwrap();
}

#[test]
fn keys_the_table_sets_cannot_be_given_with_it() {
    let table = "dm_table = \"0 0 1 1 round-robin 0 2 1 8:0 1 8:16 1\"";
    assert_file_error(
        &format!("[device]\npolicy = \"round-robin\"\n{table}"),
        2,
        "device.policy",
        &["both set it"],
    );
    assert_file_error(
        &format!("[device]\n{table}\nno_path = \"queue\""),
        3,
        "device.no_path",
        &["both set it"],
    );
    assert_file_error(
        &format!("[device]\n{table}\n[[path]]\n[[path]]\nrelative_throughput = 5"),
        5,
        "path[1].relative_throughput",
        &["dm_table"],
    );
}

#[test]
fn the_table_s_initial_group_is_the_one_used() {
    // dm uses the initial group, even the non-optimized one, while it
    // has a path: the core's switched group follows it.
    let mut s = from_toml(TWO_GROUPS, "t").unwrap();
    s.duration = mpath_core::Duration::from_millis(50);
    s.set_dm_table("0 0 2 2 round-robin 0 2 1 8:0 1 8:16 1 round-robin 0 2 1 8:32 1 8:48 1")
        .unwrap();
    let r = Sim::new(s, 1).unwrap().run();
    assert_eq!(r.violation, None);
    let ios: Vec<u64> = r.paths.iter().map(|p| p.ios).collect();
    assert!(
        ios[0] == 0 && ios[1] == 0 && ios[2] > 0 && ios[3] > 0,
        "{ios:?}"
    );
}

#[test]
fn service_time_weights_from_the_flag_reach_the_ideal_on_delayed_path() {
    // delayed-path's path 0 is the far one: the operator's weights 1:100
    // keep about one I/O in a hundred on it (docs/SIMULATOR.md).
    let table = "1 queue_if_no_path 0 1 1 service-time 0 2 2 nvme0c0n1 1 1 nvme0c1n1 1 100";
    let args = ["run", "delayed-path", "--duration", "300ms", "--json"];
    let v = json(&mpath_sim(&[&args[..], &["--dm-table", table]].concat()));
    assert_eq!(v["policy"], "service-time");
    let pct = v["percent_of_ideal"].as_f64().unwrap();
    assert!(pct >= 95.0, "{pct}% of ideal");
    // dm's default weights (1 each) are queue-depth's half.
    let even = "1 queue_if_no_path 0 1 1 service-time 0 2 2 nvme0c0n1 1 1 nvme0c1n1 1 1";
    let v = json(&mpath_sim(&[&args[..], &["--dm-table", even]].concat()));
    let pct = v["percent_of_ideal"].as_f64().unwrap();
    assert!(pct < 60.0, "{pct}% of ideal");
}

#[test]
fn round_robin_by_table_is_round_robin_by_policy() {
    let base = ["run", "bandwidth-4to1", "--duration", "100ms", "--json"];
    let by_policy = json(&mpath_sim(
        &[&base[..], &["--policy", "round-robin"]].concat(),
    ));
    // bandwidth-4to1 queues for a while without a path; with no fault
    // that never matters, so the runs are the same event for event.
    let table = "1 queue_if_no_path 1 alua 1 1 round-robin 0 2 1 sda 1 sdb 1";
    let by_table = json(&mpath_sim(&[&base[..], &["--dm-table", table]].concat()));
    assert_eq!(by_table["policy"], "round-robin");
    assert_eq!(by_table["completed"], by_policy["completed"]);
    assert_eq!(by_table["trace"], by_policy["trace"]);
    // The table's selector is what runs: queue-length differs.
    let ql = "1 queue_if_no_path 1 alua 1 1 queue-length 0 2 1 sda 1 sdb 1";
    let by_ql = json(&mpath_sim(&[&base[..], &["--dm-table", ql]].concat()));
    assert_eq!(by_ql["policy"], "queue-depth");
    assert_ne!(by_ql["trace"], by_policy["trace"]);
}

#[test]
fn a_bad_flag_is_a_usage_error_naming_the_word() {
    let o = mpath_sim(&[
        "run",
        "two-paths",
        "--dm-table",
        "0 0 1 1 round-robin 0 2 1 8:0 1 8:99 1",
    ]);
    assert_exit(&o, 2);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--dm-table") && e.contains("`8:99`") && e.contains("word 10"),
        "{e}"
    );
}

/// The `status:` lines `topology` printed, each parsed back.
fn status_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("status: "))
        .map(|l| {
            let params = l.split_once(" multipath ").expect("a dmsetup line").1;
            InfoStatus::parse(params).unwrap_or_else(|e| panic!("{e}: {l}"));
            params.to_owned()
        })
        .collect()
}

#[test]
fn topology_prints_dm_status_that_parses_back() {
    let table = "1 queue_if_no_path 1 alua 2 1 round-robin 0 2 1 8:0 1 8:16 1 \
                 round-robin 0 2 1 8:32 1 8:48 1";
    let o = mpath_sim(&["topology", "alua-transition", "--dm-table", table]);
    assert_exit(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("prio=50 status=active"), "{out}");
    assert!(
        out.contains(&format!(
            "table:  alua-transition: 0 32768 multipath {table}"
        )),
        "{out}"
    );
    let lines = status_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    let first = InfoStatus::parse(&lines[0]).unwrap();
    assert_eq!(first.groups().len(), 2);
    assert_eq!(first.paths().len(), 4);
    assert_eq!(first.current_group, 1);
    assert_eq!(first.groups()[0].state, GroupState::Active);
    assert!(first.paths().iter().all(|p| p.active && p.fail_count == 0));
    // After group 1 fails over, I/O runs on group 2.
    let last = InfoStatus::parse(&lines[2]).unwrap();
    assert_eq!(last.current_group, 2);
    assert_eq!(last.groups()[1].state, GroupState::Active);
}

#[test]
fn topology_counts_failures_after_a_link_down() {
    let table = "0 0 1 1 queue-length 0 2 1 8:0 1 8:16 1";
    let o = mpath_sim(&["topology", "all-paths-down", "--dm-table", table]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_exit(&o, 0);
    let lines = status_lines(&out);
    assert!(lines.len() >= 2, "{out}");
    let before = InfoStatus::parse(&lines[0]).unwrap();
    assert!(before.paths().iter().all(|p| p.active && p.fail_count == 0));
    let down = InfoStatus::parse(&lines[1]).unwrap();
    assert_eq!(down.paths().len(), 2);
    for p in down.paths() {
        assert!(!p.active && p.fail_count == 1, "{out}");
        // queue-length's word: nothing in flight on a failed path.
        assert_eq!(p.info, SelectorInfo::InFlight(0));
    }
    // Without a table there is no dm view.
    let o = mpath_sim(&["topology", "all-paths-down"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("status:"));
}

#[test]
fn show_writes_the_table_into_the_file() {
    let table = "0 0 1 1 round-robin 0 2 1 8:0 1 8:16 1";
    let o = mpath_sim(&["show", "two-paths", "--dm-table", table]);
    assert_exit(&o, 0);
    let text = String::from_utf8_lossy(&o.stdout);
    let s = from_toml(&text, "x").unwrap();
    assert_eq!(s.dm_table.as_deref(), Some(table));
    assert_eq!(s.policy, by_name("two-paths").unwrap().policy);
    assert_eq!(s.no_path, NoPathPolicy::Fail);
}

#[test]
fn compare_says_how_it_uses_the_table() {
    let table = "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:16 1 1";
    let o = mpath_sim(&[
        "compare",
        "two-paths",
        "--duration",
        "20ms",
        "--no-progress",
        "--dm-table",
        table,
    ]);
    assert_exit(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("in place of its own (service-time)") && out.contains("round-robin"),
        "{out}"
    );
}

#[test]
fn the_example_file_s_commented_table_fits_its_fabric() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let on = text
        .replace("\npolicy = ", "\n# policy = ")
        .replace("\nno_path = ", "\n# no_path = ")
        .replace("\nrelative_throughput = ", "\n# relative_throughput = ")
        .replace("# dm_table = ", "dm_table = ");
    let s = from_toml(&on, "example").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.no_path, NoPathPolicy::Queue);
    assert!(s.dm_table.is_some());
}
