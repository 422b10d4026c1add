//! JWS signature headers (Netlify): a fuzzed protected header and a fuzzed claims set
//! (separated by the first `\n`; the rest is the body) are encoded, **signed with the
//! verifier's key** so verification reaches the header checks and the claims, and verified.
//! Whatever the JSON, nothing panics, and a delivery is accepted only when the header's
//! `alg` is exactly `HS256` without `crit`, `iss` is `netlify` and `sha256` is the body's
//! hex SHA-256.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_core::{FixedClock, Preset, Verifier};
use countersign_fuzz::{NOW, RAW_SECRET, check};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (Some(header), Some(claims)) = (parts.next(), parts.next()) else {
        return;
    };
    let body = parts.next().unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(RAW_SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let Ok(value) = HeaderValue::from_str(&token) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-webhook-signature", value);
    let verifier = Verifier::builder(Preset::Netlify)
        .secret(RAW_SECRET)
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    if check(&verifier, &headers, body).is_ok() {
        let header: serde_json::Value = serde_json::from_slice(header).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert!(header.get("crit").is_none());
        let claims: serde_json::Value = serde_json::from_slice(claims).unwrap();
        assert_eq!(claims["iss"], "netlify");
        assert_eq!(claims["sha256"], hex::encode(Sha256::digest(body)));
    }
});
