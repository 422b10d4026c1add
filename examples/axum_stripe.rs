//! A Stripe webhook endpoint in axum with the typed extractor.
//!
//! ```sh
//! STRIPE_WEBHOOK_SECRET=whsec_... cargo run --example axum_stripe
//! stripe listen --forward-to localhost:3000/stripe/webhook   # or send a test event
//! ```
//!
//! `VerifyLayer` checks `Stripe-Signature` over the exact bytes (timestamp within 5 minutes,
//! any of the configured secrets), then `Webhook<Event>` parses the verified body. During a
//! secret roll, set `STRIPE_WEBHOOK_SECRET_PREVIOUS` too: either secret is accepted.
//! Uses `countersign` with the `axum` feature.

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use countersign::{Preset, Verifier, VerifyLayer, Webhook};
use serde::Deserialize;

/// The parts of a Stripe event this app reads; unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    livemode: bool,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Invoice {
    id: String,
    customer: Option<String>,
    amount_paid: i64,
    currency: String,
}

async fn stripe_webhook(Webhook { verified, payload }: Webhook<Event>) -> StatusCode {
    // `verified.event_id()` is the event's `id`, the key to deduplicate retries on.
    tracing::info!(
        id = payload.id,
        kind = payload.kind,
        livemode = payload.livemode,
        signed_at = verified.timestamp(),
        "stripe event"
    );
    match payload.kind.as_str() {
        "invoice.paid" => match serde_json::from_value::<Invoice>(payload.data.object) {
            Ok(invoice) => {
                tracing::info!(
                    invoice = invoice.id,
                    customer = invoice.customer,
                    amount = invoice.amount_paid,
                    currency = invoice.currency,
                    "mark invoice paid"
                );
                StatusCode::OK
            }
            // Signed by Stripe but not what we expect: a bug on our side; 500 makes Stripe retry
            // after we deploy a fix.
            Err(e) => {
                tracing::error!(error = %e, "unexpected invoice shape");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        },
        "checkout.session.completed" | "customer.subscription.deleted" => {
            // Hand the work to a queue; answer quickly (Stripe times out after a few seconds).
            StatusCode::OK
        }
        // Acknowledge event types this endpoint does not handle, or Stripe keeps retrying.
        _ => StatusCode::OK,
    }
}

fn app() -> Result<Router, countersign::ConfigError> {
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|_| {
        eprintln!("STRIPE_WEBHOOK_SECRET not set: using a demo secret");
        "whsec_demo".into()
    });
    let mut verifier = Verifier::builder(Preset::Stripe).secret(secret);
    if let Ok(previous) = std::env::var("STRIPE_WEBHOOK_SECRET_PREVIOUS") {
        verifier = verifier.secret(previous);
    }
    Ok(Router::new().route(
        "/stripe/webhook",
        post(stripe_webhook).route_layer(VerifyLayer::builder(verifier.build()?).build()?),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        // colours only on a terminal, not in a log file or a pipe
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "listening on http://{}/stripe/webhook",
        listener.local_addr()?
    );
    // For a server exposed to the internet, use the slowloris-safe set-up of `quickstart.rs`.
    axum::serve(listener, app()?).await?;
    Ok(())
}
