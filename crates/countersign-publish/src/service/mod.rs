//! [`PublishService`]: the end of a webhook route that hands verified deliveries to a
//! broker.

mod builder;
mod outcome;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use countersign_core::{Scheme, Verified};
use countersign_dedup::{Claim, DedupKey, DedupStore, Fenced, Token};
use countersign_tower::VerifiedBody;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use tokio::sync::oneshot;
use tower_service::Service;

pub use builder::{
    DEFAULT_LEASE, DEFAULT_PUBLISH_TIMEOUT, DEFAULT_RETENTION, DEFAULT_RETRY_AFTER, DEFAULT_ROUTE,
    PublishServiceBuilder,
};
pub use outcome::PublishOutcome;

use self::builder::Config;
use crate::error::{ErrorChain, FailureKind};
use crate::message::Message;
use crate::publisher::{PublishFuture, Published, Publisher};
use crate::stats::{Counter, PublishStats};

/// `countersign-duplicate: true` on the `200` for an event published before.
pub const DUPLICATE_HEADER: HeaderName = HeaderName::from_static("countersign-duplicate");

/// Publishes verified deliveries and answers the sender once the broker confirmed. `Clone`
/// is cheap (one `Arc`).
///
/// ```text
/// VerifyLayer ─▶ PublishService
///                1. event id from Verified      none → 400
///                2. claim (dedup store)         in flight → 409 · done → 200 duplicate
///                                               store down → 503
///                3. publish, wait for the broker's confirmation (bounded by `timeout`)
///                   confirmed → record done → 200
///                   certainly not published (unreachable, unroutable, nack)
///                                → release the claim → 503 + Retry-After
///                   unknown (no answer in time) → 503 + Retry-After, claim KEPT while the
///                                confirmation may still come (up to the lease)
/// ```
///
/// ## "Timed out, but the broker may still take it"
///
/// A publish whose confirmation has not arrived when the publish timeout ends may still be
/// confirmed: the message can sit in a socket buffer, or in the client's reconnect buffer.
/// The sender must not get a `2xx` (if the message is lost, nobody would resend it), so it
/// gets `503` + `Retry-After` — but the claim is **not** released: releasing it would let the
/// sender's retry publish a second copy while the first may still land. Instead the publish
/// keeps running in a background task for at most the lease:
///
/// - confirmed late → done is recorded; the retry is answered `200` duplicate (one message);
/// - certainly not published (nack, return) → the claim is released; the retry publishes;
/// - still unknown when the lease ends, or the connection was lost after sending
///   (`Unconfirmed`) → the claim is released / expires and the retry publishes again. This
///   is the one case that can put a second copy on the broker: nothing is lost, and consumers
///   can drop the copy by the event id (`message_id`, `Countersign-Event-Id`). On JetStream
///   the `Nats-Msg-Id` header makes the server drop it within its duplicate window (2 min by
///   default, longer than the default lease), so there it stays one message.
///
/// Until then a retry is answered `409` + `Retry-After`. The same task also finishes a
/// publish whose sender disconnected: a dropped request never abandons a claim.
///
/// Confirmed, but the done record cannot be written (store down): the broker has the message,
/// so the sender gets `200`; the claim stays until its lease ends, so duplicates arriving
/// meanwhile are answered `409`, and one arriving after that is published again.
///
/// Requests must come from `VerifyLayer` (a [`Verified`] with an event id in the
/// extensions, the verified body as [`VerifiedBody`]). Every answer carries a
/// [`PublishOutcome`] in its extensions.
#[derive(Clone)]
pub struct PublishService {
    config: Arc<Config>,
}

impl fmt::Debug for PublishService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishService")
            .field("config", &self.config)
            .finish()
    }
}

