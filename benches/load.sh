#!/usr/bin/env bash
# Load test: the same axum app with and without VerifyLayer (examples/load_server.rs), 1 KiB
# signed JSON bodies, driven by wrk (Debian package `wrk`); plus the same verification done
# by hand in the handler, to separate the cost of verifying from the cost of the layer.
# The runs alternate so that drift on a shared machine hits all of them. Prints, per run and as means:
#   - requests/s (wrk) and their ratio;
#   - the server's CPU time per request (user+sys from /proc, divided by wrk's request
#     count): far less sensitive than throughput to other processes on a shared machine, and
#     the CPU-bound throughput ratio is bare_cpu / verified_cpu.
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
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# Prints "<requests/s> <server CPU µs per request>".
run() {
    local out before after requests
    before=$(cpu_ticks)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" "http://127.0.0.1:$PORT/$1")
    after=$(cpu_ticks)
    if grep -q "Non-2xx" <<<"$out"; then
        echo "benches/load.sh: /$1 answered non-2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(echo "($after - $before) * 1000000 / $ticks / $requests" | bc -l)"
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "preset $PRESET; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; 1 KiB bodies"
run bare >/dev/null # warm-up
sum() { echo "$1 + $2" | bc -l; }
b_rps=0 v_rps=0 b_cpu=0 v_cpu=0 i_rps=0 i_cpu=0
for round in $(seq "$ROUNDS"); do
    read -r br bc <<<"$(run bare)"
    read -r vr vc <<<"$(run verified)"
    read -r ir ic <<<"$(run inline)"
    printf 'round %s: bare %6.0f req/s %6.2f µs CPU/req | verified %6.0f req/s %6.2f µs CPU/req | ratio %.3f | inline %6.0f req/s %6.2f µs CPU/req\n' \
        "$round" "$br" "$bc" "$vr" "$vc" "$(echo "$vr / $br" | bc -l)" "$ir" "$ic"
    b_rps=$(sum "$b_rps" "$br"); v_rps=$(sum "$v_rps" "$vr"); i_rps=$(sum "$i_rps" "$ir")
    b_cpu=$(sum "$b_cpu" "$bc"); v_cpu=$(sum "$v_cpu" "$vc"); i_cpu=$(sum "$i_cpu" "$ic")
done
printf 'mean of %s rounds: bare %.0f req/s, verified %.0f req/s, throughput ratio %.3f\n' \
    "$ROUNDS" "$(echo "$b_rps / $ROUNDS" | bc -l)" "$(echo "$v_rps / $ROUNDS" | bc -l)" "$(echo "$v_rps / $b_rps" | bc -l)"
printf 'server CPU per request: bare %.2f µs, verified %.2f µs, added %.2f µs, CPU-bound ratio %.3f\n' \
    "$(echo "$b_cpu / $ROUNDS" | bc -l)" "$(echo "$v_cpu / $ROUNDS" | bc -l)" \
    "$(echo "($v_cpu - $b_cpu) / $ROUNDS" | bc -l)" "$(echo "$b_cpu / $v_cpu" | bc -l)"
printf 'verifying by hand in the handler (/inline): %.0f req/s (ratio %.3f), %.2f µs CPU/req; the layer costs %.2f µs CPU/req more than that\n' \
    "$(echo "$i_rps / $ROUNDS" | bc -l)" "$(echo "$i_rps / $b_rps" | bc -l)" "$(echo "$i_cpu / $ROUNDS" | bc -l)" \
    "$(echo "($v_cpu - $i_cpu) / $ROUNDS" | bc -l)"
