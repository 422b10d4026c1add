//! Routes and the [`Router`]: which stack a request goes through, and what the proxy answers
//! itself (`GET /healthz`, `GET /metrics` unless `--admin-listen`, `404`, …).
//!
//! Before any work, in this order: `503` + `Retry-After` while draining (after SIGTERM);
//! `400` for more than one `Host`, and for a path that could be read as another one
//! ([`super::path`]); `404` when no route matches the normalised path; `405` + `Allow` for a method the route does not accept. Then
//! the headers only the proxy may set are removed (any spelling of `Countersign-*`; the
//! forwarding headers unless the peer is a trusted proxy) and the route's stack runs,
//! outermost first:
//!
//! ```text
//! VerifyLayer ─▶ Tag ─────────────────────────▶ DedupLayer (optional) ─▶ Forward
//! 400/401/413,    keeps the event id for the     409 / 200 duplicate /   upstream; 502/504/503
//! 408 body        access log; no event id and    503 store down
//! timeout         `no_event_id = forward`:
//!                 straight to Forward
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use countersign_core::{Secret, Tolerance, Verified, Verifier};
use countersign_dedup::{DedupConfigError, DedupLayer, DedupRejection, DedupStats, DedupStore};
use countersign_publish::PublishOutcome;
use countersign_tower::keys::{HttpsKeys, KeySourceError, RotatingVerifier};
use countersign_tower::{
    BodyBudget, VerifiedBody, VerifyLayer, VerifyRejection, VerifyResponseBody,
};
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};
use tower_service::Service;

use super::config::{RouteSpec, Settings, path_matches};
use super::deadline::{DeadlineBody, is_body_timeout};
use super::forward::{
    Forward, ForwardedEventType, Peer, RoutedPath, UpstreamClient, Upstreamed, cancelled,
    strip_spoofable,
};
use super::health::Health;
use super::inbox::Queued;
use super::logging::{self, Access};
use super::metrics::{Metrics, RouteMetrics};
use super::path;
use super::sampling::REJECTIONS;
use super::secret_files::RouteSecrets;
use super::trusted::{self, Cidr};
use crate::cli::NoEventId;
use crate::error::CliError;

/// What a route's stack answers with.
type RouteBody = VerifyResponseBody<Full<Bytes>>;
/// What the proxy answers with: a route's answer or its own.
pub(crate) type ProxyBody = Either<RouteBody, Full<Bytes>>;

type RouteService =
    BoxCloneSyncService<Request<DeadlineBody<Incoming>>, Response<RouteBody>, Infallible>;

/// One route, built.
struct Route {
    name: String,
    path: String,
    index: usize,
    service: RouteService,
    methods: Vec<Method>,
    /// `Allow` of a 405.
    allow: HeaderValue,
}

