//! Schemes described in configuration (JSON, or TOML with the `toml` feature), so a
//! provider countersign lacks needs no code.
//!
//! [`Scheme`] implements [`serde::Deserialize`]: a scheme file, and a scheme table inside a
//! larger configuration, deserialise into the same validated type that presets and
//! [`Scheme::builder`] make. The format is documented on that impl.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::error::ConfigError;
use crate::scheme::Scheme;

mod file;
mod names;
mod template;
#[cfg(test)]
mod tests;

use file::{At, SchemeFile};

/// A scheme file could not be turned into a scheme.
///
/// `field` is where the mistake is, as a path from the top of the file
/// (`alternatives[0].algorithm`); empty when it is the file as a whole.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SchemeFileError {
    /// Not valid JSON, or not the expected shape (an unknown field, a wrong type, an unknown
    /// algorithm name).
    #[error("invalid scheme file: {}{source}", Located(field))]
    Json {
        /// Where, e.g. `algorithm`.
        field: String,
        /// What the JSON reader said.
        #[source]
        source: serde_json::Error,
    },
    /// Not valid TOML, or not the expected shape.
    #[cfg(feature = "toml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    #[error("invalid scheme file: {}{source}", Located(field))]
    Toml {
        /// Where, e.g. `algorithm`.
        field: String,
        /// What the TOML reader said.
        #[source]
        source: toml::de::Error,
    },
    /// A field has a value that cannot be used.
    #[error("invalid scheme file: `{field}`: {reason}")]
    Field {
        /// The field, e.g. `content` or `alternatives[0].key_prefix`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The fields are individually fine but do not make a consistent scheme.
    #[error("invalid scheme file: {}{source}", Located(field))]
    Scheme {
        /// Empty for the scheme itself, `alternatives[N]` for one of its alternatives.
        field: String,
        /// Why the scheme was refused.
        #[source]
        source: ConfigError,
    },
}

/// "`field`: " before a message, or nothing for the file as a whole.
struct Located<'a>(&'a String);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "`{}`: ", self.0)
        }
    }
}

/// The path serde_path_to_error saw, or empty at the top (it prints `.` there).
fn located(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." { String::new() } else { path }
}

impl Scheme {
    /// Reads a scheme from its JSON description (the format is documented on `Scheme`'s
    /// `Deserialize` impl, below).
    ///
    /// # Errors
    /// [`SchemeFileError`] naming the field or the inconsistency.
    pub fn from_json(text: &str) -> Result<Scheme, SchemeFileError> {
        let mut reader = serde_json::Deserializer::from_str(text);
        let file: SchemeFile =
            serde_path_to_error::deserialize(&mut reader).map_err(|e| SchemeFileError::Json {
                field: located(e.path()),
                source: e.into_inner(),
            })?;
        reader.end().map_err(|source| SchemeFileError::Json {
            field: String::new(),
            source,
        })?;
        file.into_scheme(&At::top())
    }

    /// Reads a scheme from its TOML description (the format is documented on `Scheme`'s
    /// `Deserialize` impl, below).
    ///
    /// # Errors
    /// [`SchemeFileError`] naming the field or the inconsistency.
    #[cfg(feature = "toml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    pub fn from_toml(text: &str) -> Result<Scheme, SchemeFileError> {
        let toml_error = |field: String, source| SchemeFileError::Toml { field, source };
        let reader = toml::Deserializer::parse(text).map_err(|e| toml_error(String::new(), e))?;
        let file: SchemeFile = serde_path_to_error::deserialize(reader)
            .map_err(|e| toml_error(located(e.path()), e.into_inner()))?;
        file.into_scheme(&At::top())
    }
}

/// A scheme file, or a scheme table inside a larger configuration, read into the same
/// validated [`Scheme`] that presets and [`Scheme::builder`] make: every check the builder
/// makes applies, and a mistake is an error naming its field.
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
/// syntax = "key-value"                # single (default) | versioned-list | key-value | jws
/// # prefix = "sha256="                # single: text before the signature
/// # version = "v1"                    # versioned-list: `v1,<sig> v1,<sig>`
/// separator = ","                     # key-value: between pairs
/// signature_key = "v1"                # key-value: key of signature entries
/// timestamp_key = "t"                 # key-value: key of the timestamp, if it is there
/// # jws_body_sha256_claim = "sha256"  # jws: the claim holding the body's hex SHA-256
/// # jws_issuer = "netlify"            # jws: the `iss` claim required, if any
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
/// handshakes = []                     # built-in handshakes by name (see below)
/// # [[alternatives]]                  # other ways the same provider signs (see below)
/// ```
///
/// The content template is literal text with placeholders: `{body}`, `{timestamp}`,
/// `{method}`, `{url}`, `{form}` (Twilio-style sorted form parameters), `{header:Name}` and
/// `{json:a.b}`; `{{` and `}}` are literal braces. JSON paths are object keys separated by
/// dots. The timestamp comes from `timestamp_header`, `timestamp_json`, or — with a
/// `timestamp_key` — the signature header itself. A `jws` scheme signs the token's own
/// signing input: it has no `content`, and its encoding is `base64url`.
///
/// `handshakes` lists the provider checks the verifier answers, by the names of
/// [`Handshake::BUILT_IN`](crate::Handshake::BUILT_IN): `slack-url-verification`,
/// `twitch-webhook-callback-verification`, `zoom-endpoint-url-validation`, `discord-ping`,
/// `meta-verification`, `x-crc`, `graph-validation`.
///
/// Each `[[alternatives]]` table is another scheme of the same provider, without a `name`
/// (it takes the scheme's), `handshakes` or alternatives of its own, and with
/// `key_format = "base64"` and a `key_prefix`: a configured secret with that prefix is
/// verified by the alternative (see [`SchemeBuilder::alternative`](crate::SchemeBuilder::alternative)).
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
///
/// // A scheme inside your own configuration is the same type, checked the same way.
/// #[derive(serde::Deserialize)]
/// struct Config {
///     listen: String,
///     scheme: Scheme,
/// }
/// let config: Config = serde_json::from_str(
///     r#"{"listen": "127.0.0.1:8080", "scheme": {"name": "acme", "signature_header": "x-s",
///         "handshakes": ["slack-url-verification"]}}"#,
/// )?;
/// assert_eq!(config.scheme.handshakes().len(), 1);
/// assert!(serde_json::from_str::<Config>(
///     r#"{"listen": "", "scheme": {"name": "acme", "signature_header": "x-s", "content": "{bdy}"}}"#,
/// ).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SchemeFile::deserialize(deserializer)?
            .into_scheme(&At::top())
            .map_err(serde::de::Error::custom)
    }
}
