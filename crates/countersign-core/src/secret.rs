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
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The configured bytes. Handle with care.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret holds no bytes at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s.into_bytes())
    }
}

impl From<&[u8]> for Secret {
    fn from(b: &[u8]) -> Self {
        Secret(b.to_vec())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(b: Vec<u8>) -> Self {
        Secret(b)
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