impl PublishService {
    /// Starts a builder for a service publishing with `publisher` the deliveries verified
    /// with `scheme` (the same scheme as the [`VerifyLayer`](countersign_tower::VerifyLayer)
    /// in front). The scheme must carry event ids: [`PublishServiceBuilder::build`] refuses
    /// one without (a delivery without an id can be neither deduplicated nor published with
    /// a message id).
    pub fn builder(
        publisher: impl Publisher + 'static,
        scheme: impl Into<Scheme>,
    ) -> PublishServiceBuilder {
        PublishServiceBuilder::new(Arc::new(publisher), scheme.into())
    }

    /// Starts a builder with a shared publisher; see [`builder`](Self::builder).
    pub fn builder_arc(
        publisher: Arc<dyn Publisher>,
        scheme: impl Into<Scheme>,
    ) -> PublishServiceBuilder {
        PublishServiceBuilder::new(publisher, scheme.into())
    }

    pub(crate) fn from_config(config: Config) -> Self {
        PublishService {
            config: Arc::new(config),
        }
    }

    /// The service's counters (shared by its clones).
    #[must_use]
    pub fn stats(&self) -> PublishStats {
        self.config.stats.clone()
    }

    /// The publisher.
    #[must_use]
    pub fn publisher(&self) -> &Arc<dyn Publisher> {
        &self.config.publisher
    }
}

type BoxedAnswer = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

/// Response future of [`PublishService`].
pub struct PublishResponseFuture {
    inner: BoxedAnswer,
}

impl fmt::Debug for PublishResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishResponseFuture")
            .finish_non_exhaustive()
    }
}

impl Future for PublishResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl Service<Request<VerifiedBody>> for PublishService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = PublishResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        PublishResponseFuture {
            inner: Box::pin(async move { Ok(answer(&config, handle(&config, req).await)) }),
        }
    }
}

async fn handle(config: &Arc<Config>, req: Request<VerifiedBody>) -> PublishOutcome {
    let stats = &config.stats;
    let (parts, body) = req.into_parts();
    let Some(verified) = parts.extensions.get::<Verified>() else {
        stats.add(Counter::MissingEventId);
        tracing::warn!(route = %config.route, "publish: request without Verified (is VerifyLayer in front?); 400");
        return PublishOutcome::MissingEventId;
    };
    let Some(id) = verified.event_id().filter(|id| !id.is_empty()) else {
        stats.add(Counter::MissingEventId);
        tracing::warn!(route = %config.route, "publish: no event id in the delivery; 400");
        return PublishOutcome::MissingEventId;
    };
    let key = DedupKey::new(&config.route, id);
    let token = Token::new(key.clone());
    match config.store.claim(&token, config.lease).await {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Done(_)) => {
            stats.add(Counter::Duplicate);
            tracing::info!(%key, "publish: duplicate of a published event; nothing published");
            return PublishOutcome::Duplicate;
        }
        // `Claim` may grow: anything but a fresh claim is treated as held by another.
        Ok(_) => {
            stats.add(Counter::InFlight);
            tracing::info!(%key, "publish: duplicate while the first delivery is being published; 409");
            return PublishOutcome::InFlight;
        }
        Err(error) => {
            stats.add(Counter::StoreError);
            tracing::error!(%key, error = %ErrorChain(&error), "publish: dedup store error on claim; 503");
            // The claim may have landed (a reply lost on the way): release it.
            let store = Arc::clone(&config.store);
            let stats = stats.clone();
            tokio::spawn(async move { release(&*store, &token, &stats).await });
            return PublishOutcome::StoreUnavailable;
        }
    }

    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = body.into_bytes();
    // The extractor when one is set, else the preset's own source (bounded, validated).
    let event_type = match &config.event_type {
        Some(extract) => extract(&parts, &body),
        None => verified
            .event_type(&parts.headers, &body)
            .map(|t| t.as_str().to_owned()),
    };
    let mut message =
        Message::new(id, verified.preset(), &*config.route, body).with_event_type(event_type);
    if let Some(ct) = content_type {
        message = message.with_content_type(ct);
    }

    // The publish runs in its own task: it outlives the sender's timeout or disconnect and
    // settles the claim with the broker's real answer.
    let (tx, rx) = oneshot::channel();
    let publish = config.publisher.publish(message);
    tokio::spawn(settle(Arc::clone(config), token, publish, tx));
    match tokio::time::timeout(config.timeout, rx).await {
        Ok(Ok(outcome)) => outcome,
        // The task ended without an answer (a panic in the publisher): its claim guard
        // does not exist, the claim expires with its lease.
        Ok(Err(_)) => PublishOutcome::Failed(FailureKind::Unconfirmed),
        Err(_) => {
            stats.failed(FailureKind::TimedOut);
            tracing::warn!(%key, timeout = ?config.timeout, "publish: no confirmation in time; 503, claim kept while the confirmation may still come");
            PublishOutcome::Failed(FailureKind::TimedOut)
        }
    }
}

