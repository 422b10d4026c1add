#!/usr/bin/env bash
# Load test: the same axum app with and without VerifyLayer (examples/load_server.rs), 1 KiB
# signed JSON bodies, driven by wrk (Debian package `wrk`). Bare and verified runs alternate
# so that drift on a shared machine hits both; prints requests/s, the ratio and the added
# latency per request.
#
#   bash benches/load.sh                  # stripe, 3 rounds of 10 s, 32 connections
#   PRESET=github ROUNDS=5 DURATION=20s CONNECTIONS=64 bash benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PRESET="${PRESET:-stripe}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
PORT="${PORT:-3999}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "benches/load.sh: wrk not found; install it with: sudo apt-get install -y wrk" >&2
    exit 1
fi

cargo build --release --quiet --example load_server
lua="$(mktemp --suffix=.lua)"
PRESET="$PRESET" PORT="$PORT" LOAD_LUA="$lua" ./target/release/examples/load_server >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$lua"' EXIT
for _ in $(seq 50); do
    [ -s "$lua" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done

# Both routes get identical requests (the bare route ignores the signature headers).
# A non-2xx answer from /verified would mean the signature expired or broke: fail loudly.
run() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" "http://127.0.0.1:$PORT/$1")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "benches/load.sh: /$1 answered non-2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' <<<"$out"
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores; preset $PRESET;" \
     "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, 1 KiB bodies"
run bare >/dev/null # warm-up
bare_total=0
verified_total=0
for round in $(seq "$ROUNDS"); do
    b=$(run bare)
    v=$(run verified)
    printf 'round %s: bare %10.0f req/s   verified %10.0f req/s   ratio %.3f\n' \
        "$round" "$b" "$v" "$(echo "$v / $b" | bc -l)"
    bare_total=$(echo "$bare_total + $b" | bc -l)
    verified_total=$(echo "$verified_total + $v" | bc -l)
done
ratio=$(echo "$verified_total / $bare_total" | bc -l)
# Added time per request at saturation: 1/throughput difference (µs).
added=$(echo "($ROUNDS / $verified_total - $ROUNDS / $bare_total) * 1000000" | bc -l)
printf 'mean: bare %.0f req/s, verified %.0f req/s, ratio %.3f, added %.2f µs per request\n' \
    "$(echo "$bare_total / $ROUNDS" | bc -l)" "$(echo "$verified_total / $ROUNDS" | bc -l)" \
    "$ratio" "$added"
