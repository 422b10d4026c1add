//! The fields of a scheme file, and their translation into the scheme builder's calls.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

use crate::algorithm::{Algorithm, Encoding};
use crate::content::Part;
use crate::event_id::EventIdSource;
use crate::event_type::{EventTypePart, EventTypeSource};
use crate::form::FormParams;
use crate::handshake::Handshake;
use crate::header::parse_header_name;
use crate::jws::JwsClaims;
use crate::scheme::{Scheme, SchemeBuilder};
use crate::secret::KeyFormat;
use crate::signature::{SignatureSource, SignatureSyntax};
use crate::timestamp::{TimestampSource, TimestampSpec, TimestampUnit, Tolerance};
use crate::url::UrlPart;

use super::SchemeFileError;
use super::names::{KeyFormatName, OneOrMany, SyntaxName};
use super::template::parse_template;

/// Where in the file a scheme table is: the top, or `alternatives[N]`.
pub(super) struct At<'a>(Option<(&'a str, usize)>);

impl At<'_> {
    pub(super) fn top() -> At<'static> {
        At(None)
    }

    fn path(&self, name: &str) -> String {
        match self.0 {
            None => name.to_owned(),
            Some((list, i)) if name.is_empty() => format!("{list}[{i}]"),
            Some((list, i)) => format!("{list}[{i}].{name}"),
        }
    }

    pub(super) fn field(&self, name: &str, reason: impl Into<String>) -> SchemeFileError {
        SchemeFileError::Field {
            field: self.path(name),
            reason: reason.into(),
        }
    }

    pub(super) fn json_path(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Vec<Cow<'static, str>>, SchemeFileError> {
        let keys: Vec<Cow<'static, str>> =
            path.split('.').map(|k| Cow::Owned(k.to_owned())).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(self.field(what, format!("`{path}` is not a dotted JSON path")));
        }
        Ok(keys)
    }

    fn header_names(
        &self,
        what: &str,
        names: &OneOrMany,
    ) -> Result<Vec<HeaderName>, SchemeFileError> {
        let names = names.values();
        if names.is_empty() {
            return Err(self.field(what, "needs at least one header name"));
        }
        names
            .into_iter()
            .map(|n| {
                parse_header_name(n)
                    .map_err(|_| self.field(what, format!("`{n}` is not a header name")))
            })
            .collect()
    }

    fn header_name(&self, what: &str, name: &str) -> Result<HeaderName, SchemeFileError> {
        parse_header_name(name)
            .map_err(|_| self.field(what, format!("`{name}` is not a header name")))
    }
}

/// A scheme as written in a file. Typed where the type is the scheme's own ([`Algorithm`],
/// [`Encoding`], [`TimestampUnit`], [`Handshake`]); the rest is checked in [`Self::into_scheme`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SchemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    algorithm: Option<Algorithm>,
    #[serde(default)]
    encoding: Option<Encoding>,
    #[serde(default)]
    signature_header: Option<OneOrMany>,
    #[serde(default)]
    signature_json: Option<String>,
    #[serde(default)]
    signature_query: Option<String>,
    #[serde(default)]
    syntax: Option<SyntaxName>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    signature_key: Option<String>,
    #[serde(default)]
    timestamp_key: Option<String>,
    #[serde(default)]
    jws_body_sha256_claim: Option<String>,
    #[serde(default)]
    jws_issuer: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    timestamp_header: Option<OneOrMany>,
    #[serde(default)]
    timestamp_json: Option<String>,
    #[serde(default)]
    timestamp_unit: Option<TimestampUnit>,
    #[serde(default)]
    tolerance: Option<u64>,
    #[serde(default)]
    tolerance_past: Option<u64>,
    #[serde(default)]
    tolerance_future: Option<u64>,
    #[serde(default)]
    event_id_header: Option<OneOrMany>,
    #[serde(default)]
    event_id_json: Option<String>,
    #[serde(default)]
    event_type_header: Option<String>,
    #[serde(default)]
    event_type_json: Option<String>,
    #[serde(default)]
    key_format: Option<KeyFormatName>,
    #[serde(default)]
    key_prefix: Option<String>,
    #[serde(default)]
    url_either_default_port: bool,
    #[serde(default)]
    url_decode: Option<String>,
    #[serde(default)]
    form_body_hash_param: Option<String>,
    #[serde(default)]
    body_limit: Option<usize>,
    #[serde(default)]
    handshakes: Vec<Handshake>,
    #[serde(default)]
    alternatives: Vec<SchemeFile>,
}

