//! The whole stack end to end — `VerifyLayer` → `DedupLayer` → handler, as the quickstart
//! wires it (`post(handler).route_layer(dedup).route_layer(verify)`) — over real HTTP
//! (axum on 127.0.0.1:0, a hyper client) with deliveries signed the way Stripe and Standard
//! Webhooks sign them, for every store: `MemoryStore`, `RedisStore` on a real `redis-server`,
//! `RedisClusterStore` on a real 3-master cluster (started by the test, or `REDIS_URL` /
//! `REDIS_CLUSTER_URLS`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::time::{Duration, Instant};

use countersign::dedup::{DedupConfigError, WhenFull};
use countersign::scheme::EventIdSource;
use countersign::{DedupLayer, MemoryStore, Preset};
use futures_util::future::join_all;
use http::StatusCode;
use support::{
    Answer, Delivery, Harness, Kind, SLACK_SECRET, TEST, client, now, run_key, send, serve,
};

/// Concurrent deliveries per event.
const BURST: usize = 64;
/// Events per store (half Stripe, half Standard Webhooks): 80 × 65 requests.
const ROUNDS: usize = 80;

/// 64 concurrent deliveries of one event — each signed separately, as a provider's retries
/// are — `ROUNDS` times: the handler runs exactly once per event; the others get 409 +
/// `Retry-After` while it runs and 200 + `countersign-duplicate: true` after.
async fn concurrent_deliveries_run_the_handler_once(kind: Kind) {
    let h = Harness::new(kind, TEST).await;
    let app = serve(&h.store).await;
    let client = client();
    let (mut in_flight, mut duplicates) = (0u64, 0u64);
    let mut events = Vec::new();
    for round in 0..ROUNDS {
        let (preset, id) = if round % 2 == 0 {
            (Preset::Stripe, format!("evt_burst_{round}"))
        } else {
            (Preset::StandardWebhooks, format!("msg_burst_{round}"))
        };
        let t = now();
        let copies: Vec<Delivery> = (0..BURST as u64)
            .map(|k| {
                let d = match preset {
                    Preset::Stripe => Delivery::stripe(&id, t - k),
                    _ => Delivery::standard(&id, t - k),
                };
                d.header("x-test-sleep-ms", "5")
            })
            .collect();
        let answers: Vec<Answer> =
            join_all(copies.iter().map(|d| send(&client, app.addr, d))).await;
        assert_eq!(
            app.effects.count(&run_key(preset, &id)),
            1,
            "round {round}: side effects"
        );
        let mut handled = 0;
        for a in &answers {
            match (a.status, a.duplicate) {
                (StatusCode::OK, false) => {
                    handled += 1;
                    assert_eq!(a.body, "run 1", "round {round}");
                }
                (StatusCode::OK, true) => duplicates += 1,
                (StatusCode::CONFLICT, false) => {
                    assert!(a.retry_after, "a 409 carries Retry-After");
                    in_flight += 1;
                }
                _ => panic!("{kind:?} round {round}: unexpected answer {a:?}"),
            }
        }
        assert_eq!(handled, 1, "round {round}: one handler answer");
        // A retry after the burst is answered from the record.
        let late = match preset {
            Preset::Stripe => Delivery::stripe(&id, now()),
            _ => Delivery::standard(&id, now()),
        };
        let late = send(&client, app.addr, &late).await;
        assert_eq!((late.status, late.duplicate), (StatusCode::OK, true));
        assert_eq!(
            late.body, "",
            "a duplicate does not replay the handler's body"
        );
        events.push((preset, id));
    }
    assert_eq!(app.effects.total(), ROUNDS as u64, "zero double executions");
    assert!(
        in_flight > 0,
        "{kind:?}: no duplicate arrived while in flight"
    );
    assert!(
        duplicates > 0,
        "{kind:?}: no duplicate arrived after completion"
    );
    for preset in [Preset::Stripe, Preset::StandardWebhooks] {
        let s = app.stats(preset);
        let n = (ROUNDS / 2) as u64;
        assert_eq!((s.claimed, s.completed, s.released), (n, n, 0), "{preset}");
    }
    // The store holds one done record per event, nothing else.
    assert_eq!(h.record_count(), ROUNDS, "{kind:?}");
    let records = h.records();
    if kind != Kind::Memory {
        assert!(records.values().all(|v| v == "d:200"), "{records:?}");
        for (preset, id) in &events {
            let key = format!("{{{}:{id}}}", preset.name());
            assert!(
                records.keys().any(|k| k.ends_with(&key)),
                "no record for {key}"
            );
        }
    }
}

