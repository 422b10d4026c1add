//! [`Accept`]: the tower service that ends a verified request by storing it in the inbox.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use countersign_core::{EventIdSource, Scheme, Verified};
use countersign_tower::VerifiedBody;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

use crate::error::InboxConfigError;
use crate::event::{EventKey, NewEvent};
use crate::store::{Accepted, Inbox};

/// `countersign-duplicate: true` on the answer to a duplicate.
pub const DUPLICATE_HEADER: HeaderName = HeaderName::from_static("countersign-duplicate");
/// Default `Retry-After` when the inbox cannot store: 5 s.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Headers kept with every event besides those the scheme reads and `content-type`: the
/// providers' event-type and delivery headers, so that a handler can route on them.
pub const DEFAULT_KEPT_HEADERS: &[&str] = &[
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-gitlab-event",
    "x-shopify-topic",
    "x-shopify-shop-domain",
    "x-event-type",
    "x-slack-retry-num",
    "stripe-account",
];

/// What the service did with a request; in the response extensions.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcceptOutcome {
    /// Stored durably: answered the configured 2xx.
    Stored,
    /// Already stored: answered `200` + `countersign-duplicate: true`, nothing written.
    Duplicate,
    /// The inbox could not store it: `503` + `Retry-After`, nothing acknowledged.
    StoreUnavailable,
    /// No `Verified` or no event id: `400`.
    MissingEventId,
}

impl AcceptOutcome {
    /// `stored`, `duplicate`, `store_unavailable` or `missing_event_id`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AcceptOutcome::Stored => "stored",
            AcceptOutcome::Duplicate => "duplicate",
            AcceptOutcome::StoreUnavailable => "store_unavailable",
            AcceptOutcome::MissingEventId => "missing_event_id",
        }
    }
}

/// Builds an [`Accept`] service.
pub struct AcceptBuilder {
    inbox: Arc<dyn Inbox>,
    scheme: Scheme,
    route: Option<String>,
    kept: Vec<HeaderName>,
    status: StatusCode,
    retry_after: Duration,
}

impl fmt::Debug for AcceptBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptBuilder")
            .field("scheme", &self.scheme.name())
            .field("route", &self.route)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl AcceptBuilder {
    /// The route (dedup scope) events are stored under (default: the preset name).
    #[must_use]
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
    /// Also keep header `name` (besides the scheme's, `content-type` and
    /// [`DEFAULT_KEPT_HEADERS`]).
    #[must_use]
    pub fn keep_header(mut self, name: HeaderName) -> Self {
        if !self.kept.contains(&name) {
            self.kept.push(name);
        }
        self
    }
    /// The status a stored delivery is answered with (default `200 OK`).
    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    /// `Retry-After` when the inbox cannot store (default [`DEFAULT_RETRY_AFTER`]).
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`InboxConfigError::NoEventIdSource`] for a scheme without event ids,
    /// [`InboxConfigError::NotSuccess`] for a non-2xx status.
    pub fn build(self) -> Result<Accept, InboxConfigError> {
        if matches!(self.scheme.event_id(), EventIdSource::None) {
            return Err(InboxConfigError::NoEventIdSource {
                scheme: self.scheme.name().to_owned(),
            });
        }
        if !self.status.is_success() {
            return Err(InboxConfigError::NotSuccess(self.status.as_u16()));
        }
        let mut kept = self.scheme.header_names();
        for name in std::iter::once(CONTENT_TYPE)
            .chain(
                DEFAULT_KEPT_HEADERS
                    .iter()
                    .map(|n| HeaderName::from_static(n)),
            )
            .chain(self.kept)
        {
            if !kept.contains(&name) {
                kept.push(name);
            }
        }
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        Ok(Accept {
            config: Arc::new(Config {
                inbox: self.inbox,
                route: self.route.map(Arc::from),
                kept,
                status: self.status,
                retry_after: HeaderValue::from(secs.max(1)),
            }),
        })
    }
}

struct Config {
    inbox: Arc<dyn Inbox>,
    route: Option<Arc<str>>,
    kept: Vec<HeaderName>,
    status: StatusCode,
    retry_after: HeaderValue,
}

