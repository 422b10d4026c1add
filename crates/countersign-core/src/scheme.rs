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
use crate::event_type::EventTypeSource;
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

/// One piece of the signed content, fed to the MAC (or the key-pair verifier) in order.
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
    /// The request method, e.g. `POST` ([`Delivery::with_method`](crate::Delivery::with_method);
    /// `POST` when not given — webhooks are POSTs).
    Method,
    /// The public URL the provider sent the request to, including the query string
    /// ([`Delivery::with_url`](crate::Delivery::with_url)). The URL cannot be derived from the
    /// request alone behind proxies, so a delivery without one is rejected with
    /// [`ErrorKind::MissingUrl`](crate::ErrorKind::MissingUrl).
    Url(UrlPart),
    /// The body's `application/x-www-form-urlencoded` parameters, decoded, sorted by name
    /// then value with exact duplicates removed, and written as `name` followed by `value`
    /// for each pair, without separators (Twilio).
    FormParams(FormParams),
    /// A string (or integer) member of the JSON body, found by following object keys from
    /// the top level (Mailgun's `signature.token`). Absent: `malformed_body`.
    JsonField(Vec<Cow<'static, str>>),
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

    /// The JSON member at `path` (object keys from the top level).
    #[must_use]
    pub fn json_field(path: &[&'static str]) -> Self {
        Part::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect())
    }
}

/// How a [`Part::Url`] is written into the signed content.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UrlPart {
    /// Also accept the URL with its scheme's default port (`:443`/`:80`) added when absent,
    /// and with any port removed — Twilio signs either form, and its SDKs try both.
    pub either_default_port: bool,
    /// ASCII characters whose percent-encodings (`%3A`, either case) are decoded before
    /// signing — HubSpot v3 decodes `:/?@!$'()*,;` in the request URI.
    pub decode: Cow<'static, [u8]>,
}

impl UrlPart {
    /// The URL exactly as given.
    #[must_use]
    pub fn exact() -> Self {
        UrlPart::default()
    }

    /// The URL as given, with the default port, and without a port (Twilio).
    #[must_use]
    pub fn either_default_port() -> Self {
        UrlPart {
            either_default_port: true,
            ..UrlPart::default()
        }
    }

    /// Decodes the percent-encodings of these ASCII characters first.
    #[must_use]
    pub fn decoding(mut self, chars: &'static [u8]) -> Self {
        self.decode = Cow::Borrowed(chars);
        self
    }
}

/// How a [`Part::FormParams`] handles bodies that are not form data.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FormParams {
    /// A query parameter of the URL that, when present, says the body is not form data but
    /// is covered by its SHA-256 (lowercase hex) carried in that parameter: the part then
    /// contributes nothing and the body's digest must match (Twilio's `bodySHA256` for JSON
    /// bodies).
    pub body_hash_param: Option<Cow<'static, str>>,
}

impl FormParams {
    /// Sorted form parameters, no body-hash variant.
    #[must_use]
    pub fn sorted() -> Self {
        FormParams::default()
    }

    /// Sorted form parameters, or the body's SHA-256 in query parameter `name`.
    #[must_use]
    pub fn or_body_hash_in(name: &'static str) -> Self {
        FormParams {
            body_hash_param: Some(Cow::Borrowed(name)),
        }
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
    /// A string or integer member of the JSON body (Linear's `webhookTimestamp`, Mailgun's
    /// `signature.timestamp`). Checked after the signature, since it needs the body.
    JsonField(Vec<Cow<'static, str>>),
}

/// The unit of a signed timestamp. Numbers are ASCII digits only, at most 19 of them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
    /// An RFC 3339 date-time such as `2019-11-16T10:11:12.634234626Z` (Twitch): a `T` (or
    /// `t`/space) separator, an optional fraction of up to 18 digits (nanoseconds are kept),
    /// `Z` or a `±hh:mm` offset; not before 1970. Compared with nanosecond precision.
    Rfc3339,
}

impl TimestampUnit {
    /// The name used in scheme files: `seconds`, `milliseconds`, `rfc3339`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TimestampUnit::Seconds => "seconds",
            TimestampUnit::Milliseconds => "milliseconds",
            TimestampUnit::Rfc3339 => "rfc3339",
        }
    }
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

    /// A timestamp inside the JSON body, at `path`.
    #[must_use]
    pub fn json_field(path: &[&'static str], unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect()),
            unit,
        }
    }
}