/// Tampered, forged, stale and unsigned deliveries are rejected by `VerifyLayer` before the
/// dedup layer: no claim is made (the layer's counters, the store's records and — on servers
/// the test started — Redis's own command counts stay as they were), the handler never runs.
/// The genuine delivery afterwards is claimed and recorded, so the checks can see a claim.
async fn rejected_deliveries_make_no_claim(kind: Kind) {
    let h = Harness::new(kind, TEST).await;
    let app = serve(&h.store).await;
    let client = client();
    let writes = h.write_calls();
    let t = now();
    let genuine = Delivery::stripe("evt_tamper_1", t);
    let tampered = genuine
        .clone()
        .with_body(String::from_utf8_lossy(&genuine.body).replace("2000", "1"));
    let forged = Delivery::signed(Preset::Stripe, "whsec_not_the_secret", "", &genuine.body, t);
    let stale = Delivery::stripe("evt_tamper_1", t - 600);
    let standard = Delivery::standard("msg_tamper_1", t);
    let truncated = standard.clone().with_body(standard.body.slice(..10));
    let mut unsigned = standard.clone();
    unsigned.headers.remove("webhook-signature");

    for (what, d, status) in [
        ("tampered body", &tampered, StatusCode::UNAUTHORIZED),
        ("wrong secret", &forged, StatusCode::UNAUTHORIZED),
        ("10 minutes old", &stale, StatusCode::UNAUTHORIZED),
        ("truncated body", &truncated, StatusCode::UNAUTHORIZED),
        ("no signature", &unsigned, StatusCode::BAD_REQUEST),
    ] {
        let a = send(&client, app.addr, d).await;
        assert_eq!(a.status, status, "{kind:?} {what}: {a:?}");
        assert!(!a.duplicate, "{what}");
    }
    assert_eq!(
        app.effects.total(),
        0,
        "the handler ran for a rejected delivery"
    );
    assert_eq!(
        app.claimed(),
        0,
        "a rejected delivery reached the dedup layer"
    );
    assert_eq!(h.record_count(), 0, "{kind:?}: {:?}", h.records());
    assert_eq!(
        h.write_calls(),
        writes,
        "Redis saw a claim for a rejected delivery"
    );

    // The genuine deliveries: claimed, run once, recorded.
    for d in [&genuine, &standard] {
        let a = send(&client, app.addr, d).await;
        assert_eq!((a.status, a.duplicate), (StatusCode::OK, false), "{a:?}");
    }
    assert_eq!(app.claimed(), 2);
    assert_eq!(h.record_count(), 2);
    if let (Some(before), Some(after)) = (writes, h.write_calls()) {
        // Per event: one SET … NX GET to claim, one EVALSHA to record done (plus a retried
        // EVALSHA the first time a server has not loaded the script).
        assert!(after - before >= 4, "{kind:?}: {before} → {after}");
    }
    // And a tampered copy of a processed event is still a 401, not a duplicate 200.
    let a = send(&client, app.addr, &tampered).await;
    assert_eq!((a.status, a.duplicate), (StatusCode::UNAUTHORIZED, false));
    assert_eq!(app.effects.total(), 2);
}

/// Slack's signed `url_verification` is answered by `VerifyLayer` (`.handshakes(true)`)
/// before the dedup layer: the challenge comes back, nothing is claimed, the handler does
/// not run. A forged one is a 401. An ordinary Slack event is claimed and handled.
async fn handshake_is_answered_and_never_claims(kind: Kind) {
    let h = Harness::new(kind, TEST).await;
    let app = serve(&h.store).await;
    let client = client();
    let writes = h.write_calls();
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let handshake = Delivery::signed(Preset::Slack, SLACK_SECRET, "", body, now());
    for _ in 0..3 {
        let a = send(&client, app.addr, &handshake).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert!(!a.duplicate, "a handshake is answered, not deduplicated");
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            a.body,
            r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
        );
    }
    let forged = Delivery::signed(Preset::Slack, "not-the-signing-secret", "", body, now());
    let a = send(&client, app.addr, &forged).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(!a.body.contains("3eZbrw1a"));
    assert_eq!(app.effects.total(), 0, "a handshake reached the handler");
    assert_eq!(app.claimed(), 0, "a handshake was claimed");
    assert_eq!(app.stats(Preset::Slack).missing_event_id, 0);
    assert_eq!(h.record_count(), 0, "{:?}", h.records());
    assert_eq!(h.write_calls(), writes);

    let event =
        br#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention"}}"#;
    let event = Delivery::signed(Preset::Slack, SLACK_SECRET, "", event, now());
    let a = send(&client, app.addr, &event).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "run 1"));
    let a = send(&client, app.addr, &event).await;
    assert_eq!((a.status, a.duplicate), (StatusCode::OK, true));
    assert_eq!(app.effects.count(&run_key(Preset::Slack, "Ev08MFMKH6")), 1);
    assert_eq!(h.record_count(), 1);
}

