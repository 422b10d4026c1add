#!/usr/bin/env bash
# Load test of publish mode: wrk sends 1 KiB signed Standard Webhooks deliveries (every
# request a distinct event) to three `countersign proxy` processes with the in-memory store:
#   upstream  — the synchronous mode: forwards to an upstream app (benches/src/bin/proxy_load.rs), 200
#               once the app answered;
#   rabbitmq  — --publish amqp://…?queue=bench on a vhost this script creates (and deletes):
#               publisher confirms, persistent messages, mandatory; 200 once the broker acked;
#   nats      — --publish nats://…?subject=bench.{preset}&stream=BENCH on a nats-server -js
#               this script starts (file storage in a temp dir, removed afterwards); 200 once
#               the PubAck came.
# Runs alternate (upstream, rabbitmq, nats) each round, so drift on a shared machine hits all.
# Prints requests/s, p99, the ratios publish / upstream, CPU µs per request of the proxy and of
# the broker, and checks that every request was answered 2xx and that the broker holds exactly
# the number of messages the proxy reported as published.
#
#   bash benches/publish_load.sh
#   ROUNDS=5 DURATION=20s CONNECTIONS=64 bash benches/publish_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
COUNT="${COUNT:-200000}"
export RUST_LOG="${RUST_LOG:-warn}"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

for tool in wrk curl python3 nats-server rabbitmqctl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "benches/publish_load.sh: $tool not found (Debian: apt-get install -y wrk curl python3 nats-server rabbitmq-server)" >&2
        exit 1
    fi
done

cargo build --release --quiet -p countersign-cli
cargo build --release --quiet -p countersign-bench --bin proxy_load
bin=./target/release/countersign
helper=./target/release/proxy_load
lua=benches/proxy_load.lua

work="$(mktemp -d)"
vhost="cs_bench_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rabbitmqctl delete_vhost "$vhost" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "benches/publish_load.sh: $1 did not come up" >&2; exit 1
}

rabbitmqctl add_vhost "$vhost" >/dev/null
rabbitmqctl set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
rabbit_pid=$(rabbitmqctl eval 'list_to_integer(os:getpid()).' 2>/dev/null | tail -1)

nats_port=$(free_port)
mkdir -p "$work/nats"
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$work/nats" -l "$work/nats.log" &
nats_pid=$!; pids+=("$nats_pid")

upstream_port=$(free_port)
"$helper" upstream "$upstream_port" >/dev/null &
upstream_pid=$!; pids+=("$upstream_pid")
common=(--preset standard-webhooks --secret "$SECRET" --memory-capacity 3000000)
up_port=$(free_port)
"$bin" proxy --listen "127.0.0.1:$up_port" --upstream "http://127.0.0.1:$upstream_port" "${common[@]}" \
    >/dev/null 2>"$work/upstream.log" &
up_pid=$!; pids+=("$up_pid")
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.05; done
amqp_port=$(free_port)
"$bin" proxy --listen "127.0.0.1:$amqp_port" --publish "amqp://guest:guest@127.0.0.1:5672/$vhost?queue=bench" "${common[@]}" \
    >/dev/null 2>"$work/amqp.log" &
amqp_pid=$!; pids+=("$amqp_pid")
nats_proxy_port=$(free_port)
"$bin" proxy --listen "127.0.0.1:$nats_proxy_port" --publish "nats://127.0.0.1:$nats_port?subject=bench.{preset}&stream=BENCH" "${common[@]}" \
    >/dev/null 2>"$work/nats-proxy.log" &
nats_proxy_pid=$!; pids+=("$nats_proxy_pid")
wait_http "http://127.0.0.1:$upstream_port/"
wait_http "http://127.0.0.1:$up_port/healthz"
wait_http "http://127.0.0.1:$amqp_port/healthz"
wait_http "http://127.0.0.1:$nats_proxy_port/healthz"

