//! The response futures: claim, call the handler, then record done or release.
//!
//! [`DedupFuture`] runs the handler and the recording in a spawned task once the claim is
//! won, so the outcome does not depend on the client staying; [`InlineDedupFuture`] runs
//! them in the request future and releases the claim when it is dropped half-way.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use countersign_core::Verified;
use futures_util::FutureExt;
use http::header::RETRY_AFTER;
use http::request::Parts;
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

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<Response<T>, E>> + Send>>;
type LocalBoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<Response<T>, E>>>>;

/// Response future of [`Dedup`](crate::Dedup). Once the claim is won it waits for a spawned
/// task that runs the handler and records its outcome: dropping this future (the client went
/// away) does not cancel the handler.
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

/// Response future of [`InlineDedup`](crate::InlineDedup): the handler runs inside it, and
/// dropping it cancels the handler and releases the claim. Not `Send` (the handler need not
/// be).
pub struct InlineDedupFuture<T, E> {
    inner: LocalBoxFuture<T, E>,
}

impl<T, E> InlineDedupFuture<T, E> {
    pub(crate) fn new(fut: impl Future<Output = Result<Response<T>, E>> + 'static) -> Self {
        InlineDedupFuture {
            inner: Box::pin(fut),
        }
    }
}

impl<T, E> fmt::Debug for InlineDedupFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineDedupFuture").finish_non_exhaustive()
    }
}

impl<T, E> Future for InlineDedupFuture<T, E> {
    type Output = Result<Response<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// What the claim step decided.
enum Claimed<ResBody> {
    /// The claim is ours: run the handler under it.
    Run(ClaimGuard),
    /// Answered without the handler (duplicate, in flight, no id, store down).
    Answer(Response<ResBody>),
    /// The store failed and the layer fails open: run the handler without a claim.
    FailOpen(ClaimGuard),
}

/// Finds the key and claims it. The returned guard is armed (releases on drop).
async fn claim<ResBody: Default>(config: &Config, parts: &mut Parts) -> Claimed<ResBody> {
    let stats = &config.stats;
    let Some(key) = key_for(config, parts) else {
        stats.add(Counter::MissingEventId);
        tracing::warn!("dedup: no event id in the request; 400");
        return Claimed::Answer(reject(config, DedupRejection::MissingEventId));
    };
    parts.extensions.insert(key.clone());

    // The guard is armed before the claim is sent: if this future is dropped while the claim
    // is on the wire, the (fenced) release still goes out.
    let mut guard = ClaimGuard::new(config, Token::new(key.clone()));
    match config.store.claim(guard.token(), config.lease).await {
        Ok(Claim::Claimed) => {
            stats.add(Counter::Claimed);
            guard.claimed = true;
            tracing::debug!(%key, "dedup: claimed");
            Claimed::Run(guard)
        }
        Ok(Claim::InFlight) => {
            guard.disarm();
            stats.add(Counter::InFlight);
            tracing::info!(%key, "dedup: duplicate while the first delivery is in flight; 409");
            Claimed::Answer(reject(config, DedupRejection::InFlight))
        }
        Ok(Claim::Done(status)) => {
            guard.disarm();
            stats.add(Counter::Duplicates);
            tracing::info!(%key, %status, "dedup: duplicate of a processed event; handler not called");
            Claimed::Answer(reject(config, DedupRejection::Duplicate { status }))
        }
        Err(error) => {
            // The claim may have landed (a timed-out reply): the guard releases it on drop.
            stats.add(Counter::StoreErrors);
            let op = error.op().unwrap_or(crate::StoreOp::Claim);
            if config.on_store_error == OnStoreError::FailOpen {
                stats.add(Counter::FailedOpen);
                tracing::warn!(%key, error = %ErrorChain(&error), "dedup: store error on claim; failing open, handler called without deduplication");
                return Claimed::FailOpen(guard);
            }
            tracing::error!(%key, error = %ErrorChain(&error), "dedup: store error on claim; 503");
            Claimed::Answer(reject(config, DedupRejection::StoreUnavailable { op }))
        }
    }
}

/// [`InlineDedup`](crate::InlineDedup): claim, then run the handler inside the request
/// future. Dropping the future cancels the handler and releases the claim.
pub(crate) async fn run_inline<S, ReqBody, ResBody>(
    config: Arc<Config>,
    inner: S,
    req: Request<ReqBody>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    let (mut parts, body) = req.into_parts();
    match claim(&config, &mut parts).await {
        Claimed::Answer(response) => Ok(response),
        Claimed::FailOpen(_guard) => call(inner, Request::from_parts(parts, body))
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Claimed::Run(guard) => {
            finish(&config, guard, inner, Request::from_parts(parts, body)).await
        }
    }
}

/// [`Dedup`](crate::Dedup): claim in the request future, then run the handler and record
/// its outcome in a spawned task that the request future only waits for. A client that goes
/// away no longer decides the outcome; a task dropped by a runtime shutting down abandons
/// its claim to its lease (the handler may have done its work).
pub(crate) async fn run_spawned<S, ReqBody, ResBody>(
    config: Arc<Config>,
    inner: S,
    req: Request<ReqBody>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    let (mut parts, body) = req.into_parts();
    let mut guard = match claim(&config, &mut parts).await {
        Claimed::Answer(response) => return Ok(response),
        Claimed::FailOpen(_guard) => {
            return call(inner, Request::from_parts(parts, body))
                .await
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        Claimed::Run(guard) => guard,
    };
    let req = Request::from_parts(parts, body);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // No Tokio runtime to spawn on: run in this future, as InlineDedup does.
        return finish(&config, guard, inner, req).await;
    };
    guard.on_drop = OnDrop::Abandon;
    let task = runtime.spawn({
        let config = Arc::clone(&config);
        async move { finish(&config, guard, inner, req).await }
    });
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(_) => Ok(reject(&config, DedupRejection::Abandoned)),
    }
}

