//! The full-stack suite's app: `VerifyLayer` → `DedupLayer` → handler served by axum on
//! 127.0.0.1:0, and deliveries signed with countersign's `Signer` the way the providers sign
//! them. The store harness, the HTTP client and what came back are countersign-testkit's
//! (`dedup` feature), shared with countersign-dedup's suites.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::Bytes;
use countersign::dedup::{DedupStats, DedupStore};
use countersign::{DedupLayer, Preset, Verified, Verifier, VerifyLayer};
use http::{HeaderMap, StatusCode};
use http_body_util::Full;

pub(crate) use countersign_testkit::{Answer, Effects, HttpClient, client};
pub(crate) use countersign_testkit::{StoreHarness as Harness, StoreKind as Kind};

pub(crate) const STRIPE_SECRET: &str = "whsec_full_stack_stripe_secret";
pub(crate) const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub(crate) const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// The key prefix of this suite's Redis records.
pub(crate) const TEST: &str = "full-stack";

/// The key [`Effects`] counts `preset`'s event `id` under.
pub(crate) fn run_key(preset: Preset, id: &str) -> String {
    format!("{}:{id}", preset.name())
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
    let run = effects.record(&key);
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
    _server: countersign_testkit::Served,
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
    let server = countersign_testkit::serve(router).await;
    App {
        addr: server.addr,
        effects,
        stats,
        _server: server,
    }
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
        let headers =
            countersign_testkit::signed(preset, secret, id, body, Duration::from_secs(at));
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

/// Sends `delivery` to the app at `addr`.
pub(crate) async fn send(client: &HttpClient, addr: SocketAddr, delivery: &Delivery) -> Answer {
    countersign_testkit::send(client, delivery.request(addr)).await
}
