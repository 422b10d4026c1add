//! The `Accept` service behind `VerifyLayer`: stored → 200, duplicates (also concurrent
//! ones) → 200 + `countersign-duplicate: true`, store down → 503 + Retry-After, forged → 401
//! and nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use countersign_inbox::{
    Accept, AcceptOutcome, DUPLICATE_HEADER, EventKey, Inbox, SqliteInbox, State,
};
use countersign_tower::{Preset, SignRequest, Signer, VerifyLayer};
use futures_util::future::join_all;
use http::header::RETRY_AFTER;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::TempDir;
use tower::{Layer, ServiceExt};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn signed(id: &str) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"id":"{id}","type":"charge.succeeded"}}"#);
    let mut req = Request::post("/hooks")
        .header("content-type", "application/json")
        .header("x-not-kept", "dropped")
        .header("stripe-account", "acct_1")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let signature = Signer::new(Preset::Stripe, SECRET)
        .unwrap()
        .sign(&SignRequest::new(body.as_bytes()))
        .unwrap();
    req.headers_mut().extend(signature);
    req
}

async fn sqlite(dir: &TempDir, busy: Duration) -> Arc<SqliteInbox> {
    Arc::new(
        SqliteInbox::builder(dir.file("inbox.db"))
            .busy_timeout(busy)
            .open()
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_duplicate_and_forged() {
    let dir = TempDir::new("accept");
    let inbox = sqlite(&dir, Duration::from_secs(5)).await;
    let accept = Accept::builder(inbox.clone(), Preset::Stripe)
        .route("billing")
        .status(StatusCode::ACCEPTED)
        .build()
        .unwrap();
    let app = VerifyLayer::new(Preset::Stripe, SECRET)
        .unwrap()
        .layer(accept);

    let res = app.clone().oneshot(signed("evt_1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.extensions().get(), Some(&AcceptOutcome::Stored));
    assert!(res.headers().get(DUPLICATE_HEADER).is_none());

    let dup = app.clone().oneshot(signed("evt_1")).await.unwrap();
    assert_eq!(dup.status(), StatusCode::OK);
    assert_eq!(dup.headers()[DUPLICATE_HEADER], "true");

    let mut forged = signed("evt_2");
    *forged.body_mut() = Full::new(Bytes::from_static(br#"{"id":"evt_2","amount":1000000}"#));
    let res = app.clone().oneshot(forged).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let stored = inbox
        .show(&EventKey::new("billing", "evt_1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state(), State::Pending);
    assert_eq!(stored.preset(), "stripe");
    assert_eq!(
        stored.body().as_ref(),
        br#"{"id":"evt_1","type":"charge.succeeded"}"#
    );
    // Kept: the scheme's header (so the app can verify again), content-type, allow-list.
    assert!(stored.headers().contains_key("stripe-signature"));
    assert_eq!(stored.headers()["content-type"], "application/json");
    assert_eq!(stored.headers()["stripe-account"], "acct_1");
    assert!(!stored.headers().contains_key("x-not-kept"));
    let s = inbox.stats().await.unwrap();
    assert_eq!((s.pending, s.in_flight), (1, 0), "nothing else stored");
    // The stored delivery still verifies: same bytes, same signature header.
    let verifier = countersign_core::Verifier::new(Preset::Stripe, SECRET).unwrap();
    let delivery = countersign_core::Delivery::new(stored.headers(), stored.body());
    assert!(verifier.verify(&delivery).is_ok());
}

/// 64 copies at once, through the whole stack: one event, 63 duplicate answers, all 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_are_one_event() {
    let dir = TempDir::new("accept-race");
    let inbox = sqlite(&dir, Duration::from_secs(5)).await;
    let accept = Accept::builder(inbox.clone(), Preset::Stripe)
        .build()
        .unwrap();
    let app = VerifyLayer::new(Preset::Stripe, SECRET)
        .unwrap()
        .layer(accept);
    let answers = join_all((0..64).map(|_| app.clone().oneshot(signed("evt_same")))).await;
    let mut stored = 0;
    for res in answers {
        let res = res.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "queued mode never answers 409"
        );
        if res.headers().get(DUPLICATE_HEADER).is_none() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(inbox.stats().await.unwrap().pending, 1);
}

/// The store cannot write (another process holds the write lock past the busy timeout):
/// 503 + Retry-After, nothing stored; once it can, the sender's retry is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_is_503_and_nothing_half_written() {
    let dir = TempDir::new("accept-down");
    let inbox = sqlite(&dir, Duration::from_millis(100)).await;
    let accept = Accept::builder(inbox.clone(), Preset::Stripe)
        .retry_after(Duration::from_millis(2500))
        .build()
        .unwrap();
    let app = VerifyLayer::new(Preset::Stripe, SECRET)
        .unwrap()
        .layer(accept);

    let locker = rusqlite::Connection::open(dir.file("inbox.db")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let res = app.clone().oneshot(signed("evt_down")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()[RETRY_AFTER], "3");
    assert_eq!(
        res.extensions().get(),
        Some(&AcceptOutcome::StoreUnavailable)
    );
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);

    assert!(
        inbox
            .show(&EventKey::new("stripe", "evt_down"))
            .await
            .unwrap()
            .is_none()
    );
    let res = app.oneshot(signed("evt_down")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get(DUPLICATE_HEADER).is_none(),
        "stored now, not a duplicate"
    );
}

#[test]
fn configuration_errors_surface_at_build() {
    let inbox: Arc<dyn Inbox> = Arc::new(countersign_inbox::MemoryInbox::new());
    let no_id = countersign_core::Scheme::generic_hmac(
        "x-sig",
        "",
        countersign_core::Algorithm::HmacSha256,
        countersign_core::Encoding::Hex,
    )
    .unwrap();
    assert!(
        Accept::builder(Arc::clone(&inbox), no_id).build().is_err(),
        "no event id"
    );
    assert!(
        Accept::builder(inbox, Preset::Stripe)
            .status(StatusCode::FOUND)
            .build()
            .is_err()
    );
}
