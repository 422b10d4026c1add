//! [`Forward`]: the innermost service of a route. It sends a verified delivery to the
//! upstream — same path and query on the upstream base, the exact body, the original headers
//! minus hop-by-hop ones, plus `Countersign-Verified`, `Countersign-Event-Id`,
//! `Countersign-Event-Type` and `Countersign-Preset` — and returns the upstream's answer *complete* (bounded), so that the
//! dedup layer around it records a 2xx as done before anything is relayed to the provider.
//!
//! | upstream | answer | dedup |
//! |---|---|---|
//! | any status | that status, headers (minus hop-by-hop) and body | 2xx → done; else released |
//! | no connection / broken answer | `502 Bad Gateway` | released |
//! | no complete answer within the timeout | `504 Gateway Timeout` | released |
//!
//! The dedup layer runs a forward in a task of its own once the claim is won: a client that
//! goes away does not cut it short, the upstream's answer still decides done or released.
//! When the grace period of a shutdown ends, the route answers [`cancelled`] instead (outside
//! the dedup layer); forwards still running are abandoned with the runtime, their claims
//! neither completed nor released — they expire with their lease, so a retry cannot race an
//! upstream that may still be working.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use countersign_core::Verified;
use countersign_tower::VerifiedBody;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use super::config::Upstream;

/// `Countersign-Verified: true` on every forwarded request.
pub(crate) const VERIFIED_HEADER: HeaderName = HeaderName::from_static("countersign-verified");
/// The provider's event id (percent-encoded where it is not printable ASCII).
pub(crate) const EVENT_ID_HEADER: HeaderName = HeaderName::from_static("countersign-event-id");
/// The event type, where the preset has one ([`Verified::event_type`]: bounded length and
/// character set, so always a valid header value).
pub(crate) const EVENT_TYPE_HEADER: HeaderName = HeaderName::from_static("countersign-event-type");
/// The preset (scheme) name.
pub(crate) const PRESET_HEADER: HeaderName = HeaderName::from_static("countersign-preset");

/// The most bytes of an upstream answer buffered: webhook answers are short.
pub(crate) const MAX_UPSTREAM_RESPONSE: usize = 1024 * 1024;

/// The HTTP client every route shares (pooled keep-alive connections per upstream).
pub(crate) type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

/// The forwarded delivery's event type, in the response extensions for metrics and the
/// access log.
#[derive(Debug, Clone)]
pub(crate) struct ForwardedEventType(pub(crate) HeaderValue);

/// What happened upstream; put into the response extensions for metrics and the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upstreamed {
    /// The upstream answered this status.
    Answered(StatusCode),
    /// No connection, or a broken answer: 502.
    Failed,
    /// No complete answer in time: 504.
    TimedOut,
    /// Cut off when the grace period ended: 503.
    Cancelled,
}

impl Upstreamed {
    /// A label for metrics and logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Upstreamed::Answered(s) if s.is_success() => "2xx",
            Upstreamed::Answered(s) if s.is_redirection() => "3xx",
            Upstreamed::Answered(s) if s.is_client_error() => "4xx",
            Upstreamed::Answered(_) => "5xx",
            Upstreamed::Failed => "error",
            Upstreamed::TimedOut => "timeout",
            Upstreamed::Cancelled => "cancelled",
        }
    }
}

/// The client's address, inserted into request extensions by the router; rendered once per
/// connection.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    ip: HeaderValue,
}

impl Peer {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Peer {
            // An IP address is always a valid header value.
            ip: HeaderValue::from_str(&addr.ip().to_string())
                .unwrap_or(HeaderValue::from_static("unknown")),
        }
    }
}

/// Forwards verified deliveries of one route to its upstream.
#[derive(Clone, Debug)]
pub(crate) struct Forward {
    config: Arc<Config>,
}

#[derive(Debug)]
struct Config {
    client: UpstreamClient,
    upstream: Upstream,
    host: HeaderValue,
    timeout: Duration,
}

