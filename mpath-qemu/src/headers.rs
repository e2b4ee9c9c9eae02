//! The kernel headers that go with a [`Kernel`]: Debian's
//! `linux-headers-<release>` package, its `-common` package and
//! `linux-kbuild-<version>`, at the very version of the kernel image,
//! downloaded with `apt-get download` and unpacked with `dpkg -x` into the
//! cache beside the kernel (nothing is installed into the system). Out-of-tree
//! modules build against [`Headers::build_dir`] with `make -C <it> M=<dir>`.
//!
//! The arch package's `Makefile` includes the `-common` package's by its
//! installed path (`/usr/src/linux-headers-<abi>-common/Makefile`); that one
//! line is pointed at the unpacked copy. Everything else (the `scripts` and
//! `tools` symlinks into `linux-kbuild`) is relative and works where it is.
//!
//! [`Headers::debian`] checks that every setting in the kernel image's
//! `boot/config-<release>` is in the headers' `.config`: a module built
//! against other headers could load (same release string) and still be
//! wrong.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::tool::{APT_CACHE, APT_GET, DPKG};
use crate::{Kernel, QemuError};

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Unpacked kernel headers for one release.
#[derive(Clone, Debug)]
pub struct Headers {
    release: String,
    build: PathBuf,
    config: String,
}

impl Headers {
    /// The headers for `kernel`, unpacked under `cache` (fetched the first
    /// time, at the version apt offers for the kernel's image package).
    pub fn debian(kernel: &Kernel, cache: &Path) -> Result<Self, QemuError> {
        let release = kernel.release();
        let root = cache.join(format!("linux-headers-{release}"));
        if !build_dir(&root, release).join(".config").is_file() {
            fetch(cache, release, &root)?;
        }
        let headers = Self::open(&root, release)?;
        let image_config = kernel.config_file();
        let theirs = fs::read_to_string(&image_config)
            .map_err(|e| QemuError::io("read", &image_config, &e))?;
        if let Some(line) = differs(&theirs, &headers.config) {
            return Err(QemuError::BadKernelPackage {
                root,
                what: format!(
                    "{line:?} in its .config, which {} has (the headers are of another build)",
                    image_config.display()
                ),
            });
        }
        Ok(headers)
    }

    /// Headers already unpacked at `root` (the `dpkg -x` tree).
    pub fn open(root: &Path, release: &str) -> Result<Self, QemuError> {
        let build = build_dir(root, release);
        let path = build.join(".config");
        let config = fs::read_to_string(&path).map_err(|_| QemuError::BadKernelPackage {
            root: root.to_path_buf(),
            what: format!("{}", path.display()),
        })?;
        Ok(Headers {
            release: release.to_owned(),
            build,
            config,
        })
    }

    /// The kernel release (`uname -r`).
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The directory `make -C` takes to build an out-of-tree module.
    pub fn build_dir(&self) -> &Path {
        &self.build
    }

    /// The kernel's `Module.symvers`: every symbol a module may use.
    pub fn module_symvers(&self) -> PathBuf {
        self.build.join("Module.symvers")
    }

    /// The value of `CONFIG_<name>` in the kernel's configuration (`y`,
    /// `m`, a number, or a string with its quotes removed), or `None` when
    /// it is not set.
    pub fn config(&self, name: &str) -> Option<&str> {
        config_value(&self.config, name)
    }

    /// Whether `CONFIG_<name>=y`.
    pub fn enabled(&self, name: &str) -> bool {
        self.config(name) == Some("y")
    }
}

/// The first setting of the image's configuration the headers' does not
/// have. Not a byte comparison: Debian's headers add the settings of the
/// build itself (`CONFIG_BUILD_SALT`, the module signing key), which the
/// image's copy leaves out.
fn differs<'c>(image: &'c str, headers: &str) -> Option<&'c str> {
    let theirs: std::collections::HashSet<&str> = headers.lines().collect();
    image
        .lines()
        .filter(|l| l.starts_with("CONFIG_") || l.starts_with("# CONFIG_"))
        .find(|l| !theirs.contains(l))
}

fn config_value<'c>(config: &'c str, name: &str) -> Option<&'c str> {
    let key = format!("CONFIG_{name}=");
    config
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map(|v| v.trim_matches('"'))
}

fn build_dir(root: &Path, release: &str) -> PathBuf {
    root.join("usr/src")
        .join(format!("linux-headers-{release}"))
}

/// `Version:` and `Depends:` of the candidate `package` (or of
/// `package=version`).
fn show(package: &str) -> Result<(String, String), QemuError> {
    let out = APT_CACHE.run(&["show", "--no-all-versions", package], None)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let version = field("Version:").ok_or_else(|| QemuError::Command {
        command: format!("apt-cache show {package}"),
        detail: String::from("no Version field"),
    })?;
    Ok((version, field("Depends:").unwrap_or_default()))
}