/// Dispatches requests to routes; serves `/healthz` and `/metrics`.
pub(crate) struct Router {
    /// Longest path first, so the most specific route wins.
    routes: Vec<Route>,
    metrics: Arc<Metrics>,
    health: Health,
    body_timeout: Duration,
    /// Queued routes (`--inbox`): their counters and inboxes.
    queued: Arc<Queued>,
    trusted_proxies: Vec<Cidr>,
    /// `/healthz` and `/metrics` on the public listener (no `--admin-listen`).
    serves_admin: bool,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field(
                "routes",
                &self.routes.iter().map(|r| &r.path).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builds every route's stack. `store` is used by the routes with dedup on.
///
/// # Errors
/// [`CliError::Usage`] naming the route whose verifier or dedup layer cannot be built (an
/// undecodable secret, a preset without event id and dedup on, …).
pub(crate) fn build(
    settings: &Settings,
    store: Arc<dyn DedupStore>,
    store_kind: &'static str,
    client: &UpstreamClient,
    cancel: &CancellationToken,
    queued: &Arc<Queued>,
) -> Result<Router, CliError> {
    let mut routes = Vec::with_capacity(settings.routes.len());
    let mut route_metrics = Vec::with_capacity(settings.routes.len());
    let mut any_dedup = false;
    // One budget for every route: the bound is on the process.
    let budget = BodyBudget::new(settings.max_body_memory);
    for (index, spec) in settings.routes.iter().enumerate() {
        let context =
            |e: CliError| CliError::Usage(format!("route `{}`: {}", spec.name, e.report()));
        let trust_forwarded = !settings.trusted_proxies.is_empty();
        let (verify, rotating) = verify_layer(spec, trust_forwarded, &budget).map_err(context)?;
        let mut publish_stats = None;
        let (service, stats): (RouteService, Option<DedupStats>) = if let Some(url) = &spec.publish
        {
            any_dedup = true;
            let (publish, stats) = super::publish::service(spec, url, settings, Arc::clone(&store))
                .map_err(context)?;
            publish_stats = Some(stats);
            let stack = verify.layer(Tag {
                inner: publish,
                without_id: None,
                cancel: cancel.clone(),
            });
            (BoxCloneSyncService::new(stack), None)
        } else {
            let upstream = spec
                .upstream
                .clone()
                .ok_or_else(|| context(CliError::Usage("no upstream".into())))?;
            let forward = Forward::new(
                client.clone(),
                upstream,
                spec.upstream_timeout,
                cancel.clone(),
            )
            .map_err(|m| context(CliError::Usage(m)))?;
            let accept = queued.accept_service(index, spec).map_err(context)?;
            if let Some(accept) = accept {
                // Queued: the inbox is the dedup store; the worker forwards later.
                let stack = verify.layer(Tag {
                    inner: accept,
                    without_id: None,
                    cancel: cancel.clone(),
                });
                (BoxCloneSyncService::new(stack), None)
            } else if spec.dedup {
                any_dedup = true;
                let dedup = DedupLayer::builder(Arc::clone(&store), spec.scheme.clone())
                    .scope(&spec.name)
                    .lease(settings.lease)
                    .retention(settings.retention)
                    .build()
                    .map_err(|e| context(dedup_error(e, spec)))?;
                let stats = dedup.stats();
                let without_id = (spec.no_event_id == NoEventId::Forward).then(|| forward.clone());
                let stack = verify.layer(Tag {
                    inner: dedup.layer(forward),
                    without_id,
                    cancel: cancel.clone(),
                });
                (BoxCloneSyncService::new(stack), Some(stats))
            } else {
                let stack = verify.layer(Tag {
                    inner: forward,
                    without_id: None,
                    cancel: cancel.clone(),
                });
                (BoxCloneSyncService::new(stack), None)
            }
        };
        if spec.scheme.needs_url() && spec.public_url.is_none() && !trust_forwarded {
            tracing::warn!(
                target: "countersign::proxy",
                route = %spec.name,
                "`{}` signs the request URL, rebuilt from the Host header as https://<host><path>; set `public_url` if the provider sends to another URL",
                spec.scheme.name()
            );
        }
        route_metrics.push(
            RouteMetrics::new(&spec.name, stats)
                .with_publish(publish_stats)
                .with_secret_labels(spec.secrets.iter().filter_map(|s| s.label()))
                .with_rotating_keys(rotating),
        );
        let allow = spec
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        routes.push(Route {
            name: spec.name.clone(),
            path: spec.path.clone(),
            index,
            service,
            methods: spec.methods.clone(),
            allow: HeaderValue::from_str(&allow)
                .map_err(|_| context(CliError::Usage(format!("methods `{allow}`"))))?,
        });
    }
    routes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
    Ok(Router {
        routes,
        metrics: Arc::new(Metrics::new(route_metrics)),
        health: Health::new(any_dedup.then_some(store), store_kind).with_inboxes(queued.inboxes()),
        body_timeout: settings.body_timeout,
        queued: Arc::clone(queued),
        trusted_proxies: settings.trusted_proxies.clone(),
        serves_admin: settings.admin_listen.is_none(),
    })
}

/// `trust_forwarded`: some peers are trusted proxies. The router removes the forwarding
/// headers of every other peer before the layer sees them. With keys that change (secret
/// files, a key set), also the rotating verifier, for its counters.
fn verify_layer(
    spec: &RouteSpec,
    trust_forwarded: bool,
    budget: &BodyBudget,
) -> Result<(VerifyLayer, Option<RotatingVerifier>), CliError> {
    let scheme = spec.scheme.clone();
    let (tolerance, body_limit) = (spec.tolerance, spec.body_limit);
    let token = spec.handshake_token.clone();
    let build = move |secrets: Vec<Secret>| {
        let mut verifier = Verifier::builder(scheme.clone()).secrets(secrets);
        if let Some(t) = tolerance {
            verifier = verifier.tolerance(Tolerance::symmetric(t));
        }
        if let Some(limit) = body_limit {
            verifier = verifier.body_limit(limit);
        }
        if let Some(token) = &token {
            verifier = verifier.handshake_token(token.clone());
        }
        verifier.build()
    };
    let mut rotating_keys = None;
    let mut b = match (&spec.keys, &spec.secret_files) {
        // A key set over HTTPS, fetched again every `refresh` and after a mismatch.
        (Some(keys), _) => {
            let mut source = HttpsKeys::builder(keys.url.clone(), spec.scheme.clone())
                .refresh_interval(keys.refresh)
                .min_refresh_interval(keys.refresh.min(KEYS_MIN_REFRESH));
            if let Some(pem) = &keys.ca_pem {
                source = source.root_certificates_pem(pem.clone());
            }
            let source = source.build().map_err(|e| keys_error(spec, &e))?;
            let rotating = RotatingVerifier::new(source, build).map_err(|e| match e {
                KeySourceError::Config(e) => CliError::Config(e),
                other => keys_error(spec, &other),
            })?;
            rotating_keys = Some(rotating.clone());
            VerifyLayer::rotating(rotating)
        }
        // Secret files are re-read when they change (see `secret_files`).
        (None, Some(files)) => {
            let source = RouteSecrets::new(
                files.before.clone(),
                files.files.clone(),
                files.after.clone(),
            );
            let rotating = RotatingVerifier::new(source, build).map_err(|e| match e {
                KeySourceError::Config(e) => CliError::Config(e),
                other => CliError::Usage(format!("secret files: {other}")),
            })?;
            rotating_keys = Some(rotating.clone());
            VerifyLayer::rotating(rotating)
        }
        (None, None) => VerifyLayer::builder(build(spec.secrets.clone())?),
    }
    .body_budget(budget.clone())
    .handshakes(spec.handshakes)
    .trust_forwarded_headers(trust_forwarded)
    .on_rejection(rejection_response);
    if let Some(url) = &spec.public_url {
        b = b.public_url(url.clone());
    }
    Ok((b.build()?, rotating_keys))
}

/// The least time between two fetches of a route's key set, however many deliveries with
/// unknown keys arrive (lower only when `keys_refresh` is).
const KEYS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// A key set that cannot be used at start: the proxy does not start without keys.
fn keys_error(spec: &RouteSpec, e: &KeySourceError) -> CliError {
    CliError::Usage(format!("route `{}`: keys_url: {e}", spec.name))
}

fn dedup_error(e: DedupConfigError, spec: &RouteSpec) -> CliError {
    match e {
        DedupConfigError::NoEventIdSource { scheme } => CliError::Usage(format!(
            "`{scheme}` deliveries carry no event id to deduplicate on: turn dedup off for this route (`dedup = false`, or --no-dedup)"
        )),
        other => CliError::Usage(format!("dedup for route path `{}`: {other}", spec.path)),
    }
}

/// The verify layer's rejections: its default answers, except `408` for a body that did not
/// arrive in time.
fn rejection_response(rejection: &VerifyRejection) -> Response<Bytes> {
    let timed_out = is_body_timeout(rejection);
    let (status, text) = if timed_out {
        (StatusCode::REQUEST_TIMEOUT, "request body timeout")
    } else {
        (rejection.status(), rejection.public_message())
    };
    let mut response = Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if timed_out || matches!(rejection, VerifyRejection::BodyRead(_)) {
        // The body was not read to its end: the connection cannot be reused.
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Copies the [`Verified`] of a request into its response's extensions (for the access log;
/// the request is consumed by the services inside). A delivery without an event id goes to
/// `without_id` when set (`no_event_id = forward`: past the dedup layer). When `cancel`
/// fires (the grace period ended) the request is answered [`cancelled`] here, outside the
/// dedup layer, so that a forward still running keeps its claim instead of releasing it.
#[derive(Clone, Debug)]
struct Tag<S> {
    inner: S,
    without_id: Option<Forward>,
    cancel: CancellationToken,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<Request<VerifiedBody>> for Tag<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<Full<Bytes>>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        let verified = req.extensions().get::<Verified>().cloned();
        let no_id = verified.as_ref().is_none_or(|v| v.event_id().is_none());
        if no_id && let Some(forward) = &mut self.without_id {
            // Forward is always ready.
            let fut = forward.call(req);
            let cancel = self.cancel.clone();
            return Box::pin(async move {
                let mut response = tokio::select! {
                    biased;
                    () = cancel.cancelled() => cancelled(),
                    response = fut => response?,
                };
                response.extensions_mut().insert(WithoutDedup);
                if let Some(v) = verified {
                    response.extensions_mut().insert(v);
                }
                Ok(response)
            });
        }
        let fut = self.inner.call(req);
        let cancel = self.cancel.clone();
        Box::pin(async move {
            let mut response = tokio::select! {
                biased;
                () = cancel.cancelled() => cancelled(),
                response = fut => response?,
            };
            if let Some(v) = verified {
                response.extensions_mut().insert(v);
            }
            Ok(response)
        })
    }
}

/// A delivery without an event id forwarded past the dedup layer (for the access log).
#[derive(Clone, Copy, Debug)]
struct WithoutDedup;

/// Decrements the in-flight gauge when a request is answered or dropped.
struct InFlight<'m>(&'m Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.request(-1);
    }
}

impl Router {
    /// The metrics shared with the server.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The health state shared with the server.
    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// (name, path) of every route, most specific first.
    pub(crate) fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.routes
            .iter()
            .map(|r| (r.name.as_str(), r.path.as_str()))
    }

