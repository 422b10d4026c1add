//! Shared by the cross-crate tests: the full stack (`VerifyLayer` → `DedupLayer` → handler)
//! served by axum on 127.0.0.1:0, a real HTTP client, deliveries signed with countersign's
//! `Signer` the way the providers sign them, and one harness per dedup store (memory, a real
//! Redis node, a real Redis Cluster) that can list what the store holds.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::Bytes;
use countersign::dedup::{DUPLICATE_HEADER, DedupStats, DedupStore, RedisClusterStore};
use countersign::{
    DedupLayer, MemoryStore, Preset, RedisStore, SignRequest, Signer, Verified, Verifier,
    VerifyLayer,
};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub(crate) const STRIPE_SECRET: &str = "whsec_full_stack_stripe_secret";
pub(crate) const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub(crate) const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// Redis commands that write a dedup record (a claim, a completion, a release).
const WRITE_COMMANDS: &[&str] = &["set", "evalsha", "eval", "del"];

/// Which store a harness runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Memory,
    Redis,
    Cluster,
}

enum Backend {
    Memory(Arc<MemoryStore>),
    Redis {
        redis: countersign_testkit::Redis,
        prefix: String,
    },
    /// A node this test started itself (so it may kill it).
    OwnRedis {
        server: countersign_testkit::RedisServer,
        prefix: String,
    },
    Cluster {
        cluster: countersign_testkit::Cluster,
        prefix: String,
    },
    OwnCluster {
        cluster: countersign_testkit::RedisCluster,
        prefix: String,
    },
}

/// A store under test, what keeps its servers alive, and a way to see what it holds.
pub(crate) struct Harness {
    pub(crate) kind: Kind,
    pub(crate) store: Arc<dyn DedupStore>,
    backend: Backend,
}

async fn redis_store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .connect()
        .await
        .expect("connect RedisStore")
}

async fn cluster_store(urls: Vec<String>, prefix: &str) -> RedisClusterStore {
    RedisClusterStore::builder(urls)
        .prefix(prefix)
        .connect()
        .await
        .expect("connect RedisClusterStore")
}

