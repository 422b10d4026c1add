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

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::algorithm::MacKey;
use crate::clock::{Clock, SystemClock};
use crate::content::{self, ContentSource};
use crate::error::{ConfigError, VerifyError};
use crate::event_id;
use crate::scheme::{EventIdSource, MAX_HEADER_PARTS, Part, Scheme, TimestampSource, Tolerance};
use crate::secret::{self, Secret};
use crate::signature::{self, Candidates};
use crate::timestamp;

/// Most secrets a verifier takes (rotation needs two or three).
pub const MAX_SECRETS: usize = 16;

/// What a verified delivery proved: which preset, which event, signed when.
///
/// The tower layer inserts this into the request extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Verified {
    preset: Arc<str>,
    event_id: Option<String>,
    timestamp: Option<i64>,
}

impl Verified {
    /// Builds a value by hand (tests, custom verification, user id extractors).
    #[must_use]
    pub fn new(
        preset: impl Into<Arc<str>>,
        event_id: Option<String>,
        timestamp: Option<i64>,
    ) -> Self {
        Verified {
            preset: preset.into(),
            event_id,
            timestamp,
        }
    }

    /// The scheme's name, e.g. `stripe`.
    #[must_use]
    pub fn preset(&self) -> &str {
        &self.preset
    }

    /// The provider's event id, when the scheme has one and the delivery carried it.
    #[must_use]
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// The signed timestamp in Unix seconds, when the scheme has one.
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// Replaces the event id (for user-supplied id extractors).
    #[must_use]
    pub fn with_event_id(mut self, event_id: Option<String>) -> Self {
        self.event_id = event_id;
        self
    }
}

/// A received delivery: the headers and raw body, plus the request line parts that
/// URL-bound schemes sign.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    pub(crate) method: Option<&'a str>,
    pub(crate) url: Option<&'a str>,
}

impl<'a> Delivery<'a> {
    /// Headers and the exact body bytes as received.
    #[must_use]
    pub fn new(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Delivery {
            headers,
            body,
            method: None,
            url: None,
        }
    }

    /// The request method (for schemes that sign it).
    #[must_use]
    pub fn with_method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }

    /// The public URL the provider sent to (for schemes that sign it).
    #[must_use]
    pub fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// The result of [`Verifier::prepare`]: headers parsed, timestamp checked, signatures
/// decoded — everything that does not need the body. Borrows the headers.
#[derive(Debug)]
pub struct Prepared<'h> {
    candidates: Candidates,
    timestamp_text: &'h [u8],
    timestamp: Option<i64>,
    header_parts: [&'h [u8]; MAX_HEADER_PARTS],
    event_id: Option<&'h str>,
}

impl Prepared<'_> {
    /// The signed timestamp in Unix seconds, when the scheme has one.
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
}

struct Received<'p, 'h> {
    prepared: &'p Prepared<'h>,
    body: &'p [u8],
}

impl ContentSource for Received<'_, '_> {
    fn body(&self) -> &[u8] {
        self.body
    }
    fn timestamp(&self) -> &[u8] {
        self.prepared.timestamp_text
    }
    fn header(&self, index: usize) -> &[u8] {
        self.prepared
            .header_parts
            .get(index)
            .copied()
            .unwrap_or(&[])
    }
}

