//! Sign → verify round trips for every preset that can sign (every HMAC-family preset),
//! single-bit tampering rejected; key-pair presets refuse to sign; schemes with several
//! modes (Standard Webhooks v1/v1a, GitLab token/signing token) pick the right one.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use countersign_core::{
    Algorithm, Delivery, Encoding, ErrorKind, EventIdSource, FixedClock, KeyFormat, Preset, Scheme,
    SignError, SignRequest, SignatureSource, Signer, Verifier,
};
use ed25519_dalek::Signer as _;
use http::{HeaderMap, HeaderValue};

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://example.com:8443/hooks/in?source=test&x=%3A";

/// A secret in the format the scheme's key format expects.
fn secret_for(scheme: &Scheme) -> String {
    match scheme.key_format() {
        KeyFormat::Base64 { prefix } => format!(
            "{}{}",
            prefix.as_deref().unwrap_or(""),
            B64.encode(b"0123456789abcdef0123456789abcdef")
        ),
        KeyFormat::Hex => hex::encode(b"0123456789abcdef"),
        KeyFormat::BasicAuth => "round-trip-user:pass word".to_owned(),
        _ => "round-trip-secret".to_owned(),
    }
}

fn body_for(preset: Preset) -> Vec<u8> {
    match preset {
        Preset::Twilio => b"To=%2B15551234567&Body=hello+world&MediaUrl=b&MediaUrl=a".to_vec(),
        Preset::Ecwid => br#"{"eventId":"e-1","eventCreated":1700000000,"eventType":"order.created","data":{"x":1}}"#.to_vec(),
        Preset::Linear => {
            format!(r#"{{"action":"create","webhookTimestamp":{}}}"#, NOW * 1000).into_bytes()
        }
        _ => br#"{"id":"evt_1","event_id":"evt_1","event":{"id":"evt_1"},"data":{"x":1}}"#.to_vec(),
    }
}

struct Case {
    scheme: Scheme,
    preset: Preset,
    secret: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for &preset in Preset::ALL {
        let scheme = preset.scheme();
        // api-key-query (the key travels in the URL) and microsoft-graph (the token travels
        // in every notification of the body) cannot sign headers: their own tests cover them.
        if scheme.algorithm().is_key_pair()
            || preset == Preset::Mailgun
            || preset == Preset::ApiKeyQuery
            || preset == Preset::MicrosoftGraph
        {
            continue;
        }
        if let Some(choices) = scheme.sender_choices().cloned() {
            for &a in choices.algorithms.iter() {
                for &e in choices.encodings.iter() {
                    let s = scheme
                        .clone()
                        .with_algorithm(a)
                        .unwrap()
                        .with_encoding(e)
                        .unwrap();
                    out.push(Case {
                        secret: secret_for(&s),
                        scheme: s,
                        preset,
                    });
                }
            }
            continue;
        }
        for alt in scheme
            .alternatives()
            .iter()
            .filter(|a| !a.algorithm().is_key_pair())
        {
            out.push(Case {
                secret: secret_for(alt),
                scheme: scheme.clone(),
                preset,
            });
        }
        out.push(Case {
            secret: secret_for(&scheme),
            scheme,
            preset,
        });
    }
    out
}

fn deliver<'a>(headers: &'a HeaderMap, body: &'a [u8], url: &'a str) -> Delivery<'a> {
    Delivery::new(headers, body).url(url).method("POST")
}

#[test]
fn every_signing_preset_round_trips() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for case in &cases {
        let name = case.preset.name();
        let body = body_for(case.preset);
        let signer = Signer::new(case.scheme.clone(), case.secret.as_str()).unwrap();
        let request = SignRequest::new(&body)
            .id("evt-42")
            .timestamp(Duration::from_secs(NOW))
            .url(URL)
            .method("POST");
        let headers = signer
            .sign(&request)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let verifier = Verifier::builder(case.scheme.clone())
            .secret(case.secret.as_str())
            .clock(FixedClock::from_unix_secs(NOW))
            .build()
            .unwrap();
        let ok = verifier
            .verify(&deliver(&headers, &body, URL))
            .unwrap_or_else(|e| panic!("{name} ({}): {e}", case.secret));
        assert_eq!(ok.preset(), name);
        if let EventIdSource::Header(_) = signer.scheme().event_id() {
            assert_eq!(ok.event_id(), Some("evt-42"), "{name}");
        }

        // Every single-bit change of the body is caught (a token signs nothing).
        if signer.scheme().algorithm() != Algorithm::Token {
            for i in [0, body.len() / 2, body.len() - 1] {
                let mut tampered = body.clone();
                tampered[i] ^= 0x01;
                let err = verifier
                    .verify(&deliver(&headers, &tampered, URL))
                    .unwrap_err();
                assert_eq!(
                    err.kind(),
                    ErrorKind::SignatureMismatch,
                    "{name} byte {i}: {err}"
                );
            }
        }
    }
}

