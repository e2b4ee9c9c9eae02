#!/usr/bin/env bash
# Regenerate mpath-ffi/include/mpath.h with cbindgen (config:
# mpath-ffi/cbindgen.toml). `--check` leaves the committed header alone and
# fails if it is not what the sources give (CI runs that).
#
# The code tables are declared by a macro, so cbindgen expands the crate
# (`rustc -Zunpretty=expanded`): that needs the nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
header=mpath-ffi/include/mpath.h
command -v cbindgen >/dev/null || cargo install --locked cbindgen
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Its own target dir: the expansion build must not disturb the main one.
RUSTUP_TOOLCHAIN=nightly CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/cbindgen" \
  cbindgen -q --config mpath-ffi/cbindgen.toml --crate mpath-ffi --output "$out" mpath-ffi \
  2> >(grep -v '^WARN: Skip' >&2)
if [ "${1:-}" = --check ]; then
  if ! diff -u "$header" "$out"; then
    echo "$header is not what mpath-ffi's sources give: run bash scripts/ffi-header.sh" >&2
    exit 1
  fi
  echo "$header is current"
else
  cp "$out" "$header"
  echo "wrote $header"
fi
