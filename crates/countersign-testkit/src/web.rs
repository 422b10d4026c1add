//! The HTTP side of the suites that serve an app on 127.0.0.1:0 and call it for real: the
//! server task, a pooled hyper client, what came back, and a counter of handler runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use countersign_dedup::DUPLICATE_HEADER;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An axum router served on 127.0.0.1:0 by a task that is aborted on drop.
#[derive(Debug)]
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1:0.
///
/// # Panics
/// When it cannot bind.
pub async fn serve(router: axum::Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Served { addr, task }
}

/// The suites' HTTP/1 client.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled HTTP/1 client (up to 128 idle connections per host).
#[must_use]
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(128)
        .build_http()
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// Whether it carried `countersign-duplicate: true`.
    pub duplicate: bool,
    /// Whether it carried `Retry-After`.
    pub retry_after: bool,
    /// The `Content-Type`, when there was one.
    pub content_type: Option<String>,
    /// The body, lossily decoded.
    pub body: String,
}

/// Sends `req` and reads the whole answer.
///
/// # Panics
/// When the request fails at the HTTP level.
pub async fn send(client: &HttpClient, req: http::Request<Full<Bytes>>) -> Answer {
    let res = client.request(req).await.expect("HTTP request");
    let status = res.status();
    let duplicate = res
        .headers()
        .get(&DUPLICATE_HEADER)
        .is_some_and(|v| v == "true");
    let retry_after = res.headers().contains_key(http::header::RETRY_AFTER);
    let content_type = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        duplicate,
        retry_after,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Handler runs per key (the event id, or whatever the app's handler keys them by).
#[derive(Debug, Default)]
pub struct Effects {
    runs: Mutex<HashMap<String, u32>>,
}

impl Effects {
    /// Counts one run for `key`; returns how many there have been, this one included.
    pub fn record(&self, key: &str) -> u32 {
        let mut runs = self.runs.lock().unwrap();
        let n = runs.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    }

    /// How often the handler ran for `key`.
    #[must_use]
    pub fn count(&self, key: &str) -> u32 {
        self.runs.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// Handler runs in total.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.runs
            .lock()
            .unwrap()
            .values()
            .map(|n| u64::from(*n))
            .sum()
    }
}
