//! Streaming a scheme's signed content into a MAC (or another sink), part by part, so the
//! content is never concatenated or re-encoded.

use std::borrow::Cow;

use http::HeaderName;

use crate::algorithm::Sink;
use crate::form::FormParams;
use crate::url::UrlPart;

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
    /// The request method, e.g. `POST` ([`Delivery::method`](crate::Delivery::method);
    /// `POST` when not given — webhooks are POSTs).
    Method,
    /// The public URL the provider sent the request to, including the query string
    /// ([`Delivery::url`](crate::Delivery::url)). The URL cannot be derived from the
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
    /// The JWS signing input: the `<header>.<payload>` segments of the compact JWS in the
    /// signature header, as received. Only with
    /// [`SignatureSyntax::Jws`](crate::SignatureSyntax::Jws), as the only part.
    JwsSigningInput,
}

impl Part {
    /// A literal separator or prefix.
    #[must_use]
    pub fn literal(bytes: &'static str) -> Self {
        Part::Literal(Cow::Borrowed(bytes.as_bytes()))
    }

    /// The value of header `name`.
    #[must_use]
    pub fn header(name: HeaderName) -> Self {
        Part::Header(vec![name])
    }

    /// The JSON member at `path` (object keys from the top level).
    #[must_use]
    pub fn json_field(path: &[&'static str]) -> Self {
        Part::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect())
    }
}

/// How many [`Part::Header`] parts a scheme may have.
pub(crate) const MAX_HEADER_PARTS: usize = 4;
/// How many [`Part::JsonField`] parts a scheme may have.
pub(crate) const MAX_JSON_PARTS: usize = 4;

/// The values of the content parts, for a received delivery or one being signed. Every
/// value is borrowed; building one allocates nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Inputs<'a> {
    pub(crate) body: &'a [u8],
    /// The timestamp text exactly as sent.
    pub(crate) timestamp: &'a [u8],
    /// The values of the [`Part::Header`] parts, in content order.
    pub(crate) headers: &'a [&'a [u8]],
    /// The values of the [`Part::JsonField`] parts, in content order.
    pub(crate) json: &'a [&'a [u8]],
    pub(crate) method: &'a [u8],
    /// The URL, already written the way the scheme signs it.
    pub(crate) url: &'a [u8],
    /// The canonical form-parameter string.
    pub(crate) form: &'a [u8],
    /// The JWS signing input.
    pub(crate) jws: &'a [u8],
}

pub(crate) fn feed(content: &[Part], src: &Inputs<'_>, sink: &mut dyn Sink) {
    let mut headers = src.headers.iter();
    let mut json = src.json.iter();
    for part in content {
        match part {
            Part::Body => sink.update(src.body),
            Part::Timestamp => sink.update(src.timestamp),
            Part::Header(_) => sink.update(headers.next().copied().unwrap_or(&[])),
            Part::Literal(bytes) => sink.update(bytes),
            Part::Method => sink.update(src.method),
            Part::Url(_) => sink.update(src.url),
            Part::FormParams(_) => sink.update(src.form),
            Part::JsonField(_) => sink.update(json.next().copied().unwrap_or(&[])),
            Part::JwsSigningInput => sink.update(src.jws),
        }
    }
}