/// Where the signature itself travels.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignatureSource {
    /// A header (first of the names present), parsed with the scheme's [`SignatureSyntax`].
    Header(Vec<HeaderName>),
    /// A string member of the JSON body (Mailgun's `signature.signature`); the syntax must be
    /// [`SignatureSyntax::Single`].
    JsonField(Vec<Cow<'static, str>>),
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

    /// A nested JSON member, e.g. PagerDuty's `event.id`.
    #[must_use]
    pub fn json_path(path: &[&'static str]) -> Self {
        EventIdSource::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect())
    }

    /// Header `name`, falling back to the others in order.
    #[must_use]
    pub fn headers(names: &[&'static str]) -> Self {
        EventIdSource::Header(names.iter().map(|n| HeaderName::from_static(n)).collect())
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
    /// Base64 after an optional prefix (Standard Webhooks and Svix: `whsec_<base64>`;
    /// Standard Webhooks public keys: `whpk_<base64>`).
    Base64 {
        /// The prefix to strip when present.
        prefix: Option<Cow<'static, str>>,
    },
    /// Hexadecimal, either case (Discord public keys).
    Hex,
}

impl KeyFormat {
    /// The prefix that marks secrets of this format, if any.
    pub(crate) fn prefix(&self) -> Option<&str> {
        match self {
            KeyFormat::Base64 { prefix } => prefix.as_deref(),
            _ => None,
        }
    }
}

/// Algorithms and encodings a sender lets its users choose (Convoy), so the preset can be
/// adjusted with [`Scheme::with_algorithm`] and [`Scheme::with_encoding`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SenderChoices {
    /// Algorithms the sender offers.
    pub algorithms: Cow<'static, [Algorithm]>,
    /// Encodings the sender offers.
    pub encodings: Cow<'static, [Encoding]>,
}

/// A complete description of how one provider signs.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub(crate) name: Arc<str>,
    pub(crate) algorithm: Algorithm,
    pub(crate) encoding: Encoding,
    pub(crate) signature: SignatureSource,
    pub(crate) syntax: SignatureSyntax,
    pub(crate) timestamp: Option<TimestampSpec>,
    pub(crate) content: Vec<Part>,
    pub(crate) key_format: KeyFormat,
    pub(crate) tolerance: Tolerance,
    pub(crate) event_id: EventIdSource,
    pub(crate) event_type: EventTypeSource,
    pub(crate) body_limit: usize,
    pub(crate) handshakes: Vec<Handshake>,
    pub(crate) alternatives: Vec<Scheme>,
    pub(crate) choices: Option<SenderChoices>,
}

/// How many [`Part::Header`] parts a scheme may have.
pub(crate) const MAX_HEADER_PARTS: usize = 4;
/// How many [`Part::JsonField`] parts a scheme may have.
pub(crate) const MAX_JSON_PARTS: usize = 4;

