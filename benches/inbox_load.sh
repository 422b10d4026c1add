#!/usr/bin/env bash
# Load test of queued delivery (`countersign proxy --inbox sqlite:PATH` / `postgres://…`),
# three parts:
#
# 1. Throughput, accepted AND delivered: wrk sends 1 KiB Standard Webhooks deliveries, every
#    one a distinct event, for DURATION to the synchronous proxy (memory dedup store), to
#    the queued proxy on SQLite and to the queued proxy on PostgreSQL (a fresh database per
#    round on the server of DATABASE_URL / POSTGRES_URL, default
#    postgres://postgres@127.0.0.1:5432/postgres, dropped at the end), each in front of its
#    own counting upstream. Direct
#    events/s = wrk's requests/s (each answer means delivered). Queued events/s = events done
#    / (wrk's time + the time until the queue has drained). Rounds alternate.
# 2. Accept latency with an upstream that takes 1 s per request: wrk sends LATENCY_EVENTS
#    events to each proxy; p50/p99 of the sender's answer.
# 3. Burst: BURST events as fast as wrk sends them to an upstream limited to BURST_RATE/s;
#    all acknowledged, then the queue drains.
#
# Every queued run is checked after draining: no non-2xx answer, every stored event
# delivered (the upstream's distinct ids = the inbox's done events ≥ wrk's answers), none
# delivered twice (hits = distinct). Direct runs: no non-2xx, hits = distinct.
#
#   bash benches/inbox_load.sh
#   PARTS=1 ROUNDS=1 bash benches/inbox_load.sh          # throughput only, one round
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 BURST=20000 BURST_RATE=500 bash benches/inbox_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
COUNT="${COUNT:-300000}"
LATENCY_EVENTS="${LATENCY_EVENTS:-2000}"
BURST="${BURST:-20000}"
BURST_RATE="${BURST_RATE:-500}"
PARTS="${PARTS:-1 2 3}"
PG_ADMIN="${DATABASE_URL:-${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
export RUST_LOG="${RUST_LOG:-warn}"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
bench=benches/inbox_load.sh

