//! Dev-only helpers for countersign's tests and benches: throwaway `redis-server` processes
//! (single node and a 3-master Redis Cluster) on free ports.
//!
//! - [`redis`] gives a single node: the server at `REDIS_URL` when that is set, otherwise a
//!   fresh `redis-server --save '' --appendonly no` on a free port of 127.0.0.1.
//! - [`redis_cluster`] gives a cluster: the nodes in `REDIS_CLUSTER_URLS` (comma separated)
//!   when set, otherwise three fresh `cluster-enabled yes` masters joined with
//!   `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`.
//! - [`RedisServer`] spawns, kills (`SIGKILL`) and restarts one server on the same port, for
//!   chaos tests.
//!
//! - [`NatsServer`], [`RabbitVhost`], [`rabbitmq_url`], [`nats_url`]: the brokers of the
//!   publish suites (a throwaway `nats-server -js`; a RabbitMQ vhost created and deleted
//!   with `rabbitmqctl`).
//!
//! - [`PgDatabase`]: a PostgreSQL database of the test's own on the machine's server
//!   (`DATABASE_URL` / `POSTGRES_URL` to use another), dropped with the guard.
//!
//! - [`signed`] and [`verified`]: deliveries signed the way the providers sign them, and real
//!   proofs for the layers behind the verifier.
//!
//! - With the `dedup` feature: [`StoreHarness`] (one dedup store per [`StoreKind`] on real
//!   servers, and what it holds), [`serve`], [`client`], [`send`] and [`Effects`] — the
//!   HTTP side of the suites that serve an app on 127.0.0.1:0 (the root crate's full-stack
//!   suite, countersign-dedup's end-to-end suite).
//!
//! Everything spawned is killed when its guard drops, and, should the test process die
//! without unwinding, by a watchdog shell loop that outlives it by at most half a second.
//! Servers named by `REDIS_URL` / `REDIS_CLUSTER_URLS` are never flushed, killed or
//! reconfigured: tests keep their keys apart with [`unique_prefix`].
//!
//! When `redis-server` or `redis-cli` cannot be found or started, these helpers panic with a
//! message saying how to install them: the Redis suites fail, they never skip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failure to set up Redis must fail the test loudly"
)]

mod broker;
mod postgres;
#[cfg(feature = "dedup")]
mod store;
#[cfg(feature = "dedup")]
mod web;

#[cfg(feature = "dedup")]
pub use store::{StoreHarness, StoreKind, redis_store};
#[cfg(feature = "dedup")]
pub use web::{Answer, Effects, HttpClient, Served, client, send, serve};

pub use broker::{
    BROKER_HINT, NatsServer, RabbitVhost, TANSU_HINT, TansuServer, nats_url, rabbitmq_url,
    tansu_bin, unique_name,
};
pub use postgres::{POSTGRES_HINT, PgDatabase, postgres_url, psql};

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How to get Redis onto a fresh machine; part of every setup failure message.
pub const INSTALL_HINT: &str = "the dedup test suites run against a real redis-server (single node \
and a 3-master cluster) and need `redis-server` and `redis-cli` on PATH (or REDIS_SERVER / \
REDIS_CLI naming the binaries, or REDIS_URL / REDIS_CLUSTER_URLS naming running servers). \
Install them with `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` \
(macOS); `bash scripts/test.sh` installs them on Debian and runs every test";

/// Runs `redis-server` under a watchdog: the server is SIGKILLed when the test process (the
/// watchdog's first argument) goes away, even if it never ran its destructors.
const WATCHDOG: &str = r#"parent=$1; shift
"$@" </dev/null >/dev/null 2>&1 &
srv=$!
echo "$srv"
while kill -0 "$parent" 2>/dev/null && kill -0 "$srv" 2>/dev/null; do sleep 0.5; done
kill -9 "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
exit 0"#;

fn server_bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

fn cli_bin() -> String {
    std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned())
}

/// Panics with [`INSTALL_HINT`] unless both binaries run.
fn require_binaries() {
    for bin in [server_bin(), cli_bin()] {
        let ok = Command::new(&bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "`{bin} --version` did not run: {INSTALL_HINT}");
    }
}

/// A namespace for one test's keys on a shared server, unique per process and call.
#[must_use]
pub fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "cstest:{}:{}:{}:{}:",
        test,
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A port on 127.0.0.1 that is free now (and, for cluster nodes, whose bus port
/// `port + 10000` is free too). Another process may still take it before the server binds;
/// callers retry.
fn free_port(cluster_bus: bool) -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if !cluster_bus {
            return port;
        }
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair found on 127.0.0.1");
}

fn temp_dir(port: u16) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "countersign-redis-{}-{}-{}",
        std::process::id(),
        port,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir for redis-server");
    dir
}

