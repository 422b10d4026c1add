//! The README's run command: `cargo run --example quickstart`.
//!
//! An axum app on 127.0.0.1:3000 (set `PORT` to change it) with three webhook endpoints, each
//! behind a `VerifyLayer`:
//!
//! - `POST /webhooks/github`   — GitHub (`X-Hub-Signature-256`)
//! - `POST /webhooks/stripe`   — Stripe (`Stripe-Signature`, typed JSON payload)
//! - `POST /webhooks/standard` — Standard Webhooks (`webhook-id/-timestamp/-signature`)
//!
//! At start-up it prints `curl` commands that send correctly signed deliveries to itself (and a
//! tampered one that gets 401). Secrets come from `GITHUB_WEBHOOK_SECRET`,
//! `STRIPE_WEBHOOK_SECRET` and `STANDARD_WEBHOOK_SECRET`, with demo values when unset.
//!
//! The server is set up so that slow clients cannot hold it hostage (slowloris): see `serve`.
//! Uses `countersign` with the `axum` feature.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, post};
use countersign::{Preset, SignRequest, Signer, VerifiedWebhook, VerifyLayer, Webhook};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;

const DEMO_GITHUB_SECRET: &str = "quickstart-github-secret";
const DEMO_STRIPE_SECRET: &str = "whsec_quickstart_stripe_secret";
const DEMO_STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a client may take to send its request head (headers).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take: reading the body, verifying, the handler.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections served at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,countersign=debug".into()),
        )
        .init();

    let secrets = Secrets::from_env();
    let app = app(&secrets)?;

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p} is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    print_try_it(addr, &secrets)?;
    serve(listener, app).await
}

/// The routes. Each is `post(handler).route_layer(..)` (axum's `MethodRouter::route_layer`),
/// so other methods still get `405` and unknown paths `404` without touching the layer.
fn app(secrets: &Secrets) -> Result<Router, countersign::ConfigError> {
    Ok(Router::new()
        .route(
            "/webhooks/github",
            guarded(
                post(github),
                VerifyLayer::new(Preset::Github, secrets.github.as_str())?,
            ),
        )
        .route(
            "/webhooks/stripe",
            guarded(
                post(stripe),
                VerifyLayer::new(Preset::Stripe, secrets.stripe.as_str())?,
            ),
        )
        .route(
            "/webhooks/standard",
            guarded(
                post(standard),
                VerifyLayer::new(Preset::StandardWebhooks, secrets.standard.as_str())?,
            ),
        )
        // Bounds the whole request, including a body trickled in byte by byte.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        )))
}

/// Puts the guards in front of a handler: verification first (outermost), then
/// deduplication, so the handler runs once per event. The dedup step is the one place to
/// add — this combination compiles with `countersign-dedup` as merged:
///
/// ```text
/// route.route_layer(DedupLayer::builder(store).scheme(preset).build()?) // MemoryStore, or
///      .route_layer(verify)                                             // RedisStore if REDIS_URL
/// ```
fn guarded(route: MethodRouter, verify: VerifyLayer) -> MethodRouter {
    // DEDUP: insert `.route_layer(dedup_layer)` here, before the VerifyLayer line.
    route.route_layer(verify)
}

async fn github(headers: HeaderMap, hook: VerifiedWebhook, body: axum::body::Bytes) -> String {
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    tracing::info!(
        event,
        delivery = hook.event_id(),
        bytes = body.len(),
        "github"
    );
    format!(
        "github {event} delivery {} verified ({} bytes)\n",
        hook.event_id().unwrap_or("-"),
        body.len()
    )
}

#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: StripeData,
}

#[derive(Debug, Deserialize)]
struct StripeData {
    object: serde_json::Value,
}

async fn stripe(Webhook { verified, payload }: Webhook<StripeEvent>) -> String {
    let object_id = payload.data.object.get("id").and_then(|v| v.as_str());
    tracing::info!(id = payload.id, kind = payload.kind, object_id, "stripe");
    format!(
        "stripe {} {} verified (signed at {})\n",
        payload.kind,
        payload.id,
        verified.timestamp().unwrap_or_default()
    )
}

