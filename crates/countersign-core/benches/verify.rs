//! Verification cost, side by side in one run.
//!
//! - `github_vs_raw_hmac/*`: a full GitHub verification (`X-Hub-Signature-256` parse, hex
//!   decode, HMAC-SHA256 of the body, constant-time compare, event id) against the bare
//!   minimum — `Hmac::<Sha256>::new_from_slice(key)` + `update` + `finalize` of the same
//!   bytes — at 1 KiB, 16 KiB and 1 MiB. Targets: raw/verify ≥ 0.90 from 16 KiB, ≥ 0.75 at
//!   1 KiB.
//! - `standard_webhooks/*`: a full Standard Webhooks verification (three headers, timestamp
//!   against the system clock, base64 decode, HMAC over `id.timestamp.body`, event id)
//!   against the reference `standardwebhooks` crate verifying the same message. Targets:
//!   ours ≤ 1.5 µs at 1 KiB, ≥ 3× faster at 1 KiB and ≥ 4× at 1 MiB. `hmac_floor` is the
//!   cryptographic part alone (pre-keyed HMAC state, `id.timestamp.` + body, finalize), to
//!   show what the rest of the verification costs.
//!
//! Run: `cargo bench -p countersign-core --bench verify`, then
//! `python3 crates/countersign-core/benches/bench-ratios.py` prints the ratios of that run
//! from criterion's estimates.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benches")]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use countersign_core::{Delivery, Preset, SignRequest, Signer, Verifier};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const SIZES: [(&str, usize); 3] = [("1KiB", 1024), ("16KiB", 16 * 1024), ("1MiB", 1024 * 1024)];

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An ASCII JSON-ish body of exactly `len` bytes (the reference crate wants UTF-8).
fn body(len: usize) -> Vec<u8> {
    let pattern = br#"{"type":"invoice.paid","data":{"object":{"id":"in_1","amount":4200}}},"#;
    pattern.iter().copied().cycle().take(len).collect()
}

fn github_vs_raw_hmac(c: &mut Criterion) {
    let mut group = c.benchmark_group("github_vs_raw_hmac");
    for (label, len) in SIZES {
        let body = body(len);
        let headers = Signer::new(Preset::Github, GITHUB_SECRET)
            .unwrap()
            .sign(&SignRequest::new(&body).id("72d3162e-cc78-11e3-81ab-4c9367dc0958"))
            .unwrap();
        let verifier = Verifier::new(Preset::Github, GITHUB_SECRET).unwrap();
        assert!(verifier.verify(&Delivery::new(&headers, &body)).is_ok());

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("raw_hmac_sha256", label), |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            });
        });
        group.bench_function(BenchmarkId::new("countersign_verify", label), |b| {
            b.iter(|| verifier.verify(&Delivery::new(black_box(&headers), black_box(&body))));
        });
    }
    group.finish();
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn standard_webhooks(c: &mut Criterion) {
    let mut group = c.benchmark_group("standard_webhooks");
    for (label, len) in SIZES {
        let body = body(len);
        // Signed "now": both verifiers read the system clock, and a group runs for well
        // under the 5 minute tolerance.
        let headers = Signer::new(Preset::StandardWebhooks, SW_SECRET)
            .unwrap()
            .sign(
                &SignRequest::new(&body)
                    .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
                    .timestamp(unix_now()),
            )
            .unwrap();
        let ours = Verifier::new(Preset::StandardWebhooks, SW_SECRET).unwrap();
        let reference = standardwebhooks::Webhook::new(SW_SECRET).unwrap();
        assert!(ours.verify(&Delivery::new(&headers, &body)).is_ok());
        assert!(reference.verify(&body, &headers).is_ok());

        // The cryptographic floor of the same verification: the keyed HMAC state prepared
        // once (as the verifier does), then `id.timestamp.` and the body, and finalize.
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            SW_SECRET.trim_start_matches("whsec_"),
        )
        .unwrap();
        let keyed = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        let prefix = format!(
            "{}.{}.",
            headers["webhook-id"].to_str().unwrap(),
            headers["webhook-timestamp"].to_str().unwrap()
        );

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("hmac_floor", label), |b| {
            b.iter(|| {
                let mut mac = keyed.clone();
                mac.update(black_box(prefix.as_bytes()));
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            });
        });
        group.bench_function(BenchmarkId::new("countersign", label), |b| {
            b.iter(|| ours.verify(&Delivery::new(black_box(&headers), black_box(&body))));
        });
        group.bench_function(BenchmarkId::new("standardwebhooks_crate", label), |b| {
            b.iter(|| reference.verify(black_box(&body), black_box(&headers)));
        });
    }
    group.finish();
}

criterion_group!(benches, github_vs_raw_hmac, standard_webhooks);
criterion_main!(benches);
