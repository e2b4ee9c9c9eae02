//! Route B of issue 13: mpath-core inside a Rust-for-Linux module.
//!
//! `scripts/rfl-kernel.sh build` builds a small 6.12 kernel with
//! CONFIG_RUST from Debian's linux-source-6.12 and the module
//! `kernel/rfl` (mpath-core compiled against the kernel's own `core`),
//! cached under `${CARGO_TARGET_DIR:-target}/rfl`; this test boots that
//! kernel under qemu TCG with a busybox initramfs, loads the module, whose
//! init runs the self-test, unloads it, and checks every line the
//! self-test prints, the kernel log and the taint flags.
//!
//! It builds a kernel (minutes on a cold cache), so it is not part of
//! `cargo test --workspace` (`test = false` in mpath-qemu's Cargo.toml, as
//! route A's `kmod`); `scripts/test-all.sh` runs it in a step of its own:
//! `cargo test -p mpath-qemu --test rfl_module`. A missing tool fails it,
//! naming what to install (`scripts/rfl-kernel.sh tools`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mpath_qemu::{Initramfs, Kernel, RunDir, Vm, VmConfig};

/// Every check the module's self-test makes, as it names them. Each must
/// print `selftest: ok <name> (`; the summary must count exactly these.
const CHECKS: &[&str] = &[
    "numa picks eligible paths",
    "numa keeps to the local path",
    "round-robin picks eligible paths",
    "round-robin rotates",
    "queue-depth picks eligible paths",
    "queue-depth avoids the loaded path",
    "queue-bytes picks eligible paths",
    "queue-bytes avoids the path with bytes in flight",
    "service-time picks eligible paths",
    "service-time follows relative throughput",
    "adaptive picks eligible paths",
    "adaptive avoids the slow path",
    "failover: a write and a read in flight on path a",
    "failover: the read is sent again on path b at once",
    "failover: the write is held, not sent at once",
    "failover: path a reported failed",
    "failover: no write before the quiesce time",
    "failover: the write goes to path b after the quiesce time",
    "alua: I/O on group 1 while it is optimized",
    "alua: group 1 standby, its paths leave the active tier, I/O on group 2",
    "alua: group 1 optimized again, I/O back on group 1 (after standby)",
    "alua: group 1 unavailable, its paths leave the active tier, I/O on group 2",
    "alua: group 1 optimized again, I/O back on group 1 (after unavailable)",
    "reservation: our key registered on every nexus",
    "reservation: reserved Write Exclusive through the holder's nexus",
    "reservation: writes go through the holder",
    "reservation: the write is held while the reservation moves",
    "reservation: the coordinator moved it to a live nexus",
    "reservation: the live nexuses hold our key and are admitted",
    "reservation: the held write goes out through the new holder",
];

/// What the kernel log must never show, loaded or unloaded.
const BAD: &[&str] = &[
    "Oops",
    "WARNING:",
    "BUG:",
    "Call Trace",
    "Kernel panic",
    "panicked",
    "selftest: FAIL",
];

/// Taint bits a module built out of tree may set: O (12, out-of-tree) and
/// E (13, unsigned; this kernel has no module signing, so it should not
/// appear, but it is the kernel's verdict on our build, not on our code).
const ALLOWED_TAINT: u64 = 1 << 12 | 1 << 13;
const TAINT_OOT: u64 = 1 << 12;

const SCRIPT: &str = "\
echo \"taint boot $(cat /proc/sys/kernel/tainted)\"
insmod /modules/mpath_rfl.ko
echo \"insmod rc=$?\"
grep -q '^mpath_rfl ' /proc/modules && echo 'listed in /proc/modules'
echo \"taint loaded $(cat /proc/sys/kernel/tainted)\"
rmmod mpath_rfl
echo \"rmmod rc=$?\"
grep -q '^mpath_rfl ' /proc/modules || echo 'gone from /proc/modules'
echo \"taint unloaded $(cat /proc/sys/kernel/tainted)\"
echo '--- dmesg'
dmesg
echo '--- end of dmesg'
echo RFL-TEST-DONE
";

/// Build (or find cached) the kernel and module; the kernel tree as
/// `Kernel::open` reads it.
fn build() -> Kernel {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let script = repo.join("scripts/rfl-kernel.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("build")
        .current_dir(&repo)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} build failed ({}):\n{stderr}",
        script.display(),
        out.status
    );
    // Progress and timings, for the test's log.
    eprint!("{stderr}");
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("rfl-kernel.sh printed no {k}: {stdout}"))
    };
    let root = PathBuf::from(field("RFL_ROOT="));
    let release = field("RFL_RELEASE=");
    Kernel::open(&root, &release).unwrap_or_else(|e| panic!("{e}"))
}

fn taint(console: &str, when: &str) -> u64 {
    let prefix = format!("taint {when} ");
    console
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no taint reading \"{when}\" on the console:\n{console}"))
}

#[test]
fn the_module_runs_mpath_core_in_the_kernel_and_unloads_cleanly() {
    let kernel = build();
    let dir = RunDir::new("rfl").unwrap();
    let initrd = Initramfs::new(&kernel)
        .modules(&["mpath_rfl"])
        .init_script(SCRIPT)
        .build(&dir.path().join("initrd.cpio"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::start(VmConfig::new(&kernel, &initrd, dir.path()).memory_mb(128))
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = vm.pid().expect("qemu runs");
    let waited = vm.wait_for("RFL-TEST-DONE", Duration::from_secs(180));
    let console = vm.console();
    vm.stop().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "qemu {pid} still there"
    );
    waited.unwrap_or_else(|e| panic!("{e}"));

    assert!(console.contains("insmod rc=0"), "insmod failed:\n{console}");
    assert!(console.contains("listed in /proc/modules"), "{console}");
    for name in CHECKS {
        let line = format!("selftest: ok {name} (");
        assert_eq!(
            console.matches(&line).count(),
            1,
            "expected one line with {line:?}:\n{console}"
        );
    }
    let summary = format!("selftest: {} passed, 0 failed", CHECKS.len());
    assert!(console.contains(&summary), "no {summary:?}:\n{console}");
    assert!(console.contains("rmmod rc=0"), "rmmod failed:\n{console}");
    assert!(console.contains("gone from /proc/modules"), "{console}");
    assert!(
        console.contains(&format!(
            "selftest: unloaded ({} checks had passed)",
            CHECKS.len()
        )),
        "the module's exit did not run:\n{console}"
    );
    for bad in BAD {
        assert!(
            !console.contains(bad),
            "the console shows {bad:?}:\n{console}"
        );
    }
    let (boot, loaded, unloaded) = (
        taint(&console, "boot"),
        taint(&console, "loaded"),
        taint(&console, "unloaded"),
    );
    for (when, t) in [("boot", boot), ("loaded", loaded), ("unloaded", unloaded)] {
        assert_eq!(
            t & !ALLOWED_TAINT,
            0,
            "taint {t:#x} {when}: bits other than out-of-tree/unsigned\n{console}"
        );
    }
    // The reading is real: loading an out-of-tree module sets O.
    assert_ne!(
        loaded & TAINT_OOT,
        0,
        "no out-of-tree taint after insmod ({loaded:#x})"
    );
    // What the self-test said, for the log of a passing run.
    for l in console.lines().filter(|l| l.contains("selftest:")) {
        eprintln!("{}", l.trim_end());
    }
    eprintln!("taint: boot {boot:#x}, loaded {loaded:#x}, unloaded {unloaded:#x}");
}
