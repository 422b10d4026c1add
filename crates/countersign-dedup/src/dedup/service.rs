//! [`Dedup`]: the middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::{DedupFuture, run};
use super::layer::Config;

/// Claim-before-ack deduplication in front of a webhook handler; made by
/// [`DedupLayer`](crate::DedupLayer).
///
/// Rejections are responses (`400`, `409`, `503`, or `200` for a processed duplicate) with a
/// [`DedupRejection`](crate::DedupRejection) in their extensions; errors of the inner service
/// pass through unchanged.
#[derive(Debug, Clone)]
pub struct Dedup<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Dedup<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Dedup { inner, config }
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
        DedupFuture::new(run(Arc::clone(&self.config), inner, req))
    }
}
