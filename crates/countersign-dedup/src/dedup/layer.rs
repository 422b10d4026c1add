//! [`DedupLayer`] and its builder: configuration only, checked when built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use countersign_core::{EventIdSource, Scheme};
use http::HeaderValue;
use http::request::Parts;
use tower_layer::Layer;

use super::service::{Dedup, InlineDedup};
use crate::error::{DedupConfigError, check_duration, check_key_part};
use crate::stats::DedupStats;
use crate::store::{DedupStore, MAX_TTL};

/// Default lease of a claim: 60 s. Must exceed the handler's timeout: a handler still
/// running when its lease expires can be overtaken by a duplicate.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Default retention of a done record: 72 h, which covers Stripe's 3 days of retries (raise
/// it to ~76 h for Standard Webhooks' full retry schedule).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);
/// Default `Retry-After` on 409 and 503 answers: 5 s.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What to do when the store cannot answer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnStoreError {
    /// Answer `503 Service Unavailable` (default): the provider retries later, nothing is
    /// acknowledged without a record.
    #[default]
    FailClosed,
    /// Call the handler without deduplication and pass its answer on, logged at `warn` and
    /// counted in [`StatsSnapshot::failed_open`](crate::StatsSnapshot::failed_open):
    /// duplicates may run while the store is down.
    FailOpen,
}

type Extractor = dyn Fn(&Parts) -> Option<String> + Send + Sync;

