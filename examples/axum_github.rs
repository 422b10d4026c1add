//! A GitHub webhook endpoint in axum: the event name from `X-GitHub-Event`, the payload
//! through the typed extractor.
//!
//! ```sh
//! GITHUB_WEBHOOK_SECRET=... cargo run --example axum_github
//! ```
//!
//! Configure the hook with content type `application/json` (the form-encoded variant puts the
//! JSON in a `payload=` field, which `Webhook<T>` rejects with 400). `VerifyLayer` checks
//! `X-Hub-Signature-256`; the event id is `X-GitHub-Delivery`. GitHub payloads may be up to
//! 25 MB, the GitHub preset's body limit. Uses `countersign` with the `axum` feature.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use countersign::{Preset, VerifyLayer, Webhook};
use serde::Deserialize;

/// Fields common to the events this app handles; everything else is ignored.
#[derive(Debug, Deserialize)]
struct Payload {
    action: Option<String>,
    repository: Option<Repository>,
    sender: Option<User>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    pull_request: Option<PullRequest>,
    zen: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    number: u64,
    title: String,
    merged: Option<bool>,
}

async fn github_webhook(
    headers: HeaderMap,
    Webhook { verified, payload }: Webhook<Payload>,
) -> (StatusCode, String) {
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let repo = payload.repository.as_ref().map(|r| r.full_name.as_str());
    let sender = payload.sender.as_ref().map(|u| u.login.as_str());
    tracing::info!(
        event,
        delivery = verified.event_id(),
        repo,
        sender,
        "github event"
    );
    match (event, payload.action.as_deref()) {
        ("ping", _) => (
            StatusCode::OK,
            format!("pong: {}", payload.zen.unwrap_or_default()),
        ),
        ("push", _) => (
            StatusCode::ACCEPTED,
            format!("queued build of {}", payload.git_ref.unwrap_or_default()),
        ),
        ("pull_request", Some("closed")) => match payload.pull_request {
            Some(pr) if pr.merged == Some(true) => (
                StatusCode::OK,
                format!("#{} merged: {}", pr.number, pr.title),
            ),
            _ => (StatusCode::OK, "closed without merge".into()),
        },
        _ => (StatusCode::OK, "ignored".into()),
    }
}

fn app() -> Result<Router, countersign::ConfigError> {
    let secret = std::env::var("GITHUB_WEBHOOK_SECRET").unwrap_or_else(|_| {
        eprintln!("GITHUB_WEBHOOK_SECRET not set: using a demo secret");
        "It's a Secret to Everybody".into()
    });
    Ok(Router::new().route(
        "/github/webhook",
        post(github_webhook).route_layer(VerifyLayer::new(Preset::Github, secret)?),
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
        "listening on http://{}/github/webhook",
        listener.local_addr()?
    );
    // For a server exposed to the internet, use the slowloris-safe set-up of `quickstart.rs`.
    axum::serve(listener, app()?).await?;
    Ok(())
}
