//! Parsing signature headers into decoded candidate signatures, without allocating.
//!
//! The header value is treated as bytes (it need not be UTF-8). Entries of unsupported
//! versions are skipped; supported entries are decoded into fixed inline buffers so that the
//! comparison later runs on bytes, in constant time.

use std::borrow::Cow;

use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::error::VerifyError;
use crate::jws::{self, JwsClaims, Token};
use crate::keys;

/// Where the signature itself travels.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignatureSource {
    /// A header (first of the names present), parsed with the scheme's [`SignatureSyntax`].
    Header(Vec<HeaderName>),
    /// A string member of the JSON body (Mailgun's `signature.signature`); the syntax must be
    /// [`SignatureSyntax::Single`].
    JsonField(Vec<Cow<'static, str>>),
    /// A query parameter of the request URL (an API key in `?api_key=…`); needs the URL
    /// ([`Delivery::url`](crate::Delivery::url)), the path and query being enough. The value
    /// is percent-decoded; the syntax must be [`SignatureSyntax::Single`].
    QueryParam(Cow<'static, str>),
    /// The same string member in every element of a JSON array (Microsoft Graph's
    /// `clientState` in each notification of `value`); elements that disagree, or lack it,
    /// fail. The syntax must be [`SignatureSyntax::Single`]; meant for tokens.
    JsonArrayField {
        /// Object keys to the array, e.g. `["value"]`.
        array: Vec<Cow<'static, str>>,
        /// Object keys inside each element, e.g. `["clientState"]`.
        field: Vec<Cow<'static, str>>,
    },
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
    /// A timestamp followed by bare signatures, all separated by one character (Recurly
    /// `1659641851000,<hex>,<hex>`). The first entry is the timestamp (use
    /// [`TimestampSource::SignatureHeader`](crate::TimestampSource::SignatureHeader)); every
    /// further entry is a signature.
    TimestampFirst {
        /// The byte between entries, e.g. `,`.
        separator: char,
    },
    /// A compact JWS (`<header>.<payload>.<signature>`, base64url) signed with the scheme's
    /// algorithm, which the token's `alg` must name exactly (Netlify). The signed content is
    /// [`Part::JwsSigningInput`](crate::Part::JwsSigningInput); the payload's claims bind the
    /// body (see [`JwsClaims`]).
    Jws(JwsClaims),
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

    /// [`SignatureSyntax::TimestampFirst`]: `<timestamp><sep><sig>[<sep><sig>…]`.
    #[must_use]
    pub fn timestamp_first(separator: char) -> Self {
        SignatureSyntax::TimestampFirst { separator }
    }

    /// [`SignatureSyntax::Jws`] with these claims.
    #[must_use]
    pub fn jws(claims: JwsClaims) -> Self {
        SignatureSyntax::Jws(claims)
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

/// Supported entries accepted in one header; more is a malformed header.
pub(crate) const MAX_CANDIDATES: usize = 16;
/// Largest decoded signature kept (ECDSA DER signatures reach 72 bytes).
pub(crate) const MAX_SIGNATURE_LEN: usize = 80;
/// Entries of any version scanned in one header; more is a malformed header.
const MAX_ENTRIES: usize = 64;

/// How a candidate is decoded: its encoding and plausible decoded lengths, or (tokens) its
/// SHA-256 digest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigFormat {
    algorithm: Algorithm,
    encoding: Encoding,
    min_len: usize,
    max_len: usize,
    digest: bool,
}

impl SigFormat {
    pub(crate) fn new(a: Algorithm, encoding: Encoding) -> Self {
        SigFormat {
            algorithm: a,
            encoding,
            min_len: a.min_output_len(),
            max_len: a.output_len(),
            digest: a == Algorithm::Token,
        }
    }
}

/// Decoded signatures of a supported version, inline.
#[derive(Clone)]
pub(crate) struct Candidates {
    sigs: [[u8; MAX_SIGNATURE_LEN]; MAX_CANDIDATES],
    lens: [usize; MAX_CANDIDATES],
    /// Supported entries seen (decodable or not).
    seen: usize,
    /// Entries that decoded to a plausible signature (stored in `sigs[..stored]`).
    stored: usize,
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidates")
            .field("seen", &self.seen)
            .field("decodable", &self.stored)
            .finish_non_exhaustive()
    }
}

impl Candidates {
    pub(crate) fn new() -> Self {
        Candidates {
            sigs: [[0; MAX_SIGNATURE_LEN]; MAX_CANDIDATES],
            lens: [0; MAX_CANDIDATES],
            seen: 0,
            stored: 0,
        }
    }

    fn push(
        &mut self,
        header: &HeaderName,
        encoded: &[u8],
        format: &SigFormat,
    ) -> Result<(), VerifyError> {
        if self.seen >= MAX_CANDIDATES {
            return Err(VerifyError::MalformedHeader {
                name: header.clone(),
                reason: "more than 16 signatures",
            });
        }
        self.push_unbounded(encoded, format);
        Ok(())
    }

    /// A single candidate (a signature found in the body).
    pub(crate) fn single(encoded: &[u8], format: &SigFormat) -> Self {
        let mut c = Candidates::new();
        c.push_unbounded(encoded, format);
        c
    }

    fn push_unbounded(&mut self, encoded: &[u8], format: &SigFormat) {
        self.seen = self.seen.saturating_add(1);
        let (Some(buf), Some(len)) = (
            self.sigs.get_mut(self.stored),
            self.lens.get_mut(self.stored),
        ) else {
            return;
        };
        let decoded = if format.digest {
            let digest = keys::sha256(encoded);
            buf.get_mut(..digest.len()).map(|dst| {
                dst.copy_from_slice(&digest);
                digest.len()
            })
        } else {
            format.encoding.decode_into(encoded, buf)
        };
        match decoded {
            Some(n) if (format.min_len..=format.max_len).contains(&n) => {
                *len = n;
                self.stored = self.stored.saturating_add(1);
            }
            _ => {}
        }
    }

    /// The decodable candidates.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.sigs
            .iter()
            .zip(self.lens.iter())
            .take(self.stored)
            .map(|(s, &l)| s.get(..l).unwrap_or(&[]))
    }

    pub(crate) fn seen(&self) -> usize {
        self.seen
    }

    pub(crate) fn decodable(&self) -> usize {
        self.stored
    }

    /// Forgets every candidate (the buffers are overwritten before they are read again).
    pub(crate) fn clear(&mut self) {
        self.seen = 0;
        self.stored = 0;
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    Some((s.get(..i)?, s.get(i.checked_add(1)?..)?))
}

/// What a signature header carried besides its candidate signatures.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'h> {
    /// The timestamp text of syntaxes that carry one.
    pub(crate) timestamp: Option<&'h [u8]>,
    /// The token of a JWS syntax.
    pub(crate) jws: Option<Token<'h>>,
}

