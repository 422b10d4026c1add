//! The two error families: configuration errors (raised when a verifier or signer is built)
//! and verification failures (raised per delivery).
//!
//! Neither ever contains key material or an expected signature. A verification failure's
//! [`Display`](std::fmt::Display) is written for the operator; the text sent back to the sender
//! should stay vague (see [`ErrorKind::public_message`]).

use std::fmt;
use std::time::Duration;

use http::{HeaderName, StatusCode};

/// The stable, machine-readable class of a verification failure.
///
/// These names are part of the `countersign verify` contract (`"error": "<kind>"`) and map
/// 1:1 to [`VerifyError`] variants.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A header the scheme needs is absent.
    MissingHeader,
    /// A header is present but cannot be parsed (or appears more than once).
    MalformedHeader,
    /// The signed timestamp is not a well-formed value of the scheme's unit.
    MalformedTimestamp,
    /// The signature header holds no entry of a version this scheme supports.
    NoSupportedSignature,
    /// No signature entry matched any configured secret.
    SignatureMismatch,
    /// The signed timestamp is older than the past tolerance.
    TimestampTooOld,
    /// The signed timestamp is further in the future than the future tolerance.
    TimestampTooNew,
    /// The body exceeds the configured limit.
    BodyTooLarge,
    /// The body cannot be parsed where the scheme needs to read it.
    MalformedBody,
    /// The scheme signs the request URL but the delivery does not carry one: a receiver
    /// misconfiguration, not the sender's fault.
    MissingUrl,
    /// The signature matched only a secret past its `not_after`: a retired secret still in
    /// use by the sender (or by someone holding the old one).
    SecretExpired,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::MissingHeader,
        ErrorKind::MalformedHeader,
        ErrorKind::MalformedTimestamp,
        ErrorKind::NoSupportedSignature,
        ErrorKind::SignatureMismatch,
        ErrorKind::TimestampTooOld,
        ErrorKind::TimestampTooNew,
        ErrorKind::BodyTooLarge,
        ErrorKind::MalformedBody,
        ErrorKind::MissingUrl,
        ErrorKind::SecretExpired,
    ];

    /// The stable snake_case name, e.g. `"signature_mismatch"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingHeader => "missing_header",
            ErrorKind::MalformedHeader => "malformed_header",
            ErrorKind::MalformedTimestamp => "malformed_timestamp",
            ErrorKind::NoSupportedSignature => "no_supported_signature",
            ErrorKind::SignatureMismatch => "signature_mismatch",
            ErrorKind::TimestampTooOld => "timestamp_too_old",
            ErrorKind::TimestampTooNew => "timestamp_too_new",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::MalformedBody => "malformed_body",
            ErrorKind::MissingUrl => "missing_url",
            ErrorKind::SecretExpired => "secret_expired",
        }
    }

    /// The HTTP status a receiving endpoint should answer with.
    ///
    /// 400 for missing or malformed input, 401 for authentication failures (mismatch, no
    /// supported signature, timestamp outside the tolerance), 413 for an oversized body, 500
    /// when the receiver did not supply the URL a URL-bound scheme signs.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorKind::MissingHeader
            | ErrorKind::MalformedHeader
            | ErrorKind::MalformedTimestamp
            | ErrorKind::MalformedBody => StatusCode::BAD_REQUEST,
            ErrorKind::NoSupportedSignature
            | ErrorKind::SignatureMismatch
            | ErrorKind::TimestampTooOld
            | ErrorKind::TimestampTooNew
            | ErrorKind::SecretExpired => StatusCode::UNAUTHORIZED,
            ErrorKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::MissingUrl => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short text that is safe to send back to the (possibly hostile) sender.
    #[must_use]
    pub const fn public_message(self) -> &'static str {
        match self {
            ErrorKind::MissingHeader | ErrorKind::MalformedHeader => {
                "webhook signature headers missing or malformed"
            }
            ErrorKind::MalformedTimestamp => "webhook timestamp malformed",
            ErrorKind::NoSupportedSignature
            | ErrorKind::SignatureMismatch
            | ErrorKind::SecretExpired => "webhook signature invalid",
            ErrorKind::TimestampTooOld | ErrorKind::TimestampTooNew => {
                "webhook timestamp outside tolerance"
            }
            ErrorKind::BodyTooLarge => "webhook body too large",
            ErrorKind::MalformedBody => "webhook body malformed",
            ErrorKind::MissingUrl => "webhook endpoint misconfigured",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ErrorKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// Why a delivery was rejected.
///
/// The `Display` text is precise and meant for logs; it names headers and limits but never
/// secrets or the expected signature.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header is absent.
    #[error("missing header `{name}`")]
    MissingHeader {
        /// The header looked for (the first name when several are accepted).
        name: HeaderName,
    },
    /// A header is present but unusable.
    #[error("malformed header `{name}`: {reason}")]
    MalformedHeader {
        /// The offending header.
        name: HeaderName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is not valid for the scheme's unit.
    #[error("malformed timestamp: {reason}")]
    MalformedTimestamp {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature header has entries, but none of a supported version.
    #[error("no signature of a supported version in `{name}`")]
    NoSupportedSignature {
        /// The signature header.
        name: HeaderName,
    },
    /// No candidate signature matched any configured secret.
    #[error(
        "signature mismatch: {candidates} candidate signature(s), {undecodable} not decodable as {expected}"
    )]
    SignatureMismatch {
        /// How many entries of a supported version the header carried.
        candidates: usize,
        /// How many of them were not valid encodings of a signature of the right length.
        undecodable: usize,
        /// The expected encoding, e.g. `hex` or `base64`.
        expected: &'static str,
    },
    /// The signed timestamp is older than the past tolerance.
    #[error("timestamp too old: {age:?} old, tolerance {tolerance:?}")]
    TimestampTooOld {
        /// How old the timestamp is (saturating).
        age: Duration,
        /// The configured past tolerance.
        tolerance: Duration,
    },
    /// The signed timestamp is too far in the future.
    #[error("timestamp too new: {ahead:?} in the future, tolerance {tolerance:?}")]
    TimestampTooNew {
        /// How far ahead of the clock it is (saturating).
        ahead: Duration,
        /// The configured future tolerance.
        tolerance: Duration,
    },
    /// The body exceeds the limit.
    #[error("body too large: limit is {limit} bytes")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The body cannot be read where the scheme needs it.
    #[error("malformed body: {reason}")]
    MalformedBody {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The scheme signs the request URL and the delivery carries none
    /// ([`Delivery::url`](crate::Delivery::url)).
    #[error("the scheme signs the request URL but none was given (configure the public URL)")]
    MissingUrl,
    /// The signature matched only secrets past their `not_after`
    /// ([`Secret::not_after`](crate::Secret::not_after)).
    #[error("signed with an expired secret{}", label.as_deref().map(|l| format!(" `{l}`")).unwrap_or_default())]
    SecretExpired {
        /// The label of the expired secret that matched, if it has one (never the value).
        label: Option<String>,
    },
}

impl VerifyError {
    /// The stable class of this failure.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::MissingHeader { .. } => ErrorKind::MissingHeader,
            VerifyError::MalformedHeader { .. } => ErrorKind::MalformedHeader,
            VerifyError::MalformedTimestamp { .. } => ErrorKind::MalformedTimestamp,
            VerifyError::NoSupportedSignature { .. } => ErrorKind::NoSupportedSignature,
            VerifyError::SignatureMismatch { .. } => ErrorKind::SignatureMismatch,
            VerifyError::TimestampTooOld { .. } => ErrorKind::TimestampTooOld,
            VerifyError::TimestampTooNew { .. } => ErrorKind::TimestampTooNew,
            VerifyError::BodyTooLarge { .. } => ErrorKind::BodyTooLarge,
            VerifyError::MalformedBody { .. } => ErrorKind::MalformedBody,
            VerifyError::MissingUrl => ErrorKind::MissingUrl,
            VerifyError::SecretExpired { .. } => ErrorKind::SecretExpired,
        }
    }

    /// Shorthand for `self.kind().status()`.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.kind().status()
    }
}

