//! How a provider signs, described as data.
//!
//! A [`Scheme`] names the signature header and its syntax, the algorithm and encoding, the
//! signed content as a sequence of [`Part`]s, where the timestamp and the event id live, how
//! the configured secret is turned into key bytes, and the default tolerance and body limit.
//! Presets ([`crate::Preset`]) are ready-made schemes; [`Scheme::builder`] makes new ones.
//!
//! ```
//! use countersign_core::{Algorithm, Encoding, Part, Scheme, SignatureSyntax, Verifier, Delivery};
//! use http::HeaderMap;
//!
//! // A provider that sends `X-Acme-Signature: sha512=<hex>` over the raw body.
//! let scheme = Scheme::builder("acme")
//!     .algorithm(Algorithm::HmacSha512)
//!     .encoding(Encoding::Hex)
//!     .signature_header("x-acme-signature", SignatureSyntax::single("sha512="))
//!     .build()?;
//! let verifier = Verifier::builder(scheme).secret("s3cret").build()?;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-acme-signature", "sha512=00".parse()?);
//! assert!(verifier.verify(&Delivery::new(&headers, b"{}")).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding, MAX_TAG_LEN};
use crate::error::ConfigError;
use crate::handshake::Handshake;

/// Default timestamp tolerance in each direction: 300 s.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How far a signed timestamp may be from the verifier's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be (clock skew).
    pub future: Duration,
}

impl Tolerance {
    /// The same window in both directions.
    #[must_use]
    pub const fn symmetric(window: Duration) -> Self {
        Tolerance {
            past: window,
            future: window,
        }
    }
}

impl Default for Tolerance {
    /// 300 s in both directions.
    fn default() -> Self {
        Tolerance::symmetric(DEFAULT_TOLERANCE)
    }
}

/// The syntax of the signature header.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignatureSyntax {
    /// The whole value is one signature after an optional prefix: GitHub `sha256=<hex>`,
    /// Slack `v0=<hex>`, Shopify `<base64>`.
    Single {
        /// Required prefix, e.g. `sha256=`; empty for none.
        prefix: Cow<'static, str>,
    },
    /// Space-separated `version,signature` entries (Standard Webhooks, Svix):
    /// `v1,<base64> v1,<base64> v1a,<…>`. Entries of other versions are skipped.
    VersionedList {
        /// The supported version tag, e.g. `v1`.
        version: Cow<'static, str>,
    },
    /// `key=value` pairs (Stripe `t=…,v1=…,v0=…`; Paddle `ts=…;h1=…`). Several signature
    /// keys may appear; other keys are skipped.
    KeyValue {
        /// The byte between pairs, e.g. `,` or `;`.
        separator: char,
        /// The key of signature entries, e.g. `v1`.
        signature_key: Cow<'static, str>,
        /// The key of the timestamp, when it travels in this header (`t` for Stripe).
        timestamp_key: Option<Cow<'static, str>>,
    },
}

impl SignatureSyntax {
    /// [`SignatureSyntax::Single`] with a prefix (`""` for none).
    #[must_use]
    pub fn single(prefix: impl Into<Cow<'static, str>>) -> Self {
        SignatureSyntax::Single {
            prefix: prefix.into(),
        }
    }

    /// [`SignatureSyntax::VersionedList`] accepting `version`.
    #[must_use]
    pub fn versioned_list(version: impl Into<Cow<'static, str>>) -> Self {
        SignatureSyntax::VersionedList {
            version: version.into(),
        }
    }

    /// [`SignatureSyntax::KeyValue`] without a timestamp key.
    #[must_use]
    pub fn key_value(separator: char, signature_key: impl Into<Cow<'static, str>>) -> Self {
        SignatureSyntax::KeyValue {
            separator,
            signature_key: signature_key.into(),
            timestamp_key: None,
        }
    }

    /// Sets the timestamp key of a [`SignatureSyntax::KeyValue`] syntax (no-op otherwise).
    #[must_use]
    pub fn with_timestamp_key(mut self, key: impl Into<Cow<'static, str>>) -> Self {
        if let SignatureSyntax::KeyValue { timestamp_key, .. } = &mut self {
            *timestamp_key = Some(key.into());
        }
        self
    }

    pub(crate) fn timestamp_key(&self) -> Option<&str> {
        match self {
            SignatureSyntax::KeyValue { timestamp_key, .. } => timestamp_key.as_deref(),
            _ => None,
        }
    }
}

