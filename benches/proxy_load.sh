#!/usr/bin/env bash
# Load test of `countersign proxy`: wrk sends 1 KiB signed Standard Webhooks deliveries — every
# request a distinct event, so deduplication claims, forwards and records each one — either
# directly to an upstream app or through the proxy in front of the same upstream, with the
# in-memory store and with Redis. A bare hyper pass-through proxy (no verification, dedup,
# limits or logs; `proxy_load passthrough`) runs too: it is the floor for any proxy on this
# stack, and separates the cost of the extra HTTP hop from the cost of countersign. Runs
# alternate (direct, passthrough, memory, redis) so drift on a shared machine hits all of
# them. Prints per round and as means:
#   - requests/s and latency p50/p99 (wrk), and the ratio proxied / direct;
#   - CPU time per request of every process (user+sys from /proc; wrk from bash `times`);
#   - the latency the proxy adds at one connection (no queueing);
#   - with PROFILE=1, where the proxy's CPU goes (perf, by crate), during an extra Redis run.
# Each proxied run is checked: no non-2xx, no duplicate or in-flight answer (the ids did not
# wrap), no store error.
#
#   bash benches/proxy_load.sh
#   ROUNDS=5 DURATION=20s CONNECTIONS=128 PROFILE=1 bash benches/proxy_load.sh
#   RUST_LOG=warn bash benches/proxy_load.sh     # without the per-request access log
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
COUNT="${COUNT:-400000}"          # distinct deliveries per run
LATENCY_DURATION="${LATENCY_DURATION:-5s}"
export RUST_LOG="${RUST_LOG:-info}"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

for tool in wrk redis-server curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "benches/proxy_load.sh: $tool not found (Debian: apt-get install -y wrk redis-server curl python3)" >&2
        exit 1
    fi
done

cargo build --release --quiet -p countersign-cli
cargo build --release --quiet -p countersign-bench --bin proxy_load
bin=./target/release/countersign
helper=./target/release/proxy_load
lua=benches/proxy_load.lua

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
    for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "benches/proxy_load.sh: $1 did not come up" >&2
    exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --logfile "$work/redis.log" &
redis_pid=$!; pids+=("$redis_pid")
upstream_port=$(free_port)
"$helper" upstream "$upstream_port" >/dev/null &
upstream_pid=$!; pids+=("$upstream_pid")
pass_port=$(free_port)
"$helper" passthrough "$pass_port" "$upstream_port" >/dev/null &
pass_pid=$!; pids+=("$pass_pid")
memory_port=$(free_port)
# Room for every delivery of the whole run: nothing is evicted, as in a correctly sized store.
"$bin" proxy --listen "127.0.0.1:$memory_port" --upstream "http://127.0.0.1:$upstream_port" \
    --preset standard-webhooks --secret "$SECRET" --memory-capacity 3000000 \
    >/dev/null 2>"$work/memory.log" &
memory_pid=$!; pids+=("$memory_pid")
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis_proxy_port=$(free_port)
"$bin" proxy --listen "127.0.0.1:$redis_proxy_port" --upstream "http://127.0.0.1:$upstream_port" \
    --preset standard-webhooks --secret "$SECRET" --redis "redis://127.0.0.1:$redis_port/" \
    >/dev/null 2>"$work/redis-proxy.log" &
redis_proxy_pid=$!; pids+=("$redis_proxy_pid")
wait_http "http://127.0.0.1:$upstream_port/"
wait_http "http://127.0.0.1:$pass_port/"
wait_http "http://127.0.0.1:$memory_port/healthz"
wait_http "http://127.0.0.1:$redis_proxy_port/healthz"

ticks_per_s=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"[{]" {s += $2} END {print s + 0}'; }

