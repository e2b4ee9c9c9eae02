#!/usr/bin/env python3
"""Print the README tables from criterion's saved estimates.

Usage: python3 benches/scripts/table.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion). Figures are
criterion's median estimate, in ns per iteration.
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
PATHS = [1, 2, 4, 8, 16, 32, 64]


def est(group, bench):
    p = os.path.join(root, group, str(bench), "new", "estimates.json")
    try:
        with open(p) as f:
            return json.load(f)["median"]["point_estimate"]
    except OSError:
        return None


def fmt(v):
    return "-" if v is None else f"{v:.1f}"


def row(label, group):
    vals = [est(group, n) for n in PATHS]
    print(f"| {label} | " + " | ".join(fmt(v) for v in vals) + " |")
    return vals


print("| ns per submit+complete | " + " | ".join(map(str, PATHS)) + " |")
print("|---" * (len(PATHS) + 1) + "|")
sel = {}
for p in ["round-robin", "queue-depth", "queue-bytes", "service-time", "adaptive", "numa"]:
    sel[p] = row(p, f"select_complete_{p}")
for p in ["queue-depth", "queue-bytes"]:
    sel[p + " (loaded)"] = row(p + " (every path busy)", f"select_complete_loaded_{p}")
print()
print("| floor, ns | " + " | ".join(map(str, PATHS)) + " |")
print("|---" * (len(PATHS) + 1) + "|")
flo = {}
for p in ["round-robin", "queue-depth", "service-time", "adaptive"]:
    flo[p] = row(p, f"floor_{p}")
print(f"\nbare fetch_add+fetch_sub pair: {fmt(est('floor_inc_dec', 'pair'))} ns")
print("\n| at 8 paths | measured | floor | ratio |")
print("|---|---|---|---|")
i8 = PATHS.index(8)
for p, f in [("round-robin", "round-robin"), ("queue-depth", "queue-depth"),
             ("queue-depth (loaded)", "queue-depth"), ("queue-bytes", "service-time"),
             ("service-time", "service-time"), ("adaptive", "adaptive"),
             ("numa", "round-robin")]:
    m, fl = sel[p][i8], flo[f][i8]
    r = "-" if None in (m, fl) else f"{m / fl:.2f}x"
    print(f"| {p} | {fmt(m)} | {fmt(fl)} ({f}) | {r} |")
print("\n| 8 paths, ns per I/O per thread | 1 thread | 2 threads | aggregate scaling |")
print("|---|---|---|---|")
for p in ["round-robin", "queue-depth", "service-time", "adaptive"]:
    a, b = est(f"threads_8_paths_{p}", 1), est(f"threads_8_paths_{p}", 2)
    s = "-" if None in (a, b) else f"{2 * a / b:.2f}x"
    print(f"| {p} | {fmt(a)} | {fmt(b)} | {s} |")
print("\n| fetch_add+fetch_sub, ns per pair per thread | |")
print("|---|---|")
for b in ["1_thread", "2_threads_separate_lines", "2_threads_128_bytes_apart", "2_threads_same_line",
          "2_threads_same_counter"]:
    print(f"| {b} | {fmt(est('sharing_inc_dec', b))} |")
a, b = est("sharing_control_rr_floor", 1), est("sharing_control_rr_floor", 2)
s = "-" if None in (a, b) else f"{2 * a / b:.2f}x"
print(f"\ncontrol (round-robin floor, no shared writes): 1 thread {fmt(a)} ns, "
      f"2 threads {fmt(b)} ns per thread, scaling {s}")

# Ours against the C reference of the kernel's per-I/O work, same run.
print("\n| selector, 8 paths | ours, 1 thread, ns | reference, 1 thread, ns | ours / reference "
      "| ours, 2 threads, total M I/O/s | reference, 2 threads, total M I/O/s "
      "| ours 2-thread scaling | reference 2-thread scaling |")
print("|---|---|---|---|---|---|---|---|")


def mios(t2):
    return "-" if t2 is None else f"{2000 / t2:.0f}"


def scal(a, b):
    return "-" if None in (a, b) else f"{2 * a / b:.2f}x"


for p in ["round-robin", "queue-depth", "service-time", "adaptive"]:
    o, r = est(f"select_complete_{p}", 8), est(f"reference_{p}", 8)
    ratio = "-" if None in (o, r) else f"{o / r:.2f}x"
    o1, o2 = est(f"threads_8_paths_{p}", 1), est(f"threads_8_paths_{p}", 2)
    r1, r2 = est(f"reference_threads_8_paths_{p}", 1), est(f"reference_threads_8_paths_{p}", 2)
    print(f"| {p} | {fmt(o)} | {fmt(r)} | {ratio} | {mios(o2)} | {mios(r2)} "
          f"| {scal(o1, o2)} | {scal(r1, r2)} |")
o, r = est("select_complete_loaded_queue-depth", 8), est("reference_loaded_queue-depth", 8)
ratio = "-" if None in (o, r) else f"{o / r:.2f}x"
print(f"| queue-depth, every path busy | {fmt(o)} | {fmt(r)} | {ratio} | | | | |")

print("\n| reference, ns per I/O | " + " | ".join(map(str, PATHS)) + " |")
print("|---" * (len(PATHS) + 1) + "|")
for p in ["round-robin", "queue-depth", "service-time"]:
    row(p, f"reference_{p}")
row("queue-depth (every path busy)", "reference_loaded_queue-depth")
print("\n| 8 paths, ns per I/O per thread | ours 1 | ours 2 | reference 1 | reference 2 |")
print("|---|---|---|---|---|")
for p in ["round-robin", "queue-depth", "service-time", "adaptive"]:
    v = [est(f"threads_8_paths_{p}", 1), est(f"threads_8_paths_{p}", 2),
         est(f"reference_threads_8_paths_{p}", 1), est(f"reference_threads_8_paths_{p}", 2)]
    print(f"| {p} | " + " | ".join(fmt(x) for x in v) + " |")

# Issue 14's goals, same run. Queue-bytes and adaptive have no kernel
# counterpart; NVMe's queue-depth (the nearest) stands in as their
# reference for the two-thread goal.
print("\n| 8 paths | ours, 1 thread, ns | reference, 1 thread, ns | ours / reference "
      "| ours, 1 thread, fixed policy, ns | ours 2-thread scaling | ours, 2 threads, total M I/O/s "
      "| reference, 2 threads, total M I/O/s | ours / reference, 2 threads |")
print("|---|---|---|---|---|---|---|---|---|")
REF = {"round-robin": "round-robin", "queue-depth": "queue-depth", "queue-bytes": "queue-depth",
       "service-time": "service-time", "adaptive": "queue-depth"}
for p in ["round-robin", "queue-depth", "queue-bytes", "service-time", "adaptive"]:
    ref = REF[p]
    o, r = est(f"select_complete_{p}", 8), est(f"reference_{ref}", 8)
    fx = est(f"select_complete_fixed_{p}", 8)
    o1, o2 = est(f"threads_8_paths_{p}", 1), est(f"threads_8_paths_{p}", 2)
    r2 = est(f"reference_threads_8_paths_{ref}", 2)
    ratio = "-" if None in (o, r) else f"{o / r:.2f}x"
    both = "-" if None in (o2, r2) else f"{r2 / o2:.2f}x"
    label = p if ref == p else f"{p} (reference: {ref})"
    print(f"| {label} | {fmt(o)} | {fmt(r)} | {ratio} | {fmt(fx)} | {scal(o1, o2)} "
          f"| {mios(o2)} | {mios(r2)} | {both} |")
a, b = est("sharing_control_rr_floor", 1), est("sharing_control_rr_floor", 2)
print(f"| control: round-robin floor, no shared writes | | | | | {scal(a, b)} | | | |")

print("\n| 8 paths, each thread 8 I/Os deep, ns per I/O per thread | 1 thread | 2 threads "
      "| scaling |")
print("|---|---|---|---|")
for p in ["queue-depth", "queue-bytes", "service-time", "adaptive"]:
    a, b = est(f"threads_deep_8_paths_{p}", 1), est(f"threads_deep_8_paths_{p}", 2)
    print(f"| {p} | {fmt(a)} | {fmt(b)} | {scal(a, b)} |")

print("\n| ns per I/O | 1 path | 8 | 64 |")
print("|---|---|---|---|")
for p in ["round-robin", "queue-depth", "queue-bytes", "service-time", "adaptive", "numa"]:
    v = [est(f"select_complete_{p}", n) for n in (1, 8, 64)]
    f = [est(f"select_complete_fixed_{p}", n) for n in (1, 8, 64)]
    print(f"| {p} | " + " | ".join(fmt(x) for x in v) + " |")
    print(f"| {p}, fixed policy | " + " | ".join(fmt(x) for x in f) + " |")
v = [est("select_only_round-robin", n) for n in (1, 8, 64)]
print("| round-robin, select only | " + " | ".join(fmt(x) for x in v) + " |")
v = [est("floor_round-robin", n) for n in (1, 8, 64)]
print("| round-robin floor | " + " | ".join(fmt(x) for x in v) + " |")