/// One piece of the signed content, fed to the MAC in order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// The raw body bytes, unchanged.
    Body,
    /// The timestamp exactly as received (its text, not a re-formatted number).
    Timestamp,
    /// The value of a header (first of the names present); the header is then required.
    Header(Vec<HeaderName>),
    /// Fixed bytes such as a `.` separator.
    Literal(Cow<'static, [u8]>),
}

impl Part {
    /// A literal separator or prefix.
    #[must_use]
    pub fn literal(bytes: &'static str) -> Self {
        Part::Literal(Cow::Borrowed(bytes.as_bytes()))
    }

    /// The value of header `name`.
    #[must_use]
    pub fn header(name: impl IntoHeaderName) -> Self {
        Part::Header(vec![name.into_header_name()])
    }
}

/// Where the signed timestamp comes from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TimestampSource {
    /// A header of its own (first of the names present).
    Header(Vec<HeaderName>),
    /// The timestamp key of a [`SignatureSyntax::KeyValue`] signature header.
    SignatureHeader,
}

/// The unit of a signed timestamp. Values are ASCII digits only, at most 19 of them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
}

/// A scheme's signed timestamp: where it is and what unit it has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimestampSpec {
    /// Where it is.
    pub source: TimestampSource,
    /// Its unit.
    pub unit: TimestampUnit,
}

impl TimestampSpec {
    /// A timestamp in its own header.
    #[must_use]
    pub fn header(name: impl IntoHeaderName, unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::Header(vec![name.into_header_name()]),
            unit,
        }
    }

    /// A timestamp inside the signature header (`t=` for Stripe).
    #[must_use]
    pub fn in_signature_header(unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::SignatureHeader,
            unit,
        }
    }
}

/// Where a delivery's event id (the deduplication key) lives.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum EventIdSource {
    /// The scheme carries no event id; deduplication needs a user-supplied extractor.
    #[default]
    None,
    /// A header (first of the names present). Absent header: no event id.
    Header(Vec<HeaderName>),
    /// A string (or integer) member of the JSON body, found by following object keys from
    /// the top level. Not JSON or absent: no event id.
    JsonField(Vec<Cow<'static, str>>),
}

impl EventIdSource {
    /// A top-level JSON member, e.g. Stripe's `id`.
    #[must_use]
    pub fn json_field(key: &'static str) -> Self {
        EventIdSource::JsonField(vec![Cow::Borrowed(key)])
    }
}

/// How a configured secret becomes key bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum KeyFormat {
    /// The secret's bytes are the key, whatever they look like (Stripe uses its whole
    /// `whsec_…` string this way).
    #[default]
    Raw,
    /// Base64 after an optional prefix (Standard Webhooks and Svix: `whsec_<base64>`).
    Base64 {
        /// The prefix to strip when present.
        prefix: Option<Cow<'static, str>>,
    },
}

/// A complete description of how one provider signs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub(crate) name: Arc<str>,
    pub(crate) algorithm: Algorithm,
    pub(crate) encoding: Encoding,
    pub(crate) signature_header: Vec<HeaderName>,
    pub(crate) syntax: SignatureSyntax,
    pub(crate) timestamp: Option<TimestampSpec>,
    pub(crate) content: Vec<Part>,
    pub(crate) key_format: KeyFormat,
    pub(crate) tolerance: Tolerance,
    pub(crate) event_id: EventIdSource,
    pub(crate) body_limit: usize,
    pub(crate) handshakes: Vec<Handshake>,
}

/// How many [`Part::Header`] parts a scheme may have.
pub(crate) const MAX_HEADER_PARTS: usize = 4;

impl Scheme {
    /// Starts a scheme: HMAC-SHA256, hex, raw key, body-only content, no timestamp, no event
    /// id, default tolerance and body limit. A signature header is required.
    pub fn builder(name: impl Into<Arc<str>>) -> SchemeBuilder {
        SchemeBuilder {
            scheme: Scheme {
                name: name.into(),
                algorithm: Algorithm::HmacSha256,
                encoding: Encoding::Hex,
                signature_header: Vec::new(),
                syntax: SignatureSyntax::single(""),
                timestamp: None,
                content: vec![Part::Body],
                key_format: KeyFormat::Raw,
                tolerance: Tolerance::default(),
                event_id: EventIdSource::None,
                body_limit: DEFAULT_BODY_LIMIT,
                handshakes: Vec::new(),
            },
        }
    }

