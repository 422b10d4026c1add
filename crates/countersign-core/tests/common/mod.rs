//! Helpers shared by the integration tests: building header maps and deriving negative
//! cases (a flipped signature bit, a wrong secret) from a valid delivery, for any scheme.
//!
//! Scheme parts the helpers do not understand yet (new syntaxes, encodings, key formats)
//! make them panic with a message saying what to teach them — never a silent skip.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use countersign_core::{Encoding, KeyFormat, Scheme, SignatureSyntax};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Standard base64, padding optional (secrets are sometimes given unpadded).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A header map from `(name, value)` pairs; names are case-insensitive.
pub(crate) fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("header name {name:?}: {e}"));
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|e| panic!("header value {value:?} of {name}: {e}"));
        map.append(name, value);
    }
    map
}

/// The signature header the scheme reads in `headers` (the first of its names present).
pub(crate) fn signature_header(scheme: &Scheme, headers: &HeaderMap) -> HeaderName {
    scheme
        .signature_header()
        .iter()
        .find(|n| headers.contains_key(*n))
        .cloned()
        .unwrap_or_else(|| panic!("{}: no signature header present", scheme.name()))
}

/// Byte ranges of every encoded signature entry of a supported version in `value`.
pub(crate) fn signature_spans(syntax: &SignatureSyntax, value: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    match syntax {
        SignatureSyntax::Single { prefix } => {
            if value.starts_with(prefix.as_ref()) {
                spans.push((prefix.len(), value.len()));
            }
        }
        SignatureSyntax::VersionedList { version } => {
            let tag = format!("{version},");
            let mut offset = 0;
            for entry in value.split(' ') {
                if let Some(sig) = entry.strip_prefix(tag.as_str()) {
                    let start = offset + tag.len();
                    spans.push((start, start + sig.len()));
                }
                offset += entry.len() + 1;
            }
        }
        SignatureSyntax::KeyValue {
            separator,
            signature_key,
            ..
        } => {
            let tag = format!("{signature_key}=");
            let mut offset = 0;
            for pair in value.split(*separator) {
                let lead = pair.len() - pair.trim_start().len();
                if let Some(sig) = pair.trim().strip_prefix(tag.as_str()) {
                    let start = offset + lead + tag.len();
                    spans.push((start, start + sig.len()));
                }
                offset += pair.len() + separator.len_utf8();
            }
        }
        other => panic!("common::signature_spans does not know {other:?} yet: teach it"),
    }
    assert!(
        !spans.is_empty(),
        "no supported signature entry in {value:?} ({syntax:?})"
    );
    spans
}

/// Decodes a signature as the scheme encodes it.
pub(crate) fn decode(encoding: Encoding, text: &str) -> Vec<u8> {
    match encoding {
        Encoding::Hex => hex::decode(text).expect("hex signature"),
        Encoding::Base64 => STANDARD.decode(text).expect("base64 signature"),
        other => panic!("common::decode does not know {other:?} yet: teach it"),
    }
}

/// `headers` with one bit of each supported signature entry's *decoded* bytes flipped
/// (and re-encoded), so the header still parses and only the signature values are wrong.
/// (Every entry: with one flipped, another entry could still match.)
pub(crate) fn flip_signature_bits(scheme: &Scheme, headers: &HeaderMap) -> HeaderMap {
    let name = signature_header(scheme, headers);
    let value = headers[&name].to_str().expect("ASCII signature header");
    let mut flipped = String::new();
    let mut done = 0;
    for (start, end) in signature_spans(scheme.syntax(), value) {
        let mut sig = decode(scheme.encoding(), &value[start..end]);
        let last = sig.last_mut().expect("non-empty signature");
        *last ^= 0x01;
        flipped.push_str(&value[done..start]);
        flipped.push_str(&scheme.encoding().encode(&sig));
        done = end;
    }
    flipped.push_str(&value[done..]);
    let mut out = headers.clone();
    out.insert(name, HeaderValue::from_str(&flipped).expect("header value"));
    out
}

/// Every signature entry rewritten in an encoding of the same bytes that the provider does
/// not send: hex in uppercase, base64 without its padding (or, when unpadded, with a
/// non-zero trailing bit). `None` when no entry has such a form.
pub(crate) fn non_canonical_signatures(scheme: &Scheme, headers: &HeaderMap) -> Option<HeaderMap> {
    let name = signature_header(scheme, headers);
    let value = headers[&name].to_str().expect("ASCII signature header");
    let mut out_value = String::new();
    let mut done = 0;
    let mut changed = false;
    for (start, end) in signature_spans(scheme.syntax(), value) {
        let sig = &value[start..end];
        let other = match scheme.encoding() {
            countersign_core::Encoding::Hex => sig.to_ascii_uppercase(),
            _ => {
                let trimmed = sig.trim_end_matches('=');
                if trimmed.len() == sig.len() {
                    sig.to_owned()
                } else {
                    trimmed.to_owned()
                }
            }
        };
        changed |= other != sig;
        out_value.push_str(&value[done..start]);
        out_value.push_str(&other);
        done = end;
    }
    out_value.push_str(&value[done..]);
    if !changed {
        return None;
    }
    let mut out = headers.clone();
    out.insert(
        name,
        HeaderValue::from_str(&out_value).expect("header value"),
    );
    Some(out)
}

/// A well-formed secret that differs from `secret` (so verification, not configuration,
/// must fail).
pub(crate) fn wrong_secret(scheme: &Scheme, secret: &str) -> String {
    match scheme.key_format() {
        KeyFormat::Raw | KeyFormat::BasicAuth => format!("{secret}x"),
        KeyFormat::Base64 { prefix } => {
            let (pre, b64) = match prefix.as_deref() {
                Some(p) if secret.starts_with(p) => secret.split_at(p.len()),
                _ => ("", secret),
            };
            let mut key = LENIENT.decode(b64).expect("base64 secret");
            key[0] ^= 0x01;
            format!("{pre}{}", STANDARD.encode(key))
        }
        other => panic!("common::wrong_secret does not know {other:?} yet: teach it"),
    }
}

/// `application/x-www-form-urlencoded` serialisation of ordered pairs (the WHATWG
/// urlencoded serializer: `*-._` and alphanumerics kept, space as `+`, the rest `%XX`).
pub(crate) fn form_urlencode(pairs: &[(String, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}
