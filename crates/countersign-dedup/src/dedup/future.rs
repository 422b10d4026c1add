//! [`DedupFuture`]: claim, call the handler, then record or release — and release when the
//! future is dropped half-way.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use countersign_core::Verified;
use futures_util::FutureExt;
use http::header::RETRY_AFTER;
use http::{HeaderName, HeaderValue, Request, Response};
use tower_service::Service;

use super::layer::{Config, OnStoreError};
use super::rejection::DedupRejection;
use crate::error::StoreError;
use crate::key::{DedupKey, Token};
use crate::stats::{Counter, DedupStats};
use crate::store::{Claim, DedupStore, Fenced};

/// Header on a `200` answered for an already processed event: `countersign-duplicate: true`.
pub const DUPLICATE_HEADER: HeaderName = HeaderName::from_static("countersign-duplicate");

/// Scope used when neither the layer nor the request names one.
const DEFAULT_SCOPE: &str = "default";

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<Response<T>, E>> + Send>>;

/// Response future of [`Dedup`](crate::Dedup).
pub struct DedupFuture<T, E> {
    inner: BoxFuture<T, E>,
}

impl<T, E> DedupFuture<T, E> {
    pub(crate) fn new(fut: impl Future<Output = Result<Response<T>, E>> + Send + 'static) -> Self {
        DedupFuture {
            inner: Box::pin(fut),
        }
    }
}

impl<T, E> fmt::Debug for DedupFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedupFuture").finish_non_exhaustive()
    }
}

