#!/usr/bin/env bash
# Load test of benches/src/bin/load_server.rs with wrk (Debian package `wrk`), 1 KiB signed JSON
# bodies, all routes in one server process:
#
#   SUITE=verify — one signed delivery sent over and over (wrk's static request):
#     /bare (no layer) vs /verified (VerifyLayer) vs /inline (verification by hand in the
#     handler, to separate the cost of verifying from the cost of the layer).
#   SUITE=dedup — a NEW event per request, signed in advance (wrk has no HMAC; see
#     benches/src/bin/load_server.rs): /bare vs /verified vs /dedup-memory (VerifyLayer → DedupLayer
#     on a MemoryStore) vs /dedup-redis (the same on a RedisStore: a throwaway redis-server
#     on a free port, or REDIS_URL). Every dedup run is checked: no non-2xx answer, no
#     duplicate, one claim per request — i.e. every request really was a new event.
#   SUITE=all (default) — both.
#
# The runs alternate so that drift on a shared machine hits all of them. Prints, per run and
# as means over the rounds:
#   - requests/s (wrk) and their ratio to the bare app;
#   - the server's CPU time per request (user+sys from /proc, divided by wrk's request
#     count): far less sensitive than throughput to other processes on a shared machine;
#     the CPU-bound throughput ratio is bare_cpu / guarded_cpu. For /dedup-redis also the
#     redis-server's CPU per request (when this script started it).
#
#   bash benches/load.sh                  # stripe, 3 rounds of 10 s, 32 connections
#   SUITE=dedup PRESET=github ROUNDS=5 DURATION=20s CONNECTIONS=64 bash benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PRESET="${PRESET:-stripe}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
PORT="${PORT:-3999}"
SUITE="${SUITE:-all}"
# Signed events to pre-generate: enough for both dedup runs of every round at up to
# 120 000 requests/s together (a 2-core Intel Xeon VM did 68 000/s with the memory store and
# 33 000/s with Redis). A run that runs out fails loudly.
seconds() { case "$1" in *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";; esac; }
EVENTS="${EVENTS:-$(( ROUNDS * $(seconds "$DURATION") * 120000 ))}"

case "$SUITE" in verify|dedup|all) ;; *) echo "benches/load.sh: SUITE must be verify, dedup or all" >&2; exit 2;; esac
for tool in wrk curl bc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "benches/load.sh: $tool not found; install it with: sudo apt-get install -y $tool" >&2
        exit 1
    fi
done

cargo build --release --quiet -p countersign-bench --bin load_server
work="$(mktemp -d)"
server="" redis=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "$redis" ] && kill "$redis" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

env_args=(PRESET="$PRESET" PORT="$PORT" LOAD_LUA="$work/static.lua")
if [ "$SUITE" != verify ]; then
    if [ -n "${REDIS_URL:-}" ]; then
        redis_url="$REDIS_URL"
    else
        if ! command -v redis-server >/dev/null 2>&1; then
            echo "benches/load.sh: redis-server not found; install it with: sudo apt-get install -y redis-server (or set REDIS_URL)" >&2
            exit 1
        fi
        redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$work" >"$work/redis.log" 2>&1 &
        redis=$!
        redis_url="redis://127.0.0.1:$redis_port/"
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
            sleep 0.1
        done
    fi
    env_args+=(LOAD_REDIS_URL="$redis_url" LOAD_EVENTS="$EVENTS"
               LOAD_EVENTS_FILE="$work/events.txt" LOAD_EVENTS_LUA="$work/events.lua")
fi
env "${env_args[@]}" ./target/release/load_server >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1200); do # signing the events takes a few seconds per million
    grep -q listening "$work/server.log" 2>/dev/null && curl -s -o /dev/null "http://127.0.0.1:$PORT/stats" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
div() { echo "$1 / $2" | bc -l; }
stat_of() { curl -s "http://127.0.0.1:$PORT/stats" | awk -v r="$1" -v k="$2" '$1 == r { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'; }