impl SchemeFile {
    /// Builds and checks the scheme; `at` says where this table is, for error messages.
    pub(super) fn into_scheme(self, at: &At<'_>) -> Result<Scheme, SchemeFileError> {
        // Checked by `builder`, which refuses a missing or empty name.
        let name = self.name.as_deref().unwrap_or_default().trim().to_owned();
        let (mut builder, alternatives, handshakes) = self.builder(at, None)?;
        for handshake in handshakes {
            builder = builder.handshake(handshake);
        }
        for (i, alternative) in alternatives.into_iter().enumerate() {
            let here = At(Some(("alternatives", i)));
            let (alt, _, _) = alternative.builder(&here, Some(&name))?;
            let alt = alt.build().map_err(|source| SchemeFileError::Scheme {
                field: here.path(""),
                source,
            })?;
            builder = builder.alternative(alt);
        }
        builder.build().map_err(|source| SchemeFileError::Scheme {
            field: at.path(""),
            source,
        })
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one field after another, in the order of the file format"
    )]
    /// `inherited` is the scheme's name when this table is one of its alternatives.
    fn builder(
        self,
        at: &At<'_>,
        inherited: Option<&str>,
    ) -> Result<(SchemeBuilder, Vec<SchemeFile>, Vec<Handshake>), SchemeFileError> {
        let name = match (inherited, self.name.as_deref().map(str::trim)) {
            (None, Some(name)) if !name.is_empty() => name.to_owned(),
            (None, Some(_)) => return Err(at.field("name", "must not be empty")),
            (None, None) => return Err(at.field("name", "a scheme needs a name")),
            (Some(name), None) => name.to_owned(),
            (Some(_), Some(_)) => {
                return Err(at.field("name", "an alternative takes its scheme's name"));
            }
        };
        if inherited.is_some() && !self.handshakes.is_empty() {
            return Err(at.field("handshakes", "belong to the scheme, not to an alternative"));
        }
        if inherited.is_some() && !self.alternatives.is_empty() {
            return Err(at.field("alternatives", "an alternative has none of its own"));
        }
        let algorithm = self.algorithm.unwrap_or(Algorithm::HmacSha256);
        let syntax_name = self.syntax.unwrap_or(SyntaxName::Single);
        let encoding = self.encoding.unwrap_or(if syntax_name == SyntaxName::Jws {
            Encoding::Base64Url
        } else {
            Encoding::Hex
        });

        let syntax = match syntax_name {
            SyntaxName::Single => SignatureSyntax::single(self.prefix.clone().unwrap_or_default()),
            SyntaxName::VersionedList => {
                SignatureSyntax::versioned_list(self.version.clone().unwrap_or_else(|| "v1".into()))
            }
            SyntaxName::KeyValue => {
                let sep = self.separator.as_deref().unwrap_or(",");
                let mut chars = sep.chars();
                let (Some(separator), None) = (chars.next(), chars.next()) else {
                    return Err(at.field("separator", format!("`{sep}`: expected one character")));
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
            SyntaxName::Jws => {
                let claim = self
                    .jws_body_sha256_claim
                    .clone()
                    .unwrap_or_else(|| "sha256".into());
                let claims = JwsClaims::new(claim);
                SignatureSyntax::jws(match &self.jws_issuer {
                    Some(issuer) => claims.issuer(issuer.clone()),
                    None => claims,
                })
            }
        };
        let misplaced = |name: &str, set: bool, needs: SyntaxName| {
            if set && syntax_name != needs {
                Err(at.field(
                    name,
                    format!("only applies to syntax = \"{}\"", needs.as_str()),
                ))
            } else {
                Ok(())
            }
        };
        misplaced("prefix", self.prefix.is_some(), SyntaxName::Single)?;
        misplaced("version", self.version.is_some(), SyntaxName::VersionedList)?;
        misplaced("separator", self.separator.is_some(), SyntaxName::KeyValue)?;
        misplaced(
            "signature_key",
            self.signature_key.is_some(),
            SyntaxName::KeyValue,
        )?;
        misplaced(
            "timestamp_key",
            self.timestamp_key.is_some(),
            SyntaxName::KeyValue,
        )?;
        misplaced(
            "jws_body_sha256_claim",
            self.jws_body_sha256_claim.is_some(),
            SyntaxName::Jws,
        )?;
        misplaced("jws_issuer", self.jws_issuer.is_some(), SyntaxName::Jws)?;
        if syntax_name == SyntaxName::Jws && self.content.is_some() {
            return Err(at.field(
                "content",
                "a jws scheme signs the token's signing input: leave `content` out",
            ));
        }

        let signature = match (
            &self.signature_header,
            &self.signature_json,
            &self.signature_query,
        ) {
            (Some(h), None, None) => {
                SignatureSource::Header(at.header_names("signature_header", h)?)
            }
            (None, Some(p), None) => SignatureSource::JsonField(at.json_path("signature_json", p)?),
            (None, None, Some(q)) => {
                if q.trim().is_empty() {
                    return Err(at.field("signature_query", "must not be empty"));
                }
                SignatureSource::QueryParam(Cow::Owned(q.trim().to_owned()))
            }
            (None, None, None) => {
                return Err(at.field(
                    "signature_header",
                    "a signature_header (or signature_json, or signature_query) is required",
                ));
            }
            _ => {
                return Err(at.field(
                    "signature_json",
                    "give one of signature_header, signature_json and signature_query",
                ));
            }
        };

        let timestamp = match (
            &self.timestamp_header,
            &self.timestamp_json,
            &self.timestamp_key,
        ) {
            (Some(h), None, None) => Some(TimestampSource::Header(
                at.header_names("timestamp_header", h)?,
            )),
            (None, Some(p), None) => Some(TimestampSource::JsonField(
                at.json_path("timestamp_json", p)?,
            )),
            (None, None, Some(_)) => Some(TimestampSource::SignatureHeader),
            (None, None, None) => None,
            _ => {
                return Err(at.field(
                    "timestamp_header",
                    "give one of timestamp_header, timestamp_json and timestamp_key",
                ));
            }
        };
        if timestamp.is_none() && self.timestamp_unit.is_some() {
            return Err(at.field("timestamp_unit", "set, but the scheme has no timestamp"));
        }

        let url = UrlPart {
            either_default_port: self.url_either_default_port,
            decode: Cow::Owned(self.url_decode.clone().unwrap_or_default().into_bytes()),
        };
        let form = FormParams {
            body_hash_param: self.form_body_hash_param.clone().map(Cow::Owned),
        };
        let content = if syntax_name == SyntaxName::Jws {
            vec![Part::JwsSigningInput]
        } else {
            let template = self
                .content
                .as_deref()
                .unwrap_or(if algorithm == Algorithm::Token {
                    ""
                } else {
                    "{body}"
                });
            parse_template(at, template, &url, &form)?
        };
        if !content.iter().any(|p| matches!(p, Part::Url(_)))
            && (self.url_either_default_port || self.url_decode.is_some())
        {
            return Err(at.field(
                "url_decode",
                "URL options set, but the content has no {url}",
            ));
        }
        if !content.iter().any(|p| matches!(p, Part::FormParams(_)))
            && self.form_body_hash_param.is_some()
        {
            return Err(at.field("form_body_hash_param", "set, but the content has no {form}"));
        }

        let key_format = match self.key_format.unwrap_or(KeyFormatName::Raw) {
            KeyFormatName::Raw => KeyFormat::Raw,
            KeyFormatName::Base64 => KeyFormat::Base64 {
                prefix: self.key_prefix.clone().map(Cow::Owned),
            },
            KeyFormatName::Hex => KeyFormat::Hex,
            KeyFormatName::BasicAuth => KeyFormat::BasicAuth,
        };
        if self.key_prefix.is_some() && !matches!(key_format, KeyFormat::Base64 { .. }) {
            return Err(at.field("key_prefix", "only applies to key_format = \"base64\""));
        }

        let default = Tolerance::default();
        let secs = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_secs);
        let tolerance = Tolerance {
            past: secs(self.tolerance_past.or(self.tolerance), default.past),
            future: secs(self.tolerance_future.or(self.tolerance), default.future),
        };
        let event_id = match (&self.event_id_header, &self.event_id_json) {
            (Some(h), None) => EventIdSource::Header(at.header_names("event_id_header", h)?),
            (None, Some(p)) => EventIdSource::JsonField(at.json_path("event_id_json", p)?),
            (None, None) => EventIdSource::None,
            (Some(_), Some(_)) => {
                return Err(at.field(
                    "event_id_json",
                    "give event_id_header or event_id_json, not both",
                ));
            }
        };
        let mut event_type = Vec::new();
        if let Some(h) = &self.event_type_header {
            event_type.push(EventTypePart::Header(
                at.header_name("event_type_header", h)?,
            ));
        }
        if let Some(p) = &self.event_type_json {
            event_type.push(EventTypePart::JsonField(
                at.json_path("event_type_json", p)?,
            ));
        }
        let event_type =
            EventTypeSource::from_parts(event_type).map_err(|source| SchemeFileError::Scheme {
                field: at.path(""),
                source,
            })?;

        let mut builder = Scheme::builder(name)
            .algorithm(algorithm)
            .encoding(encoding)
            .signature_source(signature, syntax)
            .content(content)
            .key_format(key_format)
            .tolerance(tolerance)
            .event_id(event_id)
            .event_type(event_type);
        if let Some(source) = timestamp {
            let unit = self.timestamp_unit.unwrap_or(TimestampUnit::Seconds);
            builder = builder.timestamp(TimestampSpec { source, unit });
        }
        if let Some(limit) = self.body_limit {
            if limit == 0 {
                return Err(at.field("body_limit", "must be positive"));
            }
            builder = builder.body_limit(limit);
        }
        Ok((builder, self.alternatives, self.handshakes))
    }
}
