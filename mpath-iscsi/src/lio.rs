//! A throw-away LIO target (the Linux kernel's SCSI target) in a qemu VM:
//! Debian's cloud kernel under TCG, a busybox initramfs whose init script
//! loads the target modules and builds the target through configfs, and
//! qemu's user network forwarding two host ports on 127.0.0.1 to the
//! target's two portals.
//!
//! The target ([`init_script`]): one fileio backstore over a virtio disk
//! of [`BACKING_BYTES`] (a raw image on the host), with a unit serial; one
//! iSCSI target with two target portal groups, `tpgt_1` on
//! 10.0.2.15:3260 and `tpgt_2` on 10.0.2.15:3261 (two relative target
//! ports of one logical unit); in each TPG, explicit ACLs for the given
//! initiator names mapping LUN 0, and no dynamic ACLs. Explicit ACLs
//! matter: with dynamic ones LIO registers ALL_TG_PT only on the receiving
//! nexus, with explicit ones in every TPG it registers across TPGs.
//!
//! APTPL: LIO writes the registrations to `<dbroot>/pr/aptpl_<unit
//! serial>` on every PR OUT once APTPL is active (the file is the
//! registration list, one `PR_REG_START` .. `PR_REG_END` record each, then
//! a NUL byte). dbroot is `/etc/target` ([`DBROOT`]): the init script
//! mounts a second virtio disk there (ext2, `-o sync`, so the file is on
//! the disk when the PR OUT completes) before the target core loads, which
//! takes `/etc/target` as dbroot when it exists. After a power loss that
//! file system's bitmaps may be stale (no journal, and sync writes only
//! data, inodes and directories through), so each boot copies the file
//! out, makes a new file system and puts the file back. LIO does not read the
//! file back by itself: at boot the script writes each record, as
//! comma-separated `key=value` pairs, to the backstore's
//! `pr/res_aptpl_metadata` before the LUN is exported (the attribute
//! refuses once it is), and LIO attaches each registration (and the
//! reservation, from its holder's record) when the matching ACL maps the
//! LUN. One quirk: the file has `res_type` in hex and the attribute reads
//! it as a C integer (base 0), so the script converts it to decimal.
//!
//! [`LioTarget::restart`] is a power loss and a boot: qemu is killed by
//! its PID and started again with the same disk images (and the same
//! host ports when they are still free), so the blocks and the APTPL file
//! survive and nothing else does.
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

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mpath_qemu::{free_local_port, Initramfs, Kernel, QemuError, RunDir, Vm, VmConfig};

