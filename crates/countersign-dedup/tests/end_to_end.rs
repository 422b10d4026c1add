//! The layer end to end, for every store: real HTTP (axum on 127.0.0.1:0, a hyper client),
//! real Redis servers started by the test, real signatures (countersign-core's Signer and
//! Verifier in a small adapter standing in for VerifyLayer).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countersign_core::Preset;
use countersign_dedup::{
    Claim, DedupKey, DedupLayer, DedupStore, Fenced, RedisStore, StoreFuture, Token,
};
use futures_util::future::join_all;
use http::StatusCode;
use support::{Answer, Harness, client, delivery, send, serve};

fn layer(store: Arc<dyn DedupStore>) -> DedupLayer {
    DedupLayer::builder(store, Preset::StandardWebhooks)
        .build()
        .unwrap()
}

/// Waits until the layer has claimed `n` deliveries in total.
async fn claimed(stats: &countersign_dedup::DedupStats, n: u64) {
    let start = Instant::now();
    while stats.snapshot().claimed < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "claims did not happen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn key(id: &str) -> DedupKey {
    DedupKey::new("standard-webhooks", id)
}

/// 64 concurrent deliveries of one event, 200 times: the handler runs exactly once per event;
/// the other deliveries get 409 while it runs and a marked 200 after.
async fn concurrent_deliveries_run_once(h: Harness) {
    let app = serve(layer(Arc::clone(&h.store)), false).await;
    let client = client();
    let (mut in_flight, mut duplicates) = (0u32, 0u32);
    for round in 0..200 {
        let id = format!("msg_burst_{round}");
        let answers: Vec<Answer> = join_all((0..64).map(|_| {
            send(
                &client,
                delivery(app.addr, &id, &[("x-test-sleep-ms", "5")]),
            )
        }))
        .await;
        assert_eq!(
            app.effects.count(&id),
            1,
            "round {round}: side effect count"
        );
        let mut first = 0;
        for a in &answers {
            match (a.status, a.duplicate) {
                (StatusCode::OK, false) => {
                    first += 1;
                    assert_eq!(a.body, "run 1");
                }
                (StatusCode::OK, true) => duplicates += 1,
                (StatusCode::CONFLICT, false) => {
                    assert!(a.retry_after, "409 carries Retry-After");
                    in_flight += 1;
                }
                other => panic!("round {round}: unexpected answer {other:?} {a:?}"),
            }
        }
        assert_eq!(
            first, 1,
            "round {round}: exactly one handler answer: {answers:?}"
        );
        let late = send(&client, delivery(app.addr, &id, &[])).await;
        assert!(late.status == StatusCode::OK && late.duplicate, "{late:?}");
    }
    assert_eq!(app.effects.total(), 200, "zero double executions");
    assert!(
        in_flight > 0,
        "some duplicates arrived while the first was in flight"
    );
    // Whether any of the 63 burst duplicates lands after the first delivery completed is
    // timing (on a fast store they can all land while it sleeps); the late delivery of every
    // round above is the deterministic "duplicate after done → marked 200" check, and the
    // stats below count both kinds.
    let s = app.stats.snapshot();
    assert_eq!((s.claimed, s.completed, s.released), (200, 200, 0));
    assert_eq!(u64::from(in_flight), s.in_flight);
    assert_eq!(u64::from(duplicates) + 200, s.duplicates);
}

/// The first delivery fails (500) while a duplicate is in flight: the duplicate is not
/// acknowledged, and the provider's retry runs the handler again.
async fn failure_while_duplicate_in_flight(h: Harness) {
    let app = serve(layer(Arc::clone(&h.store)), false).await;
    let client = client();
    let id = "msg_fails_first";
    let slow_fail = [("x-test-fail-first", "1"), ("x-test-sleep-ms", "1000")];
    let first = tokio::spawn({
        let (client, req) = (client.clone(), delivery(app.addr, id, &slow_fail));
        async move { send(&client, req).await }
    });
    claimed(&app.stats, 1).await;
    let dup = send(&client, delivery(app.addr, id, &[])).await;
    assert_eq!(
        dup.status,
        StatusCode::CONFLICT,
        "a duplicate of an in-flight delivery is never 2xx"
    );
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);

    let retry = send(
        &client,
        delivery(app.addr, id, &[("x-test-fail-first", "1")]),
    )
    .await;
    assert_eq!(
        (retry.status, retry.duplicate),
        (StatusCode::OK, false),
        "{retry:?}"
    );
    assert_eq!(retry.body, "run 2", "the retry ran the handler");
    let again = send(&client, delivery(app.addr, id, &[])).await;
    assert_eq!((again.status, again.duplicate), (StatusCode::OK, true));
    assert_eq!(app.effects.count(id), 2);
    let s = app.stats.snapshot();
    assert_eq!(
        (
            s.claimed,
            s.released,
            s.completed,
            s.in_flight,
            s.duplicates
        ),
        (2, 1, 1, 1, 1)
    );
}

