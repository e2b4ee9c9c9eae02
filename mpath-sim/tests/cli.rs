//! The `mpath-sim` binary end to end: each subcommand's exit code and the
//! fields its output promises. Runs are cut to a short `--duration` (the
//! built-ins themselves run a second or more) to keep the suite quick.

use std::path::PathBuf;
use std::process::{Command, Output};

use mpath_core::Policy;
use mpath_sim::builtin::by_name;
use mpath_sim::scenario_file::from_toml;

fn mpath_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpath-sim"))
        .args(args)
        .env_remove("MPATH_SIM_TRACE")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code `code`, with both streams in the message if not.
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// A scratch file of this test's own.
fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn run_prints_the_summary_it_promises() {
    let o = mpath_sim(&["run", "zombie-path", "--duration", "400ms", "--no-progress"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for field in [
        "scenario zombie-path (seed 1)",
        "IOPS",
        "MiB/s",
        "path 0",
        "path 1",
        "total",
        "p50",
        "p99",
        "p99.9",
        "failed upward",
        "retried (failed over)",
        "resets",
        "faults:",
        "zombie path 1",
        "I/O completed again after",
        "steps",
        "trace",
        "invariants: all held",
    ] {
        assert!(out.contains(field), "`{field}` missing:\n{out}");
    }
}

#[test]
fn run_json_has_the_same_fields() {
    let o = mpath_sim(&[
        "run",
        "two-nvme-paths",
        "--duration",
        "100ms",
        "--seed",
        "9",
        "--policy",
        "service-time",
        "--json",
    ]);
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["scenario"], "two-nvme-paths");
    assert_eq!(v["seed"], 9);
    assert_eq!(v["policy"], "service-time");
    assert_eq!(v["transport"], "nvme");
    assert_eq!(v["duration_us"], 100_000);
    assert!(v["iops"].as_f64().unwrap() > 0.0);
    assert!(v["mib_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["paths"].as_array().unwrap().len(), 2);
    for k in ["p50_us", "p99_us", "p999_us", "max_us"] {
        assert!(v["latency"][k].as_u64().unwrap() > 0, "{k}");
    }
    for k in [
        "submitted",
        "completed",
        "failed_upward",
        "outstanding",
        "retried",
        "resets",
        "steps",
    ] {
        assert!(v[k].is_u64(), "{k}: {v}");
    }
    assert!(v["trace"].as_str().unwrap().len() == 16);
    assert!(v["violation"].is_null());
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_does_not() {
    let trace = |seed: &str| {
        let o = mpath_sim(&[
            "run",
            "two-paths",
            "--duration",
            "50ms",
            "--seed",
            seed,
            "--json",
        ]);
        assert_exit(&o, 0);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["trace"].as_str().unwrap().to_owned()
    };
    assert_eq!(trace("4"), trace("4"));
    assert_ne!(trace("4"), trace("5"));
}

#[test]
fn a_broken_invariant_exits_non_zero_with_the_replay_command() {
    // Write quiesce off and writes landing 50 ms late: a stale write
    // (the engine's own test of the no-stale-write invariant).
    let f = scratch(
        "no-quiesce.toml",
        r#"
        [device]
        quiesce = "0"
        [workload]
        read_percent = 0
        slots = 64
        [[fault]]
        at = "100ms"
        kind = "link-down-late-writes"
        path = 0
        after = "50ms"
        "#,
    );
    let file = f.to_str().unwrap();
    let o = mpath_sim(&["run", file, "--seed", "5", "--no-progress"]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(out.contains("INVARIANT BROKEN: no-stale-write"), "{out}");
    assert!(
        out.contains(&format!("replay: mpath-sim run {file} --seed 5")),
        "{out}"
    );
}

#[test]
fn a_bad_file_names_line_and_key() {
    let f = scratch(
        "bad-key.toml",
        "transport = \"scsi\"\n\n[[path]]\nlatency = \"1ms\"\n\n[[path]]\nlatncy = \"1ms\"\n",
    );
    let o = mpath_sim(&["run", f.to_str().unwrap()]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("bad-key.toml: line 7"), "{err}");
    assert!(err.contains("path[1].latncy"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn a_bad_duration_in_a_file_names_line_and_key() {
    let f = scratch(
        "bad-duration.toml",
        "[workload]\nduration = \"5 parsecs\"\n",
    );
    let o = mpath_sim(&["topology", f.to_str().unwrap()]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("line 2") && err.contains("workload.duration") && err.contains("parsecs"),
        "{err}"
    );
}

#[test]
fn a_bad_duration_flag_is_named() {
    let o = mpath_sim(&["run", "two-paths", "--duration", "5 parsecs"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("--duration") && err.contains("parsecs"),
        "{err}"
    );
}

#[test]
fn a_bad_cpus_flag_is_named() {
    for bad in ["0", "65", "many"] {
        let o = mpath_sim(&["run", "two-paths", "--cpus", bad]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.contains("--cpus") && err.contains(bad), "{err}");
    }
}

/// A run on several CPUs says so, and its summary counts every I/O
/// (nothing lost on the fast path's hand-offs).
#[test]
fn a_run_on_several_cpus_says_so() {
    let o = mpath_sim(&[
        "run",
        "zombie-path",
        "--cpus",
        "4",
        "--duration",
        "300ms",
        "--no-progress",
    ]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("16 outstanding from 4 CPUs"), "{out}");
    assert!(out.contains("failed upward 0, outstanding 0"), "{out}");
}

#[test]
fn a_bad_policy_flag_lists_the_policies() {
    let o = mpath_sim(&["run", "two-paths", "--policy", "fastest"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("--policy") && err.contains("round-robin"),
        "{err}"
    );
}

#[test]
fn an_unknown_scenario_lists_the_builtins() {
    let o = mpath_sim(&["run", "no-such-scenario"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("unknown scenario `no-such-scenario`"), "{err}");
    assert!(err.contains("delayed-path"), "{err}");
}

#[test]
fn list_names_every_builtin() {
    let o = mpath_sim(&["list"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for b in mpath_sim::builtin::BUILTINS {
        assert!(out.contains(b.name), "{}", b.name);
    }
}

#[test]
fn show_prints_a_file_that_reads_back_as_the_builtin() {
    for name in ["two-paths", "ana-change", "preempted"] {
        let o = mpath_sim(&["show", name]);
        assert_exit(&o, 0);
        let back = from_toml(&stdout(&o), "x").unwrap();
        assert_eq!(Some(back), by_name(name), "{name}");
    }
}

#[test]
fn topology_draws_a_scsi_map_like_multipath_ll() {
    let o = mpath_sim(&["topology", "alua-transition"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for field in [
        "alua-transition (3",
        "dm-0 MPATHSIM,SIMULATED LU",
        "size=",
        "features='1 queue_if_no_path' hwhandler='1 alua' wp=rw",
        "|-+- policy='round-robin 0' prio=50 status=active",
        "`-+- policy='round-robin 0' prio=10 status=enabled",
        "1:0:0:0 sda",
        "4:0:0:0 sdd",
        "active ready running",
        "ALUA active-optimized",
        "[path 3:",
        "faults:",
        "alua group 1 -> transitioning",
    ] {
        assert!(out.contains(field), "`{field}` missing:\n{out}");
    }
}

#[test]
fn topology_draws_an_nvme_map_with_ana_states() {
    let o = mpath_sim(&["topology", "ana-change"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for field in [
        "[nvme]:nvme0n1",
        "hwhandler='ANA'",
        "anatt=1s",
        "prio=50 status=optimized",
        "prio=10 status=non-optimized",
        "nvme0c0n1",
        "nvme0c1n1",
        "non-optimized live",
    ] {
        assert!(out.contains(field), "`{field}` missing:\n{out}");
    }
}

#[test]
fn compare_runs_every_policy_against_the_ideal() {
    let o = mpath_sim(&[
        "compare",
        "two-paths",
        "--duration",
        "50ms",
        "--no-progress",
    ]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for h in [
        "IOPS", "MiB/s", "% ideal", "p50", "p99", "p99.9", "failed", "retried",
    ] {
        assert!(out.contains(h), "`{h}` missing:\n{out}");
    }
    for p in Policy::ALL {
        assert!(out.contains(p.name()), "{p:?}:\n{out}");
    }
    assert!(out.contains("ideal IOPS "), "{out}");

    let o = mpath_sim(&["compare", "two-paths", "--duration", "50ms", "--json"]);
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), Policy::ALL.len());
    let ideal = v["ideal_iops"].as_f64().unwrap();
    assert!(ideal > 0.0);
    for r in rows {
        let iops = r["iops"].as_f64().unwrap();
        let pct = r["percent_of_ideal"].as_f64().unwrap();
        assert!(iops > 0.0, "{r}");
        assert!((pct - 100.0 * iops / ideal).abs() < 1e-6, "{r}");
        // Two equal healthy paths: none beats the bound; even the one
        // that keeps to a single path (numa) gets past half of it.
        assert!((50.0..=100.5).contains(&pct), "{r}");
    }
}

#[test]
fn sweep_runs_seeds_and_reports() {
    let o = mpath_sim(&["sweep", "--count", "6", "--from", "10", "--no-progress"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("safety sweep: seeds 10..16: 6 runs, 0 failed"),
        "{out}"
    );

    let o = mpath_sim(&["sweep", "--mode", "liveness", "--count", "3", "--json"]);
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["mode"].as_str(), v["runs"].as_u64()),
        (Some("liveness"), Some(3))
    );
    assert!(v["failures"].as_array().unwrap().is_empty());
}

#[test]
fn sweep_names_a_bad_mode() {
    let o = mpath_sim(&["sweep", "--mode", "chaos"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("--mode") && err.contains("chaos"), "{err}");
}

#[test]
fn replay_prints_the_scenario_then_the_result() {
    let o = mpath_sim(&["replay", "3", "--mode", "liveness"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("name = \"sweep-liveness-3\""), "{out}");
    assert!(out.contains("[[path]]"), "{out}");
    assert!(out.contains("invariants: all held"), "{out}");
    // The scenario part reads back as the sweep's scenario.
    let toml_part = out.split("\nthe host's map").next().unwrap();
    let toml_part = toml_part.split("\nscenario sweep-").next().unwrap();
    let back = from_toml(toml_part, "x").unwrap();
    assert_eq!(
        back,
        mpath_sim::engine::sweep::random_scenario(3, mpath_sim::engine::sweep::Mode::Liveness)
    );
}

#[test]
fn replay_trace_prints_the_steps() {
    let o = mpath_sim(&["replay", "3", "--trace"]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("step") && err.contains("Submit"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

/// The path of a file in this test's scratch folder (not created).
fn scratch_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn run_svg_plots_the_paths_and_marks_the_faults() {
    let f = scratch_path("zombie.svg");
    let _ = std::fs::remove_file(&f);
    let o = mpath_sim(&[
        "run",
        "zombie-path",
        "--no-progress",
        "--svg",
        f.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let svg = std::fs::read_to_string(&f).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.contains("<svg "),
        "{}",
        &svg[..200]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    for label in [
        "path 0",
        "path 1",
        "zombie path 1",
        "heal path 1",
        "throughput per path",
        "latency",
        "virtual time (ms)",
    ] {
        assert!(svg.contains(label), "`{label}` missing from the SVG");
    }
    // As many opening as closing text elements: well-formed enough.
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}

#[test]
fn compare_svg_draws_every_selector() {
    let f = scratch_path("compare.svg");
    let _ = std::fs::remove_file(&f);
    let o = mpath_sim(&[
        "compare",
        "two-paths",
        "--duration",
        "30ms",
        "--no-progress",
        "--svg",
        f.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let svg = std::fs::read_to_string(&f).unwrap();
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    for p in Policy::ALL {
        assert!(svg.contains(p.name()), "{p:?} missing from the SVG");
    }
    for caption in ["% of the fabric", "p99 latency", "I/O failed upward"] {
        assert!(svg.contains(caption), "`{caption}` missing from the SVG");
    }
}

#[test]
fn an_unwritable_svg_is_named() {
    let bad = "/nonexistent-dir/x/plot.svg";
    for args in [
        &["run", "two-paths", "--duration", "10ms", "--svg", bad][..],
        &["compare", "two-paths", "--duration", "10ms", "--svg", bad][..],
    ] {
        let o = mpath_sim(args);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.contains(bad) && err.contains("SVG"), "{err}");
    }
}

#[test]
fn progress_leaves_the_output_and_the_run_alone() {
    let args = ["run", "delayed-path", "--duration", "100ms", "--seed", "6"];
    let quiet = mpath_sim(&[&args[..], &["--no-progress"]].concat());
    let plain = mpath_sim(&args);
    assert_exit(&quiet, 0);
    assert_exit(&plain, 0);
    // Nothing on standard error either way (it is not a terminal here),
    // and the same summary but for the wall time.
    assert_eq!(stderr(&quiet), "");
    assert_eq!(stderr(&plain), "");
    let strip = |o: &Output| {
        stdout(o)
            .lines()
            .filter(|l| !l.starts_with("engine:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&quiet), strip(&plain));
    // The run cut into pieces for the bar is the plain engine run.
    let mut s = by_name("delayed-path").unwrap();
    s.duration = mpath_core::Duration::from_millis(100);
    let r = mpath_sim::engine::Sim::new(s, 6).unwrap().run();
    let trace = format!("trace {:016x}", r.trace);
    assert!(
        stdout(&quiet).contains(&trace),
        "{trace}:\n{}",
        stdout(&quiet)
    );
}

#[test]
fn compare_prints_a_verdict() {
    let o = mpath_sim(&["compare", "delayed-path", "--no-progress"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    let v = out
        .lines()
        .find(|l| l.starts_with("verdict: "))
        .unwrap_or_else(|| panic!("no verdict:\n{out}"));
    assert!(
        v.contains("service-time does best here") && v.contains("% of the fabric's ideal"),
        "{v}"
    );
    assert!(v.contains("x the next best (adaptive"), "{v}");
    assert!(out.contains("stddev"), "{out}");
}

#[test]
fn replay_draws_the_live_map_after_each_fault() {
    let o = mpath_sim(&["replay", "3", "--mode", "liveness"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for field in [
        "the host's map after each fault",
        "later than link-down path 2 at",
        "dm-0 policy='service-time 0'",
        "reservation: key 0x6d7061746873696d",
        "prio=50 status=active",
        "3:0:0:0 sdc failed faulty running",
        "fabric link DOWN",
        "registered",
    ] {
        assert!(out.contains(field), "`{field}` missing:\n{out}");
    }
    // The scenario still comes first, the result last.
    assert!(out.find("[[path]]") < out.find("the host's map"));
    assert!(out.find("the host's map") < out.find("invariants: all held"));
}
