//! Shared helpers: real servers on 127.0.0.1:0, a real HTTP client, signed deliveries.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use countersign_tower::{FixedClock, Preset, SignRequest, Signer, Verifier, VerifyLayer};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const STRIPE_SECRET: &str = "whsec_test_secret_for_countersign";
pub(crate) const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub(crate) const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub(crate) const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) type ClientBody = BoxBody<Bytes, Infallible>;

/// A layer for `preset` with a clock stopped at [`NOW`].
pub(crate) fn layer(preset: Preset, secret: &str) -> VerifyLayer {
    let verifier = Verifier::builder(preset)
        .secret(secret)
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    VerifyLayer::builder(verifier).build().unwrap()
}

/// The headers `preset` would send for `body`, signed at `at` (Unix seconds).
pub(crate) fn sign(preset: Preset, secret: &str, body: &[u8], id: &str, at: u64) -> HeaderMap {
    Signer::new(preset, secret)
        .unwrap()
        .sign(
            &SignRequest::new(body)
                .id(id)
                .timestamp(Duration::from_secs(at)),
        )
        .unwrap()
}

/// Serves an axum app on a free port until the test's runtime ends.
pub(crate) async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub(crate) fn client() -> Client<HttpConnector, ClientBody> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub(crate) fn full(body: impl Into<Bytes>) -> ClientBody {
    Full::new(body.into()).boxed()
}

/// A chunked body (no Content-Length) made of `chunks`.
pub(crate) fn chunked(chunks: Vec<Bytes>) -> ClientBody {
    let frames = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, Infallible>(Frame::data(c))),
    );
    StreamBody::new(frames).boxed()
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// POSTs `body` with `headers` to `path` through a real HTTP client.
pub(crate) async fn send(
    client: &Client<HttpConnector, ClientBody>,
    addr: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    body: ClientBody,
) -> Reply {
    request(client, "POST", addr, path, headers, body).await
}

pub(crate) async fn request(
    client: &Client<HttpConnector, ClientBody>,
    method: &str,
    addr: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    body: ClientBody,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(body)
        .unwrap();
    req.headers_mut()
        .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    let response = client.request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Sends a raw request head (no body follows) and returns what the server answers within
/// 5 s. A server that waited for the body would time out and fail the test.
pub(crate) async fn raw_head_only(addr: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the server waited for a body it should not read")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}
