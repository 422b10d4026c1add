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
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "benches/inbox_redis_load.sh: $1 did not come up" >&2; exit 1
}
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
now() { date +%s.%N; }

# start_upstream DELAY_MS RATE → prints its port
start_upstream() {
    local port; port=$(free_port)
    "$upstream" upstream "$port" "$1" "$2" >/dev/null 2>&1 &
    pids+=("$!")
    wait_http "http://127.0.0.1:$port/count"
    echo "$port"
}
# start_proxy UPSTREAM_PORT [extra flags…] → prints its port
start_proxy() {
    local up=$1; shift
    local port; port=$(free_port)
    "$bin" proxy --listen "127.0.0.1:$port" --upstream "http://127.0.0.1:$up" \
        --preset standard-webhooks --secret "$SECRET" "$@" >/dev/null 2>>"$work/proxy.log" &
    pids+=("$!")
    wait_http "http://127.0.0.1:$port/healthz"
    echo "$port"
}
# wrk_run PORT CONNECTIONS DURATION LIMIT [COUNTER] → "rps p50_ms p99_ms requests seconds".
# With LIMIT > 0 the lua script stops sending after LIMIT answers, and wrk is interrupted
# (SIGINT: it prints its statistics) as soon as COUNTER (a command printing a number) reaches
# LIMIT, so that its time is the burst's and not the -d duration's.
wrk_run() {
    local port=$1 conns=$2 dur=$3 limit=$4 counter=${5:-}
    local dir; dir="$work/d$(date +%s%N)"; mkdir -p "$dir"
    local n=$COUNT; [ "$limit" -gt 0 ] && n=$((limit + conns + 10))
    "$deliv" deliveries "$n" "r$(date +%s%N)" "$dir"
    DELIVERIES="$dir/deliveries" BODY="$dir/body" WRK_THREADS=1 LIMIT="$limit" \
        wrk -t1 -c"$conns" -d"$dur" --timeout 30s --latency -s "$lua" "http://127.0.0.1:$port/hooks" >"$dir/out" &
    local wrk_pid=$!
    if [ "$limit" -gt 0 ]; then
        while kill -0 "$wrk_pid" 2>/dev/null; do
            if [ "$($counter)" -ge "$limit" ]; then kill -INT "$wrk_pid"; break; fi
            sleep 0.05
        done
    fi
    wait "$wrk_pid" || true
    local out; out=$(cat "$dir/out")
    rm -rf "$dir"
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        echo "benches/inbox_redis_load.sh: errors:" >&2; echo "$out" >&2; exit 1
    fi
    local ms='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }'
    local secs='function secs(v) { sub(/,$/, "", v); if (v ~ /ms$/) return v / 1000; if (v ~ /m$/) return v * 60; return v + 0 }'
    awk "$ms $secs"'
        / 50%/ {p50 = ms($2)} / 99%/ {p99 = ms($2)}
        /requests in/ {n = $1; s = secs($4)}
        END {printf "%.0f %s %s %s %s\n", n / s, p50, p99, n, s}' <<<"$out"
}
count() { curl -s "http://127.0.0.1:$1/count"; }
# drain INBOX_URL UPSTREAM_PORT MIN_DONE TIMEOUT_S → waits until nothing is pending or in
# flight; checks; prints the seconds it took
drain() {
    local url=$1 up=$2 min=$3 timeout=$4 t0; t0=$(now)
    while :; do
        local s; s=$("$bin" inbox --inbox "$url" stats)
        if [ "$(json "$s" pending)" = 0 ] && [ "$(json "$s" in_flight)" = 0 ]; then break; fi
        if awk -v a="$(now)" -v b="$t0" -v t="$timeout" 'BEGIN {exit !(a - b > t)}'; then
            echo "benches/inbox_redis_load.sh: queue did not drain in ${timeout}s: $s" >&2; exit 1
        fi
        sleep 0.2
    done
    local t1; t1=$(now)
    local s c; s=$("$bin" inbox --inbox "$url" stats); c=$(count "$up")
    local done dead hits distinct
    done=$(json "$s" done); dead=$(json "$s" dead); hits=$(json "$c" hits); distinct=$(json "$c" distinct)
    if [ "$dead" != 0 ] || [ "$distinct" != "$done" ] || [ "$hits" != "$distinct" ] || [ "$done" -lt "$min" ]; then
        echo "benches/inbox_redis_load.sh: check failed: inbox $s, upstream $c, wrk answers $min" >&2; exit 1
    fi
    awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}'
}
upstream_distinct() { json "$(count "$UP")" distinct; }
inbox_total() {
    local s; s=$("$bin" inbox --inbox "$DB" stats)
    echo $(( $(json "$s" pending) + $(json "$s" in_flight) + $(json "$s" done) + $(json "$s" dead) ))
}
check_direct() {
    local c; c=$(count "$1")
    if [ "$(json "$c" hits)" != "$(json "$c" distinct)" ] || [ "$(json "$c" distinct)" -lt "$2" ]; then
        echo "benches/inbox_redis_load.sh: direct check failed: upstream $c, wrk answers $2" >&2; exit 1
    fi
}

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
    t0=$(now)
    read -r q_rps _ q_p99 q_n q_s <<<"$(wrk_run "$px_q" "$CONNECTIONS" "$DURATION" 0)"
    c2=$(calls)
    drain_s=$(drain "$db" "$up_q" "$q_n" 600)
    total_s=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {print a - b}')
    c3=$(calls)
    done_n=$(json "$("$bin" inbox --inbox "$db" stats)" done)
    q_eps=$(awk -v n="$done_n" -v s="$total_s" 'BEGIN {printf "%.0f", n / s}')
    printf 'round %s: direct/redis-dedup %.0f events/s (p99 %s ms) | queued/redis accepted %.0f/s (p99 %s ms), %s events done in %.2f s incl. %.2f s drain = %s events/s (%.3f× direct)\n' \
        "$round" "$d_rps" "$d_p99" "$q_rps" "$q_p99" "$done_n" "$total_s" "$drain_s" "$q_eps" "$(awk -v a="$q_eps" -v b="$d_rps" 'BEGIN {print a / b}')"
    echo "  redis commands per event: direct [$(per_event "$c0" "$c1" "$d_n")] | queued while accepting [$(per_event "$c1" "$c2" "$q_n")] | queued accept + delivery [$(per_event "$c1" "$c3" "$done_n")]"
    sum_d=$(awk -v a="$sum_d" -v b="$d_rps" 'BEGIN {print a + b}'); sum_q=$(awk -v a="$sum_q" -v b="$q_eps" 'BEGIN {print a + b}')
    for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
    pids=("${pids[0]}")
done
printf 'mean: direct/redis-dedup %.0f events/s, queued/redis %.0f events/s: %.3f×\n' \
    "$(awk -v s="$sum_d" -v n="$ROUNDS" 'BEGIN {print s / n}')" "$(awk -v s="$sum_q" -v n="$ROUNDS" 'BEGIN {print s / n}')" \
    "$(awk -v a="$sum_q" -v b="$sum_d" 'BEGIN {print a / b}')"