# run LABEL PORT PROXY_PID(or -) CONNECTIONS DURATION [passthrough: no metrics to check]
# prints: rps p50_ms p99_ms requests wrk_us proxy_us upstream_us redis_us
run() {
    local label=$1 port=$2 proxy_pid=$3 conns=$4 duration=$5 checked=1
    [ "$label" = passthrough ] && checked=0
    # Runs happen in subshells: a counter would not survive; the clock is unique enough.
    local tag; tag=$(date +%s%N)
    local dir="$work/run$tag"; mkdir -p "$dir"
    "$helper" deliveries "$COUNT" "r$tag" "$dir"
    local dups0=0 conf0=0 errs0=0
    if [ "$proxy_pid" != - ] && [ "$checked" = 1 ]; then
        dups0=$(metric "$port" countersign_duplicates_total)
        conf0=$(metric "$port" countersign_in_flight_conflicts_total)
        errs0=$(metric "$port" countersign_store_errors_total)
    fi
    local p0=0 u0 r0 p1=0 u1 r1
    [ "$proxy_pid" != - ] && p0=$(cpu "$proxy_pid")
    u0=$(cpu "$upstream_pid"); r0=$(cpu "$redis_pid")
    local out wrk_cpu
    # bash's `times` after the subshell: user and system time of finished children (wrk).
    out=$( (DELIVERIES="$dir/deliveries" BODY="$dir/body" WRK_THREADS="$THREADS" \
        wrk -t"$THREADS" -c"$conns" -d"$duration" --latency -s "$lua" "http://127.0.0.1:$port/hooks"; times) )
    [ "$proxy_pid" != - ] && p1=$(cpu "$proxy_pid")
    u1=$(cpu "$upstream_pid"); r1=$(cpu "$redis_pid")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        echo "benches/proxy_load.sh: $label: errors:" >&2; echo "$out" >&2; exit 1
    fi
    if [ "$proxy_pid" != - ] && [ "$checked" = 1 ]; then
        local dups conf errs
        dups=$(( $(metric "$port" countersign_duplicates_total) - dups0 ))
        conf=$(( $(metric "$port" countersign_in_flight_conflicts_total) - conf0 ))
        errs=$(( $(metric "$port" countersign_store_errors_total) - errs0 ))
        if [ "$dups" != 0 ] || [ "$conf" != 0 ] || [ "$errs" != 0 ]; then
            echo "benches/proxy_load.sh: $label: $dups duplicates, $conf in-flight, $errs store errors (raise COUNT?)" >&2
            exit 1
        fi
    fi
    wrk_cpu=$(tail -1 <<<"$out" | awk '{
        split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    rm -rf "$dir"
    local requests
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    local ms='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }'
    local p50 p99
    p50=$(awk "$ms"' / 50%/ {print ms($2)}' <<<"$out")
    p99=$(awk "$ms"' / 99%/ {print ms($2)}' <<<"$out")
    awk -v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" -v p50="$p50" -v p99="$p99" -v n="$requests" \
        -v w="$wrk_cpu" -v p="$((p1 - p0))" -v u="$((u1 - u0))" -v r="$((r1 - r0))" -v t="$ticks_per_s" \
        'BEGIN { printf "%s %s %s %d %.1f %.1f %.1f %.1f\n", rps, p50, p99, n, w * 1e6 / n, p * 1e6 / t / n, u * 1e6 / t / n, r * 1e6 / t / n }'
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; 1 KiB Standard Webhooks deliveries, each a distinct event; RUST_LOG=$RUST_LOG"
run warmup "$pass_port" "$pass_pid" "$CONNECTIONS" 3s >/dev/null
run warmup "$memory_port" "$memory_pid" "$CONNECTIONS" 3s >/dev/null
run warmup "$redis_proxy_port" "$redis_proxy_pid" "$CONNECTIONS" 3s >/dev/null

declare -A sum
add() { sum[$1]=$(awk -v a="${sum[$1]:-0}" -v b="$2" 'BEGIN {print a + b}'); }
for round in $(seq "$ROUNDS"); do
    res=$(run direct "$upstream_port" - "$CONNECTIONS" "$DURATION"); read -r d_rps d_p50 d_p99 _ d_w _ d_u _<<<"$res"
    res=$(run passthrough "$pass_port" "$pass_pid" "$CONNECTIONS" "$DURATION"); read -r t_rps t_p50 t_p99 _ t_w t_p t_u _<<<"$res"
    res=$(run memory "$memory_port" "$memory_pid" "$CONNECTIONS" "$DURATION"); read -r m_rps m_p50 m_p99 _ m_w m_p m_u _<<<"$res"
    res=$(run redis "$redis_proxy_port" "$redis_proxy_pid" "$CONNECTIONS" "$DURATION"); read -r r_rps r_p50 r_p99 _ r_w r_p r_u r_r<<<"$res"
    div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
    printf 'round %s: direct %6.0f req/s p99 %6.2f ms | passthrough %6.0f req/s p99 %6.2f ms (%s) | memory %6.0f req/s p99 %6.2f ms (%s) | redis %6.0f req/s p99 %6.2f ms (%s)\n' \
        "$round" "$d_rps" "$d_p99" "$t_rps" "$t_p99" "$(div "$t_rps" "$d_rps")" \
        "$m_rps" "$m_p99" "$(div "$m_rps" "$d_rps")" "$r_rps" "$r_p99" "$(div "$r_rps" "$d_rps")"
    for k in d_rps d_p99 d_w d_u t_rps t_p99 t_w t_p t_u m_rps m_p99 m_w m_p m_u r_rps r_p99 r_w r_p r_u r_r; do add "$k" "${!k}"; done
done
mean() { awk -v s="${sum[$1]}" -v n="$ROUNDS" 'BEGIN {printf "%.1f", s / n}'; }
ratio() { awk -v a="${sum[$1]}" -v b="${sum[$2]}" 'BEGIN {printf "%.3f", a / b}'; }
echo "mean of $ROUNDS rounds:"
printf '  throughput vs direct: direct %s req/s; passthrough %s req/s (%s); memory %s req/s (%s); redis %s req/s (%s)\n' \
    "$(mean d_rps)" "$(mean t_rps)" "$(ratio t_rps d_rps)" "$(mean m_rps)" "$(ratio m_rps d_rps)" "$(mean r_rps)" "$(ratio r_rps d_rps)"
printf '  throughput vs the bare pass-through proxy: memory %s, redis %s\n' "$(ratio m_rps t_rps)" "$(ratio r_rps t_rps)"
printf '  p99 latency: direct %s ms; passthrough %s ms; memory %s ms; redis %s ms\n' "$(mean d_p99)" "$(mean t_p99)" "$(mean m_p99)" "$(mean r_p99)"
printf '  CPU µs per request: direct: wrk %s + upstream %s | passthrough: wrk %s + proxy %s + upstream %s | memory: wrk %s + proxy %s + upstream %s | redis: wrk %s + proxy %s + upstream %s + redis-server %s\n' \
    "$(mean d_w)" "$(mean d_u)" "$(mean t_w)" "$(mean t_p)" "$(mean t_u)" "$(mean m_w)" "$(mean m_p)" "$(mean m_u)" "$(mean r_w)" "$(mean r_p)" "$(mean r_u)" "$(mean r_r)"

# The latency the proxy adds when nothing queues: one connection.
res=$(run direct "$upstream_port" - 1 "$LATENCY_DURATION"); read -r _ l_d50 l_d99 _<<<"$res"
res=$(run passthrough "$pass_port" "$pass_pid" 1 "$LATENCY_DURATION"); read -r _ l_t50 l_t99 _<<<"$res"
res=$(run memory "$memory_port" "$memory_pid" 1 "$LATENCY_DURATION"); read -r _ l_m50 l_m99 _<<<"$res"
res=$(run redis "$redis_proxy_port" "$redis_proxy_pid" 1 "$LATENCY_DURATION"); read -r _ l_r50 l_r99 _<<<"$res"
printf 'one connection (latency): direct p50 %s ms p99 %s ms | passthrough p50 %s ms p99 %s ms | memory p50 %s ms p99 %s ms | redis p50 %s ms p99 %s ms\n' \
    "$l_d50" "$l_d99" "$l_t50" "$l_t99" "$l_m50" "$l_m99" "$l_r50" "$l_r99"

if [ "${PROFILE:-0}" = 1 ]; then
    if ! command -v perf >/dev/null 2>&1; then
        echo "PROFILE=1 needs perf (Debian: linux-perf)" >&2; exit 1
    fi
    secs=${DURATION%s}
    perf record -q -e cpu-clock -F 999 -p "$redis_proxy_pid" -o "$work/perf.data" -- sleep "$((secs > 2 ? secs - 1 : 1))" 2>/dev/null &
    perf_pid=$!
    run redis "$redis_proxy_port" "$redis_proxy_pid" "$CONNECTIONS" "$DURATION" >/dev/null
    wait "$perf_pid" || true
    echo "where the proxy's CPU goes (redis store; perf cpu-clock samples, self time by component):"
    perf report -i "$work/perf.data" --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
    awk '{pct=$1; sub("%","",pct); dso=$2; sym=""; for(i=4;i<=NF;i++) sym=sym" "$i;
      c="other (std, futures, tower, long tail)";
      if (dso ~ /kernel/) c="kernel: TCP on loopback, syscalls, scheduling";
      else if (sym ~ /malloc|free|realloc|memmove|memcpy|memset|cfree|mi_|_mi_/) c="allocation and memcpy";
      else if (dso ~ /libc/) c="libc other";
      else if (sym ~ /redis|combine/) c="Redis client (redis-rs)";
      else if (sym ~ /sha2|hmac|countersign_core|base64|subtle/) c="signature verification (countersign-core, sha2)";
      else if (sym ~ /countersign_dedup/) c="dedup layer";
      else if (sym ~ /hyper_util/) c="hyper-util client pool";
      else if (sym ~ /hyper|httparse|httpdate/) c="hyper: HTTP/1 parse, encode, dispatch";
      else if (sym ~ /http::|bytes::/) c="http/bytes types (header maps)";
      else if (sym ~ /tokio|mio/) c="tokio: scheduler, timers, I/O readiness";
      else if (sym ~ /tracing/) c="tracing (logs)";
      else if (sym ~ /countersign/) c="proxy and verify-layer glue";
      s[c]+=pct} END {for (k in s) printf "  %6.2f%%  %s\n", s[k], k}' | sort -rn
fi
