#!/usr/bin/env bash
# Runs every test of the workspace, after bringing up what the tests need.
#
# The Redis and Redis Cluster suites spawn their own throwaway `redis-server` processes on
# free ports (or use REDIS_URL / REDIS_CLUSTER_URLS when set), so redis-server and redis-cli
# must be installed. They are installed from Debian's packages when missing. The suites never
# skip: without Redis the run fails.
#
# The publish suites talk to a real RabbitMQ (127.0.0.1:5672, guest/guest) and a real NATS
# server with JetStream (127.0.0.1:4222), and start throwaway nats-server processes and
# RabbitMQ vhosts of their own. Both brokers are installed from Debian's packages
# (rabbitmq-server, nats-server) when missing and started when not running; the run fails
# when they do not answer. RABBITMQ_URL / NATS_URL point the suites elsewhere instead.
#
# The Kafka publish suites start throwaway `tansu` brokers (a Kafka-protocol broker, memory
# storage) on free ports. tansu is installed with cargo when missing (about 11 minutes the
# first time, cached after): `cargo install --locked tansu --version 0.6.0 --features
# dynostore`; the run fails when it cannot be installed. TANSU names another binary.
#
# The PostgreSQL inbox suites create (and drop) databases of their own on the server at
# 127.0.0.1:5432 as user postgres. PostgreSQL is installed from Debian's packages
# (postgresql) when missing and its cluster started when nothing answers on 5432; the run
# fails when it cannot connect. DATABASE_URL (or POSTGRES_URL) names another server and a
# role that may CREATE DATABASE instead.
set -euo pipefail
cd "$(dirname "$0")/.."

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
have_curl() { command -v curl >/dev/null 2>&1; }
have_rabbitmq() { command -v rabbitmq-server >/dev/null 2>&1 && command -v rabbitmqctl >/dev/null 2>&1; }
have_nats() { command -v nats-server >/dev/null 2>&1; }
have_postgres() { command -v psql >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; }
pg_url() { echo "${DATABASE_URL:-${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"; }
# Whether something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Debian packages the tests need: redis-server (+ redis-cli) and curl (the quickstart test
# runs the example's printed curl commands exactly as a user would).
missing=()
have_redis || missing+=(redis-server)
have_curl || missing+=(curl)
if [ -z "${RABBITMQ_URL:-}" ] && ! have_rabbitmq; then missing+=(rabbitmq-server); fi
if [ -z "${NATS_URL:-}" ] && ! have_nats; then missing+=(nats-server); fi
if [ -z "${DATABASE_URL:-}${POSTGRES_URL:-}" ] && ! have_postgres; then missing+=(postgresql); fi
if ! command -v psql >/dev/null 2>&1; then missing+=(postgresql-client); fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts/test.sh: installing missing Debian packages: ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2 || true
fi
if ! have_curl; then
    echo "scripts/test.sh: FATAL: curl is required (sudo apt-get install curl)" >&2
    exit 1
fi
if ! have_redis; then
    cat >&2 <<'MSG'
scripts/test.sh: FATAL: redis-server and redis-cli are required (the dedup suites run against
real Redis, single node and a 3-master cluster) and could not be installed automatically.
Install them with:   sudo apt-get install redis-server      (Debian/Ubuntu)
               or:   brew install redis                      (macOS)
MSG
    exit 1
fi

# Waits up to $2 seconds for 127.0.0.1:$1; fails loudly with $3.
wait_for_port() {
    local port=$1 seconds=$2 what=$3
    for _ in $(seq 1 "$seconds"); do
        if listening "$port"; then return 0; fi
        sleep 1
    done
    echo "scripts/test.sh: FATAL: $what is not answering on 127.0.0.1:$port after ${seconds}s" >&2
    exit 1
}

