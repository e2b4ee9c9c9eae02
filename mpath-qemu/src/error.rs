//! What went wrong, in words that say what to do about it.

use std::path::PathBuf;

/// Why fetching the kernel, building the initramfs or running the VM
/// failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QemuError {
    /// A program this crate runs is not installed.
    #[error("{tool} not found: install Debian package {package} (apt-get install -y {package})")]
    MissingTool {
        /// The program.
        tool: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A program named at run time (the kernel's compiler, from its
    /// configuration) is not installed.
    #[error("{program} not found: {why}; install Debian package {package} (apt-get install -y {package})")]
    MissingProgram {
        /// The program.
        program: String,
        /// Why it is needed.
        why: &'static str,
        /// The Debian package that provides it.
        package: String,
    },
    /// A program ran and failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line, shortened.
        command: String,
        /// Exit status and the end of its stderr.
        detail: String,
    },
    /// apt does not offer a cloud kernel image.
    #[error("cannot tell which cloud kernel apt offers: {detail} (run apt-get update)")]
    NoKernelOffered {
        /// What apt-cache said.
        detail: String,
    },
    /// The unpacked kernel package lacks something it should have.
    #[error("kernel package unpacked at {} has no {what}", root.display())]
    BadKernelPackage {
        /// Where it was unpacked.
        root: PathBuf,
        /// What is missing.
        what: String,
    },
    /// A module the caller asked for is not in the kernel package.
    #[error("module {module} not found under lib/modules/{release}")]
    ModuleNotFound {
        /// Module name as asked.
        module: String,
        /// Kernel release.
        release: String,
    },
    /// A build step produced something a kernel module cannot use.
    #[error("{step}: {detail}")]
    Build {
        /// The step.
        step: &'static str,
        /// What is wrong, in detail.
        detail: String,
    },
    /// A file-system operation failed.
    #[error("{what} {}: {error}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// qemu exited before the marker appeared (a port forward that could
    /// not bind, a kernel panic with `-no-reboot`).
    #[error("qemu (pid {pid}) exited while waiting for {marker:?}: {status}\nqemu stderr: {stderr}\nconsole tail:\n{console_tail}")]
    Exited {
        /// qemu's PID.
        pid: u32,
        /// The marker waited for.
        marker: String,
        /// Its exit status.
        status: String,
        /// The end of qemu's stderr.
        stderr: String,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// The marker did not appear on the console in time.
    #[error("no {marker:?} on the console of qemu (pid {pid}) within {secs} s\nconsole tail:\n{console_tail}")]
    Timeout {
        /// qemu's PID.
        pid: u32,
        /// The marker waited for.
        marker: String,
        /// The time allowed.
        secs: u64,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// The VM is not running (stopped already, or never started).
    #[error("the VM is not running")]
    NotRunning,
}

impl QemuError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        QemuError::Io {
            what,
            path: path.into(),
            error: e.to_string(),
        }
    }
}