    /// Whether forwarding headers from `addr` are kept.
    pub(crate) fn trusts(&self, addr: std::net::IpAddr) -> bool {
        trusted::trusts(&self.trusted_proxies, addr)
    }

    /// `GET /healthz` and `GET /metrics`; `None` for anything else.
    pub(crate) async fn admin<B>(&self, req: &Request<B>) -> Option<Response<ProxyBody>> {
        if req.method() != Method::GET {
            return None;
        }
        match req.uri().path() {
            "/healthz" => {
                let (status, body) = self.health.check().await;
                Some(own(status, "application/json", body))
            }
            "/metrics" => {
                let mut body = self.metrics.render();
                body.push_str(&self.queued.render().await);
                let body = body.into_bytes();
                Some(own(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    body,
                ))
            }
            _ => None,
        }
    }

    /// A request on the admin listener: `/healthz`, `/metrics`, else 404.
    pub(crate) async fn handle_admin(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        Ok(self.admin(&req).await.unwrap_or_else(|| {
            own(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                b"not found\n".to_vec(),
            )
        }))
    }

    /// Handles one request.
    pub(crate) async fn handle(
        self: Arc<Self>,
        mut req: Request<Incoming>,
        peer: Peer,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let started = Instant::now();
        self.metrics.request(1);
        let _in_flight = InFlight(&self.metrics);

        if self.serves_admin
            && let Some(response) = self.admin(&req).await
        {
            return Ok(response);
        }
        if self.health.is_shutting_down() {
            self.metrics.refused("draining");
            log_refused(&req, 503, "draining");
            let mut response = own(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                b"shutting down\n".to_vec(),
            );
            let h = response.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
        // RFC 9112 §3.2: more than one Host is a 400. The forwarder and the URL rebuilt for
        // URL-bound presets would each pick one, and a server in front may pick another.
        if req.headers().get_all(header::HOST).iter().nth(1).is_some() {
            self.metrics.refused("bad_host");
            log_refused(&req, 400, "bad_host");
            return Ok(own(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                b"more than one Host header\n".to_vec(),
            ));
        }
        let path = match path::normalize(req.uri().path()) {
            Ok(path) => path,
            Err(refused) => {
                self.metrics.refused("bad_path");
                log_refused(&req, 400, refused.label());
                return Ok(own(
                    StatusCode::BAD_REQUEST,
                    "text/plain; charset=utf-8",
                    b"bad path\n".to_vec(),
                ));
            }
        };
        let Some(route) = self.routes.iter().find(|r| path_matches(&r.path, &path)) else {
            self.metrics.unrouted();
            log_refused(&req, 404, "no_route");
            return Ok(own(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                b"no route\n".to_vec(),
            ));
        };
        if !route.methods.contains(req.method()) {
            self.metrics.refused("method");
            log_refused(&req, 405, "method_not_allowed");
            let mut response = own(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                b"method not allowed\n".to_vec(),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, route.allow.clone());
            return Ok(response);
        }
        if let std::borrow::Cow::Owned(normal) = path {
            let routed = match req.uri().query() {
                Some(q) => format!("{normal}?{q}"),
                None => normal,
            };
            if let Ok(pq) = PathAndQuery::try_from(routed) {
                req.extensions_mut().insert(RoutedPath(pq));
            }
        }
        strip_spoofable(req.headers_mut(), peer.trusted);

        let method = req.method().clone();
        // The path is copied only when the access log will show it.
        let log_path = logging::access_enabled().then(|| req.uri().path().to_owned());
        req.extensions_mut().insert(peer);
        let req = req.map(|body| DeadlineBody::new(body, self.body_timeout));
        let response = match route.service.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let elapsed = started.elapsed();

        let outcome = self.account(route.index, &response);
        if let Some(m) = self.metrics.route(route.index) {
            m.observe(elapsed);
        }
        let event_id = response
            .extensions()
            .get::<Verified>()
            .and_then(Verified::event_id);
        // Lines of requests that reached no upstream are sampled: bogus requests cost little
        // to send and must not cost a log line each.
        let reached_upstream = response.extensions().get::<Upstreamed>().is_some();
        if let Some(path) = log_path
            && let Some(suppressed) = if reached_upstream {
                Some(0)
            } else {
                REJECTIONS.admit()
            }
        {
            logging::access(&Access {
                route: Some(&route.name),
                method: method.as_str(),
                path: &path,
                status: response.status().as_u16(),
                outcome,
                event_id,
                duration_micros: Some(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)),
                suppressed: (suppressed > 0).then_some(suppressed),
            });
        }
        Ok(response.map(Either::Left))
    }

