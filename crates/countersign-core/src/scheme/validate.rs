//! The consistency rules every scheme (preset, file or hand-built) is checked against.

use crate::algorithm::{Algorithm, MAX_TAG_LEN};
use crate::content::{MAX_HEADER_PARTS, MAX_JSON_PARTS, Part};
use crate::error::ConfigError;
use crate::event_id::EventIdSource;
use crate::form::FormParams;
use crate::secret::KeyFormat;
use crate::signature::{MAX_SIGNATURE_LEN, SignatureSource, SignatureSyntax};
use crate::timestamp::{TimestampSource, TimestampSpec};
use crate::url::UrlPart;

use super::Scheme;

/// Checks a scheme (and its alternatives) for consistency.
pub(super) fn scheme(scheme: &Scheme) -> Result<(), ConfigError> {
    one(scheme)?;
    for alt in &scheme.alternatives {
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
        one(alt)?;
    }
    Ok(())
}

fn one(scheme: &Scheme) -> Result<(), ConfigError> {
    let invalid = |what| Err(ConfigError::InvalidScheme(what));
    if scheme.name.is_empty() {
        return invalid("the scheme needs a name");
    }
    match &scheme.signature {
        SignatureSource::Header(names) if names.is_empty() => {
            return invalid("no signature header");
        }
        SignatureSource::JsonField(path) => {
            if path.is_empty() {
                return invalid("the signature's JSON path is empty");
            }
            if !matches!(scheme.syntax, SignatureSyntax::Single { .. }) {
                return invalid("a signature in the body needs the single syntax");
            }
        }
        SignatureSource::JsonArrayField { array, field } => {
            if array.is_empty() || field.is_empty() {
                return invalid("the signature's JSON array and field paths must not be empty");
            }
            if !matches!(scheme.syntax, SignatureSyntax::Single { .. }) {
                return invalid("a signature in the body needs the single syntax");
            }
        }
        SignatureSource::QueryParam(name) => {
            if name.is_empty() {
                return invalid("the signature's query parameter name is empty");
            }
            if !matches!(scheme.syntax, SignatureSyntax::Single { .. }) {
                return invalid("a signature in the query needs the single syntax");
            }
        }
        SignatureSource::Header(_) => {}
    }
    if scheme.algorithm == Algorithm::Token {
        if !scheme.content.is_empty() || scheme.timestamp.is_some() {
            return invalid("a token scheme signs nothing: no content, no timestamp");
        }
        if !matches!(scheme.syntax, SignatureSyntax::Single { .. }) {
            return invalid("a token scheme needs the single syntax");
        }
    } else if scheme.content.is_empty() {
        return invalid("the signed content is empty");
    }
    if scheme.key_format == KeyFormat::BasicAuth && scheme.algorithm != Algorithm::Token {
        return invalid("basic-auth credentials are a token: the algorithm must be token");
    }
    if scheme.algorithm.output_len() > MAX_SIGNATURE_LEN
        || (scheme.algorithm.is_hmac() && scheme.algorithm.output_len() > MAX_TAG_LEN)
    {
        return invalid("signature too long");
    }
    let count = |f: fn(&Part) -> bool| scheme.content.iter().filter(|p| f(p)).count();
    if count(|p| matches!(p, Part::Header(_))) > MAX_HEADER_PARTS {
        return invalid("at most 4 header values in the signed content");
    }
    if count(|p| matches!(p, Part::JsonField(_))) > MAX_JSON_PARTS {
        return invalid("at most 4 JSON fields in the signed content");
    }
    if count(|p| matches!(p, Part::FormParams(_))) > 1 {
        return invalid("the form parameters can be signed once");
    }
    for part in &scheme.content {
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
    let urls: Vec<&UrlPart> = scheme
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
    let signs_timestamp = scheme.content.contains(&Part::Timestamp);
    let body_covers_timestamp = matches!(
        &scheme.timestamp,
        Some(TimestampSpec {
            source: TimestampSource::JsonField(_),
            ..
        })
    ) && scheme.content.contains(&Part::Body);
    match (&scheme.timestamp, signs_timestamp || body_covers_timestamp) {
        (None, true) => {
            return invalid("the content signs a timestamp but the scheme has none");
        }
        (Some(_), false) => {
            // An unsigned timestamp protects nothing: an attacker could refresh it.
            return invalid("the timestamp must be part of the signed content");
        }
        _ => {}
    }
    match (&scheme.timestamp, scheme.syntax.timestamp_key()) {
        (
            Some(TimestampSpec {
                source: TimestampSource::SignatureHeader,
                ..
            }),
            None,
        ) if !matches!(scheme.syntax, SignatureSyntax::TimestampFirst { .. }) => {
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
        ) if matches!(scheme.signature, SignatureSource::JsonField(_)) => {
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
    match &scheme.syntax {
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
        SignatureSyntax::TimestampFirst { separator }
            if !matches!(
                scheme.timestamp.as_ref().map(|t| &t.source),
                Some(TimestampSource::SignatureHeader)
            ) || separator.is_alphanumeric() =>
        {
            return invalid(
                "timestamp-first syntax needs the timestamp in the signature header and a non-alphanumeric separator",
            );
        }
        _ => {}
    }
    let jws_input = scheme.content.contains(&Part::JwsSigningInput);
    match &scheme.syntax {
        SignatureSyntax::Jws(claims) => {
            if !matches!(scheme.signature, SignatureSource::Header(_)) {
                return invalid("a JWS signature travels in a header");
            }
            if crate::jws::alg_name(scheme.algorithm).is_none()
                || scheme.encoding != crate::algorithm::Encoding::Base64Url
            {
                return invalid("a JWS scheme pins HMAC-SHA256 or HMAC-SHA512, base64url");
            }
            if scheme.content != [Part::JwsSigningInput] {
                return invalid("a JWS scheme signs the JWS signing input alone");
            }
            if scheme.timestamp.is_some() {
                return invalid(
                    "a JWS scheme has no separate timestamp (its `exp` claim is checked)",
                );
            }
            if claims.body_sha256_claim().is_empty() {
                return invalid("the JWS body-hash claim needs a name");
            }
        }
        _ if jws_input => {
            return invalid("the JWS signing input is signed only by a JWS syntax");
        }
        _ => {}
    }
    if let EventIdSource::Header(names) = &scheme.event_id
        && names.is_empty()
    {
        return invalid("the event id header needs a name");
    }
    if let EventIdSource::JsonField(path) = &scheme.event_id
        && path.is_empty()
    {
        return invalid("the event id JSON path is empty");
    }
    scheme.event_type.validate()?;
    if let Some(choices) = &scheme.choices
        && (!choices.algorithms.contains(&scheme.algorithm)
            || !choices.encodings.contains(&scheme.encoding))
    {
        return invalid("the sender's choices must include the default algorithm and encoding");
    }
    for handshake in &scheme.handshakes {
        handshake.validate(scheme.algorithm)?;
    }
    Ok(())
}
