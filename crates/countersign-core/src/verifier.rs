//! The verifier: a scheme, one or more secrets, a tolerance and a clock.
//!
//! ```
//! use countersign_core::{Delivery, Preset, Signer, SignRequest, Verifier, ErrorKind};
//!
//! let verifier = Verifier::new(Preset::Github, "It's a Secret to Everybody")?;
//! let signer = Signer::new(Preset::Github, "It's a Secret to Everybody")?;
//! let headers = signer.sign(&SignRequest::new(b"Hello, World!").id("d-1"))?;
//!
//! // Accepted: the exact bytes that were signed.
//! let ok = verifier.verify(&Delivery::new(&headers, b"Hello, World!"))?;
//! assert_eq!(ok.event_id(), Some("d-1"));
//!
//! // Rejected: one byte changed.
//! let err = verifier.verify(&Delivery::new(&headers, b"Hello, World?")).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

use crate::algorithm::{Encoding, Sink};
use crate::clock::Clock;
use crate::content::{MAX_HEADER_PARTS, Part};
use crate::delivery::{Delivery, Verified};
use crate::error::{ConfigError, ErrorKind, VerifyError};
use crate::event_id::{self, EventIdSource};
use crate::event_type::EventTypeSource;
use crate::handshake::{self, Handshake, HandshakeReply, RequestRefusal};
use crate::header::{find, require};
use crate::jws;
use crate::keys::{self, Key};
use crate::scheme::Scheme;
use crate::secret::Secret;
use crate::signature::{self, Candidates, SigFormat, SignatureSource};
use crate::timestamp::{self, TimestampSource, Tolerance};

mod builder;
mod finish;
mod prepared;

pub use builder::VerifierBuilder;
pub use prepared::{Outcome, Prepared};

/// The request line parts URL-bound schemes sign.
#[derive(Debug, Clone, Copy, Default)]
struct RequestLine<'a> {
    method: Option<&'a str>,
    url: Option<&'a str>,
}

/// Most secrets a verifier takes (rotation needs two or three).
pub const MAX_SECRETS: usize = 16;

/// What [`Verifier::prepare`] learnt from the headers of one mode.
#[derive(Debug)]
struct State<'h> {
    mode: usize,
    candidates: Candidates,
    timestamp_text: &'h [u8],
    timestamp: Option<i64>,
    header_parts: [&'h [u8]; MAX_HEADER_PARTS],
    event_id: Option<&'h str>,
    /// The token of a JWS signature header.
    jws: Option<jws::Token<'h>>,
    /// Further modes whose headers were present too (only when secrets of several modes
    /// are configured, e.g. during a rotation from HMAC to Ed25519).
    next: Option<Box<State<'h>>>,
}

impl State<'_> {
    fn empty() -> Self {
        State {
            mode: 0,
            candidates: Candidates::new(),
            timestamp_text: &[],
            timestamp: None,
            header_parts: [&[]; MAX_HEADER_PARTS],
            event_id: None,
            jws: None,
            next: None,
        }
    }
}

/// One way of signing (the scheme or one of its alternatives) with the secrets that belong
/// to it.
#[derive(Debug)]
struct Mode {
    scheme: Scheme,
    format: SigFormat,
    keys: Vec<Key>,
    /// Label and expiry of each key, in the same order.
    meta: Vec<KeyMeta>,
}

/// What a key's secret was configured with besides its value.
#[derive(Debug, Clone, Default)]
struct KeyMeta {
    label: Option<Arc<str>>,
    not_after: Option<u64>,
}

