//! Helper of `benches/proxy_load.sh` (the `countersign proxy` load test), two modes:
//!
//! - `proxy_load upstream PORT` — the upstream app: a plain hyper HTTP/1.1 server on
//!   127.0.0.1:PORT that reads each request body and answers `200 ok`. Both the direct runs
//!   and the proxy forward to it, so the comparison is the proxy's cost alone.
//! - `proxy_load passthrough PORT UPSTREAM_PORT` — the floor for any proxy on this stack: a
//!   bare hyper server that forwards every request through a pooled hyper-util client to the
//!   upstream and relays the answer, with no verification, dedup, limits or logs. The load
//!   test runs it to separate the cost of an extra HTTP hop from the cost of countersign.
//! - `proxy_load deliveries COUNT TAG DIR` — writes `DIR/body` (a 1 KiB JSON event) and
//!   `DIR/deliveries` (COUNT lines `webhook-id webhook-timestamp webhook-signature`, each a
//!   distinct Standard Webhooks delivery of that body, signed now with the bench secret), so
//!   that wrk sends unique events that deduplication must claim, forward and record.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use countersign::{Preset, SignRequest, Signer};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// The secret the bench signs with and the proxy verifies with.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A 1 KiB JSON event.
fn body() -> String {
    let mut s = String::from(r#"{"type":"invoice.paid","data":""#);
    while s.len() < 1024 - 2 {
        s.push('x');
    }
    s.push_str(r#""}"#);
    s
}

fn deliveries(count: usize, tag: &str, dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    let body = body();
    std::fs::write(format!("{dir}/body"), &body)?;
    let signer = Signer::new(Preset::StandardWebhooks, SECRET)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(format!("{dir}/deliveries"))?);
    let mut line = String::new();
    for i in 0..count {
        let id = format!("msg_{tag}_{i}");
        let headers = signer.sign(&SignRequest::new(body.as_bytes()).id(&id).timestamp(now))?;
        line.clear();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let value = headers.get(name).ok_or("missing header")?.to_str()?;
            let _ = write!(line, "{value} ");
        }
        line.pop();
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

async fn ok(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the whole body, as an app would.
    let _ = req.into_body().collect().await;
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

async fn upstream(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("proxy_load upstream on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(ok))
                .await;
        });
    }
}

type PassClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Incoming,
>;

async fn pass(
    client: PassClient,
    upstream: u16,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("http://127.0.0.1:{upstream}{path}");
    *req.uri_mut() = match uri.parse() {
        Ok(uri) => uri,
        Err(_) => return Ok(Response::new(Full::new(Bytes::from_static(b"bad uri")))),
    };
    req.headers_mut().remove(hyper::header::HOST);
    let answer = match client.request(req).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(_) => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"upstream error")));
            *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            r
        }
    };
    Ok(answer)
}

async fn passthrough(port: u16, upstream: u16) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client: PassClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    println!(
        "proxy_load passthrough on http://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| pass(client.clone(), upstream, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("upstream") => {
            let port = args.get(2).ok_or("upstream PORT")?.parse()?;
            tokio::runtime::Runtime::new()?.block_on(upstream(port))
        }
        Some("passthrough") => {
            let port = args.get(2).ok_or("passthrough PORT UPSTREAM_PORT")?.parse()?;
            let upstream = args.get(3).ok_or("passthrough PORT UPSTREAM_PORT")?.parse()?;
            tokio::runtime::Runtime::new()?.block_on(passthrough(port, upstream))
        }
        Some("deliveries") => {
            let count = args.get(2).ok_or("deliveries COUNT TAG DIR")?.parse()?;
            let tag = args.get(3).ok_or("deliveries COUNT TAG DIR")?;
            let dir = args.get(4).ok_or("deliveries COUNT TAG DIR")?;
            deliveries(count, tag, dir)
        }
        _ => Err(
            "usage: proxy_load upstream PORT | passthrough PORT UPSTREAM_PORT | deliveries COUNT TAG DIR"
                .into(),
        ),
    }
}
