//! JWS signature headers (Netlify): the hostile tokens of `vectors/jws.json` (computed by
//! `vectors/gen_jws.py`, independently of countersign) are each rejected with the stated
//! error kind, the valid one is accepted (the catalogue test derives the usual negatives
//! from it too), and no header value panics.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use countersign_core::{Delivery, FixedClock, MAX_JWS_LEN, Preset, SignRequest, Signer, Verifier};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

fn file() -> Value {
    let path = format!("{}/tests/vectors/jws.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn headers(v: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, val) in v["headers"].as_object().unwrap() {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
        );
    }
    h
}

fn verifier(v: &Value) -> Verifier {
    let preset: Preset = v["preset"].as_str().unwrap().parse().unwrap();
    Verifier::builder(preset)
        .secret(v["secret"].as_str().unwrap())
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
        .unwrap()
}

#[test]
fn the_valid_vector_is_accepted() {
    for v in file()["valid"].as_array().unwrap() {
        let got = verifier(v).verify(&Delivery::new(
            &headers(v),
            v["body"].as_str().unwrap().as_bytes(),
        ));
        let ok = got.unwrap_or_else(|e| panic!("{}: {e}", v["id"]));
        assert_eq!(ok.preset(), "netlify");
        assert_eq!(ok.event_id(), None);
    }
}

#[test]
fn every_hostile_token_is_rejected_with_its_kind() {
    let negatives = file()["negatives"].as_array().unwrap().clone();
    assert!(negatives.len() >= 20);
    for v in negatives {
        let got = verifier(&v).verify(&Delivery::new(
            &headers(&v),
            v["body"].as_str().unwrap().as_bytes(),
        ));
        match got {
            Ok(_) => panic!("{} was accepted", v["id"]),
            Err(e) => assert_eq!(
                e.kind().as_str(),
                v["expect"].as_str().unwrap(),
                "{}: {e}",
                v["id"]
            ),
        }
    }
}

#[test]
fn sign_then_verify_round_trips_and_the_secret_is_not_in_errors() {
    let secret = "round trip secret";
    let signer = Signer::new(Preset::Netlify, secret).unwrap();
    let verifier = Verifier::new(Preset::Netlify, secret).unwrap();
    let body = br#"{"state":"ready"}"#;
    let headers = signer.sign(&SignRequest::new(body)).unwrap();
    assert!(headers["x-webhook-signature"].is_sensitive());
    verifier.verify(&Delivery::new(&headers, body)).unwrap();
    // Every single-bit change of the token is refused.
    let token = headers["x-webhook-signature"].as_bytes().to_vec();
    for i in 0..token.len() * 8 {
        let mut t = token.clone();
        t[i / 8] ^= 1 << (i % 8);
        let Ok(value) = HeaderValue::from_bytes(&t) else {
            continue;
        };
        let mut h = HeaderMap::new();
        h.insert("x-webhook-signature", value);
        let err = verifier.verify(&Delivery::new(&h, body));
        let Err(err) = err else {
            panic!(
                "bit {i} flipped was accepted: {}",
                String::from_utf8_lossy(&t)
            );
        };
        assert!(!err.to_string().contains(secret));
    }
}

#[test]
fn the_token_is_bounded_before_decoding() {
    let verifier = Verifier::new(Preset::Netlify, "k").unwrap();
    let mut h = HeaderMap::new();
    let long = format!("{}.e30.AA", "A".repeat(MAX_JWS_LEN));
    h.insert("x-webhook-signature", HeaderValue::from_str(&long).unwrap());
    let err = verifier.verify(&Delivery::new(&h, b"{}")).unwrap_err();
    assert!(err.to_string().contains("4096"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    #[test]
    fn no_header_value_panics(
        header in "[A-Za-z0-9_.=+/-]{0,40}",
        payload in "[A-Za-z0-9_.=-]{0,80}",
        sig in "[A-Za-z0-9_.=-]{0,60}",
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
    ) {
        let verifier = Verifier::new(Preset::Netlify, "k").unwrap();
        let mut h = HeaderMap::new();
        let value = format!("{header}.{payload}.{sig}");
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert("x-webhook-signature", v);
            let _ = verifier.verify(&Delivery::new(&h, &body));
        }
    }

    #[test]
    fn json_shaped_tokens_do_not_panic(
        header_json in "\\{(\"[a-z]{1,4}\":(\"[A-Za-z0-9]{0,6}\"|[0-9]{1,3}|\\[\\]|null),?){0,4}\\}",
        claims_json in "\\{(\"(iss|sha256|exp|x)\":(\"[a-z0-9]{0,64}\"|-?[0-9]{1,20}|1e999|null),?){0,4}\\}",
    ) {
        use base64::Engine as _;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let verifier = Verifier::new(Preset::Netlify, "k").unwrap();
        let mut h = HeaderMap::new();
        let value = format!("{}.{}.{}", enc(&header_json), enc(&claims_json), enc("0123456789abcdef0123456789abcdef"));
        h.insert("x-webhook-signature", HeaderValue::from_str(&value).unwrap());
        let _ = verifier.verify(&Delivery::new(&h, b"{}"));
    }
}