# run ROUTE [SCRIPT ARGS…] — prints "<requests/s> <server CPU µs/request> <requests> <records used> <redis CPU µs/request>".
run() {
    local route=$1 script=$2 out before after rbefore=0 rafter=0 requests used
    shift 2
    before=$(cpu_ticks "$server")
    [ -n "$redis" ] && rbefore=$(cpu_ticks "$redis")
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "http://127.0.0.1:$PORT/$route" ${1:+-- "$@"})
    after=$(cpu_ticks "$server")
    [ -n "$redis" ] && rafter=$(cpu_ticks "$redis")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "benches/load.sh: /$route answered non-2xx (expired signature, out of records — raise EVENTS —, or a store error):" >&2
        echo "$out" >&2
        exit 1
    fi
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    used=$(awk '/records used/ {print $3}' <<<"$out")
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(echo "($after - $before) * 1000000 / $ticks / $requests" | bc -l) $requests ${used:-0} $(echo "($rafter - $rbefore) * 1000000 / $ticks / $requests" | bc -l)"
}

# A dedup run: new events from record $next on (not in a subshell: it advances $next and
# sets $d_rps $d_cpu $d_rcpu); checks that each request was a new event.
next=0 total_claims=0
run_dedup() {
    local route=$1 claimed0 dups0 requests used claimed dups
    claimed0=$(stat_of "$route" claimed); dups0=$(stat_of "$route" duplicates)
    read -r d_rps d_cpu requests used d_rcpu <<<"$(run "$route" "$work/events.lua" "$next" "$(( EVENTS - next ))")"
    claimed=$(( $(stat_of "$route" claimed) - claimed0 )); dups=$(( $(stat_of "$route" duplicates) - dups0 ))
    if [ "$dups" -ne 0 ] || [ "$claimed" -lt "$requests" ] || [ "$claimed" -gt "$used" ]; then
        echo "benches/load.sh: /$route: $requests requests, $used records, $claimed claims, $dups duplicates: not one new event per request" >&2
        exit 1
    fi
    next=$(( next + used )); total_claims=$(( total_claims + claimed ))
}