pub(crate) struct Config {
    pub(crate) store: Arc<dyn DedupStore>,
    pub(crate) lease: Duration,
    pub(crate) retention: Duration,
    pub(crate) retry_after: HeaderValue,
    pub(crate) on_store_error: OnStoreError,
    pub(crate) extractor: Option<Arc<Extractor>>,
    pub(crate) scope: Arc<str>,
    pub(crate) stats: DedupStats,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .field("retry_after", &self.retry_after)
            .field("on_store_error", &self.on_store_error)
            .field("extractor", &self.extractor.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Applies [`Dedup`] to a service: claim-before-ack deduplication of webhook deliveries.
///
/// Place it *after* (inside) the verification layer, so that it sees the `Verified` the
/// verifier put into the request extensions.
///
/// For each request: find the event id (from `Verified`, or an extractor), claim it in the
/// store (one round trip), then
///
/// | store says | answer |
/// |---|---|
/// | claimed | call the handler; a 2xx is recorded as done **before** it is returned; anything else (non-2xx, error, panic) releases the claim so that the provider's retry runs the handler again |
/// | in flight | `409 Conflict` + `Retry-After`, handler not called |
/// | done | `200 OK` + `countersign-duplicate: true`, handler not called |
/// | error | `503 Service Unavailable` + `Retry-After` (or, with [`OnStoreError::FailOpen`], the handler without deduplication) |
/// | — no event id | `400 Bad Request` |
///
/// ## The client going away
///
/// Once the claim is won, the handler runs to completion in a spawned task and its outcome
/// is recorded even if the client disconnects or an outer timeout drops the request: the
/// response future only waits for the task. (Otherwise the provider's retry would run the
/// handler a second time while the first run may still be doing its work.) This needs a
/// Tokio runtime and a `Send + 'static` handler; [`DedupLayer::inline`] makes
/// [`InlineDedup`] instead, which runs the handler inside the request future and releases
/// the claim when that future is dropped. A spawned handler that is still running when the
/// runtime shuts down is abandoned: its claim is neither completed nor released and expires
/// with the lease, so a retry cannot race work that may have happened.
///
/// ## Replays
///
/// The key is the event id the scheme names. Where the provider does not sign that id —
/// GitHub's `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`, … (`countersign presets`
/// shows which presets sign theirs) — anyone who captured a delivery can replay it under a
/// fresh id inside the scheme's timestamp tolerance (for presets without a signed timestamp,
/// forever), and the layer runs the handler again. The layer deduplicates retries; it does
/// not stop replays of unsigned ids.
///
/// ```
/// use countersign_core::{Delivery, Preset, SignRequest, Signer, Verifier};
/// use countersign_dedup::{DedupLayer, DedupRejection, MemoryStore, DUPLICATE_HEADER};
/// use http::{Request, Response, StatusCode};
/// use std::convert::Infallible;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let layer = DedupLayer::builder(MemoryStore::new(), Preset::Stripe).build()?;
/// let mut svc = ServiceBuilder::new().layer(layer).service_fn(|_req: Request<()>| async {
///     Ok::<_, Infallible>(Response::new(()))
/// });
/// // What VerifyLayer leaves in the extensions of a verified delivery:
/// let body = br#"{"id":"evt_1"}"#;
/// let headers = Signer::new(Preset::Stripe, "whsec_test")?.sign(&SignRequest::new(body))?;
/// let verified = Verifier::new(Preset::Stripe, "whsec_test")?.verify(&Delivery::new(&headers, body))?;
/// let delivery = || {
///     let mut req = Request::new(());
///     req.extensions_mut().insert(verified.clone());
///     req
/// };
///
/// // Accepted: the first delivery runs the handler.
/// let first = svc.ready().await?.call(delivery()).await?;
/// assert_eq!(first.status(), StatusCode::OK);
/// assert!(first.headers().get(&DUPLICATE_HEADER).is_none());
///
/// // A redelivery is answered without calling the handler.
/// let again = svc.ready().await?.call(delivery()).await?;
/// assert_eq!(again.headers()[&DUPLICATE_HEADER], "true");
///
/// // Rejected: a request that was not verified (no event id).
/// let bare = svc.ready().await?.call(Request::new(())).await?;
/// assert_eq!(bare.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(bare.extensions().get(), Some(&DedupRejection::MissingEventId));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A scheme without an event id is refused when the layer is built, not per request:
///
/// ```
/// use countersign_core::{Algorithm, Encoding, Scheme};
/// use countersign_dedup::{DedupConfigError, DedupLayer, MemoryStore};
///
/// let scheme = Scheme::generic_hmac("x-signature", "", Algorithm::HmacSha256, Encoding::Hex)?;
/// let err = DedupLayer::builder(MemoryStore::new(), scheme.clone()).build().unwrap_err();
/// assert!(matches!(err, DedupConfigError::NoEventIdSource { .. }));
///
/// // With an extractor it builds.
/// DedupLayer::builder(MemoryStore::new(), scheme)
///     .event_id_with(|parts| Some(parts.headers.get("x-event-id")?.to_str().ok()?.to_owned()))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DedupLayer {
    config: Arc<Config>,
}

impl DedupLayer {
    /// Starts configuring a layer that keeps its records in `store`, for deliveries of
    /// `scheme` (a [`Preset`](countersign_core::Preset) or a [`Scheme`]): the scheme of the
    /// verifier in front of this layer. Its name is the key scope (see
    /// [`scope`](DedupLayerBuilder::scope)), and [`build`](DedupLayerBuilder::build)
    /// refuses a scheme that carries no event id unless an extractor is given
    /// ([`DedupConfigError::NoEventIdSource`]).
    pub fn builder(
        store: impl DedupStore + 'static,
        scheme: impl Into<Scheme>,
    ) -> DedupLayerBuilder {
        DedupLayerBuilder {
            scheme: scheme.into(),
            store: Arc::new(store),
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
            retry_after: DEFAULT_RETRY_AFTER,
            on_store_error: OnStoreError::default(),
            extractor: None,
            scope: None,
        }
    }