/// The packages to fetch: the arch headers, and what they depend on by the
/// names Debian gives the shared parts (`linux-headers-<abi>-common`,
/// `linux-kbuild-<major.minor>`), each at the image's version.
fn packages(release: &str) -> Result<Vec<String>, QemuError> {
    let (version, _) = show(&format!("linux-image-{release}-unsigned"))?;
    let arch = format!("linux-headers-{release}");
    let (_, depends) = show(&format!("{arch}={version}"))?;
    let mut all = vec![format!("{arch}={version}")];
    for dep in depends.split(',').map(str::trim) {
        let name = dep.split_whitespace().next().unwrap_or_default();
        if name.starts_with("linux-headers-") || name.starts_with("linux-kbuild-") {
            all.push(format!("{name}={version}"));
        }
    }
    if all.len() != 3 {
        return Err(QemuError::Command {
            command: format!("apt-cache show {arch}={version}"),
            detail: format!("expected a -common and a linux-kbuild dependency in {depends:?}"),
        });
    }
    Ok(all)
}

/// Download and unpack the headers of `release` into `root` by way of a
/// private directory (as the kernel is: the first rename wins).
fn fetch(cache: &Path, release: &str, root: &Path) -> Result<(), QemuError> {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let work = cache.join(format!(".fetch-headers-{}-{seq}", std::process::id()));
    let result = fetch_into(&work, release, root);
    // Best-effort cleanup of our private directory: nothing depends on it.
    let _ = fs::remove_dir_all(&work);
    result
}

fn fetch_into(work: &Path, release: &str, root: &Path) -> Result<(), QemuError> {
    fs::create_dir_all(work).map_err(|e| QemuError::io("create", work, &e))?;
    let packages = packages(release)?;
    let mut args = vec!["download", "-q"];
    args.extend(packages.iter().map(String::as_str));
    APT_GET.run(&args, Some(work))?;
    let unpacked = work.join("root");
    let unpacked_s = unpacked.display().to_string();
    for entry in fs::read_dir(work).map_err(|e| QemuError::io("list", work, &e))? {
        let deb = entry.map_err(|e| QemuError::io("list", work, &e))?.path();
        if deb.extension().is_some_and(|x| x == "deb") {
            DPKG.run(&["-x", &deb.display().to_string(), &unpacked_s], None)?;
        }
    }
    // The include names where the tree will be once renamed into place.
    let makefile = build_dir(&unpacked, release).join("Makefile");
    let text = fs::read_to_string(&makefile).map_err(|e| QemuError::io("read", &makefile, &e))?;
    let installed = "include /usr/src/";
    if !text.contains(installed) {
        return Err(QemuError::BadKernelPackage {
            root: unpacked,
            what: format!("{installed:?} in {}", makefile.display()),
        });
    }
    let fixed = text.replace(installed, &format!("include {}/usr/src/", root.display()));
    fs::write(&makefile, fixed).map_err(|e| QemuError::io("write", &makefile, &e))?;
    Headers::open(&unpacked, release)?;
    if let Err(e) = fs::rename(&unpacked, root) {
        // Another process (or an earlier run) put it there first.
        if !build_dir(root, release).join(".config").is_file() {
            return Err(QemuError::io("rename into", root, &e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_lose_their_quotes_and_unset_is_none() {
        let c = "CONFIG_RETPOLINE=y\n# CONFIG_X86_KERNEL_IBT is not set\n\
                 CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n\
                 CONFIG_FUNCTION_PADDING_BYTES=16\n";
        assert_eq!(config_value(c, "RETPOLINE"), Some("y"));
        assert_eq!(config_value(c, "X86_KERNEL_IBT"), None);
        assert_eq!(config_value(c, "RETHUNK"), None);
        assert_eq!(
            config_value(c, "CC_VERSION_TEXT"),
            Some("gcc-12 (Debian 12.2.0-14) 12.2.0")
        );
        assert_eq!(config_value(c, "FUNCTION_PADDING_BYTES"), Some("16"));
        // A name that is a prefix of another is not confused with it.
        assert_eq!(config_value(c, "RETPOLIN"), None);
    }

    #[test]
    fn the_headers_may_add_build_settings_but_not_change_the_images() {
        let image = "#\n# comment\nCONFIG_A=y\n# CONFIG_B is not set\n";
        let headers = "CONFIG_BUILD_SALT=\"x\"\nCONFIG_A=y\n# CONFIG_B is not set\n";
        assert_eq!(differs(image, headers), None);
        assert_eq!(
            differs(image, "CONFIG_A=y\nCONFIG_B=y\n"),
            Some("# CONFIG_B is not set")
        );
        assert_eq!(differs(image, "CONFIG_A=m\n"), Some("CONFIG_A=y"));
    }
}
