//! Helper of `benches/inbox_load.sh` (the queued-delivery load test): a counting upstream.
//!
//! `inbox_load upstream PORT [DELAY_MS] [RATE_PER_S]` — a hyper HTTP/1.1 server on
//! 127.0.0.1:PORT that reads each request, waits `DELAY_MS` (default 0) and, with
//! `RATE_PER_S`, never answers more than that many requests per second (requests queue for
//! their slot), then answers `200 ok`. It counts every delivery per event id (the
//! `countersign-event-id` header the proxy adds) and answers `GET /count` with
//! `{"hits":N,"distinct":M,"max_per_id":K}`, so the load test can check that nothing was lost
//! and nothing delivered twice.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

#[derive(Default)]
struct Counts {
    per_id: HashMap<String, u32>,
    hits: u64,
}

struct State {
    counts: Mutex<Counts>,
    delay: Duration,
    /// Time between two answers when rate-limited.
    every: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::GET && req.uri().path() == "/count" {
        let c = state.counts.lock().unwrap_or_else(|e| e.into_inner());
        let max = c.per_id.values().copied().max().unwrap_or(0);
        let body = format!(
            r#"{{"hits":{},"distinct":{},"max_per_id":{max}}}"#,
            c.hits,
            c.per_id.len()
        );
        return Ok(Response::new(Full::new(Bytes::from(body))));
    }
    let id = req
        .headers()
        .get("countersign-event-id")
        .or_else(|| req.headers().get("webhook-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = req.into_body().collect().await;
    if let Some(every) = state.every {
        let slot = {
            let mut next = state.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + every);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    {
        let mut c = state.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.hits += 1;
        if let Some(id) = id {
            *c.per_id.entry(id).or_default() += 1;
        }
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("upstream") {
        return Err("usage: inbox_load upstream PORT [DELAY_MS] [RATE_PER_S]".into());
    }
    let port: u16 = args.get(2).ok_or("PORT")?.parse()?;
    let delay = Duration::from_millis(args.get(3).map_or(Ok(0), |a| a.parse())?);
    let rate: u64 = args.get(4).map_or(Ok(0), |a| a.parse())?;
    let state = Arc::new(State {
        counts: Mutex::new(Counts::default()),
        delay,
        every: (rate > 0).then(|| Duration::from_nanos(1_000_000_000 / rate)),
        next: Mutex::new(None),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(Arc::clone(&state), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
