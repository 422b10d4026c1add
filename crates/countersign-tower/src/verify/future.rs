//! [`VerifyResponseFuture`]: buffer the body, verify, then call the inner service (or answer
//! a rejection or a handshake).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use countersign_core::{Delivery, HandshakeReply, VerifyError};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, Uri, header};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{Collected, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::Config;
use crate::body::{VerifiedBody, VerifyResponseBody};
use crate::rejection::{BodyReadError, VerifyRejection};

type BoxError = Box<dyn StdError + Send + Sync>;

pin_project! {
    /// The response future of [`Verify`](crate::Verify).
    pub struct VerifyResponseFuture<S, B>
    where
        S: Service<Request<VerifiedBody>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<VerifiedBody>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        Collect {
            #[pin]
            collect: Collect<Limited<B>>,
            pending: Option<Pending<S>>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        Done {
            response: Option<Response<Bytes>>,
        },
    }
}

/// What the request needs once its body is in.
struct Pending<S> {
    parts: Parts,
    inner: S,
    config: Arc<Config>,
}

impl<S, B> VerifyResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    pub(super) fn collect(body: Limited<B>, parts: Parts, inner: S, config: Arc<Config>) -> Self {
        VerifyResponseFuture {
            state: State::Collect {
                collect: http_body_util::BodyExt::collect(body),
                pending: Some(Pending {
                    parts,
                    inner,
                    config,
                }),
            },
        }
    }

    pub(super) fn rejected(
        config: &Config,
        rejection: VerifyRejection,
        method: &Method,
        uri: &Uri,
    ) -> Self {
        VerifyResponseFuture {
            state: State::Done {
                response: Some(reject(config, rejection, method, uri)),
            },
        }
    }
}

impl<S, B> fmt::Debug for VerifyResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Collect { .. } => "reading body",
            State::Inner { .. } => "calling inner service",
            State::Done { .. } => "done",
        };
        f.debug_struct("VerifyResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<S, B, ResBody> Future for VerifyResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<VerifyResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Collect { collect, pending } => {
                    let collected = ready!(collect.poll(cx));
                    let Some(Pending {
                        parts,
                        mut inner,
                        config,
                    }) = pending.take()
                    else {
                        panic!("VerifyResponseFuture polled after completion");
                    };
                    match verify(&config, parts, collected) {
                        Next::Call(request) => State::Inner {
                            future: inner.call(request),
                        },
                        Next::Respond(response) => State::Done {
                            response: Some(response),
                        },
                    }
                }
                StateProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(VerifyResponseBody::inner)));
                }
                StateProj::Done { response } => {
                    let Some(response) = response.take() else {
                        panic!("VerifyResponseFuture polled after completion");
                    };
                    return Poll::Ready(Ok(response.map(VerifyResponseBody::local)));
                }
            };
            state.set(next);
        }
    }
}

/// What to do once the body is in.
enum Next {
    Call(Request<VerifiedBody>),
    Respond(Response<Bytes>),
}

/// The body is in: verify it and build the inner request, or the response to send instead.
fn verify<D: bytes::Buf>(
    config: &Config,
    mut parts: Parts,
    collected: Result<Collected<D>, BoxError>,
) -> Next {
    let verifier = &config.verifier;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let rejection = if e.is::<LengthLimitError>() {
                VerifyRejection::Verify(VerifyError::BodyTooLarge {
                    limit: verifier.body_limit(),
                })
            } else {
                VerifyRejection::BodyRead(BodyReadError::new(e))
            };
            return Next::Respond(reject(config, rejection, &parts.method, &parts.uri));
        }
    };
    let url = config.url.build(&parts);
    let mut delivery = Delivery::new(&parts.headers, &bytes).with_method(parts.method.as_str());
    if let Some(url) = &url {
        delivery = delivery.with_url(url);
    }
    let verified = match verifier.verify(&delivery) {
        Ok(verified) => verified,
        Err(e) => return Next::Respond(reject(config, e.into(), &parts.method, &parts.uri)),
    };
    if config.handshakes
        && let Some(reply) = verifier.handshake(&delivery)
    {
        tracing::debug!(
            target: "countersign",
            preset = verifier.scheme().name(),
            handshake = reply.name(),
            "answered webhook handshake"
        );
        return Next::Respond(handshake_response(reply));
    }
    tracing::debug!(
        target: "countersign",
        preset = verified.preset(),
        event_id = verified.event_id(),
        "webhook verified"
    );
    parts.extensions.insert(verified);
    Next::Call(Request::from_parts(parts, VerifiedBody::from(bytes)))
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
