//! Schemes described in configuration (JSON, or TOML with the `toml` feature), so a
//! provider countersign lacks needs no code.
//!
//! See [`SchemeConfig`](crate::SchemeConfig) for the format.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

use crate::algorithm::{Algorithm, Encoding};
use crate::content::Part;
use crate::error::ConfigError;
use crate::event_id::EventIdSource;
use crate::event_type::{EventTypePart, EventTypeSource};
use crate::form::FormParams;
use crate::header::parse_header_name;
use crate::scheme::Scheme;
use crate::secret::KeyFormat;
use crate::signature::{SignatureSource, SignatureSyntax};
use crate::timestamp::{TimestampSource, TimestampSpec, TimestampUnit, Tolerance};
use crate::url::UrlPart;

/// A scheme as written in a configuration file (JSON with [`Scheme::from_json`], TOML with
/// `Scheme::from_toml` and the `toml` feature).
///
/// The description is flat; every field but `name` and a signature location is optional:
///
/// ```toml
/// name = "acme"                       # reported as the preset of verified deliveries
/// algorithm = "sha256"                # md5 | sha1 | sha256 | sha512 | sha256-secret-prefix
///                                     # | ed25519 | ecdsa-p256-sha256 | token
/// encoding = "hex"                    # hex | base64 | base64url
/// signature_header = "X-Acme-Signature"   # or a list: preferred first, then fallbacks
/// # signature_json = "signature.value"    # or: a string member of the JSON body
/// # signature_query = "api_key"           # or: a query parameter of the URL (tokens)
/// syntax = "key-value"                # single (default) | versioned-list | key-value
/// prefix = ""                         # single: e.g. "sha256="
/// # version = "v1"                    # versioned-list: `v1,<sig> v1,<sig>`
/// separator = ","                     # key-value: between pairs
/// signature_key = "v1"                # key-value: key of signature entries
/// timestamp_key = "t"                 # key-value: key of the timestamp, if it is there
/// content = "{timestamp}.{body}"      # the signed content (default "{body}")
/// # timestamp_header = "X-Acme-Timestamp" / timestamp_json = "meta.sent_at"
/// timestamp_unit = "seconds"          # seconds | milliseconds | rfc3339
/// tolerance = 300                     # seconds each way (or tolerance_past/_future)
/// event_id_header = "X-Acme-Delivery" # or a list; or event_id_json = "data.id"
/// event_type_header = "X-Acme-Event"  # and/or event_type_json = "action": with both, the
///                                     # header qualified by the field (`issues.opened`)
/// key_format = "raw"                  # raw | base64 | hex | basic-auth (user:password)
/// # key_prefix = "whsec_"             # stripped before base64 decoding
/// body_limit = 1048576
/// ```
///
/// The content template is literal text with placeholders: `{body}`, `{timestamp}`,
/// `{method}`, `{url}`, `{form}` (Twilio-style sorted form parameters), `{header:Name}` and
/// `{json:a.b}`; `{{` and `}}` are literal braces. JSON paths are object keys separated by
/// dots. The timestamp comes from `timestamp_header`, `timestamp_json`, or — with a
/// `timestamp_key` — the signature header itself.
///
/// ```
/// use countersign_core::{Delivery, FixedClock, Scheme, Verifier};
///
/// let scheme = Scheme::from_json(r#"{
///     "name": "acme",
///     "signature_header": "x-acme-signature",
///     "syntax": "key-value", "separator": ",", "signature_key": "v1", "timestamp_key": "t",
///     "content": "{timestamp}.{body}"
/// }"#)?;
/// let verifier = Verifier::builder(scheme)
///     .secret("s3cret")
///     .clock(FixedClock::from_unix_secs(1_700_000_000))
///     .build()?;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "x-acme-signature",
///     "t=1700000000,v1=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf".parse()?,
/// );
/// let verified = verifier.verify(&Delivery::new(&headers, b"{}"))?;
/// assert_eq!(verified.preset(), "acme");
/// assert!(verifier.verify(&Delivery::new(&headers, b"{ }")).is_err());
///
/// // Mistakes are reported with the field that holds them.
/// let err = Scheme::from_json(r#"{"name": "x", "signature_header": "x-s", "content": "{bdy}"}"#)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "invalid scheme file: `content`: unknown placeholder `{bdy}`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// The scheme's name, reported as the preset of verified deliveries.
    pub name: String,
    /// `sha1`, `sha256` (default), `sha512`, `sha256-secret-prefix`, `ed25519`,
    /// `ecdsa-p256-sha256` or `token`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// `hex` (default) or `base64`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// The signature header, or several (preferred first).
    #[serde(default)]
    pub signature_header: Option<OneOrMany>,
    /// A dotted JSON path to the signature inside the body, instead of a header.
    #[serde(default)]
    pub signature_json: Option<String>,
    /// A query parameter of the request URL carrying the signature (an API key), instead of
    /// a header.
    #[serde(default)]
    pub signature_query: Option<String>,
    /// `single` (default), `versioned-list` or `key-value`.
    #[serde(default)]
    pub syntax: Option<String>,
    /// `single`: the prefix before the signature.
    #[serde(default)]
    pub prefix: Option<String>,
    /// `versioned-list`: the supported version (default `v1`).
    #[serde(default)]
    pub version: Option<String>,
    /// `key-value`: the separator between pairs (default `,`).
    #[serde(default)]
    pub separator: Option<String>,
    /// `key-value`: the key of signature entries (default `v1`).
    #[serde(default)]
    pub signature_key: Option<String>,
    /// `key-value`: the key of the timestamp entry.
    #[serde(default)]
    pub timestamp_key: Option<String>,
    /// The signed content template (default `{body}`).
    #[serde(default)]
    pub content: Option<String>,
    /// The header carrying the timestamp.
    #[serde(default)]
    pub timestamp_header: Option<OneOrMany>,
    /// A dotted JSON path to the timestamp inside the body.
    #[serde(default)]
    pub timestamp_json: Option<String>,
    /// `seconds` (default), `milliseconds` or `rfc3339`.
    #[serde(default)]
    pub timestamp_unit: Option<String>,
    /// Tolerance in seconds, both directions (default 300).
    #[serde(default)]
    pub tolerance: Option<u64>,
    /// Past tolerance in seconds (overrides `tolerance`).
    #[serde(default)]
    pub tolerance_past: Option<u64>,
    /// Future tolerance in seconds (overrides `tolerance`).
    #[serde(default)]
    pub tolerance_future: Option<u64>,
    /// The event id header, or several (preferred first).
    #[serde(default)]
    pub event_id_header: Option<OneOrMany>,
    /// A dotted JSON path to the event id inside the body.
    #[serde(default)]
    pub event_id_json: Option<String>,
    /// The header naming the event type.
    #[serde(default)]
    pub event_type_header: Option<String>,
    /// A dotted JSON path to the event type inside the body; with `event_type_header`, a
    /// qualifier appended after a `.` when present (GitHub's `X-GitHub-Event` + `action`).
    #[serde(default)]
    pub event_type_json: Option<String>,
    /// `raw` (default), `base64`, `hex` or `basic-auth` (a token scheme's `user:password`).
    #[serde(default)]
    pub key_format: Option<String>,
    /// With `key_format = "base64"`: a prefix stripped first, e.g. `whsec_`.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// `{url}` also matches with the default port added or any port removed.
    #[serde(default)]
    pub url_either_default_port: bool,
    /// `{url}`: ASCII characters whose percent-encodings are decoded before signing.
    #[serde(default)]
    pub url_decode: Option<String>,
    /// `{form}`: a URL query parameter that, when present, carries the body's SHA-256
    /// instead (Twilio's `bodySHA256`).
    #[serde(default)]
    pub form_body_hash_param: Option<String>,
    /// Body limit in bytes (default 1 MiB).
    #[serde(default)]
    pub body_limit: Option<usize>,
}

