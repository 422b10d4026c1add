//! What `VerifyLayer` adds per request, in process: the same `service_fn` with and without
//! the layer, 1 KiB signed bodies, for three presets; plus the bare `Verifier::verify` cost
//! for reference. Run: `cargo bench -p countersign-tower --bench verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench")]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use countersign_core::Delivery;
use countersign_tower::{
    FixedClock, Preset, SignRequest, Signer, VerifiedBody, Verifier, VerifyLayer,
};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn body() -> Bytes {
    // 1 KiB of JSON with an id, like a small real event.
    let mut s = String::from(r#"{"id":"evt_1NbXvK2eZvKYlo2C","type":"invoice.paid","data":""#);
    while s.len() < 1024 - 2 {
        s.push('x');
    }
    s.push_str(r#""}"#);
    Bytes::from(s)
}

fn request(headers: &HeaderMap, body: &Bytes) -> Request<Full<Bytes>> {
    let mut req = Request::post("/webhooks")
        .header("host", "example.com")
        .header("content-length", body.len())
        .body(Full::new(body.clone()))
        .unwrap();
    req.headers_mut()
        .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    req
}

fn bench(c: &mut Criterion) {
    let body = body();
    let mut group = c.benchmark_group("layer_1KiB");
    for preset in [Preset::Github, Preset::Stripe, Preset::StandardWebhooks] {
        let headers = Signer::new(preset, SECRET)
            .unwrap()
            .sign(
                &SignRequest::new(&body)
                    .id("msg_1")
                    .timestamp(Duration::from_secs(NOW)),
            )
            .unwrap();
        let verifier = Verifier::builder(preset)
            .secret(SECRET)
            .clock(FixedClock::from_unix_secs(NOW))
            .build()
            .unwrap();
        let layer = VerifyLayer::builder(verifier).build().unwrap();

        let bare = service_fn(|req: Request<Full<Bytes>>| async move {
            black_box(&req);
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
        group.bench_function(format!("{preset}/bare"), |b| {
            b.iter(|| {
                let response = bare
                    .oneshot(request(&headers, &body))
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                black_box(response)
            });
        });

        let guarded = layer.layer(service_fn(|req: Request<VerifiedBody>| async move {
            black_box(&req);
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }));
        // Sanity: the layered service accepts the delivery.
        let ok = guarded
            .clone()
            .oneshot(request(&headers, &body))
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(ok.status(), 200);
        group.bench_function(format!("{preset}/layered"), |b| {
            b.iter(|| {
                let response = guarded
                    .clone()
                    .oneshot(request(&headers, &body))
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                black_box(response)
            });
        });

        let verifier = layer.verifier();
        group.bench_function(format!("{preset}/verifier_only"), |b| {
            b.iter(|| black_box(verifier.verify(&Delivery::new(&headers, &body)).unwrap()));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