impl Scheme {
    /// Starts a scheme: HMAC-SHA256, hex, raw key, body-only content, no timestamp, no event
    /// id, default tolerance and body limit. A signature header is required.
    pub fn builder(name: impl Into<Arc<str>>) -> SchemeBuilder {
        SchemeBuilder {
            scheme: Scheme {
                name: name.into(),
                algorithm: Algorithm::HmacSha256,
                encoding: Encoding::Hex,
                signature: SignatureSource::Header(Vec::new()),
                syntax: SignatureSyntax::single(""),
                timestamp: None,
                content: vec![Part::Body],
                key_format: KeyFormat::Raw,
                tolerance: Tolerance::default(),
                event_id: EventIdSource::None,
                event_type: EventTypeSource::none(),
                body_limit: DEFAULT_BODY_LIMIT,
                handshakes: Vec::new(),
                alternatives: Vec::new(),
                choices: None,
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

    /// Where the signature travels.
    #[must_use]
    pub fn signature_source(&self) -> &SignatureSource {
        &self.signature
    }

    /// The signature header names, preferred first (empty when the signature is in the body).
    #[must_use]
    pub fn signature_header(&self) -> &[HeaderName] {
        match &self.signature {
            SignatureSource::Header(names) => names,
            SignatureSource::JsonField(_) => &[],
        }
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

    /// Where the event type lives (shared by the alternatives).
    #[must_use]
    pub fn event_type(&self) -> &EventTypeSource {
        &self.event_type
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

    /// Other ways the same provider signs, each chosen by the prefix of the configured secret
    /// (see [`SchemeBuilder::alternative`]): Standard Webhooks `v1a` for `whpk_` keys, GitLab's
    /// signing token for `whsec_` secrets.
    #[must_use]
    pub fn alternatives(&self) -> &[Scheme] {
        &self.alternatives
    }

    /// The algorithms and encodings the sender lets its users choose, if any.
    #[must_use]
    pub fn sender_choices(&self) -> Option<&SenderChoices> {
        self.choices.as_ref()
    }

    /// Whether verifying needs the request URL ([`Delivery::with_url`](crate::Delivery::with_url)),
    /// in this scheme or one of its alternatives.
    #[must_use]
    pub fn needs_url(&self) -> bool {
        self.content.iter().any(|p| matches!(p, Part::Url(_)))
            || self.alternatives.iter().any(Scheme::needs_url)
    }

    /// Whether the signed content includes the request method.
    #[must_use]
    pub fn needs_method(&self) -> bool {
        self.content.contains(&Part::Method) || self.alternatives.iter().any(Scheme::needs_method)
    }

    /// This scheme with another algorithm, for senders that let their users choose (Convoy).
    ///
    /// # Errors
    /// [`ConfigError::UnsupportedOption`] when the sender offers no choice;
    /// [`ConfigError::InvalidValue`] when it does not offer `algorithm`.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Result<Scheme, ConfigError> {
        let choices = self
            .choices
            .as_ref()
            .ok_or(ConfigError::UnsupportedOption {
                option: "algorithm",
                preset: self.name.to_string(),
            })?;
        if !choices.algorithms.contains(&algorithm) {
            return Err(ConfigError::InvalidValue {
                what: "algorithm for this preset",
                value: algorithm.as_str().to_owned(),
            });
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// This scheme with another encoding, for senders that let their users choose (Convoy).
    ///
    /// # Errors
    /// As [`Scheme::with_algorithm`].
    pub fn with_encoding(mut self, encoding: Encoding) -> Result<Scheme, ConfigError> {
        let choices = self
            .choices
            .as_ref()
            .ok_or(ConfigError::UnsupportedOption {
                option: "encoding",
                preset: self.name.to_string(),
            })?;
        if !choices.encodings.contains(&encoding) {
            return Err(ConfigError::InvalidValue {
                what: "encoding for this preset",
                value: encoding.as_str().to_owned(),
            });
        }
        self.encoding = encoding;
        Ok(self)
    }

    /// Every header name the scheme reads (signature, timestamp, signed headers, event id),
    /// its alternatives' included, deduplicated, in a stable order. Useful for marking headers
    /// sensitive or for docs.
    #[must_use]
    pub fn header_names(&self) -> Vec<HeaderName> {
        let mut out: Vec<HeaderName> = Vec::new();
        self.collect_header_names(&mut out);
        out
    }

    fn collect_header_names(&self, out: &mut Vec<HeaderName>) {
        let mut add = |names: &[HeaderName]| {
            for n in names {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        };
        add(self.signature_header());
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
        for alt in &self.alternatives {
            alt.collect_header_names(out);
        }
    }

    /// Checks the scheme (and its alternatives) for consistency.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_one()?;
        for alt in &self.alternatives {
            if !alt.alternatives.is_empty() {
                return Err(ConfigError::InvalidScheme(
                    "an alternative cannot have alternatives",
                ));
            }
            if alt.key_format.prefix().is_none_or(str::is_empty) {
                return Err(ConfigError::InvalidScheme(
                    "an alternative needs a key format with a prefix that selects it",
                ));
            }
            alt.validate_one()?;
        }
        Ok(())
    }

    fn validate_one(&self) -> Result<(), ConfigError> {
        let invalid = |what| Err(ConfigError::InvalidScheme(what));
        if self.name.is_empty() {
            return invalid("the scheme needs a name");
        }
        match &self.signature {
            SignatureSource::Header(names) if names.is_empty() => {
                return invalid("no signature header");
            }
            SignatureSource::JsonField(path) => {
                if path.is_empty() {
                    return invalid("the signature's JSON path is empty");
                }
                if !matches!(self.syntax, SignatureSyntax::Single { .. }) {
                    return invalid("a signature in the body needs the single syntax");
                }
            }
            SignatureSource::Header(_) => {}
        }
        if self.algorithm == Algorithm::Token {
            if !self.content.is_empty() || self.timestamp.is_some() {
                return invalid("a token scheme signs nothing: no content, no timestamp");
            }
            if !matches!(self.syntax, SignatureSyntax::Single { .. }) {
                return invalid("a token scheme needs the single syntax");
            }
        } else if self.content.is_empty() {
            return invalid("the signed content is empty");
        }
        if self.algorithm.output_len() > crate::signature::MAX_SIGNATURE_LEN
            || (self.algorithm.is_hmac() && self.algorithm.output_len() > MAX_TAG_LEN)
        {
            return invalid("signature too long");
        }
        let count = |f: fn(&Part) -> bool| self.content.iter().filter(|p| f(p)).count();
        if count(|p| matches!(p, Part::Header(_))) > MAX_HEADER_PARTS {
            return invalid("at most 4 header values in the signed content");
        }
        if count(|p| matches!(p, Part::JsonField(_))) > MAX_JSON_PARTS {
            return invalid("at most 4 JSON fields in the signed content");
        }
        if count(|p| matches!(p, Part::FormParams(_))) > 1 {
            return invalid("the form parameters can be signed once");
        }
        for part in &self.content {
            match part {
                Part::Header(names) if names.is_empty() => {
                    return invalid("a header part needs at least one name");
                }
                Part::JsonField(path) if path.is_empty() => {
                    return invalid("a JSON part needs a path");
                }
                Part::FormParams(FormParams {
                    body_hash_param: Some(p),
                }) if p.is_empty() => return invalid("empty body-hash query parameter"),
                _ => {}
            }
        }
        let urls: Vec<&UrlPart> = self
            .content
            .iter()
            .filter_map(|p| match p {
                Part::Url(u) => Some(u),
                _ => None,
            })
            .collect();
        if urls.windows(2).any(|w| w.first() != w.get(1)) {
            return invalid("every URL part must be written the same way");
        }
        if urls.iter().any(|u| !u.decode.iter().all(u8::is_ascii)) {
            return invalid("URL decoding applies to ASCII characters only");
        }
        let signs_timestamp = self.content.contains(&Part::Timestamp);
        let body_covers_timestamp = matches!(
            &self.timestamp,
            Some(TimestampSpec {
                source: TimestampSource::JsonField(_),
                ..
            })
        ) && self.content.contains(&Part::Body);
        match (&self.timestamp, signs_timestamp || body_covers_timestamp) {
            (None, true) => {
                return invalid("the content signs a timestamp but the scheme has none");
            }
            (Some(_), false) => {
                // An unsigned timestamp protects nothing: an attacker could refresh it.
                return invalid("the timestamp must be part of the signed content");
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
                return invalid(
                    "timestamp in the signature header needs a key-value syntax with a timestamp key",
                );
            }
            (
                Some(TimestampSpec {
                    source: TimestampSource::SignatureHeader,
                    ..
                }),
                Some(_),
            ) if matches!(self.signature, SignatureSource::JsonField(_)) => {
                return invalid("the timestamp cannot be in a signature that is in the body");
            }
            (
                Some(TimestampSpec {
                    source: TimestampSource::Header(names),
                    ..
                }),
                _,
            ) if names.is_empty() => {
                return invalid("the timestamp header needs a name");
            }
            (
                Some(TimestampSpec {
                    source: TimestampSource::JsonField(path),
                    ..
                }),
                _,
            ) if path.is_empty() => {
                return invalid("the timestamp's JSON path is empty");
            }
            _ => {}
        }
        match &self.syntax {
            SignatureSyntax::VersionedList { version } if version.is_empty() => {
                return invalid("empty signature version");
            }
            SignatureSyntax::KeyValue {
                signature_key,
                separator,
                timestamp_key,
            } => {
                if signature_key.is_empty() || *separator == '=' {
                    return invalid(
                        "key-value syntax needs a signature key and a separator other than `=`",
                    );
                }
                if timestamp_key.as_deref() == Some(signature_key.as_ref()) {
                    return invalid("timestamp and signature keys must differ");
                }
            }
            _ => {}
        }
        if let EventIdSource::Header(names) = &self.event_id
            && names.is_empty()
        {
            return invalid("the event id header needs a name");
        }
        if let EventIdSource::JsonField(path) = &self.event_id
            && path.is_empty()
        {
            return invalid("the event id JSON path is empty");
        }
        self.event_type.validate()?;
        if let Some(choices) = &self.choices
            && (!choices.algorithms.contains(&self.algorithm)
                || !choices.encodings.contains(&self.encoding))
        {
            return invalid("the sender's choices must include the default algorithm and encoding");
        }
        for handshake in &self.handshakes {
            handshake.validate(self.algorithm)?;
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
        self.scheme.signature = SignatureSource::Header(vec![name.into_header_name()]);
        self.scheme.syntax = syntax;
        self
    }

    /// A fallback name for the signature header, tried when the earlier ones are absent.
    pub fn signature_header_fallback(mut self, name: impl IntoHeaderName) -> Self {
        match &mut self.scheme.signature {
            SignatureSource::Header(names) => names.push(name.into_header_name()),
            other @ SignatureSource::JsonField(_) => {
                *other = SignatureSource::Header(vec![name.into_header_name()]);
            }
        }
        self
    }

    /// The signature is a string member of the JSON body at `path` (single syntax, with
    /// `prefix`).
    pub fn signature_json_field(mut self, path: &[&'static str], prefix: &'static str) -> Self {
        self.scheme.signature =
            SignatureSource::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect());
        self.scheme.syntax = SignatureSyntax::single(prefix);
        self
    }

    /// Where the signature travels, with its syntax.
    pub fn signature_source(mut self, source: SignatureSource, syntax: SignatureSyntax) -> Self {
        self.scheme.signature = source;
        self.scheme.syntax = syntax;
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

    /// Where the event type lives (default: nowhere). Alternatives share the scheme's.
    pub fn event_type(mut self, source: EventTypeSource) -> Self {
        self.scheme.event_type = source;
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

    /// Another way the same provider signs, selected for every configured secret that starts
    /// with the alternative's key prefix ([`KeyFormat::Base64`]'s `prefix`, which it must
    /// have). Secrets matching no alternative's prefix belong to this scheme. It takes this
    /// scheme's name, and a delivery is accepted when any mode that has secrets accepts it.
    pub fn alternative(mut self, mut alternative: Scheme) -> Self {
        alternative.name = Arc::clone(&self.scheme.name);
        self.scheme.alternatives.push(alternative);
        self
    }

    /// The algorithms and encodings the sender lets its users choose.
    pub fn sender_choices(
        mut self,
        algorithms: &'static [Algorithm],
        encodings: &'static [Encoding],
    ) -> Self {
        self.scheme.choices = Some(SenderChoices {
            algorithms: Cow::Borrowed(algorithms),
            encodings: Cow::Borrowed(encodings),
        });
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
