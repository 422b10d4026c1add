#!/usr/bin/env bash
# Where the proxy's own CPU goes, counted in instructions (callgrind) rather than timed: the
# counts do not move with whatever else runs on the machine, unlike benches/proxy_load.sh.
# For each configuration the proxy runs under callgrind with instrumentation off; after a
# warm-up the counters are zeroed, N sequential keep-alive requests (1 KiB Standard Webhooks
# deliveries, distinct events) are sent by a small Python client, and the counts are dumped:
#
#   - passthrough: the bare hyper pass-through proxy of benches/src/bin/proxy_load.rs (the floor: one
#     HTTP server hop + one HTTP client hop, nothing else);
#   - memory: `countersign proxy` with the in-memory store, access log on (RUST_LOG=info);
#   - memory, no log: the same with RUST_LOG=warn;
#   - redis: with --redis (a throwaway redis-server), access log on.
#
# Prints instructions per request (user space of the proxy process only: kernel time is not
# counted) and, for `redis`, the share of each component. Under valgrind the sha2 crate does
# not see the CPU's SHA extensions and runs its portable code (~60 000 instructions for a
# 1 KiB HMAC-SHA256); natively it uses SHA-NI (perf: ~2.5% of the proxy's CPU). The counts are
# therefore also shown without it.
#
#   bash benches/proxy_instructions.sh          # N=2000
#   N=500 bash benches/proxy_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-2000}"
WARMUP="${WARMUP:-200}"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

for tool in valgrind callgrind_control callgrind_annotate redis-server python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "benches/proxy_instructions.sh: $tool not found" >&2; exit 1; }
done
cargo build --release --quiet -p countersign-cli
cargo build --release --quiet -p countersign-bench --bin proxy_load
bin=./target/release/countersign
helper=./target/release/proxy_load

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --logfile "$work/redis.log" &
pids+=($!)
upstream_port=$(free_port)
"$helper" upstream "$upstream_port" >/dev/null &
pids+=($!)

cat > "$work/client.py" <<'PY'
import http.client, sys
port, path, count, skip = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = open(sys.argv[5], "rb").read()
lines = open(sys.argv[6]).read().split("\n")[skip:skip + count]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for line in lines:
    msg_id, ts, sig = line.split(" ", 2)
    conn.request("POST", path, body, {"Content-Type": "application/json", "webhook-id": msg_id,
                                      "webhook-timestamp": ts, "webhook-signature": sig})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("status %d" % r.status)
PY

# measure LABEL -- COMMAND... (the command listens on $port)
measure() {
    local label=$1; shift; shift
    local port; port=$(free_port)
    local dir="$work/$label"; mkdir -p "$dir"
    "$helper" deliveries "$((WARMUP + N))" "$label$(date +%s%N)" "$dir"
    local cmd=("${@//PORT/$port}")
    RUST_LOG="${LOG:-info}" valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$dir/callgrind.out" "${cmd[@]}" >/dev/null 2>"$dir/stderr" &
    local pid=$!
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    callgrind_control -i on "$pid" >/dev/null 2>&1
    python3 "$work/client.py" "$port" /hooks "$WARMUP" 0 "$dir/body" "$dir/deliveries"
    callgrind_control -z "$pid" >/dev/null 2>&1
    python3 "$work/client.py" "$port" /hooks "$N" "$WARMUP" "$dir/body" "$dir/deliveries"
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local dump; dump=$(ls "$dir"/callgrind.out.* 2>/dev/null | head -1)
    [ -n "$dump" ] || dump="$dir/callgrind.out"
    callgrind_annotate --threshold=100 "$dump" >"$dir/annotate.txt" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then cp "$dir/annotate.txt" "$KEEP/$label.txt"; fi
    local total soft
    total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$dir/annotate.txt")
    soft=$(awk '/sha2::sha256::soft/ {gsub(",", "", $1); s += $1} END {print s + 0}' "$dir/annotate.txt")
    printf '%-14s %8.0f instructions per request (%8.0f without the portable SHA-256, see below)\n' "$label" \
        "$(awk -v t="$total" -v n="$N" 'BEGIN {print t / n}')" "$(awk -v t="$total" -v s="$soft" -v n="$N" 'BEGIN {print (t - s) / n}')"
    echo "$dump" >"$dir/dump"
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'); N=$N sequential requests after $WARMUP warm-up; user-space instructions of the proxy process"
measure passthrough -- "$helper" passthrough PORT "$upstream_port"
measure memory -- "$bin" proxy --listen 127.0.0.1:PORT --upstream "http://127.0.0.1:$upstream_port" \
    --preset standard-webhooks --secret "$SECRET" --grace-period 1s
LOG=warn measure memory-nolog -- "$bin" proxy --listen 127.0.0.1:PORT --upstream "http://127.0.0.1:$upstream_port" \
    --preset standard-webhooks --secret "$SECRET" --grace-period 1s
measure redis -- "$bin" proxy --listen 127.0.0.1:PORT --upstream "http://127.0.0.1:$upstream_port" \
    --preset standard-webhooks --secret "$SECRET" --grace-period 1s --redis "redis://127.0.0.1:$redis_port/"

echo "redis: instructions per request by component (self cost of each function, grouped):"
awk -v n="$N" '/^ *[0-9,]+ .*:/ {
    ir = $1; gsub(",", "", ir); sym = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", sym);
    sub(/ \[[^]]*\]$/, "", sym);   # the object file, e.g. [.../countersign]
    c = "other (std, futures, tower, long tail)";
    if (sym ~ /malloc|free|realloc|memmove|memcpy|memset|mi_|_mi_/) c = "allocation and memcpy";
    else if (sym ~ /redis|combine/) c = "Redis client (redis-rs)";
    else if (sym ~ /sha2::sha256::soft/) c = "SHA-256, portable code (valgrind only; SHA-NI natively)";
    else if (sym ~ /sha2|hmac|countersign_core|base64|subtle/) c = "signature verification (countersign-core, sha2)";
    else if (sym ~ /countersign_dedup/) c = "dedup layer";
    else if (sym ~ /hyper_util/) c = "hyper-util client pool";
    else if (sym ~ /hyper|httparse|httpdate/) c = "hyper: HTTP/1 parse, encode, dispatch";
    else if (sym ~ /http::|bytes::/) c = "http/bytes types (header maps)";
    else if (sym ~ /tokio|mio/) c = "tokio: scheduler, timers, I/O readiness";
    else if (sym ~ /tracing|fmt|sip::Hasher|hash_one/) c = "tracing, formatting, std hashing";
    else if (sym ~ /countersign/) c = "proxy and verify-layer glue";
    s[c] += ir } END { for (k in s) printf "  %8.0f  %s\n", s[k] / n, k }' "$work/redis/annotate.txt" | sort -rn
