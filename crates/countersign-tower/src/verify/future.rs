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

use bytes::Buf;
use bytes::Bytes;
use countersign_core::{HandshakeReply, Outcome, Prepared, VerifyError};
use http::{HeaderValue, Method, Request, Response, Uri, header};
use http_body::Body;
use http_body_util::BodyExt;
use tower_service::Service;

use super::layer::Config;
use crate::body::{VerifiedBody, VerifyResponseBody};
use crate::budget::{BodyBudget, Reservation};
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
    let current = config.current_verifier();
    let verifier = &current;
    let (mut parts, body) = request.into_parts();

    // 1b. Unsigned request handshakes (Meta's GET hub.challenge, X's GET crc_token, Graph's
    // POST validationToken), recognised by method and query, answered without a body.
    if config.handshakes
        && let Some(answer) = verifier.request_handshake(
            parts.method.as_str(),
            parts
                .uri
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str),
        )
    {
        return match answer {
            Ok(reply) => {
                tracing::debug!(
                    target: "countersign",
                    preset = verifier.scheme().name(),
                    handshake = reply.name(),
                    "answered webhook request handshake"
                );
                local(handshake_response(reply))
            }
            Err(e) => local(reject(&config, e.into(), &parts.method, &parts.uri)),
        };
    }

    // 2. Headers, timestamp and signature syntax, before the body is read.
    let prepared: Prepared<'_, '_> = match verifier.prepare(&parts.headers) {
        Ok(prepared) => prepared,
        Err(e) => return local(reject(&config, e.into(), &parts.method, &parts.uri)),
    };

    // 3. The body, bounded (and counted against the budget, reserved before reading).
    let reservation = match &config.budget {
        None => None,
        Some(budget) => {
            let declared = declared_len(&parts.headers).min(verifier.body_limit());
            match budget.try_reserve(declared) {
                Some(r) => Some((budget, r)),
                None => {
                    let rejection = budget_exhausted(budget);
                    return local(reject(&config, rejection, &parts.method, &parts.uri));
                }
            }
        }
    };
    let bytes = match read_body(body, verifier.body_limit(), reservation).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
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

/// The declared `Content-Length` (0 when absent or unreadable: the body is then reserved
/// chunk by chunk).
fn declared_len(headers: &http::HeaderMap) -> usize {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
}

fn budget_exhausted(budget: &BodyBudget) -> VerifyRejection {
    VerifyRejection::BudgetExhausted {
        capacity: budget.capacity(),
        retry_after: budget.retry_after_secs(),
    }
}

/// Reads the body into one buffer of at most `limit` bytes.
///
/// With a reservation, the buffer never outgrows what is reserved: a declared length is
/// allocated (and was reserved) up front; more is reserved before the buffer grows. A body
/// that arrives in one chunk is kept as that chunk, without a copy. The returned bytes keep
/// the reservation until their last clone is dropped.
async fn read_body<B>(
    body: B,
    limit: usize,
    reservation: Option<(&BodyBudget, Reservation)>,
) -> Result<Bytes, VerifyRejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let too_large = || VerifyRejection::Verify(VerifyError::BodyTooLarge { limit });
    let (budget, mut reservation) = match reservation {
        Some((budget, r)) => (Some(budget), Some(r)),
        None => (None, None),
    };
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut buf = Buffer::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| VerifyRejection::BodyRead(BodyReadError::new(e.into())))?;
        let Ok(mut chunk) = frame.into_data() else {
            continue; // trailers
        };
        let chunk = chunk.copy_to_bytes(chunk.remaining());
        if chunk.is_empty() {
            continue;
        }
        let held = first.as_ref().map_or(buf.len(), Bytes::len);
        let total = held.checked_add(chunk.len()).ok_or_else(too_large)?;
        if total > limit {
            return Err(too_large());
        }
        if let Some(r) = reservation.as_mut() {
            // The first chunk is held as it came; later ones are copied into `buf`, whose
            // capacity is what counts.
            let needed = buf.capacity().max(total);
            if needed > r.bytes() {
                // Grow geometrically (bounded by the limit) to keep reallocations few.
                let want = needed.max(r.bytes().saturating_mul(2)).min(limit);
                if !r.try_grow(want.saturating_sub(r.bytes()))
                    && !r.try_grow(needed.saturating_sub(r.bytes()))
                {
                    return Err(budget.map_or_else(too_large, budget_exhausted));
                }
            }
        }
        if first.is_none() && buf.capacity() == 0 {
            first = Some(chunk);
            continue;
        }
        if buf.capacity() < total {
            // Exactly what is reserved (the declared length, or the grown reservation);
            // without a budget, amortised doubling.
            let capacity = match &reservation {
                Some(r) => r.bytes().max(total),
                None => total.max(buf.capacity().saturating_mul(2)).min(limit),
            };
            buf.grow_to(capacity);
        }
        if let Some(head) = first.take() {
            buf.extend_from_slice(&head);
        }
        buf.extend_from_slice(&chunk);
    }
    let bytes = match first {
        Some(chunk) => chunk,
        None => buf.into_bytes(),
    };
    Ok(match reservation {
        Some(mut r) if !bytes.is_empty() => {
            r.shrink_to(bytes.len());
            Bytes::from_owner(Held {
                bytes,
                _reservation: r,
            })
        }
        _ => bytes,
    })
}