    /// The generic `hmac` preset: an HMAC of the raw body in `header`, after `prefix`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] when `header` is not a valid header name.
    pub fn generic_hmac(
        header: &str,
        prefix: &str,
        algorithm: Algorithm,
        encoding: Encoding,
    ) -> Result<Scheme, ConfigError> {
        let name = parse_header_name(header)?;
        Scheme::builder("hmac")
            .algorithm(algorithm)
            .encoding(encoding)
            .signature_header(name, SignatureSyntax::single(prefix.to_owned()))
            .build()
    }

    /// The scheme's name (the preset name for presets).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The signature encoding.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The signature header names, preferred first.
    #[must_use]
    pub fn signature_header(&self) -> &[HeaderName] {
        &self.signature_header
    }

    /// The signature header syntax.
    #[must_use]
    pub fn syntax(&self) -> &SignatureSyntax {
        &self.syntax
    }

    /// The signed timestamp, if the scheme has one.
    #[must_use]
    pub fn timestamp(&self) -> Option<&TimestampSpec> {
        self.timestamp.as_ref()
    }

    /// The signed content, in order.
    #[must_use]
    pub fn content(&self) -> &[Part] {
        &self.content
    }

    /// How secrets are decoded.
    #[must_use]
    pub fn key_format(&self) -> &KeyFormat {
        &self.key_format
    }

    /// The default tolerance.
    #[must_use]
    pub fn tolerance(&self) -> Tolerance {
        self.tolerance
    }

    /// Where the event id lives.
    #[must_use]
    pub fn event_id(&self) -> &EventIdSource {
        &self.event_id
    }

    /// The default body limit in bytes.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The handshakes the provider performs (answered only when the layer opts in).
    #[must_use]
    pub fn handshakes(&self) -> &[Handshake] {
        &self.handshakes
    }

    /// Every header name the scheme reads (signature, timestamp, signed headers, event id),
    /// deduplicated, in a stable order. Useful for marking headers sensitive or for docs.
    #[must_use]
    pub fn header_names(&self) -> Vec<HeaderName> {
        let mut out: Vec<HeaderName> = Vec::new();
        let mut add = |names: &[HeaderName]| {
            for n in names {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        };
        add(&self.signature_header);
        if let Some(TimestampSpec {
            source: TimestampSource::Header(names),
            ..
        }) = &self.timestamp
        {
            add(names);
        }
        for part in &self.content {
            if let Part::Header(names) = part {
                add(names);
            }
        }
        if let EventIdSource::Header(names) = &self.event_id {
            add(names);
        }
        out
    }

    /// Whether the signed content includes the timestamp or the scheme checks one.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::InvalidScheme("the scheme needs a name"));
        }
        if self.signature_header.is_empty() {
            return Err(ConfigError::InvalidScheme("no signature header"));
        }
        if self.content.is_empty() {
            return Err(ConfigError::InvalidScheme("the signed content is empty"));
        }
        if self.algorithm.output_len() > MAX_TAG_LEN {
            return Err(ConfigError::InvalidScheme("signature too long"));
        }
        let header_parts = self
            .content
            .iter()
            .filter(|p| matches!(p, Part::Header(_)))
            .count();
        if header_parts > MAX_HEADER_PARTS {
            return Err(ConfigError::InvalidScheme(
                "at most 4 header values in the signed content",
            ));
        }
        if self
            .content
            .iter()
            .any(|p| matches!(p, Part::Header(names) if names.is_empty()))
        {
            return Err(ConfigError::InvalidScheme(
                "a header part needs at least one name",
            ));
        }
        let signs_timestamp = self.content.contains(&Part::Timestamp);
        match (&self.timestamp, signs_timestamp) {
            (None, true) => {
                return Err(ConfigError::InvalidScheme(
                    "the content signs a timestamp but the scheme has none",
                ));
            }
            (Some(_), false) => {
                // An unsigned timestamp protects nothing: an attacker could refresh it.
                return Err(ConfigError::InvalidScheme(
                    "the timestamp must be part of the signed content",
                ));
            }
            _ => {}
        }
        match (&self.timestamp, self.syntax.timestamp_key()) {
            (
                Some(TimestampSpec {
                    source: TimestampSource::SignatureHeader,
                    ..
                }),
                None,
            ) => {
                return Err(ConfigError::InvalidScheme(
                    "timestamp in the signature header needs a key-value syntax with a timestamp key",
                ));
            }
            (
                Some(TimestampSpec {
                    source: TimestampSource::Header(names),
                    ..
                }),
                _,
            ) if names.is_empty() => {
                return Err(ConfigError::InvalidScheme(
                    "the timestamp header needs a name",
                ));
            }
            _ => {}
        }
        match &self.syntax {
            SignatureSyntax::VersionedList { version } if version.is_empty() => {
                return Err(ConfigError::InvalidScheme("empty signature version"));
            }
            SignatureSyntax::KeyValue {
                signature_key,
                separator,
                timestamp_key,
            } => {
                if signature_key.is_empty() || *separator == '=' {
                    return Err(ConfigError::InvalidScheme(
                        "key-value syntax needs a signature key and a separator other than `=`",
                    ));
                }
                if timestamp_key.as_deref() == Some(signature_key.as_ref()) {
                    return Err(ConfigError::InvalidScheme(
                        "timestamp and signature keys must differ",
                    ));
                }
            }
            _ => {}
        }
        if let EventIdSource::Header(names) = &self.event_id
            && names.is_empty()
        {
            return Err(ConfigError::InvalidScheme(
                "the event id header needs a name",
            ));
        }
        if let EventIdSource::JsonField(path) = &self.event_id
            && path.is_empty()
        {
            return Err(ConfigError::InvalidScheme(
                "the event id JSON path is empty",
            ));
        }
        for handshake in &self.handshakes {
            handshake.validate()?;
        }
        Ok(())
    }
}