/// A handler slower than the lease: a retry claims the event after the lease, and the slow
/// handler's late success cannot overwrite the newer record.
async fn slow_handler_cannot_clobber_newer_claim(h: Harness) {
    let layer = DedupLayer::builder(Arc::clone(&h.store), Preset::StandardWebhooks)
        .lease(Duration::from_millis(300))
        .build()
        .unwrap();
    let app = serve(layer, false).await;
    let client = client();
    let id = "msg_slow";
    let slow = tokio::spawn({
        let (client, req) = (
            client.clone(),
            delivery(app.addr, id, &[("x-test-sleep-ms", "1300")]),
        );
        async move { send(&client, req).await }
    });
    claimed(&app.stats, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let retry = send(&client, delivery(app.addr, id, &[("x-test-status", "202")])).await;
    assert_eq!(
        (retry.status, retry.duplicate),
        (StatusCode::ACCEPTED, false)
    );
    // The slow handler answers after the newer delivery recorded done(202).
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, StatusCode::OK);
    assert_eq!(app.stats.snapshot().lease_lost, 1);
    let probe = Token::new(key(id));
    assert_eq!(
        h.store
            .claim(&probe, Duration::from_secs(60))
            .await
            .unwrap(),
        Claim::Done(StatusCode::ACCEPTED),
        "the newer record survived the late completion"
    );
}

/// Request futures dropped at random points, 1 000 times: afterwards every key is released
/// or done — none is left claimed. With the spawned handler (`DedupLayer`) every claimed
/// handler runs to its end and is recorded done; with `InlineDedupLayer` a dropped handler
/// is cancelled and its claim released.
async fn cancelled_requests_leave_no_claims(h: Harness) {
    cancelled_requests_leave_no_claims_in(h, false).await;
}

async fn cancelled_inline_requests_leave_no_claims(h: Harness) {
    cancelled_requests_leave_no_claims_in(h, true).await;
}

async fn cancelled_requests_leave_no_claims_in(h: Harness, inline: bool) {
    use tower::ServiceBuilder;

    let layer = layer(Arc::clone(&h.store));
    let stats = layer.stats();
    let handler = tower::service_fn(|req: http::Request<u64>| async move {
        // A handler with several await points to be cancelled at.
        let pause = *req.body();
        for _ in 0..(pause % 4) {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_micros(pause % 700)).await;
        Ok::<_, std::convert::Infallible>(http::Response::new(()))
    });
    if inline {
        drive_cancellations(
            &h,
            ServiceBuilder::new().layer(layer.inline()).service(handler),
            stats,
            inline,
        )
        .await;
    } else {
        drive_cancellations(
            &h,
            ServiceBuilder::new().layer(layer).service(handler),
            stats,
            inline,
        )
        .await;
    }
}

