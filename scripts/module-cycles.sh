#!/usr/bin/env bash
# Fails when the top-level modules of a crate import each other in a cycle.
#
# Usage: scripts/module-cycles.sh crates/countersign-core/src
#
# An edge A -> B is any `crate::B` path in A's code (A's file, or the files of its folder),
# doc comments and `#[cfg(test)]` sections excluded. `tsort` (coreutils) reports any loop.
# (cargo-modules' `--acyclic` cannot be used for this: it also counts a type and its own
# methods as a cycle, e.g. `MacKey` <-> `MacKey::fmt`, so it fails on every crate.)
set -euo pipefail
src=${1:?usage: $0 CRATE_SRC_DIR}
modules=$(cd "$src" && { ls -1 *.rs | sed 's/\.rs$//'; find . -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; } | grep -vx 'lib\|main' | sort -u)
edges=$(
    for m in $modules; do
        files=$( { [ -f "$src/$m.rs" ] && echo "$src/$m.rs"; [ -d "$src/$m" ] && find "$src/$m" -name '*.rs'; } || true)
        for f in $files; do
            awk '/^#\[cfg\(test\)\]/{exit} !/^[[:space:]]*\/\//{print}' "$f"
        done | grep -oE 'crate::[a-z_][a-z0-9_]*' | sed 's/^crate:://' | sort -u |
            while read -r target; do
                if [ "$target" != "$m" ] && grep -qx "$target" <<<"$modules"; then
                    echo "$m $target"
                fi
            done
    done
)
if ! printf '%s\n' "$edges" | tsort >/dev/null; then
    echo "module-cycles: the modules of $src import each other in a cycle (see the loop above)" >&2
    exit 1
fi
echo "module-cycles: $(printf '%s\n' "$edges" | grep -c .) imports between the modules of $src, no cycle"
