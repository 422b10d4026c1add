//! [`Verify`]: the service. `call` refuses a too-large declared length at once; the rest
//! happens in the response future, headers first, body last.

use std::error::Error as StdError;
use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use countersign_core::VerifyError;
use http::{Request, Response, header};
use http_body::Body;
use tower_service::Service;

use super::future::VerifyResponseFuture;
use super::layer::Config;
use crate::body::{VerifiedBody, VerifyResponseBody};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The service made by [`VerifyLayer`](crate::VerifyLayer): lets only verified deliveries
/// through to `S`, as `Request<VerifiedBody>` with [`Verified`](crate::Verified) in the
/// extensions.
///
/// `Clone + Send + Sync` when `S` is; `Error = S::Error` (rejections are responses). The
/// response future is boxed and `Send`, so `S`, its future and the request body must be
/// `Send + 'static` — as they are with axum and hyper.
#[derive(Clone, Debug)]
pub struct Verify<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Verify<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<Config>) -> Self {
        Verify { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for Verify<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: 'static,
{
    type Response = Response<VerifyResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = VerifyResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let config = &self.config;
        config.mark_sensitive(req.headers_mut());

        // 1. Declared too large: refuse before reading a byte.
        let limit = config.verifier.body_limit();
        if declared_len(&req) > u64::try_from(limit).unwrap_or(u64::MAX) {
            let rejection = VerifyError::BodyTooLarge { limit }.into();
            return VerifyResponseFuture::rejected(config, rejection, req.method(), req.uri());
        }

        // 2.-5. happen in the future. It takes the service that was polled ready and leaves
        // a fresh clone here.
        let clone = self.inner.clone();
        let inner = mem::replace(&mut self.inner, clone);
        VerifyResponseFuture::run(Arc::clone(&self.config), inner, req)
    }
}

/// The larger of `Content-Length` and the body's own lower size bound.
fn declared_len<B: Body>(req: &Request<B>) -> u64 {
    let header = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    header.max(req.body().size_hint().lower())
}