for tool in wrk curl python3 psql; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "benches/inbox_load.sh: $tool not found (Debian: apt-get install -y wrk curl python3 postgresql-client)" >&2
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
pg_dbs=()
cleanup() {
    stop_started
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for d in "${pg_dbs[@]}"; do psql -X -q -d "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
# pg_db NAME → creates database cs_bench_<pid>_NAME, prints its URL
pg_db() {
    local name="cs_bench_$$_$1"
    psql -X -q -d "$PG_ADMIN" -c "CREATE DATABASE $name" >/dev/null
    echo "${PG_ADMIN%/*}/$name"
}
trap cleanup EXIT

# shellcheck source=benches/inbox_lib.sh
source benches/inbox_lib.sh
upstream_distinct() { json "$(count "$UP")" distinct; }
inbox_total() {
    local s; s=$("$bin" inbox --inbox "$DB" stats)
    echo $(( $(json "$s" pending) + $(json "$s" in_flight) + $(json "$s" done) + $(json "$s" dead) ))
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "1. throughput, accepted and delivered (wrk -c$CONNECTIONS -d$DURATION, 1 KiB, every request a new event; RUST_LOG=$RUST_LOG)"
sum_d=0; sum_q=0; sum_p=0
for round in $(seq "$ROUNDS"); do
    pg_dbs+=("cs_bench_$$_t$round")
    up_d=$(start_upstream 0 0); up_q=$(start_upstream 0 0)
    db="sqlite:$work/t$round.db"
    px_d=$(start_proxy "$up_d" --memory-capacity 3000000)
    px_q=$(start_proxy "$up_q" --inbox "$db")
    read -r d_rps _ d_p99 d_n _ <<<"$(wrk_run "$px_d" "$CONNECTIONS" "$DURATION" 0)"
    check_direct "$up_d" "$d_n"
    # wrk's own time plus the drain's: the time to generate the signed deliveries (before
    # wrk starts) counts for neither mode.
    read -r q_rps _ q_p99 q_n q_s <<<"$(wrk_run "$px_q" "$CONNECTIONS" "$DURATION" 0)"
    drain_s=$(drain "$db" "$up_q" "$q_n" 600)
    total_s=$(awk -v a="$q_s" -v b="$drain_s" 'BEGIN {print a + b}')
    done_n=$(json "$("$bin" inbox --inbox "$db" stats)" done)
    q_eps=$(awk -v n="$done_n" -v s="$total_s" 'BEGIN {printf "%.0f", n / s}')
    printf 'round %s: direct/memory %.0f events/s (p99 %s ms) | queued/sqlite accepted %.0f/s (p99 %s ms), %s events done in %.2f s incl. %.2f s drain = %s events/s (%.3f× direct)\n' \
        "$round" "$d_rps" "$d_p99" "$q_rps" "$q_p99" "$done_n" "$total_s" "$drain_s" "$q_eps" "$(awk -v a="$q_eps" -v b="$d_rps" 'BEGIN {print a / b}')"
    sum_d=$(awk -v a="$sum_d" -v b="$d_rps" 'BEGIN {print a + b}'); sum_q=$(awk -v a="$sum_q" -v b="$q_eps" 'BEGIN {print a + b}')
    # The same on PostgreSQL (the other proxies are idle: their queues drained).
    up_p=$(start_upstream 0 0)
    pgu=$(pg_db "t$round")
    px_p=$(start_proxy "$up_p" --inbox "$pgu")
    read -r p_rps _ p_p99 p_n p_s <<<"$(wrk_run "$px_p" "$CONNECTIONS" "$DURATION" 0)"
    drain_p=$(drain "$pgu" "$up_p" "$p_n" 600)
    total_p=$(awk -v a="$p_s" -v b="$drain_p" 'BEGIN {print a + b}')
    done_p=$(json "$("$bin" inbox --inbox "$pgu" stats)" done)
    p_eps=$(awk -v n="$done_p" -v s="$total_p" 'BEGIN {printf "%.0f", n / s}')
    printf 'round %s: queued/postgres accepted %.0f/s (p99 %s ms), %s events done in %.2f s incl. %.2f s drain = %s events/s (%.3f× direct, %.3f× sqlite)\n' \
        "$round" "$p_rps" "$p_p99" "$done_p" "$total_p" "$drain_p" "$p_eps" "$(awk -v a="$p_eps" -v b="$d_rps" 'BEGIN {print a / b}')" "$(awk -v a="$p_eps" -v b="$q_eps" 'BEGIN {print a / b}')"
    sum_p=$(awk -v a="$sum_p" -v b="$p_eps" 'BEGIN {print a + b}')
    stop_started; wait 2>/dev/null || true
done
printf 'mean: direct/memory %.0f events/s, queued/sqlite %.0f events/s: %.3f×, queued/postgres %.0f events/s: %.3f×\n' \
    "$(awk -v s="$sum_d" -v n="$ROUNDS" 'BEGIN {print s / n}')" "$(awk -v s="$sum_q" -v n="$ROUNDS" 'BEGIN {print s / n}')" \
    "$(awk -v a="$sum_q" -v b="$sum_d" 'BEGIN {print a / b}')" \
    "$(awk -v s="$sum_p" -v n="$ROUNDS" 'BEGIN {print s / n}')" "$(awk -v a="$sum_p" -v b="$sum_d" 'BEGIN {print a / b}')"
[[ " $PARTS " == *" 2 "* ]] || [[ " $PARTS " == *" 3 "* ]] || exit 0

echo "2. accept latency, upstream taking 1 s per request ($LATENCY_EVENTS events, wrk -c$CONNECTIONS)"
up_d=$(start_upstream 1000 0); up_q=$(start_upstream 1000 0)
db="sqlite:$work/latency.db"
px_d=$(start_proxy "$up_d" --upstream-timeout 10s)
px_q=$(start_proxy "$up_q" --inbox "$db" --delivery-concurrency 256 --upstream-timeout 10s)
read -r _ d_p50 d_p99 d_n _ <<<"$(UP=$up_d wrk_run "$px_d" "$CONNECTIONS" 300s "$LATENCY_EVENTS" upstream_distinct)"
check_direct "$up_d" "$d_n"
read -r q_rps q_p50 q_p99 q_n _ <<<"$(DB=$db wrk_run "$px_q" "$CONNECTIONS" 300s "$LATENCY_EVENTS" inbox_total)"
drain_s=$(drain "$db" "$up_q" "$q_n" 300)
printf 'direct/memory: p50 %s ms, p99 %s ms | queued/sqlite: p50 %s ms, p99 %s ms (%s answers, %.0f/s); drained in %s s, checked\n' \
    "$d_p50" "$d_p99" "$q_p50" "$q_p99" "$q_n" "$q_rps" "$drain_s"
stop_started; wait 2>/dev/null || true

echo "3. burst: $BURST events as fast as wrk sends them (-c$CONNECTIONS), upstream limited to $BURST_RATE/s"
up=$(start_upstream 0 "$BURST_RATE")
db="sqlite:$work/burst.db"
px=$(start_proxy "$up" --inbox "$db")
read -r b_rps b_p50 b_p99 b_n b_s <<<"$(DB=$db wrk_run "$px" "$CONNECTIONS" 300s "$BURST" inbox_total)"
drain_s=$(drain "$db" "$up" "$b_n" 600)
total_s=$(awk -v a="$b_s" -v b="$drain_s" 'BEGIN {print a + b}')
s=$("$bin" inbox --inbox "$db" stats)
printf 'acknowledged %s in %s s (%.0f/s, p99 %s ms); queue drained %.1f s later (%.0f events/s delivered); inbox %s; checked: none lost, none twice\n' \
    "$b_n" "$b_s" "$b_rps" "$b_p99" "$drain_s" "$(awk -v n="$(json "$s" done)" -v t="$total_s" 'BEGIN {print n / t}')" "$s"
