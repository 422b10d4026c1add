//! Queued delivery on PostgreSQL (`countersign proxy --inbox postgres://…`) and
//! `countersign inbox --inbox postgres://…`: real proxy processes on a database of the
//! test's own on the machine's PostgreSQL; two receivers on one queue, `kill -9`,
//! `pg_terminate_backend`, a database refusing connections.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_testkit::PgDatabase;
use http::StatusCode;
use serde_json::Value;

use super::harness::{Mode, Proxy, SECRET, Upstream, client, delivery, get, post, unique_id};
use super::queued::{inbox_cli, per_id, start_queued, stats, until};

/// Sends `copies` copies of each id, spread round-robin over `targets`, `concurrency` at a
/// time; returns (id → copies answered 2xx, statuses of the others).
async fn send_copies(
    targets: &[String],
    ids: &[String],
    copies: usize,
    concurrency: usize,
) -> (HashMap<String, usize>, Vec<u16>) {
    let c = client();
    let mut work: Vec<(String, String)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..copies {
            work.push((id.clone(), targets[(i + k) % targets.len()].clone()));
        }
    }
    let queue = Arc::new(std::sync::Mutex::new(work));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, queue) = (c.clone(), Arc::clone(&queue));
        tasks.push(tokio::spawn(async move {
            let mut acked: Vec<String> = Vec::new();
            let mut refused = Vec::new();
            loop {
                let Some((id, target)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let body = format!(r#"{{"type":"load","id":"{id}"}}"#);
                let mut req = http::Request::post(&target)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body.clone())))
                    .unwrap();
                req.headers_mut().extend(delivery(&id, body.as_bytes()));
                // A connection error is retried (as a provider does: a pooled keep-alive
                // connection may be closed as it is reused); HTTP answers are final.
                let mut answer = c.request(req).await;
                for _ in 0..3 {
                    if answer.is_ok() {
                        break;
                    }
                    let mut again = http::Request::post(&target)
                        .body(http_body_util::Full::new(bytes::Bytes::from(body.clone())))
                        .unwrap();
                    again.headers_mut().extend(delivery(&id, body.as_bytes()));
                    answer = c.request(again).await;
                }
                match answer {
                    Ok(res) if res.status().is_success() => acked.push(id),
                    Ok(res) => refused.push(res.status().as_u16()),
                    Err(_) => refused.push(0),
                }
            }
            (acked, refused)
        }));
    }
    let mut acked = HashMap::new();
    let mut refused = Vec::new();
    for t in tasks {
        let (a, r) = t.await.unwrap();
        for id in a {
            *acked.entry(id).or_default() += 1;
        }
        refused.extend(r);
    }
    (acked, refused)
}

