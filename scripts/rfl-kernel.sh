#!/usr/bin/env bash
# Route B of issue 13: a small Linux 6.12 with CONFIG_RUST=y, built from
# Debian's linux-source-6.12, and our Rust-for-Linux module
# (kernel/rfl/mpath_rfl.ko) that links mpath-core as a crate.
#
#   scripts/rfl-kernel.sh tools   install what the build needs (apt
#                                 packages, bindgen-cli, rust-src)
#   scripts/rfl-kernel.sh [build] check the tools, build the kernel (only when
#                                 its inputs changed) and the module, and
#                                 print RFL_ROOT=... and RFL_RELEASE=...
#
# Everything it builds lives under $RFL_DIR, by default
# ${CARGO_TARGET_DIR:-target}/rfl, never in the repository:
#   linux-source-6.12/  the extracted source (left untouched: O= build)
#   build/              the kernel's object tree (O=), config included
#   module/             a copy of kernel/rfl (Kbuild writes beside sources)
#   cargo/              mpath-core and its dependencies built for the kernel
#   root/               boot/vmlinuz-<release> and
#                       lib/modules/<release>/extra/mpath_rfl.ko, the layout
#                       mpath_qemu::Kernel::open reads
#   logs/               the make output of the last build
#
# How the crate meets the kernel (the part that is easy to get wrong): the
# kernel builds its own `core` (rust/core.o, rust/libcore.rmeta) from the
# toolchain's rust-src with its own flags and target spec
# (build/scripts/target.json), and a module's Rust is compiled with
# `--sysroot=/dev/null -L build/rust`, so that `core` is the only one it can
# see. mpath-core must be compiled against that same `core`, or the module
# cannot name its types (a second `core`, as `-Zbuild-std` would make, is a
# different crate to rustc). kernel/rfl/Kbuild therefore asks kernel/rfl/
# build-crates.sh for mpath_deps.o with the module's own Rust flags: it runs
# `cargo build -p mpath-core` for the kernel's target.json with those flags,
# `--sysroot=/dev/null -L build/rust` and RUSTC_BOOTSTRAP=1 (the kernel's
# flags are -Z flags), and links the objects of the rlibs it produced into
# one relocatable object that becomes part of the .ko. The module's own
# source gets `--extern mpath_core=<that rlib>`. thiserror's derive is a
# proc-macro: cargo builds it for the host with the host's std, as always.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
SERIES=6.12
SRC_PKG=linux-source-$SERIES
FRAGMENT=$repo/kernel/rfl/rfl.config
MODULE_SRC=$repo/kernel/rfl
MODULE=mpath_rfl
JOBS=${RFL_JOBS:-2}
# The kernel, its `core` and our crates must all come from one rustc; pin it
# for every rustc and cargo this script starts (through rustup's proxies).
export RUSTUP_TOOLCHAIN=${RFL_TOOLCHAIN:-stable}
# What an enclosing cargo (this runs under `cargo test`) or a developer's
# shell may have set would leak into the kernel's rustc or the crate build;
# build-crates.sh sets what it needs itself. CARGO_TARGET_DIR is read first.
target_dir=${CARGO_TARGET_DIR:-$repo/target}
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS \
  RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER RUSTC CARGO_TARGET_DIR CARGO_MAKEFLAGS \
  MAKEFLAGS MFLAGS
# bindgen-cli, the version this was tried with (6.12 wants >= 0.65.1).
BINDGEN_VERSION=0.73.2
APT_PACKAGES=(make flex bison bc libelf-dev libssl-dev libclang-dev clang lld llvm libc6-dev xz-utils
  binutils "$SRC_PKG")

