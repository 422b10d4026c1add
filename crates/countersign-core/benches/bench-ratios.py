#!/usr/bin/env python3
"""Prints the ratios of `cargo bench -p countersign-core --bench verify` from criterion's
estimates (target/criterion/<group>/<function>/<size>/new/estimates.json), i.e. from the
last run, and checks them against the targets of the foundation issue.

Usage: python3 crates/countersign-core/benches/bench-ratios.py [TARGET_DIR]
"""

import json
import os
import sys

target = sys.argv[1] if len(sys.argv) > 1 else "target"
root = os.path.join(target, "criterion")


def mean_ns(group, function, size):
    path = os.path.join(root, group, function, size, "new", "estimates.json")
    with open(path) as f:
        est = json.load(f)
    return est["mean"]["point_estimate"], est["median"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1000:.3f} µs" if ns < 1e6 else f"{ns / 1e6:.3f} ms"


ok = True
print("GitHub verify vs raw HMAC-SHA256 (ratio = raw time / verify time)")
for size, goal in [("1KiB", 0.75), ("16KiB", 0.90), ("1MiB", 0.90)]:
    raw, raw_med = mean_ns("github_vs_raw_hmac", "raw_hmac_sha256", size)
    ver, ver_med = mean_ns("github_vs_raw_hmac", "countersign_verify", size)
    ratio = raw / ver
    ok &= ratio >= goal
    print(f"  {size:>6}: raw {fmt(raw)}  verify {fmt(ver)}  ratio {ratio:.3f} "
          f"(median-based {raw_med / ver_med:.3f})  goal >= {goal}  "
          f"{'ok' if ratio >= goal else 'MISSED'}")

print("Standard Webhooks: countersign vs the standardwebhooks crate (speed-up = theirs / ours)")
for size, goal in [("1KiB", 3.0), ("16KiB", None), ("1MiB", 4.0)]:
    ours, ours_med = mean_ns("standard_webhooks", "countersign", size)
    theirs, theirs_med = mean_ns("standard_webhooks", "standardwebhooks_crate", size)
    speedup = theirs / ours
    line = (f"  {size:>6}: countersign {fmt(ours)}  standardwebhooks {fmt(theirs)}  "
            f"speed-up {speedup:.2f}x (median-based {theirs_med / ours_med:.2f}x)")
    if goal is not None:
        ok &= speedup >= goal
        line += f"  goal >= {goal}x  {'ok' if speedup >= goal else 'MISSED'}"
    print(line)
for size in ["1KiB", "16KiB", "1MiB"]:
    floor, _ = mean_ns("standard_webhooks", "hmac_floor", size)
    ours, _ = mean_ns("standard_webhooks", "countersign", size)
    print(f"  {size:>6}: HMAC floor (pre-keyed state + finalize) {fmt(floor)}; "
          f"everything else in the verification {fmt(ours - floor)}")
ours_1k, _ = mean_ns("standard_webhooks", "countersign", "1KiB")
ok &= ours_1k <= 1500
print(f"  full Standard Webhooks verify at 1 KiB: {fmt(ours_1k)}  goal <= 1.5 µs  "
      f"{'ok' if ours_1k <= 1500 else 'MISSED'}")
sys.exit(0 if ok else 1)