    /// The layer's counters (shared by every service it makes).
    #[must_use]
    pub fn stats(&self) -> DedupStats {
        self.config.stats.clone()
    }
}

impl DedupLayer {
    /// The same layer (same store, settings and counters) running the handler inside the
    /// request future instead of a spawned task: for handlers that are not `Send + 'static`.
    /// Dropping a request then cancels its handler and releases the claim.
    #[must_use]
    pub fn inline(&self) -> InlineDedupLayer {
        InlineDedupLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<S> Layer<S> for DedupLayer {
    type Service = Dedup<S>;

    fn layer(&self, inner: S) -> Dedup<S> {
        Dedup::new(inner, Arc::clone(&self.config))
    }
}

/// [`DedupLayer`] for handlers that cannot be spawned: makes [`InlineDedup`]. See
/// [`DedupLayer::inline`].
#[derive(Debug, Clone)]
pub struct InlineDedupLayer {
    config: Arc<Config>,
}

impl InlineDedupLayer {
    /// The layer's counters (shared with the [`DedupLayer`] it came from).
    #[must_use]
    pub fn stats(&self) -> DedupStats {
        self.config.stats.clone()
    }
}

impl<S> Layer<S> for InlineDedupLayer {
    type Service = InlineDedup<S>;

    fn layer(&self, inner: S) -> InlineDedup<S> {
        InlineDedup::new(inner, Arc::clone(&self.config))
    }
}

/// Builds a [`DedupLayer`]; every setting is checked by [`build`](Self::build).
#[must_use]
pub struct DedupLayerBuilder {
    store: Arc<dyn DedupStore>,
    lease: Duration,
    retention: Duration,
    retry_after: Duration,
    on_store_error: OnStoreError,
    extractor: Option<Arc<Extractor>>,
    scope: Option<String>,
    scheme: Scheme,
}

impl fmt::Debug for DedupLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedupLayerBuilder")
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .field("retry_after", &self.retry_after)
            .field("on_store_error", &self.on_store_error)
            .field("extractor", &self.extractor.is_some())
            .field("scope", &self.scope)
            .field("scheme", &self.scheme.name())
            .finish_non_exhaustive()
    }
}

impl DedupLayerBuilder {
    /// The key scope (default: the scheme's name). Endpoints that share a store and a scope
    /// share their records.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Reads the event id from the request head instead of from `Verified::event_id`:
    /// for schemes without an id, or to build one (GitHub: hook id + delivery id).
    /// `None` or an empty id is answered 400. `Verified` is in `parts.extensions`.
    pub fn event_id_with<F>(mut self, extractor: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.extractor = Some(Arc::new(extractor));
        self
    }

    /// How long a claim protects an in-flight delivery (default [`DEFAULT_LEASE`]). Must
    /// exceed the handler's timeout.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a done record answers duplicates (default [`DEFAULT_RETENTION`]).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// `Retry-After` on 409 and 503 answers, rounded up to whole seconds (default
    /// [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// What to do when the store fails (default [`OnStoreError::FailClosed`]: 503).
    pub fn on_store_error(mut self, policy: OnStoreError) -> Self {
        self.on_store_error = policy;
        self
    }

    /// Builds the layer.
    ///
    /// # Errors
    /// - [`DedupConfigError::NoEventIdSource`]: the scheme has no event id and no extractor
    ///   was given;
    /// - [`DedupConfigError::DurationOutOfRange`]: lease, retention or retry-after is zero or
    ///   longer than [`MAX_TTL`];
    /// - [`DedupConfigError::InvalidKeyPart`]: the scope contains braces or whitespace.
    pub fn build(self) -> Result<DedupLayer, DedupConfigError> {
        let lease = check_duration("lease", self.lease, MAX_TTL)?;
        let retention = check_duration("retention", self.retention, MAX_TTL)?;
        let retry_after = check_duration("retry_after", self.retry_after, MAX_TTL)?;
        if matches!(self.scheme.event_id(), EventIdSource::None) && self.extractor.is_none() {
            return Err(DedupConfigError::NoEventIdSource {
                scheme: self.scheme.name().to_owned(),
            });
        }
        let scope = self.scope.unwrap_or_else(|| self.scheme.name().to_owned());
        check_key_part("scope", &scope)?;
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Ok(DedupLayer {
            config: Arc::new(Config {
                store: self.store,
                lease,
                retention,
                retry_after: HeaderValue::from(secs),
                on_store_error: self.on_store_error,
                extractor: self.extractor,
                scope: scope.into(),
                stats: DedupStats::default(),
            }),
        })
    }
}