#[test]
fn mailgun_round_trips_through_the_body() {
    let token = "f4b2c2c5a1e84b7a9e0b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e";
    let template = |sig: &str| {
        format!(
            r#"{{"signature":{{"timestamp":"{NOW}","token":"{token}","signature":"{sig}"}},"event-data":{{"id":"ev-9"}}}}"#
        )
    };
    let signer = Signer::new(Preset::Mailgun, "key-123").unwrap();
    let unsigned = template("");
    assert!(matches!(
        signer.sign(&SignRequest::new(unsigned.as_bytes())),
        Err(SignError::Unsupported(_))
    ));
    let sig = signer
        .signature(&SignRequest::new(unsigned.as_bytes()))
        .unwrap();
    let body = template(&sig);
    let verifier = Verifier::builder(Preset::Mailgun)
        .secret("key-123")
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    let headers = HeaderMap::new();
    let ok = verifier
        .verify(&Delivery::new(&headers, body.as_bytes()))
        .unwrap();
    assert_eq!(
        (ok.event_id(), ok.timestamp()),
        (Some("ev-9"), Some(NOW as i64))
    );
    let err = verifier
        .verify(&Delivery::new(
            &headers,
            template(&sig.replace('a', "b")).as_bytes(),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    let err = verifier
        .verify(&Delivery::new(&headers, b"{}"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedBody);
}

#[test]
fn key_pair_presets_verify_only() {
    let keys = [
        (Preset::Discord, hex::encode(ed_key(1).verifying_key().as_bytes())),
        (
            Preset::Sendgrid,
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==".to_owned(),
        ),
        (
            Preset::StandardWebhooks,
            format!("whpk_{}", B64.encode(ed_key(1).verifying_key().as_bytes())),
        ),
    ];
    for (preset, key) in keys {
        let signer = Signer::new(preset, key.as_str()).unwrap();
        assert!(
            matches!(
                signer.sign(&SignRequest::new(b"{}").id("m")),
                Err(SignError::Unsupported(_))
            ),
            "{preset}"
        );
    }
}

fn ed_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

fn v1a(seed: u8, id: &str, body: &[u8]) -> String {
    let mut msg = format!("{id}.{NOW}.").into_bytes();
    msg.extend_from_slice(body);
    format!("v1a,{}", B64.encode(ed_key(seed).sign(&msg).to_bytes()))
}

#[test]
fn standard_webhooks_mixes_hmac_and_ed25519_keys() {
    let hmac_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let public = format!("whpk_{}", B64.encode(ed_key(7).verifying_key().as_bytes()));
    let body = br#"{"type":"x"}"#;
    let signed = Signer::new(Preset::StandardWebhooks, hmac_secret)
        .unwrap()
        .sign(
            &SignRequest::new(body)
                .id("msg_1")
                .timestamp(Duration::from_secs(NOW)),
        )
        .unwrap();
    let v1 = signed["webhook-signature"].to_str().unwrap().to_owned();
    let with_signature = |value: &str| {
        let mut h = signed.clone();
        h.insert("webhook-signature", HeaderValue::from_str(value).unwrap());
        h
    };
    let verify = |secrets: &[&str], value: &str| {
        Verifier::builder(Preset::StandardWebhooks)
            .secrets(secrets.iter().copied())
            .clock(FixedClock::from_unix_secs(NOW))
            .build()
            .unwrap()
            .verify(&Delivery::new(&with_signature(value), body))
    };
    let good_v1a = v1a(7, "msg_1", body);
    let bad_v1a = v1a(8, "msg_1", body);
    let bad_v1 = v1
        .replace("v1,", "v1,A")
        .chars()
        .take(v1.len())
        .collect::<String>();
    let both = [hmac_secret, public.as_str()];

    assert!(verify(&both, &v1).is_ok());
    assert!(verify(&both, &good_v1a).is_ok());
    // A wrong v1 next to a right v1a (and the other way round) is accepted: any entry of a
    // supported version matching any configured key.
    assert!(verify(&both, &format!("{bad_v1} {good_v1a}")).is_ok());
    assert!(verify(&both, &format!("{v1} {bad_v1a}")).is_ok());
    let err = verify(&both, &format!("{bad_v1} {bad_v1a}")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    // Only the public key: v1 entries are of an unsupported version.
    let err = verify(&[public.as_str()], &v1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSupportedSignature);
    assert!(verify(&[public.as_str()], &good_v1a).is_ok());
    // Only the HMAC secret: v1a entries are skipped.
    let err = verify(&[hmac_secret], &good_v1a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSupportedSignature);
    // An SPKI DER key works the same; garbage keys are configuration errors.
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(ed_key(7).verifying_key().as_bytes());
    assert!(verify(&[format!("whpk_{}", B64.encode(&der)).as_str()], &good_v1a).is_ok());
    for bad in ["whpk_", "whpk_!!!", "whpk_AAAA"] {
        assert!(
            Verifier::new(Preset::StandardWebhooks, bad).is_err(),
            "{bad} accepted"
        );
    }
}

#[test]
fn gitlab_token_and_signing_token() {
    let token = "s3cret-token";
    let signing = format!("whsec_{}", B64.encode([9u8; 32]));
    let body = br#"{"object_kind":"push"}"#;
    let verifier = |secrets: &[&str]| {
        Verifier::builder(Preset::Gitlab)
            .secrets(secrets.iter().copied())
            .clock(FixedClock::from_unix_secs(NOW))
            .build()
            .unwrap()
    };
    let signed = Signer::new(Preset::Gitlab, signing.as_str())
        .unwrap()
        .sign(
            &SignRequest::new(body)
                .id("idem-1")
                .timestamp(Duration::from_secs(NOW)),
        )
        .unwrap();
    let mut token_only = HeaderMap::new();
    token_only.insert("x-gitlab-token", HeaderValue::from_static("s3cret-token"));
    token_only.insert("idempotency-key", HeaderValue::from_static("idem-2"));

    let both = verifier(&[token, &signing]);
    assert_eq!(
        both.verify(&Delivery::new(&signed, body))
            .unwrap()
            .event_id(),
        Some("idem-1")
    );
    assert_eq!(
        both.verify(&Delivery::new(&token_only, body))
            .unwrap()
            .event_id(),
        Some("idem-2")
    );
    let err = both
        .verify(&Delivery::new(&HeaderMap::new(), body))
        .unwrap_err();
    assert_eq!(err.to_string(), "missing header `x-gitlab-token`");

    // Only the signing token: a token alone is not enough.
    let signing_only = verifier(&[&signing]);
    assert!(signing_only.verify(&Delivery::new(&signed, body)).is_ok());
    let err = signing_only
        .verify(&Delivery::new(&token_only, body))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingHeader);

    // Only the token: wrong tokens fail, the body is not covered.
    let token_verifier = verifier(&[token]);
    assert!(
        token_verifier
            .verify(&Delivery::new(&token_only, b"anything"))
            .is_ok()
    );
    let mut wrong = token_only.clone();
    wrong.insert("x-gitlab-token", HeaderValue::from_static("s3cret-tokem"));
    let err = token_verifier
        .verify(&Delivery::new(&wrong, body))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    // The token signer sends the token itself.
    let sent = Signer::new(Preset::Gitlab, token)
        .unwrap()
        .sign(&SignRequest::new(body))
        .unwrap();
    assert_eq!(sent["x-gitlab-token"], "s3cret-token");
    assert!(sent["x-gitlab-token"].is_sensitive());
}

#[test]
fn convoy_choices_are_data() {
    let s = Preset::Convoy.scheme();
    assert!(s.clone().with_algorithm(Algorithm::HmacSha1).is_err());
    assert!(s.clone().with_encoding(Encoding::Base64).is_ok());
    assert!(
        Preset::Github
            .scheme()
            .with_algorithm(Algorithm::HmacSha512)
            .is_err()
    );
    assert!(matches!(
        Preset::Stripe.scheme().with_encoding(Encoding::Hex),
        Err(countersign_core::ConfigError::UnsupportedOption {
            option: "encoding",
            ..
        })
    ));
}

#[test]
fn url_bound_signing_needs_the_url() {
    for preset in [
        Preset::Twilio,
        Preset::Square,
        Preset::Hubspot,
        Preset::HubspotV2,
    ] {
        let err = Signer::new(preset, "k")
            .unwrap()
            .sign(&SignRequest::new(b"{}"))
            .unwrap_err();
        assert!(matches!(err, SignError::MissingInput(_)), "{preset}: {err}");
        assert!(preset.scheme().needs_url());
    }
    assert!(Preset::Hubspot.scheme().needs_method());
    assert!(!Preset::Github.scheme().needs_url());
    assert!(matches!(
        Preset::Mailgun.scheme().signature_source(),
        SignatureSource::JsonField(_)
    ));
}
