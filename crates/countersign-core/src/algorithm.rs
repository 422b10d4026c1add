//! Signature algorithms and encodings, and the keyed MAC state they run on.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::ConfigError;

/// How a provider computes its signature.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy GitHub, Twilio, …).
    HmacSha1,
    /// HMAC-SHA256, the common case.
    HmacSha256,
    /// HMAC-SHA512.
    HmacSha512,
}

impl Algorithm {
    /// Every algorithm, in declaration order.
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
    ];

    /// Length in bytes of a signature of this algorithm.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// The name used on the command line and in scheme files: `sha1`, `sha256`, `sha512`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "sha1",
            Algorithm::HmacSha256 => "sha256",
            Algorithm::HmacSha512 => "sha512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HMAC-{}", self.as_str().to_ascii_uppercase())
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Accepts `sha1`, `sha256`, `sha512`, case-insensitively, with an optional `hmac-` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let name = lower.strip_prefix("hmac-").unwrap_or(&lower);
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| ConfigError::InvalidValue {
                what: "algorithm (expected sha1, sha256 or sha512)",
                value: s.to_owned(),
            })
    }
}

/// How signature bytes are written into a header.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Hexadecimal; decoding accepts either case, signing writes lowercase.
    Hex,
    /// Standard base64 alphabet; decoding accepts it with or without padding, signing pads.
    Base64,
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Encoding {
    /// Every encoding, in declaration order.
    pub const ALL: &'static [Encoding] = &[Encoding::Hex, Encoding::Base64];

    /// The name used on the command line and in scheme files: `hex`, `base64`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }

    /// Encodes bytes for a header.
    #[must_use]
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => BASE64.encode(bytes),
        }
    }

    /// Decodes `input` into `out`, returning the decoded length, or `None` when the input is
    /// not a valid encoding or does not fit.
    pub(crate) fn decode_into(self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        match self {
            Encoding::Hex => {
                if !input.len().is_multiple_of(2) {
                    return None;
                }
                let n = input.len() / 2;
                let dst = out.get_mut(..n)?;
                hex::decode_to_slice(input, dst).ok()?;
                Some(n)
            }
            Encoding::Base64 => BASE64.decode_slice(input, out).ok(),
        }
    }

    /// Decodes into a fresh vector (configuration paths only).
    pub(crate) fn decode_vec(self, input: &[u8]) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(input).ok(),
            Encoding::Base64 => BASE64.decode(input).ok(),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Encoding {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Encoding::ALL
            .iter()
            .copied()
            .find(|e| e.as_str() == lower)
            .ok_or_else(|| ConfigError::InvalidValue {
                what: "encoding (expected hex or base64)",
                value: s.to_owned(),
            })
    }
}

/// Something the signed content can be streamed into (a MAC, or a buffer for key-pair
/// schemes that need the whole message).
pub(crate) trait Sink {
    fn update(&mut self, bytes: &[u8]);
}

/// The largest tag any algorithm produces.
pub(crate) const MAX_TAG_LEN: usize = 64;

/// A keyed MAC, prepared once per secret: the key's inner and outer pads are hashed when
/// the verifier is built, so each delivery only clones the state.
#[derive(Clone)]
pub(crate) enum MacKey {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

impl MacKey {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, ConfigError> {
        let invalid = |_| ConfigError::InvalidScheme("HMAC key rejected");
        Ok(match algorithm {
            Algorithm::HmacSha1 => MacKey::Sha1(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::HmacSha256 => MacKey::Sha256(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::HmacSha512 => MacKey::Sha512(Hmac::new_from_slice(key).map_err(invalid)?),
        })
    }

    /// A fresh MAC state for one message.
    pub(crate) fn start(&self) -> MacState {
        MacState(self.clone())
    }
}

/// One message's MAC computation in progress.
pub(crate) struct MacState(MacKey);

impl Sink for MacState {
    #[inline]
    fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            MacKey::Sha1(m) => m.update(bytes),
            MacKey::Sha256(m) => m.update(bytes),
            MacKey::Sha512(m) => m.update(bytes),
        }
    }
}

impl MacState {
    pub(crate) fn finalize(self) -> Tag {
        let mut tag = Tag {
            bytes: [0; MAX_TAG_LEN],
            len: 0,
        };
        let mut put = |out: &[u8]| {
            if let Some(dst) = tag.bytes.get_mut(..out.len()) {
                dst.copy_from_slice(out);
                tag.len = out.len();
            }
        };
        match self.0 {
            MacKey::Sha1(m) => put(&m.finalize().into_bytes()),
            MacKey::Sha256(m) => put(&m.finalize().into_bytes()),
            MacKey::Sha512(m) => put(&m.finalize().into_bytes()),
        }
        tag
    }
}

/// A computed MAC. Compared only in constant time.
pub(crate) struct Tag {
    bytes: [u8; MAX_TAG_LEN],
    len: usize,
}

impl Tag {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Constant-time comparison with a decoded candidate (length differences are not secret).
    pub(crate) fn ct_matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.as_bytes().ct_eq(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!("SHA256".parse::<Algorithm>(), Ok(Algorithm::HmacSha256));
        assert_eq!("hmac-sha1".parse::<Algorithm>(), Ok(Algorithm::HmacSha1));
        assert!("md5".parse::<Algorithm>().is_err());
        assert_eq!("Base64".parse::<Encoding>(), Ok(Encoding::Base64));
        assert!("base32".parse::<Encoding>().is_err());
    }

    #[test]
    fn decode_bounds() {
        let mut out = [0u8; 4];
        assert_eq!(Encoding::Hex.decode_into(b"00ff", &mut out), Some(2));
        assert_eq!(Encoding::Hex.decode_into(b"0", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"0011223344", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"zz", &mut out), None);
        assert_eq!(Encoding::Base64.decode_into(b"AAE=", &mut out), Some(2));
        assert_eq!(Encoding::Base64.decode_into(b"AAE", &mut out), Some(2));
        assert_eq!(Encoding::Base64.decode_into(b"AA*=", &mut out), None);
        assert_eq!(
            Encoding::Base64.decode_into(b"AAAAAAAAAAAA", &mut out),
            None
        );
    }

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let key = MacKey::new(Algorithm::HmacSha256, b"Jefe").unwrap();
        let mut st = key.start();
        st.update(b"what do ya want ");
        st.update(b"for nothing?");
        assert_eq!(
            hex::encode(st.finalize().as_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