/// Parses one signature header value into `candidates` (which must be empty); returns the
/// timestamp text of key-value syntaxes that carry one, and a JWS token's segments.
///
/// The candidates are filled in place rather than returned: they are ~1.4 KiB, and moving
/// them through `Result`s showed up as a tenth of a 1 KiB verification.
pub(crate) fn parse<'h>(
    syntax: &SignatureSyntax,
    header: &HeaderName,
    value: &'h [u8],
    format: &SigFormat,
    candidates: &mut Candidates,
) -> Result<Parsed<'h>, VerifyError> {
    let mut timestamp = None;
    let mut token = None;
    let value = trim(value);
    let too_many = || VerifyError::MalformedHeader {
        name: header.clone(),
        reason: "too many entries",
    };
    match syntax {
        SignatureSyntax::Single { prefix } => {
            if let Some(sig) = value.strip_prefix(prefix.as_bytes()) {
                candidates.push(header, sig, format)?;
            }
        }
        SignatureSyntax::VersionedList { version } => {
            let entries = value.split(|&b| b == b' ').filter(|e| !e.is_empty());
            for (i, entry) in entries.enumerate() {
                if i >= MAX_ENTRIES {
                    return Err(too_many());
                }
                if let Some((v, sig)) = split_once(entry, b',')
                    && v == version.as_bytes()
                {
                    candidates.push(header, sig, format)?;
                }
            }
        }
        SignatureSyntax::KeyValue {
            separator,
            signature_key,
            timestamp_key,
        } => {
            let mut sep = [0u8; 4];
            let sep = separator.encode_utf8(&mut sep).as_bytes();
            let pairs = split_str(value, sep).map(trim).filter(|p| !p.is_empty());
            for (i, pair) in pairs.enumerate() {
                if i >= MAX_ENTRIES {
                    return Err(too_many());
                }
                let Some((k, v)) = split_once(pair, b'=') else {
                    continue;
                };
                let (k, v) = (trim(k), trim(v));
                if k == signature_key.as_bytes() {
                    candidates.push(header, v, format)?;
                } else if timestamp_key.as_deref().map(str::as_bytes) == Some(k)
                    && timestamp.replace(v).is_some()
                {
                    return Err(VerifyError::MalformedHeader {
                        name: header.clone(),
                        reason: "more than one timestamp entry",
                    });
                }
            }
        }
        SignatureSyntax::TimestampFirst { separator } => {
            let mut sep = [0u8; 4];
            let sep = separator.encode_utf8(&mut sep).as_bytes();
            let mut entries = split_str(value, sep).map(trim);
            timestamp = entries.next();
            for (i, sig) in entries.enumerate() {
                if i >= MAX_ENTRIES {
                    return Err(too_many());
                }
                if !sig.is_empty() {
                    candidates.push(header, sig, format)?;
                }
            }
        }
        SignatureSyntax::Jws(_) => {
            let parsed = jws::parse(header, value, format.algorithm)?;
            candidates.push(header, parsed.signature, format)?;
            token = Some(parsed);
        }
    }
    if candidates.seen == 0 {
        return Err(VerifyError::NoSupportedSignature {
            name: header.clone(),
        });
    }
    Ok(Parsed {
        timestamp,
        jws: token,
    })
}

