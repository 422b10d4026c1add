//! 64 concurrent copies of one delivery reach the upstream once — in memory, on Redis and on
//! Redis Cluster — and a redelivery after success is answered without forwarding.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use super::harness::{Mode, Proxy, SECRET, Upstream, delivery, post, redis_keys, unique_id};

const COPIES: usize = 64;

async fn concurrent_duplicates(store_args: &[&str]) -> (Upstream, Proxy, String) {
    let upstream = Upstream::start().await;
    // Slow enough that every copy arrives while the first is in flight.
    upstream.set(Mode::Delay(Duration::from_millis(400)));
    let url = upstream.url();
    let mut args = vec![
        "--upstream",
        &url,
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
    ];
    args.extend_from_slice(store_args);
    let proxy = Proxy::start(&args);

    let id = unique_id("dup");
    let body: Arc<[u8]> = Arc::from(&br#"{"type":"order.created","n":1}"#[..]);
    let headers = delivery(&id, &body);
    let target = proxy.url("/hooks");
    let mut tasks = Vec::new();
    for _ in 0..COPIES {
        let (headers, body, target) = (headers.clone(), Arc::clone(&body), target.clone());
        tasks.push(tokio::spawn(
            async move { post(&target, &headers, &body).await },
        ));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    let mut duplicates = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            StatusCode::OK if a.headers.contains_key("countersign-duplicate") => duplicates += 1,
            StatusCode::OK => {
                assert_eq!(a.text(), "upstream answered 200");
                ok += 1;
            }
            StatusCode::CONFLICT => {
                assert!(a.headers.contains_key("retry-after"), "{a:?}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {a:?}"),
        }
    }
    assert_eq!(upstream.hits(), 1, "the upstream ran once");
    assert_eq!(ok, 1, "exactly one copy got the upstream's answer");
    assert_eq!(ok + conflicts + duplicates, COPIES);
    assert!(conflicts > 0, "copies in flight were answered 409");

    // After success, a redelivery is answered from the record.
    let later = post(&target, &headers, &body).await;
    assert_eq!(later.status, StatusCode::OK);
    assert_eq!(later.headers["countersign-duplicate"], "true");
    assert_eq!(upstream.hits(), 1);
    (upstream, proxy, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_reach_the_upstream_once_in_memory() {
    let (_u, proxy, _) = concurrent_duplicates(&[]).await;
    let metrics = super::harness::get(&proxy.url("/metrics")).await.text();
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{route=\"standard-webhooks\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
    };
    assert_eq!(line("countersign_dedup_claimed_total"), 1);
    assert_eq!(line("countersign_dedup_completed_total"), 1);
    assert_eq!(
        line("countersign_in_flight_conflicts_total") + line("countersign_duplicates_total"),
        COPIES as u64,
        "63 copies plus the later redelivery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_reach_the_upstream_once_with_redis() {
    let redis = countersign_testkit::redis();
    let url = redis.url();
    let prefix = countersign_testkit::unique_prefix("proxy_dup");
    let (_u, _p, id) = concurrent_duplicates(&["--redis", &url, "--redis-prefix", &prefix]).await;
    let keys = redis_keys(&url, &prefix);
    assert_eq!(
        keys,
        [(
            format!("{prefix}{{standard-webhooks:{id}}}"),
            "d:200".to_owned()
        )],
        "one done record, under the route's scope"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_reach_the_upstream_once_with_redis_cluster() {
    let cluster = countersign_testkit::redis_cluster();
    let nodes = cluster.urls().join(",");
    let prefix = countersign_testkit::unique_prefix("proxy_cluster");
    concurrent_duplicates(&["--redis-cluster", &nodes, "--redis-prefix", &prefix]).await;
}