/// Runs the handler under the claim, then records done or releases.
async fn finish<S, ReqBody, ResBody>(
    config: &Config,
    mut guard: ClaimGuard,
    inner: S,
    req: Request<ReqBody>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    let stats = &config.stats;
    let key = guard.token().key().clone();
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
                    // Not acknowledged without a record: the provider retries. The claim is
                    // released in the background (the store is failing: no need to wait).
                    stats.add(Counter::StoreErrors);
                    guard.release_in_background("could not record done");
                    if config.on_store_error == OnStoreError::FailOpen {
                        stats.add(Counter::FailedOpen);
                        tracing::warn!(%key, error = %ErrorChain(&error), "dedup: could not record done; failing open with the handler's answer");
                        return Ok(response);
                    }
                    tracing::error!(%key, error = %ErrorChain(&error), "dedup: could not record done after the handler succeeded; 503 so that the provider retries");
                    let op = error.op().unwrap_or(crate::StoreOp::Complete);
                    Ok(reject(config, DedupRejection::StoreUnavailable { op }))
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
    let id = match &config.extractor {
        Some(extract) => extract(parts)?,
        None => parts.extensions.get::<Verified>()?.event_id()?.to_owned(),
    };
    if id.is_empty() {
        return None;
    }
    Some(DedupKey::new(&config.scope, &id))
}

fn reject<B: Default>(config: &Config, rejection: DedupRejection) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = rejection.status();
    let headers = response.headers_mut();
    match rejection {
        DedupRejection::InFlight
        | DedupRejection::StoreUnavailable { .. }
        | DedupRejection::Abandoned => {
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

/// What dropping an armed [`ClaimGuard`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDrop {
    /// Release the claim (spawned onto the runtime): the request future was dropped, so the
    /// handler it ran was cancelled with it.
    Release,
    /// Leave the claim to expire with its lease: the handler's task was dropped by a runtime
    /// shutting down, at a point where its work may already have happened.
    Abandon,
}

/// Releases a claim that was not completed: awaited on the normal paths, spawned onto the
/// runtime when the request future is dropped (the client went away, a timeout fired).
struct ClaimGuard {
    store: Arc<dyn DedupStore>,
    stats: DedupStats,
    token: Token,
    armed: bool,
    /// The claim was won (counted in `claimed`): its end is counted too.
    claimed: bool,
    on_drop: OnDrop,
}

impl ClaimGuard {
    fn new(config: &Config, token: Token) -> Self {
        ClaimGuard {
            store: Arc::clone(&config.store),
            stats: config.stats.clone(),
            token,
            armed: true,
            claimed: false,
            on_drop: OnDrop::Release,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    async fn release(&mut self, reason: &'static str) {
        release(&*self.store, &self.token, &self.stats, self.claimed, reason).await;
        // Disarmed only once the attempt finished: dropped mid-release, Drop sends it again
        // (a release is idempotent).
        self.armed = false;
    }

    /// Sends the release from a task of its own, without waiting for it.
    fn release_in_background(&mut self, reason: &'static str) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let (store, stats, token, claimed) = (
            Arc::clone(&self.store),
            self.stats.clone(),
            self.token.clone(),
            self.claimed,
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                drop(runtime.spawn(async move {
                    release(&*store, &token, &stats, claimed, reason).await;
                }));
            }
            Err(_) => {
                if claimed {
                    stats.add(Counter::Unreleased);
                }
                tracing::warn!(
                    key = %token.key(),
                    "dedup: request dropped outside a Tokio runtime; its claim expires with its lease"
                );
            }
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        match self.on_drop {
            OnDrop::Release => self.release_in_background("request dropped or store failed"),
            OnDrop::Abandon => {
                if self.claimed {
                    self.stats.add(Counter::Abandoned);
                }
                tracing::warn!(
                    key = %self.token.key(),
                    "dedup: handler task dropped (runtime shutting down); its claim expires with its lease"
                );
            }
        }
    }
}

async fn release(
    store: &dyn DedupStore,
    token: &Token,
    stats: &DedupStats,
    claimed: bool,
    reason: &'static str,
) {
    let key = token.key();
    match store.release(token).await {
        Ok(Fenced::Applied) => {
            stats.add(Counter::Released);
            tracing::info!(%key, reason, "dedup: claim released; a retry will run the handler");
        }
        Ok(Fenced::Stale) => {
            if claimed {
                // Our claim expired (and may have been taken over) before the release.
                stats.add(Counter::LeaseLost);
            }
            tracing::debug!(%key, reason, "dedup: nothing to release (never claimed, expired, or done)");
        }
        Err(error) => {
            stats.add(Counter::StoreErrors);
            if claimed {
                stats.add(Counter::Unreleased);
            }
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