/// Bodies buffered in at least this many bytes get an anonymous memory mapping of their
/// own instead of a heap block: unmapped on drop, their memory goes back to the OS at once.
/// General-purpose allocators keep freed large blocks for reuse (mimalloc, which the
/// `countersign` binary uses, purges them only after a delay and only when it runs again),
/// so a burst of large bodies would otherwise leave the process at its peak size.
const MAP_THRESHOLD: usize = 1024 * 1024;

/// The buffer a multi-chunk body is copied into.
#[derive(Default)]
enum Buffer {
    #[default]
    Empty,
    Heap(Vec<u8>),
    Mapped {
        map: memmap2::MmapMut,
        len: usize,
    },
}

impl Buffer {
    fn len(&self) -> usize {
        match self {
            Buffer::Empty => 0,
            Buffer::Heap(v) => v.len(),
            Buffer::Mapped { len, .. } => *len,
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Buffer::Empty => 0,
            Buffer::Heap(v) => v.capacity(),
            Buffer::Mapped { map, .. } => map.len(),
        }
    }

    /// Moves the bytes into a buffer of `capacity` (at least `len`).
    fn grow_to(&mut self, capacity: usize) {
        let old = std::mem::take(self);
        let mapped = if capacity >= MAP_THRESHOLD {
            memmap2::MmapMut::map_anon(capacity).ok()
        } else {
            None
        };
        *self = match mapped {
            Some(mut map) => {
                let len = old.len();
                if let Some(dst) = map.get_mut(..len) {
                    dst.copy_from_slice(old.as_slice());
                }
                Buffer::Mapped { map, len }
            }
            None => {
                let mut v = match old {
                    Buffer::Heap(v) => v,
                    other => other.as_slice().to_vec(),
                };
                v.reserve_exact(capacity.saturating_sub(v.len()));
                Buffer::Heap(v)
            }
        };
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Buffer::Empty => &[],
            Buffer::Heap(v) => v,
            Buffer::Mapped { map, len } => map.get(..*len).unwrap_or_default(),
        }
    }

    /// Appends `bytes`; the caller made room.
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        match self {
            Buffer::Empty => *self = Buffer::Heap(bytes.to_vec()),
            Buffer::Heap(v) => v.extend_from_slice(bytes),
            Buffer::Mapped { map, len } => {
                let end = len.saturating_add(bytes.len());
                match map.get_mut(*len..end) {
                    Some(dst) => {
                        dst.copy_from_slice(bytes);
                        *len = end;
                    }
                    None => {
                        // Not reached (the caller grows first); stay correct anyway.
                        self.grow_to(end);
                        self.extend_from_slice(bytes);
                    }
                }
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Buffer::Empty => Bytes::new(),
            Buffer::Heap(mut v) => {
                // Unused capacity goes back before the bytes are handed on.
                v.shrink_to_fit();
                Bytes::from(v)
            }
            Buffer::Mapped { map, len } => Bytes::from_owner(MappedBody { map, len }),
        }
    }
}

/// A body in its own mapping, as the owner of a `Bytes`.
struct MappedBody {
    map: memmap2::MmapMut,
    len: usize,
}

impl AsRef<[u8]> for MappedBody {
    fn as_ref(&self) -> &[u8] {
        self.map.get(..self.len).unwrap_or_default()
    }
}

/// Verified bytes and the budget they hold.
struct Held {
    bytes: Bytes,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Logs the rejection once and builds its response (the hook's, or the default).
fn reject(
    config: &Config,
    rejection: VerifyRejection,
    method: &Method,
    uri: &Uri,
) -> Response<Bytes> {
    let status = rejection.status();
    if let (Some(rotating), VerifyRejection::Verify(e)) = (&config.rotating, &rejection)
        && e.kind() == countersign_core::ErrorKind::SignatureMismatch
    {
        // Perhaps signed with a key published since the last poll (throttled by the source).
        rotating.refresh_soon();
    }
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
    if let VerifyRejection::BudgetExhausted { retry_after, .. } = &rejection {
        // The body was not read: the connection cannot be reused.
        let h = response.headers_mut();
        if !h.contains_key(header::RETRY_AFTER) {
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response.extensions_mut().insert(rejection);
    response
}

fn handshake_response(reply: HandshakeReply) -> Response<Bytes> {
    let content_type = HeaderValue::from_str(reply.content_type())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Bytes::from(reply.into_body()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    // Echoed challenges are text, never something to sniff as markup.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