case $target_dir in /*) ;; *) target_dir=$repo/$target_dir ;; esac
OUT=${RFL_DIR:-$target_dir/rfl}
SRC=$OUT/$SRC_PKG
B=$OUT/build
LOGS=$OUT/logs
KMAKE=(make -C "$SRC" O="$B" ARCH=x86_64 LLVM=1)

say() { printf 'rfl-kernel: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ----- tools -----

missing_tools() {
  local m=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || m+=("$p")
  done
  command -v bindgen >/dev/null || m+=("bindgen (cargo install --locked bindgen-cli)")
  command -v rustup >/dev/null || m+=("rustup")
  if command -v rustup >/dev/null \
    && ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    m+=("rust-src (rustup component add rust-src --toolchain $RUSTUP_TOOLCHAIN)")
  fi
  printf '%s\n' "${m[@]}"
}

install_tools() {
  local need=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
  fi
  command -v bindgen >/dev/null \
    || cargo install --locked bindgen-cli --version "$BINDGEN_VERSION"
  rustup component add rust-src --toolchain "$RUSTUP_TOOLCHAIN" >/dev/null
}

check_tools() {
  local m
  m=$(missing_tools)
  [ -z "$m" ] || die "missing: $(tr '\n' ';' <<<"$m" | sed 's/;$//; s/;/; /g'). Run scripts/rfl-kernel.sh tools"
}

# ----- kernel -----

# Everything the kernel image depends on, hashed: a change to any of them
# reconfigures and rebuilds (make itself then rebuilds only what changed).
kernel_inputs() {
  dpkg-query -W -f='${Package} ${Version}\n' "$SRC_PKG"
  cat "$FRAGMENT"
  sed -n '/^# ----- kernel -----$/,/^# ----- module -----$/p' "$0"
  rustc -vV
  bindgen --version
  clang --version | head -n 1
}

extract_source() {
  local version stamp=$SRC/.mpath-extracted
  version=$(dpkg-query -W -f='${Version}' "$SRC_PKG")
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && return
  say "extracting $SRC_PKG $version"
  rm -rf "$SRC" "$OUT/.extract"
  mkdir -p "$OUT/.extract"
  tar -xf "/usr/src/$SRC_PKG.tar.xz" -C "$OUT/.extract"
  mv "$OUT/.extract/$SRC_PKG" "$SRC"
  rmdir "$OUT/.extract"
  echo "$version" >"$stamp"
  # A new source invalidates the object tree.
  rm -rf "$B"
}

# Every CONFIG_ line of the fragment must hold in the final .config:
# olddefconfig silently drops what a dependency refuses (CONFIG_RUST when
# the toolchain is not usable, say).
check_config() {
  local bad=0 line name
  while IFS= read -r line; do
    case $line in
      CONFIG_*=*) grep -qxF "$line" "$B/.config" || { say "config: $line did not hold"; bad=1; } ;;
      "# CONFIG_"*" is not set")
        name=${line#\# }
        name=${name%% *}
        ! grep -q "^$name=" "$B/.config" || { say "config: $line did not hold"; bad=1; } ;;
    esac
  done <"$FRAGMENT"
  [ $bad -eq 0 ] || die "the config fragment $FRAGMENT did not apply (see above)"
}

build_kernel() {
  local sum
  extract_source
  mkdir -p "$B" "$LOGS"
  sum=$(kernel_inputs | sha256sum | cut -d' ' -f1)
  if [ -f "$B/.mpath-inputs" ] && [ "$(cat "$B/.mpath-inputs")" = "$sum" ] \
    && [ -f "$B/arch/x86/boot/bzImage" ] && [ -f "$B/Module.symvers" ]; then
    say "kernel up to date ($(cat "$B/include/config/kernel.release"))"
    return
  fi
  rm -f "$B/.mpath-inputs"
  say "configuring (tinyconfig + $(basename "$FRAGMENT"))"
  {
    "${KMAKE[@]}" rustavailable
    "${KMAKE[@]}" tinyconfig
    "$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAGMENT"
    "${KMAKE[@]}" olddefconfig
  } >"$LOGS/config.log" 2>&1 || { tail -n 30 "$LOGS/config.log" >&2; die "configuring failed: $LOGS/config.log"; }
  check_config
  say "building bzImage and modules (make -j$JOBS LLVM=1; log: $LOGS/kernel.log)"
  local t0=$SECONDS
  "${KMAKE[@]}" -j"$JOBS" bzImage modules >"$LOGS/kernel.log" 2>&1 \
    || { tail -n 40 "$LOGS/kernel.log" >&2; die "kernel build failed: $LOGS/kernel.log"; }
  say "kernel built in $((SECONDS - t0)) s"
  echo "$sum" >"$B/.mpath-inputs"
}

# ----- module -----

# Copy kernel/rfl into the module tree, file by file and only where it
# differs, keeping mtimes: Kbuild writes its objects beside the sources,
# and an untouched copy is not rebuilt.
sync_module_sources() {
  local f
  mkdir -p "$OUT/module"
  for f in "$MODULE_SRC"/*; do
    [ -f "$f" ] || continue
    cmp -s "$f" "$OUT/module/$(basename "$f")" || cp -p "$f" "$OUT/module/"
  done
}

build_module() {
  sync_module_sources
  say "building $MODULE.ko (log: $LOGS/module.log)"
  "${KMAKE[@]}" -j"$JOBS" M="$OUT/module" \
    MPATH_REPO="$repo" MPATH_CARGO_DIR="$OUT/cargo" modules >"$LOGS/module.log" 2>&1 \
    || { tail -n 40 "$LOGS/module.log" >&2; die "module build failed: $LOGS/module.log"; }
  [ -f "$OUT/module/$MODULE.ko" ] || die "no $MODULE.ko after the build"
}

# The layout mpath_qemu::Kernel::open reads: boot/vmlinuz-<release> and
# lib/modules/<release>/**.ko. Copied only when changed.
lay_out() {
  local rel
  rel=$(cat "$B/include/config/kernel.release")
  mkdir -p "$OUT/root/boot" "$OUT/root/lib/modules/$rel/extra"
  cmp -s "$B/arch/x86/boot/bzImage" "$OUT/root/boot/vmlinuz-$rel" \
    || cp "$B/arch/x86/boot/bzImage" "$OUT/root/boot/vmlinuz-$rel"
  cmp -s "$OUT/module/$MODULE.ko" "$OUT/root/lib/modules/$rel/extra/$MODULE.ko" \
    || cp "$OUT/module/$MODULE.ko" "$OUT/root/lib/modules/$rel/extra/$MODULE.ko"
  echo "RFL_ROOT=$OUT/root"
  echo "RFL_RELEASE=$rel"
}

main() {
  case ${1:-build} in
    tools) install_tools ;;
    build)
      check_tools
      mkdir -p "$OUT"
      # One build at a time per output tree (two test binaries, two shells).
      exec 9>"$OUT/.lock"
      flock 9
      build_kernel
      build_module
      lay_out
      ;;
    *) die "usage: $0 [tools|build]" ;;
  esac
}

main "$@"
