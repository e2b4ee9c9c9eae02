//! The programs this crate runs, and the Debian packages they come from.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::QemuError;

/// A program and its Debian package.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    pub(crate) package: &'static str,
}

pub(crate) const QEMU: Tool = Tool {
    name: "qemu-system-x86_64",
    package: "qemu-system-x86",
};
pub(crate) const BUSYBOX: Tool = Tool {
    name: "busybox",
    package: "busybox-static",
};
pub(crate) const CPIO: Tool = Tool {
    name: "cpio",
    package: "cpio",
};
pub(crate) const APT_GET: Tool = Tool {
    name: "apt-get",
    package: "apt",
};
pub(crate) const APT_CACHE: Tool = Tool {
    name: "apt-cache",
    package: "apt",
};
pub(crate) const DPKG: Tool = Tool {
    name: "dpkg",
    package: "dpkg",
};
pub(crate) const MAKE: Tool = Tool {
    name: "make",
    package: "make",
};
pub(crate) const LD: Tool = Tool {
    name: "ld",
    package: "binutils",
};
pub(crate) const AR: Tool = Tool {
    name: "ar",
    package: "binutils",
};
pub(crate) const OBJCOPY: Tool = Tool {
    name: "objcopy",
    package: "binutils",
};
pub(crate) const OBJDUMP: Tool = Tool {
    name: "objdump",
    package: "binutils",
};
pub(crate) const READELF: Tool = Tool {
    name: "readelf",
    package: "binutils",
};

impl Tool {
    /// The program's path, from `PATH` or the sbin directories (root's
    /// tools are not always on a test's `PATH`).
    pub(crate) fn find(self) -> Result<PathBuf, QemuError> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
        dirs.into_iter()
            .map(|d| d.join(self.name))
            .find(|p| p.is_file())
            .ok_or(QemuError::MissingTool {
                tool: self.name,
                package: self.package,
            })
    }

    /// Run it with `args` (in `dir` if given) and return its output when
    /// it exits 0.
    pub(crate) fn run(
        self,
        args: &[&str],
        dir: Option<&std::path::Path>,
    ) -> Result<Output, QemuError> {
        let path = self.find()?;
        let mut c = Command::new(&path);
        c.args(args).stdin(Stdio::null());
        if let Some(d) = dir {
            c.current_dir(d);
        }
        let line = format!("{} {}", self.name, args.join(" "));
        let out = c.output().map_err(|e| QemuError::Command {
            command: line.clone(),
            detail: e.to_string(),
        })?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(QemuError::Command {
                command: line,
                detail: format!("{}: {}", out.status, tail(&out.stderr, 6)),
            })
        }
    }
}

/// The last `lines` lines of `bytes`, as text.
pub(crate) fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
