//! Debian's cloud kernel, fetched once and kept unpacked.
//!
//! The cloud flavour (`linux-image-<release>-cloud-amd64-unsigned`) boots
//! in qemu with virtio and carries LIO's modules, uncompressed (its `.deb`
//! has no `modules.dep`; modules are loaded by path with busybox `insmod`,
//! in an order the caller knows). The release is the one apt offers now:
//! what the metapackage `linux-image-cloud-amd64` depends on.
//!
//! The cache is `target/qemu-cache/` of the workspace (not of
//! `CARGO_TARGET_DIR`: a kernel is the same for every build of the
//! workspace). Parallel fetches do not collide: each downloads and
//! unpacks into its own directory and renames it into place; the first
//! rename wins and the others use its result.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::tool::{APT_CACHE, APT_GET, DPKG};
use crate::QemuError;

/// The metapackage whose dependency names the current cloud kernel.
const META: &str = "linux-image-cloud-amd64";

/// The kernel cache of this workspace: `target/qemu-cache/` beside the
/// workspace's `Cargo.toml`.
pub fn cache_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or(manifest)
        .join("target")
        .join("qemu-cache")
}

/// One fetch at a time in this process; other processes are kept apart by
/// the rename (module notes).
static FETCH: Mutex<()> = Mutex::new(());
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// An unpacked kernel package: the image to boot and its modules.
#[derive(Clone, Debug)]
pub struct Kernel {
    release: String,
    root: PathBuf,
    modules: HashMap<String, PathBuf>,
}

impl Kernel {
    /// The cloud kernel apt offers, unpacked under `cache` (fetched the
    /// first time). Without apt's package lists, a kernel already in the
    /// cache is used (the newest one unpacked).
    pub fn debian_cloud(cache: &Path) -> Result<Self, QemuError> {
        // A poisoned lock only means another fetch panicked; the cache is
        // still consistent (renames are atomic).
        let _one = FETCH.lock().unwrap_or_else(|e| e.into_inner());
        fs::create_dir_all(cache).map_err(|e| QemuError::io("create", cache, &e))?;
        let release = match offered_release() {
            Ok(r) => r,
            Err(e) => match newest_cached(cache) {
                Some(r) => r,
                None => return Err(e),
            },
        };
        let root = cache.join(package(&release));
        if !root.join(image(&release)).is_file() {
            fetch(cache, &release, &root)?;
        }
        Self::open(&root, &release)
    }

    /// A kernel package already unpacked at `root` (the `dpkg -x` tree),
    /// of `release` (like `6.1.0-57-cloud-amd64`).
    pub fn open(root: &Path, release: &str) -> Result<Self, QemuError> {
        let bad = |what: String| QemuError::BadKernelPackage {
            root: root.to_path_buf(),
            what,
        };
        if !root.join(image(release)).is_file() {
            return Err(bad(image(release)));
        }
        let dir = ["lib/modules", "usr/lib/modules"]
            .iter()
            .map(|d| root.join(d).join(release))
            .find(|d| d.is_dir())
            .ok_or_else(|| bad(format!("lib/modules/{release}")))?;
        let mut modules = HashMap::new();
        index_modules(&dir, &mut modules)?;
        if modules.is_empty() {
            return Err(bad(format!("*.ko under {}", dir.display())));
        }
        Ok(Kernel {
            release: release.to_owned(),
            root: root.to_path_buf(),
            modules,
        })
    }

    /// The kernel release, `uname -r` in the guest.
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The image to boot (`-kernel`).
    pub fn image(&self) -> PathBuf {
        self.root.join(image(&self.release))
    }

    /// The configuration the image was built with (`boot/config-<release>`
    /// in Debian's package).
    pub fn config_file(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("config-{}", self.release))
    }

    /// The `.ko` file of module `name` (`-` and `_` are the same, as for
    /// modprobe).
    pub fn module(&self, name: &str) -> Result<&Path, QemuError> {
        self.modules
            .get(&normalise(name))
            .map(PathBuf::as_path)
            .ok_or_else(|| QemuError::ModuleNotFound {
                module: name.to_owned(),
                release: self.release.clone(),
            })
    }
}

