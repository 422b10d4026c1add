//! SQLite-specific behaviour: durability across a `kill -9`, several processes on one file,
//! group commit, schema checks.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_inbox::{Accepted, Inbox, InboxOp, LeaseRequest, ListQuery, SqliteInbox, State};
use futures_util::future::join_all;
use support::{TempDir, event};

/// The child half of `kill_9_loses_no_acknowledged_event`: accepts events as fast as it can
/// (64 concurrent accepts at a time, so group commit is in play) and prints each id once
/// `accept` returned `Stored`, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by kill_9_loses_no_acknowledged_event"]
async fn child_accepts_until_killed() {
    let Some(path) = std::env::var_os("INBOX_CHILD_DB") else {
        return;
    };
    let inbox = Arc::new(SqliteInbox::open(path).await.unwrap());
    let mut out = std::io::stdout().lock();
    for batch in 0u64.. {
        let events: Vec<_> = (0..64)
            .map(|i| event("crash", &format!("e{batch}-{i}")))
            .collect();
        let results = join_all(events.iter().map(|e| inbox.accept(e))).await;
        for (e, r) in events.iter().zip(results) {
            assert_eq!(r.unwrap(), Accepted::Stored);
            writeln!(out, "{}", e.key().id()).unwrap();
        }
        out.flush().unwrap();
    }
}

/// Every event acknowledged before a `kill -9` is in the file after it is reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_event() {
    let dir = TempDir::new("crash");
    let db = dir.file("inbox.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_accepts_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("INBOX_CHILD_DB", &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let started = Instant::now();
    while acked.len() < 3000 && started.elapsed() < Duration::from_secs(60) {
        match lines.next() {
            Some(Ok(line)) if line.starts_with('e') => acked.push(line),
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    // SIGKILL: no destructor, no flush, mid-transaction.
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the child printed after our last read was acknowledged too.
    for line in lines.map_while(Result::ok) {
        if line.starts_with('e') {
            acked.push(line);
        }
    }
    assert!(
        acked.len() >= 3000,
        "child acknowledged only {}",
        acked.len()
    );

    let inbox = SqliteInbox::open(&db).await.unwrap();
    let stored = inbox
        .list(&ListQuery::new().state(State::Pending).limit(10_000_000))
        .await
        .unwrap();
    let stored: std::collections::HashSet<String> =
        stored.iter().map(|e| e.id().to_owned()).collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // The file is usable: new events, leases.
    assert_eq!(
        inbox.accept(&event("crash", "after")).await.unwrap(),
        Accepted::Stored
    );
    assert_eq!(
        inbox
            .lease(&LeaseRequest::new(5, Duration::from_secs(5)))
            .await
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_file_keeps_everything() {
    let dir = TempDir::new("reopen");
    let db = dir.file("inbox.db");
    {
        let inbox = SqliteInbox::open(&db).await.unwrap();
        let _ = inbox.accept(&event("r", "1")).await.unwrap();
        let _ = inbox.accept(&event("r", "2")).await.unwrap();
        let l = inbox
            .lease(&LeaseRequest::new(1, Duration::from_secs(60)))
            .await
            .unwrap()
            .pop()
            .unwrap();
        let _ = inbox.complete(&l.lease).await.unwrap();
    }
    let inbox = SqliteInbox::open(&db).await.unwrap();
    let s = inbox.stats().await.unwrap();
    assert_eq!((s.pending, s.done), (1, 1));
    assert_eq!(
        inbox.accept(&event("r", "1")).await.unwrap(),
        Accepted::Duplicate
    );
    // Tokens keep increasing across restarts (fencing survives a restart).
    let l = inbox
        .lease(&LeaseRequest::new(1, Duration::from_secs(60)))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(l.lease.token() >= 2);
}

/// Two handles on one file (as a proxy and `countersign inbox` in another process): writes
/// of one are seen by the other, and duplicates are caught across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_share_one_file() {
    let dir = TempDir::new("shared");
    let db = dir.file("inbox.db");
    let a = Arc::new(SqliteInbox::open(&db).await.unwrap());
    let b = Arc::new(SqliteInbox::open(&db).await.unwrap());
    let e = event("r", "x");
    let (ra, rb) = tokio::join!(a.accept(&e), b.accept(&e));
    let mut both = [ra.unwrap(), rb.unwrap()];
    both.sort_by_key(|r| *r == Accepted::Duplicate);
    assert_eq!(both, [Accepted::Stored, Accepted::Duplicate]);
    let leased = b
        .lease(&LeaseRequest::new(10, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert!(
        a.lease(&LeaseRequest::new(10, Duration::from_secs(60)))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(a.stats().await.unwrap().in_flight, 1);
}

/// Concurrent accepts share commits: 2 000 accepts take far fewer than 2 000 fsyncs' time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_accepts() {
    let dir = TempDir::new("group");
    let inbox = Arc::new(SqliteInbox::open(dir.file("inbox.db")).await.unwrap());
    let events: Vec<_> = (0..2000).map(|i| event("g", &format!("{i}"))).collect();
    let started = Instant::now();
    let results = join_all(events.iter().map(|e| inbox.accept(e))).await;
    let elapsed = started.elapsed();
    assert!(
        results
            .iter()
            .all(|r| *r.as_ref().unwrap() == Accepted::Stored)
    );
    assert_eq!(inbox.stats().await.unwrap().pending, 2000);
    eprintln!("2000 concurrent accepts in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[tokio::test]
async fn unusable_files_are_open_errors() {
    let dir = TempDir::new("bad");
    let err = SqliteInbox::open(dir.file("missing-dir/inbox.db"))
        .await
        .unwrap_err();
    assert_eq!(err.op(), InboxOp::Open);
    let not_db = dir.file("not-a-db");
    std::fs::write(&not_db, vec![b'x'; 4096]).unwrap();
    assert_eq!(
        SqliteInbox::open(&not_db).await.unwrap_err().op(),
        InboxOp::Open
    );
    // A file from a newer countersign is refused rather than misread.
    let newer = dir.file("newer.db");
    drop(SqliteInbox::open(&newer).await.unwrap());
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = SqliteInbox::open(&newer).await.unwrap_err();
    assert!(
        matches!(err, countersign_inbox::InboxError::Corrupt { .. }),
        "{err:?}"
    );
}