/// A verifier, signer or scheme was configured wrongly.
///
/// Raised when building, never per request. Never contains the secret itself.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No secret (or key) was configured.
    #[error("no secret configured")]
    NoSecret,
    /// A secret is empty (after removing its prefix, if any).
    #[error("secret #{} is empty", .index.saturating_add(1))]
    EmptySecret {
        /// Position of the secret in configuration order, starting at 0 (the message counts
        /// from 1, as people do: index 0 is `secret #1`).
        index: usize,
    },
    /// A secret could not be decoded in the format the scheme expects.
    #[error("secret #{} is not valid {expected}", .index.saturating_add(1))]
    SecretEncoding {
        /// Position of the secret in configuration order, starting at 0 (the message counts
        /// from 1, as people do: index 0 is `secret #1`).
        index: usize,
        /// The expected format, e.g. `base64 (optionally prefixed with whsec_)`.
        expected: &'static str,
    },
    /// The name does not belong to any preset.
    #[error("unknown preset `{0}`")]
    UnknownPreset(String),
    /// The scheme is incomplete or inconsistent.
    #[error("invalid scheme: {0}")]
    InvalidScheme(&'static str),
    /// An option was given that this scheme does not take.
    #[error("option `{option}` does not apply to preset `{preset}`")]
    UnsupportedOption {
        /// The option, e.g. `algorithm`.
        option: &'static str,
        /// The preset name.
        preset: String,
    },
    /// A value could not be parsed (an algorithm or encoding name, a header name, …).
    #[error("invalid {what}: `{value}`")]
    InvalidValue {
        /// What was being parsed.
        what: &'static str,
        /// The value given (never a secret).
        value: String,
    },
    /// A configured public key (key-pair schemes) cannot be decoded or is not a valid key.
    #[error("secret #{} is not a valid {expected}", .index.saturating_add(1))]
    InvalidPublicKey {
        /// Position of the key in configuration order, starting at 0 (the message counts
        /// from 1: index 0 is `secret #1`).
        index: usize,
        /// The expected key, e.g. `Ed25519 public key (32 raw bytes or SPKI DER)`.
        expected: &'static str,
    },
    /// The scheme's algorithm is compiled out: key-pair schemes need countersign-core's
    /// default feature of the same name (`ed25519`, `p256`; the facade, countersign-tower and
    /// the CLI forward them under the same names).
    #[error("{algorithm} keys need the `{feature}` feature of countersign (on by default)")]
    FeatureDisabled {
        /// The algorithm, e.g. `Ed25519`.
        algorithm: &'static str,
        /// The Cargo feature that compiles it in, e.g. `ed25519`.
        feature: &'static str,
    },
    /// More secrets than a verifier accepts.
    #[error("too many secrets: at most {max}")]
    TooManySecrets {
        /// The maximum.
        max: usize,
    },
}

