//! Shared by the integration tests: one harness per store (memory, Redis, Redis Cluster) and
//! a real HTTP app (axum on 127.0.0.1:0) with a verify adapter in front of `DedupLayer`.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use countersign_core::{Delivery, Preset, SignRequest, Signer, Verified, Verifier};
use countersign_dedup::{DUPLICATE_HEADER, MemoryStore};
use countersign_dedup::{DedupLayer, DedupStats, DedupStore, RedisClusterStore, RedisStore};
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Which backend a harness runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Memory,
    Redis,
    Cluster,
}

/// A store under test and whatever keeps its server alive.
pub(crate) struct Harness {
    pub(crate) kind: Kind,
    pub(crate) store: Arc<dyn DedupStore>,
    redis: Option<countersign_testkit::Redis>,
    cluster: Option<countersign_testkit::Cluster>,
}

impl Harness {
    /// `SCRIPT FLUSH` on every server this test started (never on REDIS_URL servers);
    /// returns how many servers were flushed.
    pub(crate) fn flush_scripts(&self) -> usize {
        let mut ports = Vec::new();
        if let Some(countersign_testkit::Redis::Spawned(s)) = &self.redis {
            ports.push(s.port());
        }
        if let Some(countersign_testkit::Cluster::Spawned(c)) = &self.cluster {
            ports.extend(c.nodes().iter().map(|n| n.port()));
        }
        for port in &ports {
            let out = countersign_testkit::cli(*port, &["SCRIPT", "FLUSH"]);
            assert_eq!(out.trim(), "OK", "SCRIPT FLUSH on {port}");
        }
        ports.len()
    }
}

pub(crate) async fn memory() -> Harness {
    Harness {
        kind: Kind::Memory,
        store: Arc::new(MemoryStore::new()),
        redis: None,
        cluster: None,
    }
}

pub(crate) async fn redis_store(url: &str, test: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(countersign_testkit::unique_prefix(test))
        .connect()
        .await
        .expect("connect RedisStore")
}

pub(crate) async fn redis() -> Harness {
    let redis = countersign_testkit::redis();
    let store = redis_store(&redis.url(), "redis").await;
    Harness {
        kind: Kind::Redis,
        store: Arc::new(store),
        redis: Some(redis),
        cluster: None,
    }
}

pub(crate) async fn cluster() -> Harness {
    let cluster = countersign_testkit::redis_cluster();
    let store = RedisClusterStore::builder(cluster.urls())
        .prefix(countersign_testkit::unique_prefix("cluster"))
        .connect()
        .await
        .expect("connect RedisClusterStore");
    Harness {
        kind: Kind::Cluster,
        store: Arc::new(store),
        redis: None,
        cluster: Some(cluster),
    }
}

/// Counts handler executions per event id.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    runs: Mutex<HashMap<String, u32>>,
}

impl Effects {
    pub(crate) fn record(&self, id: &str) -> u32 {
        let mut runs = self.runs.lock().unwrap();
        let n = runs.entry(id.to_owned()).or_default();
        *n += 1;
        *n
    }

    pub(crate) fn count(&self, id: &str) -> u32 {
        self.runs.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    pub(crate) fn total(&self) -> u64 {
        self.runs
            .lock()
            .unwrap()
            .values()
            .map(|n| u64::from(*n))
            .sum()
    }
}

/// The handler: records its side effect, sleeps `x-test-sleep-ms`, answers `x-test-status`
/// (default 200) — or, with `x-test-fail-first`, 500 on the first run of an event.
async fn handler(State(effects): State<Arc<Effects>>, req: Request) -> Response {
    let (id, sleep, status, fail_first) = {
        let id = req
            .extensions()
            .get::<Verified>()
            .and_then(|v| v.event_id())
            .unwrap_or("-")
            .to_owned();
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u16>().ok())
        };
        (
            id,
            header("x-test-sleep-ms").unwrap_or(0),
            header("x-test-status").unwrap_or(200),
            req.headers().contains_key("x-test-fail-first"),
        )
    };
    drop(req);
    let run = effects.record(&id);
    if sleep > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(sleep))).await;
    }
    let status = if fail_first && run == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::from_u16(status).unwrap()
    };
    (status, format!("run {run}")).into_response()
}

/// Stands in for VerifyLayer (built elsewhere): buffers the body, runs countersign-core's
/// Verifier on it and puts `Verified` into the extensions.
async fn verify_adapter(
    State(verifier): State<Arc<Verifier>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    match verifier.verify(&Delivery::new(&parts.headers, &bytes)) {
        Ok(verified) => {
            let mut req = Request::from_parts(parts, Body::from(bytes));
            req.extensions_mut().insert(verified);
            next.run(req).await
        }
        Err(e) => (e.status(), e.kind().as_str()).into_response(),
    }
}

/// A running app: POST /hook behind the verify adapter and the dedup layer.
pub(crate) struct App {
    pub(crate) addr: SocketAddr,
    pub(crate) effects: Arc<Effects>,
    pub(crate) stats: DedupStats,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the app with `layer` (applied with `Router::layer`, or `route_layer`).
pub(crate) async fn serve(layer: DedupLayer, route_layer: bool) -> App {
    let effects = Arc::new(Effects::default());
    let stats = layer.stats();
    let verifier = Arc::new(Verifier::new(Preset::StandardWebhooks, SECRET).unwrap());
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let router = if route_layer {
        router.route_layer(layer)
    } else {
        router.layer(layer)
    };
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            verifier,
            verify_adapter,
        ))
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

/// A Standard Webhooks delivery of event `id`, signed now.
pub(crate) fn delivery(
    addr: SocketAddr,
    id: &str,
    extra: &[(&str, &str)],
) -> http::Request<Full<Bytes>> {
    let body = format!(r#"{{"type":"invoice.paid","data":{{"id":"{id}"}}}}"#);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let signer = Signer::new(Preset::StandardWebhooks, SECRET).unwrap();
    let headers = signer
        .sign(&SignRequest::new(body.as_bytes()).id(id).timestamp(now))
        .unwrap();
    let mut req = http::Request::post(format!("http://{addr}/hook"));
    for (name, value) in &headers {
        req = req.header(name, value);
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    req.body(Full::new(Bytes::from(body))).unwrap()
}

/// What came back: status, whether it carried the duplicate marker, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) duplicate: bool,
    pub(crate) retry_after: bool,
    pub(crate) body: String,
}

pub(crate) async fn send(client: &HttpClient, req: http::Request<Full<Bytes>>) -> Answer {
    let res = client.request(req).await.expect("HTTP request");
    let status = res.status();
    let duplicate = res
        .headers()
        .get(&DUPLICATE_HEADER)
        .is_some_and(|v| v == "true");
    let retry_after = res.headers().contains_key(http::header::RETRY_AFTER);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        duplicate,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
