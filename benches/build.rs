//! Compiles the C reference (`c/reference.c`, the kernel's per-I/O
//! multipath work) that the benches time beside `mpath-core`. `-O2`, as
//! the kernel builds, whatever the Cargo profile's opt-level.

fn main() {
    println!("cargo:rerun-if-changed=c/reference.c");
    println!("cargo:rerun-if-changed=c/reference.h");
    cc::Build::new()
        .file("c/reference.c")
        .std("c11")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("mpath_reference");
}