fn package(release: &str) -> String {
    format!("linux-image-{release}-unsigned")
}

fn image(release: &str) -> String {
    format!("boot/vmlinuz-{release}")
}

fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

/// The release `linux-image-cloud-amd64` depends on now.
fn offered_release() -> Result<String, QemuError> {
    let out = APT_CACHE
        .run(&["depends", META], None)
        .map_err(|e| QemuError::NoKernelOffered {
            detail: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .filter_map(|p| p.trim().strip_prefix("linux-image-"))
        .find(|r| r.ends_with("-cloud-amd64"))
        .map(str::to_owned)
        .ok_or_else(|| QemuError::NoKernelOffered {
            detail: format!("apt-cache depends {META}: no linux-image-*-cloud-amd64 in {text:?}"),
        })
}

/// The release of the most recently unpacked kernel in `cache`.
fn newest_cached(cache: &Path) -> Option<String> {
    let mut found: Vec<(std::time::SystemTime, String)> = fs::read_dir(cache)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let release = name
                .strip_prefix("linux-image-")?
                .strip_suffix("-unsigned")?
                .to_owned();
            e.path().join(image(&release)).is_file().then_some(())?;
            Some((e.metadata().ok()?.modified().ok()?, release))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, r)| r)
}

/// Download and unpack `release` into `root` by way of a private
/// directory.
fn fetch(cache: &Path, release: &str, root: &Path) -> Result<(), QemuError> {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let work = cache.join(format!(".fetch-{}-{seq}", std::process::id()));
    let result = fetch_into(&work, release, root);
    // Best-effort cleanup of our private directory (the .deb and, when
    // another process's rename won, our copy): nothing depends on it.
    let _ = fs::remove_dir_all(&work);
    result
}

fn fetch_into(work: &Path, release: &str, root: &Path) -> Result<(), QemuError> {
    fs::create_dir_all(work).map_err(|e| QemuError::io("create", work, &e))?;
    let pkg = package(release);
    APT_GET.run(&["download", "-q", &pkg], Some(work))?;
    let deb = fs::read_dir(work)
        .map_err(|e| QemuError::io("list", work, &e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| QemuError::Command {
            command: format!("apt-get download {pkg}"),
            detail: format!("no .deb in {}", work.display()),
        })?;
    let unpacked = work.join("root");
    let (deb_s, unpacked_s) = (deb.display().to_string(), unpacked.display().to_string());
    DPKG.run(&["-x", &deb_s, &unpacked_s], None)?;
    Kernel::open(&unpacked, release)?;
    if let Err(e) = fs::rename(&unpacked, root) {
        // Another process (or an earlier run) put it there first.
        if !root.join(image(release)).is_file() {
            return Err(QemuError::io("rename into", root, &e));
        }
    }
    Ok(())
}

fn index_modules(dir: &Path, out: &mut HashMap<String, PathBuf>) -> Result<(), QemuError> {
    for entry in fs::read_dir(dir).map_err(|e| QemuError::io("list", dir, &e))? {
        let path = entry.map_err(|e| QemuError::io("list", dir, &e))?.path();
        if path.is_dir() {
            index_modules(&path, out)?;
        } else if let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ko"))
        {
            out.insert(normalise(name), path.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_debian() {
        assert_eq!(
            package("6.1.0-57-cloud-amd64"),
            "linux-image-6.1.0-57-cloud-amd64-unsigned"
        );
        assert_eq!(
            image("6.1.0-57-cloud-amd64"),
            "boot/vmlinuz-6.1.0-57-cloud-amd64"
        );
        assert_eq!(normalise("virtio-net"), "virtio_net");
    }

    #[test]
    fn the_cache_is_the_workspace_target_dir() {
        let c = cache_dir();
        assert!(c.ends_with("target/qemu-cache"), "{}", c.display());
        assert!(c
            .parent()
            .and_then(Path::parent)
            .is_some_and(|w| w.join("Cargo.toml").is_file()));
    }
}
