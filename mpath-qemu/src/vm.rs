//! One qemu process: a kernel and an initramfs under TCG, the serial
//! console in a log file, user networking with host port forwards, and
//! raw disk images on the host as virtio block devices ([`VmConfig::disk`]).
//!
//! KVM is not used: it fails on the machines this runs on (an emulation
//! failure), and TCG boots the cloud kernel to a shell in about 3 s.
//! User networking is `restrict=on`: the guest reaches nothing outside
//! qemu, and the host reaches the guest only through the forwards, bound
//! to 127.0.0.1. The guest is 10.0.2.15/24 (qemu's default; the init
//! script sets it, there is no DHCP client).
//!
//! [`Vm::stop`] kills exactly the process [`Vm::start`] spawned, by its
//! PID (`Child::kill`), and reaps it; `Drop` does the same. A VM holds no
//! state worth a clean shutdown: what must outlive it goes on a disk image,
//! and a kill is a power loss for it (what the guest wrote through to the
//! virtio disk is in the host file, what sat in the guest's page cache is
//! lost, as on real hardware).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::tool::{tail, QEMU};
use crate::{Kernel, QemuError};

/// Console lines an error quotes.
const TAIL_LINES: usize = 30;
/// How often the console is read while waiting.
const POLL: Duration = Duration::from_millis(25);

/// A TCP port on the host's 127.0.0.1 forwarded to a port of the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortForward {
    /// Host port (on 127.0.0.1).
    pub host: u16,
    /// Guest port (on 10.0.2.15).
    pub guest: u16,
}

/// A raw disk image on the host, seen by the guest as a virtio block
/// device (`/dev/vd*`) whose `/sys/block/vd*/serial` is `serial`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The image file (raw format; its size is the disk's).
    pub path: PathBuf,
    /// The serial the guest reads to find it: the `vd*` names follow PCI
    /// order, which a script should not rely on. At most 20 bytes (virtio
    /// block's serial field), no commas (qemu's option syntax).
    pub serial: String,
}

/// How to start a VM.
#[derive(Clone, Debug)]
pub struct VmConfig {
    image: PathBuf,
    initrd: PathBuf,
    dir: PathBuf,
    memory_mb: u32,
    forwards: Vec<PortForward>,
    disks: Vec<Disk>,
    append: String,
}

impl VmConfig {
    /// Boot `kernel` with `initrd`, 256 MiB, no network; the console log
    /// and qemu's stderr go to `dir`.
    pub fn new(kernel: &Kernel, initrd: &Path, dir: &Path) -> Self {
        VmConfig {
            image: kernel.image(),
            initrd: initrd.to_path_buf(),
            dir: dir.to_path_buf(),
            memory_mb: 256,
            forwards: Vec::new(),
            disks: Vec::new(),
            append: String::new(),
        }
    }

    /// Guest memory in MiB.
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    /// Forward 127.0.0.1:`host` to the guest's port `guest` (adds a
    /// virtio network card on qemu's user network).
    pub fn forward(mut self, host: u16, guest: u16) -> Self {
        self.forwards.push(PortForward { host, guest });
        self
    }

    /// Attach the raw image `path` (it must exist) as a virtio block
    /// device with serial `serial` (see [`Disk`]). The image is the host's
    /// file: a VM started again with the same image sees what the last one
    /// wrote, which is how a guest's state outlives [`Vm::stop`].
    pub fn disk(mut self, path: &Path, serial: &str) -> Self {
        self.disks.push(Disk {
            path: path.to_path_buf(),
            serial: serial.to_owned(),
        });
        self
    }

    /// More kernel command line.
    pub fn append(mut self, args: &str) -> Self {
        self.append = args.to_owned();
        self
    }

    /// The port forwards.
    pub fn forwards(&self) -> &[PortForward] {
        &self.forwards
    }

    /// The disks, in the order given.
    pub fn disks(&self) -> &[Disk] {
        &self.disks
    }

