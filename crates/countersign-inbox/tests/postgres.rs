//! PostgreSQL-specific behaviour on the machine's real server, each test in a database of
//! its own: migrations (concurrent, versioned), two receivers sharing one queue, connections
//! killed mid-accept, an unreachable server, and the transactional inbox under failures and a
//! `kill -9` between the handler's writes and the done mark.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countersign_inbox::tokio_postgres::Transaction;
use countersign_inbox::{
    Accepted, Backoff, Delivery, EventKey, Failure, Inbox, InboxError, InboxOp, LeaseRequest,
    ListQuery, PostgresInbox, State, TxFuture, Worker,
};
use countersign_testkit::PgDatabase;
use futures_util::future::join_all;
use support::event;

async fn until(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Eight receivers starting at once on an empty database: the schema is created once (the
/// advisory lock serialises them), every one opens; a schema from a newer countersign is
/// refused; the schema name is checked before anything connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_under_concurrent_start() {
    let db = PgDatabase::create("migr");
    let url = format!("{}?schema=hooks_a", db.url());
    let opened = join_all((0..8).map(|_| PostgresInbox::open(url.clone()))).await;
    for o in &opened {
        assert!(o.is_ok(), "{o:?}");
    }
    assert_eq!(
        db.psql("SELECT count(*), max(version) FROM hooks_a.schema_version"),
        "2|2"
    );
    assert_eq!(opened[0].as_ref().unwrap().schema(), "hooks_a");
    // The builder's schema wins over the default; the default is countersign_inbox.
    let _b = PostgresInbox::builder(db.url())
        .schema("hooks_b")
        .open()
        .await
        .unwrap();
    let _c = PostgresInbox::open(db.url()).await.unwrap();
    assert_eq!(
        db.psql("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('hooks_a', 'hooks_b', 'countersign_inbox')"),
        "countersign_inbox,hooks_a,hooks_b"
    );
    // Reopening a current schema runs no DDL: the version table is untouched.
    drop(PostgresInbox::open(url.clone()).await.unwrap());
    assert_eq!(db.psql("SELECT count(*) FROM hooks_a.schema_version"), "2");

    let _ = db.psql(
        "INSERT INTO hooks_a.schema_version (version, description) VALUES (99, 'from the future')",
    );
    let err = PostgresInbox::open(url).await.unwrap_err();
    assert!(
        matches!(
            err,
            InboxError::Corrupt {
                op: InboxOp::Open,
                ..
            }
        ),
        "{err:?}"
    );
    for bad in ["Hooks", "pg_x", "1x", "a-b", "a\"b", ""] {
        let err = PostgresInbox::builder(db.url())
            .schema(bad)
            .open()
            .await
            .unwrap_err();
        assert_eq!(err.op(), InboxOp::Open, "{bad}");
    }
    let err = PostgresInbox::open("postgres://u:s3cret@127.0.0.1/x?bogus=1")
        .await
        .unwrap_err();
    assert!(!format!("{err:?} {err}").contains("s3cret"));
}

/// A schema at version 1 (before the per-route due index) is upgraded by the next open, and
/// a worker's route-filtered lease then reads that index instead of every due row of the
/// route. Without it, before autovacuum has analysed a freshly filled table (one route, as
/// behind a proxy), the custom plan took a bitmap of `events_due` and the primary key, then
/// sorted every due row: 64 ms per lease at 38 000 pending rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_filtered_leases_use_the_per_route_due_index() {
    let db = PgDatabase::create("routeidx");
    let url = format!("{}?schema=hooks_r", db.url());
    drop(PostgresInbox::open(url.clone()).await.unwrap());
    // Back to version 1, as a database made by the previous release.
    let _ = db.psql(
        "DROP INDEX hooks_r.events_due_route; DELETE FROM hooks_r.schema_version WHERE version = 2",
    );
    let _ = db.psql(
        "INSERT INTO hooks_r.events (route, id, preset, target, received_at, headers, body, state, next_at, updated_at)
         SELECT convert_to('r1', 'UTF8'), convert_to(i::text, 'UTF8'), 'p', '/', now(), '\\x'::bytea, '\\x'::bytea,
                'pending', now() - interval '1 s', now()
         FROM generate_series(1, 20000) i",
    );
    let inbox = PostgresInbox::open(url).await.unwrap();
    assert_eq!(
        db.psql(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM hooks_r.schema_version"
        ),
        "1,2"
    );
    let plan = db.psql(
        "EXPLAIN SELECT ctid FROM hooks_r.events
         WHERE state IN ('pending', 'in_flight') AND next_at <= now() AND route = 'r1'::bytea
         ORDER BY next_at LIMIT 16 FOR UPDATE SKIP LOCKED",
    );
    assert!(plan.contains("events_due_route"), "{plan}");
    let leased = inbox
        .lease(&LeaseRequest::new(16, Duration::from_secs(60)).route("r1"))
        .await
        .unwrap();
    assert_eq!(leased.len(), 16);
    assert!(leased.iter().all(|l| l.event.key().route() == "r1"));
}