/// Verifies deliveries of one scheme against one or more secrets. Cheap to clone (one
/// reference count: axum clones handler state per request); share it.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    scheme: Scheme,
    handshake_token: Option<Key>,
    event_type: Option<Arc<EventTypeSource>>,
    modes: Box<[Mode]>,
    tolerance: Tolerance,
    body_limit: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.inner.scheme.name())
            .field(
                "secrets",
                &self.inner.modes.iter().map(|m| m.keys.len()).sum::<usize>(),
            )
            .field("tolerance", &self.inner.tolerance)
            .field("body_limit", &self.inner.body_limit)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `scheme` (a [`Preset`](crate::Preset) or a [`Scheme`]) with one secret
    /// and the scheme's defaults.
    ///
    /// # Errors
    /// A [`ConfigError`] when the secret is empty or cannot be decoded.
    pub fn new(scheme: impl Into<Scheme>, secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        Verifier::builder(scheme).secret(secret).build()
    }

    /// Starts a verifier for `scheme`.
    pub fn builder(scheme: impl Into<Scheme>) -> VerifierBuilder {
        VerifierBuilder {
            scheme: scheme.into(),
            secrets: Vec::new(),
            tolerance: None,
            body_limit: None,
            clock: None,
            handshake_token: None,
        }
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.inner.scheme
    }

    /// The effective tolerance.
    #[must_use]
    pub fn tolerance(&self) -> Tolerance {
        self.inner.tolerance
    }

    /// The effective body limit in bytes.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The keyed digest of `message` under the first configured secret, for handshakes that
    /// answer a challenge with it (Zoom's `endpoint.url_validation` wants the hex HMAC-SHA256
    /// of `plainToken`). `None` for key-pair and token schemes.
    pub(crate) fn mac(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.inner
            .modes
            .iter()
            .flat_map(|m| m.keys.iter())
            .find_map(|k| match k {
                Key::Mac(mac) => {
                    let mut state = mac.start();
                    state.update(message);
                    Some(state.finalize().as_bytes().to_vec())
                }
                _ => None,
            })
    }

    /// Answers an **unsigned** request handshake of this scheme (Meta's `GET
    /// ?hub.mode=subscribe…`, X's `GET ?crc_token=…`, Microsoft Graph's `POST
    /// ?validationToken=…`), recognised by the method and the query of `url` (a full URL or
    /// a path with its query). `None`: not such a handshake — verify the request as usual.
    /// `Some(Err(_))`: it is one, and it is refused (a wrong or missing verify token is a
    /// `signature_mismatch`; a missing, oversized or unechoable challenge a
    /// `malformed_header` on `query-parameter`).
    ///
    /// ```
    /// use countersign_core::{Preset, Verifier};
    ///
    /// let verifier = Verifier::builder(Preset::Meta)
    ///     .secret("app-secret")
    ///     .handshake_token("my-verify-token")
    ///     .build()?;
    /// let url = "/hooks/meta?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444";
    /// let reply = verifier.request_handshake("GET", url).unwrap()?;
    /// assert_eq!(reply.body(), b"1158201444");
    /// let wrong = "/hooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1";
    /// assert!(verifier.request_handshake("GET", wrong).unwrap().is_err());
    /// // An ordinary event is not a request handshake.
    /// assert!(verifier.request_handshake("POST", "/hooks/meta").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn request_handshake(
        &self,
        method: &str,
        url: &str,
    ) -> Option<Result<HandshakeReply, VerifyError>> {
        let handshakes = self.inner.scheme.handshakes();
        if !handshakes.iter().any(Handshake::is_request) {
            return None;
        }
        let token_matches = |token: &[u8]| {
            self.inner.handshake_token.as_ref().is_some_and(|key| {
                let digest = keys::sha256(token);
                key.matches(std::iter::once(&digest[..]), &|_| {}, &mut None)
            })
        };
        let reply =
            handshake::request_reply(handshakes, method, url, &token_matches, &|m| self.mac(m))?;
        Some(reply.map_err(|refusal| match refusal {
            RequestRefusal::Token => VerifyError::SignatureMismatch {
                candidates: 1,
                undecodable: 0,
                expected: "the handshake token",
            },
            RequestRefusal::Challenge => VerifyError::MalformedHeader {
                name: HeaderName::from_static("query-parameter"),
                reason: "handshake challenge missing, over 1024 bytes, or not printable ASCII without <>&\"'\\",
            },
        }))
    }

    /// Verifies a delivery: [`prepare`](Self::prepare) then [`Prepared::finish`], for
    /// receivers that do not answer handshakes (a verified handshake is an ordinary verified
    /// delivery here).
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the delivery is rejected.
    pub fn verify(&self, delivery: &Delivery<'_>) -> Result<Verified, VerifyError> {
        // The state (~1.4 KiB of inline candidates) stays where it is filled: moving it
        // into a `Prepared` and on into `finish_state` cost three copies per delivery.
        let mut state = State::empty();
        self.prepare_state(delivery.headers, &mut state)?;
        let request = RequestLine {
            method: delivery.method,
            url: delivery.url,
        };
        self.finish_state(&state, delivery.body, request)
    }

    /// Everything that can be checked before the body is read: required headers present and
    /// well-formed, timestamp within the tolerance, at least one decodable signature.
    ///
    /// Schemes that carry their signature or timestamp in the body (Mailgun, Linear) check
    /// those in [`Prepared::finish`].
    ///
    /// # Errors
    /// `missing_header`, `malformed_header`, `malformed_timestamp`, `no_supported_signature`,
    /// `timestamp_too_old`/`_new`, or `signature_mismatch` when no signature can match.
    pub fn prepare<'v, 'h>(
        &'v self,
        headers: &'h HeaderMap,
    ) -> Result<Prepared<'v, 'h>, VerifyError> {
        let mut first = State::empty();
        self.prepare_state(headers, &mut first)?;
        Ok(Prepared::new(self, headers, first))
    }

    /// [`prepare`](Self::prepare) into `first` (fresh): filled in place, since the state
    /// holds ~1.4 KiB of inline candidates and moving it through `Result`s is measurable
    /// next to a 1 KiB HMAC.
    fn prepare_state<'h>(
        &self,
        headers: &'h HeaderMap,
        first: &mut State<'h>,
    ) -> Result<(), VerifyError> {
        let mut found = false;
        let mut error: Option<VerifyError> = None;
        for (index, mode) in self.inner.modes.iter().enumerate() {
            if !found {
                match self.prepare_mode(index, mode, headers, first) {
                    Ok(()) => found = true,
                    Err(e) => {
                        first.candidates.clear();
                        error = Some(more_telling(error, e));
                    }
                }
                continue;
            }
            let mut extra = Box::new(State::empty());
            match self.prepare_mode(index, mode, headers, &mut extra) {
                Ok(()) => {
                    let mut tail = &mut *first;
                    while let Some(ref mut next) = tail.next {
                        tail = next;
                    }
                    tail.next = Some(extra);
                }
                Err(e) => error = Some(more_telling(error, e)),
            }
        }
        if found {
            return Ok(());
        }
        Err(error.unwrap_or(VerifyError::NoSupportedSignature {
            name: HeaderName::from_static("signature"),
        }))
    }

    /// Fills `out` (fresh, or cleared) for one mode.
    fn prepare_mode<'h>(
        &self,
        index: usize,
        mode: &Mode,
        headers: &'h HeaderMap,
        out: &mut State<'h>,
    ) -> Result<(), VerifyError> {
        let scheme = &mode.scheme;
        let candidates = &mut out.candidates;
        let (sig_name, sig_timestamp) = match &scheme.signature {
            SignatureSource::Header(names) => {
                let (name, value) = require(headers, names)?;
                let parsed = signature::parse(
                    &scheme.syntax,
                    name,
                    value.as_bytes(),
                    &mode.format,
                    candidates,
                )?;
                out.jws = parsed.jws;
                (Some(name), parsed.timestamp)
            }
            _ => (None, None),
        };

        let mut timestamp_text: &[u8] = &[];
        let mut timestamp_value = None;
        if let Some(spec) = &scheme.timestamp {
            let text = match &spec.source {
                TimestampSource::Header(names) => Some(require(headers, names)?.1.as_bytes()),
                TimestampSource::SignatureHeader => Some(sig_timestamp.ok_or_else(|| {
                    VerifyError::MalformedHeader {
                        name: sig_name
                            .cloned()
                            .unwrap_or(HeaderName::from_static("signature")),
                        reason: "no timestamp entry",
                    }
                })?),
                TimestampSource::JsonField(_) => None,
            };
            if let Some(text) = text {
                timestamp_value = Some((timestamp::parse(text, spec.unit)?, spec.unit));
                timestamp_text = text;
            }
        }

        let id_names = match &scheme.event_id {
            EventIdSource::Header(names) => Some(names),
            _ => None,
        };
        // A signed header that is also the event id (Standard Webhooks' `webhook-id`) is
        // looked up once.
        let mut id_header = None;
        let mut header_parts: [&[u8]; MAX_HEADER_PARTS] = [&[]; MAX_HEADER_PARTS];
        let mut slots = header_parts.iter_mut();
        for part in &scheme.content {
            if let Part::Header(names) = part
                && let Some(slot) = slots.next()
            {
                let found = require(headers, names)?;
                *slot = found.1.as_bytes();
                if id_names == Some(names) {
                    id_header = Some(found);
                }
            }
        }

        let id_header = match (id_header, id_names) {
            (Some(found), _) => Some(found),
            (None, Some(names)) => find(headers, names)?,
            (None, None) => None,
        };
        let event_id = id_header
            .map(|(name, value)| event_id::header_str(name, value))
            .transpose()?;

        let timestamp = match timestamp_value {
            Some((at, unit)) => Some(timestamp::check(
                at,
                unit,
                self.inner.clock.now(),
                self.inner.tolerance,
            )?),
            None => None,
        };

        if sig_name.is_some() && candidates.decodable() == 0 {
            return Err(mismatch(scheme, candidates));
        }
        out.mode = index;
        out.timestamp_text = timestamp_text;
        out.timestamp = timestamp;
        out.header_parts = header_parts;
        out.event_id = event_id;
        Ok(())
    }
}

