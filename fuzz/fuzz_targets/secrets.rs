//! Secrets and key formats: fuzzed bytes as the secret of every preset and of generic
//! schemes. Building either succeeds for signer and verifier alike or fails with a
//! `ConfigError`; a built pair round-trips; neither `Debug` nor the error text shows the
//! secret. Also feeds the text to the other configuration parsers (preset, algorithm and
//! encoding names, generic scheme header/prefix).

#![no_main]

use std::time::Duration;

use countersign_core::{
    Algorithm, Delivery, Encoding, FixedClock, Preset, Scheme, SignRequest, Signer, Verifier,
};
use countersign_fuzz::{NOW, URL};
use libfuzzer_sys::fuzz_target;

fn schemes() -> Vec<Scheme> {
    let mut out: Vec<Scheme> = Preset::ALL.iter().map(|p| p.scheme()).collect();
    for &alg in Algorithm::ALL {
        for &enc in Encoding::ALL {
            if let Ok(s) = Scheme::generic_hmac("x-signature", "", alg, enc) {
                out.push(s);
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let shown = text.len() >= 12 && text.chars().all(|c| c.is_ascii_graphic());
    for scheme in schemes() {
        let verifier = Verifier::builder(scheme.clone())
            .secret(data)
            .clock(FixedClock::new(Duration::from_secs(NOW)))
            .build();
        let signer = Signer::new(scheme.clone(), data);
        // A key-pair scheme, or a scheme whose secret selected its key-pair mode (Standard
        // Webhooks `whpk_…`).
        let key_pair = scheme.algorithm().is_key_pair()
            || signer
                .as_ref()
                .is_ok_and(|s| s.scheme().algorithm().is_key_pair());
        if key_pair {
            // The secret is the sender's public key: only the verifier parses it (a signer
            // of a key-pair scheme refuses to sign whatever it is given).
            match &verifier {
                Ok(v) if shown => assert!(!format!("{v:?}").contains(text.as_ref())),
                Err(e) if shown => assert!(!e.to_string().contains(text.as_ref()), "{e}"),
                _ => {}
            }
            continue;
        }
        match (&verifier, &signer) {
            (Ok(v), Ok(s)) => {
                if shown {
                    assert!(!format!("{v:?}").contains(text.as_ref()));
                    assert!(!format!("{s:?}").contains(text.as_ref()));
                }
                // Linear signs a timestamp (ms) inside the body.
                let body = format!(r#"{{"id":"evt_1","webhookTimestamp":{}}}"#, NOW * 1000);
                let body = body.as_bytes();
                if let Ok(headers) = s.sign(
                    &SignRequest::new(body)
                        .id("msg_1")
                        .timestamp(Duration::from_secs(NOW))
                        .url(URL)
                        .method("POST"),
                ) {
                    v.verify(&Delivery::new(&headers, body).url(URL).method("POST"))
                        .unwrap_or_else(|e| {
                            panic!("{}: own signature rejected: {e:?}", scheme.name())
                        });
                }
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "signer and verifier disagree on the secret");
                if shown {
                    assert!(!a.to_string().contains(text.as_ref()), "{a}");
                }
            }
            _ => panic!(
                "{}: verifier {:?} vs signer {:?}",
                scheme.name(),
                verifier.as_ref().err(),
                signer.as_ref().err()
            ),
        }
    }
    // The other configuration inputs.
    let _ = Preset::from_name(&text);
    let _ = text.parse::<Algorithm>();
    let _ = text.parse::<Encoding>();
    if let Ok(s) = Scheme::generic_hmac(&text, &text, Algorithm::HmacSha256, Encoding::Hex)
        && let Ok(signer) = Signer::new(s, "k")
    {
        let _ = signer.sign(&SignRequest::new(data));
    }
});
