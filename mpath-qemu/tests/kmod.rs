//! Route A of issue 13: the mpath core in Debian's stock kernel, as a C
//! module (`kernel/kmod/`) linking mpath-ffi's staticlib built for the
//! kernel. Builds the module against the headers of the very kernel
//! mpath-qemu boots (cached in the target dir: a second run takes seconds),
//! runs the object-code gate on the exact staticlib the module links, boots
//! the kernel under qemu TCG with a busybox initramfs, loads the module
//! (whose init runs the self-test), unloads it, and checks what it printed,
//! the kernel log and the taint flags.
//!
//! Not part of `cargo test --workspace` (`test = false` in Cargo.toml): run
//! it with `cargo test -p mpath-qemu --test kmod`, as scripts/test-all.sh
//! does. Needs qemu-system-x86, busybox-static, cpio, binutils, make, the
//! kernel's gcc (gcc-12), python3, apt, and the toolchain's rust-src; a
//! missing one fails the test, naming it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mpath_qemu::{kmod, Headers, Initramfs, Kernel, RunDir, Vm, VmConfig};

/// Every check the self-test makes, by id (`mpath selftest: ok <id>: ...`).
const CHECKS: &[&str] = &[
    "layout.dataplane",
    "layout.cursor",
    "layout.device",
    "layout.ticket",
    "layout.unknown",
    "setup.events",
    "setup.selectable",
    "policy.locality.set",
    "policy.locality.eligible",
    "policy.locality.local",
    "policy.round-robin.set",
    "policy.round-robin.eligible",
    "policy.round-robin.rotates",
    "policy.queue-depth.set",
    "policy.queue-depth.eligible",
    "policy.queue-depth.fewest-ios",
    "policy.queue-bytes.set",
    "policy.queue-bytes.eligible",
    "policy.queue-bytes.fewest-bytes",
    "policy.service-time.set",
    "policy.service-time.eligible",
    "policy.service-time.throughput",
    "policy.adaptive.set",
    "policy.adaptive.eligible",
    "policy.adaptive.latency",
    "failover.submit",
    "failover.read",
    "failover.ineligible",
    "failover.event",
    "failover.read-done",
    "failover.write-submit",
    "failover.write-held",
    "failover.write-timer",
    "failover.quiesce-wait",
    "failover.quiesce-dispatch",
    "failover.counters",
    "alua.standby-tier",
    "alua.standby-io",
    "alua.back-tier",
    "alua.back-io",
    "reservation.register",
    "reservation.reserve",
    "reservation.write",
    "reservation.held",
    "reservation.moved",
    "reservation.events",
    "reservation.stale",
    "reservation.timer",
    "reservation.write-out",
    "stack",
];

/// Lines that mean the kernel was unhappy, whatever the self-test said.
const KERNEL_TROUBLE: &[&str] = &[
    "Oops",
    "WARNING:",
    "BUG:",
    "Call Trace",
    "Kernel panic",
    "general protection fault",
    "stack-protector",
    "stack guard page",
    "kernel stack overflow",
    "corrupted stack end",
    "Unknown rela relocation",
    "Unknown symbol",
];

/// Taint bits a module of ours may set: O (out-of-tree, 12) and E
/// (unsigned module on a kernel that checks signatures, 13).
const TAINT_OUT_OF_TREE: u64 = 1 << 12;
const TAINT_UNSIGNED: u64 = 1 << 13;

const DONE: &str = "MPATH-KMOD-DONE";

const SCRIPT: &str = "\
echo \"taint-boot $(cat /proc/sys/kernel/tainted)\"
insmod /modules/mpath_selftest.ko
echo \"insmod-rc $?\"
echo \"taint-loaded $(cat /proc/sys/kernel/tainted)\"
grep -c '^mpath_selftest ' /proc/modules | sed 's/^/listed /'
rmmod mpath_selftest
echo \"rmmod-rc $?\"
echo \"taint-unloaded $(cat /proc/sys/kernel/tainted)\"
echo '=== dmesg'
dmesg
echo '=== end'
echo MPATH-KMOD-DONE
";

fn value<'c>(console: &'c str, key: &str) -> &'c str {
    console
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(key))
        .map_or("", str::trim)
        .trim_start_matches(' ')
}

fn taint(console: &str, key: &str) -> u64 {
    let v = value(console, key);
    v.parse()
        .unwrap_or_else(|_| panic!("no {key:?} line with a number ({v:?}):\n{console}"))
}

