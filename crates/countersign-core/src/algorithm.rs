//! Signature algorithms and encodings, and the keyed MAC state they run on.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::ConfigError;

/// How a provider computes its signature.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy GitHub, Twilio, Intercom, Vercel, …).
    HmacSha1,
    /// HMAC-SHA256, the common case.
    HmacSha256,
    /// HMAC-SHA512.
    HmacSha512,
    /// Plain SHA-256 over the secret followed by the signed content (HubSpot's v1 and v2
    /// signatures). Not a MAC — it is open to length extension — and supported only because
    /// some senders still use it.
    Sha256SecretPrefix,
    /// Ed25519 (RFC 8032) with the sender's public key, checked with `verify_strict`
    /// (Discord, Standard Webhooks `v1a`). Verify-only: the configured "secret" is the public
    /// key.
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256, DER-encoded signatures (SendGrid). Verify-only:
    /// the configured "secret" is the public key (SPKI DER).
    EcdsaP256Sha256,
    /// No signature: the header carries the shared secret itself (GitLab `X-Gitlab-Token`).
    /// Compared in constant time through SHA-256 digests, so not even the secret's length
    /// leaks. Proves only that the sender knows the secret; nothing is signed.
    Token,
    /// HMAC-MD5 (Patreon). MD5 is broken as a hash, but HMAC-MD5 is still not forgeable
    /// without the key; supported because some senders use nothing else.
    HmacMd5,
}

impl Algorithm {
    /// Every algorithm, in declaration order.
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
        Algorithm::Sha256SecretPrefix,
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::Token,
        Algorithm::HmacMd5,
    ];

    /// The HMAC algorithms, the ones a sender usually lets you choose.
    pub const HMAC: &'static [Algorithm] = &[
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
        Algorithm::HmacMd5,
    ];

    /// Length in bytes of a decoded signature of this algorithm: the digest length for the
    /// hashes, 64 for Ed25519, the maximum (72) for DER-encoded ECDSA, 32 for a token (its
    /// SHA-256 digest).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 | Algorithm::Sha256SecretPrefix | Algorithm::Token => 32,
            Algorithm::HmacSha512 | Algorithm::Ed25519 => 64,
            Algorithm::EcdsaP256Sha256 => 72,
        }
    }

    /// The smallest decoded signature accepted (only DER-encoded ECDSA varies).
    pub(crate) const fn min_output_len(self) -> usize {
        match self {
            Algorithm::EcdsaP256Sha256 => 8,
            other => other.output_len(),
        }
    }

    /// Whether the configured secret is a public key and the scheme can only verify.
    #[must_use]
    pub const fn is_key_pair(self) -> bool {
        matches!(self, Algorithm::Ed25519 | Algorithm::EcdsaP256Sha256)
    }

    /// Whether this is one of the HMAC algorithms.
    #[must_use]
    pub const fn is_hmac(self) -> bool {
        matches!(
            self,
            Algorithm::HmacSha1
                | Algorithm::HmacSha256
                | Algorithm::HmacSha512
                | Algorithm::HmacMd5
        )
    }

    /// The name used on the command line and in scheme files: `sha1`, `sha256`, `sha512`,
    /// `sha256-secret-prefix`, `ed25519`, `ecdsa-p256-sha256`, `token`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacMd5 => "md5",
            Algorithm::HmacSha1 => "sha1",
            Algorithm::HmacSha256 => "sha256",
            Algorithm::HmacSha512 => "sha512",
            Algorithm::Sha256SecretPrefix => "sha256-secret-prefix",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::Token => "token",
        }
    }
}

impl fmt::Display for Algorithm {
    /// `HMAC-SHA256`, `SHA-256(secret+content)`, `Ed25519`, `ECDSA-P256-SHA256`, `token`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Algorithm::HmacSha1
            | Algorithm::HmacSha256
            | Algorithm::HmacSha512
            | Algorithm::HmacMd5 => {
                write!(f, "HMAC-{}", self.as_str().to_ascii_uppercase())
            }
            Algorithm::Sha256SecretPrefix => f.write_str("SHA-256(secret+content)"),
            Algorithm::Ed25519 => f.write_str("Ed25519"),
            Algorithm::EcdsaP256Sha256 => f.write_str("ECDSA-P256-SHA256"),
            Algorithm::Token => f.write_str("token"),
        }
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Accepts the names of [`Algorithm::as_str`], case-insensitively; the HMAC ones also
    /// with an `hmac-` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let hmac_name = lower.strip_prefix("hmac-");
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| {
                a.as_str() == lower || (a.is_hmac() && hmac_name.is_some_and(|n| n == a.as_str()))
            })
            .ok_or_else(|| ConfigError::InvalidValue {
                what: "algorithm (expected md5, sha1, sha256, sha512, sha256-secret-prefix, ed25519, ecdsa-p256-sha256 or token)",
                value: s.to_owned(),
            })
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    /// A name [`FromStr`] accepts: `"sha256"`, `"hmac-sha512"`, `"ed25519"`, …
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format_args!(
                "`{text}`: expected md5, sha1, sha256, sha512, sha256-secret-prefix, ed25519, ecdsa-p256-sha256 or token"
            ))
        })
    }
}

