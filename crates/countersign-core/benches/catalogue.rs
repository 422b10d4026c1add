//! Verification cost of the catalogue's scheme families, relative to a plain body HMAC
//! (GitHub): URL + sorted form parameters (Twilio), method + decoded URL + body + timestamp
//! (HubSpot v3), RFC 3339 timestamps (Twitch), body-borne signature (Mailgun), Ed25519
//! (Discord) and ECDSA P-256 (SendGrid). Same 1 KiB JSON body everywhere (Twilio: a form body
//! of similar size). Report ratios from one run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench"
)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use countersign_core::{Delivery, FixedClock, Preset, SignRequest, Signer, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::Signer as _;
use http::{HeaderMap, HeaderValue};

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://example.com/hooks/in?tenant=42";

fn body() -> Vec<u8> {
    let mut b = br#"{"id":"evt_1","event_id":"evt_1","data":""#.to_vec();
    b.extend(std::iter::repeat_n(b'x', 1024 - b.len() - 2));
    b.extend_from_slice(b"\"}");
    b
}

fn form_body() -> Vec<u8> {
    let mut parts = Vec::new();
    for i in 0..40 {
        parts.push(format!("Param{i:02}=value+number+{i}%21"));
    }
    parts.join("&").into_bytes()
}

fn hmac_case(preset: Preset, body: &[u8]) -> (Verifier, HeaderMap) {
    let signer = Signer::new(preset, "bench-secret").unwrap();
    let headers = signer
        .sign(
            &SignRequest::new(body)
                .id("msg_1")
                .timestamp(Duration::from_secs(NOW))
                .url(URL)
                .method("POST"),
        )
        .unwrap();
    let verifier = Verifier::builder(preset)
        .secret("bench-secret")
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    (verifier, headers)
}

fn bench(c: &mut Criterion) {
    let body = body();
    let form = form_body();
    let mut g = c.benchmark_group("verify_1KiB");

    for (name, preset, b) in [
        ("github_hmac_body", Preset::Github, &body),
        ("twitch_rfc3339", Preset::Twitch, &body),
        ("hubspot_v3_url", Preset::Hubspot, &body),
        ("twilio_url_form", Preset::Twilio, &form),
    ] {
        let (v, h) = hmac_case(preset, b);
        let d = Delivery::new(&h, b).url(URL).method("POST");
        v.verify(&d).unwrap();
        g.bench_function(name, |bench| {
            bench.iter(|| black_box(v.verify(black_box(&d)).unwrap()))
        });
    }

    // Mailgun: the signature is in the body.
    let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
    let unsigned = format!(
        r#"{{"signature":{{"timestamp":"{NOW}","token":"{token}","signature":""}},"event-data":{{"id":"e","pad":"{}"}}}}"#,
        "x".repeat(850)
    );
    let sig = Signer::new(Preset::Mailgun, "k")
        .unwrap()
        .signature(&SignRequest::new(unsigned.as_bytes()))
        .unwrap();
    let mailgun_body = unsigned.replace(r#""signature":"""#, &format!(r#""signature":"{sig}""#));
    let mv = Verifier::builder(Preset::Mailgun)
        .secret("k")
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    let empty = HeaderMap::new();
    let md = Delivery::new(&empty, mailgun_body.as_bytes());
    mv.verify(&md).unwrap();
    g.bench_function("mailgun_json_body", |bench| {
        bench.iter(|| black_box(mv.verify(black_box(&md)).unwrap()))
    });

    // Discord: Ed25519.
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let mut msg = NOW.to_string().into_bytes();
    msg.extend_from_slice(&body);
    let mut dh = HeaderMap::new();
    dh.insert(
        "x-signature-ed25519",
        HeaderValue::from_str(&hex::encode(sk.sign(&msg).to_bytes())).unwrap(),
    );
    dh.insert(
        "x-signature-timestamp",
        HeaderValue::from_str(&NOW.to_string()).unwrap(),
    );
    let dv = Verifier::builder(Preset::Discord)
        .secret(hex::encode(sk.verifying_key().as_bytes()))
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    let dd = Delivery::new(&dh, &body);
    dv.verify(&dd).unwrap();
    g.bench_function("discord_ed25519", |bench| {
        bench.iter(|| black_box(dv.verify(black_box(&dd)).unwrap()))
    });

    // SendGrid: ECDSA P-256 (deterministic RFC 6979 signature from a fixed key).
    let ek = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
    let sig: p256::ecdsa::Signature = ek.sign(&msg);
    // SubjectPublicKeyInfo DER: the fixed P-256 prefix, then the uncompressed point.
    let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    der.extend_from_slice(ek.verifying_key().to_sec1_point(false).as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut sh = HeaderMap::new();
    sh.insert(
        "x-twilio-email-event-webhook-signature",
        HeaderValue::from_str(&b64.encode(sig.to_der().as_bytes())).unwrap(),
    );
    sh.insert(
        "x-twilio-email-event-webhook-timestamp",
        HeaderValue::from_str(&NOW.to_string()).unwrap(),
    );
    let sv = Verifier::builder(Preset::Sendgrid)
        .secret(b64.encode(&der))
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    let sd = Delivery::new(&sh, &body);
    sv.verify(&sd).unwrap();
    g.bench_function("sendgrid_p256", |bench| {
        bench.iter(|| black_box(sv.verify(black_box(&sd)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