/// Sends one inline command over a fresh TCP connection and returns the first reply line.
fn inline_command(port: u16, command: &str, timeout: Duration) -> std::io::Result<String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(command.as_bytes())?;
    stream.write_all(b"\r\n")?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line.trim_end().to_owned())
}

/// One `redis-server` process this test started, with a watchdog; killed on drop.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    cluster: bool,
    /// Extra `redis-server` arguments (after the defaults, so they override them).
    extra: Vec<String>,
    watchdog: Option<Child>,
    pid: Option<u32>,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("pid", &self.pid)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts a single-node server on a free port.
    ///
    /// # Panics
    /// When `redis-server` is missing or will not start (with [`INSTALL_HINT`]).
    #[must_use]
    pub fn start() -> RedisServer {
        Self::start_kind(false, &[])
    }

    /// Starts a single-node server with extra arguments after the defaults, which they
    /// override: e.g. `["--appendonly", "yes", "--appendfsync", "always"]` for a server that
    /// keeps what it acknowledged across [`kill`](Self::kill) and [`restart`](Self::restart)
    /// (the AOF lives in the server's directory, kept until drop).
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_with(args: &[&str]) -> RedisServer {
        Self::start_kind(false, args)
    }

    /// Starts a `cluster-enabled yes` node on a free port (not yet part of a cluster).
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_cluster_node() -> RedisServer {
        Self::start_kind(true, &[])
    }

    fn start_kind(cluster: bool, extra: &[&str]) -> RedisServer {
        require_binaries();
        let mut last_error = String::new();
        for _ in 0..8 {
            let port = free_port(cluster);
            let mut server = RedisServer {
                port,
                dir: temp_dir(port),
                cluster,
                extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                watchdog: None,
                pid: None,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("redis-server would not start: {last_error}\n{INSTALL_HINT}");
    }

    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let dir = self.dir.display().to_string();
        let log = self.dir.join("redis.log").display().to_string();
        let mut args: Vec<String> = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            &dir,
            "--logfile",
            &log,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if self.cluster {
            for a in [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
            ] {
                args.push(a.to_owned());
            }
        }
        args.extend(self.extra.iter().cloned());
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("countersign-redis-watchdog")
            .arg(std::process::id().to_string())
            .arg(server_bin())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh for redis-server: {e}"))?;
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut first);
        }
        self.pid = first.trim().parse().ok();
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if inline_command(self.port, "PING", Duration::from_millis(500))
                .is_ok_and(|r| r == "+PONG")
            {
                return Ok(());
            }
            let exited = self
                .watchdog
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                self.kill();
                return Err(format!(
                    "redis-server on port {} did not answer PING; log tail:\n{}",
                    self.port,
                    log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's working directory (log, `nodes.conf`).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is running (it answers PING).
    #[must_use]
    pub fn is_up(&self) -> bool {
        inline_command(self.port, "PING", Duration::from_millis(200)).is_ok_and(|r| r == "+PONG")
    }

    /// SIGKILLs the server (no shutdown, no save). The directory is kept for [`restart`].
    ///
    /// [`restart`]: RedisServer::restart
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut child) = self.watchdog.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (a cluster node keeps its
    /// `nodes.conf`, so it rejoins its cluster; the data is gone, as after any restart without
    /// persistence).
    ///
    /// # Panics
    /// When it does not come back within 10 s.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("restart failed: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Runs `redis-cli -h 127.0.0.1 -p <port> <args>` and returns its stdout.
    ///
    /// # Panics
    /// When `redis-cli` cannot run.
    #[must_use]
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `redis-cli -h 127.0.0.1 -p <port> <args>` and returns its stdout.
///
/// # Panics
/// When `redis-cli` cannot run.
#[must_use]
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(cli_bin())
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}\n{INSTALL_HINT}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Per-command call counts from `INFO commandstats` (`set` → calls), on a server this process
/// may query. Keys are lower-case command names (`set`, `evalsha`, `info`, …).
///
/// # Panics
/// When the reply cannot be read.
#[must_use]
pub fn command_calls(port: u16) -> std::collections::BTreeMap<String, u64> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    stream
        .write_all(b"INFO commandstats\r\n")
        .expect("write INFO");
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).expect("read INFO header");
    let len: usize = header
        .trim_end()
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected INFO reply {header:?}"));
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("read INFO body");
    let body = String::from_utf8_lossy(&body);
    body.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// A Redis Cluster of `cluster-enabled` masters this test started; killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes (at least 3) and joins them with
    /// `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, then waits until every
    /// node reports `cluster_state:ok`.
    ///
    /// # Panics
    /// When Redis is missing or the cluster does not form within 30 s.
    #[must_use]
    pub fn start(masters: usize) -> RedisCluster {
        assert!(masters >= 3, "Redis Cluster needs at least 3 masters");
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| RedisServer::start_cluster_node())
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let out = Command::new(cli_bin())
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}\n{INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_ok(Duration::from_secs(30));
        cluster
    }

    /// Waits until every node reports `cluster_state:ok` and knows all nodes.
    ///
    /// # Panics
    /// When that does not happen within `timeout`.
    pub fn wait_ok(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let want_known = format!("cluster_known_nodes:{}", self.nodes.len());
        loop {
            let ok = self.nodes.iter().all(|n| {
                let info = n.cli(&["cluster", "info"]);
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_assigned:16384")
                    && info.contains(&want_known)
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Redis Cluster did not reach cluster_state:ok within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis://127.0.0.1:<port>/` of every node.
    #[must_use]
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes.
    #[must_use]
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The nodes, for chaos tests.
    pub fn nodes_mut(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }
}

/// A single Redis node for a test: spawned here, or the one at `REDIS_URL`.
#[derive(Debug)]
pub enum Redis {
    /// Started by this process; killed on drop.
    Spawned(RedisServer),
    /// Named by `REDIS_URL`; never flushed or killed.
    External(String),
}

impl Redis {
    /// The connection URL.
    #[must_use]
    pub fn url(&self) -> String {
        match self {
            Redis::Spawned(s) => s.url(),
            Redis::External(u) => u.clone(),
        }
    }

    /// The server when this process started it.
    #[must_use]
    pub fn spawned(&self) -> Option<&RedisServer> {
        match self {
            Redis::Spawned(s) => Some(s),
            Redis::External(_) => None,
        }
    }
}

/// `REDIS_URL` when set, otherwise a fresh server on a free port.
///
/// # Panics
/// When no server can be had (with [`INSTALL_HINT`]).
#[must_use]
pub fn redis() -> Redis {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Redis::External(url.trim().to_owned()),
        _ => Redis::Spawned(RedisServer::start()),
    }
}

/// A Redis Cluster for a test: spawned here, or the nodes in `REDIS_CLUSTER_URLS`.
#[derive(Debug)]
pub enum Cluster {
    /// Started by this process; killed on drop.
    Spawned(RedisCluster),
    /// Named by `REDIS_CLUSTER_URLS`; never flushed or killed.
    External(Vec<String>),
}

impl Cluster {
    /// The node URLs.
    #[must_use]
    pub fn urls(&self) -> Vec<String> {
        match self {
            Cluster::Spawned(c) => c.urls(),
            Cluster::External(u) => u.clone(),
        }
    }
}

/// `REDIS_CLUSTER_URLS` (comma separated) when set, otherwise a fresh 3-master cluster.
///
/// # Panics
/// When no cluster can be had (with [`INSTALL_HINT`]).
#[must_use]
pub fn redis_cluster() -> Cluster {
    match std::env::var("REDIS_CLUSTER_URLS") {
        Ok(urls) if !urls.trim().is_empty() => Cluster::External(
            urls.split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect(),
        ),
        _ => Cluster::Spawned(RedisCluster::start(3)),
    }
}

/// The secret [`verified`] signs and verifies with (a valid Standard Webhooks secret; raw key
/// bytes for the other presets).
pub const TEST_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A real [`Verified`](countersign_core::Verified) of `preset` carrying `id` (when the preset
/// has an event id): a delivery is signed with [`TEST_SECRET`] and verified, because only a
/// verifier can make one. The body is `{"id":"<id>"}` so body-borne ids (Stripe) work too.
///
/// For tests of the layers behind `VerifyLayer` (dedup, inbox) that insert the proof into a
/// request's extensions themselves.
pub fn verified(preset: countersign_core::Preset, id: Option<&str>) -> countersign_core::Verified {
    use countersign_core::{Delivery, SignRequest, Signer, Verifier};
    let body = match id {
        Some(id) => format!(r#"{{"id":"{id}"}}"#),
        None => "{}".to_owned(),
    };
    let mut request = SignRequest::new(body.as_bytes());
    if let Some(id) = id {
        request = request.id(id);
    }
    let headers = Signer::new(preset, TEST_SECRET)
        .unwrap()
        .sign(&request)
        .unwrap();
    Verifier::new(preset, TEST_SECRET)
        .unwrap()
        .verify(&Delivery::new(&headers, body.as_bytes()))
        .unwrap()
}

/// The headers `preset` sends with `body` (event `id`, at `at` seconds since the epoch),
/// signed with `secret` by countersign's [`Signer`](countersign_core::Signer).
///
/// # Panics
/// When `secret` is not a valid secret of `preset`.
#[must_use]
pub fn signed(
    preset: countersign_core::Preset,
    secret: &str,
    id: &str,
    body: &[u8],
    at: Duration,
) -> ::http::HeaderMap {
    use countersign_core::{SignRequest, Signer};
    Signer::new(preset, secret)
        .unwrap()
        .sign(&SignRequest::new(body).id(id).timestamp(at))
        .unwrap()
}