/// How signature bytes are written into a header.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Lowercase hexadecimal. Signatures are accepted in lowercase only, the form every
    /// provider sends and their libraries compare against; signing writes lowercase.
    /// (Configured keys, e.g. Discord's public key, are decoded in either case.)
    Hex,
    /// Standard base64 alphabet, padded. Signatures are accepted only in that canonical form
    /// (padding present, no stray trailing bits), as every provider sends them; signing
    /// pads. (Configured secrets are decoded with or without padding.)
    Base64,
    /// Base64 with the URL-safe alphabet (`-`, `_`) and no padding (RFC 4648 §5, as in
    /// JWS). Padded values are not the canonical spelling and are refused.
    Base64Url,
}

/// Configuration (secrets, keys): padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Signatures: the canonical form only (padding required, trailing bits zero).
const BASE64_CANONICAL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const BASE64URL_CANONICAL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

impl Encoding {
    /// Every encoding, in declaration order.
    pub const ALL: &'static [Encoding] = &[Encoding::Hex, Encoding::Base64, Encoding::Base64Url];

    /// The name used on the command line and in scheme files: `hex`, `base64`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
        }
    }

    /// Encodes bytes for a header.
    #[must_use]
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => BASE64.encode(bytes),
            Encoding::Base64Url => BASE64URL_CANONICAL.encode(bytes),
        }
    }

    /// Decodes a received signature into `out`, returning the decoded length, or `None` when
    /// the input is not the canonical encoding (lowercase hex, padded base64) or does not
    /// fit. One signature has exactly one accepted spelling.
    pub(crate) fn decode_into(self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        match self {
            Encoding::Hex => {
                if !input.len().is_multiple_of(2) {
                    return None;
                }
                let n = input.len() / 2;
                let dst = out.get_mut(..n)?;
                // Not `hex::decode_to_slice`: its per-character error reporting cost as much
                // as the rest of the header parsing. Invalid digits map to 0xFF and are
                // caught once at the end. (The input is the sender's, not a secret.)
                let mut invalid = 0u8;
                for (byte, pair) in dst.iter_mut().zip(input.chunks_exact(2)) {
                    let &[hi, lo] = pair else { return None };
                    let (hi, lo) = (hex_digit(hi), hex_digit(lo));
                    invalid |= hi | lo;
                    *byte = hi.wrapping_shl(4) | lo;
                }
                (invalid & 0xF0 == 0).then_some(n)
            }
            Encoding::Base64 => BASE64_CANONICAL.decode_slice(input, out).ok(),
            Encoding::Base64Url => BASE64URL_CANONICAL.decode_slice(input, out).ok(),
        }
    }

    /// Decodes the canonical spelling into a fresh vector (bounded inputs only).
    pub(crate) fn decode_vec_canonical(self, input: &[u8]) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(input).ok(),
            Encoding::Base64 => BASE64_CANONICAL.decode(input).ok(),
            Encoding::Base64Url => BASE64URL_CANONICAL.decode(input).ok(),
        }
    }

    /// Decodes into a fresh vector (configuration paths only).
    pub(crate) fn decode_vec(self, input: &[u8]) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(input).ok(),
            Encoding::Base64 => BASE64.decode(input).ok(),
            Encoding::Base64Url => BASE64URL.decode(input).ok(),
        }
    }
}

/// The value of a lowercase hex digit, or 0xFF.
#[inline]
fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c.wrapping_sub(b'0'),
        b'a'..=b'f' => c.wrapping_sub(b'a' - 10),
        _ => 0xFF,
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
                what: "encoding (expected hex, base64 or base64url)",
                value: s.to_owned(),
            })
    }
}

