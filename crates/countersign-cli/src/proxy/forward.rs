//! [`Forward`]: the innermost service of a route. It sends a verified delivery to the
//! upstream — same path and query on the upstream base, the exact body, the original headers
//! minus hop-by-hop ones, plus `Countersign-Verified`, `Countersign-Event-Id`,
//! `Countersign-Event-Type` and `Countersign-Preset` — and returns the upstream's answer *complete* (bounded), so that the
//! dedup layer around it records a 2xx as done before anything is relayed to the provider.
//!
//! | upstream | answer | dedup |
//! |---|---|---|
//! | any status | that status, headers (minus hop-by-hop) and body | 2xx → done; else released |
//! | any status, body > 1 MiB, broken or late | that status and headers, empty body (logged) | 2xx → done; else released |
//! | no connection / broken answer / `101` | `502 Bad Gateway` | released |
//! | no complete answer within the timeout | `504 Gateway Timeout` | released |
//!
//! The dedup layer runs a forward in a task of its own once the claim is won: a client that
//! goes away does not cut it short, the upstream's answer still decides done or released.
//! When the grace period of a shutdown ends, the route answers [`cancelled`] instead (outside
//! the dedup layer); forwards still waiting for a status line are abandoned with the runtime,
//! their claims neither completed nor released — they expire with their lease, so a retry
//! cannot race an upstream that may still be working.

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
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use super::cancelled::Cancelled;
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
    /// A trusted proxy (`--trusted-proxy`): its forwarding headers are kept.
    pub(crate) trusted: bool,
}

