//! Redis-specific behaviour: one round trip per accept, two receivers sharing one queue,
//! a receiver killed mid-delivery, Redis killed and restarted with AOF mid-load, 503 while it
//! is down, the `appendonly` check.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use countersign_inbox::{
    Accept, Accepted, Delivery, EventKey, Inbox, LeaseRequest, RedisInbox, State, Worker,
};
use countersign_testkit::{RedisServer, command_calls};
use countersign_tower::{Preset, SignRequest, Signer, VerifyLayer};
use futures_util::future::join_all;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{event, redis_prefix, redis_url};
use tower::{Layer, ServiceExt};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn open(url: &str, prefix: &str) -> RedisInbox {
    RedisInbox::builder(url)
        .prefix(prefix)
        .response_timeout(Duration::from_millis(500))
        .open()
        .await
        .unwrap()
}

async fn until(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The request path costs one command per accept: `INFO commandstats` before and after 500
/// accepts (stored and duplicate) counts 500 `evalsha` and nothing else but the `info` calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_accept() {
    let server = RedisServer::start();
    let inbox = open(&server.url(), "rt").await;
    let before = command_calls(server.port());
    for i in 0..250 {
        let e = event("stripe", &format!("evt_{i}"));
        assert_eq!(inbox.accept(&e).await.unwrap(), Accepted::Stored);
        assert_eq!(inbox.accept(&e).await.unwrap(), Accepted::Duplicate);
    }
    let after = command_calls(server.port());
    let mut delta: HashMap<&str, u64> = HashMap::new();
    for (name, calls) in &after {
        let d = calls - before.get(name).copied().unwrap_or(0);
        if d > 0 {
            delta.insert(name, d);
        }
    }
    assert_eq!(delta.remove("evalsha"), Some(500), "{delta:?}");
    assert_eq!(delta.remove("info"), Some(1), "{delta:?}");
    // Commands run inside the script are counted too (the hset/zadd…); they are not round
    // trips. Every other client command would show up here.
    for inside in ["exists", "time", "hset", "zadd", "sadd"] {
        delta.remove(inside);
    }
    assert!(
        delta.is_empty(),
        "other commands on the request path: {delta:?}"
    );
}

/// Two receivers (two `RedisInbox` instances with their own connections and workers) on one
/// Redis: 1 000 events, each sent 64 times spread across both, are stored once and
/// delivered exactly once (no lease expiry in play).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receivers_deliver_each_event_once() {
    let url = redis_url();
    let prefix = redis_prefix("two");
    // A generous bound: 640 accepts at once on a debug build and a busy machine.
    let open = async || {
        RedisInbox::builder(&url)
            .prefix(&prefix)
            .response_timeout(Duration::from_secs(10))
            .open()
            .await
            .unwrap()
    };
    let a: Arc<dyn Inbox> = Arc::new(open().await);
    let b: Arc<dyn Inbox> = Arc::new(open().await);
    let delivered: Arc<Mutex<HashMap<String, (u32, usize)>>> = Arc::default();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for (n, inbox) in [&a, &b].into_iter().enumerate() {
        let d = Arc::clone(&delivered);
        let worker = Worker::builder(Arc::clone(inbox), move |del: Delivery| {
            let d = Arc::clone(&d);
            async move {
                let mut map = d.lock().unwrap();
                let e = map.entry(del.id().to_owned()).or_insert((0, n));
                e.0 += 1;
                Ok(())
            }
        })
        .lease(Duration::from_secs(60))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            worker.run(async move { stop.notified().await }).await
        }));
    }
    let stored = AtomicU64::new(0);
    let dups = AtomicU64::new(0);
    for chunk in (0..1000).collect::<Vec<_>>().chunks(10) {
        let copies: Vec<_> = chunk
            .iter()
            .flat_map(|i| (0..64).map(move |c| (*i, c)))
            .collect();
        let results = join_all(copies.iter().map(|(i, c)| {
            let inbox = if c % 2 == 0 { &a } else { &b };
            let e = event("stripe", &format!("evt_{i}"));
            async move { inbox.accept(&e).await }
        }))
        .await;
        for r in results {
            match r.unwrap() {
                Accepted::Stored => stored.fetch_add(1, Ordering::Relaxed),
                _ => dups.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
    assert_eq!(stored.load(Ordering::Relaxed), 1000);
    assert_eq!(dups.load(Ordering::Relaxed), 63_000);
    until("every event done", Duration::from_secs(60), async || {
        a.stats().await.unwrap().done == 1000
    })
    .await;
    stop.notify_waiters();
    for t in tasks {
        t.await.unwrap();
    }
    let map = delivered.lock().unwrap().clone();
    assert_eq!(map.len(), 1000);
    assert!(map.values().all(|(n, _)| *n == 1), "delivered twice");
    let by_a = map.values().filter(|(_, w)| *w == 0).count();
    eprintln!("receiver a delivered {by_a}, b {}", 1000 - by_a);
    assert!(by_a > 0 && by_a < 1000, "both receivers worked: {by_a}");
    let st = b.stats().await.unwrap();
    assert_eq!((st.pending, st.in_flight, st.done), (0, 0, 1000));
}

/// The child half of `receiver_killed_mid_delivery_is_redelivered`: leases with a 3 s lease,
/// prints the event id from inside the handler and hangs until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by receiver_killed_mid_delivery_is_redelivered"]
async fn child_hangs_in_handler() {
    let (Some(url), Some(prefix)) = (
        std::env::var_os("INBOX_CHILD_REDIS"),
        std::env::var_os("INBOX_CHILD_PREFIX"),
    ) else {
        return;
    };
    let inbox = Arc::new(open(url.to_str().unwrap(), prefix.to_str().unwrap()).await);
    let worker = Worker::builder(inbox, |d: Delivery| async move {
        // Not println!: the test harness may capture that; the parent reads the pipe.
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "delivering {} attempt {}", d.id(), d.attempt()).unwrap();
            out.flush().unwrap();
        }
        std::future::pending::<()>().await;
        Ok(())
    })
    .lease(Duration::from_secs(3))
    .build()
    .unwrap();
    worker.run(std::future::pending()).await;
}