async fn drive_cancellations<S>(
    h: &Harness,
    mut svc: S,
    stats: countersign_dedup::DedupStats,
    inline: bool,
) where
    S: tower::Service<
            http::Request<u64>,
            Response = http::Response<()>,
            Error = std::convert::Infallible,
        >,
    S::Future: Unpin,
{
    use tower::ServiceExt;
    let request = |id: &str, pause: u64| {
        let mut req = http::Request::new(pause);
        req.extensions_mut().insert(countersign_testkit::verified(
            Preset::StandardWebhooks,
            Some(id),
        ));
        req
    };
    // How long a request takes on this store, to spread the cancellation deadlines over
    // claim, handler and completion.
    let mut samples = Vec::new();
    for i in 0..21 {
        let t = Instant::now();
        svc.ready()
            .await
            .unwrap()
            .call(request(&format!("calibrate-{i}"), 500))
            .await
            .unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    let typical = samples[samples.len() / 2];

    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut finished = 0;
    let ids: Vec<String> = (0..1000).map(|i| format!("msg_cancel_{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let mut fut = svc.ready().await.unwrap().call(request(id, rng.next()));
        if i % 2 == 0 {
            // Dropped after a random number of polls.
            for _ in 0..rng.next() % 6 {
                if futures_util::FutureExt::now_or_never(&mut fut).is_some() {
                    finished += 1;
                    break;
                }
                tokio::task::yield_now().await;
            }
        } else {
            // Dropped at a random moment within about one request's duration.
            #[expect(clippy::cast_precision_loss, reason = "a random fraction")]
            let deadline = typical.mul_f64((rng.next() % 1300) as f64 / 1000.0);
            if tokio::time::timeout(deadline, fut).await.is_ok() {
                finished += 1;
            }
        }
    }
    // Releases of dropped futures are spawned; give them a moment.
    let mut stuck = Vec::new();
    for attempt in 0..40 {
        stuck.clear();
        for id in &ids {
            let probe = Token::new(key(id));
            match h
                .store
                .claim(&probe, Duration::from_secs(60))
                .await
                .unwrap()
            {
                Claim::InFlight => stuck.push(id.clone()),
                Claim::Claimed => {
                    assert_eq!(h.store.release(&probe).await.unwrap(), Fenced::Applied);
                }
                Claim::Done(_) => {}
                other => panic!("{other:?}"),
            }
        }
        if stuck.is_empty() {
            break;
        }
        assert!(
            attempt < 39,
            "{} keys still claimed: {:?}",
            stuck.len(),
            &stuck[..stuck.len().min(10)]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = stats.snapshot();
    eprintln!(
        "{:?}: typical request {typical:?}; {finished} finished, {} cancelled, {s:?}",
        h.kind,
        1000 - finished
    );
    assert!(
        finished > 0 && finished < 1000,
        "both finished and cancelled requests: {finished}"
    );
    assert_eq!(s.pending(), 0, "{s:?}");
    if inline {
        assert!(
            s.released > 0,
            "some claims were released after a cancellation"
        );
    } else {
        assert_eq!(
            s.claimed, s.completed,
            "every claimed handler ran to its end and was recorded: {s:?}"
        );
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

macro_rules! per_store {
    ($($case:ident),* $(,)?) => {
        mod memory { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(support::memory().await).await }
        )* }
        mod redis { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(support::redis().await).await }
        )* }
        mod cluster { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(support::cluster().await).await }
        )* }
    };
}

per_store!(
    concurrent_deliveries_run_once,
    failure_while_duplicate_in_flight,
    slow_handler_cannot_clobber_newer_claim,
    cancelled_requests_leave_no_claims,
    cancelled_inline_requests_leave_no_claims,
);

#[tokio::test]
async fn works_under_axum_route_layer() {
    let app = serve(layer(support::memory().await.store), true).await;
    let client = client();
    let a = send(&client, delivery(app.addr, "msg_route", &[])).await;
    let b = send(&client, delivery(app.addr, "msg_route", &[])).await;
    assert_eq!((a.status, a.duplicate), (StatusCode::OK, false));
    assert_eq!((b.status, b.duplicate), (StatusCode::OK, true));
    // A forged delivery never reaches the dedup layer.
    let mut forged = delivery(app.addr, "msg_forged", &[]);
    *forged.body_mut() = http_body_util::Full::new(bytes::Bytes::from_static(b"{}"));
    assert_eq!(send(&client, forged).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.effects.total(), 1);
}

/// Records which keys were completed, around a real store.
struct Recording {
    inner: Arc<dyn DedupStore>,
    completed: Mutex<HashSet<String>>,
}

impl DedupStore for Recording {
    fn claim<'a>(&'a self, token: &'a Token, lease: Duration) -> StoreFuture<'a, Claim> {
        self.inner.claim(token, lease)
    }

    fn complete<'a>(
        &'a self,
        token: &'a Token,
        status: StatusCode,
        retention: Duration,
    ) -> StoreFuture<'a, Fenced> {
        Box::pin(async move {
            let done = self.inner.complete(token, status, retention).await?;
            if done == Fenced::Applied {
                self.completed
                    .lock()
                    .unwrap()
                    .insert(token.key().to_string());
            }
            Ok(done)
        })
    }

    fn release<'a>(&'a self, token: &'a Token) -> StoreFuture<'a, Fenced> {
        self.inner.release(token)
    }
}

