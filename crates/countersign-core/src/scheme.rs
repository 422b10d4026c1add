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

use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::error::ConfigError;
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::header::parse_header_name;
use crate::secret::Secret;

// The vocabulary a scheme is written in. Each type lives beside its behaviour; they are
// re-exported here so that the presets (and code that builds schemes) import one module.
pub(crate) use crate::content::Part;
pub(crate) use crate::event_id::EventIdSource;
pub(crate) use crate::form::FormParams;
pub(crate) use crate::header::IntoHeaderName;
pub(crate) use crate::secret::KeyFormat;
pub(crate) use crate::signature::{SignatureSource, SignatureSyntax};
pub(crate) use crate::timestamp::{TimestampSource, TimestampSpec, TimestampUnit, Tolerance};
pub(crate) use crate::url::UrlPart;

mod validate;

/// Default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

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
            error: None,
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
            _ => &[],
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

    /// Whether verifying needs the request URL ([`Delivery::url`](crate::Delivery::url)),
    /// in this scheme or one of its alternatives.
    #[must_use]
    pub fn needs_url(&self) -> bool {
        self.content.iter().any(|p| matches!(p, Part::Url(_)))
            || matches!(self.signature, SignatureSource::QueryParam(_))
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
        validate::scheme(self)
    }
}

/// Builds a [`Scheme`]; see [`Scheme::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemeBuilder {
    scheme: Scheme,
    /// The first invalid argument, reported by `build`.
    error: Option<ConfigError>,
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
        if let Some(name) = self.keep(name.into_header_name()) {
            self.scheme.signature = SignatureSource::Header(vec![name]);
        }
        self.scheme.syntax = syntax;
        self
    }

    /// A fallback name for the signature header, tried when the earlier ones are absent.
    pub fn signature_header_fallback(mut self, name: impl IntoHeaderName) -> Self {
        let Some(name) = self.keep(name.into_header_name()) else {
            return self;
        };
        match &mut self.scheme.signature {
            SignatureSource::Header(names) => names.push(name),
            other => {
                *other = SignatureSource::Header(vec![name]);
            }
        }
        self
    }

    /// The value, or `None` after remembering the first error for [`build`](Self::build).
    fn keep<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
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
    /// [`ConfigError::InvalidValue`] for an invalid header name given to a builder method;
    /// [`ConfigError::InvalidScheme`] naming the inconsistency, e.g. a timestamp that is not
    /// part of the signed content.
    pub fn build(self) -> Result<Scheme, ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        self.scheme.validate()?;
        Ok(self.scheme)
    }

    /// For presets: validated by the preset tests and again when a verifier is built.
    pub(crate) fn unchecked(self) -> Scheme {
        self.scheme
    }
}

/// The scheme itself (without its alternatives) followed by its alternatives.
pub(crate) fn modes_of(scheme: &Scheme) -> Vec<Scheme> {
    let mut primary = scheme.clone();
    let alternatives = std::mem::take(&mut primary.alternatives);
    std::iter::once(primary).chain(alternatives).collect()
}

/// The mode a secret belongs to: the first whose key prefix it starts with, else the first.
pub(crate) fn mode_for(modes: &[Scheme], secret: &Secret) -> usize {
    modes
        .iter()
        .position(|m| {
            m.key_format
                .prefix()
                .is_some_and(|p| !p.is_empty() && secret.expose().starts_with(p.as_bytes()))
        })
        .unwrap_or(0)
}
