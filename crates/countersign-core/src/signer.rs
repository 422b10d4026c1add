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

use crate::algorithm::MacKey;
use crate::clock::{Clock, SystemClock};
use crate::content::{self, ContentSource};
use crate::error::{ConfigError, SignError};
use crate::scheme::{
    EventIdSource, MAX_HEADER_PARTS, Part, Scheme, SignatureSyntax, TimestampSource, TimestampUnit,
};
use crate::secret::{self, Secret};

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
}

/// Signs deliveries with one secret, exactly as the provider would.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: MacKey,
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

struct Outgoing<'a> {
    body: &'a [u8],
    timestamp: &'a str,
    headers: [&'a [u8]; MAX_HEADER_PARTS],
}

impl ContentSource for Outgoing<'_> {
    fn body(&self) -> &[u8] {
        self.body
    }
    fn timestamp(&self) -> &[u8] {
        self.timestamp.as_bytes()
    }
    fn header(&self, index: usize) -> &[u8] {
        self.headers.get(index).copied().unwrap_or(&[])
    }
}

impl Signer {
    /// A signer for `scheme` with `secret` (in the same format a verifier takes).
    ///
    /// # Errors
    /// A [`ConfigError`] when the secret is empty or cannot be decoded.
    pub fn new(scheme: impl Into<Scheme>, secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        let scheme = scheme.into();
        scheme.validate()?;
        let bytes = secret::key_bytes(&secret.into(), &scheme.key_format, 0)?;
        let key = MacKey::new(scheme.algorithm, &bytes)?;
        Ok(Signer {
            scheme,
            key,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for requests without a timestamp.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The headers to send with `request.body`, in a stable order: signature, timestamp,
    /// signed headers, event id.
    ///
    /// # Errors
    /// [`SignError::MissingInput`] when the scheme signs an id that was not given;
    /// [`SignError::InvalidHeaderValue`] when an input cannot be a header value.
    pub fn sign(&self, request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let scheme = &self.scheme;
        let when = request.timestamp.unwrap_or_else(|| self.clock.now());
        let timestamp = match scheme.timestamp.as_ref().map(|t| t.unit) {
            Some(TimestampUnit::Seconds) => when.as_secs().to_string(),
            Some(TimestampUnit::Milliseconds) => when.as_millis().to_string(),
            None => String::new(),
        };

        // Header parts: the only header value a signer can supply is the event id.
        let id_names = match &scheme.event_id {
            EventIdSource::Header(names) => Some(names),
            _ => None,
        };
        let mut header_parts: [&[u8]; MAX_HEADER_PARTS] = [&[]; MAX_HEADER_PARTS];
        let mut slots = header_parts.iter_mut();
        for part in &scheme.content {
            if let Part::Header(names) = part {
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
        }

        let mut mac = self.key.start();
        content::feed(
            &scheme.content,
            &Outgoing {
                body: request.body,
                timestamp: &timestamp,
                headers: header_parts,
            },
            &mut mac,
        );
        let sig = scheme.encoding.encode(mac.finalize().as_bytes());

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
        };

        let mut out = HeaderMap::new();
        if let Some(name) = scheme.signature_header.first() {
            insert(&mut out, name, &value)?;
        }
        if let Some(TimestampSource::Header(names)) = scheme.timestamp.as_ref().map(|t| &t.source)
            && let Some(name) = names.first()
        {
            insert(&mut out, name, &timestamp)?;
        }
        if let (Some(names), Some(id)) = (id_names, request.id)
            && let Some(name) = names.first()
        {
            insert(&mut out, name, id)?;
        }
        Ok(out)
    }
}

fn insert(out: &mut HeaderMap, name: &HeaderName, value: &str) -> Result<(), SignError> {
    let v =
        HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeaderValue(name.clone()))?;
    out.insert(name.clone(), v);
    Ok(())
}
