//! [`Dedup`] and [`InlineDedup`]: the middleware services.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::{DedupFuture, InlineDedupFuture, run_inline, run_spawned};
use super::layer::Config;

/// Claim-before-ack deduplication in front of a webhook handler; made by
/// [`DedupLayer`](crate::DedupLayer).
///
/// Rejections are responses (`400`, `409`, `503`, or `200` for a processed duplicate) with a
/// [`DedupRejection`](crate::DedupRejection) in their extensions; errors of the inner service
/// pass through unchanged.
///
/// Once the claim is won, the handler runs to completion in a task of its own (spawned on
/// the current Tokio runtime) and its outcome is recorded — done for a 2xx, released
/// otherwise — even if the client goes away: the response future only waits for it. A
/// handler that is not `Send + 'static` cannot be spawned: use
/// [`InlineDedup`] ([`DedupLayer::inline`](crate::DedupLayer::inline)).
#[derive(Debug, Clone)]
pub struct Dedup<S> {
    inner: S,
    config: Arc<Config>,
}

/// [`Dedup`] without the spawned task: the handler runs inside the response future, so it
/// need not be `Send`; made by [`DedupLayer::inline`](crate::DedupLayer::inline).
///
/// Dropping the response future (the client went away, a timeout fired) cancels the handler
/// where it stands and releases the claim, so the provider's retry runs the handler again —
/// even if the cancelled run had already done part of its work.
#[derive(Debug, Clone)]
pub struct InlineDedup<S> {
    inner: S,
    config: Arc<Config>,
}

macro_rules! accessors {
    ($ty:ident) => {
        impl<S> $ty<S> {
            pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
                $ty { inner, config }
            }

            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}

accessors!(Dedup);
accessors!(InlineDedup);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Dedup<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = DedupFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The ready service goes into the future; a fresh clone stays behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        DedupFuture::new(run_spawned(Arc::clone(&self.config), inner, req))
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for InlineDedup<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + 'static,
    S::Future: 'static,
    S::Error: 'static,
    ReqBody: 'static,
    ResBody: Default + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = InlineDedupFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        InlineDedupFuture::new(run_inline(Arc::clone(&self.config), inner, req))
    }
}