/// A single string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values, preferred first.
    Many(Vec<String>),
}

impl OneOrMany {
    fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A scheme file could not be turned into a scheme.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SchemeFileError {
    /// Not valid JSON, or not the expected shape (an unknown field, a wrong type).
    #[error("invalid scheme file: {0}")]
    Json(#[source] serde_json::Error),
    /// Not valid TOML, or not the expected shape.
    #[cfg(feature = "toml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    #[error("invalid scheme file: {0}")]
    Toml(#[source] toml::de::Error),
    /// A field has a value that cannot be used.
    #[error("invalid scheme file: `{field}`: {reason}")]
    Field {
        /// The field, e.g. `content`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The fields are individually fine but do not make a consistent scheme.
    #[error("invalid scheme file: {0}")]
    Scheme(#[source] ConfigError),
}

impl Scheme {
    /// Reads a scheme from its JSON description (see [`SchemeConfig`]).
    ///
    /// # Errors
    /// [`SchemeFileError`] naming the field or the inconsistency.
    pub fn from_json(text: &str) -> Result<Scheme, SchemeFileError> {
        let config: SchemeConfig = serde_json::from_str(text).map_err(SchemeFileError::Json)?;
        config.into_scheme()
    }

    /// Reads a scheme from its TOML description (see [`SchemeConfig`]).
    ///
    /// # Errors
    /// [`SchemeFileError`] naming the field or the inconsistency.
    #[cfg(feature = "toml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    pub fn from_toml(text: &str) -> Result<Scheme, SchemeFileError> {
        let config: SchemeConfig = toml::from_str(text).map_err(SchemeFileError::Toml)?;
        config.into_scheme()
    }
}

impl TryFrom<SchemeConfig> for Scheme {
    type Error = SchemeFileError;

    fn try_from(config: SchemeConfig) -> Result<Self, Self::Error> {
        config.into_scheme()
    }
}

fn field(field: &'static str, reason: impl Into<String>) -> SchemeFileError {
    SchemeFileError::Field {
        field,
        reason: reason.into(),
    }
}

fn header_names(what: &'static str, names: &OneOrMany) -> Result<Vec<HeaderName>, SchemeFileError> {
    let names = names.values();
    if names.is_empty() {
        return Err(field(what, "needs at least one header name"));
    }
    names
        .into_iter()
        .map(|n| {
            parse_header_name(n).map_err(|_| field(what, format!("`{n}` is not a header name")))
        })
        .collect()
}

fn json_path(what: &'static str, path: &str) -> Result<Vec<Cow<'static, str>>, SchemeFileError> {
    let keys: Vec<Cow<'static, str>> = path.split('.').map(|k| Cow::Owned(k.to_owned())).collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(field(what, format!("`{path}` is not a dotted JSON path")));
    }
    Ok(keys)
}

fn parse_with<T>(
    what: &'static str,
    value: Option<&str>,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<T, SchemeFileError> {
    match value {
        None => Ok(default),
        Some(v) => {
            parse(v.trim()).ok_or_else(|| field(what, format!("`{v}`: expected {expected}")))
        }
    }
}

impl SchemeConfig {
    /// Builds and checks the scheme.
    ///
    /// # Errors
    /// [`SchemeFileError`] naming the field or the inconsistency.
    pub fn into_scheme(self) -> Result<Scheme, SchemeFileError> {
        if self.name.trim().is_empty() {
            return Err(field("name", "must not be empty"));
        }
        let algorithm = parse_with(
            "algorithm",
            self.algorithm.as_deref(),
            Algorithm::HmacSha256,
            |s| s.parse().ok(),
            "md5, sha1, sha256, sha512, sha256-secret-prefix, ed25519, ecdsa-p256-sha256 or token",
        )?;
        let encoding = parse_with(
            "encoding",
            self.encoding.as_deref(),
            Encoding::Hex,
            |s| s.parse().ok(),
            "hex, base64 or base64url",
        )?;

        let syntax_name = self.syntax.as_deref().unwrap_or("single");
        let syntax = match syntax_name.trim().to_ascii_lowercase().as_str() {
            "single" => SignatureSyntax::single(self.prefix.clone().unwrap_or_default()),
            "versioned-list" | "versioned_list" => {
                SignatureSyntax::versioned_list(self.version.clone().unwrap_or_else(|| "v1".into()))
            }
            "key-value" | "key_value" => {
                let sep = self.separator.as_deref().unwrap_or(",");
                let mut chars = sep.chars();
                let (Some(separator), None) = (chars.next(), chars.next()) else {
                    return Err(field(
                        "separator",
                        format!("`{sep}`: expected one character"),
                    ));
                };
                let s = SignatureSyntax::key_value(
                    separator,
                    self.signature_key.clone().unwrap_or_else(|| "v1".into()),
                );
                match &self.timestamp_key {
                    Some(t) => s.with_timestamp_key(t.clone()),
                    None => s,
                }
            }
            other => {
                return Err(field(
                    "syntax",
                    format!("`{other}`: expected single, versioned-list or key-value"),
                ));
            }
        };
        let misplaced = |name: &'static str, set: bool, needs: &str| {
            if set && !syntax_name.eq_ignore_ascii_case(needs) {
                Err(field(name, format!("only applies to syntax = \"{needs}\"")))
            } else {
                Ok(())
            }
        };
        misplaced("prefix", self.prefix.is_some(), "single")?;
        misplaced("version", self.version.is_some(), "versioned-list")?;
        misplaced("separator", self.separator.is_some(), "key-value")?;
        misplaced("signature_key", self.signature_key.is_some(), "key-value")?;
        misplaced("timestamp_key", self.timestamp_key.is_some(), "key-value")?;

        let signature = match (
            &self.signature_header,
            &self.signature_json,
            &self.signature_query,
        ) {
            (Some(h), None, None) => SignatureSource::Header(header_names("signature_header", h)?),
            (None, Some(p), None) => SignatureSource::JsonField(json_path("signature_json", p)?),
            (None, None, Some(q)) => {
                if q.trim().is_empty() {
                    return Err(field("signature_query", "must not be empty"));
                }
                SignatureSource::QueryParam(Cow::Owned(q.trim().to_owned()))
            }
            (None, None, None) => {
                return Err(field(
                    "signature_header",
                    "a signature_header (or signature_json, or signature_query) is required",
                ));
            }
            _ => {
                return Err(field(
                    "signature_json",
                    "give one of signature_header, signature_json and signature_query",
                ));
            }
        };

        let unit = parse_with(
            "timestamp_unit",
            self.timestamp_unit.as_deref(),
            TimestampUnit::Seconds,
            |s| match s.to_ascii_lowercase().as_str() {
                "seconds" | "s" => Some(TimestampUnit::Seconds),
                "milliseconds" | "ms" => Some(TimestampUnit::Milliseconds),
                "rfc3339" => Some(TimestampUnit::Rfc3339),
                _ => None,
            },
            "seconds, milliseconds or rfc3339",
        )?;
        let timestamp = match (
            &self.timestamp_header,
            &self.timestamp_json,
            &self.timestamp_key,
        ) {
            (Some(h), None, None) => Some(TimestampSource::Header(header_names(
                "timestamp_header",
                h,
            )?)),
            (None, Some(p), None) => {
                Some(TimestampSource::JsonField(json_path("timestamp_json", p)?))
            }
            (None, None, Some(_)) => Some(TimestampSource::SignatureHeader),
            (None, None, None) => None,
            _ => {
                return Err(field(
                    "timestamp_header",
                    "give one of timestamp_header, timestamp_json and timestamp_key",
                ));
            }
        };
        if timestamp.is_none() && self.timestamp_unit.is_some() {
            return Err(field(
                "timestamp_unit",
                "set, but the scheme has no timestamp",
            ));
        }

        let url = UrlPart {
            either_default_port: self.url_either_default_port,
            decode: Cow::Owned(self.url_decode.clone().unwrap_or_default().into_bytes()),
        };
        let form = FormParams {
            body_hash_param: self.form_body_hash_param.clone().map(Cow::Owned),
        };
        let template = self
            .content
            .as_deref()
            .unwrap_or(if algorithm == Algorithm::Token {
                ""
            } else {
                "{body}"
            });
        let content = parse_template(template, &url, &form)?;
        if !content.iter().any(|p| matches!(p, Part::Url(_)))
            && (self.url_either_default_port || self.url_decode.is_some())
        {
            return Err(field(
                "url_decode",
                "URL options set, but the content has no {url}",
            ));
        }
        if !content.iter().any(|p| matches!(p, Part::FormParams(_)))
            && self.form_body_hash_param.is_some()
        {
            return Err(field(
                "form_body_hash_param",
                "set, but the content has no {form}",
            ));
        }

        let key_format = match self
            .key_format
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
        {
            None => KeyFormat::Raw,
            Some(k) if k == "raw" => KeyFormat::Raw,
            Some(k) if k == "base64" => KeyFormat::Base64 {
                prefix: self.key_prefix.clone().map(Cow::Owned),
            },
            Some(k) if k == "hex" => KeyFormat::Hex,
            Some(k) if k == "basic-auth" => KeyFormat::BasicAuth,
            Some(k) => {
                return Err(field(
                    "key_format",
                    format!("`{k}`: expected raw, base64, hex or basic-auth"),
                ));
            }
        };
        if self.key_prefix.is_some() && !matches!(key_format, KeyFormat::Base64 { .. }) {
            return Err(field(
                "key_prefix",
                "only applies to key_format = \"base64\"",
            ));
        }

        let default = Tolerance::default();
        let secs = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_secs);
        let tolerance = Tolerance {
            past: secs(self.tolerance_past.or(self.tolerance), default.past),
            future: secs(self.tolerance_future.or(self.tolerance), default.future),
        };
        let event_id = match (&self.event_id_header, &self.event_id_json) {
            (Some(h), None) => EventIdSource::Header(header_names("event_id_header", h)?),
            (None, Some(p)) => EventIdSource::JsonField(json_path("event_id_json", p)?),
            (None, None) => EventIdSource::None,
            (Some(_), Some(_)) => {
                return Err(field(
                    "event_id_json",
                    "give event_id_header or event_id_json, not both",
                ));
            }
        };
        let mut event_type = Vec::new();
        if let Some(h) = &self.event_type_header {
            let name = parse_header_name(h)
                .map_err(|_| field("event_type_header", format!("`{h}` is not a header name")))?;
            event_type.push(EventTypePart::Header(name));
        }
        if let Some(p) = &self.event_type_json {
            event_type.push(EventTypePart::JsonField(json_path("event_type_json", p)?));
        }
        let event_type =
            EventTypeSource::from_parts(event_type).map_err(SchemeFileError::Scheme)?;

        let mut builder = Scheme::builder(self.name.trim().to_owned())
            .algorithm(algorithm)
            .encoding(encoding)
            .signature_source(signature, syntax)
            .content(content)
            .key_format(key_format)
            .tolerance(tolerance)
            .event_id(event_id)
            .event_type(event_type);
        if let Some(source) = timestamp {
            builder = builder.timestamp(TimestampSpec { source, unit });
        }
        if let Some(limit) = self.body_limit {
            if limit == 0 {
                return Err(field("body_limit", "must be positive"));
            }
            builder = builder.body_limit(limit);
        }
        builder.build().map_err(SchemeFileError::Scheme)
    }
}

/// Parses a content template into parts.
fn parse_template(
    template: &str,
    url: &UrlPart,
    form: &FormParams,
) -> Result<Vec<Part>, SchemeFileError> {
    let bad = |reason: String| field("content", reason);
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = template.char_indices().peekable();
    let flush = |literal: &mut String, parts: &mut Vec<Part>| {
        if !literal.is_empty() {
            parts.push(Part::Literal(Cow::Owned(
                std::mem::take(literal).into_bytes(),
            )));
        }
    };
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(bad(format!("unmatched `}}` at byte {at}"))),
            '{' => {
                let rest = template.get(at.saturating_add(1)..).unwrap_or_default();
                let Some(end) = rest.find('}') else {
                    return Err(bad(format!("unclosed `{{` at byte {at}")));
                };
                let name = rest.get(..end).unwrap_or_default();
                for _ in 0..=name.chars().count() {
                    chars.next();
                }
                flush(&mut literal, &mut parts);
                let part = match name.split_once(':') {
                    None => match name {
                        "body" => Part::Body,
                        "timestamp" => Part::Timestamp,
                        "method" => Part::Method,
                        "url" => Part::Url(url.clone()),
                        "form" => Part::FormParams(form.clone()),
                        _ => return Err(bad(format!("unknown placeholder `{{{name}}}`"))),
                    },
                    Some(("header", h)) => {
                        Part::Header(vec![parse_header_name(h).map_err(|_| {
                            bad(format!("`{h}` in `{{{name}}}` is not a header name"))
                        })?])
                    }
                    Some(("json", p)) => Part::JsonField(json_path("content", p)?),
                    Some(_) => return Err(bad(format!("unknown placeholder `{{{name}}}`"))),
                };
                parts.push(part);
            }
            other => literal.push(other),
        }
    }
    flush(&mut literal, &mut parts);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Delivery, FixedClock, Preset, SignRequest, Signer, Verifier};

