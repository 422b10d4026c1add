//! [`DeadlineBody`]: a request body that fails once its deadline passes, so a client that
//! trickles its body (slowloris on the body) holds a connection for at most the body timeout.
//!
//! The deadline is for the whole body, not between frames: one byte every few seconds
//! forever would pass any idle timeout. The verify layer reads the body inside its future; a
//! [`BodyTimeout`] error there becomes a `408` (see `route.rs`).

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The body was not complete before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyTimeout(pub(crate) Duration);

impl fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request body not complete within {:?}", self.0)
    }
}

impl StdError for BodyTimeout {}

pin_project! {
    /// `B` with a deadline for its last byte.
    pub(crate) struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        timeout: Duration,
    }
}

impl<B> DeadlineBody<B> {
    /// `inner`, which must be complete within `timeout` from now.
    pub(crate) fn new(inner: B, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            sleep: tokio::time::sleep_until(Instant::now() + timeout),
            timeout,
        }
    }
}

impl<B> fmt::Debug for DeadlineBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadlineBody")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        // The body first: what has arrived is delivered even at the deadline.
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(*this.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` (or one of its sources) is a [`BodyTimeout`].
pub(crate) fn is_body_timeout(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<BodyTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full, StreamBody};

    #[tokio::test]
    async fn a_complete_body_passes() {
        let body = DeadlineBody::new(
            Full::new(Bytes::from_static(b"abc")),
            Duration::from_secs(1),
        );
        assert_eq!(body.size_hint().exact(), Some(3));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_body_fails_at_the_deadline() {
        // One byte per second, forever.
        let stream = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((
                Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"x"))),
                (),
            ))
        });
        let started = Instant::now();
        let body = DeadlineBody::new(StreamBody::new(stream), Duration::from_millis(3500));
        let err = body.collect().await.unwrap_err();
        assert!(is_body_timeout(&*err), "{err}");
        assert_eq!(started.elapsed(), Duration::from_millis(3500));
        assert_eq!(err.to_string(), "request body not complete within 3.5s");
    }
}
