//! Timestamps: for every timestamped preset, a validly signed delivery whose timestamp
//! text is replaced by fuzzed bytes, verified against a fuzzed clock. Anything but 1–19
//! ASCII digits (≤ i64::MAX) must be `malformed_timestamp`; nothing may panic or overflow.
//! Input: 8 bytes of clock (Unix seconds, little endian), then the timestamp text.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use countersign_core::{
    ErrorKind, FixedClock, Preset, SignRequest, SignatureSyntax, Signer, TimestampSource, Verifier,
};
use countersign_fuzz::{NOW, check, secret_for};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    preset: Preset,
    headers: HeaderMap,
    body: &'static [u8],
}

static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();

const BODY: &[u8] = br#"{"id":"evt_1","event_id":"Ev1"}"#;

fn fixtures() -> Vec<Fixture> {
    Preset::ALL
        .iter()
        .filter(|p| p.scheme().timestamp().is_some())
        .filter_map(|&preset| {
            let signer = Signer::new(preset, secret_for(&preset.scheme())).ok()?;
            let headers = signer
                .sign(
                    &SignRequest::new(BODY)
                        .id("msg_1")
                        .timestamp(Duration::from_secs(NOW)),
                )
                .ok()?;
            Some(Fixture {
                preset,
                headers,
                body: BODY,
            })
        })
        .collect()
}

/// Puts `text` where the scheme carries its timestamp; returns the text the parser will
/// look at, or `None` when `text` cannot be placed in a header.
fn put(preset: Preset, headers: &mut HeaderMap, text: &[u8]) -> Option<Vec<u8>> {
    let scheme = preset.scheme();
    let spec = scheme.timestamp()?;
    match &spec.source {
        TimestampSource::Header(names) => {
            let v = HeaderValue::from_bytes(text).ok()?;
            let name = names.iter().find(|n| headers.contains_key(*n))?.clone();
            headers.insert(name, v);
            Some(text.to_vec())
        }
        TimestampSource::SignatureHeader => {
            let SignatureSyntax::KeyValue {
                separator,
                timestamp_key: Some(key),
                ..
            } = scheme.syntax()
            else {
                return None;
            };
            let mut sep = [0u8; 4];
            let sep = separator.encode_utf8(&mut sep).as_bytes();
            if text.windows(sep.len()).any(|w| w == sep) {
                return None; // would start another pair; the target `signature_headers` covers that
            }
            let name = scheme
                .signature_header()
                .iter()
                .find(|n| headers.contains_key(*n))?
                .clone();
            let old = headers[&name].as_bytes().to_vec();
            let tag = [key.as_bytes(), b"="].concat();
            let mut out = Vec::new();
            for (i, pair) in old.split(|b| sep.first() == Some(b)).enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                if pair.starts_with(&tag) {
                    out.extend_from_slice(&tag);
                    out.extend_from_slice(text);
                } else {
                    out.extend_from_slice(pair);
                }
            }
            headers.insert(name, HeaderValue::from_bytes(&out).ok()?);
            // Pairs are trimmed of spaces and tabs.
            let start = text
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t'))
                .unwrap_or(text.len());
            let end = text
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(start, |i| i + 1);
            Some(text[start..end].to_vec())
        }
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let (now, text) = match data.split_first_chunk::<8>() {
        Some((clock, rest)) => (u64::from_le_bytes(*clock), rest),
        None => (NOW, data),
    };
    for f in FIXTURES.get_or_init(fixtures) {
        let mut headers = f.headers.clone();
        let Some(seen) = put(f.preset, &mut headers, text) else {
            continue;
        };
        let verifier = Verifier::builder(f.preset)
            .secret(secret_for(&f.preset.scheme()))
            .clock(FixedClock::new(Duration::from_secs(now)))
            .build()
            .expect("verifier");
        let result = check(&verifier, &headers, f.body);
        let digits = !seen.is_empty()
            && seen.len() <= 19
            && seen.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(&seen)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .is_some();
        if !digits {
            let kind = result.as_ref().err().map(|e| e.kind());
            assert_eq!(kind, Some(ErrorKind::MalformedTimestamp), "{seen:?}");
        }
    }
});
