//! Message brokers for the publish suites: the machine's RabbitMQ and NATS (JetStream), a
//! throwaway `nats-server` or `tansu` (Kafka-protocol) broker the test owns, and RabbitMQ
//! vhosts a test creates and deletes.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{WATCHDOG, free_port, unique_prefix};

/// How to get the brokers onto a fresh machine; part of every setup failure message.
pub const BROKER_HINT: &str = "the publish suites run against a real RabbitMQ (127.0.0.1:5672, \
guest/guest, or RABBITMQ_URL) and a real NATS server with JetStream (127.0.0.1:4222, or \
NATS_URL), and start throwaway `nats-server` processes. `bash scripts/test.sh` installs \
`rabbitmq-server` and `nats-server` from Debian's packages when missing and starts both";

fn reachable(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// The RabbitMQ URL of the shared broker (`RABBITMQ_URL`, default
/// `amqp://guest:guest@127.0.0.1:5672/%2f`).
///
/// # Panics
/// When 127.0.0.1:5672 does not accept connections (and `RABBITMQ_URL` is unset).
#[must_use]
pub fn rabbitmq_url() -> String {
    if let Ok(url) = std::env::var("RABBITMQ_URL") {
        return url;
    }
    assert!(
        reachable(([127, 0, 0, 1], 5672).into()),
        "RabbitMQ is not listening on 127.0.0.1:5672: {BROKER_HINT}"
    );
    "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned()
}

/// The NATS URL of the shared server (`NATS_URL`, default `nats://127.0.0.1:4222`).
///
/// # Panics
/// When 127.0.0.1:4222 does not accept connections (and `NATS_URL` is unset).
#[must_use]
pub fn nats_url() -> String {
    if let Ok(url) = std::env::var("NATS_URL") {
        return url;
    }
    assert!(
        reachable(([127, 0, 0, 1], 4222).into()),
        "NATS is not listening on 127.0.0.1:4222: {BROKER_HINT}"
    );
    "nats://127.0.0.1:4222".to_owned()
}

/// A name for a test's queue, exchange, stream or vhost: `cs_<test>_<pid>_<n>`, only
/// `[A-Za-z0-9_]` (valid everywhere).
#[must_use]
pub fn unique_name(test: &str) -> String {
    unique_prefix(test)
        .trim_end_matches(':')
        .replace(':', "_")
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
}

fn rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run rabbitmqctl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "rabbitmqctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A RabbitMQ vhost this test created (with `rabbitmqctl`, permissions for `guest`); deleted
/// on drop. Deleting it closes every connection to it — a broker outage the test owns.
pub struct RabbitVhost {
    name: String,
    deleted: bool,
}

impl fmt::Debug for RabbitVhost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RabbitVhost")
            .field("name", &self.name)
            .finish()
    }
}

impl RabbitVhost {
    /// Creates a vhost named after `test`.
    ///
    /// # Panics
    /// When `rabbitmqctl` fails (not installed, broker down, not allowed).
    #[must_use]
    pub fn create(test: &str) -> RabbitVhost {
        let vhost = RabbitVhost {
            name: unique_name(test),
            deleted: true,
        };
        let mut vhost = vhost;
        vhost.add();
        vhost
    }

    fn add(&mut self) {
        rabbitmqctl(&["add_vhost", &self.name]).unwrap_or_else(|e| panic!("{e}\n{BROKER_HINT}"));
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &self.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ])
        .unwrap_or_else(|e| panic!("{e}\n{BROKER_HINT}"));
        self.deleted = false;
    }

    /// The vhost's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `amqp://guest:guest@127.0.0.1:5672/<vhost>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }

    /// Deletes the vhost (its queues, exchanges and connections go with it).
    pub fn delete(&mut self) {
        if !self.deleted {
            let _ = rabbitmqctl(&["delete_vhost", &self.name]);
            self.deleted = true;
        }
    }

    /// Creates it again (empty).
    pub fn recreate(&mut self) {
        self.delete();
        self.add();
    }
}

