//! `VerifyLayer` in front of a plain hyper `service_fn`, no axum.
//!
//! ```sh
//! cargo run --example tower_hyper
//! ```
//!
//! The handler receives `Request<VerifiedBody>`: the exact verified bytes, already in
//! memory, and `Verified` in the extensions. It prints a signed `curl` command at start-up.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use countersign::{Preset, SignRequest, Signer, Verified, VerifiedBody, VerifyLayer};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn handle(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = req
        .extensions()
        .get::<Verified>()
        .and_then(|v| v.event_id())
        .unwrap_or("-")
        .to_owned();
    let body = req.into_body().into_bytes();
    let mut response = Response::new(Full::new(Bytes::from(format!(
        "verified {id}: {} bytes\n",
        body.len()
    ))));
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        // colours only on a terminal, not in a log file or a pipe
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let service = ServiceBuilder::new()
        .layer(VerifyLayer::new(Preset::StandardWebhooks, SECRET)?)
        .service_fn(handle);

    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;

    let body = r#"{"type":"user.created"}"#;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let headers = Signer::new(Preset::StandardWebhooks, SECRET)?
        .sign(&SignRequest::new(body.as_bytes()).id("msg_1").timestamp(now))?;
    let mut curl = format!("curl -i http://{addr}/");
    for (name, value) in &headers {
        curl.push_str(&format!(" -H '{name}: {}'", value.to_str()?));
    }
    println!("listening on http://{addr}; try:\n{curl} --data-binary '{body}'");

    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
