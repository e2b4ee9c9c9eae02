#!/usr/bin/env bash
# Build mpath-core and its dependencies against the running kernel build's
# own `core`, and link their code into one relocatable object for the
# module. Called by Kbuild (kernel/rfl/Kbuild) as
#
#   build-crates.sh OUT.o KERNEL_OBJTREE REPO CARGO_DIR <the module's rust flags>
#
# with AR, LD and LDFLAGS set to the kernel's.
#
# Why this way: a module's Rust sees exactly one `core`, the kernel's
# (rust/libcore.rmeta, code in vmlinux), because Kbuild compiles it with
# `--sysroot=/dev/null -L <objtree>/rust`. A crate it uses must have been
# compiled against that same `core` (rustc matches crates by their hash, so
# a `core` built by `-Zbuild-std` would be a different crate, and its code
# would be a second copy). So cargo builds mpath-core for the kernel's
# target spec with the kernel's flags plus that sysroot and search path,
# and RUSTC_BOOTSTRAP=1 because the kernel's flags include -Z options (and
# cargo wants -Zjson-target-spec for a target given as a JSON file). The
# rlibs it produces carry the metadata the module's `--extern` reads and
# the objects linked here into OUT.o.
set -euo pipefail

out=$1 objtree=$2 repo=$3 cargo_dir=$4
shift 4

target=
flags=()
for f in "$@"; do
  case $f in
    # Given to cargo as --target, which then applies the flags to the
    # target's crates only (build scripts and thiserror's derive stay host
    # programs).
    --target=*)
      target=${f#--target=}
      [[ $target = /* ]] || target=$objtree/$target
      ;;
    # Each crate's edition is its own (cargo passes it).
    --edition=*) ;;
    # The kernel's CONFIG_* cfgs: nothing in our crates reads them.
    @*) ;;
    # Lint levels (the kernel's and clippy's): they change no code, and
    # would hold the crates to the kernel's lint set.
    -W* | -A* | -D*) ;;
    *) flags+=("$f") ;;
  esac
done
[ -n "$target" ] || { echo "build-crates.sh: no --target= among the kernel's rust flags" >&2; exit 1; }
flags+=(--sysroot=/dev/null -L "$objtree/rust" -Zunstable-options)

mkdir -p "$cargo_dir"
json=$cargo_dir/build.json
rustflags=$(IFS=$'\x1f'; echo "${flags[*]}")
# Nothing from an enclosing cargo or shell: these flags are the whole story.
env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u CARGO_BUILD_TARGET -u RUSTC_WRAPPER \
  -u RUSTC_WORKSPACE_WRAPPER -u CARGO_TARGET_DIR \
  RUSTC_BOOTSTRAP=1 CARGO_ENCODED_RUSTFLAGS="$rustflags" \
  cargo build -q -Zjson-target-spec --locked --release --lib -p mpath-core \
  --manifest-path "$repo/Cargo.toml" --target "$target" --target-dir "$cargo_dir" \
  --message-format=json-render-diagnostics >"$json"

# The rlibs of this build for the kernel's target (not stale ones left in
# deps/ by earlier builds, and not the host rlibs thiserror's derive is
# made of): cargo's artifact messages name them, and target artifacts live
# under a directory named after the target spec's file stem.
target_out=$cargo_dir/$(basename "$target" .json)/
mapfile -t rlibs < <(grep '"reason":"compiler-artifact"' "$json" \
  | grep -o '"filenames":\[[^]]*\]' | grep -o '"[^"]*\.rlib"' | tr -d '"' \
  | grep -F "$target_out" | sort -u)
[ ${#rlibs[@]} -gt 0 ] || { echo "build-crates.sh: cargo reported no rlib" >&2; exit 1; }

work=$(mktemp -d "$cargo_dir/objs.XXXXXX")
trap 'rm -rf "$work"' EXIT
objs=()
for r in "${rlibs[@]}"; do
  d=$work/$(basename "$r" .rlib)
  mkdir -p "$d"
  # An rlib is an archive of the crate's object files and its metadata
  # (lib.rmeta); only the objects are code.
  mapfile -t members < <($AR t "$r" | grep '\.o$' || true)
  [ ${#members[@]} -gt 0 ] || continue
  (cd "$d" && $AR x "$r" "${members[@]}")
  for m in "${members[@]}"; do objs+=("$d/$m"); done
done
# shellcheck disable=SC2086 # LDFLAGS is a list of flags
$LD $LDFLAGS -r -o "$work/deps.o" "${objs[@]}"
cmp -s "$work/deps.o" "$out" || mv "$work/deps.o" "$out"
