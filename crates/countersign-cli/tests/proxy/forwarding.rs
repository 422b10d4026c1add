//! A verified delivery is forwarded once, exactly; anything else never reaches the upstream.

use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};

use super::harness::{Mode, Proxy, SECRET, Upstream, delivery, get, post, unique_id};

fn args(upstream: &Upstream) -> Vec<String> {
    vec![
        "--upstream".into(),
        upstream.url(),
        "--preset".into(),
        "standard-webhooks".into(),
        "--secret".into(),
        SECRET.into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_delivery_is_forwarded_once_with_the_added_headers_and_the_exact_body() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&strs(&args(&upstream)));
    // Not UTF-8, not JSON: bytes are bytes.
    let body: &[u8] = b"\x00\xff{\"id\":\"evt\"}\r\n\xfe";
    let id = unique_id("fwd");
    let mut headers = delivery(&id, body);
    headers.insert("x-app", HeaderValue::from_static("kept"));
    // Hop-by-hop headers, and ones the proxy alone may set, must not get through.
    headers.insert("connection", HeaderValue::from_static("keep-alive, x-hop"));
    headers.insert("x-hop", HeaderValue::from_static("dropped"));
    headers.insert("countersign-event-id", HeaderValue::from_static("forged"));
    headers.insert("countersign-verified", HeaderValue::from_static("false"));

    let answer = post(&proxy.url("/hooks/standard?a=1&b=%20"), &headers, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.text(), "upstream answered 200");
    assert_eq!(
        answer.headers["x-upstream"], "yes",
        "upstream headers relayed"
    );

    assert_eq!(upstream.hits(), 1);
    let seen = &upstream.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/hooks/standard?a=1&b=%20");
    assert_eq!(&seen.body[..], body, "byte-identical body");
    let h = &seen.headers;
    assert_eq!(h["countersign-verified"], "true");
    assert_eq!(h["countersign-event-id"], id.as_str());
    assert_eq!(h["countersign-preset"], "standard-webhooks");
    assert_eq!(h.get_all("countersign-event-id").iter().count(), 1);
    assert_eq!(h["webhook-id"], id.as_str(), "original headers kept");
    assert!(h.contains_key("webhook-signature") && h.contains_key("webhook-timestamp"));
    assert_eq!(h["x-app"], "kept");
    assert!(
        !h.contains_key("x-hop"),
        "a header named by Connection is hop-by-hop"
    );
    assert_eq!(h["host"], upstream.addr.to_string().as_str());
    assert_eq!(h["x-forwarded-host"], proxy.addr.to_string().as_str());
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["content-length"], body.len().to_string().as_str());

    // The same delivery again: answered from the record, not forwarded.
    let again = post(&proxy.url("/hooks/standard?a=1&b=%20"), &headers, body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["countersign-duplicate"], "true");
    assert_eq!(upstream.hits(), 1, "forwarded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_forged_and_stale_deliveries_are_rejected_and_never_forwarded() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&strs(&args(&upstream)));
    let body = br#"{"type":"invoice.paid","amount":100}"#;
    let id = unique_id("tamper");
    let headers = delivery(&id, body);

    let tampered = post(
        &proxy.url("/"),
        &headers,
        br#"{"type":"invoice.paid","amount":900}"#,
    )
    .await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED, "{tampered:?}");
    assert_eq!(tampered.text(), "webhook signature invalid");

    let unsigned = post(&proxy.url("/"), &http::HeaderMap::new(), body).await;
    assert_eq!(unsigned.status, StatusCode::BAD_REQUEST, "{unsigned:?}");

    let other_secret = super::harness::signed(
        countersign_core::Preset::StandardWebhooks,
        "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==",
        &id,
        body,
    );
    let forged = post(&proxy.url("/"), &other_secret, body).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let stale = countersign_core::Signer::new(countersign_core::Preset::StandardWebhooks, SECRET)
        .unwrap()
        .sign(
            &countersign_core::SignRequest::new(body)
                .id(&id)
                .timestamp(Duration::from_secs(1_700_000_000)),
        )
        .unwrap();
    let stale = post(&proxy.url("/"), &stale, body).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        upstream.hits(),
        0,
        "nothing unverified reached the upstream"
    );
    // The genuine delivery still goes through afterwards (rejections claim nothing).
    assert_eq!(
        post(&proxy.url("/"), &headers, body).await.status,
        StatusCode::OK
    );
    assert_eq!(upstream.hits(), 1);

    let metrics = get(&proxy.url("/metrics")).await.text();
    for line in [
        "countersign_rejected_total{route=\"standard-webhooks\",reason=\"signature_mismatch\"} 2",
        "countersign_rejected_total{route=\"standard-webhooks\",reason=\"missing_header\"} 1",
        "countersign_rejected_total{route=\"standard-webhooks\",reason=\"timestamp_too_old\"} 1",
        "countersign_verified_total{route=\"standard-webhooks\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line}:\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_500_reaches_the_provider_and_the_retry_is_forwarded_again() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&strs(&args(&upstream)));
    let body = b"{}";
    let id = unique_id("500");
    let headers = delivery(&id, body);

    upstream.set(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let first = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR, "{first:?}");
    assert_eq!(
        first.text(),
        "upstream answered 500",
        "the upstream's own answer"
    );

    upstream.set(Mode::Ok);
    let retry = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(retry.status, StatusCode::OK, "{retry:?}");
    assert!(!retry.headers.contains_key("countersign-duplicate"));
    assert_eq!(upstream.hits_for(&id), 2, "the retry was forwarded");

    let done = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(done.headers["countersign-duplicate"], "true");
    assert_eq!(upstream.hits_for(&id), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_upstream_is_answered_504_within_the_timeout_and_the_retry_is_forwarded() {
    let upstream = Upstream::start().await;
    let mut a = args(&upstream);
    a.extend(["--upstream-timeout".into(), "700ms".into()]);
    let proxy = Proxy::start(&strs(&a));
    let body = b"{}";
    let id = unique_id("hang");
    let headers = delivery(&id, body);

    upstream.set(Mode::Hang);
    let started = Instant::now();
    let first = post(&proxy.url("/"), &headers, body).await;
    let took = started.elapsed();
    assert_eq!(first.status, StatusCode::GATEWAY_TIMEOUT, "{first:?}");
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(1700),
        "answered after {took:?}"
    );

    upstream.set(Mode::Ok);
    let retry = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(retry.status, StatusCode::OK, "claim released: {retry:?}");
    assert_eq!(upstream.hits_for(&id), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_502_and_releases_the_claim() {
    // A port with nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&[
        "--upstream",
        &format!("http://{closed}"),
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
    ]);
    let body = b"{}";
    let headers = delivery(&unique_id("502"), body);
    let answer = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{answer:?}");
    let again = post(&proxy.url("/"), &headers, body).await;
    assert_eq!(
        again.status,
        StatusCode::BAD_GATEWAY,
        "not a duplicate: released"
    );
    drop(upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_type_is_forwarded_and_counted_and_a_sender_cannot_set_it() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&strs(&args(&upstream)));
    let typed: &[u8] = br#"{"type":"invoice.paid","data":{}}"#;
    let mut headers = delivery(&unique_id("typed"), typed);
    headers.insert("countersign-event-type", HeaderValue::from_static("forged"));
    let answer = post(&proxy.url("/hooks/standard"), &headers, typed).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    // No type in the body, and a type outside the bounds: no header at all.
    for body in [&br#"{"data":{}}"#[..], br#"{"type":"a*b"}"#] {
        let mut headers = delivery(&unique_id("untyped"), body);
        headers.insert("countersign-event-type", HeaderValue::from_static("forged"));
        let answer = post(&proxy.url("/hooks/standard"), &headers, body).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
    let seen = upstream.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].headers["countersign-event-type"], "invoice.paid");
    assert_eq!(
        seen[0]
            .headers
            .get_all("countersign-event-type")
            .iter()
            .count(),
        1
    );
    for s in &seen[1..] {
        assert!(!s.headers.contains_key("countersign-event-type"), "{s:?}");
    }
    let metrics = get(&proxy.url("/metrics")).await.text();
    for line in [
        "countersign_events_total{route=\"standard-webhooks\",event_type=\"invoice.paid\"} 1",
        "countersign_events_total{route=\"standard-webhooks\",event_type=\"none\"} 2",
        "countersign_events_total{route=\"standard-webhooks\",event_type=\"other\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
}