impl Peer {
    pub(crate) fn new(addr: SocketAddr, trusted: bool) -> Self {
        Peer {
            // An IP address is always a valid header value.
            ip: HeaderValue::from_str(&addr.ip().to_string())
                .unwrap_or(HeaderValue::from_static("unknown")),
            trusted,
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
    cancel: CancellationToken,
}

impl Forward {
    /// A forwarder to `upstream`; `cancel` fires when the grace period ends.
    pub(crate) fn new(
        client: UpstreamClient,
        upstream: Upstream,
        timeout: Duration,
        cancel: CancellationToken,
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
                cancel,
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
    let (mut parts, body) = req.into_parts();
    let routed = parts.extensions.remove::<RoutedPath>();
    let path = routed.as_ref().map(|r| &r.0).or(parts.uri.path_and_query());
    let uri = match config.upstream.uri_for(path) {
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
    // The router removed forwarding headers unless the peer is a trusted proxy: what is left
    // is a trusted proxy's, kept; the rest is what this proxy saw.
    if let Some(host) = headers.remove(header::HOST)
        && !headers.contains_key(X_FORWARDED_HOST)
    {
        headers.insert(X_FORWARDED_HOST, host);
    }
    if !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    headers.insert(header::HOST, config.host.clone());
    if let Some(peer) = parts.extensions.get::<Peer>() {
        append_forwarded_for(&mut headers, &peer.ip);
    }
    // Set by the proxy alone (the router removed whatever the sender put there).
    headers.insert(VERIFIED_HEADER, HeaderValue::from_static("true"));
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

    // The status line decides: once it has arrived, a 2xx is a success whatever happens to
    // the body (too big, broken, late), so the claim is recorded done and never released
    // for an event the upstream processed.
    let deadline = tokio::time::Instant::now() + config.timeout;
    // Not cut short when the grace period ends: the route answers the client then, and this
    // forward keeps its claim (see the module docs).
    let head = tokio::time::timeout_at(deadline, config.client.request(upstream_req)).await;
    let response = match head {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            tracing::warn!(target: "countersign::proxy", error = %ErrorChain(&e), "upstream request failed");
            return local(
                StatusCode::BAD_GATEWAY,
                "upstream unavailable",
                Upstreamed::Failed,
            );
        }
        Err(_) => {
            tracing::warn!(target: "countersign::proxy", timeout = ?config.timeout, "upstream did not answer in time; 504");
            return local(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream timed out",
                Upstreamed::TimedOut,
            );
        }
    };
    let (parts, body) = response.into_parts();
    let status = parts.status;
    if status.is_informational() {
        // Only `101` gets here (hyper skips the others): the sender asked for no upgrade, and
        // relaying it would leave its connection switched to nothing.
        tracing::warn!(target: "countersign::proxy", status = status.as_u16(), "upstream answered an informational status as final; 502");
        return local(
            StatusCode::BAD_GATEWAY,
            "upstream answer unusable",
            Upstreamed::Failed,
        );
    }
    let bytes = read_answer(config, &parts.headers, body, deadline, status).await;
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

/// The upstream's answer body, at most [`MAX_UPSTREAM_RESPONSE`] bytes, complete by
/// `deadline`; empty (and logged) when it is larger, broken, late or the grace period ended.
async fn read_answer(
    config: &Config,
    headers: &HeaderMap,
    body: Incoming,
    deadline: tokio::time::Instant,
    status: StatusCode,
) -> Bytes {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let problem = if declared.is_some_and(|n| n > MAX_UPSTREAM_RESPONSE as u64) {
        "larger than 1 MiB (Content-Length)".to_owned()
    } else {
        let read = Limited::new(body, MAX_UPSTREAM_RESPONSE).collect();
        tokio::select! {
            biased;
            () = Cancelled::new(&config.cancel) => "not complete when the grace period ended".to_owned(),
            read = tokio::time::timeout_at(deadline, read) => match read {
                Ok(Ok(collected)) => return collected.to_bytes(),
                Ok(Err(e)) => ErrorChain(&*e).to_string(),
                Err(_) => "not complete within the upstream timeout".to_owned(),
            },
        }
    };
    tracing::warn!(
        target: "countersign::proxy",
        status = status.as_u16(),
        problem,
        "upstream answer body dropped: the status is relayed (and a 2xx recorded done) with an empty body"
    );
    Bytes::new()
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
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Whether a request header must not reach the upstream from this peer: any spelling of a
/// `Countersign-*` name (the proxy's own; `_` counts as `-`, since CGI/WSGI servers read
/// both as `HTTP_COUNTERSIGN_…`) or of a method-override header, and forwarding or
/// path-override headers unless the peer is a trusted proxy (and never in their underscore
/// spelling).
pub(crate) fn is_spoofable(name: &HeaderName, trusted: bool) -> bool {
    let n = name.as_str().as_bytes();
    if starts_with_dashed(n, b"countersign-") || is_method_override(n) {
        return true;
    }
    let forwarding = starts_with_dashed(n, b"x-forwarded-")
        || eq_dashed(n, b"forwarded")
        || eq_dashed(n, b"x-real-ip")
        || eq_dashed(n, b"x-original-url")
        || eq_dashed(n, b"x-rewrite-url");
    forwarding && (!trusted || n.contains(&b'_'))
}

/// A header frameworks read as the request's method (Express `method-override`, Symfony,
/// Laravel, …): it would turn a verified `POST` into a `DELETE` upstream past the route's
/// methods, and the signature does not cover the method.
fn is_method_override(name: &[u8]) -> bool {
    eq_dashed(name, b"x-http-method-override")
        || eq_dashed(name, b"x-http-method")
        || eq_dashed(name, b"x-method-override")
}

/// `name` (lower-case, as parsed) equals `expected` with `_` read as `-`.
fn eq_dashed(name: &[u8], expected: &[u8]) -> bool {
    name.len() == expected.len() && starts_with_dashed(name, expected)
}

fn starts_with_dashed(name: &[u8], prefix: &[u8]) -> bool {
    name.len() >= prefix.len()
        && name
            .iter()
            .zip(prefix)
            .all(|(a, b)| a == b || (*a == b'_' && *b == b'-'))
}

/// Removes every header [`is_spoofable`] from this peer.
pub(crate) fn strip_spoofable(headers: &mut HeaderMap, trusted: bool) {
    if !headers.keys().any(|n| is_spoofable(n, trusted)) {
        return;
    }
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_spoofable(n, trusted))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// The path a route matched, when it differs from the request's (percent-encoding
/// normalised): forwarded instead of the raw one.
#[derive(Debug, Clone)]
pub(crate) struct RoutedPath(pub(crate) PathAndQuery);

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
        append_forwarded_for(&mut h, &Peer::new(([10, 0, 0, 1], 5).into(), false).ip);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1");
        append_forwarded_for(&mut h, &Peer::new(([127, 0, 0, 1], 6).into(), false).ip);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        let v6 = Peer::new("[::1]:8080".parse().unwrap(), false);
        assert_eq!(v6.ip, "::1");
    }

    #[test]
    fn labels() {
        assert_eq!(Upstreamed::Answered(StatusCode::CREATED).label(), "2xx");
        assert_eq!(Upstreamed::Answered(StatusCode::NOT_FOUND).label(), "4xx");
        assert_eq!(Upstreamed::Answered(StatusCode::BAD_GATEWAY).label(), "5xx");
        assert_eq!(Upstreamed::TimedOut.label(), "timeout");
    }

    #[test]
    fn spoofable_headers() {
        let name = |s: &str| HeaderName::from_bytes(s.as_bytes()).unwrap();
        for n in [
            "countersign-preset",
            "countersign_event_id",
            "countersign-whatever",
            "x-http-method-override",
            "x_http_method",
            "x-method-override",
        ] {
            assert!(
                is_spoofable(&name(n), false) && is_spoofable(&name(n), true),
                "{n}"
            );
        }
        for n in [
            "x-forwarded-host",
            "forwarded",
            "x-real-ip",
            "x-original-url",
        ] {
            assert!(is_spoofable(&name(n), false), "{n}");
            assert!(!is_spoofable(&name(n), true), "{n} from a trusted proxy");
        }
        for n in ["x_forwarded_for", "x-real_ip", "x_original_url"] {
            assert!(is_spoofable(&name(n), true), "{n}");
        }
        for n in [
            "content-type",
            "x-forwarded",
            "countersign",
            "x-hub-signature-256",
            "webhook-id",
        ] {
            assert!(!is_spoofable(&name(n), false), "{n}");
        }
        let mut h = HeaderMap::new();
        h.insert("countersign_preset", HeaderValue::from_static("stripe"));
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("content-type", HeaderValue::from_static("a/b"));
        strip_spoofable(&mut h, false);
        assert_eq!(h.len(), 1);
    }
}
