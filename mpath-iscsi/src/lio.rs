//! A throw-away LIO target (the Linux kernel's SCSI target) in a qemu VM:
//! Debian's cloud kernel under TCG, a busybox initramfs whose init script
//! loads the target modules and builds the target through configfs, and
//! qemu's user network forwarding two host ports on 127.0.0.1 to the
//! target's two portals.
//!
//! The target ([`init_script`]): one fileio backstore of [`BACKING_BYTES`]
//! in the guest's RAM, with a unit serial; one iSCSI target with two
//! target portal groups, `tpgt_1` on 10.0.2.15:3260 and `tpgt_2` on
//! 10.0.2.15:3261 (two relative target ports of one logical unit); in each
//! TPG, explicit ACLs for the given initiator names mapping LUN 0, and no
//! dynamic ACLs. Explicit ACLs matter: with dynamic ones LIO registers
//! ALL_TG_PT only on the receiving nexus, with explicit ones in every TPG
//! it registers across TPGs. The APTPL directory `<dbroot>/pr` exists, so
//! APTPL=1 succeeds instead of reporting NOT READY.
//!
//! ALUA ([`Alua`]): LIO reports implicit and explicit ALUA by default
//! (one target port group, `default_tg_pt_gp`, holding both ports,
//! active/optimized).
//! [`Alua::Off`] sets its access type to none, so INQUIRY reports TPGS 0
//! (as tgt does) and a host sends no REPORT TARGET PORT GROUPS. LIO 6.1
//! answers REPORT TARGET PORT GROUPS with the extended header wrongly: its
//! RETURN DATA LENGTH leaves out the header's last 4 bytes and the data
//! stops there, cutting the last RELATIVE TARGET PORT IDENTIFIER (SPC-4
//! 6.37: RETURN DATA LENGTH is n - 3, header included). The length-only
//! format is right, and mpath-scsi's adapter falls back to it on such an
//! answer (see `extended_answer_cut_short` in mpath-scsi).
//!
//! Discovery advertises 10.0.2.15, which the host cannot reach: log in to
//! [`LioTarget::portal`] (the forwarded port) directly.
//!
//! Host ports are picked free at run time, so targets in parallel tests
//! do not collide; a race for a port ends as qemu failing to start, and
//! [`LioTarget::start`] tries again with new ports. The VM is stopped by
//! the PID it started ([`LioTarget::shutdown`], and on drop).

use std::time::Duration;

use mpath_qemu::{free_local_port, Initramfs, Kernel, QemuError, RunDir, Vm, VmConfig};

/// The LUN every ACL maps.
pub const LUN: u32 = 0;
/// Size of the fileio backing file (in the guest's RAM).
pub const BACKING_BYTES: u64 = 16 << 20;
/// The target's name.
pub const TARGET_IQN: &str = "iqn.2024-01.org.mpath:lio";
/// The backstore's unit serial (VPD page 80h; names the APTPL file).
pub const UNIT_SERIAL: &str = "mpath-lio-0001";
/// The guest's address: qemu's user network gives 10.0.2.15/24.
pub const GUEST_ADDR: &str = "10.0.2.15";
/// Guest port of TPG `t` (1-based tag `t + 1`): 3260 and 3261.
pub const GUEST_PORTS: [u16; 2] = [3260, 3261];
/// What the init script prints when the target is enabled.
pub const READY: &str = "mpath-lio: target ready";
/// Modules in load order: configfs and the target core with its file
/// backstore and iSCSI fabric, then virtio networking (the cloud kernel
/// builds these as modules; crc32c, which iSCSI digests use, is built in).
pub const MODULES: [&str; 13] = [
    "configfs",
    "scsi_common",
    "target_core_mod",
    "target_core_file",
    "iscsi_target_mod",
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
];

