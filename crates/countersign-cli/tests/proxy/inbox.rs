//! Queued delivery (`countersign proxy --inbox sqlite:PATH`) and `countersign inbox`: real
//! proxy processes, a real SQLite file, a real upstream; `kill -9` included.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use super::harness::{
    Answer, Mode, Proxy, SECRET, Scratch, Upstream, client, delivery, get, post, send, unique_id,
};
use super::queued::{inbox_cli, per_id, start_queued, stats, until};

struct Queued {
    scratch: Scratch,
    url: String,
}

impl Queued {
    fn new() -> Self {
        let scratch = Scratch::new();
        let url = format!("sqlite:{}", scratch.0.join("inbox.db").display());
        Queued { scratch, url }
    }

    fn start(&self, upstream: &str, extra: &[&str]) -> Proxy {
        start_queued(upstream, &self.url, extra)
    }
}

async fn post_via(
    c: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, String> {
    let mut req = Request::post(url)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    req.headers_mut().extend(headers.clone());
    let response = c.request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Sends one delivery per id, `concurrency` at a time; returns the ids answered 2xx.
async fn send_all(target: &str, ids: &[String], concurrency: usize) -> Vec<String> {
    let c = client();
    let queue = Arc::new(std::sync::Mutex::new(ids.to_vec()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, queue, target) = (c.clone(), Arc::clone(&queue), target.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            loop {
                let Some(id) = queue.lock().unwrap().pop() else {
                    break;
                };
                let body = format!(
                    r#"{{"type":"load","id":"{id}","pad":"{}"}}"#,
                    "x".repeat(900)
                );
                let headers = delivery(&id, body.as_bytes());
                if let Ok(a) = post_via(&c, &target, &headers, body.as_bytes()).await
                    && a.status.is_success()
                {
                    acked.push(id);
                }
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked
}

/// The sender gets 200 as soon as the event is stored, though the upstream takes 3 s; the
/// upstream then gets it once, with the original body and headers plus the proxy's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_before_processing() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_secs(3)));
    let q = Queued::new();
    let proxy = q.start(
        &upstream.url(),
        &["--upstream-timeout", "10s", "--lease", "20s"],
    );
    let id = unique_id("early");
    let body = br#"{"type":"invoice.paid","n":1}"#;
    let headers = delivery(&id, body);
    let started = Instant::now();
    let a = post(&proxy.url("/hooks/billing?x=1"), &headers, body).await;
    let took = started.elapsed();
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert!(!a.headers.contains_key("countersign-duplicate"));
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
    // /healthz probes the inbox too.
    let health = get(&proxy.url("/healthz")).await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    let report: Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(report["inbox_reachable"], true, "{report}");

    until(
        "the upstream got the event",
        Duration::from_secs(10),
        || upstream.hits() == 1,
    )
    .await;
    let seen = &upstream.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/hooks/billing?x=1");
    assert_eq!(seen.body.as_ref(), body);
    assert_eq!(seen.headers["countersign-verified"], "true");
    assert_eq!(seen.headers["countersign-event-id"], id.as_str());
    assert_eq!(seen.headers["countersign-preset"], "standard-webhooks");
    assert_eq!(seen.headers["countersign-attempt"], "1");
    // The signature headers travel along: the upstream can verify again.
    for h in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        assert_eq!(seen.headers[h], headers[h], "{h}");
    }
    until("done", Duration::from_secs(5), || {
        stats(&q.url)["done"] == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(upstream.hits(), 1);
    drop(proxy);
}

/// The issue's reproduction: the upstream takes 3 s, the sender gives up after 0.5 s and
/// retries. In queued mode the first copy is already answered, the retry is a duplicate, and
/// the upstream gets the event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impatient_sender_and_slow_upstream_deliver_once() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_secs(3)));
    let q = Queued::new();
    let proxy = q.start(
        &upstream.url(),
        &["--upstream-timeout", "10s", "--lease", "20s"],
    );
    let id = unique_id("impatient");
    let body = br#"{"type":"charge","n":2}"#;
    let headers = delivery(&id, body);
    for attempt in 0..3 {
        // The sender's own 0.5 s timeout; whatever happens, it retries.
        let answer = tokio::time::timeout(
            Duration::from_millis(500),
            post(&proxy.url("/hooks"), &headers, body),
        )
        .await;
        let a = answer.expect("queued mode answers well within the sender's timeout");
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            a.headers.contains_key("countersign-duplicate"),
            attempt > 0,
            "{a:?}"
        );
    }
    until("delivered", Duration::from_secs(10), || {
        stats(&q.url)["done"] == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(upstream.hits_for(&id), 1);
    drop(proxy);
}

/// 64 concurrent copies of one delivery: all answered 200 (never 409 in queued mode), one
/// stored, delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_are_one_message() {
    let upstream = Upstream::start().await;
    let q = Queued::new();
    let proxy = q.start(&upstream.url(), &[]);
    let id = unique_id("dup64");
    let body: Arc<[u8]> = Arc::from(&br#"{"type":"dup"}"#[..]);
    let headers = delivery(&id, &body);
    let target = proxy.url("/hooks");
    let c = client();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (c, headers, body, target) = (
            c.clone(),
            headers.clone(),
            Arc::clone(&body),
            target.clone(),
        );
        tasks.push(tokio::spawn(async move {
            post_via(&c, &target, &headers, &body).await.unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        if !a.headers.contains_key("countersign-duplicate") {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    until("delivered", Duration::from_secs(10), || {
        upstream.hits() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(upstream.hits(), 1);
    let s = stats(&q.url);
    assert_eq!(
        (s["done"].as_u64(), s["pending"].as_u64()),
        (Some(1), Some(0))
    );
    drop(proxy);
}

/// An upstream answering 500 forever: dead after --max-attempts; `inbox retry --dead` sends
/// it again once the upstream is fixed. A 4xx is dead at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_and_inbox_cli() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let q = Queued::new();
    let proxy = q.start(
        &upstream.url(),
        &[
            "--max-attempts",
            "3",
            "--retry-initial",
            "50ms",
            "--retry-max",
            "200ms",
        ],
    );
    let id = unique_id("dead");
    let body = br#"{"type":"always-500"}"#;
    let a = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
    assert_eq!(a.status, StatusCode::OK);
    until("dead", Duration::from_secs(10), || {
        stats(&q.url)["dead"] == 1
    })
    .await;
    assert_eq!(upstream.hits_for(&id), 3, "max attempts");
    let attempts: Vec<String> = upstream
        .seen()
        .iter()
        .map(|s| {
            s.headers["countersign-attempt"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);

    let (code, out, _) = inbox_cli(&q.url, &["list", "--state", "dead"]);
    assert_eq!(code, 0);
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    for key in [
        "id",
        "preset",
        "route",
        "state",
        "attempts",
        "last_error",
        "received_at",
        "next_attempt_at",
    ] {
        assert!(line.get(key).is_some(), "{key} in {line}");
    }
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["state"], "dead");
    assert_eq!(line["attempts"], 3);
    assert_eq!(line["last_error"]["status"], 500);

    // Fixed upstream, retry the dead letters: delivered with attempts reset.
    upstream.set(Mode::Ok);
    let (code, out, _) = inbox_cli(&q.url, &["retry", "--dead"]);
    assert_eq!((code, out.trim()), (0, r#"{"requeued":1}"#));
    until("delivered after retry", Duration::from_secs(5), || {
        stats(&q.url)["done"] == 1
    })
    .await;
    assert_eq!(upstream.hits_for(&id), 4);
    assert_eq!(upstream.seen()[3].headers["countersign-attempt"], "1");

    // 4xx (not 408/429): dead at once.
    upstream.set(Mode::Status(StatusCode::UNPROCESSABLE_ENTITY));
    let id4 = unique_id("refused");
    let a = post(&proxy.url("/hooks"), &delivery(&id4, body), body).await;
    assert_eq!(a.status, StatusCode::OK);
    until("dead at once", Duration::from_secs(5), || {
        stats(&q.url)["dead"] == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.hits_for(&id4), 1);

    // show: headers and body.
    let (code, out, _) = inbox_cli(&q.url, &["show", &id4]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["body"], std::str::from_utf8(body).unwrap());
    assert_eq!(shown["body_encoding"], "utf-8");
    assert_eq!(shown["last_error"]["status"], 422);
    assert!(
        shown["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"] == "webhook-signature")
    );
    // Exit codes: 1 not found, 2 usage/config.
    assert_eq!(inbox_cli(&q.url, &["show", "nope"]).0, 1);
    assert_eq!(inbox_cli(&q.url, &["retry", "nope"]).0, 1);
    assert_eq!(inbox_cli("redis://127.0.0.1:1", &["stats"]).0, 2);
    assert_eq!(
        inbox_cli(
            &q.url,
            &["purge", "--state", "pending", "--older-than", "0s"]
        )
        .0,
        2
    );
    assert_eq!(inbox_cli(&q.url, &["list", "--state", "bogus"]).0, 2);
    // Purge: `0s` takes every event in the state.
    let (code, out, _) = inbox_cli(&q.url, &["purge", "--state", "done", "--older-than", "1h"]);
    assert_eq!((code, out.trim()), (0, r#"{"purged":0}"#));
    let (code, out, _) = inbox_cli(&q.url, &["purge", "--state", "done", "--older-than", "0s"]);
    assert_eq!((code, out.trim()), (0, r#"{"purged":1}"#));

    // /metrics: queue depth, attempts and outcomes, latency.
    let m = get(&proxy.url("/metrics")).await.text();
    assert!(m.contains("state=\"dead\"} 1"), "{m}");
    assert!(m.contains("countersign_inbox_oldest_pending_age_seconds{"));
    assert!(
        m.contains("countersign_inbox_attempts_total{route=\"standard-webhooks\"} 5"),
        "{m}"
    );
    assert!(
        m.contains(
            "countersign_inbox_outcomes_total{route=\"standard-webhooks\",outcome=\"dead\"} 2"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "countersign_inbox_accepted_total{route=\"standard-webhooks\",outcome=\"stored\"} 2"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "countersign_inbox_delivery_duration_seconds_count{route=\"standard-webhooks\"} 5"
        ),
        "{m}"
    );
    drop(proxy);
}

/// The upstream is down (connection refused) while 1 000 events arrive: all are answered
/// 200, and all are delivered once it is back, each once; the attempts show the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_while_1000_events_arrive() {
    // A port nothing listens on, reused when the upstream comes back.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let q = Queued::new();
    let proxy = q.start(
        &format!("http://{port}"),
        &[
            "--retry-initial",
            "200ms",
            "--retry-max",
            "2s",
            "--max-attempts",
            "100",
        ],
    );
    let ids: Vec<String> = (0..1000).map(|i| unique_id(&format!("down{i}"))).collect();
    let down_since = Instant::now();
    let acked = send_all(&proxy.url("/hooks"), &ids, 32).await;
    assert_eq!(
        acked.len(),
        1000,
        "every event acknowledged while the upstream is down"
    );
    let s = stats(&q.url);
    assert_eq!(s["done"], 0);
    // Down for 10 s in all.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down_since.elapsed())).await;
    let upstream = Upstream::start_on(port).await;
    until("all delivered", Duration::from_secs(30), || {
        per_id(&upstream).len() == 1000
    })
    .await;
    until("all done", Duration::from_secs(10), || {
        stats(&q.url)["done"] == 1000
    })
    .await;
    let counts = per_id(&upstream);
    assert!(counts.values().all(|n| *n == 1), "each delivered once");
    assert_eq!(upstream.hits(), 1000);
    // Backoff visible in attempts: every event failed at least once before it got through.
    let (_, out, _) = inbox_cli(&q.url, &["list", "--state", "done", "--limit", "2000"]);
    let attempts: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["attempts"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(attempts.len(), 1000);
    assert!(attempts.iter().all(|a| *a >= 2), "{attempts:?}");
    let max = attempts.iter().max().unwrap();
    // 10 s of refusals with delays growing 0.2 s → 2 s (jittered) is a handful of attempts,
    // not hundreds.
    assert!(*max <= 40, "no backoff? max attempts {max}");
    drop(proxy);
}

/// `kill -9` in the middle of 5 000 events (accepting and delivering at once): after the
/// restart every event that got a 2xx is delivered, none is lost, and redeliveries are
/// bounded by the leases in flight at the kill (the delivery concurrency).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_loses_nothing() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_millis(5)));
    let q = Queued::new();
    let flags = [
        "--delivery-concurrency",
        "16",
        "--lease",
        "2s",
        "--upstream-timeout",
        "1s",
        "--retry-initial",
        "100ms",
    ];
    let proxy = q.start(&upstream.url(), &flags);
    // Far more than can be accepted before the kill below: the kill lands mid-run even when
    // accepts are fast (all of 5 000 were acked before a kill at 2 500 was noticed once).
    let ids: Vec<String> = (0..8_000).map(|i| unique_id(&format!("k{i}"))).collect();
    let target = proxy.url("/hooks");
    let sender = tokio::spawn({
        let ids = ids.clone();
        async move { send_all(&target, &ids, 32).await }
    });
    // Kill when about half is in, while deliveries run.
    until("half accepted", Duration::from_secs(60), || {
        stats(&q.url)["pending"].as_u64().unwrap_or(0) + stats(&q.url)["done"].as_u64().unwrap_or(0)
            >= 1000
    })
    .await;
    let pid = proxy.pid();
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut proxy = proxy;
    let _ = proxy.wait(Duration::from_secs(5)).await;
    let acked: HashSet<String> = sender.await.unwrap().into_iter().collect();
    assert!(
        acked.len() >= 1000 && acked.len() < ids.len(),
        "acked {}",
        acked.len()
    );
    let delivered_before = upstream.hits();

    // Restart on the same file; the provider retries what was not acknowledged.
    let proxy = q.start(&upstream.url(), &flags);
    let rest: Vec<String> = ids
        .iter()
        .filter(|i| !acked.contains(*i))
        .cloned()
        .collect();
    let acked_after = send_all(&proxy.url("/hooks"), &rest, 32).await;
    assert_eq!(acked_after.len(), rest.len());
    until("everything delivered", Duration::from_secs(60), || {
        per_id(&upstream).len() == ids.len()
    })
    .await;
    let counts = per_id(&upstream);
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "lost {} acknowledged events", lost.len());
    let redelivered: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        redelivered <= 16,
        "{redelivered} redeliveries (leases in flight at the kill: at most 16); {delivered_before} delivered before the kill"
    );
    until("all done", Duration::from_secs(10), || {
        stats(&q.url)["done"] == ids.len()
    })
    .await;
    eprintln!(
        "kill -9: {} acked before, {delivered_before} delivered before, {redelivered} redelivered",
        acked.len()
    );
    drop(proxy);
}

/// The lease must exceed the upstream timeout (or a slow upstream could get the event twice
/// at once); queued flags need --inbox; unsupported inbox URLs are usage errors.
#[tokio::test]
async fn configuration_errors() {
    let q = Queued::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_countersign"))
            .arg("proxy")
            .args(args)
            .output()
            .unwrap()
    };
    let base = [
        "--check",
        "--upstream",
        "http://127.0.0.1:9",
        "--preset",
        "stripe",
        "--secret",
        SECRET,
    ];
    let with = |extra: &[&str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        run(&v)
    };
    let out = with(&[
        "--inbox",
        &q.url,
        "--lease",
        "5s",
        "--upstream-timeout",
        "5s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lease"));
    assert_eq!(with(&["--max-attempts", "3"]).status.code(), Some(2));
    assert_eq!(
        with(&["--inbox", "mysql://127.0.0.1:3306"]).status.code(),
        Some(2)
    );
    assert_eq!(
        with(&["--inbox", &q.url, "--no-dedup"]).status.code(),
        Some(2)
    );
    let ok = with(&[
        "--inbox",
        &q.url,
        "--max-attempts",
        "5",
        "--delivery-concurrency",
        "4",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("inbox sqlite:") && text.contains("max_attempts=5"),
        "{text}"
    );

    // The TOML config: `inbox` per route.
    let toml = format!(
        "lease = \"90s\"\n[[route]]\npath = \"/stripe\"\npreset = \"stripe\"\nsecret = \"{SECRET}\"\nupstream = \"http://127.0.0.1:9\"\ninbox = \"{}\"\nmax_attempts = 4\nretry_initial = \"2s\"\nretry_max = \"30s\"\ndelivery_concurrency = 8\n",
        q.url
    );
    let file = q.scratch.file("countersign.toml", toml.as_bytes());
    let out = run(&["--check", "--config", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("max_attempts=4") && text.contains("delivery_concurrency=8"),
        "{text}"
    );
    let _ = send;
}

/// The README's queued-delivery demo, run as written (free ports instead of 8000/8080).
#[test]
fn readme() {
    use super::readme::{DemoOutput, block, free_port, path_with_binary, run_demo};

    let script = block("inbox-demo");
    assert!(script.contains("--inbox sqlite:inbox.db") && script.contains("countersign inbox"));
    let (app, proxy) = (free_port(), free_port());
    let script = script
        .replace("8000", &app.to_string())
        .replace("8080", &proxy.to_string());
    let DemoOutput { stdout, all } = run_demo(
        "the README queued-delivery demo",
        &script,
        path_with_binary(),
        Duration::from_secs(90),
    );
    let statuses: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "{all}");
    let app_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("app got"))
        .collect();
    assert_eq!(
        app_lines,
        [r#"app got evt_1 attempt 1 {"id":"evt_1","type":"invoice.paid"}"#],
        "{all}"
    );
    let stats: Value = serde_json::from_str(
        stdout
            .lines()
            .find(|l| l.starts_with("{\"pending\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stats["pending"].as_u64().unwrap() + stats["in_flight"].as_u64().unwrap(),
        1,
        "{all}"
    );
    let listed: Value =
        serde_json::from_str(stdout.lines().find(|l| l.starts_with("{\"id\"")).unwrap()).unwrap();
    assert_eq!(listed["state"], "done", "{all}");
}

/// `countersign inbox` on a path where no inbox exists is a usage error (exit 2) and creates
/// nothing: a typo must not look like an empty, healthy inbox.
#[test]
fn the_inbox_cli_refuses_a_missing_inbox_file() {
    let scratch = Scratch::new();
    let path = scratch.0.join("typo.db");
    let url = format!("sqlite:{}", path.display());
    for args in [&["stats"][..], &["list"], &["retry", "--dead"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args(["inbox", "--inbox", &url])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
}
