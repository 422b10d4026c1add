//! Verification keys: a keyed digest (HMAC and friends), a public key (Ed25519, ECDSA
//! P-256), or the digest of a shared token — and how each one checks a candidate signature.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::algorithm::{Algorithm, MacKey, Sink};
use crate::error::ConfigError;

/// One configured secret (or public key), ready to check signatures.
#[derive(Clone)]
pub(crate) enum Key {
    Mac(MacKey),
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::VerifyingKey),
    #[cfg(feature = "p256")]
    P256(p256::ecdsa::VerifyingKey),
    /// SHA-256 of the shared token.
    Token(TokenDigest),
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Key::Mac(_) => "Key::Mac(<redacted>)",
            #[cfg(feature = "ed25519")]
            Key::Ed25519(_) => "Key::Ed25519",
            #[cfg(feature = "p256")]
            Key::P256(_) => "Key::P256",
            Key::Token(_) => "Key::Token(<redacted>)",
        })
    }
}

/// The SHA-256 digest of a token, zeroized on drop.
#[derive(Clone)]
pub(crate) struct TokenDigest([u8; 32]);

impl Drop for TokenDigest {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// SHA-256 of `bytes` (token digests; Twilio's `bodySHA256`).
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Key {
    /// Builds the key for `algorithm` from decoded key bytes.
    pub(crate) fn new(
        algorithm: Algorithm,
        bytes: &[u8],
        index: usize,
    ) -> Result<Self, ConfigError> {
        if let Some(mac) = MacKey::new(algorithm, bytes)? {
            return Ok(Key::Mac(mac));
        }
        match algorithm {
            #[cfg(feature = "ed25519")]
            Algorithm::Ed25519 => {
                ed25519_key(bytes)
                    .map(Key::Ed25519)
                    .ok_or(ConfigError::InvalidPublicKey {
                        index,
                        expected: "Ed25519 public key (32 raw bytes or SPKI DER)",
                    })
            }
            #[cfg(not(feature = "ed25519"))]
            Algorithm::Ed25519 => Err(ConfigError::FeatureDisabled {
                algorithm: "Ed25519",
                feature: "ed25519",
            }),
            #[cfg(feature = "p256")]
            Algorithm::EcdsaP256Sha256 => {
                p256_key(bytes)
                    .map(Key::P256)
                    .ok_or(ConfigError::InvalidPublicKey {
                        index,
                        expected: "P-256 public key (SPKI DER or a SEC1 point)",
                    })
            }
            #[cfg(not(feature = "p256"))]
            Algorithm::EcdsaP256Sha256 => Err(ConfigError::FeatureDisabled {
                algorithm: "ECDSA P-256",
                feature: "p256",
            }),
            _ => {
                check_token(bytes, index)?;
                Ok(Key::Token(TokenDigest(sha256(bytes))))
            }
        }
    }

    /// Whether one of `candidates` is a valid signature of the message, given how to stream
    /// the message (`feed`) and a scratch buffer for schemes that need it whole.
    pub(crate) fn matches<'c>(
        &self,
        candidates: impl Iterator<Item = &'c [u8]> + Clone,
        feed: &dyn Fn(&mut dyn Sink),
        message: &mut Option<Vec<u8>>,
    ) -> bool {
        // Only the key-pair schemes need the message whole.
        #[cfg(not(any(feature = "ed25519", feature = "p256")))]
        let _ = message;
        match self {
            Key::Mac(key) => {
                let mut mac = key.start();
                feed(&mut mac);
                let tag = mac.finalize();
                candidates.clone().any(|c| tag.ct_matches(c))
            }
            Key::Token(TokenDigest(digest)) => candidates
                .clone()
                .any(|c| bool::from(digest.as_slice().ct_eq(c))),
            #[cfg(feature = "ed25519")]
            Key::Ed25519(vk) => {
                let msg = whole(feed, message);
                candidates.clone().any(|c| {
                    ed25519_dalek::Signature::from_slice(c)
                        .is_ok_and(|sig| vk.verify_strict(msg, &sig).is_ok())
                })
            }
            #[cfg(feature = "p256")]
            Key::P256(vk) => {
                let msg = whole(feed, message);
                candidates.clone().any(|c| {
                    p256::ecdsa::DerSignature::from_bytes(c).is_ok_and(|sig| {
                        p256::ecdsa::signature::Verifier::verify(vk, msg, &sig).is_ok()
                    })
                })
            }
        }
    }
}