ticks_per_s=$(getconf CLK_TCK)
cpu() { if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"[{]" {s += $2} END {print s + 0}'; }

# run LABEL PORT PROXY_PID BROKER_PID → rps p99_ms proxy_us broker_us
run() {
    local label=$1 port=$2 proxy_pid=$3 broker_pid=$4 duration=${5:-$DURATION}
    local tag; tag=$(date +%s%N)
    local dir="$work/run$tag"; mkdir -p "$dir"
    "$helper" deliveries "$COUNT" "r$tag" "$dir"
    local p0 b0 p1 b1 out
    p0=$(cpu "$proxy_pid"); b0=$(cpu "$broker_pid")
    out=$(DELIVERIES="$dir/deliveries" BODY="$dir/body" WRK_THREADS=1 \
        wrk -t1 -c"$CONNECTIONS" -d"$duration" --latency -s "$lua" "http://127.0.0.1:$port/hooks")
    p1=$(cpu "$proxy_pid"); b1=$(cpu "$broker_pid")
    rm -rf "$dir"
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        echo "benches/publish_load.sh: $label: errors:" >&2; echo "$out" >&2; tail -20 "$work"/*.log >&2; exit 1
    fi
    local n; n=$(awk '/requests in/ {print $1}' <<<"$out")
    local ms='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }'
    awk -v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" -v p99="$(awk "$ms"' / 99%/ {print ms($2)}' <<<"$out")" \
        -v n="$n" -v p="$((p1 - p0))" -v b="$((b1 - b0))" -v t="$ticks_per_s" \
        'BEGIN { printf "%s %s %.1f %.1f\n", rps, p99, p * 1e6 / t / n, b * 1e6 / t / n }'
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "wrk -t1 -c$CONNECTIONS -d$DURATION; 1 KiB Standard Webhooks deliveries, each a distinct event; memory store; RUST_LOG=$RUST_LOG"
run warmup "$up_port" "$up_pid" "" 3s >/dev/null
run warmup "$amqp_port" "$amqp_pid" "$rabbit_pid" 3s >/dev/null
run warmup "$nats_proxy_port" "$nats_proxy_pid" "$nats_pid" 3s >/dev/null

declare -A sum
add() { sum[$1]=$(awk -v a="${sum[$1]:-0}" -v b="$2" 'BEGIN {print a + b}'); }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
for round in $(seq "$ROUNDS"); do
    read -r u_rps u_p99 u_p _ <<<"$(run upstream "$up_port" "$up_pid" "")"
    read -r a_rps a_p99 a_p a_b <<<"$(run rabbitmq "$amqp_port" "$amqp_pid" "$rabbit_pid")"
    read -r n_rps n_p99 n_p n_b <<<"$(run nats "$nats_proxy_port" "$nats_proxy_pid" "$nats_pid")"
    printf 'round %s: upstream %6.0f req/s p99 %6.2f ms | rabbitmq %6.0f req/s p99 %6.2f ms (%s) | nats %6.0f req/s p99 %6.2f ms (%s)\n' \
        "$round" "$u_rps" "$u_p99" "$a_rps" "$a_p99" "$(div "$a_rps" "$u_rps")" "$n_rps" "$n_p99" "$(div "$n_rps" "$u_rps")"
    for k in u_rps u_p99 u_p a_rps a_p99 a_p a_b n_rps n_p99 n_p n_b; do add "$k" "${!k}"; done
done
mean() { awk -v s="${sum[$1]}" -v n="$ROUNDS" 'BEGIN {printf "%.1f", s / n}'; }
ratio() { awk -v a="${sum[$1]}" -v b="${sum[$2]}" 'BEGIN {printf "%.3f", a / b}'; }
echo "mean of $ROUNDS rounds:"
printf '  throughput: upstream %s req/s; publish/rabbitmq %s req/s (%s x upstream); publish/nats %s req/s (%s x upstream)\n' \
    "$(mean u_rps)" "$(mean a_rps)" "$(ratio a_rps u_rps)" "$(mean n_rps)" "$(ratio n_rps u_rps)"
printf '  p99: upstream %s ms; rabbitmq %s ms; nats %s ms\n' "$(mean u_p99)" "$(mean a_p99)" "$(mean n_p99)"
printf '  CPU µs per request: proxy upstream-mode %s | proxy rabbitmq-mode %s + rabbitmq (beam, whole node) %s | proxy nats-mode %s + nats-server %s\n' \
    "$(mean u_p)" "$(mean a_p)" "$(mean a_b)" "$(mean n_p)" "$(mean n_b)"

# Nothing lost, nothing doubled: what the brokers hold equals what the proxies published.
a_pub=$(metric "$amqp_port" countersign_published_total)
a_held=$(rabbitmqctl list_queues -p "$vhost" name messages 2>/dev/null | awk '$1 == "bench" {print $2}')
n_pub=$(metric "$nats_proxy_port" countersign_published_total)
n_held=$(curl -s "http://127.0.0.1:$nats_proxy_port/metrics" >/dev/null; python3 - "$nats_port" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
f.readline()  # INFO
s.sendall(b'CONNECT {"verbose":false,"headers":true}\r\nSUB _INBOX.x 1\r\nPUB $JS.API.STREAM.INFO.BENCH _INBOX.x 0\r\n\r\nPING\r\n')
while True:
    line = f.readline()
    if line.startswith(b"MSG"):
        n = int(line.split()[-1])
        info = json.loads(f.read(n + 2))
        print(info["state"]["messages"])
        break
PY
)
echo "  broker check: rabbitmq published $a_pub, queue holds $a_held; nats published $n_pub, stream holds $n_held"
if [ "$a_pub" != "$a_held" ] || [ "$n_pub" != "$n_held" ]; then
    echo "benches/publish_load.sh: the brokers do not hold what was published" >&2; exit 1
fi