/// Kill Redis mid-run: requests answer 503 within the response timeout (no hang, no 200
/// without a record); restart it on the same port: service recovers within 2 s, no restart
/// of the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_redis_killed_and_restarted() {
    const TIMEOUT: Duration = Duration::from_millis(500);
    // Always a server of our own: this test kills it.
    let mut server = countersign_testkit::RedisServer::start();
    let store = RedisStore::builder(server.url())
        .prefix(countersign_testkit::unique_prefix("chaos"))
        .response_timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    let recording = Arc::new(Recording {
        inner: Arc::new(store),
        completed: Mutex::default(),
    });
    let app = serve(layer(Arc::clone(&recording) as Arc<dyn DedupStore>), false).await;
    let client = client();
    let mut oks = Vec::new();

    for i in 0..20 {
        let id = format!("msg_before_{i}");
        let a = send(&client, delivery(app.addr, &id, &[])).await;
        assert_eq!(a.status, StatusCode::OK);
        oks.push(id);
    }

    // Deliveries whose handlers are running when Redis dies.
    let running: Vec<_> = (0..10)
        .map(|i| {
            let id = format!("msg_during_{i}");
            let req = delivery(app.addr, &id, &[("x-test-sleep-ms", "300")]);
            let client = client.clone();
            tokio::spawn(async move { (id, send(&client, req).await) })
        })
        .collect();
    claimed(&app.stats, 30).await;
    server.kill();
    for r in running {
        let (id, a) = r.await.unwrap();
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{id}: no 200 without a record: {a:?}"
        );
        assert!(a.retry_after);
        assert_eq!(app.effects.count(&id), 1);
    }

    // While it is down: 503, each within the response timeout.
    let down: Vec<(Duration, Answer)> = join_all((0..20).map(|i| {
        let req = delivery(app.addr, &format!("msg_down_{i}"), &[]);
        let client = client.clone();
        async move {
            let t = Instant::now();
            let a = send(&client, req).await;
            (t.elapsed(), a)
        }
    }))
    .await;
    for (elapsed, a) in &down {
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
        // The store gives up after TIMEOUT; the rest is HTTP and scheduling on a busy machine.
        assert!(
            *elapsed < TIMEOUT + Duration::from_millis(500),
            "answered after {elapsed:?}"
        );
    }
    let slowest = down.iter().map(|(e, _)| *e).max().unwrap();
    eprintln!("while Redis was down: 20 answers of 503, the slowest after {slowest:?}");
    assert_eq!(
        app.effects.total(),
        30,
        "handlers never ran while the store was down"
    );

    // Back on the same port: the app recovers by itself.
    server.restart();
    let back = Instant::now();
    let mut n = 0;
    let recovered = loop {
        n += 1;
        let id = format!("msg_after_{n}");
        let a = send(&client, delivery(app.addr, &id, &[])).await;
        if a.status == StatusCode::OK {
            oks.push(id);
            break back.elapsed();
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "not recovered within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("recovered {recovered:?} after the restart ({n} attempts)");
    for i in 0..20 {
        let id = format!("msg_recovered_{i}");
        let a = send(&client, delivery(app.addr, &id, &[])).await;
        assert_eq!((a.status, a.duplicate), (StatusCode::OK, false));
        oks.push(id);
    }
    // The deliveries that failed are retried by the provider and now succeed.
    for i in 0..10 {
        let a = send(&client, delivery(app.addr, &format!("msg_during_{i}"), &[])).await;
        assert_eq!(a.status, StatusCode::OK);
        oks.push(format!("msg_during_{i}"));
    }
    let completed = recording.completed.lock().unwrap().clone();
    for id in &oks {
        assert!(
            completed.contains(key(id).as_str()),
            "{id} was acknowledged without a record"
        );
    }
    let s = app.stats.snapshot();
    assert!(s.store_errors >= 30, "{s:?}");
    assert_eq!(s.failed_open, 0);
    // The releases that failed while Redis was down are not pending forever: those claims
    // expire with their lease (here they went with the server).
    assert!(s.unreleased >= 10, "{s:?}");
    assert_eq!(s.pending(), 0, "{s:?}");
}

/// `INFO commandstats` deltas: one round trip (`SET … NX PX … GET`) per new-event claim and
/// per duplicate; one `EVALSHA` to record done or to release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_claim_in_commandstats() {
    use std::collections::BTreeMap;
    use tower::{Service, ServiceBuilder, ServiceExt};

    let server = countersign_testkit::RedisServer::start();
    let port = server.port();
    let store: Arc<dyn DedupStore> =
        Arc::new(support::redis_store(&server.url(), "commandstats").await);
    let mut svc = ServiceBuilder::new()
        .layer(layer(Arc::clone(&store)))
        .service_fn(|req: http::Request<StatusCode>| async move {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(*req.body())
                    .body(())
                    .unwrap(),
            )
        });
    let mut call = async |id: &str, status: StatusCode| {
        let mut req = http::Request::new(status);
        req.extensions_mut().insert(countersign_testkit::verified(
            Preset::StandardWebhooks,
            Some(id),
        ));
        svc.ready().await.unwrap().call(req).await.unwrap().status()
    };
    let delta = |before: &BTreeMap<String, u64>| {
        let after = countersign_testkit::command_calls(port);
        after
            .into_iter()
            .filter(|(name, _)| name != "info")
            .filter_map(|(name, n)| {
                let d = n - before.get(&name).copied().unwrap_or(0);
                (d > 0).then_some((name, d))
            })
            .collect::<BTreeMap<String, u64>>()
    };
    let expect = |pairs: &[(&str, u64)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    // Warm-up loads the scripts (EVALSHA → NOSCRIPT → SCRIPT LOAD → EVALSHA, once).
    assert_eq!(call("warm-up", StatusCode::OK).await, StatusCode::OK);
    let mut r = XorShift(7);
    assert_eq!(
        call(
            &format!("warm-up-{}", r.next()),
            StatusCode::INTERNAL_SERVER_ERROR
        )
        .await,
        StatusCode::INTERNAL_SERVER_ERROR
    );

    // Script-internal commands (the GET/SET/DEL inside EVALSHA) count in commandstats too;
    // they run inside Redis and cost no round trip. Client commands are the SETs of claims
    // and the EVALSHAs.
    let n = 50;
    let tokens: Vec<Token> = (0..n)
        .map(|i| Token::new(key(&format!("store-{i}"))))
        .collect();
    let before = countersign_testkit::command_calls(port);
    for t in &tokens {
        assert_eq!(
            store.claim(t, Duration::from_secs(60)).await.unwrap(),
            Claim::Claimed
        );
    }
    assert_eq!(
        delta(&before),
        expect(&[("set", n)]),
        "a new-event claim is one SET"
    );
    let before = countersign_testkit::command_calls(port);
    for t in &tokens {
        let done = store
            .complete(t, StatusCode::OK, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(done, Fenced::Applied);
    }
    assert_eq!(
        delta(&before),
        expect(&[("evalsha", n), ("get", n), ("set", n)]),
        "a completion is one EVALSHA (GET + SET inside the script)"
    );

    let before = countersign_testkit::command_calls(port);
    for i in 0..n {
        assert_eq!(
            call(&format!("new-{i}"), StatusCode::OK).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        delta(&before),
        expect(&[("set", 2 * n), ("evalsha", n), ("get", n)]),
        "a new event through the layer: claim (SET) + complete (EVALSHA: GET + SET)"
    );

    let before = countersign_testkit::command_calls(port);
    for i in 0..n {
        assert_eq!(
            call(&format!("new-{i}"), StatusCode::OK).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        delta(&before),
        expect(&[("set", n)]),
        "a duplicate of a done event is one SET"
    );

    let held = Token::new(key("held"));
    assert_eq!(
        store.claim(&held, Duration::from_secs(60)).await.unwrap(),
        Claim::Claimed
    );
    let before = countersign_testkit::command_calls(port);
    for _ in 0..n {
        assert_eq!(call("held", StatusCode::OK).await, StatusCode::CONFLICT);
    }
    assert_eq!(
        delta(&before),
        expect(&[("set", n)]),
        "an in-flight duplicate is one SET"
    );

    let before = countersign_testkit::command_calls(port);
    for i in 0..n {
        assert_eq!(
            call(&format!("fail-{i}"), StatusCode::BAD_GATEWAY).await,
            StatusCode::BAD_GATEWAY
        );
    }
    assert_eq!(
        delta(&before),
        expect(&[("set", n), ("evalsha", n), ("get", n), ("del", n)]),
        "a failed delivery: claim (SET) + release (EVALSHA: GET + DEL)"
    );
    drop(server);
}

/// The same on Redis Cluster: kill the master that owns an event's slot, then restart it on
/// the same port (it keeps its `nodes.conf`, so it rejoins with its slots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_cluster_master_killed_and_restarted() {
    use countersign_dedup::RedisClusterStore;

    const TIMEOUT: Duration = Duration::from_millis(500);
    let mut cluster = countersign_testkit::RedisCluster::start(3);
    let store = RedisClusterStore::builder(cluster.urls())
        .prefix(countersign_testkit::unique_prefix("cluster-chaos"))
        .response_timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    // Which node serves which event.
    let victim = cluster.nodes()[0].port();
    let owner = |redis_key: &str| -> u16 {
        let slot: u16 = cluster.nodes()[0]
            .cli(&["CLUSTER", "KEYSLOT", redis_key])
            .trim()
            .parse()
            .unwrap();
        let nodes = cluster.nodes()[0].cli(&["CLUSTER", "NODES"]);
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = fields[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
            for range in &fields[8..] {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                if (a.parse::<u16>().unwrap()..=b.parse::<u16>().unwrap()).contains(&slot) {
                    return port;
                }
            }
        }
        panic!("slot {slot} has no owner");
    };
    let (mut on_victim, mut elsewhere) = (Vec::new(), Vec::new());
    for i in 0.. {
        let id = format!("msg_cc_{i}");
        let list = if owner(&store.redis_key(&key(&id))) == victim {
            &mut on_victim
        } else {
            &mut elsewhere
        };
        if list.len() < 20 {
            list.push(id);
        }
        if on_victim.len() == 20 && elsewhere.len() == 20 {
            break;
        }
    }
    let recording = Arc::new(Recording {
        inner: Arc::new(store),
        completed: Mutex::default(),
    });
    let app = serve(layer(Arc::clone(&recording) as Arc<dyn DedupStore>), false).await;
    let client = client();
    let mut oks = Vec::new();
    for id in on_victim.iter().take(5).chain(elsewhere.iter().take(5)) {
        assert_eq!(
            send(&client, delivery(app.addr, id, &[])).await.status,
            StatusCode::OK
        );
        oks.push(id.clone());
    }

    cluster.nodes_mut()[0].kill();
    let down: Vec<(Duration, Answer)> = join_all(on_victim[5..15].iter().map(|id| {
        let req = delivery(app.addr, id, &[]);
        let client = client.clone();
        async move {
            let t = Instant::now();
            let a = send(&client, req).await;
            (t.elapsed(), a)
        }
    }))
    .await;
    let mut slowest = down.iter().map(|(e, _)| *e).max().unwrap();
    for (_, a) in &down {
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    }
    for id in &on_victim[5..15] {
        let t = Instant::now();
        let a = send(&client, delivery(app.addr, id, &[])).await;
        slowest = slowest.max(t.elapsed());
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    }
    assert!(
        slowest < TIMEOUT + Duration::from_millis(500),
        "answered after {slowest:?}"
    );
    // The other masters keep serving their slots meanwhile.
    for id in &elsewhere[5..10] {
        let a = send(&client, delivery(app.addr, id, &[])).await;
        assert_eq!(a.status, StatusCode::OK, "{id}: {a:?}");
        oks.push(id.clone());
    }

    cluster.nodes_mut()[0].restart();
    // A restarted master refuses writes (CLUSTERDOWN) until the cluster has had a chance to
    // reconfigure it: Redis' CLUSTER_WRITABLE_DELAY, 2 s. The app's recovery is measured from
    // the moment the node reports cluster_state:ok again.
    let restarted = Instant::now();
    while !cluster.nodes()[0]
        .cli(&["CLUSTER", "INFO"])
        .contains("cluster_state:ok")
    {
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "node did not rejoin"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let server_delay = restarted.elapsed();
    let back = Instant::now();
    let id = &on_victim[15];
    let recovered = loop {
        let a = send(&client, delivery(app.addr, id, &[])).await;
        if a.status == StatusCode::OK {
            oks.push(id.clone());
            break back.elapsed();
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not recovered within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "cluster: 503s after at most {slowest:?}; node writable {server_delay:?} after its restart; app recovered {recovered:?} after that"
    );
    for id in &on_victim[16..] {
        let a = send(&client, delivery(app.addr, id, &[])).await;
        assert_eq!(a.status, StatusCode::OK);
        oks.push(id.clone());
    }
    let completed = recording.completed.lock().unwrap().clone();
    for id in &oks {
        assert!(
            completed.contains(key(id).as_str()),
            "{id} acknowledged without a record"
        );
    }
    assert!(
        recovered < Duration::from_secs(2),
        "recovered after {recovered:?}"
    );
}
