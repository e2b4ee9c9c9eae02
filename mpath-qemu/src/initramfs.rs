//! A busybox initramfs: busybox-static with its applets, the modules the
//! caller names, files the caller adds, and the caller's init script.
//!
//! The kernel runs `/init`, which this crate writes: it installs busybox's
//! applets in `/bin`, mounts proc, sysfs and devtmpfs, runs the caller's
//! script with `sh` (so an `exit` there ends the script, not PID 1), and
//! powers the VM off when the script returns. A script that serves (a
//! target) ends in a loop that never returns. Modules are copied to
//! [`MODULE_DIR`] as `<name>.ko` with the name as given; the script loads
//! them with `insmod` in the order it needs.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tool::{tail, BUSYBOX, CPIO};
use crate::{Kernel, QemuError};

/// Where the modules are in the guest.
pub const MODULE_DIR: &str = "/modules";
/// Where the caller's script is in the guest.
pub const SCRIPT: &str = "/etc/init.sh";

const INIT: &str = "#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /run
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
sh /etc/init.sh
echo \"mpath-qemu: init script exited with $?\"
poweroff -f
";

/// What goes into the initramfs; [`Initramfs::build`] writes it.
#[derive(Clone, Debug)]
pub struct Initramfs<'k> {
    kernel: &'k Kernel,
    modules: Vec<String>,
    files: Vec<(PathBuf, String)>,
    script: String,
}

impl<'k> Initramfs<'k> {
    /// An initramfs for `kernel`, with no modules and an empty script.
    pub fn new(kernel: &'k Kernel) -> Self {
        Initramfs {
            kernel,
            modules: Vec::new(),
            files: Vec::new(),
            script: String::new(),
        }
    }

    /// Copy these modules of the kernel in ([`MODULE_DIR`]`/<name>.ko`).
    pub fn modules(mut self, names: &[&str]) -> Self {
        self.modules.extend(names.iter().map(|n| (*n).to_owned()));
        self
    }

    /// Copy the host file `from` to `to` (an absolute guest path).
    pub fn file(mut self, from: &Path, to: &str) -> Self {
        self.files.push((from.to_path_buf(), to.to_owned()));
        self
    }

    /// The script `/init` runs (busybox `sh`).
    pub fn init_script(mut self, script: &str) -> Self {
        self.script = script.to_owned();
        self
    }

    /// Write the archive (newc cpio, uncompressed) to `out`; `out`.
    pub fn build(&self, out: &Path) -> Result<PathBuf, QemuError> {
        let busybox = static_busybox()?;
        let cpio = CPIO.find()?;
        let stage = out.with_extension("d");
        // A stale staging tree from an interrupted build would leak into
        // the archive; it may not exist.
        let _ = fs::remove_dir_all(&stage);
        let result = self
            .stage(&stage, &busybox)
            .and_then(|()| pack(&cpio, &stage, out));
        // Best-effort cleanup: the archive is what is kept.
        let _ = fs::remove_dir_all(&stage);
        result.map(|()| out.to_path_buf())
    }

    fn stage(&self, stage: &Path, busybox: &Path) -> Result<(), QemuError> {
        for d in ["bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "modules"] {
            mkdir(&stage.join(d))?;
        }
        copy(busybox, &stage.join("bin/busybox"))?;
        for m in &self.modules {
            let from = self.kernel.module(m)?;
            copy(from, &stage.join(format!("modules/{m}.ko")))?;
        }
        for (from, to) in &self.files {
            let dest = stage.join(to.trim_start_matches('/'));
            if let Some(parent) = dest.parent() {
                mkdir(parent)?;
            }
            copy(from, &dest)?;
        }
        write_exec(&stage.join("init"), INIT)?;
        write_exec(&stage.join("etc/init.sh"), &self.script)
    }
}

/// busybox, if it is the static build: the initramfs has no libc, and a
/// dynamic busybox (Debian's `busybox`) would leave `/init` unable to run.
fn static_busybox() -> Result<PathBuf, QemuError> {
    let path = BUSYBOX.find()?;
    let bytes = fs::read(&path).map_err(|e| QemuError::io("read", &path, &e))?;
    if has_interpreter(&bytes) {
        return Err(QemuError::MissingTool {
            tool: "busybox (statically linked)",
            package: BUSYBOX.package,
        });
    }
    Ok(path)
}

/// Whether an ELF64 little-endian file names a program interpreter
/// (a `PT_INTERP` program header): a dynamically linked program.
/// Anything that is not such an ELF file counts as dynamic.
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    // ELF magic, 64-bit class, little-endian.
    if elf.get(0..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return true;
    }
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return true;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return true;
    };
    (0..usize::from(count)).any(|k| {
        let at = phoff.saturating_add(k.saturating_mul(usize::from(size)));
        u32_at(at).map_or(true, |t| t == PT_INTERP)
    })
}

fn mkdir(p: &Path) -> Result<(), QemuError> {
    fs::create_dir_all(p).map_err(|e| QemuError::io("create", p, &e))
}

fn copy(from: &Path, to: &Path) -> Result<(), QemuError> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| QemuError::io("copy to", to, &e))
}

fn write_exec(p: &Path, text: &str) -> Result<(), QemuError> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::write(p, text).map_err(|e| QemuError::io("write", p, &e))?;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755))
        .map_err(|e| QemuError::io("chmod", p, &e))
}

/// Every path under `dir`, relative, parents before children.
fn list(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), QemuError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| QemuError::io("list", dir, &e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let Some(name) = p.file_name() else { continue };
        let r = rel.join(name);
        out.push(r.clone());
        if p.is_dir() {
            list(&p, &r, out)?;
        }
    }
    Ok(())
}

/// `cpio -o -H newc -R 0:0` over the staged tree, run in it.
fn pack(cpio: &Path, stage: &Path, out: &Path) -> Result<(), QemuError> {
    let mut names = Vec::new();
    list(stage, Path::new(""), &mut names)?;
    let file = fs::File::create(out).map_err(|e| QemuError::io("create", out, &e))?;
    let failed = |detail: String| QemuError::Command {
        command: String::from("cpio -o -H newc -R 0:0"),
        detail,
    };
    let mut child = Command::new(cpio)
        .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let list: String = names.iter().map(|n| format!("{}\n", n.display())).collect();
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(list.as_bytes())
            .map_err(|e| failed(format!("writing the file list: {e}")))?;
    }
    let done = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if done.status.success() {
        Ok(())
    } else {
        Err(failed(format!(
            "{}: {}",
            done.status,
            tail(&done.stderr, 6)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header with one program header of type `ptype`.
    fn elf(ptype: u32) -> Vec<u8> {
        let mut b = vec![0u8; 0x40 + 0x38];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        b[0x40..0x44].copy_from_slice(&ptype.to_le_bytes());
        b
    }

    #[test]
    fn a_program_interpreter_means_dynamic() {
        assert!(has_interpreter(&elf(3)));
        assert!(!has_interpreter(&elf(1)));
        assert!(has_interpreter(b"#!/bin/sh"));
        let mut cut = elf(1);
        cut.truncate(0x42);
        assert!(has_interpreter(&cut));
    }
}