/// Builds a [`Scheme`]; see [`Scheme::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemeBuilder {
    scheme: Scheme,
}

impl SchemeBuilder {
    /// The signature algorithm (default HMAC-SHA256).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.scheme.algorithm = algorithm;
        self
    }

    /// The signature encoding (default hex).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.scheme.encoding = encoding;
        self
    }

    /// The signature header and its syntax.
    pub fn signature_header(mut self, name: impl IntoHeaderName, syntax: SignatureSyntax) -> Self {
        self.scheme.signature_header = vec![name.into_header_name()];
        self.scheme.syntax = syntax;
        self
    }

    /// A fallback name for the signature header, tried when the earlier ones are absent.
    pub fn signature_header_fallback(mut self, name: impl IntoHeaderName) -> Self {
        self.scheme.signature_header.push(name.into_header_name());
        self
    }

    /// The signed timestamp.
    pub fn timestamp(mut self, spec: TimestampSpec) -> Self {
        self.scheme.timestamp = Some(spec);
        self
    }

    /// The signed content, in order (default: the body alone).
    pub fn content(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.scheme.content = parts.into_iter().collect();
        self
    }

    /// How secrets are decoded (default raw bytes).
    pub fn key_format(mut self, format: KeyFormat) -> Self {
        self.scheme.key_format = format;
        self
    }

    /// The default tolerance (300 s each way).
    pub fn tolerance(mut self, tolerance: Tolerance) -> Self {
        self.scheme.tolerance = tolerance;
        self
    }

    /// Where the event id lives (default: nowhere).
    pub fn event_id(mut self, source: EventIdSource) -> Self {
        self.scheme.event_id = source;
        self
    }

    /// The default body limit (1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.scheme.body_limit = bytes;
        self
    }

    /// Adds a handshake the provider performs (see [`Handshake`]).
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        self.scheme.handshakes.push(handshake);
        self
    }

    /// Checks the scheme for consistency.
    ///
    /// # Errors
    /// [`ConfigError::InvalidScheme`] naming the inconsistency, e.g. a timestamp that is not
    /// part of the signed content.
    pub fn build(self) -> Result<Scheme, ConfigError> {
        self.scheme.validate()?;
        Ok(self.scheme)
    }

    /// For presets: validated by the preset tests and again when a verifier is built.
    pub(crate) fn unchecked(self) -> Scheme {
        self.scheme
    }
}

/// Accepts `HeaderName` or a `'static` string for builder methods.
pub trait IntoHeaderName {
    /// Converts. Static strings must be valid lowercase header names.
    fn into_header_name(self) -> HeaderName;
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> HeaderName {
        self
    }
}

impl IntoHeaderName for &'static str {
    /// # Panics
    /// When the string is not a valid lowercase header name, exactly like
    /// [`HeaderName::from_static`] (a programming error in a static scheme definition; use
    /// [`HeaderName::from_bytes`] for run-time input).
    fn into_header_name(self) -> HeaderName {
        HeaderName::from_static(self)
    }
}

/// Parses a header name given at run time (case-insensitive).
pub(crate) fn parse_header_name(s: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(s.trim().as_bytes()).map_err(|_| ConfigError::InvalidValue {
        what: "header name",
        value: s.to_owned(),
    })
}
