//! `/healthz` (store reachability), `/metrics` (Prometheus text) and JSON logs.

use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use super::harness::{Proxy, Upstream, delivery, get, post, unique_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_follows_the_redis_store_down_and_back_up() {
    // A server of our own: this test kills it.
    let mut server = countersign_testkit::RedisServer::start();
    let redis_url = server.url();
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &["--redis", &redis_url]);

    let up = get(&proxy.url("/healthz")).await;
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.headers["content-type"], "application/json");
    assert_eq!(
        up.text(),
        "{\"status\":\"ok\",\"store\":\"redis\",\"store_reachable\":true}\n"
    );

    server.kill();
    let down = get(&proxy.url("/healthz")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{down:?}");
    let v: serde_json::Value = serde_json::from_slice(&down.body).unwrap();
    assert_eq!(v["status"], "store_unavailable");
    assert_eq!(v["store_reachable"], false);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("dedup store release"),
        "{v}"
    );

    // Deliveries fail closed meanwhile: 503, nothing forwarded.
    let id = unique_id("outage");
    let headers = delivery(&id, b"{}");
    let refused = post(&proxy.url("/hooks"), &headers, b"{}").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(upstream.hits(), 0);

    server.restart();
    let back = Instant::now();
    loop {
        if get(&proxy.url("/healthz")).await.status == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "healthz did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        post(&proxy.url("/hooks"), &headers, b"{}").await.status,
        StatusCode::OK
    );
    assert_eq!(upstream.hits(), 1);

    let metrics = get(&proxy.url("/metrics")).await.text();
    let store_errors = metrics
        .lines()
        .find(|l| l.starts_with("countersign_store_errors_total{route=\"standard-webhooks\"}"))
        .unwrap();
    assert_ne!(store_errors.rsplit(' ').next(), Some("0"), "{store_errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes_and_logs_can_be_json() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &["--log-format", "json"]);
    let id = unique_id("metrics");
    let headers = delivery(&id, b"{}");
    assert_eq!(
        post(&proxy.url("/a"), &headers, b"{}").await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(&proxy.url("/a"), &headers, b"{}").await.status,
        StatusCode::OK
    ); // duplicate
    assert_eq!(
        post(&proxy.url("/a"), &headers, b"{\"x\":1}").await.status,
        StatusCode::UNAUTHORIZED
    );

    let health = get(&proxy.url("/healthz")).await;
    assert_eq!(
        health.text(),
        "{\"status\":\"ok\",\"store\":\"memory\",\"store_reachable\":true}\n"
    );

    let m = get(&proxy.url("/metrics")).await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(
        m.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = m.text();
    for line in [
        "# TYPE countersign_verified_total counter",
        "countersign_verified_total{route=\"standard-webhooks\"} 2",
        "countersign_rejected_total{route=\"standard-webhooks\",reason=\"signature_mismatch\"} 1",
        "countersign_forwarded_total{route=\"standard-webhooks\",result=\"2xx\"} 1",
        "countersign_duplicates_total{route=\"standard-webhooks\"} 1",
        "countersign_in_flight_conflicts_total{route=\"standard-webhooks\"} 0",
        "countersign_store_errors_total{route=\"standard-webhooks\"} 0",
        "countersign_dedup_claimed_total{route=\"standard-webhooks\"} 1",
        "countersign_dedup_completed_total{route=\"standard-webhooks\"} 1",
        "# TYPE countersign_request_duration_seconds histogram",
        "countersign_request_duration_seconds_bucket{route=\"standard-webhooks\",le=\"+Inf\"} 3",
        "countersign_request_duration_seconds_count{route=\"standard-webhooks\"} 3",
        "countersign_unrouted_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }

    // One JSON object per log line; the access log names route, outcome and event id.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = proxy.logs();
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "countersign::access")
        .collect();
    assert_eq!(access.len(), 3, "{logs}");
    assert_eq!(access[0]["outcome"], "forwarded");
    assert_eq!(access[0]["event_id"], id.as_str());
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["route"], "standard-webhooks");
    assert_eq!(access[1]["outcome"], "duplicate");
    assert_eq!(access[2]["outcome"], "signature_mismatch");
    assert!(access[0]["duration_ms"].as_f64().is_some());
    // Secrets never reach the logs.
    assert!(!logs.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
}
