#!/usr/bin/env bash
# Runs every test of the workspace, after bringing up what the tests need.
#
# The Redis and Redis Cluster suites spawn their own throwaway `redis-server` processes on
# free ports (or use REDIS_URL / REDIS_CLUSTER_URLS when set), so redis-server and redis-cli
# must be installed. They are installed from Debian's packages when missing. The suites never
# skip: without Redis the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
have_curl() { command -v curl >/dev/null 2>&1; }

# Debian packages the tests need: redis-server (+ redis-cli) and curl (the quickstart test
# runs the example's printed curl commands exactly as a user would).
missing=()
have_redis || missing+=(redis-server)
have_curl || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts/test.sh: installing missing Debian packages: ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2 || true
fi
if ! have_curl; then
    echo "scripts/test.sh: FATAL: curl is required (sudo apt-get install curl)" >&2
    exit 1
fi
if ! have_redis; then
    cat >&2 <<'MSG'
scripts/test.sh: FATAL: redis-server and redis-cli are required (the dedup suites run against
real Redis, single node and a 3-master cluster) and could not be installed automatically.
Install them with:   sudo apt-get install redis-server      (Debian/Ubuntu)
               or:   brew install redis                      (macOS)
MSG
    exit 1
fi

cargo test --workspace --all-features --locked "$@"