/// The LUN every ACL maps.
pub const LUN: u32 = 0;
/// Size of the disk the fileio backstore is on.
pub const BACKING_BYTES: u64 = 16 << 20;
/// Serial of the virtio disk holding the logical unit's blocks.
pub const BACKING_SERIAL: &str = "mpath-lio-blocks";
/// Size of the state disk (an ext2 file system for dbroot).
pub const STATE_BYTES: u64 = 4 << 20;
/// Serial of the virtio disk mounted at [`DBROOT`].
pub const STATE_SERIAL: &str = "mpath-lio-state";
/// LIO's dbroot: the APTPL file is `<DBROOT>/pr/`[`APTPL_FILE`].
pub const DBROOT: &str = "/etc/target";
/// The APTPL file's name: `aptpl_<unit serial>`.
pub const APTPL_FILE: &str = "aptpl_mpath-lio-0001";
/// What the init script prints when it found the file system an earlier
/// boot made on the state disk (it saves the APTPL file from it, then
/// makes a new one).
pub const STATE_KEPT: &str = "mpath-lio: state disk kept";
/// What it prints when it had to make the file system (the first boot).
pub const STATE_NEW: &str = "mpath-lio: state disk new";
/// The start of the line saying how many APTPL records were written back.
pub const RESTORED: &str = "mpath-lio: APTPL records restored: ";
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
/// Modules loaded first, in order: virtio's block and network drivers
/// (the state disk must be mounted before the target core loads, which
/// picks dbroot then). The cloud kernel builds these as modules; ext4,
/// which mounts ext2, is built in.
pub const DEVICE_MODULES: [&str; 9] = [
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "virtio_blk",
    "failover",
    "net_failover",
    "virtio_net",
];
/// Then configfs and the target core with its file backstore and iSCSI
/// fabric (crc32c, which iSCSI digests use, is built in).
pub const TARGET_MODULES: [&str; 5] = [
    "configfs",
    "scsi_common",
    "target_core_mod",
    "target_core_file",
    "iscsi_target_mod",
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

/// The guest's init script: modules, disks, network, backstore, APTPL
/// records written back, target, ACLs, then [`READY`]; on any failure it
/// prints the step and exits (the VM powers off and the start fails with
/// the console's tail).
pub fn init_script(initiators: &[&str], alua: Alua) -> String {
    let mut s = String::from(
        "fail() { echo \"mpath-lio: FAILED: $*\"; exit 1; }\n\
         put() { echo \"$2\" > \"$1\" || fail \"write $2 to $1\"; }\n\
         # The virtio disk whose serial is $1 (vd* names follow PCI order).\n\
         disk() {\n\
         \x20 for try in 1 2 3 4 5 6 7 8 9 10; do\n\
         \x20   for d in /sys/block/vd*; do\n\
         \x20     [ \"$(cat $d/serial 2>/dev/null)\" = \"$1\" ] && { echo /dev/${d##*/}; return 0; }\n\
         \x20   done\n\
         \x20   sleep 0.2\n\
         \x20 done\n\
         \x20 return 1\n\
         }\n",
    );
    for m in DEVICE_MODULES {
        s.push_str(&format!("insmod /modules/{m}.ko || fail \"insmod {m}\"\n"));
    }
    s.push_str(&format!(
        "DATA=$(disk {BACKING_SERIAL}) || fail \"no disk {BACKING_SERIAL}\"\n\
         STATE=$(disk {STATE_SERIAL}) || fail \"no disk {STATE_SERIAL}\"\n\
         mkdir -p {DBROOT} /mnt/state\n\
         if mount -t ext2 -o ro $STATE /mnt/state 2>/dev/null; then\n\
         \x20 echo \"{STATE_KEPT}\"\n\
         \x20 if [ -f /mnt/state/pr/{APTPL_FILE} ]; then\n\
         \x20   cp /mnt/state/pr/{APTPL_FILE} /tmp/{APTPL_FILE} || fail \"save the APTPL file\"\n\
         \x20 fi\n\
         \x20 umount /mnt/state || fail \"umount $STATE\"\n\
         else\n\
         \x20 echo \"{STATE_NEW}\"\n\
         fi\n\
         # A new file system every boot: after a power loss the old one's\n\
         # block bitmap can be stale (ext2 has no journal, and -o sync\n\
         # writes data, inodes and directories through, not bitmaps), and\n\
         # LIO's next rewrite of the file would fail on it (seen: EXT4-fs\n\
         # error, freeing already freed block, then NOT READY 08/00).\n\
         mke2fs -F $STATE >/dev/null 2>&1 || fail \"mke2fs $STATE\"\n\
         # Mounted sync: LIO writes the APTPL file without fsync, and a\n\
         # restart is a power loss. dbroot is {DBROOT} when it exists when\n\
         # the target core loads (else /var/target); without <dbroot>/pr,\n\
         # APTPL=1 reports NOT READY.\n\
         mount -t ext2 -o sync $STATE {DBROOT} || fail \"mount $STATE\"\n\
         mkdir -p {DBROOT}/pr || fail \"mkdir {DBROOT}/pr\"\n\
         if [ -f /tmp/{APTPL_FILE} ]; then\n\
         \x20 cp /tmp/{APTPL_FILE} {DBROOT}/pr/ || fail \"put the APTPL file back\"\n\
         fi\n"
    ));
    for m in TARGET_MODULES {
        s.push_str(&format!("insmod /modules/{m}.ko || fail \"insmod {m}\"\n"));
    }
    s.push_str(&format!(
        "mount -t configfs configfs /sys/kernel/config || fail \"mount configfs\"\n\
         ip link set lo up\n\
         ip link set eth0 up || fail \"eth0 up\"\n\
         ip addr add {GUEST_ADDR}/24 dev eth0 || fail \"address\"\n\
         ip route add default via 10.0.2.2\n\
         T=/sys/kernel/config/target\n\
         echo \"mpath-lio: dbroot $(cat $T/dbroot)\"\n\
         B=$T/core/fileio_0/disk0\n\
         mkdir -p $B || fail \"backstore\"\n\
         put $B/control \"fd_dev_name=$DATA,fd_dev_size={BACKING_BYTES}\"\n\
         # Before the LUN is exported: the APTPL file is named after it.\n\
         put $B/wwn/vpd_unit_serial {UNIT_SERIAL}\n\
         put $B/enable 1\n"
    ));
    if alua == Alua::Off {
        s.push_str("put $B/alua/default_tg_pt_gp/alua_access_type 0\n");
    }
    s.push_str(&restore_aptpl());
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
        "# What LIO holds now (restored records are attached by the ACLs).\n\
         sed 's/^/mpath-lio: pr: /' $B/pr/res_pr_registered_i_pts $B/pr/res_holder $B/pr/res_aptpl_active\n\
         echo \"{READY}\"\n\
         while :; do sleep 3600; done\n"
    ));
    s
}

