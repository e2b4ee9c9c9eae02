#!/usr/bin/env bash
# Every check mpath has, in one command. Installs what it needs on a fresh
# Debian machine with rustup (targets, components, the MSRV toolchain, Debian
# packages for the cross-checks, cargo-fuzz). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

MSRV=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
NO_STD_CRATES=(mpath-core mpath-scsi mpath-nvme mpath-ffi mpath-dm)
NO_STD_TARGETS=(x86_64-unknown-none thumbv7em-none-eabihf)
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
passed=0
failed=0
ok() { passed=$((passed + 1)); }

step "tools"
need_apt=()
command -v sg_decode_sense >/dev/null && command -v sg_vpd >/dev/null \
  && command -v sg_rtpg >/dev/null && command -v sg_persist >/dev/null \
  || need_apt+=(sg3-utils)
# mpath-scsi's sg3-utils cross-checks build an SG_IO shim (<scsi/sg.h>, dlsym).
[ -f /usr/include/scsi/sg.h ] || need_apt+=(libc6-dev)
[ -f /usr/include/nvme/types.h ] || need_apt+=(libnvme-dev)
command -v cc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
# memcheck for the C programs over mpath-ffi's ABI (mpath-ffi/c).
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v objdump >/dev/null && command -v c++filt >/dev/null \
  && command -v addr2line >/dev/null || need_apt+=(binutils)
command -v python3 >/dev/null || need_apt+=(python3)
command -v tgtd >/dev/null || need_apt+=(tgt)
[ -f /usr/include/iscsi/iscsi.h ] || need_apt+=(libiscsi-dev)
command -v pgrep >/dev/null || need_apt+=(procps)
# LIO (the kernel's SCSI target) in a qemu VM for mpath-iscsi/tests/lio_pr.rs;
# mpath-qemu fetches the kernel package itself (apt-get download, dpkg -x)
# into target/qemu-cache, which needs apt's package lists.
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
# Static: the initramfs has no libc.
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v depmod >/dev/null || need_apt+=(kmod)
command -v cpio >/dev/null || need_apt+=(cpio)
# The kernel module (mpath-qemu/tests/kmod.rs) builds with the compiler
# Debian's kernel headers name (CONFIG_CC_VERSION_TEXT: gcc-12 on bookworm)
# and make; the headers themselves are downloaded, not installed.
command -v gcc-12 >/dev/null || need_apt+=(gcc-12)
command -v make >/dev/null || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}"
elif ! apt-cache depends linux-image-cloud-amd64 2>/dev/null | grep -q 'Depends: linux-image-'; then
  apt-get update -qq
fi
# The Rust-for-Linux module test (its own step below): linux-source-6.12,
# clang/lld/llvm, libclang, flex, bison and friends from apt, bindgen-cli
# from crates.io, rust-src for the kernel's `core`. Installs only what is
# missing.
scripts/rfl-kernel.sh tools
# rust-src: the kernel module's staticlib rebuilds core with the kernel's
# flags (-Zbuild-std, on this toolchain with RUSTC_BOOTSTRAP=1).
rustup component add rustfmt clippy rust-src >/dev/null
rustup target add "${NO_STD_TARGETS[@]}" >/dev/null
rustup toolchain install "$MSRV" --profile minimal >/dev/null
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
ok

step "cargo fmt --check"
cargo fmt --all --check
ok

step "cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
ok

step "cargo test --workspace"
cargo test --workspace
ok

step "simulator: DST sweep, 1000 seeds each of safety and liveness (release)"
# docs/SIMULATOR.md: a failing seed prints the command that replays it.
cargo run -q --release -p mpath-sim --example sweep -- --mode safety --count 1000
cargo run -q --release -p mpath-sim --example sweep -- --mode liveness --count 1000
ok

step "loom model checks: selection against slot reuse, load publication (mpath-core/tests/loom_select.rs, loom_load.rs)"
# Its own target dir: --cfg loom rebuilds the core on loom's atomics.
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=3 \
  cargo test -p mpath-core --release --test loom_select --test loom_load
ok

step "the README's main job runs (mpath-sim compare delayed-path) and the failover example"
out=$(cargo run -q --release -p mpath-sim -- compare delayed-path --no-progress)
echo "$out"
for p in numa round-robin queue-depth queue-bytes service-time adaptive; do
  grep -q "^$p " <<<"$out" || { echo "compare printed no row for $p"; false; }
done
grep -q '^verdict: service-time does best here' <<<"$out" \
  || { echo "compare's verdict is not the README's"; false; }
out=$(cargo run -q -p mpath-core --example failover)
grep -q '^summary: ' <<<"$out" || { echo "failover example printed no summary"; false; }
ok

step "no_std builds: ${NO_STD_CRATES[*]} for ${NO_STD_TARGETS[*]}"
for t in "${NO_STD_TARGETS[@]}"; do
  for c in "${NO_STD_CRATES[@]}"; do
    cargo build --release -p "$c" --target "$t"
  done
