//! Helpers shared by the fuzz targets: the input format, fixed secrets and clock, and the
//! checks every verification result must pass.
//!
//! Input format of the header-driven targets, chosen so seeds are readable and a fuzzer
//! can reach every header: one segment per header the scheme reads
//! ([`Scheme::header_names`] order), each terminated by `\n` (a byte no header value can
//! hold); the rest of the input is the body. A segment of exactly `\x7f` leaves the header
//! out; `\0` inside a segment separates repeated values of the header. Values that are not
//! valid header values (control bytes) are dropped, as no HTTP request can carry them.

use std::time::Duration;

use countersign_core::{
    Algorithm, Delivery, FixedClock, KeyFormat, Preset, Scheme, Verified, Verifier, VerifyError,
};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The fuzz clock, in Unix seconds (the seeds are signed at this time).
pub const NOW: u64 = 1_700_000_000;
/// The secret of raw-key schemes.
pub const RAW_SECRET: &str = "fuzz-secret-0123456789abcdef";
/// The secret of base64-key schemes (`whsec_` + base64 of [`RAW_SECRET`]).
pub const B64_SECRET: &str = "whsec_ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==";
/// The credentials of HTTP Basic schemes (`user:password`).
pub const BASIC_AUTH_SECRET: &str = "fuzz-user:fuzz-secret-0123456789";
/// The URL every fuzzed delivery is received at.
pub const URL: &str = "https://example.com:8443/webhooks/in?source=fuzz&x=%3A";
/// Segment that leaves a header out.
pub const ABSENT: &[u8] = b"\x7f";

/// The public key of Ed25519 schemes given as hex (Discord): RFC 8032 test 1's key.
pub const ED25519_PUBLIC_HEX: &str =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// The public key of ECDSA P-256 schemes (SendGrid): SubjectPublicKeyInfo DER, base64.
pub const P256_PUBLIC_B64: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";

/// The secret (or public key) the fuzz verifiers of `scheme` are built with.
#[must_use]
pub fn secret_for(scheme: &Scheme) -> &'static str {
    match (scheme.algorithm(), scheme.key_format()) {
        (Algorithm::EcdsaP256Sha256, _) => P256_PUBLIC_B64,
        (_, KeyFormat::Base64 { .. }) => B64_SECRET,
        // Only Ed25519 public keys (Discord) are given in hex.
        (_, KeyFormat::Hex) => ED25519_PUBLIC_HEX,
        (_, KeyFormat::BasicAuth) => BASIC_AUTH_SECRET,
        _ => RAW_SECRET,
    }
}

/// Every preset plus a generic `hmac` scheme, each with its verifier at [`NOW`]. A scheme
/// that takes none of the fixed secrets/keys above is reported on stderr and left out.
#[must_use]
pub fn verifiers() -> Vec<Verifier> {
    let mut schemes: Vec<Scheme> = Preset::ALL.iter().map(|p| p.scheme()).collect();
    schemes.push(
        Scheme::generic_hmac(
            "x-fuzz-signature",
            "sha512=",
            countersign_core::Algorithm::HmacSha512,
            countersign_core::Encoding::Base64,
        )
        .expect("valid generic scheme"),
    );
    schemes
        .into_iter()
        .filter_map(|s| {
            let built = Verifier::builder(s.clone())
                .secret(secret_for(&s))
                .clock(FixedClock::new(Duration::from_secs(NOW)))
                .build();
            if let Err(e) = &built {
                eprintln!("countersign-fuzz: not fuzzing {}: {e}", s.name());
            }
            built.ok()
        })
        .collect()
}

/// Splits an input into `n` header segments and the body.
#[must_use]
pub fn split(data: &[u8], n: usize) -> (Vec<&[u8]>, &[u8]) {
    let mut segments = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 0..n {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                segments.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                segments.push(ABSENT);
            }
        }
    }
    (segments, rest)
}

/// The header map `segments` describe for `names`.
#[must_use]
pub fn header_map(names: &[HeaderName], segments: &[&[u8]]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, segment) in names.iter().zip(segments) {
        if *segment == ABSENT {
            continue;
        }
        for value in segment.split(|&b| b == 0) {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                map.append(name.clone(), v);
            }
        }
    }
    map
}

/// Encodes a delivery in the input format (for seeds).
#[must_use]
pub fn encode(names: &[HeaderName], headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names {
        let values: Vec<&[u8]> = headers
            .get_all(name)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        if values.is_empty() {
            out.extend_from_slice(ABSENT);
        } else {
            out.extend_from_slice(&values.join(&0u8));
        }
        out.push(b'\n');
    }
    out.extend_from_slice(body);
    out
}

/// Verifies, checking what must hold for any input: the one-shot and two-phase paths
/// agree, rejections map to 400/401/413 with non-empty texts, and an accepted delivery
/// reports a well-formed id and the scheme's name.
pub fn check(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, VerifyError> {
    // URL-bound presets (Twilio, HubSpot v3, …) sign the request URL; without one they
    // stop at `MissingUrl` before parsing anything.
    let delivery = Delivery::new(headers, body)
        .url(URL)
        .method("POST");
    let one = verifier.verify(&delivery);
    let two = verifier
        .prepare(headers)
        .and_then(|p| p.url(URL).method("POST").finish(body))
        .map(countersign_core::Outcome::into_verified);
    assert_eq!(one, two, "verify and prepare+finish disagree");
    match &one {
        Err(e) => {
            assert!(matches!(e.kind().status().as_u16(), 400 | 401 | 413));
            assert!(!e.to_string().is_empty());
        }
        Ok(v) => {
            assert_eq!(v.preset(), verifier.scheme().name());
            if let Some(id) = v.event_id() {
                assert!(!id.is_empty() && id.len() <= countersign_core::MAX_EVENT_ID_LEN);
            }
        }
    }
    one
}