/// Two receivers (two inboxes, two workers) on one database; 1 000 events, each sent 64
/// times, the copies spread over both receivers at once: each event is stored once and
/// delivered once (no lease expiry in play).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receivers_deliver_each_event_once() {
    let db = PgDatabase::create("two");
    let a = Arc::new(PostgresInbox::open(db.url()).await.unwrap());
    let b = Arc::new(PostgresInbox::open(db.url()).await.unwrap());
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut workers = Vec::new();
    let stop = tokio_util_stop();
    for inbox in [&a, &b] {
        let seen = Arc::clone(&seen);
        let worker = Worker::builder(inbox.clone(), move |d: Delivery| {
            let seen = Arc::clone(&seen);
            async move {
                *seen.lock().unwrap().entry(d.id().to_owned()).or_default() += 1;
                Ok(())
            }
        })
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
        let stop = stop.clone();
        workers.push(tokio::spawn(worker.run(async move {
            stop.notified().await;
        })));
    }
    let stored = Arc::new(AtomicUsize::new(0));
    let events: Vec<_> = (0..1000).map(|i| event("two", &format!("e{i}"))).collect();
    for chunk in events.chunks(25) {
        let mut calls = Vec::new();
        for e in chunk {
            for copy in 0..64 {
                let inbox = if copy % 2 == 0 { &a } else { &b };
                calls.push(inbox.accept(e));
            }
        }
        for r in join_all(calls).await {
            if r.unwrap() == Accepted::Stored {
                stored.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    assert_eq!(
        stored.load(Ordering::Relaxed),
        1000,
        "one copy of each stored"
    );
    until("all delivered", Duration::from_secs(60), async || {
        a.stats().await.unwrap().done == 1000
    })
    .await;
    stop.notify_waiters();
    for w in workers {
        let _ = w.await;
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1000);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
}

fn tokio_util_stop() -> Arc<tokio::sync::Notify> {
    Arc::new(tokio::sync::Notify::new())
}

/// `pg_terminate_backend` of every inbox connection, again and again, while 64 accepts run
/// at a time: accepts fail (never a false `Stored`), every event acknowledged `Stored` is
/// in the table, and the inbox recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_mid_accept_lose_nothing_acknowledged() {
    let db = PgDatabase::create("term");
    let inbox = Arc::new(
        PostgresInbox::builder(db.url())
            .timeout(Duration::from_secs(2))
            .open()
            .await
            .unwrap(),
    );
    let killer = {
        let url = db.url();
        let name = db.name().to_owned();
        std::thread::spawn(move || {
            let admin = countersign_testkit::postgres_url();
            let mut kills = 0;
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(150));
                let n = countersign_testkit::psql(
                    &admin,
                    &format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' AND application_name = 'countersign-inbox'"),
                )
                .unwrap();
                kills += n.parse::<usize>().unwrap_or(0);
            }
            let _ = url;
            kills
        })
    };
    let mut acked = HashSet::new();
    let mut failed = 0;
    let started = Instant::now();
    let mut batch = 0;
    while started.elapsed() < Duration::from_secs(2) || !killer.is_finished() {
        let events: Vec<_> = (0..64)
            .map(|i| event("term", &format!("b{batch}-{i}")))
            .collect();
        batch += 1;
        for (e, r) in events
            .iter()
            .zip(join_all(events.iter().map(|e| inbox.accept(e))).await)
        {
            match r {
                Ok(Accepted::Stored) => {
                    acked.insert(e.key().clone());
                }
                Ok(other) => panic!("fresh event answered {other:?}"),
                Err(_) => failed += 1,
            }
        }
    }
    let kills = killer.join().unwrap();
    assert!(kills > 0, "no connection was terminated");
    assert!(
        failed > 0,
        "terminations never failed an accept ({kills} killed)"
    );
    // Recovered: a new accept is stored.
    let after = event("term", "after");
    let mut ok = false;
    for _ in 0..20 {
        if inbox.accept(&after).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the inbox did not recover");
    let stored: HashSet<EventKey> = inbox
        .list(&ListQuery::new().limit(1_000_000))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key().clone())
        .collect();
    let lost: Vec<_> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost", lost.len());
    eprintln!(
        "terminated {kills} connections: {} stored, {failed} accepts failed (answered 503)",
        acked.len()
    );
}

