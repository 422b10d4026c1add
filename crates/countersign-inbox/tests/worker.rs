//! The `Worker` on both backends: concurrency without leasing ahead, retries and backoff,
//! dead letters, fencing, another process's changes, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countersign_inbox::{
    Backoff, Delivery, EventKey, Failure, Inbox, SqliteInbox, State, Worker, WorkerSnapshot,
    WorkerStats,
};
use http::StatusCode;
use support::{Harness, TempDir, event};
use tokio::sync::oneshot;

async fn until(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `worker` in a task; returns its stats and a stop switch.
fn spawn(
    worker: Worker,
) -> (
    WorkerStats,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    (stats, stop, task)
}

fn fast() -> Backoff {
    Backoff::new(Duration::from_millis(10), Duration::from_millis(50)).unwrap()
}

async fn concurrency_is_a_hard_limit(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    for i in 0..40 {
        let _ = inbox.accept(&event("c", &format!("{i}"))).await.unwrap();
    }
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let peak_leased = Arc::new(AtomicUsize::new(0));
    let (r, p, pl, i2) = (
        Arc::clone(&running),
        Arc::clone(&peak),
        Arc::clone(&peak_leased),
        Arc::clone(&inbox),
    );
    let worker = Worker::builder(Arc::clone(&inbox), move |_d: Delivery| {
        let (r, p, pl, i2) = (
            Arc::clone(&r),
            Arc::clone(&p),
            Arc::clone(&pl),
            Arc::clone(&i2),
        );
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            // No leasing ahead: the inbox never has more in flight than the slots.
            let leased = i2.stats().await.unwrap().in_flight;
            pl.fetch_max(usize::try_from(leased).unwrap(), Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }
    })
    .concurrency(4)
    .build()
    .unwrap();
    let (stats, stop, task) = spawn(worker);
    until("all done", Duration::from_secs(20), async || {
        stats.snapshot().done == 40
    })
    .await;
    let _ = stop.send(());
    task.await.unwrap();
    assert!(peak.load(Ordering::SeqCst) <= 4);
    assert!(peak.load(Ordering::SeqCst) >= 2, "ran concurrently");
    assert!(peak_leased.load(Ordering::SeqCst) <= 4, "leased ahead");
    assert_eq!(inbox.stats().await.unwrap().done, 40);
}

async fn retries_then_succeeds_with_backoff(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    let _ = inbox.accept(&event("r", "flaky")).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::<(u32, Instant)>::new()));
    let s2 = Arc::clone(&seen);
    let worker = Worker::builder(Arc::clone(&inbox), move |d: Delivery| {
        let s2 = Arc::clone(&s2);
        async move {
            s2.lock().unwrap().push((d.attempt(), Instant::now()));
            match d.attempt() {
                1 => Err(Failure::status(StatusCode::SERVICE_UNAVAILABLE, None)),
                // Retry-After is honoured even though the backoff would be ~10 ms.
                2 => Err(Failure::status(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(Duration::from_millis(300)),
                )),
                3 => Err(std::io::Error::other("connection reset").into()),
                _ => Ok(()),
            }
        }
    })
    .backoff(Backoff::new(Duration::from_millis(10), Duration::from_secs(2)).unwrap())
    .build()
    .unwrap();
    let (stats, stop, task) = spawn(worker);
    until("done", Duration::from_secs(10), async || {
        stats.snapshot().done == 1
    })
    .await;
    let _ = stop.send(());
    task.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(
        seen[2].1 - seen[1].1 >= Duration::from_millis(290),
        "{seen:?}"
    );
    let s = stats.snapshot();
    assert_eq!((s.attempts, s.retried, s.done, s.dead), (4, 3, 1, 0));
    let e = inbox
        .show(&EventKey::new("r", "flaky"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.state(), e.attempts()), (State::Done, 4));
    assert_eq!(e.last_error().unwrap().reason(), "connection reset");
}