# A bare/verified run on the same per-request script (records from 0: ids may repeat there).
run_events() {
    local rps cpu requests used rcpu
    read -r rps cpu requests used rcpu <<<"$(run "$1" "$work/events.lua" 0 "$EVENTS")"
    if [ "$used" -lt "$requests" ]; then
        echo "benches/load.sh: /$1 ran out of records ($used for $requests requests): raise EVENTS" >&2
        exit 1
    fi
    echo "$rps $cpu"
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "preset $PRESET; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; 1 KiB bodies; suite $SUITE"
sum() { echo "$1 + $2" | bc -l; }

if [ "$SUITE" != dedup ]; then
    echo "-- one signed delivery, sent over and over"
    run bare "$work/static.lua" >/dev/null # warm-up
    b_rps=0 v_rps=0 b_cpu=0 v_cpu=0 i_rps=0 i_cpu=0
    for round in $(seq "$ROUNDS"); do
        read -r br bc _ <<<"$(run bare "$work/static.lua")"
        read -r vr vc _ <<<"$(run verified "$work/static.lua")"
        read -r ir ic _ <<<"$(run inline "$work/static.lua")"
        printf 'round %s: bare %6.0f req/s %6.2f µs CPU/req | verified %6.0f req/s %6.2f µs CPU/req | ratio %.3f | inline %6.0f req/s %6.2f µs CPU/req\n' \
            "$round" "$br" "$bc" "$vr" "$vc" "$(div "$vr" "$br")" "$ir" "$ic"
        b_rps=$(sum "$b_rps" "$br"); v_rps=$(sum "$v_rps" "$vr"); i_rps=$(sum "$i_rps" "$ir")
        b_cpu=$(sum "$b_cpu" "$bc"); v_cpu=$(sum "$v_cpu" "$vc"); i_cpu=$(sum "$i_cpu" "$ic")
    done
    printf 'mean of %s rounds: bare %.0f req/s, verified %.0f req/s, throughput ratio %.3f\n' \
        "$ROUNDS" "$(div "$b_rps" "$ROUNDS")" "$(div "$v_rps" "$ROUNDS")" "$(div "$v_rps" "$b_rps")"
    printf 'server CPU per request: bare %.2f µs, verified %.2f µs, added %.2f µs, CPU-bound ratio %.3f\n' \
        "$(div "$b_cpu" "$ROUNDS")" "$(div "$v_cpu" "$ROUNDS")" \
        "$(echo "($v_cpu - $b_cpu) / $ROUNDS" | bc -l)" "$(div "$b_cpu" "$v_cpu")"
    printf 'verifying by hand in the handler (/inline): %.0f req/s (ratio %.3f), %.2f µs CPU/req; the layer costs %.2f µs CPU/req more than that\n' \
        "$(div "$i_rps" "$ROUNDS")" "$(div "$i_rps" "$b_rps")" "$(div "$i_cpu" "$ROUNDS")" \
        "$(echo "($v_cpu - $i_cpu) / $ROUNDS" | bc -l)"
fi

if [ "$SUITE" != verify ]; then
    echo "-- a new signed event per request ($EVENTS pre-signed; $(grep -o '[0-9]*-byte records' "$work/server.log"))"
    run_events bare >/dev/null # warm-up
    b_rps=0 v_rps=0 m_rps=0 r_rps=0 b_cpu=0 v_cpu=0 m_cpu=0 r_cpu=0 rr_cpu=0
    for round in $(seq "$ROUNDS"); do
        read -r br bc <<<"$(run_events bare)"
        read -r vr vc <<<"$(run_events verified)"
        run_dedup dedup-memory; mr=$d_rps mc=$d_cpu
        run_dedup dedup-redis; rr=$d_rps rc=$d_cpu rrc=$d_rcpu
        printf 'round %s: bare %6.0f req/s %6.2f µs | verified %6.0f req/s %6.2f µs | verify+dedup memory %6.0f req/s %6.2f µs | verify+dedup redis %6.0f req/s %6.2f µs (+ redis-server %5.2f µs) CPU/req\n' \
            "$round" "$br" "$bc" "$vr" "$vc" "$mr" "$mc" "$rr" "$rc" "$rrc"
        b_rps=$(sum "$b_rps" "$br"); v_rps=$(sum "$v_rps" "$vr"); m_rps=$(sum "$m_rps" "$mr"); r_rps=$(sum "$r_rps" "$rr")
        b_cpu=$(sum "$b_cpu" "$bc"); v_cpu=$(sum "$v_cpu" "$vc"); m_cpu=$(sum "$m_cpu" "$mc"); r_cpu=$(sum "$r_cpu" "$rc")
        rr_cpu=$(sum "$rr_cpu" "$rrc")
    done
    printf 'mean of %s rounds: bare %.0f req/s; verified %.0f (ratio %.3f); verify+dedup memory %.0f (ratio %.3f); verify+dedup redis %.0f (ratio %.3f)\n' \
        "$ROUNDS" "$(div "$b_rps" "$ROUNDS")" "$(div "$v_rps" "$ROUNDS")" "$(div "$v_rps" "$b_rps")" \
        "$(div "$m_rps" "$ROUNDS")" "$(div "$m_rps" "$b_rps")" "$(div "$r_rps" "$ROUNDS")" "$(div "$r_rps" "$b_rps")"
    printf 'server CPU per request: bare %.2f µs, verified %.2f µs, verify+dedup memory %.2f µs, verify+dedup redis %.2f µs (+ %.2f µs in redis-server); CPU-bound ratios vs bare: %.3f, %.3f, %.3f\n' \
        "$(div "$b_cpu" "$ROUNDS")" "$(div "$v_cpu" "$ROUNDS")" "$(div "$m_cpu" "$ROUNDS")" "$(div "$r_cpu" "$ROUNDS")" \
        "$(div "$rr_cpu" "$ROUNDS")" "$(div "$b_cpu" "$v_cpu")" "$(div "$b_cpu" "$m_cpu")" "$(div "$b_cpu" "$r_cpu")"
    echo "every dedup request was a new event: $total_claims claims of $next records, 0 duplicates"
fi