/// The script's step that writes the APTPL file's records back through
/// `pr/res_aptpl_metadata` (`$B` is the backstore), echoing the file and
/// each record to the console, then [`RESTORED`] and the count.
fn restore_aptpl() -> String {
    format!(
        "F={DBROOT}/pr/{APTPL_FILE}\n\
         n=0\n\
         if [ -f $F ]; then\n\
         \x20 # LIO ends the file with a NUL byte.\n\
         \x20 tr -d '\\000' < $F > /tmp/aptpl || fail \"read $F\"\n\
         \x20 sed 's/^/mpath-lio: aptpl file: /' /tmp/aptpl\n\
         \x20 rec=\n\
         \x20 while IFS= read -r line || [ -n \"$line\" ]; do\n\
         \x20   case \"$line\" in\n\
         \x20     PR_REG_START:*) rec= ;;\n\
         \x20     # Written as %02x, read as a C integer: 08 would not parse.\n\
         \x20     res_type=*) rec=\"$rec,res_type=$(printf %d 0x${{line#res_type=}})\" ;;\n\
         \x20     PR_REG_END:*)\n\
         \x20       echo \"mpath-lio: res_aptpl_metadata $rec\"\n\
         \x20       put $B/pr/res_aptpl_metadata \"$rec\"\n\
         \x20       n=$((n + 1)) ;;\n\
         \x20     *=*) rec=\"$rec,$line\" ;;\n\
         \x20   esac\n\
         \x20 done < /tmp/aptpl\n\
         fi\n\
         echo \"{RESTORED}$n\"\n"
    )
}

/// What a [`LioTarget::restart`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restarted {
    /// The qemu killed.
    pub killed_pid: u32,
    /// The qemu booted.
    pub booted_pid: u32,
    /// Whether the host ports changed (the old ones were taken meanwhile).
    pub ports_changed: bool,
    /// The new boot mounted the state disk the old one wrote
    /// ([`STATE_KEPT`]) rather than making a new file system.
    pub state_kept: bool,
    /// APTPL records the init script wrote back ([`RESTORED`]).
    pub restored: usize,
    /// From the kill to [`READY`].
    pub took: Duration,
}

/// A running LIO target in its VM.
#[derive(Debug)]
pub struct LioTarget {
    // Before `dir`: the VM stops before its files go.
    vm: Vm,
    dir: RunDir,
    kernel: Kernel,
    initrd: PathBuf,
    ports: [u16; 2],
    /// The consoles of the boots before this one.
    earlier: String,
}

impl LioTarget {
    /// Boot a VM with the target, ACLs for `initiators`, and wait until it
    /// is ready.
    pub fn start(initiators: &[&str], alua: Alua) -> Result<Self, QemuError> {
        let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir())?;
        let dir = RunDir::new("lio")?;
        let initrd = Initramfs::new(&kernel)
            .modules(&DEVICE_MODULES)
            .modules(&TARGET_MODULES)
            .init_script(&init_script(initiators, alua))
            .build(&dir.path().join("initrd.cpio"))?;
        // Sparse, zero-filled: a fresh disk, and a state disk the first
        // boot formats.
        for (name, bytes) in [(BACKING_IMAGE, BACKING_BYTES), (STATE_IMAGE, STATE_BYTES)] {
            let p = dir.path().join(name);
            fs::File::create(&p)
                .and_then(|f| f.set_len(bytes))
                .map_err(|e| QemuError::Io {
                    what: "create disk image",
                    path: p.clone(),
                    error: e.to_string(),
                })?;
        }
        let (vm, ports) = boot(&kernel, &initrd, dir.path(), None)?;
        Ok(LioTarget {
            vm,
            dir,
            kernel,
            initrd,
            ports,
            earlier: String::new(),
        })
    }

    /// Power-cycle the target: kill qemu by its PID (a power loss: what
    /// LIO had only in memory is gone, what it wrote to the disks stays),
    /// boot it again with the same disk images and the same host ports (new
    /// ones if those were taken meanwhile; see [`LioTarget::portal`]), and
    /// wait until it is ready. Sessions to the old VM are dead; log in again.
    pub fn restart(&mut self) -> Result<Restarted, QemuError> {
        let t0 = Instant::now();
        let killed_pid = self.vm.pid().ok_or(QemuError::NotRunning)?;
        self.vm.stop()?;
        self.earlier.push_str(&self.vm.console());
        self.earlier.push_str(&format!(
            "=== mpath-lio: qemu pid {killed_pid} killed, booting again ===\n"
        ));
        let (vm, ports) = boot(
            &self.kernel,
            &self.initrd,
            self.dir.path(),
            Some(self.ports),
        )?;
        let ports_changed = ports != self.ports;
        self.vm = vm;
        self.ports = ports;
        let console = self.vm.console();
        let restored = console
            .lines()
            .find_map(|l| l.strip_prefix(RESTORED))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        Ok(Restarted {
            killed_pid,
            booted_pid: self.vm.pid().unwrap_or(0),
            ports_changed,
            state_kept: console.lines().any(|l| l.contains(STATE_KEPT)),
            restored,
            took: t0.elapsed(),
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
        self.kernel.release()
    }
    /// qemu's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.vm.pid()
    }
    /// The guest's console so far, earlier boots first.
    pub fn console(&self) -> String {
        format!("{}{}", self.earlier, self.vm.console())
    }
    /// The directory with the VM's files (initramfs, disk images, console
    /// log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// Stop the VM (kill qemu by the PID it started). Idempotent.
    pub fn shutdown(&mut self) -> Result<(), QemuError> {
        self.vm.stop()
    }
}

