//! The README's run command: `cargo run --example quickstart`.
//!
//! An axum app on 127.0.0.1:3000 (set `PORT` to change it) with three webhook endpoints, each
//! behind a `VerifyLayer` (signature, timestamp) and then a `DedupLayer` (the handler runs once
//! per event):
//!
//! - `POST /webhooks/github`   — GitHub (`X-Hub-Signature-256`)
//! - `POST /webhooks/stripe`   — Stripe (`Stripe-Signature`, typed JSON payload)
//! - `POST /webhooks/standard` — Standard Webhooks (`webhook-id/-timestamp/-signature`)
//!
//! Deliveries are deduplicated in memory, or in Redis when `REDIS_URL` is set (e.g.
//! `REDIS_URL=redis://127.0.0.1:6379/ cargo run --example quickstart`), so that several
//! instances share one record of what was processed.
//!
//! At start-up it prints `curl` commands that send correctly signed deliveries to itself:
//! the first send runs the handler (`handler ran` in the log) and gets 200; sending the same
//! delivery again gets 200 with `countersign-duplicate: true` without running the handler; a
//! tampered copy gets 401. Secrets come from `GITHUB_WEBHOOK_SECRET`,
//! `STRIPE_WEBHOOK_SECRET` and `STANDARD_WEBHOOK_SECRET`, with demo values when unset.
//!
//! The server is set up so that slow clients cannot hold it hostage (slowloris): see `serve`.
//! Uses `countersign` with the `axum` and `redis` features.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, post};
use countersign::dedup::DedupStore;
use countersign::{
    DedupLayer, MemoryStore, Preset, RedisStore, SignRequest, Signer, VerifiedWebhook, VerifyLayer,
    Webhook,
};
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
        // colours only on a terminal, not in a log file or a pipe
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,countersign=debug".into()),
        )
        .init();

    let secrets = Secrets::from_env();
    let (store, store_name) = store().await?;
    let app = app(&secrets, &store)?;

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p} is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    print_try_it(addr, &secrets, store_name)?;
    serve(listener, app).await
}

/// Where the dedup records live: Redis when `REDIS_URL` is set (shared by every instance of
/// the app), otherwise this process's memory.
async fn store() -> Result<(Arc<dyn DedupStore>, &'static str), Box<dyn std::error::Error>> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let store = RedisStore::connect(url.trim())
                .await
                .map_err(|e| format!("REDIS_URL is set but Redis cannot be reached: {e}"))?;
            // The URL is not logged: it may carry a password.
            Ok((Arc::new(store), "Redis (REDIS_URL)"))
        }
        _ => Ok((
            Arc::new(MemoryStore::new()),
            "memory (set REDIS_URL for Redis)",
        )),
    }
}

/// The routes. Each is `post(handler).route_layer(..)` (axum's `MethodRouter::route_layer`),
/// so other methods still get `405` and unknown paths `404` without touching the layers.
fn app(
    secrets: &Secrets,
    store: &Arc<dyn DedupStore>,
) -> Result<Router, Box<dyn std::error::Error>> {
    let route = |handler: MethodRouter, preset: Preset, secret: &str| {
        Ok::<_, Box<dyn std::error::Error>>(guarded(
            handler,
            VerifyLayer::new(preset, secret)?,
            // Keys are scoped by preset, so the routes can share one store.
            DedupLayer::builder(Arc::clone(store), preset).build()?,
        ))
    };
    Ok(Router::new()
        .route(
            "/webhooks/github",
            route(post(github), Preset::Github, &secrets.github)?,
        )
        .route(
            "/webhooks/stripe",
            route(post(stripe), Preset::Stripe, &secrets.stripe)?,
        )
        .route(
            "/webhooks/standard",
            route(post(standard), Preset::StandardWebhooks, &secrets.standard)?,
        )
        // Bounds the whole request, including a body trickled in byte by byte.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        )))
}

/// Puts the guards in front of a handler. Each `route_layer` wraps everything added before
/// it, so the layer added last runs first: verification (outermost: nothing unverified is
/// claimed or recorded), then deduplication (claims the verified event id before the
/// handler, records its success before the 200 leaves), then the handler.
fn guarded(route: MethodRouter, verify: VerifyLayer, dedup: DedupLayer) -> MethodRouter {
    route.route_layer(dedup).route_layer(verify)
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
        "handler ran: github"
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
    tracing::info!(
        id = payload.id,
        kind = payload.kind,
        object_id,
        "handler ran: stripe"
    );
    format!(
        "stripe {} {} verified (signed at {})\n",
        payload.kind,
        payload.id,
        verified.timestamp().unwrap_or_default()
    )
}

async fn standard(Webhook { verified, payload }: Webhook<serde_json::Value>) -> String {
    let kind = payload.get("type").and_then(|v| v.as_str()).unwrap_or("-");
    tracing::info!(
        id = verified.event_id(),
        kind,
        "handler ran: standard webhook"
    );
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
/// the provider would send them. Event ids carry the start time, so the commands of a new run
/// are new events even for a Redis store that remembers the last run's.
fn print_try_it(
    addr: SocketAddr,
    secrets: &Secrets,
    store: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let run = now.as_secs();
    let github = r#"{"zen":"Design for failure.","hook_id":1}"#.to_owned();
    let stripe = format!(
        r#"{{"id":"evt_quickstart_{run}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_1","amount_paid":2000}}}}}}"#
    );
    let standard = r#"{"type":"user.created","data":{"id":"user_1"}}"#.to_owned();
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

    println!("\ncountersign quickstart listening on http://{addr} (dedup store: {store})\n");
    println!(
        "Send signed test deliveries (the Stripe and Standard Webhooks ones expire in 5 minutes).\n\
         Each gets 200 and its handler logs `handler ran` once:\n"
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/github",
            Preset::Github,
            &secrets.github,
            &format!("quickstart-delivery-{run}"),
            &github,
            &github
        )?
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/stripe",
            Preset::Stripe,
            &secrets.stripe,
            "",
            &stripe,
            &stripe
        )?
    );
    println!(
        "{}\n",
        curl(
            "/webhooks/standard",
            Preset::StandardWebhooks,
            &secrets.standard,
            &format!("msg_quickstart_{run}"),
            &standard,
            &standard
        )?
    );
    println!(
        "Send any of them again, as a provider retrying would: 200 with `countersign-duplicate: true`,\n\
         and no new `handler ran` line: the handler runs once per event.\n"
    );
    println!("A tampered copy (amount changed after signing) gets 401 and is never recorded:\n");
    println!(
        "{}\n",
        curl(
            "/webhooks/stripe",
            Preset::Stripe,
            &secrets.stripe,
            "",
            &stripe,
            &tampered
        )?
    );
    Ok(())
}
