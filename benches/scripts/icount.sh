#!/usr/bin/env bash
# Instructions per submit+complete (and per floor iteration) at PATHS paths,
# measured with callgrind as the difference between two run lengths.
# `ref-*` rows are the C reference of the kernel's per-I/O work (select +
# start + end; see benches/README.md).
# Usage: benches/scripts/icount.sh [PATHS]   (needs valgrind)
set -euo pipefail
paths=${1:-8}
cd "$(dirname "$0")/../.."
cargo build -q -p mpath-benches --profile bench --example icount
bin="${CARGO_TARGET_DIR:-target}/release/examples/icount"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$paths" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| %s | instructions per iteration |\n|---|---|\n' "at $paths paths"
for p in round-robin queue-depth queue-bytes service-time adaptive numa \
  fixed-round-robin fixed-queue-depth fixed-queue-bytes fixed-service-time fixed-adaptive fixed-numa \
  deep-queue-depth deep-queue-bytes deep-service-time deep-adaptive select-round-robin \
  floor-round-robin floor-queue-depth floor-service-time floor-adaptive \
  ref-round-robin ref-queue-depth ref-service-time; do
  a=$(count "$p" 100000)
  b=$(count "$p" 200000)
  echo "| $p | $(( (b - a) / 100000 )) |"
done
