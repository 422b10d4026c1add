//! [`Verify`]: the service. The cheap checks happen in `call`, before any body is read.

use std::error::Error as StdError;
use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use countersign_core::VerifyError;
use http::{Request, Response, header};
use http_body::Body;
use http_body_util::Limited;
use tower_service::Service;

use super::future::VerifyResponseFuture;
use super::layer::Config;
use crate::body::{VerifiedBody, VerifyResponseBody};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The service made by [`VerifyLayer`](crate::VerifyLayer): lets only verified deliveries
/// through to `S`, as `Request<VerifiedBody>` with [`Verified`](crate::Verified) in the
/// extensions.
///
/// `Clone + Send + Sync` when `S` is; `Error = S::Error` (rejections are responses).
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
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = Response<VerifyResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = VerifyResponseFuture<S, B>;

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

        // 2. Headers, timestamp and signature syntax: still no body needed.
        if let Err(e) = config.verifier.prepare(req.headers()) {
            return VerifyResponseFuture::rejected(config, e.into(), req.method(), req.uri());
        }

        // 3./4. happen in the future. It takes the service that was polled ready and leaves
        // a fresh clone here.
        let clone = self.inner.clone();
        let inner = mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        VerifyResponseFuture::collect(
            Limited::new(body, limit),
            parts,
            inner,
            Arc::clone(&self.config),
        )
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