/// Whether the logical unit reports ALUA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alua {
    /// LIO's default: implicit and explicit ALUA (TPGS 11b), one target
    /// port group.
    On,
    /// `alua_access_type` 0: TPGS 00b, no target port groups reported.
    Off,
}

/// How long the guest may take to print [`READY`]: about 3 s on an idle
/// machine; TCG shares two cores with builds and other VMs.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// Starts tried before giving up (each with fresh host ports).
const ATTEMPTS: usize = 3;

/// The guest's init script: modules, network, backstore, target, ACLs,
/// then [`READY`]; on any failure it prints the step and exits (the VM
/// powers off and the start fails with the console's tail).
pub fn init_script(initiators: &[&str], alua: Alua) -> String {
    let mut s = String::from(
        "fail() { echo \"mpath-lio: FAILED: $*\"; exit 1; }\n\
         put() { echo \"$2\" > \"$1\" || fail \"write $2 to $1\"; }\n\
         # APTPL state goes to <dbroot>/pr; dbroot is /etc/target when it\n\
         # exists when the target core loads, else /var/target.\n\
         mkdir -p /etc/target/pr /var/target/pr\n",
    );
    for m in MODULES {
        s.push_str(&format!("insmod /modules/{m}.ko || fail \"insmod {m}\"\n"));
    }
    s.push_str(&format!(
        "mount -t configfs configfs /sys/kernel/config || fail \"mount configfs\"\n\
         ip link set lo up\n\
         ip link set eth0 up || fail \"eth0 up\"\n\
         ip addr add {GUEST_ADDR}/24 dev eth0 || fail \"address\"\n\
         ip route add default via 10.0.2.2\n\
         T=/sys/kernel/config/target\n\
         B=$T/core/fileio_0/disk0\n\
         mkdir -p $B || fail \"backstore\"\n\
         put $B/control \"fd_dev_name=/tmp/disk0.img,fd_dev_size={BACKING_BYTES}\"\n\
         # Before the LUN is exported: the APTPL file is named after it.\n\
         put $B/wwn/vpd_unit_serial {UNIT_SERIAL}\n\
         put $B/enable 1\n"
    ));
    if alua == Alua::Off {
        s.push_str("put $B/alua/default_tg_pt_gp/alua_access_type 0\n");
    }
    s.push_str("mkdir $T/iscsi || fail \"iscsi fabric\"\n");
    for (k, port) in GUEST_PORTS.iter().enumerate() {
        let tp = format!("$T/iscsi/{TARGET_IQN}/tpgt_{}", k + 1);
        s.push_str(&format!(
            "mkdir -p {tp} || fail \"tpgt {tag}\"\n\
             mkdir {tp}/np/{GUEST_ADDR}:{port} || fail \"portal {port}\"\n\
             mkdir {tp}/lun/lun_{LUN} || fail \"lun in tpgt {tag}\"\n\
             ln -s $B {tp}/lun/lun_{LUN}/disk0 || fail \"export lun\"\n\
             put {tp}/attrib/authentication 0\n\
             put {tp}/attrib/demo_mode_write_protect 0\n\
             put {tp}/attrib/generate_node_acls 0\n",
            tag = k + 1
        ));
        for ini in initiators {
            s.push_str(&format!(
                "mkdir -p {tp}/acls/{ini}/lun_{LUN} || fail \"acl {ini}\"\n\
                 ln -s {tp}/lun/lun_{LUN} {tp}/acls/{ini}/lun_{LUN}/lun || fail \"map {ini}\"\n"
            ));
        }
        s.push_str(&format!("put {tp}/enable 1\n"));
    }
    s.push_str(&format!(
        "echo \"mpath-lio: dbroot $(cat $T/dbroot)\"\n\
         echo \"{READY}\"\n\
         while :; do sleep 3600; done\n"
    ));
    s
}

/// A running LIO target in its VM.
#[derive(Debug)]
pub struct LioTarget {
    // Before `dir`: the VM stops before its files go.
    vm: Vm,
    dir: RunDir,
    ports: [u16; 2],
    release: String,
}