    fn args(&self, console: &Path) -> Vec<String> {
        let mut a: Vec<String> = [
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "1",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.extend([
            String::from("-m"),
            self.memory_mb.to_string(),
            String::from("-kernel"),
            self.image.display().to_string(),
            String::from("-initrd"),
            self.initrd.display().to_string(),
            String::from("-append"),
            format!("console=ttyS0 panic=-1 loglevel=4 {}", self.append)
                .trim_end()
                .to_owned(),
            String::from("-serial"),
            format!("file:{}", console.display()),
        ]);
        for (k, d) in self.disks.iter().enumerate() {
            // cache=writeback (qemu's default, said here): a completed
            // guest write is in the host's page cache, so it survives qemu
            // being killed; a flush from the guest reaches the file's disk.
            a.extend([
                String::from("-drive"),
                format!(
                    "file={},format=raw,if=none,id=disk{k},cache=writeback",
                    d.path.display()
                ),
                String::from("-device"),
                format!("virtio-blk-pci,drive=disk{k},serial={}", d.serial),
            ]);
        }
        if !self.forwards.is_empty() {
            let fwd: String = self
                .forwards
                .iter()
                .map(|f| format!(",hostfwd=tcp:127.0.0.1:{}-:{}", f.host, f.guest))
                .collect();
            a.extend([
                String::from("-netdev"),
                format!("user,id=n0,restrict=on{fwd}"),
                String::from("-device"),
                // No option ROM: nothing boots from the network, and the
                // ROM file is another package (ipxe-qemu).
                String::from("virtio-net-pci,netdev=n0,romfile="),
            ]);
        }
        a
    }
}

/// A running VM.
#[derive(Debug)]
pub struct Vm {
    child: Option<Child>,
    pid: u32,
    console: PathBuf,
    stderr: PathBuf,
}

impl Vm {
    /// Start qemu. It runs until [`Vm::stop`] or drop.
    pub fn start(cfg: VmConfig) -> Result<Self, QemuError> {
        let qemu = QEMU.find()?;
        fs::create_dir_all(&cfg.dir).map_err(|e| QemuError::io("create", &cfg.dir, &e))?;
        let console = cfg.dir.join("console.log");
        let stderr = cfg.dir.join("qemu.stderr");
        // qemu appends to an existing serial file: start empty so that a
        // marker from an earlier boot does not count.
        fs::write(&console, b"").map_err(|e| QemuError::io("create", &console, &e))?;
        let err_file =
            fs::File::create(&stderr).map_err(|e| QemuError::io("create", &stderr, &e))?;
        let child = Command::new(&qemu)
            .args(cfg.args(&console))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .map_err(|e| QemuError::Command {
                command: qemu.display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(Vm {
            pid: child.id(),
            child: Some(child),
            console,
            stderr,
        })
    }

    /// qemu's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|_| self.pid)
    }

    /// The console log file.
    pub fn console_log(&self) -> &Path {
        &self.console
    }

    /// Everything on the console so far.
    pub fn console(&self) -> String {
        fs::read(&self.console)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the console.
    pub fn console_tail(&self, lines: usize) -> String {
        tail(self.console().as_bytes(), lines)
    }

    /// Wait until a console line contains `marker`. Fails if qemu exits
    /// first or `timeout` passes, quoting the console's last lines.
    pub fn wait_for(&mut self, marker: &str, timeout: Duration) -> Result<(), QemuError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.console().lines().any(|l| l.contains(marker)) {
                return Ok(());
            }
            let child = self.child.as_mut().ok_or(QemuError::NotRunning)?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(QemuError::Exited {
                    pid: self.pid,
                    marker: marker.to_owned(),
                    status: status.to_string(),
                    stderr: fs::read(&self.stderr)
                        .map(|b| tail(&b, 6))
                        .unwrap_or_default(),
                    console_tail: self.console_tail(TAIL_LINES),
                });
            }
            if Instant::now() >= deadline {
                return Err(QemuError::Timeout {
                    pid: self.pid,
                    marker: marker.to_owned(),
                    secs: timeout.as_secs(),
                    console_tail: self.console_tail(TAIL_LINES),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// Kill the qemu this VM started (by its PID) and reap it.
    /// Idempotent.
    pub fn stop(&mut self) -> Result<(), QemuError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let reaped = match child.try_wait() {
            Ok(Some(_)) => Ok(()),
            _ => child.kill().and_then(|()| child.wait().map(drop)),
        };
        reaped.map_err(|e| QemuError::Command {
            command: format!("kill qemu {}", self.pid),
            detail: e.to_string(),
        })
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // Best-effort: `drop` cannot report; call `stop` to see errors.
        let _ = self.stop();
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1 (for a forward; a
/// race with another process ends as qemu failing to start, which a
/// caller retries).
pub fn free_local_port() -> Result<u16, QemuError> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| QemuError::io("bind", "127.0.0.1:0", &e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| QemuError::io("local address of", "127.0.0.1:0", &e))
}

static RUN_SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A private directory for one VM's files (initramfs, console log),
/// removed on drop.
#[derive(Debug)]
pub struct RunDir(PathBuf);

impl RunDir {
    /// A fresh directory in the system's temporary directory, named after
    /// `tag`, this process and a sequence number.
    pub fn new(tag: &str) -> Result<Self, QemuError> {
        let seq = RUN_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("mpath-qemu-{tag}-{}-{seq}", std::process::id()));
        // Left over from an earlier process with the same PID; it may not
        // exist.
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).map_err(|e| QemuError::io("create", &p, &e))?;
        Ok(RunDir(p))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // Best-effort cleanup of our own temporary files.
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_become_one_restricted_user_netdev() {
        let cfg = VmConfig {
            image: PathBuf::from("/k"),
            initrd: PathBuf::from("/i"),
            dir: PathBuf::from("/d"),
            memory_mb: 128,
            forwards: Vec::new(),
            disks: Vec::new(),
            append: String::new(),
        };
        assert!(!cfg.args(Path::new("/c")).iter().any(|a| a == "-netdev"));
        let cfg = cfg.forward(4000, 3260).forward(4001, 3261);
        let a = cfg.args(Path::new("/c"));
        let i = a.iter().position(|x| x == "-netdev").unwrap();
        assert_eq!(
            a[i + 1],
            "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:4000-:3260,hostfwd=tcp:127.0.0.1:4001-:3261"
        );
        assert!(a.windows(2).any(|w| w[0] == "-accel" && w[1] == "tcg"));
        assert!(a.windows(2).any(|w| w[0] == "-serial" && w[1] == "file:/c"));
        assert!(!a.iter().any(|x| x == "-drive"));
    }

    #[test]
    fn each_disk_is_a_raw_virtio_block_device_with_its_serial() {
        let cfg = VmConfig {
            image: PathBuf::from("/k"),
            initrd: PathBuf::from("/i"),
            dir: PathBuf::from("/d"),
            memory_mb: 128,
            forwards: Vec::new(),
            disks: Vec::new(),
            append: String::new(),
        }
        .disk(Path::new("/d/a.img"), "data")
        .disk(Path::new("/d/b.img"), "state");
        let a = cfg.args(Path::new("/c"));
        let pairs: Vec<(&str, &str)> = a
            .windows(2)
            .filter(|w| w[0] == "-drive" || w[0] == "-device")
            .map(|w| (w[0].as_str(), w[1].as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                (
                    "-drive",
                    "file=/d/a.img,format=raw,if=none,id=disk0,cache=writeback"
                ),
                ("-device", "virtio-blk-pci,drive=disk0,serial=data"),
                (
                    "-drive",
                    "file=/d/b.img,format=raw,if=none,id=disk1,cache=writeback"
                ),
                ("-device", "virtio-blk-pci,drive=disk1,serial=state"),
            ]
        );
    }
}
