//! Secrets as the user configures them: zeroized on drop, never printed.

use std::borrow::Cow;
use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::algorithm::Encoding;
use crate::error::ConfigError;

/// A webhook secret (or, for key-pair schemes, a public key) exactly as configured —
/// e.g. `whsec_…` for Stripe or Standard Webhooks.
///
/// How the bytes are interpreted (raw, base64 after a `whsec_` prefix, …) is the scheme's
/// business. The bytes are zeroized on drop and never appear in `Debug`.
///
/// ```
/// use countersign_core::Secret;
/// let s = Secret::from("whsec_very-secret");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// ```
// No `PartialEq`: `==` on key material would not be constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
    /// A name for logs and metrics (never the value).
    #[zeroize(skip)]
    label: Option<std::sync::Arc<str>>,
    /// Unix seconds after which a match is refused.
    #[zeroize(skip)]
    not_after: Option<u64>,
}

/// Longest [`Secret::label`], in bytes.
pub const MAX_SECRET_LABEL_LEN: usize = 64;

impl Secret {
    /// Wraps raw bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret {
            bytes: bytes.into(),
            label: None,
            not_after: None,
        }
    }

    /// The configured bytes. Handle with care.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Names the secret for logs, metrics and [`Verified::secret_label`](crate::Verified::secret_label):
    /// 1 to 64 bytes of `A-Z a-z 0-9 . _ -` (checked when the verifier is built). The label
    /// is not secret; the value never appears anywhere.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<std::sync::Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Refuses matches after `unix_secs` (Unix seconds, by the verifier's clock): a rotated
    /// secret kept for a grace period. A delivery that only an expired secret signed is
    /// rejected as [`secret_expired`](crate::ErrorKind::SecretExpired).
    #[must_use]
    pub fn not_after(mut self, unix_secs: u64) -> Self {
        self.not_after = Some(unix_secs);
        self
    }

    /// The label, if any.
    #[must_use]
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The expiry in Unix seconds, if any.
    #[must_use]
    pub fn expiry(&self) -> Option<u64> {
        self.not_after
    }

    pub(crate) fn label_arc(&self) -> Option<std::sync::Arc<str>> {
        self.label.clone()
    }

    /// Whether the secret holds no bytes at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(label) => write!(f, "Secret({label}: <redacted>)"),
            None => f.write_str("Secret(<redacted>)"),
        }
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s.into_bytes())
    }
}

impl From<&[u8]> for Secret {
    fn from(b: &[u8]) -> Self {
        Secret::new(b.to_vec())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(b: Vec<u8>) -> Self {
        Secret::new(b)
    }
}

impl From<&String> for Secret {
    fn from(s: &String) -> Self {
        Secret::from(s.as_str())
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
    /// HTTP Basic credentials (RFC 7617): the secret is `user:password`, and the key is its
    /// base64 encoding — what an `Authorization: Basic …` header carries. For token schemes
    /// (`basic-auth`, Postmark, Pipedrive).
    BasicAuth,
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

/// Turns a configured secret into key bytes according to the scheme's [`KeyFormat`].
pub(crate) fn key_bytes(
    secret: &Secret,
    format: &KeyFormat,
    index: usize,
) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let bytes =
        match format {
            KeyFormat::Raw => Zeroizing::new(secret.expose().to_vec()),
            KeyFormat::Base64 { prefix } => {
                let raw = secret.expose();
                let raw = prefix
                    .as_deref()
                    .and_then(|p| raw.strip_prefix(p.as_bytes()))
                    .unwrap_or(raw);
                if raw.is_empty() {
                    return Err(ConfigError::EmptySecret { index });
                }
                Zeroizing::new(Encoding::Base64.decode_vec(raw).ok_or(
                    ConfigError::SecretEncoding {
                        index,
                        expected: "base64 (after the optional prefix)",
                    },
                )?)
            }
            KeyFormat::BasicAuth => {
                let raw = secret.expose();
                if raw.is_empty() {
                    return Err(ConfigError::EmptySecret { index });
                }
                if !raw.contains(&b':') {
                    return Err(ConfigError::SecretEncoding {
                        index,
                        expected: "user:password",
                    });
                }
                Zeroizing::new(Encoding::Base64.encode(raw).into_bytes())
            }
            KeyFormat::Hex => {
                let raw = secret.expose().trim_ascii();
                if raw.is_empty() {
                    return Err(ConfigError::EmptySecret { index });
                }
                Zeroizing::new(Encoding::Hex.decode_vec(raw).ok_or(
                    ConfigError::SecretEncoding {
                        index,
                        expected: "hex",
                    },
                )?)
            }
        };
    if bytes.is_empty() {
        return Err(ConfigError::EmptySecret { index });
    }
    Ok(bytes)
}
