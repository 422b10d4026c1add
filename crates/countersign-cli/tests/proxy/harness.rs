//! The pieces every proxy test uses: the `countersign proxy` binary as a child process, a
//! counting upstream (hyper on 127.0.0.1:0 in the test process), real HTTP clients, signing,
//! and a look at the Redis keys.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use countersign_core::{Preset, SignRequest, Signer};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

/// Decodes as base64 after `whsec_` (Standard Webhooks) and works as raw bytes elsewhere.
pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A scratch directory removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "countersign-proxy-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub(crate) fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `countersign proxy …` running as a child process.
pub(crate) struct Proxy {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    _stdout: BufReader<ChildStdout>,
    _scratch: Scratch,
}

impl Proxy {
    /// Starts the proxy with `args` (plus `--listen 127.0.0.1:0` unless given) and waits for
    /// the address it prints.
    pub(crate) fn start(args: &[&str]) -> Proxy {
        Self::start_with_env(args, &[])
    }

    /// One `standard-webhooks` route (secret [`SECRET`]) in front of `upstream`, plus `extra`.
    pub(crate) fn standard_webhooks(upstream: &str, extra: &[&str]) -> Proxy {
        let mut args = vec![
            "--upstream",
            upstream,
            "--preset",
            "standard-webhooks",
            "--secret",
            SECRET,
        ];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Proxy {
        let scratch = Scratch::new();
        let log = scratch.0.join("proxy.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_countersign"));
        cmd.arg("proxy").args(args);
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap());
        let mut child = cmd.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(addr) = line
            .trim()
            .strip_prefix("countersign proxy listening on http://")
            .and_then(|a| a.parse().ok())
        else {
            let status = child.wait().unwrap();
            panic!(
                "the proxy did not start ({status}); stdout {line:?}; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Proxy {
            child,
            addr,
            log,
            _stdout: stdout,
            _scratch: scratch,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the proxy logged so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub(crate) async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "the proxy did not exit within {timeout:?}; log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- proxy log ---\n{}", self.logs());
        }
    }
}

/// What the upstream does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `200 processed`.
    Ok,
    /// This status.
    Status(StatusCode),
    /// `200` after a pause.
    Delay(Duration),
    /// Never answers.
    Hang,
    /// `200` with a body of this many bytes.
    Large(usize),
}

/// One request the upstream received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) uri: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

#[derive(Debug)]
pub(crate) struct UpstreamState {
    pub(crate) hits: AtomicUsize,
    pub(crate) seen: Mutex<Vec<Seen>>,
    pub(crate) mode: Mutex<Mode>,
}

/// A counting upstream on 127.0.0.1:0, served by hyper in the test's runtime.
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<UpstreamState>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub(crate) async fn start() -> Upstream {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// An upstream on `addr` (e.g. one that comes back on the port it had).
    pub(crate) async fn start_on(addr: SocketAddr) -> Upstream {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(UpstreamState {
            hits: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Ok),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(answer(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Upstream { addr, state, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    pub(crate) fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// How many times the upstream received event `id` (its `Countersign-Event-Id`).
    pub(crate) fn hits_for(&self, id: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| {
                s.headers
                    .get("countersign-event-id")
                    .is_some_and(|v| v == id)
            })
            .count()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: &UpstreamState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers,
        body,
    });
    state.hits.fetch_add(1, Ordering::SeqCst);
    let mode = *state.mode.lock().unwrap();
    let status = match mode {
        Mode::Ok => StatusCode::OK,
        Mode::Status(s) => s,
        Mode::Delay(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
        Mode::Large(n) => {
            return Response::new(Full::new(Bytes::from(vec![b'x'; n])));
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(format!(
        "upstream answered {}",
        status.as_u16()
    ))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("x-upstream", HeaderValue::from_static("yes"));
    response
}

/// A response, read completely.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A pooled keep-alive client.
pub(crate) fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// POSTs `body` with `headers` to `url`.
pub(crate) async fn post(url: &str, headers: &HeaderMap, body: &[u8]) -> Answer {
    let mut req = Request::post(url)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    req.headers_mut().extend(headers.clone());
    send(&client(), req).await
}

pub(crate) async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Answer {
    let response = client.request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub(crate) async fn get(url: &str) -> Answer {
    let req = Request::get(url).body(Full::new(Bytes::new())).unwrap();
    send(&client(), req).await
}

/// POSTs over a fresh connection that is closed afterwards; `Err` describes a transport
/// failure (refused, reset, closed before an answer).
pub(crate) async fn post_once(
    addr: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    let mut req = Request::post(path)
        .header("host", addr.to_string())
        .header("connection", "close")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    req.headers_mut().extend(headers.clone());
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// The headers `preset` sends with `body` for event `id`, signed now with `secret`.
pub(crate) fn signed(preset: Preset, secret: &str, id: &str, body: &[u8]) -> HeaderMap {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Signer::new(preset, secret)
        .unwrap()
        .sign(&SignRequest::new(body).id(id).timestamp(now))
        .unwrap()
}

/// The status `url` answers a `preset` delivery (a new event each time) signed with `secret`.
pub(crate) async fn status_signed_with(url: &str, preset: Preset, secret: &str) -> StatusCode {
    let body = br#"{"zen":"rotate"}"#;
    let headers = signed(preset, secret, &unique_id("rot"), body);
    post(url, &headers, body).await.status
}

/// Sends `preset` deliveries signed with `secret` to `url` every 200 ms until one is answered
/// `want` (a rotated secret or key taken into use, or dropped), at most 10 s; how long it took.
pub(crate) async fn until_status(
    url: &str,
    preset: Preset,
    secret: &str,
    want: StatusCode,
) -> Duration {
    let started = std::time::Instant::now();
    while status_signed_with(url, preset, secret).await != want {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "`{secret}` was not answered {want} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

/// A Standard Webhooks delivery of event `id`.
pub(crate) fn delivery(id: &str, body: &[u8]) -> HeaderMap {
    signed(Preset::StandardWebhooks, SECRET, id, body)
}

/// A unique event id.
pub(crate) fn unique_id(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "msg_{tag}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every key under `prefix` with its value (`c:<fence>` claimed, `d:<status>` done).
pub(crate) fn redis_keys(url: &str, prefix: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap();
    keys.into_iter()
        .filter_map(|k| {
            let v: Option<String> = redis::cmd("GET").arg(&k).query(&mut conn).unwrap();
            v.map(|v| (k, v))
        })
        .collect()
}

/// Writes `request` (raw bytes) on a fresh connection and reads until the proxy closes it
/// (send `Connection: close`); the response as text.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A raw HTTP/1.1 request: `method target`, `headers` (plus Host, Content-Length and
/// `Connection: close`), then `body`.
pub(crate) fn raw_request(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A header map as raw `(name, value)` pairs.
pub(crate) fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// The status code of a raw response.
pub(crate) fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// A port nothing listens on (for flags that need a fixed address).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