    fn json(text: &str) -> Result<Scheme, SchemeFileError> {
        Scheme::from_json(text)
    }

    #[test]
    fn templates() {
        let url = UrlPart::exact();
        let form = FormParams::sorted();
        let p = parse_template("v0:{timestamp}:{body}", &url, &form).unwrap();
        assert_eq!(
            p,
            [
                Part::literal("v0:"),
                Part::Timestamp,
                Part::literal(":"),
                Part::Body
            ]
        );
        let p = parse_template(
            "{{{method}}}{header:X-Id}.{json:a.b}{url}{form}",
            &url,
            &form,
        )
        .unwrap();
        assert_eq!(p.len(), 8);
        assert_eq!(p[0], Part::literal("{"));
        assert_eq!(p[2], Part::literal("}"));
        assert_eq!(p[3], Part::header(HeaderName::from_static("x-id")));
        for (t, msg) in [
            ("{body", "unclosed"),
            ("body}", "unmatched"),
            ("{bdy}", "unknown placeholder"),
            ("{header:bad name}", "not a header name"),
            ("{json:a..b}", "not a dotted JSON path"),
            ("{x:y}", "unknown placeholder"),
        ] {
            let err = parse_template(t, &url, &form).unwrap_err().to_string();
            assert!(err.contains(msg), "{t}: {err}");
        }
        assert_eq!(parse_template("é{body}ü", &url, &form).unwrap().len(), 3);
    }