done
ok

step "object-code gate: nothing panics, floats, uses 128-bit helpers or SSE from mpath-ffi's exports"
# scripts/objgate.py builds mpath-ffi as a staticlib for x86_64-unknown-none with
# kernel code-generation flags and walks the relocation graph of every object
# in it (core and compiler_builtins included) from each exported mpath_*
# function. An rlib's undefined symbols (the check this replaced) miss what
# generic code pulls in: it is compiled only where it is instantiated.
# First prove the gate sees each kind, from the gate-selftest exports, then
# gate the real build.
gate_start=$(date +%s)
if ! out=$(python3 scripts/objgate.py --features gate-selftest --expect panic,float,i128,sse 2>&1); then
  echo "$out"
  false
fi
tail -n 1 <<<"$out"
# A kernel thread has 16 KiB of stack: no reachable frame may take half.
python3 scripts/objgate.py --max-frame 8192
echo "object-code gate: $(( $(date +%s) - gate_start ))s"
ok

step "C header: mpath-ffi/include/mpath.h is what cbindgen makes of the sources"
bash scripts/ffi-header.sh --check
ok

step "C programs over the ABI: mpath-ffi/c's test and example daemon, static and shared, plain and under valgrind"
# test_device drives a device through the C ABI and checks every result
# and refusal; example_daemon is a multipathd-style poll loop that must
# end by itself with every I/O done. Both are built with gcc -std=c11
# -Wall -Wextra -Werror -pedantic against the staticlib and the cdylib, and
# run under memcheck with leaks counted as errors.
c_start=$(date +%s)
make -s -C mpath-ffi/c check valgrind
echo "C programs: $(( $(date +%s) - c_start ))s"
ok

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
ok

step "MSRV $MSRV: cargo check of the library crates"
msrv_dir=$(mktemp -d)
trap 'rm -rf "$msrv_dir"' EXIT
git ls-files -z | xargs -0 -I{} cp --parents {} "$msrv_dir"
(
  cd "$msrv_dir"
  members=$(printf '"%s", ' "${NO_STD_CRATES[@]}")
  sed -i "s/^members = .*/members = [${members%, }]/" Cargo.toml
  # Resolve dependency versions that still support the MSRV.
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update -q
  for c in "${NO_STD_CRATES[@]}"; do
    CARGO_TARGET_DIR="$OLDPWD/target/msrv" cargo "+$MSRV" check -q -p "$c" --lib
  done
)
ok

step "kernel module (route A): mpath_selftest.ko in Debian's stock kernel under qemu; the gate on the staticlib it links"
# mpath-qemu/tests/kmod.rs (not part of `cargo test --workspace`): fetches the
# linux-headers packages of the kernel mpath-qemu boots, builds mpath-ffi for
# the kernel (flags from its .config) into target/kmod, links it into the C
# module kernel/kmod/, runs scripts/objgate.py --archive on that staticlib,
# boots the kernel in qemu TCG, loads the module (its init runs the
# self-test), unloads it, and fails on a FAIL line, an oops or warning, or a
# taint other than O and E. See docs/KERNEL.md.
kmod_start=$(date +%s)
cargo test -p mpath-qemu --test kmod -- --nocapture
echo "kernel module: $(( $(date +%s) - kmod_start ))s"
ok

step "fuzz targets, ${FUZZ_SECONDS}s each"
if [ -f fuzz/Cargo.toml ] && grep -q '^\[\[bin\]\]' fuzz/Cargo.toml; then
  targets=$(sed -n 's/^name *= *"\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^mpath-fuzz$')
  for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    work=$(mktemp -d)
    cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
    (cd fuzz && cargo +nightly fuzz run "$t" "$work" -- \
      -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 2>&1 | tail -n 3)
    rm -rf "$work"
  done
  ok
else
  echo "no fuzz targets yet"
fi

step "Rust-for-Linux module: mpath-core in a 6.12 kernel under qemu (mpath-qemu/tests/rfl_module.rs)"
# scripts/rfl-kernel.sh builds a tinyconfig+Rust kernel from Debian's
# linux-source-6.12 and kernel/rfl's module with mpath-core compiled against the
# kernel's own core; the test boots it under TCG, loads the module (its
# self-test runs at init), unloads it, and checks the log and taint flags.
# Not part of the workspace run above (test = false): the kernel build.
# The kernel build (4-5 min cold on two idle cores) is kept beside the cargo
# registry, not in the clone: rebuilt only when its inputs change.
export RFL_DIR=${RFL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mpath/rfl}
rfl_start=$(date +%s)
cargo test -p mpath-qemu --test rfl_module
echo "rfl module step: $(( $(date +%s) - rfl_start ))s"
ok

echo
echo "checks: $passed passed, $failed failed"
echo "total time $(( $(date +%s) - start ))s"