/// Nothing answers on the port, or the database refuses connections: open and every
/// operation fail within their bound (no hang), and the inbox recovers when the database
/// is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_fails_fast_and_recovers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err = PostgresInbox::builder(format!("postgres://postgres@127.0.0.1:{port}/x"))
        .timeout(Duration::from_millis(500))
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.op(), InboxOp::Open);
    assert!(started.elapsed() < Duration::from_secs(5));

    let db = PgDatabase::create("unreach");
    let inbox = PostgresInbox::builder(db.url())
        .timeout(Duration::from_millis(500))
        .open()
        .await
        .unwrap();
    assert_eq!(
        inbox.accept(&event("u", "1")).await.unwrap(),
        Accepted::Stored
    );
    db.allow_connections(false);
    let _ = db.terminate_connections();
    for i in 0..3 {
        let started = Instant::now();
        let r = inbox.accept(&event("u", &format!("down{i}"))).await;
        assert!(
            r.is_err(),
            "accepted while the database refuses connections: {r:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(inbox.stats().await.is_err());
    }
    db.allow_connections(true);
    let mut back = None;
    for _ in 0..40 {
        if let Ok(a) = inbox.accept(&event("u", "down0")).await {
            back = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        back,
        Some(Accepted::Stored),
        "never stored while down, stored once back"
    );
    assert_eq!(inbox.stats().await.unwrap().pending, 2);
}

const ORDERS: &str = "CREATE TABLE orders (id text PRIMARY KEY, status text NOT NULL, payments integer NOT NULL DEFAULT 0);
                      INSERT INTO orders (id, status) VALUES ('o1', 'open');";

/// The transactional handler of these tests: one payment on order o1 per delivery.
fn pay<'t>(d: Delivery, tx: &'t Transaction<'t>) -> TxFuture<'t> {
    Box::pin(async move {
        let _ = d.id();
        tx.execute(
            "UPDATE orders SET status = 'paid', payments = payments + 1 WHERE id = 'o1'",
            &[],
        )
        .await?;
        Ok(())
    })
}

fn payments(db: &PgDatabase) -> String {
    db.psql("SELECT status || ':' || payments FROM orders WHERE id = 'o1'")
}

/// A crash injected between the handler's writes and the done mark (a trigger makes the
/// done mark fail once): the handler's write is rolled back with it, the event is delivered
/// again after its lease, and the order is paid exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_writes_and_done_mark_are_atomic() {
    let db = PgDatabase::create("txatom");
    let inbox = Arc::new(PostgresInbox::open(db.url()).await.unwrap());
    let _ = db.psql(ORDERS);
    let _ = db.psql(
        "CREATE SEQUENCE crash_once;
         CREATE FUNCTION crash_at_done() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.state = 'done' AND nextval('crash_once') = 1 THEN
             RAISE EXCEPTION 'injected crash between the handler and the done mark';
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER crash BEFORE UPDATE ON countersign_inbox.events
           FOR EACH ROW EXECUTE FUNCTION crash_at_done();",
    );
    let e = event("stripe", "evt_pay");
    assert_eq!(inbox.accept(&e).await.unwrap(), Accepted::Stored);
    let worker = Worker::builder(inbox.clone(), inbox.transactional(pay))
        .lease(Duration::from_secs(1))
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let stats = worker.stats();
    let run = tokio::spawn(worker.run({
        let stats = stats.clone();
        async move {
            while stats.snapshot().done == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }));
    // First attempt: the write happened in the transaction, the done mark failed, all rolled back.
    until(
        "the failed done mark",
        Duration::from_secs(10),
        async || stats.snapshot().store_errors >= 1,
    )
    .await;
    assert_eq!(
        payments(&db),
        "open:0",
        "the handler's write survived a failed done mark"
    );
    assert_eq!(
        inbox.show(e.key()).await.unwrap().unwrap().state(),
        State::InFlight
    );
    run.await.unwrap();
    assert_eq!(payments(&db), "paid:1");
    let done = inbox.show(e.key()).await.unwrap().unwrap();
    assert_eq!((done.state(), done.attempts()), (State::Done, 2));
    assert_eq!(stats.snapshot().done, 1);
}

/// A handler failure rolls its writes back and the event is retried; a handler that writes
/// and then fails on every attempt leaves nothing behind and ends dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_failures_roll_back() {
    let db = PgDatabase::create("txfail");
    let inbox = Arc::new(PostgresInbox::open(db.url()).await.unwrap());
    let _ = db.psql(ORDERS);
    let _ = inbox.accept(&event("stripe", "flaky")).await.unwrap();
    let _ = inbox.accept(&event("stripe", "poison")).await.unwrap();
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let handler = {
        let attempts = Arc::clone(&attempts);
        inbox.transactional(move |d: Delivery, tx| {
            let attempts = Arc::clone(&attempts);
            Box::pin(async move {
                tx.execute(
                    "UPDATE orders SET payments = payments + 1 WHERE id = 'o1'",
                    &[],
                )
                .await?;
                let n = {
                    let mut a = attempts.lock().unwrap();
                    let n = a.entry(d.id().to_owned()).or_default();
                    *n += 1;
                    *n
                };
                if d.id() == "poison" || n == 1 {
                    return Err(Failure::retry("failed after writing"));
                }
                Ok(())
            })
        })
    };
    let worker = Worker::builder(inbox.clone(), handler)
        .max_attempts(3)
        .backoff(Backoff::new(Duration::from_millis(10), Duration::from_millis(20)).unwrap())
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let stats = worker.stats();
    worker
        .run(async {
            while stats.snapshot().done + stats.snapshot().dead < 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    // Five attempts wrote a payment, only the one that succeeded committed.
    assert_eq!(payments(&db), "open:1");
    let s = inbox.stats().await.unwrap();
    assert_eq!((s.done, s.dead), (1, 1));
    let poison = inbox
        .show(&EventKey::new("stripe", "poison"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((poison.state(), poison.attempts()), (State::Dead, 3));
}

/// The child half of `transactional_kill_9_mid_handler_applies_once`: runs a transactional
/// worker whose handler pays the order, says so, then hangs until the process is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by transactional_kill_9_mid_handler_applies_once"]
async fn child_pays_then_hangs() {
    let Ok(url) = std::env::var("INBOX_CHILD_PG") else {
        return;
    };
    let inbox = Arc::new(PostgresInbox::open(url).await.unwrap());
    let handler = inbox.transactional(|d: Delivery, tx| {
        Box::pin(async move {
            tx.execute(
                "UPDATE orders SET status = 'paid', payments = payments + 1 WHERE id = 'o1'",
                &[],
            )
            .await?;
            println!("paid {}", d.id());
            std::future::pending::<()>().await;
            Ok(())
        })
    });
    let worker = Worker::builder(inbox, handler)
        .lease(Duration::from_secs(2))
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    worker.run(std::future::pending()).await;
}

/// `kill -9` of a receiver after its handler wrote and before the done mark: the write is
/// gone with the transaction, the event is delivered again once the lease ends, and the
/// order is paid exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_kill_9_mid_handler_applies_once() {
    let db = PgDatabase::create("txkill");
    let inbox = Arc::new(PostgresInbox::open(db.url()).await.unwrap());
    let _ = db.psql(ORDERS);
    let e = event("stripe", "evt_kill");
    let _ = inbox.accept(&e).await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_pays_then_hangs",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("INBOX_CHILD_PG", db.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let paid = loop {
        let line = lines.next().expect("child ended").unwrap();
        // The test harness's "test child_pays_then_hangs ... " shares the line.
        if let Some(i) = line.find("paid ") {
            break line[i..].to_owned();
        }
    };
    assert_eq!(paid, "paid evt_kill");
    // The handler's write is done but not committed: invisible outside its transaction.
    assert_eq!(payments(&db), "open:0");
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();
    let held = inbox.show(e.key()).await.unwrap().unwrap();
    assert_eq!((held.state(), held.attempts()), (State::InFlight, 1));
    assert_eq!(
        payments(&db),
        "open:0",
        "the killed transaction's write is gone"
    );

    let worker = Worker::builder(inbox.clone(), inbox.transactional(pay))
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let stats = worker.stats();
    let started = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(20),
        worker.run(async {
            while stats.snapshot().done == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }),
    )
    .await
    .unwrap();
    assert_eq!(payments(&db), "paid:1");
    let done = inbox.show(e.key()).await.unwrap().unwrap();
    assert_eq!((done.state(), done.attempts()), (State::Done, 2));
    eprintln!("redelivered {:?} after the kill", started.elapsed());
}