impl LioTarget {
    /// Boot a VM with the target, ACLs for `initiators`, and wait until it
    /// is ready.
    pub fn start(initiators: &[&str], alua: Alua) -> Result<Self, QemuError> {
        let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir())?;
        let mut last = QemuError::NotRunning;
        for _ in 0..ATTEMPTS {
            match Self::try_start(&kernel, initiators, alua) {
                Ok(t) => return Ok(t),
                // qemu exits at once when a forward's port was taken in
                // the meantime: try again with other ports. Anything else
                // (a setup step, a timeout) would fail the same way again.
                Err(e @ QemuError::Exited { .. }) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn try_start(kernel: &Kernel, initiators: &[&str], alua: Alua) -> Result<Self, QemuError> {
        let dir = RunDir::new("lio")?;
        let initrd = Initramfs::new(kernel)
            .modules(&MODULES)
            .init_script(&init_script(initiators, alua))
            .build(&dir.path().join("initrd.cpio"))?;
        let ports = [free_local_port()?, free_local_port()?];
        let cfg = VmConfig::new(kernel, &initrd, dir.path())
            .memory_mb(256)
            .forward(ports[0], GUEST_PORTS[0])
            .forward(ports[1], GUEST_PORTS[1]);
        let mut vm = Vm::start(cfg)?;
        vm.wait_for(READY, READY_TIMEOUT)?;
        Ok(LioTarget {
            vm,
            dir,
            ports,
            release: kernel.release().to_owned(),
        })
    }

    /// The target name.
    pub fn iqn(&self) -> &str {
        TARGET_IQN
    }
    /// The host port forwarded to TPG `tpg` (0 or 1; others wrap).
    pub fn port(&self, tpg: usize) -> u16 {
        self.ports[tpg % self.ports.len()]
    }
    /// The portal to log in to for TPG `tpg`: `127.0.0.1:<port>`.
    pub fn portal(&self, tpg: usize) -> String {
        format!("127.0.0.1:{}", self.port(tpg))
    }
    /// The guest kernel's release.
    pub fn release(&self) -> &str {
        &self.release
    }
    /// qemu's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.vm.pid()
    }
    /// The guest's console so far.
    pub fn console(&self) -> String {
        self.vm.console()
    }
    /// The directory with the VM's files (initramfs, console log).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
    /// Stop the VM (kill qemu by the PID it started). Idempotent.
    pub fn shutdown(&mut self) -> Result<(), QemuError> {
        self.vm.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_loads_modules_in_order_then_builds_both_tpgs() {
        let s = init_script(&["iqn.a:h", "iqn.b:h"], Alua::On);
        assert!(!s.contains("alua_access_type"));
        let at = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        let mut last = 0;
        for m in MODULES {
            let i = at(&format!("insmod /modules/{m}.ko"));
            assert!(i > last, "{m} out of order");
            last = i;
        }
        assert!(at("mount -t configfs") > last);
        assert!(at("vpd_unit_serial") < at("tpgt_1/lun/lun_0 ||"));
        for t in 1..=2 {
            for ini in ["iqn.a:h", "iqn.b:h"] {
                at(&format!("tpgt_{t}/acls/{ini}/lun_0 ||"));
            }
            at(&format!("tpgt_{t}/np/10.0.2.15:{}", 3259 + t));
        }
        assert!(at("/var/target/pr") < at("insmod /modules/target_core_mod.ko"));
        assert!(at(READY) > at("tpgt_2/enable"));
    }

    #[test]
    fn alua_off_is_set_before_the_lun_is_exported() {
        let s = init_script(&["iqn.a:h"], Alua::Off);
        let off = s.find("alua_access_type 0").unwrap();
        assert!(off < s.find("tpgt_1/lun/lun_0 ||").unwrap());
    }
}
