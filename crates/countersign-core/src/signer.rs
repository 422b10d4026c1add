//! Producing the headers a provider would send, for tests, examples and `countersign sign`.
//!
//! ```
//! use countersign_core::{Preset, Signer, SignRequest};
//! use std::time::Duration;
//!
//! let signer = Signer::new(Preset::Stripe, "whsec_test")?;
//! let headers = signer.sign(
//!     &SignRequest::new(br#"{"id":"evt_1"}"#).timestamp(Duration::from_secs(1_700_000_000)),
//! )?;
//! let value = headers["stripe-signature"].to_str()?;
//! assert!(value.starts_with("t=1700000000,v1="));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, MacKey};
use crate::clock::{Clock, SystemClock};
use crate::content::{self, Inputs};
use crate::content::{MAX_HEADER_PARTS, MAX_JSON_PARTS, Part};
use crate::error::{ConfigError, SignError};
use crate::event_id::EventIdSource;
use crate::scheme::{Scheme, mode_for, modes_of};
use crate::secret::{self, Secret};
use crate::signature::{SignatureSource, SignatureSyntax};
use crate::timestamp::{self, TimestampSource, TimestampUnit};
use crate::{form, json_path, url};

/// What to sign: the body, and the inputs some schemes put next to it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default)]
pub struct SignRequest<'a> {
    /// The exact body bytes.
    pub body: &'a [u8],
    /// The event or message id, for schemes that carry one in a header.
    pub id: Option<&'a str>,
    /// The signing time since the Unix epoch (default: the signer's clock).
    pub timestamp: Option<Duration>,
    /// The URL the delivery is sent to, for schemes that sign it (Twilio, Square, HubSpot).
    /// Signed exactly as given; for Twilio JSON bodies, include the `bodySHA256` query
    /// parameter yourself.
    pub url: Option<&'a str>,
    /// The request method, for schemes that sign it (default `POST`).
    pub method: Option<&'a str>,
}

impl<'a> SignRequest<'a> {
    /// Signs `body`.
    #[must_use]
    pub fn new(body: &'a [u8]) -> Self {
        SignRequest {
            body,
            ..SignRequest::default()
        }
    }

    /// Sets the id.
    #[must_use]
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the signing time.
    #[must_use]
    pub fn timestamp(mut self, since_epoch: Duration) -> Self {
        self.timestamp = Some(since_epoch);
        self
    }

    /// Sets the URL.
    #[must_use]
    pub fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// Sets the method.
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }
}

#[derive(Clone)]
enum SignKey {
    Mac(Box<MacKey>),
    /// The token itself (GitLab's `X-Gitlab-Token`).
    Token(Zeroizing<Vec<u8>>),
    /// A public key: verification only.
    VerifyOnly,
}