/// Run the object-code gate on the archive the module links.
fn gate(staticlib: &Path) -> String {
    let script = kmod::workspace().join("scripts").join("objgate.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("--archive")
        .arg(staticlib)
        .args(["--max-frame", "8192"])
        .output()
        .unwrap_or_else(|e| panic!("python3 not found ({e}): install Debian package python3"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "objgate.py --archive {} failed:\n{text}",
        staticlib.display()
    );
    text
}

#[test]
fn the_selftest_module_passes_in_debians_stock_kernel() {
    let started = Instant::now();
    let cache = mpath_qemu::cache_dir();
    let kernel = Kernel::debian_cloud(&cache).unwrap_or_else(|e| panic!("{e}"));
    let headers = Headers::debian(&kernel, &cache).unwrap_or_else(|e| panic!("{e}"));
    let fetched = started.elapsed();
    let module = kmod::build(&headers, &kmod::out_dir()).unwrap_or_else(|e| panic!("{e}"));
    let built = started.elapsed();
    eprintln!("kmod: {} rustc flags:", kmod::TARGET);
    for f in &module.rustflags {
        eprintln!("  {}", f.flag);
    }
    eprintln!(
        "kmod: {} exports, imports from the kernel: {}",
        module.exports.len(),
        module.imports.join(" ")
    );
    assert!(module.exports.len() > 50, "{:?}", module.exports);
    for needed in [
        "mpath_device_init",
        "mpath_dataplane_init",
        "mpath_poll_action",
    ] {
        assert!(module.exports.iter().any(|e| e == needed), "{needed}");
    }

    // Part 4 of the issue: the gate on the very archive the module links.
    let report = gate(&module.staticlib);
    eprintln!("{}", report.trim_end());

    // The module was built for this kernel.
    let ko = std::fs::read(&module.ko).unwrap();
    let vermagic = ko
        .split(|b| *b == 0)
        .find_map(|s| s.strip_prefix(b"vermagic="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("a vermagic in the module");
    assert!(
        vermagic.starts_with(&format!("{} ", kernel.release())),
        "module vermagic {vermagic:?}, kernel {}",
        kernel.release()
    );

    let dir = RunDir::new("kmod").unwrap();
    let initrd = Initramfs::new(&kernel)
        .file(&module.ko, "/modules/mpath_selftest.ko")
        .init_script(SCRIPT)
        .build(&dir.path().join("initrd.cpio"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut vm =
        Vm::start(VmConfig::new(&kernel, &initrd, dir.path())).unwrap_or_else(|e| panic!("{e}"));
    vm.wait_for(DONE, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    let console = vm.console();
    vm.stop().unwrap();
    let booted = started.elapsed();
    eprintln!(
        "kmod: kernel and headers {:.1}s, module build {:.1}s, qemu {:.1}s",
        fetched.as_secs_f64(),
        (built - fetched).as_secs_f64(),
        (booted - built).as_secs_f64()
    );

    let dmesg = console
        .split_once("=== dmesg")
        .and_then(|(_, rest)| rest.split_once("=== end"))
        .map(|(d, _)| d)
        .unwrap_or_else(|| panic!("no dmesg section on the console:\n{console}"));
    let selftest: Vec<&str> = dmesg
        .lines()
        .filter_map(|l| l.split_once("mpath selftest: ").map(|(_, m)| m))
        .collect();
    eprintln!("kmod: the module printed:");
    for l in &selftest {
        eprintln!("  {l}");
    }

    for trouble in KERNEL_TROUBLE {
        assert!(
            !console.contains(trouble),
            "{trouble:?} in the kernel's output:\n{console}"
        );
    }
    let failed: Vec<&&str> = selftest.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}\n{dmesg}");
    for id in CHECKS {
        let ok = format!("ok {id}: ");
        assert!(
            selftest.iter().any(|l| l.starts_with(&ok)),
            "no {ok:?} line:\n{dmesg}"
        );
    }
    let oks = selftest.iter().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(
        oks,
        CHECKS.len(),
        "a check this test does not know:\n{dmesg}"
    );
    let summary = format!("{} passed, 0 failed", CHECKS.len());
    assert!(
        selftest.contains(&summary.as_str()),
        "no {summary:?}:\n{dmesg}"
    );
    assert!(selftest.contains(&"unloaded"), "{dmesg}");

    assert_eq!(value(&console, "insmod-rc"), "0", "{console}");
    assert_eq!(value(&console, "listed"), "1", "{console}");
    assert_eq!(value(&console, "rmmod-rc"), "0", "{console}");
    let boot = taint(&console, "taint-boot");
    let loaded = taint(&console, "taint-loaded");
    let unloaded = taint(&console, "taint-unloaded");
    assert_eq!(boot, 0, "the kernel was tainted before the module loaded");
    let ours = TAINT_OUT_OF_TREE | TAINT_UNSIGNED;
    assert_eq!(
        loaded & !ours,
        0,
        "taint {loaded:#x} after loading: only O and E are ours"
    );
    assert_ne!(
        loaded & TAINT_OUT_OF_TREE,
        0,
        "an out-of-tree module taints O"
    );
    assert_eq!(unloaded, loaded, "unloading changed the taint");
}
