//! [`VerifyResponseFuture`]: check the headers, buffer the body, verify, then call the
//! inner service (or answer a rejection or a handshake).
//!
//! The work is one `async` block so that the headers are parsed once: the [`Prepared`]
//! result borrows the request head while the body is read, which a hand-written state
//! machine cannot hold without `unsafe`. The block is boxed (one allocation per request).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use countersign_core::{HandshakeReply, Outcome, Prepared, VerifyError};
use http::{HeaderValue, Method, Request, Response, Uri, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use super::layer::Config;
use crate::body::{VerifiedBody, VerifyResponseBody};
use crate::rejection::{BodyReadError, VerifyRejection};

type BoxError = Box<dyn StdError + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The response future of [`Verify`](crate::Verify).
pub struct VerifyResponseFuture<ResBody, E> {
    kind: Kind<ResBody, E>,
}

enum Kind<ResBody, E> {
    Ready(Option<Response<Bytes>>),
    Running(BoxFuture<Result<Response<VerifyResponseBody<ResBody>>, E>>),
}

impl<ResBody, E> VerifyResponseFuture<ResBody, E> {
    pub(super) fn rejected(
        config: &Config,
        rejection: VerifyRejection,
        method: &Method,
        uri: &Uri,
    ) -> Self {
        VerifyResponseFuture {
            kind: Kind::Ready(Some(reject(config, rejection, method, uri))),
        }
    }

    pub(super) fn run<S, B>(config: Arc<Config>, inner: S, request: Request<B>) -> Self
    where
        S: Service<Request<VerifiedBody>, Response = Response<ResBody>, Error = E> + Send + 'static,
        S::Future: Send,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
        ResBody: 'static,
        E: 'static,
    {
        VerifyResponseFuture {
            kind: Kind::Running(Box::pin(run(config, inner, request))),
        }
    }
}

impl<ResBody, E> fmt::Debug for VerifyResponseFuture<ResBody, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Ready(_) => "rejected",
            Kind::Running(_) => "running",
        };
        f.debug_struct("VerifyResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<ResBody, E> Future for VerifyResponseFuture<ResBody, E> {
    type Output = Result<Response<VerifyResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().kind {
            Kind::Running(future) => future.as_mut().poll(cx),
            Kind::Ready(response) => {
                let Some(response) = response.take() else {
                    panic!("VerifyResponseFuture polled after completion");
                };
                Poll::Ready(Ok(response.map(VerifyResponseBody::local)))
            }
        }
    }
}

async fn run<S, B, ResBody>(
    config: Arc<Config>,
    mut inner: S,
    request: Request<B>,
) -> Result<Response<VerifyResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    let local = |r: Response<Bytes>| Ok(r.map(VerifyResponseBody::local));
    let verifier = &config.verifier;
    let (mut parts, body) = request.into_parts();

    // 2. Headers, timestamp and signature syntax, before the body is read.
    let prepared: Prepared<'_, '_> = match verifier.prepare(&parts.headers) {
        Ok(prepared) => prepared,
        Err(e) => return local(reject(&config, e.into(), &parts.method, &parts.uri)),
    };

    // 3. The body, bounded.
    let bytes = match Limited::new(body, verifier.body_limit()).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let rejection = if e.is::<LengthLimitError>() {
                VerifyRejection::Verify(VerifyError::BodyTooLarge {
                    limit: verifier.body_limit(),
                })
            } else {
                VerifyRejection::BodyRead(BodyReadError::new(e))
            };
            return local(reject(&config, rejection, &parts.method, &parts.uri));
        }
    };

    // 4. The signature over the exact bytes.
    let url = if config.needs_url {
        match config.url.build(&parts) {
            Some(url) => Some(url),
            // No usable Host: the sender's request is incomplete (set `public_url` to not
            // depend on it).
            None => {
                let missing = VerifyError::MissingHeader { name: header::HOST };
                return local(reject(&config, missing.into(), &parts.method, &parts.uri));
            }
        }
    } else {
        None
    };
    let mut prepared = prepared.method(parts.method.as_str());
    if let Some(url) = &url {
        prepared = prepared.url(url);
    }
    let verified = match prepared.finish(&bytes) {
        Ok(Outcome::Handshake { reply, .. }) if config.handshakes => {
            tracing::debug!(
                target: "countersign",
                preset = verifier.scheme().name(),
                handshake = reply.name(),
                "answered webhook handshake"
            );
            return local(handshake_response(reply));
        }
        Ok(outcome) => outcome.into_verified(),
        Err(e) => return local(reject(&config, e.into(), &parts.method, &parts.uri)),
    };
    tracing::debug!(
        target: "countersign",
        preset = verified.preset(),
        event_id = verified.event_id(),
        "webhook verified"
    );

    // 5. Through to the inner service (the one that was polled ready).
    parts.extensions.insert(verified);
    let request = Request::from_parts(parts, VerifiedBody::new(bytes));
    let response = inner.call(request).await?;
    Ok(response.map(VerifyResponseBody::inner))
}

/// Logs the rejection once and builds its response (the hook's, or the default).
fn reject(
    config: &Config,
    rejection: VerifyRejection,
    method: &Method,
    uri: &Uri,
) -> Response<Bytes> {
    let status = rejection.status();
    tracing::warn!(
        target: "countersign",
        preset = config.verifier.scheme().name(),
        %method,
        path = uri.path(),
        status = status.as_u16(),
        reason = rejection.label(),
        error = %rejection,
        "webhook rejected"
    );
    let mut response = match &config.on_rejection {
        Some(hook) => hook(&rejection),
        None => {
            let mut response =
                Response::new(Bytes::from_static(rejection.public_message().as_bytes()));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
    };
    response.extensions_mut().insert(rejection);
    response
}

fn handshake_response(reply: HandshakeReply) -> Response<Bytes> {
    let content_type = HeaderValue::from_str(reply.content_type())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Bytes::from(reply.into_body()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}
