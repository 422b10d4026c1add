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
use countersign_fuzz::NOW;
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
        match (&verifier, &signer) {
            (Ok(v), Ok(s)) => {
                if shown {
                    assert!(!format!("{v:?}").contains(text.as_ref()));
                    assert!(!format!("{s:?}").contains(text.as_ref()));
                }
                let body = b"{\"id\":\"evt_1\"}";
                if let Ok(headers) = s.sign(
                    &SignRequest::new(body)
                        .id("msg_1")
                        .timestamp(Duration::from_secs(NOW)),
                ) {
                    v.verify(&Delivery::new(&headers, body))
                        .expect("own signature verifies");
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