    /// Counts the outcome of a route's answer; returns its label.
    fn account(&self, index: usize, response: &Response<RouteBody>) -> &'static str {
        let Some(m) = self.metrics.route(index) else {
            return "unknown";
        };
        let ext = response.extensions();
        if let Some(rejection) = ext.get::<VerifyRejection>() {
            let reason = if is_body_timeout(rejection) {
                "body_timeout"
            } else {
                rejection.label()
            };
            m.rejected(reason);
            return reason;
        }
        m.verified();
        if let Some(verified) = ext.get::<Verified>() {
            m.secret_matched(verified.secret_label());
        }
        if let Some(outcome) = ext.get::<countersign_inbox::AcceptOutcome>() {
            self.queued.accepted(index, *outcome);
            return outcome.as_str();
        }
        if let Some(upstreamed) = ext.get::<Upstreamed>() {
            m.forwarded(*upstreamed);
            let without_dedup = ext.get::<WithoutDedup>().is_some();
            m.event(
                ext.get::<ForwardedEventType>()
                    .and_then(|t| t.0.to_str().ok()),
            );
            return match upstreamed {
                Upstreamed::Answered(_) if without_dedup => "forwarded_without_event_id",
                Upstreamed::Answered(_) => "forwarded",
                Upstreamed::Failed => "upstream_error",
                Upstreamed::TimedOut => "upstream_timeout",
                Upstreamed::Cancelled => "cancelled",
            };
        }
        if let Some(outcome) = ext.get::<PublishOutcome>() {
            // Counted by the publish service's own stats.
            return outcome.as_str();
        }
        if let Some(dedup) = ext.get::<DedupRejection>() {
            // Counted by the dedup layer's own stats.
            return dedup.as_str();
        }
        m.handshake();
        "handshake"
    }
}

/// The access-log line of a request refused before any route work (sampled).
fn log_refused<B>(req: &Request<B>, status: u16, outcome: &'static str) {
    if logging::access_enabled()
        && let Some(suppressed) = REJECTIONS.admit()
    {
        logging::access(&Access {
            method: req.method().as_str(),
            path: req.uri().path(),
            status,
            outcome,
            suppressed: (suppressed > 0).then_some(suppressed),
            ..Access::default()
        });
    }
}

/// An answer written by the proxy itself.
fn own(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