/// The message as one buffer, built on first use and reused for every key.
#[cfg(any(feature = "ed25519", feature = "p256"))]
fn whole<'m>(feed: &dyn Fn(&mut dyn Sink), message: &'m mut Option<Vec<u8>>) -> &'m [u8] {
    message.get_or_insert_with(|| {
        let mut buf = Buffer(Vec::new());
        feed(&mut buf);
        buf.0
    })
}

/// Collects the streamed content (key-pair schemes sign the whole message at once). Its size
/// is bounded by the body limit plus the header values.
#[cfg(any(feature = "ed25519", feature = "p256"))]
struct Buffer(Vec<u8>);

#[cfg(any(feature = "ed25519", feature = "p256"))]
impl Sink for Buffer {
    fn update(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

#[cfg(feature = "ed25519")]
fn ed25519_key(bytes: &[u8]) -> Option<ed25519_dalek::VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey as _;
    if let Ok(raw) = <&[u8; 32]>::try_from(bytes) {
        return ed25519_dalek::VerifyingKey::from_bytes(raw).ok();
    }
    ed25519_dalek::VerifyingKey::from_public_key_der(bytes).ok()
}

#[cfg(feature = "p256")]
fn p256_key(bytes: &[u8]) -> Option<p256::ecdsa::VerifyingKey> {
    use p256::pkcs8::DecodePublicKey as _;
    p256::ecdsa::VerifyingKey::from_public_key_der(bytes)
        .ok()
        .or_else(|| p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).ok())
}

/// A token travels as a header value, which HTTP trims of surrounding spaces and tabs and
/// which cannot hold control characters: a token outside that shape could never match, so
/// it is a configuration error (for signers and verifiers alike).
pub(crate) fn check_token(bytes: &[u8], index: usize) -> Result<(), ConfigError> {
    let allowed = |b: &u8| *b == b'\t' || (*b >= 0x20 && *b != 0x7f);
    if bytes.trim_ascii().len() != bytes.len() || !bytes.iter().all(allowed) {
        return Err(ConfigError::SecretEncoding {
            index,
            expected: "header-value token (no control characters, no surrounding whitespace)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_are_config_errors() {
        for (alg, bytes) in [
            (Algorithm::Ed25519, &[0u8; 31][..]),
            (Algorithm::Ed25519, &[0x30, 0x2a, 0x30][..]),
            (Algorithm::EcdsaP256Sha256, &[0u8; 65][..]),
            (Algorithm::EcdsaP256Sha256, &b"not der"[..]),
        ] {
            let err = Key::new(alg, bytes, 3).unwrap_err();
            assert!(
                matches!(err, ConfigError::InvalidPublicKey { index: 3, .. }),
                "{alg}: {err}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn der_keys_do_not_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = Key::new(Algorithm::Ed25519, &bytes, 0);
            let _ = Key::new(Algorithm::EcdsaP256Sha256, &bytes, 0);
        }
    }

    #[test]
    fn tokens_that_cannot_travel_in_a_header_are_config_errors() {
        for bad in [
            &b" lead"[..],
            b"trail ",
            b"tab\t",
            b"nul\0in",
            b"del\x7f",
            b"line\nbreak",
        ] {
            let err = Key::new(Algorithm::Token, bad, 2).unwrap_err();
            assert!(
                matches!(err, ConfigError::SecretEncoding { index: 2, .. }),
                "{bad:?}: {err}"
            );
            let err = crate::Signer::new(crate::Preset::Gitlab, bad).unwrap_err();
            assert!(
                matches!(err, ConfigError::SecretEncoding { index: 0, .. }),
                "{bad:?}: {err}"
            );
        }
        for good in [&b"hunter2"[..], b"inner space ok", b"\xc3\xa9t\xc3\xa9"] {
            assert!(Key::new(Algorithm::Token, good, 0).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let k = Key::new(Algorithm::Token, b"hunter2", 0).unwrap();
        assert!(!format!("{k:?}").contains("hunter2"));
    }
}