/// `kill -9` of a receiver while its handler runs: the event stays in flight until the lease
/// ends, then the other receiver gets it (attempt 2) and completes it; nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_killed_mid_delivery_is_redelivered() {
    let url = redis_url();
    let prefix = redis_prefix("kill9");
    let inbox = Arc::new(open(&url, &prefix).await);
    let _ = inbox.accept(&event("r", "evt_crash")).await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_hangs_in_handler",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("INBOX_CHILD_REDIS", &url)
        .env("INBOX_CHILD_PREFIX", &prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The harness prints `test child_hangs_in_handler ... ` without a newline first.
    let mut line = String::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        if let Some(at) = l.find("delivering") {
            line = l[at..].to_owned();
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(line, "delivering evt_crash attempt 1");
    let key = EventKey::new("r", "evt_crash");
    let shown = inbox.show(&key).await.unwrap().unwrap();
    assert_eq!((shown.state(), shown.attempts()), (State::InFlight, 1));
    // Not leased again while the dead receiver's lease runs.
    assert!(
        inbox
            .lease(&LeaseRequest::new(10, Duration::from_secs(10)))
            .await
            .unwrap()
            .is_empty()
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    let worker = Worker::builder(inbox.clone() as Arc<dyn Inbox>, move |d: Delivery| {
        g.lock().unwrap().push((d.id().to_owned(), d.attempt()));
        async { Ok(()) }
    })
    .poll_interval(Duration::from_millis(50))
    .build()
    .unwrap();
    let stats = worker.stats();
    let started = Instant::now();
    let task = tokio::spawn(worker.run(async {
        tokio::time::sleep(Duration::from_secs(8)).await;
    }));
    until("redelivered", Duration::from_secs(7), async || {
        stats.snapshot().done == 1
    })
    .await;
    eprintln!("redelivered after {:?}", started.elapsed());
    task.abort();
    assert_eq!(*got.lock().unwrap(), vec![("evt_crash".to_owned(), 2)]);
    assert_eq!(
        inbox.show(&key).await.unwrap().unwrap().state(),
        State::Done
    );
}

fn signed(id: &str) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"id":"{id}","type":"charge.succeeded"}}"#);
    let mut req = Request::post("/hooks")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let signature = Signer::new(Preset::Stripe, SECRET)
        .unwrap()
        .sign(&SignRequest::new(body.as_bytes()))
        .unwrap();
    req.headers_mut().extend(signature);
    req
}

