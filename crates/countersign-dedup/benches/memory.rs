//! MemoryStore operations and the cost of DedupLayer over a bare service, in process.
//!
//! `cargo bench -p countersign-dedup --bench memory`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench"
)]

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use countersign_core::{Preset, Verified};
use countersign_dedup::{Claim, DedupKey, DedupLayer, DedupStore, Fenced, MemoryStore, Token};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use tower::{Service, ServiceBuilder, service_fn};

fn store_ops(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory_store");
    let lease = Duration::from_secs(60);

    // New events; a 1 ms retention keeps the store at its capacity, so sweeps are included.
    let store = MemoryStore::new();
    let n = AtomicU64::new(0);
    g.bench_function("claim_complete_new_event", |b| {
        b.iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let t = Token::new(DedupKey::new("bench", &format!("evt_{i}")));
            let c = store.claim(&t, lease).now_or_never().unwrap().unwrap();
            assert_eq!(c, Claim::Claimed);
            let d = store
                .complete(&t, StatusCode::OK, Duration::from_millis(1))
                .now_or_never()
                .unwrap()
                .unwrap();
            black_box(d == Fenced::Applied)
        });
    });

    // New events into a store kept full of live done records (72 h retention): the steady
    // state of a busy process, where every new event evicts the oldest done record.
    let store = MemoryStore::new();
    let retention = Duration::from_secs(72 * 3600);
    for i in 0..store.capacity() {
        let t = Token::new(DedupKey::new("bench", &format!("fill_{i}")));
        let _ = store.claim(&t, lease).now_or_never();
        let _ = store.complete(&t, StatusCode::OK, retention).now_or_never();
    }
    let n = AtomicU64::new(0);
    g.bench_function("claim_complete_new_event_when_full", |b| {
        b.iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let t = Token::new(DedupKey::new("bench", &format!("evt_{i}")));
            let c = store.claim(&t, lease).now_or_never().unwrap().unwrap();
            assert_eq!(c, Claim::Claimed);
            let d = store
                .complete(&t, StatusCode::OK, retention)
                .now_or_never()
                .unwrap()
                .unwrap();
            black_box(d == Fenced::Applied)
        });
    });
    assert!(store.evictions() > 0);

    let store = MemoryStore::new();
    let key = DedupKey::new("bench", "evt_done");
    let t = Token::new(key.clone());
    let _ = store.claim(&t, lease).now_or_never();
    let _ = store
        .complete(&t, StatusCode::OK, Duration::from_secs(3600))
        .now_or_never();
    g.bench_function("claim_duplicate_of_done", |b| {
        b.iter(|| {
            let t = Token::new(key.clone());
            black_box(store.claim(&t, lease).now_or_never().unwrap().unwrap())
        });
    });
    g.finish();
}

fn layer_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("layer");
    let handler = service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    // Real proofs, made before measuring (only a verifier makes a `Verified`). The pool
    // wraps every 100 000 requests, long after the 1 ms retention let the ids expire.
    let pool: Vec<Verified> = (0..100_000)
        .map(|i| countersign_testkit::verified(Preset::Stripe, Some(&format!("evt_{i}"))))
        .collect();
    let n = AtomicU64::new(0);
    let request = || {
        let i = n.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::new(());
        let verified = &pool[usize::try_from(i).unwrap() % pool.len()];
        req.extensions_mut().insert(verified.clone());
        req
    };

    let mut bare = handler;
    g.bench_function("bare_handler", |b| {
        b.iter(|| black_box(bare.call(request()).now_or_never().unwrap().unwrap()));
    });

    let layer = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
        .retention(Duration::from_millis(1))
        .build()
        .unwrap();
    let mut deduped = ServiceBuilder::new().layer(layer).service(handler);
    g.bench_function("dedup_memory_new_event", |b| {
        b.iter(|| black_box(deduped.call(request()).now_or_never().unwrap().unwrap()));
    });
    g.finish();
}

criterion_group!(benches, store_ops, layer_overhead);
criterion_main!(benches);
