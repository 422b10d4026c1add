//! The bodies the layer produces: [`VerifiedBody`] for the inner service (the exact bytes
//! that were verified) and [`VerifyResponseBody`] for responses (the inner service's body or
//! a short one written by the layer).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The request body the inner service receives: the exact bytes that were verified, already
/// in memory (at most the body limit).
///
/// It is an [`http_body::Body`] yielding one frame, so axum's extractors (`Bytes`, `Json`,
/// `String`, …) and anything else that reads a body work on it unchanged. Code that knows it
/// sits behind the layer can take the bytes directly with [`as_bytes`](Self::as_bytes) or
/// [`into_bytes`](Self::into_bytes) without collecting.
#[derive(Debug, Clone, Default)]
pub struct VerifiedBody {
    bytes: Option<Bytes>,
}

impl VerifiedBody {
    /// The bytes not yet read as a frame (all of them unless polled as a body).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_deref().unwrap_or_default()
    }

    /// The bytes not yet read as a frame, owned (no copy).
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.bytes.unwrap_or_default()
    }
}

impl VerifiedBody {
    /// Only the layer makes one, from the bytes it verified.
    pub(crate) fn new(bytes: Bytes) -> Self {
        VerifiedBody {
            bytes: (!bytes.is_empty()).then_some(bytes),
        }
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().bytes.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.as_bytes().len() as u64)
    }
}

pin_project! {
    /// The response body of [`Verify`](crate::Verify): the inner service's body, or the short
    /// body of a response the layer wrote itself (a rejection or a handshake answer).
    #[derive(Debug)]
    pub struct VerifyResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Local { bytes: Option<Bytes> },
    }
}

impl<B> VerifyResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        VerifyResponseBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn local(bytes: Bytes) -> Self {
        VerifyResponseBody {
            kind: Kind::Local {
                bytes: (!bytes.is_empty()).then_some(bytes),
            },
        }
    }
}

impl<B> Body for VerifyResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Local { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Local { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Local { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Empty};

    #[tokio::test]
    async fn verified_body_yields_its_bytes_once() {
        let body = VerifiedBody::new(Bytes::from_static(b"\xff\x00abc"));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        assert_eq!(body.as_bytes(), b"\xff\x00abc");
        assert_eq!(
            body.collect().await.unwrap().to_bytes(),
            &b"\xff\x00abc"[..]
        );
        let empty = VerifiedBody::new(Bytes::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.into_bytes(), Bytes::new());
    }

    #[tokio::test]
    async fn response_body_local_and_inner() {
        let local = VerifyResponseBody::<Empty<Bytes>>::local(Bytes::from_static(b"no"));
        assert_eq!(local.size_hint().exact(), Some(2));
        assert_eq!(local.collect().await.unwrap().to_bytes(), "no");
        let inner = VerifyResponseBody::inner(Empty::<Bytes>::new());
        assert!(inner.is_end_stream());
        assert!(inner.collect().await.unwrap().to_bytes().is_empty());
    }
}