/// Waits for the broker's answer (at most the lease), settles the claim, reports.
async fn settle(
    config: Arc<Config>,
    token: Token,
    publish: PublishFuture<Published>,
    tx: oneshot::Sender<PublishOutcome>,
) {
    let stats = &config.stats;
    let key = token.key().clone();
    let started = Instant::now();
    let result = tokio::time::timeout(config.lease, publish).await;
    let outcome = match result {
        Ok(Ok(published)) => {
            stats.observe_confirm(started.elapsed());
            stats.add(Counter::Published);
            if published.duplicate {
                stats.add(Counter::BrokerDuplicate);
            }
            if tx.is_closed() {
                stats.add(Counter::ConfirmedLate);
            }
            match config
                .store
                .complete(&token, http::StatusCode::OK, config.retention)
                .await
            {
                Ok(Fenced::Applied) => {
                    tracing::debug!(%key, duplicate = published.duplicate, "publish: confirmed, done recorded");
                }
                Ok(_) => {
                    tracing::warn!(%key, lease = ?config.lease, "publish: confirmed after the claim's lease ended (a newer delivery holds it)");
                }
                Err(error) => {
                    stats.add(Counter::StoreError);
                    tracing::error!(%key, error = %ErrorChain(&error), "publish: confirmed, but done could not be recorded; 200 (the broker has it), the claim expires with its lease");
                }
            }
            PublishOutcome::Published
        }
        Ok(Err(error)) => {
            let kind = error.kind();
            if !tx.is_closed() {
                stats.failed(kind);
            }
            if kind.may_still_land() {
                tracing::warn!(%key, error = %ErrorChain(&error), "publish: outcome unknown (the message may be on the broker); claim released so that the retry publishes (at least once)");
            } else {
                tracing::warn!(%key, error = %ErrorChain(&error), "publish: not published; claim released");
            }
            // Released before the answer leaves, so that an immediate retry can claim.
            release(&*config.store, &token, stats).await;
            PublishOutcome::Failed(kind)
        }
        Err(_) => {
            tracing::error!(%key, lease = ?config.lease, "publish: no answer from the broker within the lease; the claim expires and the retry publishes again");
            PublishOutcome::Failed(FailureKind::TimedOut)
        }
    };
    let _ = tx.send(outcome);
}

async fn release(store: &dyn DedupStore, token: &Token, stats: &PublishStats) {
    match store.release(token).await {
        Ok(_) => {}
        Err(error) => {
            stats.add(Counter::StoreError);
            tracing::warn!(key = %token.key(), error = %ErrorChain(&error), "publish: could not release the claim; it expires with its lease");
        }
    }
}

fn answer(config: &Config, outcome: PublishOutcome) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(outcome.body().as_bytes())));
    *response.status_mut() = outcome.status();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    match outcome {
        PublishOutcome::Duplicate => {
            headers.insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
        }
        PublishOutcome::InFlight | PublishOutcome::StoreUnavailable | PublishOutcome::Failed(_) => {
            headers.insert(RETRY_AFTER, config.retry_after.clone());
        }
        _ => {}
    }
    response.extensions_mut().insert(outcome);
    response
}