impl Forward {
    /// A forwarder to `upstream`.
    pub(crate) fn new(
        client: UpstreamClient,
        upstream: Upstream,
        timeout: Duration,
    ) -> Result<Self, String> {
        let host = HeaderValue::from_str(upstream.authority().as_str()).map_err(|_| {
            format!(
                "upstream host `{}` is not a valid Host",
                upstream.authority()
            )
        })?;
        Ok(Forward {
            config: Arc::new(Config {
                client,
                upstream,
                host,
                timeout,
            }),
        })
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl Service<Request<VerifiedBody>> for Forward {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        Box::pin(async move { Ok(forward(&config, req).await) })
    }
}

async fn forward(config: &Config, req: Request<VerifiedBody>) -> Response<Full<Bytes>> {
    // Read from the delivery as received (borrowed where it is one header).
    let event_type = req
        .extensions()
        .get::<Verified>()
        .and_then(|v| v.event_type(req.headers(), req.body().as_bytes()))
        .and_then(|t| HeaderValue::from_str(t.as_str()).ok());
    let mut response = forward_verified(config, req, event_type.clone()).await;
    if let Some(value) = event_type {
        response.extensions_mut().insert(ForwardedEventType(value));
    }
    response
}

async fn forward_verified(
    config: &Config,
    req: Request<VerifiedBody>,
    event_type: Option<HeaderValue>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let uri = match config.upstream.uri_for(parts.uri.path_and_query()) {
        Ok(uri) => uri,
        Err(_) => {
            return local(
                StatusCode::BAD_GATEWAY,
                "bad upstream URL",
                Upstreamed::Failed,
            );
        }
    };
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    // Verified, so the body is in memory: no 100-continue dance upstream.
    headers.remove(header::EXPECT);
    headers.remove(header::CONTENT_LENGTH);
    if let Some(host) = headers.remove(header::HOST)
        && !headers.contains_key(X_FORWARDED_HOST)
    {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(header::HOST, config.host.clone());
    if let Some(peer) = parts.extensions.get::<Peer>() {
        append_forwarded_for(&mut headers, &peer.ip);
    }
    // Set by the proxy alone: whatever the sender put there is replaced.
    headers.insert(VERIFIED_HEADER, HeaderValue::from_static("true"));
    headers.remove(EVENT_ID_HEADER);
    headers.remove(EVENT_TYPE_HEADER);
    headers.remove(PRESET_HEADER);
    if let Some(value) = event_type {
        headers.insert(EVENT_TYPE_HEADER, value);
    }
    if let Some(verified) = parts.extensions.get::<Verified>() {
        if let Some(id) = verified.event_id() {
            headers.insert(EVENT_ID_HEADER, event_id_value(id));
        }
        if let Ok(preset) = HeaderValue::from_str(verified.preset()) {
            headers.insert(PRESET_HEADER, preset);
        }
    }
    let mut upstream_req = Request::new(Full::new(body.into_bytes()));
    *upstream_req.method_mut() = parts.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = headers;

    let exchange = async {
        let response = config.client.request(upstream_req).await.map_err(|e| {
            tracing::warn!(target: "countersign::proxy", error = %ErrorChain(&e), "upstream request failed");
        })?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_UPSTREAM_RESPONSE)
            .collect()
            .await
            .map_err(|e| {
                tracing::warn!(target: "countersign::proxy", error = %ErrorChain(&*e), "upstream answer could not be read (or exceeds 1 MiB)");
            })?
            .to_bytes();
        Ok::<_, ()>((parts, bytes))
    };
    match tokio::time::timeout(config.timeout, exchange).await {
        Ok(Ok((parts, bytes))) => {
            let status = parts.status;
            let mut response = Response::from_parts(parts, Full::new(bytes));
            // Our side of the exchange is HTTP/1.1, whatever the upstream spoke.
            *response.version_mut() = http::Version::HTTP_11;
            let h = response.headers_mut();
            strip_hop_by_hop(h);
            h.remove(header::CONTENT_LENGTH);
            response.extensions_mut().clear();
            response
                .extensions_mut()
                .insert(Upstreamed::Answered(status));
            response
        }
        Ok(Err(())) => local(
            StatusCode::BAD_GATEWAY,
            "upstream unavailable",
            Upstreamed::Failed,
        ),
        Err(_) => {
            tracing::warn!(target: "countersign::proxy", timeout = ?config.timeout, "upstream did not answer in time; 504");
            local(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream timed out",
                Upstreamed::TimedOut,
            )
        }
    }
}

/// The answer to a request still waiting for its forward when the grace period ends: `503`
/// + `Retry-After`, `Connection: close`.
pub(crate) fn cancelled() -> Response<Full<Bytes>> {
    let mut response = local(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting down",
        Upstreamed::Cancelled,
    );
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// A short plain-text answer written by the proxy.
fn local(status: StatusCode, text: &'static str, what: Upstreamed) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.extensions_mut().insert(what);
    response
}

/// The hop-by-hop headers of RFC 9110 §7.6.1 (and the obsolete `Proxy-Connection`).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == header::PROXY_AUTHORIZATION
        || name == header::PROXY_AUTHENTICATE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Removes the hop-by-hop headers and every header `Connection` names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the (few) headers; most requests carry none of these.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let mut doomed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    doomed.extend(headers.keys().filter(|n| is_hop_by_hop(n)).cloned());
    for name in doomed {
        headers.remove(name);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, ip: &HeaderValue) {
    let previous: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if previous.is_empty() {
        headers.insert(X_FORWARDED_FOR, ip.clone());
        return;
    }
    let value = format!(
        "{}, {}",
        previous.join(", "),
        ip.to_str().unwrap_or("unknown")
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(X_FORWARDED_FOR, v);
    }
}

/// The event id as a header value: as is when it is printable ASCII without `%`, else
/// percent-encoded byte by byte (so the value is always ASCII and decodes to the id).
pub(crate) fn event_id_value(id: &str) -> HeaderValue {
    let plain = id.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'%');
    if plain && let Ok(v) = HeaderValue::from_str(id) {
        return v;
    }
    let mut out = String::with_capacity(id.len() * 3);
    for b in id.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or(HeaderValue::from_static(""))
}

/// `a: b: c` for an error and its sources.
pub(crate) struct ErrorChain<'e>(pub(crate) &'e (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Secret-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("stripe-signature", "t=1,v1=ab"),
            ("content-type", "application/json"),
        ] {
            h.append(k, HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "stripe-signature"]);
        // A header named by Connection goes even when it is not hop-by-hop by itself.
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("x-custom"));
        h.insert("x-custom", HeaderValue::from_static("1"));
        h.insert("x-other", HeaderValue::from_static("2"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-other"));
    }

    #[test]
    fn event_ids_as_header_values() {
        assert_eq!(
            event_id_value("evt_1NG8Du2eZvKYlo2C"),
            "evt_1NG8Du2eZvKYlo2C"
        );
        assert_eq!(event_id_value("a b%c\u{e9}"), "a%20b%25c%C3%A9");
        assert_eq!(event_id_value("x\r\ny"), "x%0D%0Ay");
    }

    #[test]
    fn forwarded_for_appends() {
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, &Peer::new(([10, 0, 0, 1], 5).into()).ip);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1");
        append_forwarded_for(&mut h, &Peer::new(([127, 0, 0, 1], 6).into()).ip);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        let v6 = Peer::new("[::1]:8080".parse().unwrap());
        assert_eq!(v6.ip, "::1");
    }

    #[test]
    fn labels() {
        assert_eq!(Upstreamed::Answered(StatusCode::CREATED).label(), "2xx");
        assert_eq!(Upstreamed::Answered(StatusCode::NOT_FOUND).label(), "4xx");
        assert_eq!(Upstreamed::Answered(StatusCode::BAD_GATEWAY).label(), "5xx");
        assert_eq!(Upstreamed::TimedOut.label(), "timeout");
    }
}
