//! [`PublishServiceBuilder`]: configuration, checked when built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use countersign_core::{EventIdSource, Scheme};
use countersign_dedup::{DedupStore, MAX_TTL, MemoryStore};
use http::HeaderValue;
use http::request::Parts;

use super::PublishService;
use crate::error::PublishConfigError;
use crate::publisher::Publisher;
use crate::stats::PublishStats;

/// Default time the sender waits for the broker's confirmation: 10 s.
pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default lease of a claim: 60 s (as the dedup layer's). Must exceed the publish timeout.
pub const DEFAULT_LEASE: Duration = countersign_dedup::DEFAULT_LEASE;
/// Default retention of a done record: 72 h (as the dedup layer's).
pub const DEFAULT_RETENTION: Duration = countersign_dedup::DEFAULT_RETENTION;
/// Default `Retry-After` on `409` and `503`: 5 s.
pub const DEFAULT_RETRY_AFTER: Duration = countersign_dedup::DEFAULT_RETRY_AFTER;
/// Default route name (dedup scope and `Countersign-Route`).
pub const DEFAULT_ROUTE: &str = "default";

type EventTypeFn = dyn Fn(&Parts, &[u8]) -> Option<String> + Send + Sync;

pub(crate) struct Config {
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) store: Arc<dyn DedupStore>,
    pub(crate) route: Arc<str>,
    pub(crate) timeout: Duration,
    pub(crate) lease: Duration,
    pub(crate) retention: Duration,
    pub(crate) retry_after: HeaderValue,
    pub(crate) event_type: Option<Box<EventTypeFn>>,
    pub(crate) stats: PublishStats,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("publisher", &self.publisher)
            .field("route", &self.route)
            .field("timeout", &self.timeout)
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// Builds a [`PublishService`]; see [`PublishService::builder`].
#[must_use]
pub struct PublishServiceBuilder {
    publisher: Arc<dyn Publisher>,
    store: Option<Arc<dyn DedupStore>>,
    scheme: Scheme,
    route: String,
    timeout: Duration,
    lease: Duration,
    retention: Duration,
    retry_after: Duration,
    event_type: Option<Box<EventTypeFn>>,
}

impl fmt::Debug for PublishServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishServiceBuilder")
            .field("publisher", &self.publisher)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl PublishServiceBuilder {
    pub(crate) fn new(publisher: Arc<dyn Publisher>, scheme: Scheme) -> Self {
        PublishServiceBuilder {
            publisher,
            store: None,
            scheme,
            route: DEFAULT_ROUTE.to_owned(),
            timeout: DEFAULT_PUBLISH_TIMEOUT,
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
            retry_after: DEFAULT_RETRY_AFTER,
            event_type: None,
        }
    }

    /// Where claims and done records live (default: a new [`MemoryStore`], one process).
    pub fn store(mut self, store: impl DedupStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A shared store.
    pub fn store_arc(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The route name: the dedup scope and the `Countersign-Route` header (default
    /// [`DEFAULT_ROUTE`]); 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub fn route(mut self, name: impl Into<String>) -> Self {
        self.route = name.into();
        self
    }

    /// How long the sender waits for the broker's confirmation before `503` (default
    /// [`DEFAULT_PUBLISH_TIMEOUT`]). A confirmation that arrives later is still recorded.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a claim protects a publish in flight (default [`DEFAULT_LEASE`]); must
    /// exceed the publish timeout.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a done record answers duplicates (default [`DEFAULT_RETENTION`]).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// `Retry-After` on `409` and `503` (default [`DEFAULT_RETRY_AFTER`]; rounded up to
    /// whole seconds).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Where the event type comes from (the `Countersign-Event-Type` header and
    /// `{event_type}` in templates): a function of the request head and the verified body.
    /// Without one it is the preset's
    /// ([`Verified::event_type`](countersign_core::Verified::event_type): Stripe's JSON
    /// `type`, GitHub's `X-GitHub-Event` + `action`, …), or unknown.
    pub fn event_type_with(
        mut self,
        f: impl Fn(&Parts, &[u8]) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.event_type = Some(Box::new(f));
        self
    }

    /// Builds the service.
    ///
    /// # Errors
    /// [`PublishConfigError::Setting`] for a route name outside `[A-Za-z0-9._-]{1,64}`, a
    /// zero or too long duration, a lease not above the publish timeout, or a scheme without
    /// event ids.
    pub fn build(self) -> Result<PublishService, PublishConfigError> {
        let setting =
            |setting: &'static str, reason: String| PublishConfigError::Setting { setting, reason };
        let name_ok = !self.route.is_empty()
            && self.route.len() <= 64
            && self
                .route
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(setting(
                "route",
                format!("`{}`: use 1 to 64 of A-Z a-z 0-9 . _ -", self.route),
            ));
        }
        for (name, d) in [
            ("timeout", self.timeout),
            ("lease", self.lease),
            ("retention", self.retention),
        ] {
            if d.is_zero() || d > MAX_TTL {
                return Err(setting(name, format!("{d:?} is outside 1 ns ..= 1 year")));
            }
        }
        if self.lease <= self.timeout {
            return Err(setting(
                "lease",
                format!(
                    "the lease ({:?}) must exceed the publish timeout ({:?}), or a duplicate could overtake a publish still in flight",
                    self.lease, self.timeout
                ),
            ));
        }
        if matches!(self.scheme.event_id(), EventIdSource::None) {
            return Err(setting(
                "scheme",
                format!(
                    "`{}` deliveries carry no event id to deduplicate and publish on",
                    self.scheme.name()
                ),
            ));
        }
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let retry_after = HeaderValue::from(secs.max(1));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn DedupStore>);
        Ok(PublishService::from_config(Config {
            publisher: self.publisher,
            store,
            route: self.route.into(),
            timeout: self.timeout,
            lease: self.lease,
            retention: self.retention,
            retry_after,
            event_type: self.event_type,
            stats: PublishStats::default(),
        }))
    }
}