/// Verifies deliveries of one scheme against one or more secrets. Cheap to clone; share it.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<MacKey>,
    tolerance: Tolerance,
    body_limit: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme.name())
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .field("body_limit", &self.body_limit)
            .field("clock", &self.clock)
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
        }
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The effective tolerance.
    #[must_use]
    pub fn tolerance(&self) -> Tolerance {
        self.tolerance
    }

    /// The effective body limit in bytes.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Verifies a delivery: [`prepare`](Self::prepare) then [`finish`](Self::finish).
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the delivery is rejected.
    pub fn verify(&self, delivery: &Delivery<'_>) -> Result<Verified, VerifyError> {
        let prepared = self.prepare(delivery.headers)?;
        self.finish(prepared, delivery)
    }

    /// Everything that can be checked before the body is read: required headers present and
    /// well-formed, timestamp within the tolerance, at least one decodable signature.
    ///
    /// # Errors
    /// `missing_header`, `malformed_header`, `malformed_timestamp`, `no_supported_signature`,
    /// `timestamp_too_old`/`_new`, or `signature_mismatch` when no signature can match.
    pub fn prepare<'h>(&self, headers: &'h HeaderMap) -> Result<Prepared<'h>, VerifyError> {
        let scheme = &self.scheme;
        let (sig_name, sig_value) = require(headers, &scheme.signature_header)?;
        let parsed = signature::parse(
            &scheme.syntax,
            sig_name,
            sig_value.as_bytes(),
            scheme.encoding,
            scheme.algorithm.output_len(),
        )?;

        let mut timestamp_text: &[u8] = &[];
        let mut timestamp_value = None;
        if let Some(spec) = &scheme.timestamp {
            let text = match &spec.source {
                TimestampSource::Header(names) => require(headers, names)?.1.as_bytes(),
                TimestampSource::SignatureHeader => {
                    parsed
                        .timestamp
                        .ok_or_else(|| VerifyError::MalformedHeader {
                            name: sig_name.clone(),
                            reason: "no timestamp entry",
                        })?
                }
            };
            timestamp_value = Some((timestamp::parse_digits(text)?, spec.unit));
            timestamp_text = text;
        }

        let mut header_parts: [&[u8]; MAX_HEADER_PARTS] = [&[]; MAX_HEADER_PARTS];
        let mut slots = header_parts.iter_mut();
        for part in &scheme.content {
            if let Part::Header(names) = part
                && let Some(slot) = slots.next()
            {
                *slot = require(headers, names)?.1.as_bytes();
            }
        }

        let event_id = match &scheme.event_id {
            EventIdSource::Header(names) => match find(headers, names)? {
                Some((name, value)) => Some(event_id::header_str(name, value)?),
                None => None,
            },
            _ => None,
        };

        let timestamp = match timestamp_value {
            Some((value, unit)) => Some(timestamp::check(
                value,
                unit,
                self.clock.now(),
                self.tolerance,
            )?),
            None => None,
        };

        let candidates = parsed.candidates;
        if candidates.decodable() == 0 {
            return Err(self.mismatch(&candidates));
        }
        Ok(Prepared {
            candidates,
            timestamp_text,
            timestamp,
            header_parts,
            event_id,
        })
    }

    /// Checks the signature over the body (and the other signed parts) and extracts the
    /// event id. `delivery` must be the one whose headers were prepared.
    ///
    /// # Errors
    /// `body_too_large`, `signature_mismatch`, or `malformed_body` when a body-borne event id
    /// is unusable.
    pub fn finish(
        &self,
        prepared: Prepared<'_>,
        delivery: &Delivery<'_>,
    ) -> Result<Verified, VerifyError> {
        let body = delivery.body;
        if body.len() > self.body_limit {
            return Err(VerifyError::BodyTooLarge {
                limit: self.body_limit,
            });
        }
        let src = Received {
            prepared: &prepared,
            body,
        };
        let matched = self.keys.iter().any(|key| {
            let mut mac = key.start();
            content::feed(&self.scheme.content, &src, &mut mac);
            let tag = mac.finalize();
            prepared.candidates.iter().any(|c| tag.ct_matches(c))
        });
        if !matched {
            return Err(self.mismatch(&prepared.candidates));
        }
        let event_id = match &self.scheme.event_id {
            EventIdSource::Header(_) => prepared.event_id.map(str::to_owned),
            EventIdSource::JsonField(path) => event_id::from_json(body, path)?,
            EventIdSource::None => None,
        };
        Ok(Verified {
            preset: Arc::clone(&self.scheme.name),
            event_id,
            timestamp: prepared.timestamp,
        })
    }

    fn mismatch(&self, candidates: &Candidates) -> VerifyError {
        VerifyError::SignatureMismatch {
            candidates: candidates.seen(),
            undecodable: candidates.seen().saturating_sub(candidates.decodable()),
            expected: self.scheme.encoding.as_str(),
        }
    }
}

/// Builds a [`Verifier`]; see [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    scheme: Scheme,
    secrets: Vec<Secret>,
    tolerance: Option<Tolerance>,
    body_limit: Option<usize>,
    clock: Option<Arc<dyn Clock>>,
}

impl VerifierBuilder {
    /// Adds a secret. Add several to rotate: a delivery is accepted when any signature entry
    /// matches any secret.
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Adds several secrets.
    pub fn secrets<S: Into<Secret>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }

    /// Overrides both tolerances (default: the scheme's, 300 s each way unless the provider
    /// documents another).
    pub fn tolerance(mut self, tolerance: Tolerance) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Overrides the body limit (default: the scheme's, 1 MiB unless the provider sends more).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Injects a clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Injects a shared clock.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Decodes the secrets and prepares their MAC keys.
    ///
    /// # Errors
    /// [`ConfigError::NoSecret`], [`ConfigError::EmptySecret`],
    /// [`ConfigError::SecretEncoding`], [`ConfigError::TooManySecrets`], or
    /// [`ConfigError::InvalidScheme`].
    pub fn build(self) -> Result<Verifier, ConfigError> {
        self.scheme.validate()?;
        if self.secrets.is_empty() {
            return Err(ConfigError::NoSecret);
        }
        if self.secrets.len() > MAX_SECRETS {
            return Err(ConfigError::TooManySecrets { max: MAX_SECRETS });
        }
        let keys = self
            .secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let bytes = secret::key_bytes(s, &self.scheme.key_format, i)?;
                MacKey::new(self.scheme.algorithm, &bytes)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier {
            tolerance: self.tolerance.unwrap_or(self.scheme.tolerance),
            body_limit: self.body_limit.unwrap_or(self.scheme.body_limit),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            scheme: self.scheme,
            keys,
        })
    }
}

/// The first present header of `names`; present more than once is malformed.
pub(crate) fn find<'h, 'n>(
    headers: &'h HeaderMap,
    names: &'n [HeaderName],
) -> Result<Option<(&'n HeaderName, &'h HeaderValue)>, VerifyError> {
    for name in names {
        let mut values = headers.get_all(name).iter();
        if let Some(value) = values.next() {
            if values.next().is_some() {
                return Err(VerifyError::MalformedHeader {
                    name: name.clone(),
                    reason: "appears more than once",
                });
            }
            return Ok(Some((name, value)));
        }
    }
    Ok(None)
}

/// Like [`find`], but absent is `missing_header` (naming the preferred header).
pub(crate) fn require<'h, 'n>(
    headers: &'h HeaderMap,
    names: &'n [HeaderName],
) -> Result<(&'n HeaderName, &'h HeaderValue), VerifyError> {
    find(headers, names)?.ok_or_else(|| VerifyError::MissingHeader {
        name: names
            .first()
            .cloned()
            .unwrap_or(HeaderName::from_static("signature")),
    })
}
