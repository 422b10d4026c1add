//! SIGTERM: in-flight requests finish within the grace period while new ones are answered 503,
//! every request that reached the proxy gets an answer, and no claim stays in flight (checked
//! on Redis); forwards still running when the grace period ends keep their claims (they
//! expire with their lease).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use super::harness::{
    Mode, Proxy, SECRET, Upstream, delivery, post, post_once, redis_keys, unique_id,
};

/// What one request of the load got.
#[derive(Debug)]
struct Outcome {
    id: String,
    result: Result<StatusCode, String>,
    answered_at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_load_answers_every_request_and_leaves_no_claim_in_flight() {
    let redis = countersign_testkit::redis();
    let redis_url = redis.url();
    let prefix = countersign_testkit::unique_prefix("proxy_sigterm");
    let upstream = Upstream::start().await;
    // Every delivery is in flight for a while: SIGTERM lands on some of them.
    upstream.set(Mode::Delay(Duration::from_millis(300)));
    let url = upstream.url();
    let mut proxy = Proxy::standard_webhooks(
        &url,
        &[
            "--redis",
            &redis_url,
            "--redis-prefix",
            &prefix,
            "--grace-period",
            "3s",
            "--header-timeout",
            "2s",
        ],
    );
    let addr = proxy.addr;

    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (outcomes, stop) = (Arc::clone(&outcomes), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let id = unique_id(&format!("load{w}"));
                let body = format!(r#"{{"worker":{w}}}"#);
                let headers = delivery(&id, body.as_bytes());
                let result = post_once(addr, "/hooks", &headers, body.as_bytes())
                    .await
                    .map(|a| a.status);
                let refused = matches!(&result, Err(e) if e.starts_with("connect"));
                outcomes.lock().unwrap().push(Outcome {
                    id,
                    result,
                    answered_at: Instant::now(),
                });
                if refused {
                    // The listener is closed: the proxy is going away.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let in_flight_at_signal = upstream.hits();
    let sigterm_at = Instant::now();
    proxy.terminate();
    let status = proxy.wait(Duration::from_secs(10)).await;
    let exited_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert!(status.success(), "clean exit: {status}");

    let outcomes = outcomes.lock().unwrap();
    let answered: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_ok()).collect();
    let finished_during_grace = answered
        .iter()
        .filter(|o| o.answered_at > sigterm_at)
        .count();
    assert!(in_flight_at_signal > 0 && !answered.is_empty());
    assert!(
        finished_during_grace > 0,
        "requests in flight at SIGTERM were answered after it"
    );
    // Requests that arrived while draining were answered 503, and only those.
    let drained = answered
        .iter()
        .filter(|o| o.result == Ok(StatusCode::SERVICE_UNAVAILABLE))
        .count();
    for o in &answered {
        match o.result {
            Ok(StatusCode::OK) => {}
            Ok(StatusCode::SERVICE_UNAVAILABLE) => {
                assert!(o.answered_at > sigterm_at, "{o:?}");
                assert_eq!(upstream.hits_for(&o.id), 0, "{o:?}");
            }
            _ => panic!("{o:?}"),
        }
    }
    assert!(
        drained > 0,
        "the listener stayed open during the grace period"
    );
    // No request was processed without its answer: every id the upstream saw was answered,
    // and a request that got no answer (refused, or closed before the proxy read it) never
    // reached the upstream — the provider retries it.
    let seen: Vec<String> = upstream
        .seen()
        .iter()
        .filter_map(|s| {
            s.headers
                .get("countersign-event-id")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .collect();
    for id in &seen {
        assert!(
            answered.iter().any(|o| &o.id == id),
            "{id} reached the upstream but its sender got no answer"
        );
    }
    let unanswered: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    for o in &unanswered {
        assert_eq!(upstream.hits_for(&o.id), 0, "{o:?}");
        assert!(o.answered_at >= sigterm_at, "only after SIGTERM: {o:?}");
    }
    let reset = unanswered
        .iter()
        .filter(|o| !o.result.as_ref().unwrap_err().starts_with("connect"))
        .count();

    // No claim left in flight: one done record per forwarded delivery, nothing else.
    let keys = redis_keys(&redis_url, &prefix);
    let claims: Vec<_> = keys.iter().filter(|(_, v)| v.starts_with("c:")).collect();
    assert!(claims.is_empty(), "claims left in flight: {claims:?}");
    assert_eq!(keys.len(), seen.len(), "{keys:?}");
    assert!(keys.iter().all(|(_, v)| v == "d:200"));
    let logs = proxy.logs();
    assert!(logs.contains("claims_pending=0"), "{logs}");
    eprintln!(
        "sigterm under load: {} answered ({} during the grace period, {} of them 503), {} refused \
         or closed unread ({} closed, not refused), exit {:?} after the signal",
        answered.len(),
        finished_during_grace,
        drained,
        unanswered.len(),
        reset,
        exited_at - sigterm_at
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_grace_period_requests_get_503_and_running_forwards_keep_their_claims() {
    let redis = countersign_testkit::redis();
    let redis_url = redis.url();
    let prefix = countersign_testkit::unique_prefix("proxy_grace");
    let upstream = Upstream::start().await;
    upstream.set(Mode::Hang);
    let url = upstream.url();
    let args = [
        "--upstream",
        &url,
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--redis",
        &redis_url,
        "--redis-prefix",
        &prefix,
        "--grace-period",
        "1s",
        "--upstream-timeout",
        "30s",
    ];
    let mut proxy = Proxy::start(&args);
    let addr = proxy.addr;

    let ids: Vec<String> = (0..8).map(|i| unique_id(&format!("grace{i}"))).collect();
    let mut tasks = Vec::new();
    for id in &ids {
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let headers = delivery(&id, b"{}");
            let r = post_once(addr, "/hooks", &headers, b"{}").await;
            (r, Instant::now())
        }));
    }
    let waited = Instant::now();
    while upstream.hits() < ids.len() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "deliveries did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claimed = redis_keys(&redis_url, &prefix);
    assert_eq!(claimed.len(), ids.len());
    assert!(
        claimed.iter().all(|(_, v)| v.starts_with("c:")),
        "{claimed:?}"
    );

    let sigterm_at = Instant::now();
    proxy.terminate();
    let status = proxy.wait(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    for t in tasks {
        let (result, at) = t.await.unwrap();
        let answer = result.expect("every in-flight request got an answer");
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert_eq!(answer.headers["retry-after"], "5");
        let after = at - sigterm_at;
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_secs(4),
            "answered {after:?} after SIGTERM (grace 1s)"
        );
    }
    // The upstream may still be working on them: the claims are not released but expire
    // with their lease (60 s), so a retry cannot race it.
    let left = redis_keys(&redis_url, &prefix);
    assert_eq!(left.len(), ids.len(), "{left:?}");
    assert!(left.iter().all(|(_, v)| v.starts_with("c:")), "{left:?}");
    assert!(
        proxy.logs().contains("claims_pending=8"),
        "{}",
        proxy.logs()
    );

    // The provider's retry is not forwarded while the abandoned claim lasts.
    upstream.set(Mode::Ok);
    let proxy = Proxy::start(&args);
    let headers = delivery(&ids[0], b"{}");
    let retry = post(&proxy.url("/hooks"), &headers, b"{}").await;
    assert_eq!(retry.status, StatusCode::CONFLICT, "{retry:?}");
    assert!(retry.headers.contains_key("retry-after"));
    assert_eq!(upstream.hits_for(&ids[0]), 1);
}