/// The image file of the backing disk, in the run directory.
const BACKING_IMAGE: &str = "blocks.img";
/// The image file of the state disk.
const STATE_IMAGE: &str = "state.img";

/// Start qemu on the run directory's initramfs and disks and wait for
/// [`READY`]: on `ports` if given, else (and after qemu exits at once,
/// which a forward's port taken in the meantime does) on fresh ones.
/// Anything else (a setup step, a timeout) would fail the same way again.
fn boot(
    kernel: &Kernel,
    initrd: &Path,
    dir: &Path,
    ports: Option<[u16; 2]>,
) -> Result<(Vm, [u16; 2]), QemuError> {
    let mut last = QemuError::NotRunning;
    let mut want = ports;
    for _ in 0..ATTEMPTS {
        let ports = match want.take() {
            Some(p) => p,
            None => [free_local_port()?, free_local_port()?],
        };
        let cfg = VmConfig::new(kernel, initrd, dir)
            .memory_mb(256)
            .forward(ports[0], GUEST_PORTS[0])
            .forward(ports[1], GUEST_PORTS[1])
            .disk(&dir.join(BACKING_IMAGE), BACKING_SERIAL)
            .disk(&dir.join(STATE_IMAGE), STATE_SERIAL);
        let mut vm = Vm::start(cfg)?;
        match vm.wait_for(READY, READY_TIMEOUT) {
            Ok(()) => return Ok((vm, ports)),
            Err(e @ QemuError::Exited { .. }) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
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
        for m in DEVICE_MODULES.iter().chain(&TARGET_MODULES) {
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
        assert!(at(READY) > at("tpgt_2/enable"));
    }

    #[test]
    fn the_aptpl_file_is_named_after_the_unit_serial() {
        assert_eq!(APTPL_FILE, format!("aptpl_{UNIT_SERIAL}"));
    }

    #[test]
    fn dbroot_is_mounted_before_the_target_core_loads_and_records_go_back_before_export() {
        let s = init_script(&["iqn.a:h"], Alua::On);
        let at = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        let mount = at("mount -t ext2 -o sync $STATE /etc/target");
        assert!(at("insmod /modules/virtio_blk.ko") < at("mount -t ext2 -o ro $STATE"));
        assert!(at("cp /mnt/state/pr/aptpl_mpath-lio-0001 /tmp/") < at("mke2fs -F $STATE"));
        assert!(at("mke2fs -F $STATE") < mount);
        assert!(mount < at("mkdir -p /etc/target/pr"));
        assert!(at("mkdir -p /etc/target/pr") < at("cp /tmp/aptpl_mpath-lio-0001 /etc/target/pr/"));
        assert!(at("mkdir -p /etc/target/pr") < at("insmod /modules/target_core_mod.ko"));
        let restore = at("put $B/pr/res_aptpl_metadata");
        assert!(at("put $B/enable 1") < restore);
        assert!(at("vpd_unit_serial") < restore);
        assert!(restore < at("tpgt_1/lun/lun_0/disk0 ||"));
        assert!(at("F=/etc/target/pr/aptpl_mpath-lio-0001") < restore);
        assert!(at("fd_dev_name=$DATA,") > at("DATA=$(disk mpath-lio-blocks)"));
    }

    #[test]
    fn alua_off_is_set_before_the_lun_is_exported() {
        let s = init_script(&["iqn.a:h"], Alua::Off);
        let off = s.find("alua_access_type 0").unwrap();
        assert!(off < s.find("tpgt_1/lun/lun_0 ||").unwrap());
    }
}
