//! [`Prepared`]: a delivery whose headers passed, waiting for its body; and the [`Outcome`]
//! of finishing it.

use http::HeaderMap;

use crate::delivery::Verified;
use crate::error::VerifyError;
use crate::handshake::{self, HandshakeReply};

use super::{RequestLine, State, Verifier};

/// The result of [`Verifier::prepare`]: headers parsed, timestamp checked, signatures
/// decoded — everything that does not need the body.
///
/// It borrows the verifier and the headers it was prepared from, and
/// [`finish`](Self::finish) consumes it with the body: the signature is always checked
/// against the headers that were prepared.
///
/// ```
/// use countersign_core::{Outcome, Preset, Signer, SignRequest, Verifier};
///
/// let verifier = Verifier::new(Preset::Github, "It's a Secret to Everybody")?;
/// let headers = Signer::new(Preset::Github, "It's a Secret to Everybody")?
///     .sign(&SignRequest::new(b"Hello, World!").id("d-1"))?;
///
/// // Headers first (a forged or stale delivery can be refused before its body is read)...
/// let prepared = verifier.prepare(&headers)?;
/// // ...then the body.
/// let outcome = prepared.finish(b"Hello, World!")?;
/// assert!(matches!(&outcome, Outcome::Event(v) if v.event_id() == Some("d-1")));
///
/// // One byte changed: rejected.
/// assert!(verifier.prepare(&headers)?.finish(b"Hello, World?").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a prepared delivery is verified only once `finish` accepts its body"]
pub struct Prepared<'v, 'h> {
    verifier: &'v Verifier,
    headers: &'h HeaderMap,
    request: RequestLine<'h>,
    pub(super) state: State<'h>,
}

impl<'v, 'h> Prepared<'v, 'h> {
    pub(super) fn new(verifier: &'v Verifier, headers: &'h HeaderMap, state: State<'h>) -> Self {
        Prepared {
            verifier,
            headers,
            request: RequestLine::default(),
            state,
        }
    }

    /// The request method, for schemes that sign it (default `POST`).
    pub fn method(mut self, method: &'h str) -> Self {
        self.request.method = Some(method);
        self
    }

    /// The public URL the provider sent to, for schemes that sign it; without one their
    /// deliveries are rejected with [`ErrorKind::MissingUrl`](crate::ErrorKind::MissingUrl).
    pub fn url(mut self, url: &'h str) -> Self {
        self.request.url = Some(url);
        self
    }

    /// The signed timestamp in Unix seconds, when the scheme has one in a header (a
    /// timestamp in the body is known after [`finish`](Self::finish)).
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.state.timestamp
    }

    /// Checks the signature over `body` (and the other signed parts), extracts the event id,
    /// and tells an event from a handshake the scheme declares.
    ///
    /// # Errors
    /// `body_too_large`, `signature_mismatch`, `missing_url` when the scheme signs the URL
    /// and none was given, `malformed_body` when a body-borne value is unusable, and for
    /// body-borne timestamps `malformed_timestamp` or `timestamp_too_old`/`_new`.
    pub fn finish(self, body: &[u8]) -> Result<Outcome, VerifyError> {
        let verifier = self.verifier;
        let verified = verifier.finish_state(&self.state, body, self.request)?;
        let reply = handshake::reply(
            verifier.scheme().handshakes(),
            self.headers,
            body,
            &|message| verifier.mac(message),
        );
        Ok(match reply {
            None => Outcome::Event(verified),
            Some(reply) => Outcome::Handshake { verified, reply },
        })
    }
}

/// What a verified delivery is: an event for the application, or a handshake the provider
/// expects answered (Slack `url_verification`, Twitch `webhook_callback_verification`, Zoom
/// `endpoint.url_validation`, Discord `PING`, or a scheme's own
/// [`Handshake`](crate::Handshake)). Either way the signature checked out.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An ordinary delivery.
    Event(Verified),
    /// A handshake: answer it with `200 OK` and the reply (or, when the receiver does not
    /// answer handshakes, treat it as the verified delivery it also is).
    Handshake {
        /// What the delivery proved.
        verified: Verified,
        /// The answer the provider expects.
        reply: HandshakeReply,
    },
}

impl Outcome {
    /// What the delivery proved, event or handshake.
    #[must_use]
    pub fn verified(&self) -> &Verified {
        match self {
            Outcome::Event(verified) | Outcome::Handshake { verified, .. } => verified,
        }
    }

    /// What the delivery proved, owned.
    #[must_use]
    pub fn into_verified(self) -> Verified {
        match self {
            Outcome::Event(verified) | Outcome::Handshake { verified, .. } => verified,
        }
    }

    /// The handshake answer, when this is one.
    #[must_use]
    pub fn handshake(&self) -> Option<&HandshakeReply> {
        match self {
            Outcome::Event(_) => None,
            Outcome::Handshake { reply, .. } => Some(reply),
        }
    }
}
