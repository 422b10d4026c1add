//! Queued delivery on Redis (`countersign proxy --inbox redis://…?prefix=…`) and
//! `countersign inbox --inbox redis://…`: real proxy processes, a throwaway `redis-server` per
//! test (testkit, free port), a real upstream; two proxies on one queue, `kill -9`, Redis down.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use countersign_testkit::RedisServer;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use super::harness::{Mode, Upstream, client, delivery, get, post, unique_id};
use super::queued::{inbox_cli, per_id, start_queued, stats, until};

async fn post_via(
    c: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(StatusCode, bool)> {
    let mut req = Request::post(url)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    req.headers_mut().extend(headers.clone());
    let res = c.request(req).await.ok()?;
    let dup = res.headers().contains_key("countersign-duplicate");
    let status = res.status();
    let _ = http_body_util::BodyExt::collect(res.into_body()).await;
    Some((status, dup))
}

/// Queued delivery through Redis end to end: 200 before the upstream is called, delivered
/// once with the stored headers, `countersign inbox` sees it (stats, list, show), a prefix
/// with no inbox is a usage error (exit 2) and writes nothing, and the proxy warns that the
/// server runs without AOF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_on_redis_and_the_inbox_cli() {
    let redis = RedisServer::start();
    let upstream = Upstream::start().await;
    let url = format!("{}?prefix=shop:hooks", redis.url());
    let proxy = start_queued(&upstream.url(), &url, &[]);
    let id = unique_id("redis");
    let body = br#"{"type":"invoice.paid"}"#;
    let a = post(&proxy.url("/hooks/billing"), &delivery(&id, body), body).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let again = post(&proxy.url("/hooks/billing"), &delivery(&id, body), body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["countersign-duplicate"], "true");
    until("delivered", Duration::from_secs(10), || {
        stats(&url)["done"] == 1
    })
    .await;
    assert_eq!(upstream.hits_for(&id), 1);
    let seen = &upstream.seen()[0];
    assert_eq!(seen.uri, "/hooks/billing");
    assert_eq!(seen.body.as_ref(), body);
    assert_eq!(seen.headers["countersign-attempt"], "1");

    let (code, out, _) = inbox_cli(&url, &["list", "--state", "done"]);
    assert_eq!(code, 0);
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["state"], "done");
    let (code, out, _) = inbox_cli(&url, &["show", &id]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["body"], std::str::from_utf8(body).unwrap());
    let (code, _, _) = inbox_cli(&url, &["show", "nope"]);
    assert_eq!(code, 1);

    // Another prefix on the same server: no inbox there, and none is created.
    let other = format!("{}?prefix=typo", redis.url());
    let (code, _, err) = inbox_cli(&other, &["stats"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no inbox"), "{err}");
    let keys = redis.cli(&["--scan", "--pattern", "{typo}*"]);
    assert!(keys.trim().is_empty(), "created: {keys}");

    let logs = proxy.logs();
    assert!(logs.contains("appendonly no"), "{logs}");
    drop(proxy);
}

/// Two proxy processes on one Redis inbox behind a "load balancer": 250 events, each sent 16
/// times alternating between them, concurrently. Every copy is answered 200, exactly one
/// per event is fresh, and the upstream gets each event exactly once though both proxies
/// deliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_share_one_queue() {
    let redis = RedisServer::start();
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_millis(2)));
    let url = format!("{}?prefix=lb", redis.url());
    let a = start_queued(&upstream.url(), &url, &[]);
    let b = start_queued(&upstream.url(), &url, &[]);
    let ids: Vec<String> = (0..250).map(|i| unique_id(&format!("lb{i}"))).collect();
    let targets = [a.url("/hooks"), b.url("/hooks")];
    let c = client();
    let jobs: Vec<(String, usize)> = ids
        .iter()
        .flat_map(|id| (0..16).map(move |n| (id.clone(), n)))
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(jobs));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (c, queue, targets) = (c.clone(), Arc::clone(&queue), targets.clone());
        tasks.push(tokio::spawn(async move {
            let mut fresh = Vec::new();
            loop {
                let Some((id, n)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let body = format!(r#"{{"type":"lb","id":"{id}"}}"#);
                let headers = delivery(&id, body.as_bytes());
                let (status, dup) = post_via(&c, &targets[n % 2], &headers, body.as_bytes())
                    .await
                    .expect("answered");
                assert_eq!(status, StatusCode::OK);
                if !dup {
                    fresh.push(id);
                }
            }
            fresh
        }));
    }
    let mut fresh = Vec::new();
    for t in tasks {
        fresh.extend(t.await.unwrap());
    }
    assert_eq!(fresh.len(), 250, "one fresh answer per event");
    assert_eq!(fresh.iter().collect::<HashSet<_>>().len(), 250);
    until("all delivered", Duration::from_secs(60), || {
        stats(&url)["done"] == 250
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let counts = per_id(&upstream);
    assert_eq!(counts.len(), 250);
    assert!(counts.values().all(|n| *n == 1), "delivered twice");
    drop((a, b));
}

/// `kill -9` of a proxy while its deliveries run (a slow upstream): the events it held stay in
/// flight until their lease ends, then the other proxy delivers them (attempt 2). Every
/// acknowledged event reaches the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_proxy_the_other_delivers() {
    let redis = RedisServer::start();
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_millis(1500)));
    let url = format!("{}?prefix=k9", redis.url());
    let flags = ["--lease", "3s", "--upstream-timeout", "2s"];
    let a = start_queued(&upstream.url(), &url, &flags);
    let ids: Vec<String> = (0..8).map(|i| unique_id(&format!("k{i}"))).collect();
    for id in &ids {
        let body = format!(r#"{{"id":"{id}"}}"#);
        let r = post(
            &a.url("/hooks"),
            &delivery(id, body.as_bytes()),
            body.as_bytes(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    until("deliveries running", Duration::from_secs(10), || {
        upstream.hits() >= 8
    })
    .await;
    let killed = Command::new("kill")
        .args(["-KILL", &a.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut a = a;
    let _ = a.wait(Duration::from_secs(5)).await;
    let s = stats(&url);
    assert_eq!(s["in_flight"], 8, "{s}");
    let b = start_queued(&upstream.url(), &url, &flags);
    upstream.set(Mode::Ok);
    until("redelivered by b", Duration::from_secs(15), || {
        stats(&url)["done"] == 8
    })
    .await;
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
    assert_eq!(
        attempts.iter().filter(|a| *a == "2").count(),
        8,
        "{attempts:?}"
    );
    let counts = per_id(&upstream);
    assert!(
        ids.iter().all(|id| counts.get(id) == Some(&2)),
        "{counts:?}"
    );
    drop(b);
}

/// Redis down: the proxy answers 503 + Retry-After (never 2xx) within its bounds, and takes
/// deliveries again once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_then_recovers() {
    let mut redis = RedisServer::start();
    let upstream = Upstream::start().await;
    let url = format!("{}?prefix=down", redis.url());
    let proxy = start_queued(&upstream.url(), &url, &[]);
    let health = get(&proxy.url("/healthz")).await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    redis.kill();
    // /healthz probes the inbox: 503 inbox_unavailable while Redis is down, within its bound.
    let t = Instant::now();
    let health = get(&proxy.url("/healthz")).await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{health:?}");
    let report: Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(report["status"], "inbox_unavailable", "{report}");
    assert_eq!(report["inbox_reachable"], false, "{report}");
    let id = unique_id("down");
    let body = br#"{"type":"x"}"#;
    let t = Instant::now();
    let a = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert!(a.headers.contains_key("retry-after"));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    redis.restart();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let a = post(&proxy.url("/hooks"), &delivery(&id, body), body).await;
        if a.status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < end, "still {a:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until("delivered", Duration::from_secs(10), || {
        upstream.hits_for(&id) == 1
    })
    .await;
    let health = get(&proxy.url("/healthz")).await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    drop(proxy);
}

/// The README's two-proxies-on-Redis demo, run as written (free ports instead of 6379, 8000,
/// 8080 and 8081; the counting upstream stands in for the app).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme() {
    use super::readme::{DemoOutput, block, free_port, path_with_binary, run_demo};

    let script = block("inbox-redis-demo");
    assert!(script.contains("--inbox 'redis://127.0.0.1:6379/?prefix=shop'"));
    let upstream = Upstream::start().await;
    let (redis, p1, p2) = (free_port(), free_port(), free_port());
    let script = script
        .replace("http://127.0.0.1:8000", &upstream.url())
        .replace("6379", &redis.to_string())
        .replace("8080", &p1.to_string())
        .replace("8081", &p2.to_string());
    // The daemonized server leaves the demo's process group: stopped here whatever happened.
    struct ShutDown(u16);
    impl Drop for ShutDown {
        fn drop(&mut self) {
            let _ = Command::new("redis-cli")
                .args(["-p", &self.0.to_string(), "shutdown", "nosave"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
    let _redis = ShutDown(redis);
    let DemoOutput { stdout, all } = tokio::task::spawn_blocking(move || {
        run_demo(
            "the README two-proxies-on-Redis demo",
            &script,
            path_with_binary(),
            Duration::from_secs(90),
        )
    })
    .await
    .unwrap();
    let statuses: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "{all}");
    let stats: Value = serde_json::from_str(
        stdout
            .lines()
            .find(|l| l.starts_with("{\"pending\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stats["done"], 1, "{all}");
    assert_eq!(upstream.hits_for("evt_2"), 1, "{all}");
}
