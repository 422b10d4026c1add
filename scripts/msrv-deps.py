#!/usr/bin/env python3
"""Fails when a package in the build declares a newer rust-version than the workspace's.

    cargo metadata --format-version 1 --locked --all-features | python3 scripts/msrv-deps.py 1.88
"""

import json
import sys


def version(text: str) -> tuple[int, ...]:
    parts = [int(x) for x in text.split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def main() -> int:
    msrv = version(sys.argv[1])
    bad = []
    for package in json.load(sys.stdin)["packages"]:
        needed = package.get("rust_version")
        if needed and version(needed) > msrv:
            bad.append(f"{package['name']} {package['version']} needs Rust {needed}")
    if bad:
        print(f"MSRV {sys.argv[1]}: " + "; ".join(bad), file=sys.stderr)
        return 1
    print(f"MSRV {sys.argv[1]}: no dependency declares a newer rust-version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
