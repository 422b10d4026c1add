//! The key-pair schemes are default-on features (`ed25519`, `p256`). Without them, building a
//! verifier for a preset that needs one fails when it is built — never per request — with a
//! `ConfigError` that names the feature; the HMAC presets are unaffected.
//!
//! Run the feature-off half with
//! `cargo test -p countersign-core --no-default-features --test key_pair_features`.
#![allow(clippy::unwrap_used, reason = "tests")]

use countersign_core::{ConfigError, Preset, Verifier};

/// 32 zero bytes, hex (Discord's key format); a decodable key, valid or not.
const HEX_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// A decodable base64 key (SendGrid's key format).
const B64_KEY: &str = "AAAA";

#[test]
fn hmac_presets_build_without_the_key_pair_features() {
    Verifier::new(Preset::Github, "It's a Secret to Everybody").unwrap();
    Verifier::new(Preset::Stripe, "whsec_test").unwrap();
}

#[cfg(not(feature = "ed25519"))]
#[test]
fn ed25519_presets_name_the_missing_feature() {
    let err = Verifier::new(Preset::Discord, HEX_KEY).unwrap_err();
    assert_eq!(
        err,
        ConfigError::FeatureDisabled {
            algorithm: "Ed25519",
            feature: "ed25519"
        }
    );
    assert!(err.to_string().contains("`ed25519` feature"), "{err}");
}

#[cfg(not(feature = "p256"))]
#[test]
fn p256_presets_name_the_missing_feature() {
    let err = Verifier::new(Preset::Sendgrid, B64_KEY).unwrap_err();
    assert_eq!(
        err,
        ConfigError::FeatureDisabled {
            algorithm: "ECDSA P-256",
            feature: "p256"
        }
    );
    assert!(err.to_string().contains("`p256` feature"), "{err}");
}

/// With the features on, the same keys reach the key decoder (and fail there, as they are
/// not valid points) instead of being refused for a missing feature.
#[cfg(all(feature = "ed25519", feature = "p256"))]
#[test]
fn with_the_features_keys_are_decoded() {
    for (preset, key) in [(Preset::Discord, HEX_KEY), (Preset::Sendgrid, B64_KEY)] {
        let refused = matches!(
            Verifier::new(preset, key),
            Err(ConfigError::FeatureDisabled { .. })
        );
        assert!(!refused, "{preset}: feature refused");
    }
}
