//! Shared by the integration tests: a real HTTP app (axum on 127.0.0.1:0) with a verify
//! adapter in front of `DedupLayer`. The store harness (memory, Redis, Redis Cluster), the
//! HTTP client and what came back are countersign-testkit's (`dedup` feature), shared with
//! the root crate's full-stack suite.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different part"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use countersign_core::{Delivery, Preset, Verified, Verifier};
use countersign_dedup::{DedupLayer, DedupStats};
use http::StatusCode;
use http_body_util::Full;

pub(crate) use countersign_testkit::{Answer, Effects, HttpClient, client, redis_store, send};
pub(crate) use countersign_testkit::{StoreHarness as Harness, StoreKind as Kind};

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) async fn memory() -> Harness {
    Harness::new(Kind::Memory, "memory").await
}

pub(crate) async fn redis() -> Harness {
    Harness::new(Kind::Redis, "redis").await
}

pub(crate) async fn cluster() -> Harness {
    Harness::new(Kind::Cluster, "cluster").await
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
    _server: countersign_testkit::Served,
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
    let server = countersign_testkit::serve(router).await;
    App {
        addr: server.addr,
        effects,
        stats,
        _server: server,
    }
}

/// A Standard Webhooks delivery of event `id`, signed now.
pub(crate) fn delivery(
    addr: SocketAddr,
    id: &str,
    extra: &[(&str, &str)],
) -> http::Request<Full<Bytes>> {
    let body = format!(r#"{{"type":"invoice.paid","data":{{"id":"{id}"}}}}"#);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let headers =
        countersign_testkit::signed(Preset::StandardWebhooks, SECRET, id, body.as_bytes(), now);
    let mut req = http::Request::post(format!("http://{addr}/hook"));
    for (name, value) in &headers {
        req = req.header(name, value);
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    req.body(Full::new(Bytes::from(body))).unwrap()
}
