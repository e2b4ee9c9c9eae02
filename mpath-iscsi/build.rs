//! Link libiscsi. A missing library is named here, before the linker's
//! "cannot find -liscsi" hides what to install.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-lib=iscsi");
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    let found = dirs
        .iter()
        .any(|d| Path::new(d).join("libiscsi.so").exists());
    if !found {
        println!(
            "cargo:warning=libiscsi.so not found: install libiscsi-dev (apt-get install -y libiscsi-dev)"
        );
    }
}
