# Shell functions shared by the queued-delivery load scripts (benches/inbox_load.sh,
# benches/inbox_redis_load.sh); sourced, not run. The caller sets: bench (its own name, for
# messages), bin, deliv, upstream, lua, work, SECRET, COUNT; its EXIT trap calls
# stop_started.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "$bench: $1 did not come up" >&2; exit 1
}
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
now() { date +%s.%N; }

# start_upstream DELAY_MS RATE → prints its port
start_upstream() {
    local port; port=$(free_port)
    "$upstream" upstream "$port" "$1" "$2" >/dev/null 2>&1 &
    echo "$!" >>"$work/started"
    wait_http "http://127.0.0.1:$port/count"
    echo "$port"
}
# start_proxy UPSTREAM_PORT [extra flags…] → prints its port
start_proxy() {
    local up=$1; shift
    local port; port=$(free_port)
    "$bin" proxy --listen "127.0.0.1:$port" --upstream "http://127.0.0.1:$up" \
        --preset standard-webhooks --secret "$SECRET" "$@" >/dev/null 2>>"$work/proxy.log" &
    echo "$!" >>"$work/started"
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
        echo "$bench: errors:" >&2; echo "$out" >&2; exit 1
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
            echo "$bench: queue did not drain in ${timeout}s: $s" >&2; exit 1
        fi
        sleep 0.2
    done
    local t1; t1=$(now)
    local s c; s=$("$bin" inbox --inbox "$url" stats); c=$(count "$up")
    local done dead hits distinct
    done=$(json "$s" done); dead=$(json "$s" dead); hits=$(json "$c" hits); distinct=$(json "$c" distinct)
    if [ "$dead" != 0 ] || [ "$distinct" != "$done" ] || [ "$hits" != "$distinct" ] || [ "$done" -lt "$min" ]; then
        echo "$bench: check failed: inbox $s, upstream $c, wrk answers $min" >&2; exit 1
    fi
    awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}'
}
check_direct() {
    local c; c=$(count "$1")
    if [ "$(json "$c" hits)" != "$(json "$c" distinct)" ] || [ "$(json "$c" distinct)" -lt "$2" ]; then
        echo "$bench: direct check failed: upstream $c, wrk answers $2" >&2; exit 1
    fi
}

# start_upstream and start_proxy run in $(…) subshells, where an array of the caller cannot
# collect their pids: they write them to $work/started. stop_started kills them (SIGKILL: a
# proxy given SIGTERM would go on delivering its queue during its grace period).
stop_started() {
    [ -f "$work/started" ] || return 0
    while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$work/started"
    rm -f "$work/started"
}