async fn standard(Webhook { verified, payload }: Webhook<serde_json::Value>) -> String {
    let kind = payload.get("type").and_then(|v| v.as_str()).unwrap_or("-");
    tracing::info!(id = verified.event_id(), kind, "standard webhook");
    format!(
        "standard-webhooks {kind} {} verified\n",
        verified.event_id().unwrap_or("-")
    )
}

/// A hyper server that is not open to slowloris. `axum::serve` reads request heads with no
/// deadline, so a client sending one header byte a minute holds a connection (and a task)
/// forever. Here:
///
/// - hyper's `header_read_timeout` (it needs a timer) closes a connection whose request head
///   is not complete within `HEADER_READ_TIMEOUT`;
/// - `TimeoutLayer` (in `app`) answers 408 when a request — body included — takes longer than
///   `REQUEST_TIMEOUT`; `VerifyLayer` reads the body inside that deadline;
/// - a semaphore caps the connections served at once.
async fn serve(listener: TcpListener, app: Router) -> Result<(), Box<dyn std::error::Error>> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = Arc::clone(&slots).acquire_owned().await?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // E.g. too many open files: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
}

struct Secrets {
    github: String,
    stripe: String,
    standard: String,
}

impl Secrets {
    fn from_env() -> Self {
        let get = |name: &str, demo: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                eprintln!("{name} not set: using the demo secret");
                demo.to_owned()
            })
        };
        Secrets {
            github: get("GITHUB_WEBHOOK_SECRET", DEMO_GITHUB_SECRET),
            stripe: get("STRIPE_WEBHOOK_SECRET", DEMO_STRIPE_SECRET),
            standard: get("STANDARD_WEBHOOK_SECRET", DEMO_STANDARD_SECRET),
        }
    }
}

/// Prints copy-paste `curl` commands with headers made by countersign's `Signer`, exactly as
/// the provider would send them.
fn print_try_it(addr: SocketAddr, secrets: &Secrets) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let github = r#"{"zen":"Design for failure.","hook_id":1}"#;
    let stripe = r#"{"id":"evt_quickstart_1","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","amount_paid":2000}}}"#;
    let standard = r#"{"type":"user.created","data":{"id":"user_1"}}"#;
    let tampered = stripe.replace("2000", "1");

    let curl = |path: &str, preset: Preset, secret: &str, id: &str, signed: &str, sent: &str| {
        let headers = Signer::new(preset, secret)?
            .sign(&SignRequest::new(signed.as_bytes()).id(id).timestamp(now))?;
        let mut line = format!("curl -i http://{addr}{path} -H 'content-type: application/json'");
        if preset == Preset::Github {
            line.push_str(" -H 'x-github-event: ping'");
        }
        for (name, value) in &headers {
            line.push_str(&format!(" -H '{name}: {}'", value.to_str()?));
        }
        line.push_str(&format!(" --data-binary '{sent}'"));
        Ok::<_, Box<dyn std::error::Error>>(line)
    };

    println!("\ncountersign quickstart listening on http://{addr}\n");
    println!(
        "Send signed test deliveries (Stripe and Standard Webhooks ones expire in 5 minutes):\n"
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/github",
            Preset::Github,
            &secrets.github,
            "quickstart-delivery-1",
            github,
            github
        )?
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/stripe",
            Preset::Stripe,
            &secrets.stripe,
            "",
            stripe,
            stripe
        )?
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/standard",
            Preset::StandardWebhooks,
            &secrets.standard,
            "msg_quickstart_1",
            standard,
            standard
        )?
    );
    println!("A tampered copy (amount changed after signing) gets 401:\n");
    println!(
        "{}\n",
        curl(
            "/webhooks/stripe",
            Preset::Stripe,
            &secrets.stripe,
            "",
            stripe,
            &tampered
        )?
    );
    Ok(())
}