if [ -z "${RABBITMQ_URL:-}" ]; then
    if ! have_rabbitmq; then
        echo "scripts/test.sh: FATAL: RabbitMQ is required (the publish suites); install it with: sudo apt-get install rabbitmq-server" >&2
        exit 1
    fi
    if ! listening 5672; then
        echo "scripts/test.sh: starting RabbitMQ (rabbitmq-server -detached)" >&2
        rabbitmq-server -detached >&2 || true
    fi
    wait_for_port 5672 120 "RabbitMQ"
    # The suites create and delete vhosts of their own with rabbitmqctl.
    if ! rabbitmqctl await_startup >/dev/null 2>&1; then
        echo "scripts/test.sh: FATAL: rabbitmqctl cannot reach the running RabbitMQ (the publish suites create test vhosts with it)" >&2
        exit 1
    fi
fi
if [ -z "${NATS_URL:-}" ]; then
    if ! have_nats; then
        echo "scripts/test.sh: FATAL: nats-server is required (the publish suites); install it with: sudo apt-get install nats-server" >&2
        exit 1
    fi
    if ! listening 4222; then
        echo "scripts/test.sh: starting nats-server with JetStream on 127.0.0.1:4222" >&2
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo mkdir -p /var/lib/nats-server
        $sudo start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
            -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log >&2
    fi
    wait_for_port 4222 30 "nats-server"
fi

if [ -z "${DATABASE_URL:-}${POSTGRES_URL:-}" ]; then
    if ! have_postgres; then
        echo "scripts/test.sh: FATAL: PostgreSQL is required (the inbox suites); install it with: sudo apt-get install postgresql" >&2
        exit 1
    fi
    if ! listening 5432; then
        echo "scripts/test.sh: starting PostgreSQL (pg_ctlcluster $(ls /etc/postgresql | head -1) main start)" >&2
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
    fi
    wait_for_port 5432 60 "PostgreSQL"
    if ! psql -X -q -d "$(pg_url)" -c 'SELECT 1' >/dev/null 2>&1; then
        # A fresh Debian cluster asks TCP clients for a password: give the postgres role one
        # (over the local socket, as the postgres OS user) and use it.
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        if $sudo runuser -u postgres -- psql -X -q -c "ALTER ROLE postgres PASSWORD 'countersign-tests'" >/dev/null 2>&1; then
            export DATABASE_URL="postgres://postgres:countersign-tests@127.0.0.1:5432/postgres"
        fi
    fi
fi
if [ -z "${TANSU:-}" ]; then
    cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    if ! command -v tansu >/dev/null 2>&1 && ! [ -x "$cargo_bin/tansu" ]; then
        echo "scripts/test.sh: installing tansu (the Kafka suites' broker): cargo install --locked tansu --version 0.6.0 --features dynostore" >&2
        if ! cargo install --locked tansu --version 0.6.0 --features dynostore >&2; then
            echo "scripts/test.sh: FATAL: tansu could not be installed (the Kafka publish suites need it): cargo install --locked tansu --version 0.6.0 --features dynostore" >&2
            exit 1
        fi
    fi
    if ! command -v tansu >/dev/null 2>&1; then export PATH="$cargo_bin:$PATH"; fi
    if ! tansu --version >/dev/null 2>&1; then
        echo "scripts/test.sh: FATAL: tansu is installed but does not run (tansu --version)" >&2
        exit 1
    fi
fi

for _ in $(seq 1 30); do
    if psql -X -q -d "$(pg_url)" -c 'SELECT 1' >/dev/null 2>&1; then break; fi
    sleep 1
done
if ! psql -X -q -d "$(pg_url)" -c 'SELECT 1' >/dev/null; then
    echo "scripts/test.sh: FATAL: cannot connect to PostgreSQL at $(pg_url | sed 's#://\([^:@/]*\):[^@]*@#://\1:***@#') (the inbox suites need a role that may CREATE DATABASE)" >&2
    exit 1
fi

cargo test --workspace --all-features --locked "$@"