/// Signs deliveries with one secret, exactly as the provider would.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: SignKey,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme.name())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `scheme` with `secret` (in the same format a verifier takes; for schemes
    /// with [alternatives](Scheme::alternatives), the secret's prefix selects the mode).
    ///
    /// A key-pair scheme's "secret" is a public key: the signer is built without looking at
    /// it, and [`sign`](Self::sign) returns [`SignError::Unsupported`].
    ///
    /// # Errors
    /// A [`ConfigError`] when the secret is empty or cannot be decoded.
    pub fn new(scheme: impl Into<Scheme>, secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        let scheme = scheme.into();
        scheme.validate()?;
        let secret = secret.into();
        let modes = modes_of(&scheme);
        let mut mode = modes
            .into_iter()
            .nth(mode_for(&modes_of(&scheme), &secret))
            .ok_or(ConfigError::InvalidScheme("no signing mode"))?;
        mode.name = Arc::clone(&scheme.name);
        if mode.algorithm.is_key_pair() {
            return Ok(Signer {
                scheme: mode,
                key: SignKey::VerifyOnly,
                clock: Arc::new(SystemClock),
            });
        }
        let bytes = secret::key_bytes(&secret, &mode.key_format, 0)?;
        let key = match (mode.algorithm, MacKey::new(mode.algorithm, &bytes)?) {
            (_, Some(mac)) => SignKey::Mac(Box::new(mac)),
            (Algorithm::Token, None) => {
                crate::keys::check_token(&bytes, 0)?;
                SignKey::Token(bytes)
            }
            _ => SignKey::VerifyOnly,
        };
        Ok(Signer {
            scheme: mode,
            key,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for requests without a timestamp.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The scheme (the mode the secret selected).
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The headers to send with `request.body`, in a stable order: signature, timestamp,
    /// signed headers, event id.
    ///
    /// # Errors
    /// [`SignError::MissingInput`] when the scheme signs an id or URL that was not given;
    /// [`SignError::InvalidHeaderValue`] when an input cannot be a header value;
    /// [`SignError::Unsupported`] for key-pair schemes and for schemes whose signature
    /// travels in the body (use [`signature`](Self::signature) there).
    pub fn sign(&self, request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let scheme = &self.scheme;
        let sig_names = match &scheme.signature {
            SignatureSource::Header(names) => names,
            SignatureSource::QueryParam(_) => {
                return Err(SignError::Unsupported(
                    "the key travels in the URL's query: put it there",
                ));
            }
            SignatureSource::JsonArrayField { .. } => {
                return Err(SignError::Unsupported(
                    "the token travels in every element of a JSON array: put it there",
                ));
            }
            _ => {
                return Err(SignError::Unsupported(
                    "the signature travels in the JSON body; build the body with Signer::signature",
                ));
            }
        };
        if let (SignatureSyntax::Jws(claims), SignKey::Mac(mac), Some(name)) =
            (&scheme.syntax, &self.key, sig_names.first())
        {
            let token = crate::jws::sign(scheme.algorithm, claims, mac, request.body);
            let mut out = HeaderMap::new();
            insert(&mut out, name, &token, true)?;
            return Ok(out);
        }
        let (sig, timestamp) = self.compute(request)?;
        let value = match &scheme.syntax {
            SignatureSyntax::Single { prefix } => format!("{prefix}{sig}"),
            SignatureSyntax::VersionedList { version } => format!("{version},{sig}"),
            SignatureSyntax::KeyValue {
                separator,
                signature_key,
                timestamp_key,
            } => match timestamp_key {
                Some(t) if !timestamp.is_empty() => {
                    format!("{t}={timestamp}{separator}{signature_key}={sig}")
                }
                _ => format!("{signature_key}={sig}"),
            },
            SignatureSyntax::TimestampFirst { separator } => {
                format!("{timestamp}{separator}{sig}")
            }
            SignatureSyntax::Jws(_) => {
                return Err(SignError::Unsupported(
                    "a JWS scheme signs with an HMAC key",
                ));
            }
        };

        let mut out = HeaderMap::new();
        if let Some(name) = sig_names.first() {
            insert(&mut out, name, &value, true)?;
        }
        if let Some(TimestampSource::Header(names)) = scheme.timestamp.as_ref().map(|t| &t.source)
            && let Some(name) = names.first()
        {
            insert(&mut out, name, &timestamp, false)?;
        }
        if let (EventIdSource::Header(names), Some(id)) = (&scheme.event_id, request.id)
            && let Some(name) = names.first()
        {
            insert(&mut out, name, id, false)?;
        }
        Ok(out)
    }

    /// The encoded signature alone (no prefix or version tag), for schemes whose signature
    /// travels in the body: Mailgun signs `signature.timestamp` and `signature.token` read
    /// from `request.body`, and the result goes into `signature.signature`.
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    pub fn signature(&self, request: &SignRequest<'_>) -> Result<String, SignError> {
        self.compute(request).map(|(sig, _)| sig)
    }

    /// `(encoded signature, timestamp text)`.
    fn compute(&self, request: &SignRequest<'_>) -> Result<(String, String), SignError> {
        let scheme = &self.scheme;
        let mac = match &self.key {
            SignKey::Mac(mac) => mac,
            SignKey::Token(token) => {
                let token = std::str::from_utf8(token)
                    .map_err(|_| SignError::Unsupported("the token is not UTF-8"))?;
                return Ok((token.to_owned(), String::new()));
            }
            SignKey::VerifyOnly => {
                return Err(SignError::Unsupported(
                    "key-pair schemes verify only; a public key cannot sign",
                ));
            }
        };
        let when = request.timestamp.unwrap_or_else(|| self.clock.now());
        let body = request.body;
        let timestamp = match &scheme.timestamp {
            None => String::new(),
            Some(spec) => match (&spec.source, spec.unit) {
                // Signed through the body unless the content names it (Mailgun).
                (TimestampSource::JsonField(_), _)
                    if !scheme.content.contains(&Part::Timestamp) =>
                {
                    String::new()
                }
                (TimestampSource::JsonField(path), _) => json_path::json_value(body, path)
                    .ok_or(SignError::MissingInput("timestamp in the JSON body"))?,
                (_, TimestampUnit::Seconds) => when.as_secs().to_string(),
                (_, TimestampUnit::Milliseconds) => when.as_millis().to_string(),
                (_, TimestampUnit::Rfc3339) => timestamp::format_rfc3339(when),
            },
        };

        // Header parts: the only header value a signer can supply is the event id.
        let id_names = match &scheme.event_id {
            EventIdSource::Header(names) => Some(names),
            _ => None,
        };
        let mut header_parts: [&[u8]; MAX_HEADER_PARTS] = [&[]; MAX_HEADER_PARTS];
        let mut slots = header_parts.iter_mut();
        let mut json_owned: [String; MAX_JSON_PARTS] = Default::default();
        let mut json_slots = json_owned.iter_mut();
        let mut url_part = None;
        let mut form = Vec::new();
        for part in &scheme.content {
            match part {
                Part::Header(names) => {
                    if id_names != Some(names) {
                        return Err(SignError::Unsupported(
                            "the scheme signs a header other than the event id",
                        ));
                    }
                    let id = request
                        .id
                        .ok_or(SignError::MissingInput("event id (--id)"))?;
                    if let Some(slot) = slots.next() {
                        *slot = id.as_bytes();
                    }
                }
                Part::JsonField(path) => {
                    if let Some(slot) = json_slots.next() {
                        *slot = json_path::json_value(body, path)
                            .ok_or(SignError::MissingInput("a signed field of the JSON body"))?;
                    }
                }
                Part::Url(u) => url_part = Some(u),
                Part::FormParams(params) => {
                    let url = request.url.unwrap_or("");
                    let hashed = params.body_hash_param.as_deref().is_some_and(|name| {
                        form::query_param(url.as_bytes(), name.as_bytes()).is_some()
                    });
                    if !hashed {
                        // Beyond the parameter cap a verifier refuses the body whatever the
                        // signature; sign the rest as usual.
                        form = form::canonical(body).unwrap_or_default();
                    }
                }
                _ => {}
            }
        }
        let url = match url_part {
            Some(part) => url::decode_selected(
                request
                    .url
                    .ok_or(SignError::MissingInput("URL (--url)"))?
                    .as_bytes(),
                &part.decode,
            ),
            None => std::borrow::Cow::Borrowed(&[][..]),
        };
        let json: [&[u8]; MAX_JSON_PARTS] = json_owned.each_ref().map(|s| s.as_bytes());

        let mut state = mac.start();
        content::feed(
            &scheme.content,
            &Inputs {
                body,
                timestamp: timestamp.as_bytes(),
                headers: &header_parts,
                json: &json,
                method: request.method.unwrap_or("POST").as_bytes(),
                url: &url,
                form: &form,
                jws: &[],
            },
            &mut state,
        );
        Ok((
            scheme.encoding.encode(state.finalize().as_bytes()),
            timestamp,
        ))
    }
}

fn insert(
    out: &mut HeaderMap,
    name: &HeaderName,
    value: &str,
    sensitive: bool,
) -> Result<(), SignError> {
    let mut v =
        HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeaderValue(name.clone()))?;
    v.set_sensitive(sensitive);
    out.insert(name.clone(), v);
    Ok(())
}