impl Harness {
    pub(crate) async fn new(kind: Kind) -> Harness {
        match kind {
            Kind::Memory => Harness::memory(MemoryStore::new()),
            Kind::Redis => {
                let redis = countersign_testkit::redis();
                let prefix = countersign_testkit::unique_prefix("full-stack");
                let store = redis_store(&redis.url(), &prefix).await;
                Harness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::Redis { redis, prefix },
                }
            }
            Kind::Cluster => {
                let cluster = countersign_testkit::redis_cluster();
                let prefix = countersign_testkit::unique_prefix("full-stack");
                let store = cluster_store(cluster.urls(), &prefix).await;
                Harness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::Cluster { cluster, prefix },
                }
            }
        }
    }

    pub(crate) fn memory(store: MemoryStore) -> Harness {
        let store = Arc::new(store);
        Harness {
            kind: Kind::Memory,
            store: Arc::clone(&store) as Arc<dyn DedupStore>,
            backend: Backend::Memory(store),
        }
    }

    /// A harness on servers this test starts itself, whatever `REDIS_URL` says, so that it
    /// may kill and restart them.
    pub(crate) async fn own(kind: Kind) -> Harness {
        let prefix = countersign_testkit::unique_prefix("full-stack-own");
        match kind {
            Kind::Memory => Harness::memory(MemoryStore::new()),
            Kind::Redis => {
                let server = countersign_testkit::RedisServer::start();
                let store = redis_store(&server.url(), &prefix).await;
                Harness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::OwnRedis { server, prefix },
                }
            }
            Kind::Cluster => {
                let cluster = countersign_testkit::RedisCluster::start(3);
                let store = cluster_store(cluster.urls(), &prefix).await;
                Harness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::OwnCluster { cluster, prefix },
                }
            }
        }
    }

    /// URLs of the Redis servers holding this test's keys, and the key prefix.
    fn redis_nodes(&self) -> Option<(Vec<String>, &str)> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Redis { redis, prefix } => Some((vec![redis.url()], prefix)),
            Backend::OwnRedis { server, prefix } => Some((vec![server.url()], prefix)),
            Backend::Cluster { cluster, prefix } => Some((cluster.urls(), prefix)),
            Backend::OwnCluster { cluster, prefix } => Some((cluster.urls(), prefix)),
        }
    }

    /// How many records the store holds for this test (MemoryStore: all of them).
    pub(crate) fn record_count(&self) -> usize {
        match &self.backend {
            Backend::Memory(store) => store.len(),
            _ => self.records().len(),
        }
    }

    /// This test's Redis records, key → value (`c:<fence>` claimed, `d:<status>` done), read
    /// with `redis-cli --scan` on every node. Empty for the memory store.
    pub(crate) fn records(&self) -> BTreeMap<String, String> {
        let Some((urls, prefix)) = self.redis_nodes() else {
            return BTreeMap::new();
        };
        let mut records = BTreeMap::new();
        for url in urls {
            let keys = redis_cli(&url, &["--scan", "--pattern", &format!("{prefix}*")]);
            for key in keys.lines().filter(|k| !k.is_empty()) {
                let value = redis_cli(&url, &["GET", key]).trim_end().to_owned();
                records.insert(key.to_owned(), value);
            }
        }
        records
    }

    /// Ports of the Redis servers this test started (their command counts are its own).
    pub(crate) fn own_ports(&self) -> Vec<u16> {
        match &self.backend {
            Backend::Redis {
                redis: countersign_testkit::Redis::Spawned(s),
                ..
            } => vec![s.port()],
            Backend::OwnRedis { server, .. } => vec![server.port()],
            Backend::Cluster {
                cluster: countersign_testkit::Cluster::Spawned(c),
                ..
            }
            | Backend::OwnCluster { cluster: c, .. } => {
                c.nodes().iter().map(|n| n.port()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Record-writing commands (`SET`, `EVALSHA`, …) executed so far on the servers this
    /// test started; `None` when it started none (memory store, `REDIS_URL`).
    pub(crate) fn write_calls(&self) -> Option<u64> {
        let ports = self.own_ports();
        if ports.is_empty() {
            return None;
        }
        Some(
            ports
                .iter()
                .map(|p| {
                    let calls = countersign_testkit::command_calls(*p);
                    WRITE_COMMANDS
                        .iter()
                        .filter_map(|c| calls.get(*c))
                        .sum::<u64>()
                })
                .sum(),
        )
    }

    /// SIGKILLs every server of an [`own`](Harness::own) harness.
    pub(crate) fn kill(&mut self) {
        match &mut self.backend {
            Backend::OwnRedis { server, .. } => server.kill(),
            Backend::OwnCluster { cluster, .. } => {
                cluster.nodes_mut().iter_mut().for_each(|n| n.kill());
            }
            _ => panic!("kill needs a harness made with Harness::own"),
        }
    }

    /// Restarts every server of an [`own`](Harness::own) harness (empty: no persistence).
    pub(crate) fn restart(&mut self) {
        match &mut self.backend {
            Backend::OwnRedis { server, .. } => server.restart(),
            Backend::OwnCluster { cluster, .. } => {
                cluster.nodes_mut().iter_mut().for_each(|n| n.restart());
                cluster.wait_ok(Duration::from_secs(30));
            }
            _ => panic!("restart needs a harness made with Harness::own"),
        }
    }
}

/// `redis-cli -u <url> <args>`'s stdout.
fn redis_cli(url: &str, args: &[&str]) -> String {
    let bin = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned());
    let out = Command::new(&bin)
        .args(["-u", url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {bin}: {e}\n{}",
                countersign_testkit::INSTALL_HINT
            )
        });
    assert!(out.status.success(), "{bin} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Handler runs per `preset:event id`.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    runs: Mutex<HashMap<String, u32>>,
}

impl Effects {
    fn record(&self, key: String) -> u32 {
        let mut runs = self.runs.lock().unwrap();
        let n = runs.entry(key).or_default();
        *n += 1;
        *n
    }

    /// How often the handler ran for `id` of `preset`.
    pub(crate) fn count(&self, preset: Preset, id: &str) -> u32 {
        let key = format!("{}:{id}", preset.name());
        self.runs.lock().unwrap().get(&key).copied().unwrap_or(0)
    }

    /// Handler runs in total.
    pub(crate) fn total(&self) -> u64 {
        self.runs
            .lock()
            .unwrap()
            .values()
            .map(|n| u64::from(*n))
            .sum()
    }
}

/// The handler: its side effect is counting the run; sleeps `x-test-sleep-ms` (so that
/// duplicates arrive while it is in flight) and answers `run <n>`.
async fn handler(State(effects): State<Arc<Effects>>, req: Request) -> Response {
    let Some(verified) = req.extensions().get::<Verified>() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no Verified").into_response();
    };
    let key = format!(
        "{}:{}",
        verified.preset(),
        verified.event_id().unwrap_or("-")
    );
    let sleep = req
        .headers()
        .get("x-test-sleep-ms")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    drop(req);
    let run = effects.record(key);
    if sleep > 0 {
        tokio::time::sleep(Duration::from_millis(sleep)).await;
    }
    (StatusCode::OK, format!("run {run}")).into_response()
}

/// A running app: `POST /stripe`, `/standard` and `/slack`, each
/// `post(handler).route_layer(dedup).route_layer(verify)` — verification outermost.
pub(crate) struct App {
    pub(crate) addr: SocketAddr,
    pub(crate) effects: Arc<Effects>,
    stats: Vec<(Preset, DedupStats)>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl App {
    /// Claims made by every dedup layer of the app so far.
    pub(crate) fn claimed(&self) -> u64 {
        self.stats.iter().map(|(_, s)| s.snapshot().claimed).sum()
    }

    /// The counters of `preset`'s route.
    pub(crate) fn stats(&self, preset: Preset) -> countersign::dedup::StatsSnapshot {
        self.stats
            .iter()
            .find(|(p, _)| *p == preset)
            .map(|(_, s)| s.snapshot())
            .unwrap()
    }
}

/// Serves the full stack over `store` on 127.0.0.1:0.
pub(crate) async fn serve(store: &Arc<dyn DedupStore>) -> App {
    let effects = Arc::new(Effects::default());
    let mut stats = Vec::new();
    let mut route =
        |preset: Preset, secret: &str, handshakes: bool| -> MethodRouter<Arc<Effects>> {
            let verify = VerifyLayer::builder(Verifier::new(preset, secret).unwrap())
                .handshakes(handshakes)
                .build()
                .unwrap();
            let dedup = DedupLayer::builder(Arc::clone(store), preset)
                .build()
                .unwrap();
            stats.push((preset, dedup.stats()));
            post(handler).route_layer(dedup).route_layer(verify)
        };
    let router = axum::Router::new()
        .route("/stripe", route(Preset::Stripe, STRIPE_SECRET, false))
        .route(
            "/standard",
            route(Preset::StandardWebhooks, STANDARD_SECRET, false),
        )
        .route("/slack", route(Preset::Slack, SLACK_SECRET, true))
        .with_state(Arc::clone(&effects));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    App {
        addr,
        effects,
        stats,
        server,
    }
}

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(128)
        .build_http()
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A delivery as the provider sends it.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) path: &'static str,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Delivery {
    /// `preset`'s delivery of event `id` with `body`, signed with `secret` at `at`.
    pub(crate) fn signed(preset: Preset, secret: &str, id: &str, body: &[u8], at: u64) -> Self {
        let headers = Signer::new(preset, secret)
            .unwrap()
            .sign(
                &SignRequest::new(body)
                    .id(id)
                    .timestamp(Duration::from_secs(at)),
            )
            .unwrap();
        let path = match preset {
            Preset::Stripe => "/stripe",
            Preset::StandardWebhooks => "/standard",
            Preset::Slack => "/slack",
            _ => panic!("no route for {preset}"),
        };
        Delivery {
            path,
            headers,
            body: Bytes::copy_from_slice(body),
        }
    }

    /// A Stripe event `id` (the id is in the JSON body), signed at `at`.
    pub(crate) fn stripe(id: &str, at: u64) -> Self {
        let body = format!(
            r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_1","amount_paid":2000}}}}}}"#
        );
        Delivery::signed(Preset::Stripe, STRIPE_SECRET, "", body.as_bytes(), at)
    }

    /// A Standard Webhooks message `id` (the id is the `webhook-id` header), signed at `at`.
    pub(crate) fn standard(id: &str, at: u64) -> Self {
        let body = r#"{"type":"invoice.paid","data":{"id":"in_1","amount":2000}}"#;
        Delivery::signed(
            Preset::StandardWebhooks,
            STANDARD_SECRET,
            id,
            body.as_bytes(),
            at,
        )
    }

    /// The same delivery with another body (changed after signing).
    pub(crate) fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The same delivery with an extra header.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.insert(name, value.parse().unwrap());
        self
    }

    fn request(&self, addr: SocketAddr) -> http::Request<Full<Bytes>> {
        let mut req = http::Request::post(format!("http://{addr}{}", self.path))
            .header("content-type", "application/json")
            .body(Full::new(self.body.clone()))
            .unwrap();
        req.headers_mut().extend(self.headers.clone());
        req
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) duplicate: bool,
    pub(crate) retry_after: bool,
    pub(crate) content_type: Option<String>,
    pub(crate) body: String,
}

pub(crate) async fn send(client: &HttpClient, addr: SocketAddr, delivery: &Delivery) -> Answer {
    let res = client
        .request(delivery.request(addr))
        .await
        .expect("HTTP request");
    let status = res.status();
    let duplicate = res
        .headers()
        .get(&DUPLICATE_HEADER)
        .is_some_and(|v| v == "true");
    let retry_after = res.headers().contains_key(http::header::RETRY_AFTER);
    let content_type = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        duplicate,
        retry_after,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