/// A delivery could not be signed with the inputs given.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The scheme signs an input that was not supplied (e.g. the message id, the URL).
    #[error("signing with this scheme needs the {0}")]
    MissingInput(&'static str),
    /// An input cannot be put into a header (e.g. an id with a newline).
    #[error("invalid value for header `{0}`")]
    InvalidHeaderValue(HeaderName),
    /// A timestamp cannot be represented in the scheme's unit.
    #[error("timestamp out of range")]
    TimestampOutOfRange,
    /// The scheme cannot be used to sign with the key configured (e.g. a public key).
    #[error("this scheme cannot sign: {0}")]
    Unsupported(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_stable_and_round_trip() {
        let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "missing_header",
                "malformed_header",
                "malformed_timestamp",
                "no_supported_signature",
                "signature_mismatch",
                "timestamp_too_old",
                "timestamp_too_new",
                "body_too_large",
                "malformed_body",
                "missing_url",
                "secret_expired"
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(k.as_str().parse::<ErrorKind>(), Ok(*k));
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorKind::MissingHeader.status(), 400);
        assert_eq!(ErrorKind::SignatureMismatch.status(), 401);
        assert_eq!(ErrorKind::TimestampTooOld.status(), 401);
        assert_eq!(ErrorKind::BodyTooLarge.status(), 413);
        assert_eq!(ErrorKind::MissingUrl.status(), 500);
    }
}
