//! The fixture against the real thing: Debian's cloud kernel under qemu
//! TCG. Needs qemu-system-x86, busybox-static, cpio and apt (the kernel is
//! fetched into target/qemu-cache on first use); fails, never skips,
//! naming what to install.

use std::path::Path;
use std::time::Duration;

use mpath_qemu::{Initramfs, Kernel, QemuError, RunDir, Vm, VmConfig};

/// Boot, see the script's marker, time out on a marker that is not there
/// (quoting the console), see qemu exit when the script ends, and leave no
/// process behind.
#[test]
fn boots_waits_times_out_and_is_stopped_by_pid() {
    let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir()).unwrap_or_else(|e| panic!("{e}"));
    let dir = RunDir::new("boot-test").unwrap();
    let initrd = Initramfs::new(&kernel)
        .modules(&["configfs"])
        .init_script(
            "insmod /modules/configfs.ko && echo \"configfs loaded\"\n\
             echo \"release $(uname -r)\"\necho HELLO-MARKER\nsleep 3\nexit 3\n",
        )
        .build(&dir.path().join("initrd.cpio"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::start(VmConfig::new(&kernel, &initrd, dir.path()).memory_mb(192)).unwrap();
    let pid = vm.pid().expect("running");
    vm.wait_for("HELLO-MARKER", Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    let console = vm.console();
    assert!(console.contains("configfs loaded"), "{console}");
    assert!(
        console.contains(&format!("release {}", kernel.release())),
        "{console}"
    );
    match vm.wait_for("NOT-THERE", Duration::from_millis(300)) {
        Err(QemuError::Timeout { console_tail, .. }) => {
            assert!(console_tail.contains("HELLO-MARKER"), "{console_tail}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    match vm.wait_for("NOT-THERE", Duration::from_secs(60)) {
        Err(QemuError::Exited { console_tail, .. }) => assert!(
            console_tail.contains("init script exited with 3"),
            "{console_tail}"
        ),
        other => panic!("expected qemu to exit after the script, got {other:?}"),
    }
    assert!(vm.pid().is_none());
    vm.stop().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

/// A VM dropped while it runs is killed by PID.
#[test]
fn a_dropped_vm_is_killed() {
    let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir()).unwrap_or_else(|e| panic!("{e}"));
    let dir = RunDir::new("drop-test").unwrap();
    let initrd = Initramfs::new(&kernel)
        .init_script("echo UP\nwhile :; do sleep 60; done\n")
        .build(&dir.path().join("initrd.cpio"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut vm = Vm::start(VmConfig::new(&kernel, &initrd, dir.path())).unwrap();
    let pid = vm.pid().unwrap();
    vm.wait_for("UP", Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(vm);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn a_missing_module_is_named() {
    let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir()).unwrap_or_else(|e| panic!("{e}"));
    let e = kernel.module("no_such_module").unwrap_err();
    assert!(e.to_string().contains("no_such_module"), "{e}");
    assert!(kernel.module("target-core-mod").is_ok());
}