impl Drop for RabbitVhost {
    fn drop(&mut self) {
        self.delete();
    }
}

/// A `nats-server -js` this test started on a free port, with its own store directory,
/// under the same watchdog as the Redis servers; killed on drop.
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
    pid: Option<u32>,
}

impl fmt::Debug for NatsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsServer")
            .field("port", &self.port)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl NatsServer {
    /// Starts one.
    ///
    /// # Panics
    /// When `nats-server` is missing or will not start.
    #[must_use]
    pub fn start() -> NatsServer {
        let mut last = String::new();
        for _ in 0..8 {
            let port = free_port(false);
            let dir = std::env::temp_dir().join(unique_name(&format!("nats{port}")));
            std::fs::create_dir_all(&dir).expect("create nats store dir");
            let mut s = NatsServer {
                port,
                dir,
                watchdog: None,
                pid: None,
            };
            match s.spawn() {
                Ok(()) => return s,
                Err(e) => last = e,
            }
        }
        panic!("nats-server would not start: {last}\n{BROKER_HINT}");
    }

    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let dir = self.dir.display().to_string();
        let log = self.dir.join("nats.log").display().to_string();
        let bin = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned());
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("countersign-nats-watchdog")
            .arg(std::process::id().to_string())
            .arg(bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &port,
                "-js",
                "-sd",
                &dir,
                "-l",
                &log,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh for nats-server: {e}"))?;
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut first);
        }
        self.pid = first.trim().parse().ok();
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let log_path = self.dir.join("nats.log");
        loop {
            // Our own log says ready: the port answering could be another test's server
            // (a port reused between free_port and bind), whose INFO would fool `is_up`.
            let ready = std::fs::read_to_string(&log_path).is_ok_and(|l| {
                l.rsplit("Starting nats-server")
                    .next()
                    .is_some_and(|run| run.contains("Server is ready"))
            });
            if ready && self.is_up() {
                return Ok(());
            }
            let exited = self
                .watchdog
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default();
                self.kill();
                return Err(format!(
                    "nats-server on port {} did not answer; log tail:\n{}",
                    self.port,
                    log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers (sends its `INFO` line).
    #[must_use]
    pub fn is_up(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(200),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).is_ok() && &buf == b"INFO"
    }

    /// The port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `nats://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILLs it; the store directory stays for [`restart`](Self::restart).
    pub fn kill(&mut self) {
        self.resume();
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
        // Gone for good before returning.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_up() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes it (`SIGSTOP`): connections stay open, nothing is answered — a broker that
    /// has the message in its socket buffer but has not confirmed it yet. Returns once the
    /// kernel reports the process stopped.
    ///
    /// # Panics
    /// When it is not stopped within 5 s (the signal could not be sent).
    pub fn pause(&self) {
        let Some(pid) = self.pid else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            self.signal("-STOP");
            // /proc/PID/stat: "PID (comm) STATE …"; T = stopped.
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()))
                .flatten();
            if state == Some('T') {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server (pid {pid}) is not stopped: state {state:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Thaws it (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill")
                .args([sig, &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Starts it again on the same port and store (its streams and messages are kept).
    ///
    /// # Panics
    /// When it does not come back within 10 s.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("nats restart failed: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How to get tansu (the Kafka-protocol broker of the Kafka suites); part of every failure.
pub const TANSU_HINT: &str = "the Kafka suites start throwaway `tansu` brokers (an \
Apache-licensed Kafka-protocol broker, in-memory storage) on free ports. `bash scripts/test.sh` \
installs it when missing: `cargo install --locked tansu --version 0.6.0 --features dynostore` \
(set TANSU to use another binary)";

/// The tansu binary: `TANSU`, else `tansu` on the PATH, else `~/.cargo/bin/tansu`.
#[must_use]
pub fn tansu_bin() -> String {
    if let Ok(bin) = std::env::var("TANSU") {
        return bin;
    }
    let on_path = Command::new("tansu")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if on_path {
        return "tansu".to_owned();
    }
    std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("tansu").display().to_string())
        .unwrap_or_else(|_| "tansu".to_owned())
}

/// A `tansu broker` (memory storage) this test started on a free port, under the same
/// watchdog as the Redis servers; killed on drop. The memory storage loses every topic and
/// record when it stops: [`restart`](Self::restart) starts an empty broker on the same port.
pub struct TansuServer {
    port: u16,
    bin: String,
    watchdog: Option<Child>,
    pid: Option<u32>,
}

impl fmt::Debug for TansuServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TansuServer")
            .field("port", &self.port)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl TansuServer {
    /// Starts one.
    ///
    /// # Panics
    /// When `tansu` is missing or will not start (never skips).
    #[must_use]
    pub fn start() -> TansuServer {
        let bin = tansu_bin();
        let runs = Command::new(&bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(runs, "`{bin} --version` did not run: {TANSU_HINT}");
        let mut last = String::new();
        for _ in 0..8 {
            let mut s = TansuServer {
                port: free_port(false),
                bin: bin.clone(),
                watchdog: None,
                pid: None,
            };
            match s.spawn() {
                Ok(()) => return s,
                Err(e) => last = e,
            }
        }
        panic!("tansu would not start: {last}\n{TANSU_HINT}");
    }

    fn spawn(&mut self) -> Result<(), String> {
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("countersign-tansu-watchdog")
            .arg(std::process::id().to_string())
            .arg(&self.bin)
            .args([
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh for tansu: {e}"))?;
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut first);
        }
        self.pid = first.trim().parse().ok();
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.is_up() {
                return Ok(());
            }
            let exited = self
                .watchdog
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || Instant::now() > deadline {
                self.kill();
                return Err(format!("tansu on port {} did not answer", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether it answers a Kafka `ApiVersions` request (with our correlation id).
    #[must_use]
    pub fn is_up(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(200),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(1000)));
        // ApiVersions v0: api_key 18, version 0, correlation id, client id "probe".
        let mut body = Vec::new();
        body.extend_from_slice(&18i16.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&0x00c5_1a7e_i32.to_be_bytes());
        body.extend_from_slice(&5i16.to_be_bytes());
        body.extend_from_slice(b"probe");
        let mut frame = u32::try_from(body.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        frame.extend_from_slice(&body);
        if std::io::Write::write_all(&mut s, &frame).is_err() {
            return false;
        }
        let mut head = [0u8; 8];
        s.read_exact(&mut head).is_ok() && head[4..8] == 0x00c5_1a7e_i32.to_be_bytes()
    }

    /// The port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>` (a bootstrap broker).
    #[must_use]
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `kafka://127.0.0.1:<port>?topic=<topic>`.
    #[must_use]
    pub fn kafka_url(&self, topic: &str) -> String {
        format!("kafka://127.0.0.1:{}?topic={topic}", self.port)
    }

    /// Creates `topic` with `partitions` partitions through `tansu topic create`.
    ///
    /// # Panics
    /// When the command fails.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(&self.bin)
            .args([
                "topic",
                "create",
                topic,
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
                "--partitions",
                &partitions.to_string(),
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}\n{TANSU_HINT}", self.bin));
        assert!(
            out.status.success(),
            "tansu topic create {topic}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGKILLs it (every topic and record is gone: memory storage).
    pub fn kill(&mut self) {
        self.resume();
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
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(100),
        )
        .is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes it (`SIGSTOP`): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws it (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill")
                .args([sig, &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Starts it again, empty, on the same port.
    ///
    /// # Panics
    /// When it does not come back within 20 s.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("tansu restart failed: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for TansuServer {
    fn drop(&mut self) {
        self.kill();
    }
}