/// The store goes away mid-run: deliveries get 503 + `Retry-After` within the response
/// timeout and the handler is not called (not even for a duplicate of a processed event);
/// when the store is back, the next retry runs the handler once.
async fn store_down_answers_503_without_calling_the_handler(kind: Kind) {
    let mut h = Harness::own(kind, "full-stack-own").await;
    let app = serve(&h.store).await;
    let client = client();
    let first = Delivery::stripe("evt_before_outage", now());
    assert_eq!(send(&client, app.addr, &first).await.status, StatusCode::OK);

    h.kill();
    let during = Delivery::standard("msg_during_outage", now());
    for d in [&during, &first] {
        let started = Instant::now();
        let a = send(&client, app.addr, d).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{kind:?}: {a:?}");
        assert!(a.retry_after, "503 carries Retry-After");
        assert!(!a.duplicate);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{kind:?}: 503 took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        app.effects.total(),
        1,
        "the handler ran while the store was down"
    );
    assert!(app.stats(Preset::StandardWebhooks).store_errors >= 1);

    h.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let a = send(
            &client,
            app.addr,
            &Delivery::standard("msg_during_outage", now()),
        )
        .await;
        if a.status == StatusCode::OK {
            assert_eq!((a.duplicate, a.body.as_str()), (false, "run 1"));
            break;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
        assert!(
            Instant::now() < deadline,
            "{kind:?}: no recovery after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.effects
            .count(&run_key(Preset::StandardWebhooks, "msg_during_outage")),
        1
    );
}

macro_rules! store_suite {
    ($($store:ident: $kind:expr;)*) => {$(
        mod $store {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_deliveries_run_the_handler_once() {
                super::concurrent_deliveries_run_the_handler_once($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rejected_deliveries_make_no_claim() {
                super::rejected_deliveries_make_no_claim($kind).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn handshake_is_answered_and_never_claims() {
                super::handshake_is_answered_and_never_claims($kind).await;
            }
        }
    )*};
}

store_suite! {
    memory: Kind::Memory;
    redis: Kind::Redis;
    cluster: Kind::Cluster;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_without_calling_the_handler() {
    store_down_answers_503_without_calling_the_handler(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_down_answers_503_without_calling_the_handler() {
    store_down_answers_503_without_calling_the_handler(Kind::Cluster).await;
}

/// `MemoryStore` cannot go down, but a full one with `WhenFull::Reject` fails closed the same
/// way: 503, handler not called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_memory_store_answers_503_without_calling_the_handler() {
    let store = MemoryStore::builder()
        .capacity(1)
        .when_full(WhenFull::Reject)
        .build()
        .unwrap();
    let h = Harness::memory(store);
    let app = serve(&h.store).await;
    let client = client();
    let a = send(&client, app.addr, &Delivery::stripe("evt_fills_it", now())).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(&client, app.addr, &Delivery::stripe("evt_no_room", now())).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert!(a.retry_after);
    assert_eq!(
        app.effects.count(&run_key(Preset::Stripe, "evt_no_room")),
        0
    );
    assert_eq!(app.effects.total(), 1);
}

/// A preset that carries no event id cannot be put behind `DedupLayer` without an id
/// extractor: `build()` says so, naming the preset — at start-up, not per request.
#[test]
fn presets_without_event_id_fail_at_build_time() {
    let mut refused = Vec::new();
    for &preset in Preset::ALL {
        let built = DedupLayer::builder(MemoryStore::new(), preset).build();
        match built {
            Err(DedupConfigError::NoEventIdSource { scheme }) => {
                assert_eq!(scheme, preset.name());
                assert!(matches!(preset.scheme().event_id(), EventIdSource::None));
                refused.push(preset.name());
            }
            Err(e) => panic!("{preset}: unexpected error {e}"),
            Ok(_) => assert!(
                !matches!(preset.scheme().event_id(), EventIdSource::None),
                "{preset} has no event id but the layer was built"
            ),
        }
        // With an extractor the user takes responsibility for the id: it builds.
        DedupLayer::builder(MemoryStore::new(), preset)
            .event_id_with(|parts| {
                parts
                    .headers
                    .get("x-event-id")?
                    .to_str()
                    .ok()
                    .map(Into::into)
            })
            .build()
            .unwrap_or_else(|e| panic!("{preset} with an extractor: {e}"));
    }
    assert_eq!(
        refused,
        [
            "zoom",
            "sendgrid",
            "hubspot",
            "hubspot-v2",
            "hubspot-v1",
            "dropbox",
            "calendly",
            "xero",
            "lemon-squeezy",
            "paystack",
            "cal-com",
            "clickup",
            "help-scout",
            "docusign",
            "greenhouse",
            "doppler",
            "line",
            "webex",
            "airtable",
            "pusher",
            "terraform-cloud",
            "gocardless",
            "sendbird",
            "hookdeck",
            "asana",
            "flutterwave",
            "buildkite",
            "elevenlabs",
            "webflow",
            "frame-io",
            "front",
            "mandrill",
            "basic-auth",
            "postmark",
            "pipedrive",
            "api-key",
            "api-key-query",
            "bearer-token",
            "courier",
            "recurly",
            "patreon",
            "meta",
            "x",
            "microsoft-graph",
        ]
    );
    let err = DedupLayer::builder(MemoryStore::new(), Preset::Zoom)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("zoom"), "{err}");
    // A scheme of one's own without an id source, too.
    let generic = countersign::Scheme::generic_hmac(
        "x-signature",
        "",
        countersign::scheme::Algorithm::HmacSha256,
        countersign::scheme::Encoding::Hex,
    )
    .unwrap();
    assert!(matches!(
        DedupLayer::builder(MemoryStore::new(), generic).build(),
        Err(DedupConfigError::NoEventIdSource { .. })
    ));
}