/// Splits on a (possibly multi-byte) separator.
fn split_str<'a, 's>(s: &'a [u8], sep: &'s [u8]) -> impl Iterator<Item = &'a [u8]> + use<'a, 's> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let cur = rest?;
        match cur.windows(sep.len().max(1)).position(|w| w == sep) {
            Some(i) => {
                rest = cur.get(i.saturating_add(sep.len())..);
                cur.get(..i)
            }
            None => {
                rest = None;
                Some(cur)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn h() -> HeaderName {
        HeaderName::from_static("x-sig")
    }

    #[derive(Debug)]
    struct Parsed<'h> {
        candidates: Candidates,
        timestamp: Option<&'h [u8]>,
    }

    fn parse<'h>(
        syntax: &SignatureSyntax,
        header: &HeaderName,
        value: &'h [u8],
        format: &SigFormat,
    ) -> Result<Parsed<'h>, VerifyError> {
        let mut candidates = Candidates::new();
        let timestamp = super::parse(syntax, header, value, format, &mut candidates)?.timestamp;
        Ok(Parsed {
            candidates,
            timestamp,
        })
    }

    fn fmt(encoding: Encoding, len: usize) -> SigFormat {
        SigFormat {
            algorithm: Algorithm::HmacSha256,
            encoding,
            min_len: len,
            max_len: len,
            digest: false,
        }
    }

    #[test]
    fn versioned_list_skips_unknown_and_counts_undecodable() {
        let p = parse(
            &SignatureSyntax::versioned_list("v1"),
            &h(),
            b"v2,AAAA v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1, v1a,xx  v1,!!",
            &fmt(Encoding::Base64, 32),
        )
        .unwrap();
        assert_eq!(p.candidates.seen(), 3);
        assert_eq!(p.candidates.decodable(), 1);
        assert_eq!(p.candidates.iter().next(), Some(&[0u8; 32][..]));
    }

    #[test]
    fn key_value_with_timestamp() {
        let p = parse(
            &SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
            &h(),
            b"t=123, v1=00ff,v0=11,v1=zz",
            &fmt(Encoding::Hex, 2),
        )
        .unwrap();
        assert_eq!(p.timestamp, Some(&b"123"[..]));
        assert_eq!(p.candidates.seen(), 2);
        assert_eq!(p.candidates.decodable(), 1);
        let dup = parse(
            &SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
            &h(),
            b"t=1,t=2,v1=00",
            &fmt(Encoding::Hex, 1),
        );
        assert_eq!(dup.unwrap_err().kind(), ErrorKind::MalformedHeader);
    }

    #[test]
    fn only_unsupported_is_an_error() {
        let e = parse(
            &SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
            &h(),
            b"t=1,v0=00",
            &fmt(Encoding::Hex, 1),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSupportedSignature);
        let e = parse(
            &SignatureSyntax::single("sha256="),
            &h(),
            b"sha1=00",
            &fmt(Encoding::Hex, 1),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSupportedSignature);
    }

    #[test]
    fn bounded() {
        let many = "v1,AAAA ".repeat(17);
        let e = parse(
            &SignatureSyntax::versioned_list("v1"),
            &h(),
            many.as_bytes(),
            &fmt(Encoding::Base64, 3),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedHeader);
        let many = "v9,AAAA ".repeat(65);
        assert!(
            parse(
                &SignatureSyntax::versioned_list("v1"),
                &h(),
                many.as_bytes(),
                &fmt(Encoding::Base64, 3)
            )
            .is_err()
        );
    }

    #[test]
    fn multibyte_separator() {
        let v: Vec<_> = split_str(b"a;;b;;c", b";;").collect();
        assert_eq!(v, [&b"a"[..], b"b", b"c"]);
    }
}
