//! Queued delivery in a Rust app: `cargo run --example inbox`.
//!
//! An axum app on 127.0.0.1:3000 (set `PORT` to change it) that **acknowledges a delivery as
//! soon as it is stored** in a SQLite inbox, and processes it in a background worker with
//! retries and dead letters:
//!
//! - `POST /webhooks/github` — GitHub (`X-Hub-Signature-256`)
//! - `POST /webhooks/stripe` — Stripe (`Stripe-Signature`, typed JSON payload)
//!
//! Each route is `VerifyLayer` (signature, timestamp) around `Accept` (one atomic, fsynced
//! write of the event and its dedup record, then `200`). A `Worker` leases stored events and
//! runs `handle` on each: `handler ran` in the log. The inbox file is `INBOX_PATH` (default
//! `countersign-inbox.db` in the current directory); inspect it with
//! `countersign inbox --inbox sqlite:countersign-inbox.db stats`.
//!
//! At start-up it prints `curl` commands that send correctly signed deliveries to itself: the
//! first send gets 200 and the worker logs `handler ran` once; the same delivery again gets
//! 200 with `countersign-duplicate: true` and is not processed again; a tampered copy gets
//! 401. Secrets come from `GITHUB_WEBHOOK_SECRET` and `STRIPE_WEBHOOK_SECRET`, with demo
//! values when unset. Ctrl-C stops leasing and lets running handlers finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use countersign::{Preset, SignRequest, Signer, VerifyLayer};
use countersign_inbox::{Accept, Delivery, Failure, Inbox, SqliteInbox, Worker};
use serde::Deserialize;
use tokio::net::TcpListener;
use tower::Layer;

const DEMO_GITHUB_SECRET: &str = "inbox-github-secret";
const DEMO_STRIPE_SECRET: &str = "whsec_inbox_stripe_secret";

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

    let github_secret = secret("GITHUB_WEBHOOK_SECRET", DEMO_GITHUB_SECRET);
    let stripe_secret = secret("STRIPE_WEBHOOK_SECRET", DEMO_STRIPE_SECRET);
    let path = std::env::var("INBOX_PATH").unwrap_or_else(|_| "countersign-inbox.db".into());
    let inbox: Arc<dyn Inbox> = Arc::new(SqliteInbox::open(&path).await?);

    // Receiving: verify, store durably, answer.
    let accept = |preset: Preset, secret: &str| {
        Ok::<_, Box<dyn std::error::Error>>(
            VerifyLayer::new(preset, secret)?
                .layer(Accept::builder(Arc::clone(&inbox), preset).build()?),
        )
    };
    let app = Router::new()
        .route_service("/webhooks/github", accept(Preset::Github, &github_secret)?)
        .route_service("/webhooks/stripe", accept(Preset::Stripe, &stripe_secret)?);

    // Processing: a worker with the default policy (16 at once, 12 attempts, 1 s → 1 h
    // backoff with full jitter, 60 s lease).
    let worker = Worker::builder(Arc::clone(&inbox), handle).build()?;
    let worker = tokio::spawn(worker.run(async {
        let _ = tokio::signal::ctrl_c().await;
    }));

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p} is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    print_try_it(addr, &github_secret, &stripe_secret, &path)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let report = worker.await?;
    tracing::info!(aborted = report.aborted, "stopped");
    Ok(())
}

#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

/// Runs once per stored event (at least once; again only after a failure or a crash).
/// `Err(Failure::…)` retries later or dead-letters; `?` on any error retries.
async fn handle(d: Delivery) -> Result<(), Failure> {
    match d.preset() {
        "stripe" => {
            // A body that does not parse is dead at once: retrying will not fix it.
            let event: StripeEvent = d.json()?;
            tracing::info!(
                id = event.id,
                kind = event.kind,
                attempt = d.attempt(),
                "handler ran: stripe"
            );
        }
        "github" => {
            let kind = d
                .headers()
                .get("x-github-event")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown");
            tracing::info!(
                delivery = d.id(),
                kind,
                attempt = d.attempt(),
                "handler ran: github"
            );
        }
        other => return Err(Failure::dead(format!("no handler for preset {other}"))),
    }
    Ok(())
}

fn secret(name: &str, demo: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} not set: using the demo secret");
        demo.to_owned()
    })
}

/// Prints copy-paste `curl` commands signed by countersign's `Signer`. Event ids carry the
/// start time, so a new run's commands are new events in an inbox file that is kept.
fn print_try_it(
    addr: SocketAddr,
    github_secret: &str,
    stripe_secret: &str,
    path: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let run = now.as_nanos();
    let github = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_owned();
    let stripe = format!(
        r#"{{"id":"evt_inbox_{run}","object":"event","type":"invoice.paid","data":{{"object":{{"id":"in_1","amount_paid":2000}}}}}}"#
    );
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
    println!("\ncountersign inbox example listening on http://{addr} (inbox: sqlite:{path})\n");
    println!(
        "Send signed test deliveries (the Stripe one expires in 5 minutes). Each gets 200 at once;\n\
         the worker then logs `handler ran` once:\n"
    );
    let gh = curl(
        "/webhooks/github",
        Preset::Github,
        github_secret,
        &format!("inbox-delivery-{run}"),
        &github,
        &github,
    )?;
    println!("{gh}\n");
    let st = curl(
        "/webhooks/stripe",
        Preset::Stripe,
        stripe_secret,
        "",
        &stripe,
        &stripe,
    )?;
    println!("{st}\n");
    println!("Send one again: 200 with `countersign-duplicate: true`, not processed again.\n");
    println!("A tampered copy (amount changed after signing) gets 401:\n");
    let bad = curl(
        "/webhooks/stripe",
        Preset::Stripe,
        stripe_secret,
        "",
        &stripe,
        &tampered,
    )?;
    println!("{bad}\n");
    println!("Look inside: countersign inbox --inbox sqlite:{path} list\n");
    Ok(())
}