async fn dead_after_max_attempts_and_4xx_at_once(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    let _ = inbox.accept(&event("d", "always-500")).await.unwrap();
    let _ = inbox.accept(&event("d", "gone")).await.unwrap();
    let _ = inbox.accept(&event("d", "bad-json")).await.unwrap();
    let _ = inbox.accept(&event("d", "timeout-408")).await.unwrap();
    let calls = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let c2 = Arc::clone(&calls);
    let worker = Worker::builder(Arc::clone(&inbox), move |d: Delivery| {
        *c2.lock().unwrap().entry(d.id().to_owned()).or_default() += 1;
        let id = d.id().to_owned();
        async move {
            match id.as_str() {
                "gone" => Err(Failure::status(StatusCode::NOT_FOUND, None)),
                "bad-json" => d.json::<Vec<u8>>().map(drop),
                "timeout-408" => Err(Failure::status(StatusCode::REQUEST_TIMEOUT, None)),
                _ => Err(Failure::status(StatusCode::INTERNAL_SERVER_ERROR, None)),
            }
        }
    })
    .max_attempts(3)
    .backoff(fast())
    .build()
    .unwrap();
    let (stats, stop, task) = spawn(worker);
    until("all dead", Duration::from_secs(10), async || {
        stats.snapshot().dead == 4
    })
    .await;
    let _ = stop.send(());
    task.await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls["always-500"], 3, "max attempts");
    assert_eq!(calls["timeout-408"], 3, "408 is retried");
    assert_eq!(calls["gone"], 1, "4xx: dead at once");
    assert_eq!(calls["bad-json"], 1, "malformed body: dead at once");
    let dead = inbox
        .show(&EventKey::new("d", "always-500"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.state(), State::Dead);
    assert_eq!(dead.last_error().unwrap().status(), Some(500));
    assert!(
        dead.last_error()
            .unwrap()
            .reason()
            .contains("after 3 attempts")
    );
    assert_eq!(inbox.stats().await.unwrap().dead, 4);
}

/// A handler that overruns its lease is cut off before the lease ends (timeout → retry);
/// one that panics is retried. Neither is ever run twice at the same time.
async fn overrunning_and_panicking_handlers_are_retried(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    let _ = inbox.accept(&event("o", "slow")).await.unwrap();
    let _ = inbox.accept(&event("o", "panics")).await.unwrap();
    let running = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let overlap = Arc::new(AtomicU32::new(0));
    let (r2, o2) = (Arc::clone(&running), Arc::clone(&overlap));
    let worker = Worker::builder(Arc::clone(&inbox), move |d: Delivery| {
        let (r2, o2) = (Arc::clone(&r2), Arc::clone(&o2));
        async move {
            let id = d.id().to_owned();
            {
                let mut r = r2.lock().unwrap();
                let n = r.entry(id.clone()).or_default();
                if *n > 0 {
                    o2.fetch_add(1, Ordering::SeqCst);
                }
                *n += 1;
            }
            struct Leave(Arc<Mutex<HashMap<String, u32>>>, String);
            impl Drop for Leave {
                fn drop(&mut self) {
                    *self.0.lock().unwrap().get_mut(&self.1).unwrap() -= 1;
                }
            }
            let _leave = Leave(r2, id.clone());
            if d.attempt() == 1 {
                if id == "panics" {
                    panic!("handler bug");
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            Ok(())
        }
    })
    .lease(Duration::from_millis(1000))
    .backoff(fast())
    .build()
    .unwrap();
    let (stats, stop, task) = spawn(worker);
    until("both done", Duration::from_secs(10), async || {
        stats.snapshot().done == 2
    })
    .await;
    let _ = stop.send(());
    task.await.unwrap();
    assert_eq!(
        overlap.load(Ordering::SeqCst),
        0,
        "never concurrently twice"
    );
    let s = stats.snapshot();
    // Each first attempt ends in a retry; on a starved machine the retry of the cut-off one
    // may land just after its lease ended (then it is stale and the lease expiry retries).
    assert_eq!(s.retried + s.stale, 2, "{s:?}");
    assert_eq!(s.attempts, 4, "{s:?}");
}

async fn shutdown_finishes_running_handlers_and_leases_nothing_new(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    let _ = inbox.accept(&event("s", "running")).await.unwrap();
    let (started_tx, started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let worker = Worker::builder(Arc::clone(&inbox), move |_d: Delivery| {
        let started_tx = started_tx.clone();
        async move {
            let _ = started_tx.send(());
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        }
    })
    .grace_period(Duration::from_secs(5))
    .build()
    .unwrap();
    let mut started_rx = started_rx;
    let (stats, stop, task) = spawn(worker);
    started_rx.recv().await.unwrap();
    let _ = stop.send(());
    // Accepted after the stop: left pending for the next run.
    let _ = inbox.accept(&event("s", "later")).await.unwrap();
    task.await.unwrap();
    assert_eq!(stats.snapshot().done, 1, "the running handler finished");
    let st = inbox.stats().await.unwrap();
    assert_eq!((st.done, st.pending, st.in_flight), (1, 1, 0));
}

async fn grace_period_over_leaves_the_event_to_lease_expiry(h: Harness) {
    let inbox = Arc::clone(&h.inbox);
    let _ = inbox.accept(&event("g", "stuck")).await.unwrap();
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let worker = Worker::builder(Arc::clone(&inbox), move |_d: Delivery| {
        let started_tx = started_tx.clone();
        async move {
            let _ = started_tx.send(());
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
    })
    .grace_period(Duration::from_millis(200))
    .build()
    .unwrap();
    let stats = worker.stats();
    let run = tokio::spawn(worker.run(async move {
        started_rx.recv().await;
    }));
    let report = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.aborted, 1);
    assert_eq!(stats.snapshot().done, 0);
    assert_eq!(
        inbox.stats().await.unwrap().in_flight,
        1,
        "left to lease expiry"
    );
}

fn check(s: &WorkerSnapshot) {
    assert_eq!(s.store_errors, 0, "{s:?}");
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::support::memory().await).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::support::sqlite().await).await;
                }
            )*
        }
    };
}