/// Redis with `appendonly yes` + `appendfsync always`, killed (`SIGKILL`) and restarted
/// while accepts run: every event answered 200 is there after the restart, and every request
/// while Redis is down is answered 503 + Retry-After within the response timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_with_aof_loses_no_acknowledged_event() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let inbox = Arc::new(open(&server.url(), "aof").await);
    assert_eq!(inbox.persistence().aof, Some(true));
    assert_eq!(inbox.persistence().appendfsync.as_deref(), Some("always"));
    let accept = Accept::builder(inbox.clone(), Preset::Stripe)
        .build()
        .unwrap();
    let app = VerifyLayer::new(Preset::Stripe, SECRET)
        .unwrap()
        .layer(accept);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let mut loaders = Vec::new();
    for l in 0..8 {
        let (app, acked, refused, running) = (
            app.clone(),
            Arc::clone(&acked),
            Arc::clone(&refused),
            Arc::clone(&running),
        );
        loaders.push(tokio::spawn(async move {
            let mut i = 0u64;
            while running.load(Ordering::Relaxed) {
                let id = format!("evt_{l}_{i}");
                i += 1;
                let t = Instant::now();
                let res = app.clone().oneshot(signed(&id)).await.unwrap();
                match res.status() {
                    StatusCode::OK => acked.lock().unwrap().push(id),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert!(res.headers().contains_key(http::header::RETRY_AFTER));
                        assert!(t.elapsed() < Duration::from_secs(3), "bounded");
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    s => panic!("unexpected {s}"),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before_kill = acked.lock().unwrap().len();
    server.kill();
    let refused_before = refused.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        refused.load(Ordering::Relaxed) > refused_before,
        "503 while Redis is down"
    );
    let while_down = acked.lock().unwrap().len();
    server.restart();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::Relaxed);
    for l in loaders {
        l.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(before_kill > 50, "load ran before the kill: {before_kill}");
    assert!(
        acked.len() > while_down,
        "accepting again after the restart"
    );
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len());
    // Reads are retried on errors: this checks what Redis kept, not the 500 ms bound on a
    // busy test machine.
    let mut missing = Vec::new();
    for id in &acked {
        let key = EventKey::new("stripe", id.as_str());
        let mut tries = 0;
        let shown = loop {
            match inbox.show(&key).await {
                Ok(e) => break e,
                Err(e) if tries < 20 => {
                    tries += 1;
                    eprintln!("show retried: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        if shown.is_none() {
            missing.push(id.clone());
        }
    }
    eprintln!(
        "acked {} ({} before the kill), 503 answers {}",
        acked.len(),
        before_kill,
        refused.load(Ordering::Relaxed)
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // Accepts whose answer was lost when Redis died (answered 503, yet written) are there
    // too: the sender retries them and gets a duplicate answer. Never fewer than acked.
    let pending = inbox.stats().await.unwrap().pending;
    assert!(pending >= acked.len() as u64, "{pending}");
    assert!(pending - acked.len() as u64 <= refused.load(Ordering::Relaxed));
}

/// Redis down: every operation fails within the response timeout (no hang), the accept
/// service answers 503 + Retry-After, and opening fails within the connect timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_is_an_error_not_a_hang() {
    let mut server = RedisServer::start();
    let inbox = Arc::new(open(&server.url(), "down").await);
    assert_eq!(
        inbox.persistence().aof,
        Some(false),
        "testkit runs appendonly no"
    );
    server.kill();
    let t = Instant::now();
    assert!(inbox.accept(&event("r", "1")).await.is_err());
    assert!(inbox.stats().await.is_err());
    assert!(
        inbox
            .lease(&LeaseRequest::new(1, Duration::from_secs(1)))
            .await
            .is_err()
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let accept = Accept::builder(inbox.clone(), Preset::Stripe)
        .build()
        .unwrap();
    let app = VerifyLayer::new(Preset::Stripe, SECRET)
        .unwrap()
        .layer(accept);
    let res = app.oneshot(signed("evt_down")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()[http::header::RETRY_AFTER], "5");
    let t = Instant::now();
    let err = RedisInbox::builder(server.url())
        .connect_timeout(Duration::from_millis(300))
        .open()
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    // The URL (which may carry a password) is not in the error's text.
    let text = format!("{err} {err:?}");
    assert!(!text.contains("127.0.0.1"), "{text}");
}

/// Prefixes keep inboxes apart on one server, `exists` tells a created inbox from none, and a
/// bad prefix is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_separate_inboxes() {
    let url = redis_url();
    let (p1, p2) = (redis_prefix("sep1"), redis_prefix("sep2"));
    let a = open(&url, &p1).await;
    let b = open(&url, &p2).await;
    assert_eq!(a.accept(&event("r", "1")).await.unwrap(), Accepted::Stored);
    assert_eq!(b.accept(&event("r", "1")).await.unwrap(), Accepted::Stored);
    assert_eq!(a.stats().await.unwrap().pending, 1);
    let probe = RedisInbox::builder(&url)
        .prefix(redis_prefix("never"))
        .create(false)
        .open()
        .await
        .unwrap();
    assert!(!probe.exists().await.unwrap());
    assert!(a.exists().await.unwrap());
    assert!(
        !probe.exists().await.unwrap(),
        "create(false) wrote nothing"
    );
    assert!(
        RedisInbox::builder(&url)
            .prefix("bad{tag}")
            .open()
            .await
            .is_err()
    );
}