/// The sqlite black-box behaviour on PostgreSQL: `env:NAME` URL, answer before processing,
/// duplicates, dead letters, `inbox list|show|retry --dead|purge`, /metrics — and the
/// password in the URL never appears in logs, metrics or CLI output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_inbox_behaves_like_sqlite() {
    let db = PgDatabase::create("pgbb");
    // Trust authentication ignores the password; it must still never be shown.
    let url = db.url().replacen("postgres@", "postgres:s3cret-pw@", 1) + "?schema=hooks";
    assert!(url.contains("s3cret-pw@"), "{url}");
    let upstream = Upstream::start().await;
    upstream.set(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let up = upstream.url();
    let proxy = Proxy::start_with_env(
        &[
            "--upstream",
            &up,
            "--preset",
            "standard-webhooks",
            "--secret",
            SECRET,
            "--inbox",
            "env:CS_TEST_INBOX",
            "--max-attempts",
            "2",
            "--retry-initial",
            "50ms",
            "--retry-max",
            "100ms",
        ],
        &[("CS_TEST_INBOX", &url)],
    );
    let id = unique_id("pgdead");
    let body = br#"{"type":"always-500"}"#;
    let a = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let dup = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
    assert_eq!(dup.status, StatusCode::OK);
    assert_eq!(dup.headers["countersign-duplicate"], "true");
    until("dead", Duration::from_secs(10), || stats(&url)["dead"] == 1).await;
    assert_eq!(
        upstream.hits_for(&id),
        2,
        "max attempts, the duplicate never stored"
    );
    let (code, out, _) = inbox_cli(&url, &["list", "--state", "dead"]);
    assert_eq!(code, 0);
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&line["id"], &line["state"], &line["attempts"]),
        (
            &Value::from(id.as_str()),
            &Value::from("dead"),
            &Value::from(2)
        )
    );
    assert_eq!(line["last_error"]["status"], 500);
    let (code, out, _) = inbox_cli(&url, &["show", &id]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["body"], std::str::from_utf8(body).unwrap());
    assert_eq!(shown["target"], "/hooks");

    upstream.set(Mode::Ok);
    let (code, out, _) = inbox_cli(&url, &["retry", "--dead"]);
    assert_eq!((code, out.trim()), (0, r#"{"requeued":1}"#));
    until("delivered after retry", Duration::from_secs(10), || {
        stats(&url)["done"] == 1
    })
    .await;
    assert_eq!(upstream.hits_for(&id), 3);
    assert_eq!(inbox_cli(&url, &["show", "nope"]).0, 1);
    assert_eq!(inbox_cli(&url, &["retry", "nope"]).0, 1);
    let (code, out, _) = inbox_cli(&url, &["purge", "--state", "done", "--older-than", "0s"]);
    assert_eq!((code, out.trim()), (0, r#"{"purged":1}"#));
    // Usage errors exit 2: a bad schema name, an unreachable server.
    let bad = db.url() + "?schema=Not-Valid";
    assert_eq!(inbox_cli(&bad, &["stats"]).0, 2);
    assert_eq!(
        inbox_cli("postgres://postgres:s3cret-pw@127.0.0.1:1/x", &["stats"]).0,
        2
    );
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args([
            "inbox",
            "--inbox",
            "postgres://postgres:s3cret-pw@127.0.0.1:1/x",
            "stats",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgres://postgres:***@127.0.0.1:1/x"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");

    let m = get(&proxy.url("/metrics")).await.text();
    assert!(
        m.contains("countersign_inbox_events{inbox=\"postgres://postgres:***@"),
        "{m}"
    );
    assert!(!m.contains("s3cret"));
    assert!(!proxy.logs().contains("s3cret"), "{}", proxy.logs());
    assert_eq!(
        db.psql("SELECT count(*) FROM hooks.schema_version"),
        "2",
        "the schema parameter was honoured"
    );
    drop(proxy);
}

/// Two proxies on one database: 1 000 events, every one sent 16 times, the copies spread
/// over both proxies at once (the library suite runs the 64-way version on two inboxes).
/// Each is answered 2xx every time, stored once and delivered once by one of the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_share_one_queue() {
    let db = PgDatabase::create("pgtwo");
    let url = db.url();
    let upstream = Upstream::start().await;
    let a = start_queued(&upstream.url(), &url, &[]);
    let b = start_queued(&upstream.url(), &url, &[]);
    let ids: Vec<String> = (0..1000).map(|i| unique_id(&format!("two{i}"))).collect();
    let started = Instant::now();
    let (acked, refused) = send_copies(&[a.url("/hooks"), b.url("/hooks")], &ids, 16, 64).await;
    assert!(refused.is_empty(), "non-2xx answers: {refused:?}");
    assert!(acked.len() == 1000 && acked.values().all(|n| *n == 16));
    until("all delivered", Duration::from_secs(60), || {
        stats(&url)["done"] == 1000
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = per_id(&upstream);
    assert_eq!(counts.len(), 1000);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let s = stats(&url);
    assert_eq!(
        (s["pending"].as_u64(), s["in_flight"].as_u64()),
        (Some(0), Some(0))
    );
    eprintln!(
        "two proxies: 16 000 deliveries of 1 000 events in {:?}",
        started.elapsed()
    );
    drop((a, b));
}

/// `kill -9` of one of two receivers while it delivers: the events it had leased are
/// delivered by the other once their leases end; nothing acknowledged is lost, nothing stays
/// in flight, and the only duplicates are those leases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_receiver_mid_delivery() {
    let db = PgDatabase::create("pgkill");
    let url = db.url();
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_millis(300)));
    let flags = [
        "--delivery-concurrency",
        "8",
        "--lease",
        "2s",
        "--upstream-timeout",
        "1s",
    ];
    let victim = start_queued(&upstream.url(), &url, &flags);
    let survivor = start_queued(&upstream.url(), &url, &flags);
    let ids: Vec<String> = (0..300).map(|i| unique_id(&format!("kill{i}"))).collect();
    let (acked, refused) = send_copies(&[victim.url("/hooks")], &ids, 1, 32).await;
    assert!(refused.is_empty() && acked.len() == 300, "{refused:?}");
    until("the victim delivering", Duration::from_secs(10), || {
        stats(&url)["in_flight"].as_u64() >= Some(4)
    })
    .await;
    let held = stats(&url)["in_flight"].as_u64().unwrap();
    let killed = Command::new("kill")
        .args(["-KILL", &victim.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut victim = victim;
    let _ = victim.wait(Duration::from_secs(5)).await;
    let killed_at = Instant::now();
    until("everything delivered", Duration::from_secs(90), || {
        stats(&url)["done"] == 300
    })
    .await;
    let counts = per_id(&upstream);
    let missing: Vec<&String> = ids.iter().filter(|i| !counts.contains_key(*i)).collect();
    assert!(missing.is_empty(), "lost {} events", missing.len());
    let redelivered: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        redelivered <= 8,
        "{redelivered} redeliveries, but the victim held at most 8 leases ({held} in flight on both at the kill)"
    );
    let s = stats(&url);
    assert_eq!(
        (s["in_flight"].as_u64(), s["pending"].as_u64()),
        (Some(0), Some(0))
    );
    eprintln!(
        "kill -9 with {held} in flight: all 300 delivered {:?} after the kill, {redelivered} redelivered",
        killed_at.elapsed()
    );
    drop(survivor);
}

/// The database refuses connections: the proxy answers `503` + `Retry-After`, never 2xx,
/// and recovers by itself when the database is back. Connections killed with
/// `pg_terminate_backend` during a load: every event answered 2xx is delivered, the others
/// were answered 503 (the provider retries them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_answers_503_and_recovers() {
    let db = PgDatabase::create("pgdown");
    let url = db.url();
    let upstream = Upstream::start().await;
    let proxy = start_queued(&upstream.url(), &url, &[]);

    db.allow_connections(false);
    let _ = db.terminate_connections();
    let id = unique_id("down");
    let body = br#"{"type":"while-down"}"#;
    let started = Instant::now();
    let a = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert!(a.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    db.allow_connections(true);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = post(&proxy.url("/hooks"), &delivery(&id, body), body)
            .await
            .status;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "did not recover");
    until("delivered", Duration::from_secs(10), || {
        upstream.hits_for(&id) == 1
    })
    .await;

    // pg_terminate_backend, again and again, during 2 000 deliveries.
    let ids: Vec<String> = (0..2000).map(|i| unique_id(&format!("term{i}"))).collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let stop = Arc::clone(&stop);
        let name = db.name().to_owned();
        std::thread::spawn(move || {
            let admin = countersign_testkit::postgres_url();
            let mut kills = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                kills += countersign_testkit::psql(
                    &admin,
                    &format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' AND application_name = 'countersign-inbox'"),
                )
                .unwrap()
                .parse::<usize>()
                .unwrap_or(0);
            }
            kills
        })
    };
    let (acked, refused) = send_copies(&[proxy.url("/hooks")], &ids, 1, 32).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.join().unwrap();
    assert!(kills > 0);
    assert!(
        refused.iter().all(|s| *s == 503),
        "only 503 when the store fails: {refused:?}"
    );
    let acked: HashSet<String> = acked.into_keys().collect();
    until(
        "every acknowledged event delivered",
        Duration::from_secs(60),
        || {
            let counts = per_id(&upstream);
            acked.iter().all(|i| counts.contains_key(i))
        },
    )
    .await;
    until("nothing in flight", Duration::from_secs(60), || {
        let s = stats(&url);
        s["in_flight"] == 0 && s["pending"] == 0
    })
    .await;
    eprintln!(
        "pg_terminate_backend ×{kills}: {} acknowledged and delivered, {} answered 503",
        acked.len(),
        refused.len()
    );
    drop(proxy);
}