impl<'de> serde::Deserialize<'de> for Encoding {
    /// `"hex"`, `"base64"` or `"base64url"`, in any case.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        text.trim().parse().map_err(|_| {
            serde::de::Error::custom(format_args!("`{text}`: expected hex, base64 or base64url"))
        })
    }
}

/// Something the signed content can be streamed into (a MAC, or a buffer for key-pair
/// schemes that need the whole message).
pub(crate) trait Sink {
    fn update(&mut self, bytes: &[u8]);
}

/// The largest tag a MAC produces.
pub(crate) const MAX_TAG_LEN: usize = 64;

/// A keyed digest, prepared once per secret: an HMAC's inner and outer pads (or the
/// secret-prefixed hash state) are computed when the verifier is built, so each delivery
/// only clones the state.
#[derive(Clone)]
pub(crate) enum MacKey {
    Md5(Hmac<Md5>),
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
    /// SHA-256 already fed with the secret (HubSpot v1/v2).
    PrefixedSha256(Sha256),
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

impl MacKey {
    /// `None` for algorithms that are not keyed digests.
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Result<Option<Self>, ConfigError> {
        let invalid = |_| ConfigError::InvalidScheme("HMAC key rejected");
        Ok(Some(match algorithm {
            Algorithm::HmacMd5 => MacKey::Md5(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::HmacSha1 => MacKey::Sha1(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::HmacSha256 => MacKey::Sha256(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::HmacSha512 => MacKey::Sha512(Hmac::new_from_slice(key).map_err(invalid)?),
            Algorithm::Sha256SecretPrefix => {
                let mut h = Sha256::new();
                Digest::update(&mut h, key);
                MacKey::PrefixedSha256(h)
            }
            Algorithm::Ed25519 | Algorithm::EcdsaP256Sha256 | Algorithm::Token => return Ok(None),
        }))
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
            MacKey::Md5(m) => m.update(bytes),
            MacKey::Sha1(m) => m.update(bytes),
            MacKey::Sha256(m) => m.update(bytes),
            MacKey::Sha512(m) => m.update(bytes),
            MacKey::PrefixedSha256(h) => Digest::update(h, bytes),
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
            MacKey::Md5(m) => put(&m.finalize().into_bytes()),
            MacKey::Sha1(m) => put(&m.finalize().into_bytes()),
            MacKey::Sha256(m) => put(&m.finalize().into_bytes()),
            MacKey::Sha512(m) => put(&m.finalize().into_bytes()),
            MacKey::PrefixedSha256(h) => put(&h.finalize()),
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
        let tag = self.as_bytes();
        if tag.len() != candidate.len() {
            return false;
        }
        // Word by word: `subtle` puts an optimisation barrier on every comparison, and one
        // per byte was measurable next to a 1 KiB HMAC.
        let (tag_words, tag_rest) = tag.as_chunks::<8>();
        let (cand_words, cand_rest) = candidate.as_chunks::<8>();
        let mut equal = tag_rest.ct_eq(cand_rest);
        for (t, c) in tag_words.iter().zip(cand_words) {
            equal &= u64::from_ne_bytes(*t).ct_eq(&u64::from_ne_bytes(*c));
        }
        bool::from(equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!("SHA256".parse::<Algorithm>(), Ok(Algorithm::HmacSha256));
        assert_eq!("hmac-sha1".parse::<Algorithm>(), Ok(Algorithm::HmacSha1));
        assert_eq!("Ed25519".parse::<Algorithm>(), Ok(Algorithm::Ed25519));
        assert!("hmac-ed25519".parse::<Algorithm>().is_err());
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>(), Ok(*a));
        }
        assert_eq!("md5".parse::<Algorithm>(), Ok(Algorithm::HmacMd5));
        assert_eq!("hmac-md5".parse::<Algorithm>(), Ok(Algorithm::HmacMd5));
        assert_eq!("Base64".parse::<Encoding>(), Ok(Encoding::Base64));
        assert!("base32".parse::<Encoding>().is_err());
        assert_eq!("base64url".parse::<Encoding>(), Ok(Encoding::Base64Url));
    }

    #[test]
    fn decode_bounds() {
        let mut out = [0u8; 4];
        assert_eq!(Encoding::Hex.decode_into(b"00ff", &mut out), Some(2));
        assert_eq!(Encoding::Hex.decode_into(b"0", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"0011223344", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"zz", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"abcd", &mut out), Some(2));
        assert_eq!(out[..2], [0xab, 0xcd]);
        // Uppercase is not what providers send: one signature, one spelling.
        assert_eq!(Encoding::Hex.decode_into(b"aBcD", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"ABCD", &mut out), None);
        assert_eq!(Encoding::Hex.decode_into(b"", &mut out), Some(0));
        for bad in [
            &b"0g"[..],
            b"g0",
            b"0:",
            b"/0",
            b"@0",
            b"0G",
            b"`0",
            b"0 ",
            b"\xff0",
        ] {
            assert_eq!(Encoding::Hex.decode_into(bad, &mut out), None, "{bad:?}");
        }
        // Every byte pair agrees with the `hex` crate on lowercase input.
        for hi in 0..=255u8 {
            for lo in 0..=255u8 {
                let mut ours = [0u8; 1];
                let mut theirs = [0u8; 1];
                let ok = Encoding::Hex.decode_into(&[hi, lo], &mut ours).is_some();
                let lower = !hi.is_ascii_uppercase() && !lo.is_ascii_uppercase();
                assert_eq!(
                    ok,
                    lower && hex::decode_to_slice([hi, lo], &mut theirs).is_ok(),
                    "{hi:#x} {lo:#x}"
                );
                if ok {
                    assert_eq!(ours, theirs);
                }
            }
        }
        assert_eq!(Encoding::Base64.decode_into(b"AAE=", &mut out), Some(2));
        // Unpadded, or with non-zero trailing bits: not canonical.
        assert_eq!(Encoding::Base64.decode_into(b"AAE", &mut out), None);
        assert_eq!(Encoding::Base64.decode_into(b"AAF=", &mut out), None);
        assert_eq!(Encoding::Base64.decode_vec(b"AAE"), Some(vec![0, 1]));
        assert_eq!(Encoding::Base64.decode_into(b"AA*=", &mut out), None);
        assert_eq!(
            Encoding::Base64.decode_into(b"AAAAAAAAAAAA", &mut out),
            None
        );
    }

    #[test]
    fn base64url_is_canonical_and_unpadded() {
        let mut out = [0u8; 4];
        // 0xfb 0xff: `+/8=` in standard base64, `-_8` in base64url.
        assert_eq!(Encoding::Base64Url.encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(Encoding::Base64Url.decode_into(b"-_8", &mut out), Some(2));
        assert_eq!(out[..2], [0xfb, 0xff]);
        for bad in [&b"-_8="[..], b"+/8", b"-_9", b"-_8 "] {
            assert_eq!(
                Encoding::Base64Url.decode_into(bad, &mut out),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(
            Encoding::Base64Url.decode_vec(b"-_8="),
            Some(vec![0xfb, 0xff])
        );
        assert_eq!(Encoding::Base64.decode_into(b"-_8=", &mut out), None);
    }

    #[test]
    fn hmac_md5_rfc2202_case_2() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = MacKey::new(Algorithm::HmacMd5, b"Jefe").unwrap().unwrap();
        let mut st = key.start();
        st.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(st.finalize().as_bytes()),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }

    #[test]
    fn tags_compare_whole() {
        for alg in Algorithm::ALL {
            // Key-pair and token algorithms have no MAC.
            let Some(key) = MacKey::new(*alg, b"k").unwrap() else {
                continue;
            };
            let tag = key.start().finalize();
            let bytes = tag.as_bytes().to_vec();
            assert_eq!(bytes.len(), alg.output_len());
            assert!(tag.ct_matches(&bytes));
            for i in 0..bytes.len() {
                for bit in 0..8 {
                    let mut other = bytes.clone();
                    other[i] ^= 1 << bit;
                    assert!(!tag.ct_matches(&other), "{alg:?} byte {i} bit {bit}");
                }
            }
            assert!(!tag.ct_matches(&bytes[..bytes.len() - 1]));
            assert!(!tag.ct_matches(&[bytes.as_slice(), &[0]].concat()));
            assert!(!tag.ct_matches(&[]));
        }
    }

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let key = MacKey::new(Algorithm::HmacSha256, b"Jefe")
            .unwrap()
            .unwrap();
        let mut st = key.start();
        st.update(b"what do ya want ");
        st.update(b"for nothing?");
        assert_eq!(
            hex::encode(st.finalize().as_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