fn mismatch(scheme: &Scheme, candidates: &Candidates) -> VerifyError {
    VerifyError::SignatureMismatch {
        candidates: candidates.seen(),
        undecodable: candidates.seen().saturating_sub(candidates.decodable()),
        expected: scheme.encoding.as_str(),
    }
}

/// Twilio's `bodySHA256`: the body's SHA-256 in hex, compared as bytes in constant time.
fn check_body_hash(body: &[u8], expected_hex: &[u8]) -> Result<(), ()> {
    let mut expected = [0u8; 32];
    match Encoding::Hex.decode_into(expected_hex, &mut expected) {
        Some(32) if bool::from(keys::sha256(body).ct_eq(&expected)) => Ok(()),
        _ => Err(()),
    }
}

/// Of two failures of different modes, the one that got further: a missing header says the
/// least, an unsupported signature version a little more, anything else (a mismatch, a stale
/// timestamp) the most. Ties keep the first (the primary scheme's).
fn more_telling(kept: Option<VerifyError>, new: VerifyError) -> VerifyError {
    let rank = |e: &VerifyError| match e.kind() {
        ErrorKind::MissingHeader => 0,
        ErrorKind::NoSupportedSignature => 1,
        _ => 2,
    };
    match kept {
        Some(kept) if rank(&kept) >= rank(&new) => kept,
        _ => new,
    }
}