impl<T, E> Future for DedupFuture<T, E> {
    type Output = Result<Response<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

pub(crate) async fn run<S, ReqBody, ResBody>(
    config: Arc<Config>,
    inner: S,
    req: Request<ReqBody>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    let stats = &config.stats;
    let (mut parts, body) = req.into_parts();
    let Some(key) = key_for(&config, &parts) else {
        stats.add(Counter::MissingEventId);
        tracing::warn!("dedup: no event id in the request; 400");
        return Ok(reject(&config, DedupRejection::MissingEventId));
    };
    parts.extensions.insert(key.clone());
    let req = Request::from_parts(parts, body);

    // The guard is armed before the claim is sent: if this future is dropped while the claim
    // is on the wire, the (fenced) release still goes out.
    let mut guard = ClaimGuard::new(&config, Token::new(key.clone()));
    match config.store.claim(guard.token(), config.lease).await {
        Ok(Claim::Claimed) => {
            stats.add(Counter::Claimed);
            tracing::debug!(%key, "dedup: claimed");
        }
        Ok(Claim::InFlight) => {
            guard.disarm();
            stats.add(Counter::InFlight);
            tracing::info!(%key, "dedup: duplicate while the first delivery is in flight; 409");
            return Ok(reject(&config, DedupRejection::InFlight));
        }
        Ok(Claim::Done(status)) => {
            guard.disarm();
            stats.add(Counter::Duplicates);
            tracing::info!(%key, %status, "dedup: duplicate of a processed event; handler not called");
            return Ok(reject(&config, DedupRejection::Duplicate { status }));
        }
        Err(error) => {
            // The claim may have landed (a timed-out reply): the guard releases it on drop.
            stats.add(Counter::StoreErrors);
            let op = error.op().unwrap_or(crate::StoreOp::Claim);
            if config.on_store_error == OnStoreError::FailOpen {
                stats.add(Counter::FailedOpen);
                tracing::warn!(%key, error = %ErrorChain(&error), "dedup: store error on claim; failing open, handler called without deduplication");
                return call(inner, req)
                    .await
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            tracing::error!(%key, error = %ErrorChain(&error), "dedup: store error on claim; 503");
            return Ok(reject(&config, DedupRejection::StoreUnavailable { op }));
        }
    }

    match call(inner, req).await {
        Ok(Ok(response)) if response.status().is_success() => {
            let status = response.status();
            match config
                .store
                .complete(guard.token(), status, config.retention)
                .await
            {
                Ok(Fenced::Applied) => {
                    guard.disarm();
                    stats.add(Counter::Completed);
                    tracing::debug!(%key, %status, "dedup: done recorded");
                    Ok(response)
                }
                Ok(Fenced::Stale) => {
                    guard.disarm();
                    stats.add(Counter::LeaseLost);
                    tracing::warn!(%key, lease = ?config.lease, "dedup: handler succeeded after its lease expired and a newer delivery claimed the event; raise the lease above the handler's timeout");
                    Ok(response)
                }
                Err(error) => {
                    // Not acknowledged without a record: the provider retries. The guard
                    // releases the claim.
                    stats.add(Counter::StoreErrors);
                    if config.on_store_error == OnStoreError::FailOpen {
                        stats.add(Counter::FailedOpen);
                        tracing::warn!(%key, error = %ErrorChain(&error), "dedup: could not record done; failing open with the handler's answer");
                        return Ok(response);
                    }
                    tracing::error!(%key, error = %ErrorChain(&error), "dedup: could not record done after the handler succeeded; 503 so that the provider retries");
                    let op = error.op().unwrap_or(crate::StoreOp::Complete);
                    Ok(reject(&config, DedupRejection::StoreUnavailable { op }))
                }
            }
        }
        Ok(Ok(response)) => {
            guard.release("handler answered non-2xx").await;
            Ok(response)
        }
        Ok(Err(error)) => {
            guard.release("handler returned an error").await;
            Err(error)
        }
        Err(panic) => {
            guard.release("handler panicked").await;
            std::panic::resume_unwind(panic)
        }
    }
}

type Panic = Box<dyn std::any::Any + Send>;

/// Calls the handler, catching a panic in `call` or in its future.
async fn call<S, ReqBody>(
    mut inner: S,
    req: Request<ReqBody>,
) -> Result<Result<S::Response, S::Error>, Panic>
where
    S: Service<Request<ReqBody>>,
{
    AssertUnwindSafe(async move { inner.call(req).await })
        .catch_unwind()
        .await
}

fn key_for(config: &Config, parts: &http::request::Parts) -> Option<DedupKey> {
    let verified = parts.extensions.get::<Verified>();
    let id = match &config.extractor {
        Some(extract) => extract(parts)?,
        None => verified?.event_id()?.to_owned(),
    };
    if id.is_empty() {
        return None;
    }
    let scope = match (&config.scope, verified) {
        (Some(scope), _) => &**scope,
        (None, Some(v)) => v.preset(),
        (None, None) => DEFAULT_SCOPE,
    };
    Some(DedupKey::new(scope, &id))
}

fn reject<B: Default>(config: &Config, rejection: DedupRejection) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = rejection.status();
    let headers = response.headers_mut();
    match rejection {
        DedupRejection::InFlight | DedupRejection::StoreUnavailable { .. } => {
            headers.insert(RETRY_AFTER, config.retry_after.clone());
        }
        DedupRejection::Duplicate { .. } => {
            headers.insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
        }
        _ => {}
    }
    response.extensions_mut().insert(rejection);
    response
}

/// Releases a claim that was not completed: awaited on the normal paths, spawned onto the
/// runtime when the request future is dropped (the client went away, a timeout fired).
struct ClaimGuard {
    store: Arc<dyn DedupStore>,
    stats: DedupStats,
    token: Token,
    armed: bool,
}

impl ClaimGuard {
    fn new(config: &Config, token: Token) -> Self {
        ClaimGuard {
            store: Arc::clone(&config.store),
            stats: config.stats.clone(),
            token,
            armed: true,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    async fn release(&mut self, reason: &'static str) {
        release(&*self.store, &self.token, &self.stats, reason).await;
        // Disarmed only once the attempt finished: dropped mid-release, Drop sends it again
        // (a release is idempotent).
        self.armed = false;
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (store, stats, token) = (
            Arc::clone(&self.store),
            self.stats.clone(),
            self.token.clone(),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                drop(runtime.spawn(async move {
                    release(&*store, &token, &stats, "request dropped or store failed").await;
                }));
            }
            Err(_) => tracing::warn!(
                key = %token.key(),
                "dedup: request dropped outside a Tokio runtime; its claim expires with its lease"
            ),
        }
    }
}

async fn release(store: &dyn DedupStore, token: &Token, stats: &DedupStats, reason: &'static str) {
    let key = token.key();
    match store.release(token).await {
        Ok(Fenced::Applied) => {
            stats.add(Counter::Released);
            tracing::info!(%key, reason, "dedup: claim released; a retry will run the handler");
        }
        Ok(Fenced::Stale) => {
            tracing::debug!(%key, reason, "dedup: nothing to release (never claimed, expired, or done)");
        }
        Err(error) => {
            stats.add(Counter::StoreErrors);
            tracing::warn!(%key, reason, error = %ErrorChain(&error), "dedup: could not release the claim; it expires with its lease");
        }
    }
}

/// Displays an error and its sources, `a: b: c`.
struct ErrorChain<'e>(&'e StoreError);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
