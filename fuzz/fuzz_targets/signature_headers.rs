//! Every preset's verifier (and a generic `hmac` scheme) on fuzzed values for every header
//! it reads — signature, timestamp, signed headers, event id — and a fuzzed body.
//! Input format: see `countersign_fuzz` (one `\n`-terminated segment per header, then the
//! body).

#![no_main]

use std::sync::OnceLock;

use countersign_core::Verifier;
use countersign_fuzz::{check, header_map, split, verifiers};
use http::HeaderName;
use libfuzzer_sys::fuzz_target;

static VERIFIERS: OnceLock<Vec<(Vec<HeaderName>, Verifier)>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let all = VERIFIERS.get_or_init(|| {
        verifiers()
            .into_iter()
            .map(|v| (v.scheme().header_names(), v))
            .collect()
    });
    for (names, verifier) in all {
        let (segments, body) = split(data, names.len());
        let headers = header_map(names, &segments);
        let _ = check(verifier, &headers, body);
    }
});