    #[test]
    fn presets_can_be_written_as_files() {
        // Stripe, written by hand, verifies Stripe's own signatures.
        let stripe = json(
            r#"{"name":"stripe-file","signature_header":"Stripe-Signature","syntax":"key-value",
                "separator":",","signature_key":"v1","timestamp_key":"t",
                "content":"{timestamp}.{body}","event_id_json":"id"}"#,
        )
        .unwrap();
        let headers = Signer::new(Preset::Stripe, "whsec_x")
            .unwrap()
            .sign(
                &SignRequest::new(br#"{"id":"evt_9"}"#)
                    .timestamp(Duration::from_secs(1_700_000_000)),
            )
            .unwrap();
        let v = Verifier::builder(stripe)
            .secret("whsec_x")
            .clock(FixedClock::from_unix_secs(1_700_000_000))
            .build()
            .unwrap();
        let ok = v
            .verify(&Delivery::new(&headers, br#"{"id":"evt_9"}"#))
            .unwrap();
        assert_eq!((ok.preset(), ok.event_id()), ("stripe-file", Some("evt_9")));

        // Event types: a header, a JSON field, or the header qualified by the field.
        for (fields, headers, body, expected) in [
            (
                r#""event_type_json":"type""#,
                vec![],
                r#"{"type":"invoice.paid"}"#,
                Some("invoice.paid"),
            ),
            (
                r#""event_type_header":"X-Acme-Event""#,
                vec![("x-acme-event", "push")],
                "{}",
                Some("push"),
            ),
            (
                r#""event_type_header":"X-Acme-Event","event_type_json":"data.action""#,
                vec![("x-acme-event", "issues")],
                r#"{"data":{"action":"opened"}}"#,
                Some("issues.opened"),
            ),
            ("", vec![("x-acme-event", "push")], r#"{"type":"x"}"#, None),
        ] {
            let comma = if fields.is_empty() { "" } else { "," };
            let scheme = json(&format!(
                r#"{{"name":"acme","signature_header":"x-sig"{comma}{fields}}}"#
            ))
            .unwrap();
            let mut h = http::HeaderMap::new();
            for (k, v) in headers {
                h.insert(k, v.parse().unwrap());
            }
            let got = scheme.event_type().extract(&h, body.as_bytes());
            assert_eq!(got.as_ref().map(|t| t.as_str()), expected, "{fields}");
        }
        assert!(json(r#"{"name":"a","signature_header":"x","event_type_json":"a..b"}"#).is_err());
        assert!(
            json(r#"{"name":"a","signature_header":"x","event_type_header":"bad header"}"#)
                .is_err()
        );

        // Standard Webhooks, with fallbacks and a whsec_ key.
        let sw = json(
            r#"{"name":"sw","algorithm":"sha256","encoding":"base64",
                "signature_header":["svix-signature","webhook-signature"],
                "syntax":"versioned-list","version":"v1",
                "timestamp_header":["svix-timestamp","webhook-timestamp"],
                "content":"{header:webhook-id}.{timestamp}.{body}",
                "event_id_header":"webhook-id","key_format":"base64","key_prefix":"whsec_",
                "tolerance_past":600}"#,
        )
        .unwrap();
        assert_eq!(sw.tolerance().past, Duration::from_secs(600));
        assert_eq!(sw.tolerance().future, Duration::from_secs(300));
        let headers = Signer::new(
            Preset::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .unwrap()
        .sign(
            &SignRequest::new(b"{}")
                .id("m1")
                .timestamp(Duration::from_secs(1_700_000_000)),
        )
        .unwrap();
        let v = Verifier::builder(sw)
            .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .clock(FixedClock::from_unix_secs(1_700_000_000))
            .build()
            .unwrap();
        assert_eq!(
            v.verify(&Delivery::new(&headers, b"{}"))
                .unwrap()
                .event_id(),
            Some("m1")
        );
    }

    #[test]
    fn a_key_in_the_query() {
        let scheme =
            json(r#"{"name":"acme","algorithm":"token","signature_query":"token","content":""}"#)
                .unwrap();
        let v = crate::Verifier::new(scheme, "s3cret").unwrap();
        let h = http::HeaderMap::new();
        let ok = crate::Delivery::new(&h, b"").url("/in?token=s3cret");
        assert_eq!(v.verify(&ok).unwrap().preset(), "acme");
        let bad = crate::Delivery::new(&h, b"").url("/in?token=s3cre");
        assert!(v.verify(&bad).is_err());
        for text in [
            r#"{"name":"a","algorithm":"token","signature_query":" ","content":""}"#,
            r#"{"name":"a","signature_query":"q","signature_header":"x"}"#,
        ] {
            assert!(json(text).is_err(), "{text}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        for (text, needle) in [
            (r#"{"signature_header":"x"}"#, "missing field `name`"),
            (
                r#"{"name":"a","signature_header":"x","colour":"red"}"#,
                "unknown field `colour`",
            ),
            (r#"{"name":"a"}"#, "`signature_header`"),
            (r#"{"name":" ","signature_header":"x"}"#, "`name`"),
            (
                r#"{"name":"a","signature_header":"x","algorithm":"md4"}"#,
                "`algorithm`: `md4`",
            ),
            (
                r#"{"name":"a","signature_header":"x","encoding":"b32"}"#,
                "`encoding`",
            ),
            (
                r#"{"name":"a","signature_header":"bad header"}"#,
                "`signature_header`",
            ),
            (
                r#"{"name":"a","signature_header":[]}"#,
                "`signature_header`",
            ),
            (
                r#"{"name":"a","signature_header":"x","syntax":"kv"}"#,
                "`syntax`",
            ),
            (
                r#"{"name":"a","signature_header":"x","separator":";"}"#,
                "`separator`: only applies",
            ),
            (
                r#"{"name":"a","signature_header":"x","syntax":"key-value","separator":";;"}"#,
                "one character",
            ),
            (
                r#"{"name":"a","signature_header":"x","timestamp_unit":"ms"}"#,
                "`timestamp_unit`",
            ),
            (
                r#"{"name":"a","signature_header":"x","timestamp_header":"t","timestamp_json":"t"}"#,
                "one of",
            ),
            (
                r#"{"name":"a","signature_header":"x","timestamp_header":"t"}"#,
                "timestamp must be part of the signed content",
            ),
            (
                r#"{"name":"a","signature_header":"x","content":"{timestamp}"}"#,
                "signs a timestamp but the scheme has none",
            ),
            (
                r#"{"name":"a","signature_header":"x","key_format":"pem"}"#,
                "`key_format`",
            ),
            (
                r#"{"name":"a","signature_header":"x","key_prefix":"k_"}"#,
                "`key_prefix`",
            ),
            (
                r#"{"name":"a","signature_header":"x","url_decode":":"}"#,
                "no {url}",
            ),
            (
                r#"{"name":"a","signature_header":"x","body_limit":0}"#,
                "`body_limit`",
            ),
            (
                r#"{"name":"a","signature_header":"x","tolerance":-1}"#,
                "invalid value",
            ),
            (
                r#"{"name":"a","signature_header":"x","signature_json":"s"}"#,
                "give one of signature_header",
            ),
            (
                r#"{"name":"a","signature_json":"s","syntax":"key-value"}"#,
                "single syntax",
            ),
            ("not json", "expected"),
        ] {
            let err = json(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.starts_with("invalid scheme file: "), "{err}");
        }
    }

    #[test]
    fn body_borne_and_key_pair_schemes() {
        let mailgun = json(
            r#"{"name":"mg","signature_json":"signature.signature","timestamp_json":"signature.timestamp",
                "content":"{timestamp}{json:signature.token}","event_id_json":"event-data.id"}"#,
        )
        .unwrap();
        assert_eq!(mailgun.content(), Preset::Mailgun.scheme().content());
        let discord = json(
            r#"{"name":"d","algorithm":"ed25519","signature_header":"x-signature-ed25519",
                "timestamp_header":"x-signature-timestamp","content":"{timestamp}{body}","key_format":"hex"}"#,
        )
        .unwrap();
        assert_eq!(discord.algorithm(), Algorithm::Ed25519);
        let gitlab =
            json(r#"{"name":"g","algorithm":"token","signature_header":"x-gitlab-token"}"#)
                .unwrap();
        assert!(gitlab.content().is_empty());
        let twilio = json(
            r#"{"name":"t","algorithm":"sha1","encoding":"base64","signature_header":"x-twilio-signature",
                "content":"{url}{form}","url_either_default_port":true,"form_body_hash_param":"bodySHA256"}"#,
        )
        .unwrap();
        assert_eq!(twilio.content(), Preset::Twilio.scheme().content());
    }

    proptest::proptest! {
        #[test]
        fn loader_does_not_panic(
            template in "[{}a-z:.\\-]{0,24}",
            text in "[ -~]{0,120}",
            syntax in "(single|key-value|versioned-list|x)",
            sep in ".{0,2}",
        ) {
            let _ = parse_template(&template, &UrlPart::exact(), &FormParams::sorted());
            let _ = Scheme::from_json(&text);
            let doc = serde_json::json!({
                "name": "p", "signature_header": "x-s", "syntax": syntax, "separator": sep,
                "content": template, "timestamp_key": "t",
            });
            let _ = Scheme::from_json(&doc.to_string());
        }
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_files() {
        let s = Scheme::from_toml(
            r#"
            name = "zoom-file"
            signature_header = "x-zm-signature"
            prefix = "v0="
            timestamp_header = "x-zm-request-timestamp"
            content = "v0:{timestamp}:{body}"
            "#,
        )
        .unwrap();
        assert_eq!(s.content(), Preset::Zoom.scheme().content());
        let err = Scheme::from_toml("name = 1").unwrap_err().to_string();
        assert!(err.starts_with("invalid scheme file: "), "{err}");
    }
}
