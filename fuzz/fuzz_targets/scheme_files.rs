//! Scheme files (JSON and TOML): whatever the text, reading it never panics; a scheme it
//! yields builds a verifier (or a `ConfigError`) without panicking, and that verifier checks
//! a delivery whose body is the rest of the input (after a `\0`) without panicking. The
//! first byte picks the reader.

#![no_main]

use countersign_core::{Delivery, FixedClock, Scheme, Verifier};
use countersign_fuzz::{NOW, RAW_SECRET};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&reader, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(2, |&b| b == 0);
    let Ok(text) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let body = parts.next().unwrap_or_default();
    let scheme = if reader & 1 == 0 {
        Scheme::from_json(text)
    } else {
        Scheme::from_toml(text)
    };
    let Ok(scheme) = scheme else {
        return;
    };
    // Also through serde, as a table inside a larger configuration.
    if reader & 1 == 0 {
        let _ = serde_json::from_str::<Scheme>(text);
    }
    let Ok(verifier) = Verifier::builder(scheme)
        .secret(RAW_SECRET)
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
    else {
        return;
    };
    let headers = HeaderMap::new();
    let delivery = Delivery::new(&headers, body).url("https://example.com/in?token=x");
    let _ = verifier.verify(&delivery);
});
