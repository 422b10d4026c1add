#!/usr/bin/env bash
# RedisStore claim+complete throughput (50 tasks, one connection) against
# `redis-benchmark -c 50 -t set` on the same throwaway redis-server, in one run.
# Needs redis-server and redis-benchmark (Debian: `sudo apt-get install redis-server`).
set -euo pipefail
cd "$(dirname "$0")/../../.."
lscpu | grep 'Model name' || true
redis-server --version
cargo bench -p countersign-dedup --bench redis_throughput "$@"
