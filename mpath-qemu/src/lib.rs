//! # mpath-qemu
//!
//! A Linux kernel in a throw-away virtual machine, for tests that need the
//! real kernel (LIO, the kernel's SCSI target; a kernel module of ours):
//!
//! - [`kernel`]: Debian's cloud kernel (`linux-image-<release>-unsigned`,
//!   the release apt offers), fetched with `apt-get download`, unpacked
//!   with `dpkg -x` into a cache under the workspace's `target/` and
//!   reused from there ([`Kernel`]).
//! - [`headers`]: the matching `linux-headers` packages, unpacked beside
//!   the kernel, to build out-of-tree modules against ([`Headers`]).
//! - [`kmod`]: `mpath_selftest.ko`, mpath-ffi's staticlib built with the
//!   kernel's code-generation flags and linked into the C self-test module
//!   of `kernel/kmod/` ([`kmod::build`]).
//! - [`initramfs`]: a busybox initramfs with chosen modules and files and
//!   an init script the caller writes ([`Initramfs`]).
//! - [`vm`]: `qemu-system-x86_64 -accel tcg` booting it, serial console to
//!   a log file, user networking with host port forwards, raw disk images
//!   as virtio block devices found by serial (state that outlives one VM);
//!   waiting for a marker line; stopped by the PID it started, on drop too
//!   ([`Vm`]).
//!
//! Every tool it runs is named in its errors with the Debian package that
//! provides it ([`QemuError::MissingTool`]): a missing tool fails, never
//! skips. Waits are bounded polls.
//!
//! ```no_run
//! use std::time::Duration;
//! use mpath_qemu::{Initramfs, Kernel, Vm, VmConfig};
//!
//! let kernel = Kernel::debian_cloud(&mpath_qemu::cache_dir())?;
//! let dir = mpath_qemu::RunDir::new("demo")?;
//! let initrd = Initramfs::new(&kernel)
//!     .modules(&["configfs"])
//!     .init_script("insmod /modules/configfs.ko\necho HELLO\n")
//!     .build(&dir.path().join("initrd.cpio"))?;
//! let mut vm = Vm::start(VmConfig::new(&kernel, &initrd, dir.path()))?;
//! vm.wait_for("HELLO", Duration::from_secs(60))?;
//! vm.stop()?;
//! # Ok::<(), mpath_qemu::QemuError>(())
//! ```
#![deny(missing_docs)]

mod error;
pub mod headers;
pub mod initramfs;
pub mod kernel;
pub mod kmod;
mod tool;
pub mod vm;

pub use error::QemuError;
pub use headers::Headers;
pub use initramfs::Initramfs;
pub use kernel::{cache_dir, Kernel};
pub use vm::{free_local_port, Disk, PortForward, RunDir, Vm, VmConfig};
