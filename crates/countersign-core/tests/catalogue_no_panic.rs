//! `does_not_panic` properties for every parser the catalogue added, driven through the
//! public API: form parameters (Twilio), RFC 3339 timestamps (Twitch), body-borne values
//! (Mailgun, Linear), URLs (Twilio, HubSpot), and public keys (Ed25519 hex/raw/SPKI DER,
//! P-256 SPKI DER) — arbitrary input is a typed error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use countersign_core::{Delivery, FixedClock, KeyFormat, Preset, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

fn verifier(preset: Preset) -> Verifier {
    let secret = match preset {
        Preset::Discord => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".to_owned(),
        Preset::Sendgrid => "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==".to_owned(),
        Preset::StandardWebhooks | Preset::Svix => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        // The RFC 8032 test key (Discord's, above), in Telnyx's base64.
        Preset::Telnyx => B64.encode(
            hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap(),
        ),
        _ => match preset.scheme().key_format() {
            KeyFormat::Base64 { prefix } => format!(
                "{}{}",
                prefix.as_deref().unwrap_or(""),
                B64.encode(b"0123456789abcdef0123456789abcdef")
            ),
            KeyFormat::Hex => hex::encode(b"secret"),
            KeyFormat::BasicAuth => "user:secret".to_owned(),
            _ => "secret".to_owned(),
        },
    };
    Verifier::builder(preset)
        .secret(secret)
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        "(t|ts|v1|h1|sha256|v0|v1a)=[0-9a-fA-F]{0,70}([,; ](t|ts|v1|h1)=[0-9a-zA-Z+/=]{0,70}){0,4}"
            .prop_map(String::into_bytes),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,20})?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(String::into_bytes),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "([a-zA-Z%+0-9]{0,6}(=[a-zA-Z%+0-9]{0,6})?&?){0,12}".prop_map(String::into_bytes),
        (any::<u64>(), "[a-z0-9]{0,60}").prop_map(|(t, tok)| format!(
            r#"{{"webhookTimestamp":{t},"signature":{{"timestamp":"{t}","token":"{tok}","signature":"{tok}"}},"event-data":{{"id":"{tok}"}}}}"#
        ).into_bytes()),
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        // Twilio's JSON variant: a bodySHA256 query parameter.
        "https://a\\.b/p\\?bodySHA256=[0-9a-fA-F%]{0,66}(&x=1)?",
        "(https?|HTTP|ftp)://([a-z]{1,5}(:[a-z]{0,3})?@)?(\\[[0-9:]{0,8}\\]|[a-z.]{1,10})(:[0-9]{0,6})?(/[a-z%0-9A-F]{0,10}){0,3}(\\?[a-zA-Z0-9=&%]{0,40})?(#.{0,5})?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_preset_survives_arbitrary_deliveries(
        values in proptest::collection::vec(header_value(), 8),
        body in body(),
        url in url(),
        method in "[A-Z]{0,7}",
    ) {
        for &preset in Preset::ALL {
            let v = verifier(preset);
            let mut headers = HeaderMap::new();
            for (name, value) in v.scheme().header_names().iter().zip(values.iter().cycle()) {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.insert(name.clone(), value);
                }
            }
            headers.insert(HeaderName::from_static("x-unrelated"), HeaderValue::from_static("1"));
            let delivery = Delivery::new(&headers, &body).url(&url).method(&method);
            let result = v.verify(&delivery);
            prop_assert!(result.is_err() || result.is_ok());
            if let Ok(prepared) = v.prepare(&headers) {
                let _ = prepared.url(&url).method(&method).finish(&body);
            }
        }
    }

    #[test]
    fn public_keys_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let b64 = B64.encode(&bytes);
        let _ = Verifier::new(Preset::Sendgrid, b64.as_str());
        let _ = Verifier::new(Preset::StandardWebhooks, format!("whpk_{b64}"));
        let _ = Verifier::new(Preset::Discord, hex::encode(&bytes));
        // A valid SPKI prefix with random key bytes.
        let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
        der.extend_from_slice(&bytes);
        let _ = Verifier::new(Preset::Sendgrid, B64.encode(&der));
        let mut ed = hex::decode("302a300506032b6570032100").unwrap();
        ed.extend_from_slice(&bytes);
        let _ = Verifier::new(Preset::StandardWebhooks, format!("whpk_{}", B64.encode(&ed)));
    }

    #[test]
    fn signatures_of_any_shape_are_errors_for_key_pairs(
        sig in proptest::collection::vec(any::<u8>(), 0..90),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let sendgrid = verifier(Preset::Sendgrid);
        let mut h = HeaderMap::new();
        h.insert("x-twilio-email-event-webhook-signature", HeaderValue::from_str(&B64.encode(&sig)).unwrap());
        h.insert("x-twilio-email-event-webhook-timestamp", HeaderValue::from_static("1700000000"));
        prop_assert!(sendgrid.verify(&Delivery::new(&h, &body)).is_err());
        let discord = verifier(Preset::Discord);
        let mut h = HeaderMap::new();
        h.insert("x-signature-ed25519", HeaderValue::from_str(&hex::encode(&sig)).unwrap());
        h.insert("x-signature-timestamp", HeaderValue::from_static("1700000000"));
        prop_assert!(discord.verify(&Delivery::new(&h, &body)).is_err());
    }
}
