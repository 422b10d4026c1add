//! One suite, run against every `Publisher` on a real broker (the trait's doc is the
//! contract): RabbitMQ on 127.0.0.1:5672, NATS JetStream on 127.0.0.1:4222, and a tansu
//! (Kafka-protocol) broker each Kafka test starts on a free port. Each test makes its own
//! exchange/queue/stream/topic with a unique name and deletes it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use countersign_publish::{FailureKind, Message, Publisher};
use support::{Amqp, Backend, Flavour, Kafka, Nats};

const WAIT: Duration = Duration::from_secs(5);

fn message(id: &str) -> Message {
    Message::new(id, "shopify", "shop", b"\x00\xff{\"id\":1}\r\n".to_vec())
        .with_content_type("application/json")
        .with_event_type(Some("orders/create".into()))
        .with_received_at(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
}

async fn publishes_exact_bytes_and_headers<B: Backend>() {
    let b = B::new("exact").await;
    let published = b.publisher().publish(message("evt_1")).await.unwrap();
    assert!(!published.duplicate);
    let got = b.received(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.body, b"\x00\xff{\"id\":1}\r\n", "raw bytes unchanged");
    assert_eq!(m.routed_as, format!("{}.shopify.orders_create", b.prefix()));
    let expected: BTreeMap<&str, &str> = [
        ("Content-Type", "application/json"),
        ("Countersign-Event-Id", "evt_1"),
        ("Countersign-Preset", "shopify"),
        ("Countersign-Route", "shop"),
        ("Countersign-Received-At", "2023-11-14T22:13:20.123Z"),
        ("Countersign-Event-Type", "orders/create"),
    ]
    .into_iter()
    .collect();
    for (k, v) in &expected {
        assert_eq!(
            m.headers.get(*k).map(String::as_str),
            Some(*v),
            "header {k}"
        );
    }
    match B::FLAVOUR {
        Flavour::Nats => assert_eq!(
            m.headers.get("Nats-Msg-Id").map(String::as_str),
            Some("evt_1")
        ),
        Flavour::Amqp => {
            let p = &m.properties;
            assert_eq!(p["message_id"], "evt_1");
            assert_eq!(p["content_type"], "application/json");
            assert_eq!(p["delivery_mode"], "2", "persistent");
            assert_eq!(p["timestamp"], "1700000000");
            assert_eq!(m.headers.len(), expected.len(), "{:?}", m.headers);
        }
        Flavour::Kafka => {
            let p = &m.properties;
            assert_eq!(p["key"], "evt_1", "record key = event id");
            assert_eq!(
                p["timestamp"], "1700000000123",
                "record timestamp = received at"
            );
            assert_eq!(m.headers.len(), expected.len(), "{:?}", m.headers);
        }
    }
    b.cleanup().await;
}

async fn unknown_event_type_has_no_header<B: Backend>() {
    let b = B::new("no_type").await;
    let m = Message::new("evt_2", "stripe", "billing", &b"{}"[..]);
    b.publisher().publish(m).await.unwrap();
    let got = b.received(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].routed_as, format!("{}.stripe.unknown", b.prefix()));
    assert!(!got[0].headers.contains_key("Countersign-Event-Type"));
    assert_eq!(got[0].headers["Content-Type"], "application/octet-stream");
    b.cleanup().await;
}

async fn unroutable_is_a_certain_failure<B: Backend>() {
    let mut b = B::new("unroutable").await;
    let p = b.unroutable().await;
    let err = p.publish(message("evt_u")).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Unroutable, "{err}");
    assert!(!err.may_still_land());
    // The publisher is still usable afterwards.
    let err = p.publish(message("evt_u2")).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Unroutable, "{err}");
    b.cleanup().await;
}

async fn a_full_destination_rejects<B: Backend>() {
    let mut b = B::new("full").await;
    let p = b.full().await;
    p.publish(message("evt_f1")).await.unwrap();
    let err = p.publish(message("evt_f2")).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Rejected, "{err}");
    assert!(!err.may_still_land());
    b.cleanup().await;
}

async fn unreachable_fails_fast_and_certainly<B: Backend>() {
    let p = B::unreachable();
    let started = Instant::now();
    let err = p.publish(message("evt_x")).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Unreachable, "{err}");
    assert!(!err.may_still_land());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(p.check().await.is_err());
}

async fn concurrent_publishes_are_all_confirmed_once<B: Backend>() {
    let b = B::new("concurrent").await;
    let p = b.publisher();
    let publishes = (0..300).map(|i| p.publish(message(&format!("evt_c{i}"))));
    for r in futures_util::future::join_all(publishes).await {
        r.unwrap();
    }
    let got = b.received(300, WAIT).await;
    let mut ids: Vec<&str> = got
        .iter()
        .map(|m| m.headers["Countersign-Event-Id"].as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (300, 300));
    if B::FLAVOUR == Flavour::Kafka {
        let mut partitions: Vec<&str> = got
            .iter()
            .map(|m| m.properties["partition"].as_str())
            .collect();
        partitions.sort_unstable();
        partitions.dedup();
        assert_eq!(
            partitions.len(),
            3,
            "keys spread over the topic's partitions"
        );
    }
    b.cleanup().await;
}

async fn republishing_is_ok<B: Backend>() {
    let b = B::new("republish").await;
    let p = b.publisher();
    assert!(!p.publish(message("evt_r")).await.unwrap().duplicate);
    let second = p.publish(message("evt_r")).await.unwrap();
    assert_eq!(second.duplicate, B::DEDUPS_BY_EVENT_ID);
    let expected = if B::DEDUPS_BY_EVENT_ID { 1 } else { 2 };
    let got = b.received(expected, WAIT).await;
    assert_eq!(got.len(), expected);
    if B::FLAVOUR == Flavour::Kafka {
        // Every delivery of one event: same key, same partition (a consumer dedups on it).
        assert_eq!(got[0].properties, got[1].properties);
    }
    b.cleanup().await;
}

async fn check_and_describe<B: Backend>() {
    let b = B::new("check").await;
    let p = b.publisher();
    p.check().await.unwrap();
    let d = p.describe();
    assert!(!d.contains("guest:guest"), "{d}");
    assert!(!format!("{p:?}").contains("guest:guest"));
    b.cleanup().await;
}

macro_rules! conformance {
    ($name:ident, $backend:ty) => {
        conformance!(@suite $name, $backend, [a_full_destination_rejects]);
    };
    ($name:ident, $backend:ty, without_full) => {
        conformance!(@suite $name, $backend, []);
    };
    (@suite $name:ident, $backend:ty, [$($extra:ident)*]) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn publishes_exact_bytes_and_headers() {
                super::publishes_exact_bytes_and_headers::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unknown_event_type_has_no_header() {
                super::unknown_event_type_has_no_header::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unroutable_is_a_certain_failure() {
                super::unroutable_is_a_certain_failure::<$backend>().await;
            }
            $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $extra() {
                super::$extra::<$backend>().await;
            }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unreachable_fails_fast_and_certainly() {
                super::unreachable_fails_fast_and_certainly::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_publishes_are_all_confirmed_once() {
                super::concurrent_publishes_are_all_confirmed_once::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn republishing_is_ok() {
                super::republishing_is_ok::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn check_and_describe() {
                super::check_and_describe::<$backend>().await;
            }
        }
    };
}

conformance!(rabbitmq, Amqp);
conformance!(nats_jetstream, Nats);
// Kafka has no topic that refuses once full (no `x-max-length` / `discard: new`): its
// refusals are covered by the Kafka-only tests below.
conformance!(kafka, Kafka, without_full);