/// Ends a request that `VerifyLayer` verified: stores it in the inbox (with its dedup
/// record, atomically) and answers — the handler runs later, in a [`Worker`](crate::Worker).
///
/// | inbox says | answer |
/// |---|---|
/// | stored (durably) | the configured 2xx (default `200`), empty body |
/// | duplicate (also of an event still being written) | `200` + `countersign-duplicate: true`; nothing stored |
/// | error | `503` + `Retry-After`; nothing stored |
/// | — no `Verified` / no event id | `400` |
///
/// Kept per event: the raw body, the headers the scheme reads, `content-type`,
/// [`DEFAULT_KEPT_HEADERS`] and [`AcceptBuilder::keep_header`]s. The
/// [`AcceptOutcome`] is in the response extensions.
///
/// ```
/// use countersign_inbox::{Accept, AcceptOutcome, Inbox, MemoryInbox, DUPLICATE_HEADER};
/// use countersign_core::{Preset, SignRequest, Signer};
/// use countersign_tower::VerifyLayer;
/// use http::{Request, StatusCode};
/// use http_body_util::Full;
/// use std::sync::Arc;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let inbox = Arc::new(MemoryInbox::new());
/// let accept = Accept::builder(inbox.clone(), Preset::Stripe).build()?;
/// // Behind the VerifyLayer, which passes on verified deliveries only:
/// let mut app = ServiceBuilder::new()
///     .layer(VerifyLayer::new(Preset::Stripe, "whsec_test")?)
///     .service(accept);
/// let body = br#"{"id":"evt_1"}"#;
/// let headers = Signer::new(Preset::Stripe, "whsec_test")?.sign(&SignRequest::new(body))?;
/// let delivery = || -> Request<Full<bytes::Bytes>> {
///     let mut req = Request::post("/").body(Full::new(bytes::Bytes::from_static(body))).unwrap();
///     *req.headers_mut() = headers.clone();
///     req
/// };
/// let first = ServiceExt::<Request<Full<bytes::Bytes>>>::ready(&mut app).await?.call(delivery()).await?;
/// assert_eq!(first.status(), StatusCode::OK);
/// let again = ServiceExt::<Request<Full<bytes::Bytes>>>::ready(&mut app).await?.call(delivery()).await?;
/// assert_eq!(again.headers()[DUPLICATE_HEADER], "true");
/// assert_eq!(again.extensions().get(), Some(&AcceptOutcome::Duplicate));
/// // Not verified: rejected by the layer, nothing stored.
/// let forged = Request::post("/").body(Full::new(bytes::Bytes::from_static(body)))?;
/// let rejected = ServiceExt::<Request<Full<bytes::Bytes>>>::ready(&mut app).await?.call(forged).await?;
/// assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(inbox.stats().await?.pending, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Accept {
    config: Arc<Config>,
}

impl fmt::Debug for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accept")
            .field("inbox", &self.config.inbox)
            .field("route", &self.config.route)
            .field("status", &self.config.status)
            .finish_non_exhaustive()
    }
}

impl Accept {
    /// A service storing deliveries verified with `scheme` into `inbox`.
    pub fn builder(inbox: Arc<dyn Inbox>, scheme: impl Into<Scheme>) -> AcceptBuilder {
        AcceptBuilder {
            inbox,
            scheme: scheme.into(),
            route: None,
            kept: Vec::new(),
            status: StatusCode::OK,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl Service<Request<VerifiedBody>> for Accept {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        Box::pin(async move { Ok(accept(&config, req).await) })
    }
}

fn answer(status: StatusCode, outcome: AcceptOutcome) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res.extensions_mut().insert(outcome);
    res
}

async fn accept(config: &Config, req: Request<VerifiedBody>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Some(verified) = parts.extensions.get::<Verified>() else {
        return answer(StatusCode::BAD_REQUEST, AcceptOutcome::MissingEventId);
    };
    let Some(id) = verified.event_id().filter(|id| !id.is_empty()) else {
        tracing::warn!(target: "countersign::inbox", preset = verified.preset(), "verified delivery without an event id: 400");
        return answer(StatusCode::BAD_REQUEST, AcceptOutcome::MissingEventId);
    };
    let route = config.route.as_deref().unwrap_or_else(|| verified.preset());
    let mut headers = HeaderMap::new();
    for name in &config.kept {
        for value in parts.headers.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let event = NewEvent::new(
        EventKey::new(route, id),
        verified.preset(),
        headers,
        body.into_bytes(),
    )
    .target(parts.uri.path_and_query().map_or("/", |pq| pq.as_str()));
    match config.inbox.accept(&event).await {
        Ok(Accepted::Stored) => {
            tracing::debug!(target: "countersign::inbox", route, id, "stored");
            answer(config.status, AcceptOutcome::Stored)
        }
        Ok(_) => {
            tracing::info!(target: "countersign::inbox", route, id, "duplicate: not stored");
            let mut res = answer(StatusCode::OK, AcceptOutcome::Duplicate);
            res.headers_mut()
                .insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
            res
        }
        Err(e) => {
            tracing::error!(target: "countersign::inbox", route, id, error = %crate::ErrorChain(&e), "inbox cannot store: 503");
            let mut res = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                AcceptOutcome::StoreUnavailable,
            );
            res.headers_mut()
                .insert(RETRY_AFTER, config.retry_after.clone());
            res
        }
    }
}