on_both!(
    concurrency_is_a_hard_limit,
    retries_then_succeeds_with_backoff,
    dead_after_max_attempts_and_4xx_at_once,
    overrunning_and_panicking_handlers_are_retried,
    shutdown_finishes_running_handlers_and_leases_nothing_new,
    grace_period_over_leaves_the_event_to_lease_expiry,
);

/// Events accepted or requeued through another handle (another process, e.g. the
/// `countersign inbox` CLI) are delivered within a second, by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_changes_made_by_another_process() {
    let dir = TempDir::new("other");
    let db = dir.file("inbox.db");
    let ours: Arc<dyn Inbox> = Arc::new(SqliteInbox::open(&db).await.unwrap());
    let theirs = SqliteInbox::open(&db).await.unwrap();
    let delivered = Arc::new(AtomicU32::new(0));
    let d2 = Arc::clone(&delivered);
    let worker = Worker::builder(Arc::clone(&ours), move |_d: Delivery| {
        d2.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }
    })
    .build()
    .unwrap();
    let (stats, stop, task) = spawn(worker);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let _ = theirs.accept(&event("o", "1")).await.unwrap();
    until("delivered", Duration::from_secs(1), async || {
        stats.snapshot().done == 1
    })
    .await;
    eprintln!("seen after {:?}", t.elapsed());
    let _ = theirs
        .requeue(&countersign_inbox::Requeue::Events(vec![EventKey::new(
            "o", "1",
        )]))
        .await
        .unwrap();
    until("redelivered", Duration::from_secs(1), async || {
        stats.snapshot().done == 2
    })
    .await;
    let _ = stop.send(());
    task.await.unwrap();
    check(&stats.snapshot());
    assert_eq!(delivered.load(Ordering::SeqCst), 2);
}

#[test]
fn builder_checks_settings() {
    let inbox: Arc<dyn Inbox> = Arc::new(countersign_inbox::MemoryInbox::new());
    let h = |_d: Delivery| async { Ok(()) };
    assert!(
        Worker::builder(Arc::clone(&inbox), h)
            .concurrency(0)
            .build()
            .is_err()
    );
    assert!(
        Worker::builder(Arc::clone(&inbox), h)
            .max_attempts(0)
            .build()
            .is_err()
    );
    assert!(
        Worker::builder(Arc::clone(&inbox), h)
            .lease(Duration::from_millis(1))
            .build()
            .is_err()
    );
    assert!(Worker::builder(inbox, h).build().is_ok());
}
