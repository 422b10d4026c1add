#!/usr/bin/env bash
# Load test of queued delivery on Redis (`countersign proxy --inbox redis://…`) against the
# synchronous proxy with the Redis dedup store (`--redis`), both on one throwaway
# `redis-server` (free port, `appendonly yes`, `appendfsync APPENDFSYNC`, default everysec)
# and each in front of its own counting upstream.
#
# Throughput, accepted AND delivered: wrk sends 1 KiB Standard Webhooks deliveries, every one
# a distinct event, for DURATION. Direct events/s = wrk's requests/s (each answer means
# delivered). Queued events/s = events done / (wrk's time + the time until the queue has
# drained). Rounds alternate; every queued round uses its own prefix and is checked after
# draining: no non-2xx answer, every stored event delivered, none delivered twice. Redis's
# `INFO commandstats` is read around each run: commands per event on each path.
#
#   bash benches/inbox_redis_load.sh
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 APPENDFSYNC=always bash benches/inbox_redis_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
COUNT="${COUNT:-300000}"
APPENDFSYNC="${APPENDFSYNC:-everysec}"
export RUST_LOG="${RUST_LOG:-warn}"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
bench=benches/inbox_redis_load.sh

for tool in wrk curl python3 redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "benches/inbox_redis_load.sh: $tool not found (Debian: apt-get install -y wrk curl python3 redis-server)" >&2
        exit 1
    }
done

cargo build --release --quiet -p countersign-cli
cargo build --release --quiet -p countersign-bench --bin proxy_load --bin inbox_load
bin=./target/release/countersign
deliv=./target/release/proxy_load
upstream=./target/release/inbox_load
lua=benches/inbox_load.lua

work="$(mktemp -d)"
pids=()
cleanup() {
    stop_started
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/inbox_lib.sh
source benches/inbox_lib.sh

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$APPENDFSYNC" \
    --dir "$work/redis" --daemonize no >/dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
REDIS="redis://127.0.0.1:$rport/"
# calls of every command so far, as "name calls" lines
calls() { redis-cli -p "$rport" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\).*/\1 \2/p'; }
# per_event BEFORE AFTER EVENTS → "evalsha 1.00 set 1.00 …" (calls per event, info excluded)
per_event() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
def parse(s): return {l.split()[0]: int(l.split()[1]) for l in s.splitlines() if l.strip()}
b, a, n = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3])
skip = {"info", "ping", "config", "hget", "hset", "exists", "time", "zadd", "zrem", "sadd", "hincrby", "incr",
        "hmget", "zrangebyscore", "smembers", "zrange", "zcard", "del", "script"}
d = {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0) > 0 and k not in skip}
print(" ".join(f"{k} {v / max(n, 1):.2f}" for k, v in sorted(d.items())) or "-")
PY
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "redis: $(redis-server --version | cut -d' ' -f3), appendonly yes, appendfsync $APPENDFSYNC"
echo "throughput, accepted and delivered (wrk -c$CONNECTIONS -d$DURATION, 1 KiB, every request a new event; RUST_LOG=$RUST_LOG)"
sum_d=0; sum_q=0
for round in $(seq "$ROUNDS"); do
    up_d=$(start_upstream 0 0); up_q=$(start_upstream 0 0)
    db="${REDIS}?prefix=bench$round"
    px_d=$(start_proxy "$up_d" --redis "$REDIS" --redis-prefix "bench$round:dedup:")
    px_q=$(start_proxy "$up_q" --inbox "$db")
    c0=$(calls)
    read -r d_rps _ d_p99 d_n _ <<<"$(wrk_run "$px_d" "$CONNECTIONS" "$DURATION" 0)"
    check_direct "$up_d" "$d_n"
    c1=$(calls)
    # wrk's own time plus the drain's (generating the signed deliveries counts for neither).
    read -r q_rps _ q_p99 q_n q_s <<<"$(wrk_run "$px_q" "$CONNECTIONS" "$DURATION" 0)"
    c2=$(calls)
    drain_s=$(drain "$db" "$up_q" "$q_n" 600)
    total_s=$(awk -v a="$q_s" -v b="$drain_s" 'BEGIN {print a + b}')
    c3=$(calls)
    done_n=$(json "$("$bin" inbox --inbox "$db" stats)" done)
    q_eps=$(awk -v n="$done_n" -v s="$total_s" 'BEGIN {printf "%.0f", n / s}')
    printf 'round %s: direct/redis-dedup %.0f events/s (p99 %s ms) | queued/redis accepted %.0f/s (p99 %s ms), %s events done in %.2f s incl. %.2f s drain = %s events/s (%.3f× direct)\n' \
        "$round" "$d_rps" "$d_p99" "$q_rps" "$q_p99" "$done_n" "$total_s" "$drain_s" "$q_eps" "$(awk -v a="$q_eps" -v b="$d_rps" 'BEGIN {print a / b}')"
    echo "  redis commands per event: direct [$(per_event "$c0" "$c1" "$d_n")] | queued while accepting [$(per_event "$c1" "$c2" "$q_n")] | queued accept + delivery [$(per_event "$c1" "$c3" "$done_n")]"
    sum_d=$(awk -v a="$sum_d" -v b="$d_rps" 'BEGIN {print a + b}'); sum_q=$(awk -v a="$sum_q" -v b="$q_eps" 'BEGIN {print a + b}')
    stop_started
done
printf 'mean: direct/redis-dedup %.0f events/s, queued/redis %.0f events/s: %.3f×\n' \
    "$(awk -v s="$sum_d" -v n="$ROUNDS" 'BEGIN {print s / n}')" "$(awk -v s="$sum_q" -v n="$ROUNDS" 'BEGIN {print s / n}')" \
    "$(awk -v a="$sum_q" -v b="$sum_d" 'BEGIN {print a / b}')"
