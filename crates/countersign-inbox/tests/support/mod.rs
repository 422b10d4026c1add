//! Shared by the integration tests: one harness per backend, temporary SQLite files.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use countersign_inbox::{EventKey, Inbox, MemoryInbox, NewEvent, RedisInbox, SqliteInbox};
use http::{HeaderMap, HeaderValue};

/// A directory removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "countersign-inbox-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A backend under test and whatever keeps it alive.
pub(crate) struct Harness {
    pub(crate) inbox: Arc<dyn Inbox>,
    pub(crate) dir: Option<TempDir>,
}

pub(crate) async fn memory() -> Harness {
    Harness {
        inbox: Arc::new(MemoryInbox::new()),
        dir: None,
    }
}

pub(crate) async fn sqlite() -> Harness {
    let dir = TempDir::new("conformance");
    let inbox = SqliteInbox::open(dir.file("inbox.db")).await.unwrap();
    Harness {
        inbox: Arc::new(inbox),
        dir: Some(dir),
    }
}

/// One Redis server per test binary (`REDIS_URL` when set, else a throwaway server on a
/// free port, killed when the binary exits); tests keep apart by prefix.
pub(crate) fn redis_url() -> String {
    static REDIS: std::sync::OnceLock<countersign_testkit::Redis> = std::sync::OnceLock::new();
    REDIS.get_or_init(countersign_testkit::redis).url()
}

/// A fresh prefix on the shared test server (never flushed: only this test's keys).
pub(crate) fn redis_prefix(test: &str) -> String {
    countersign_testkit::unique_prefix(test)
        .trim_end_matches(':')
        .to_owned()
}

pub(crate) async fn redis() -> Harness {
    let inbox = RedisInbox::builder(redis_url())
        .prefix(redis_prefix("conformance"))
        .open()
        .await
        .unwrap();
    Harness {
        inbox: Arc::new(inbox),
        dir: None,
    }
}

/// An event with a non-UTF-8 body and a header value that is not UTF-8 either.
pub(crate) fn event(route: &str, id: &str) -> NewEvent {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-odd", HeaderValue::from_bytes(b"\xfe\xff v").unwrap());
    let mut body = format!("{{\"id\":\"{id}\"}}").into_bytes();
    body.extend_from_slice(&[0xff, 0x00, 0x80]);
    NewEvent::new(
        EventKey::new(route, id),
        "stripe",
        headers,
        Bytes::from(body),
    )
    .target("/hooks/stripe?x=1")
}

/// An inbox that keeps a guard (a test database, a server) alive as long as itself.
#[derive(Debug)]
pub(crate) struct Kept<I, G> {
    pub(crate) inbox: I,
    pub(crate) guard: G,
}

impl<I: Inbox, G: std::fmt::Debug + Send + Sync> Inbox for Kept<I, G> {
    fn accept<'a>(
        &'a self,
        e: &'a NewEvent,
    ) -> countersign_inbox::InboxFuture<'a, countersign_inbox::Accepted> {
        self.inbox.accept(e)
    }
    fn lease<'a>(
        &'a self,
        r: &'a countersign_inbox::LeaseRequest,
    ) -> countersign_inbox::InboxFuture<'a, Vec<countersign_inbox::Leased>> {
        self.inbox.lease(r)
    }
    fn complete<'a>(
        &'a self,
        l: &'a countersign_inbox::Lease,
    ) -> countersign_inbox::InboxFuture<'a, countersign_inbox::Fenced> {
        self.inbox.complete(l)
    }
    fn retry<'a>(
        &'a self,
        l: &'a countersign_inbox::Lease,
        at: std::time::SystemTime,
        e: &'a countersign_inbox::LastError,
    ) -> countersign_inbox::InboxFuture<'a, countersign_inbox::Fenced> {
        self.inbox.retry(l, at, e)
    }
    fn dead<'a>(
        &'a self,
        l: &'a countersign_inbox::Lease,
        e: &'a countersign_inbox::LastError,
    ) -> countersign_inbox::InboxFuture<'a, countersign_inbox::Fenced> {
        self.inbox.dead(l, e)
    }
    fn requeue<'a>(
        &'a self,
        w: &'a countersign_inbox::Requeue,
    ) -> countersign_inbox::InboxFuture<'a, u64> {
        self.inbox.requeue(w)
    }
    fn stats(&self) -> countersign_inbox::InboxFuture<'_, countersign_inbox::InboxStats> {
        self.inbox.stats()
    }
    fn list<'a>(
        &'a self,
        q: &'a countersign_inbox::ListQuery,
    ) -> countersign_inbox::InboxFuture<'a, Vec<countersign_inbox::Event>> {
        self.inbox.list(q)
    }
    fn show<'a>(
        &'a self,
        k: &'a EventKey,
    ) -> countersign_inbox::InboxFuture<'a, Option<countersign_inbox::Event>> {
        self.inbox.show(k)
    }
    fn purge(
        &self,
        s: countersign_inbox::State,
        older_than: std::time::Duration,
    ) -> countersign_inbox::InboxFuture<'_, u64> {
        self.inbox.purge(s, older_than)
    }
    fn wakeup(&self) -> Option<&tokio::sync::Notify> {
        self.inbox.wakeup()
    }
}

/// A `PostgresInbox` in a database of the test's own (dropped with the harness).
#[cfg(feature = "postgres")]
pub(crate) async fn postgres() -> Harness {
    let db = countersign_testkit::PgDatabase::create("conf");
    let inbox = countersign_inbox::PostgresInbox::open(db.url())
        .await
        .unwrap();
    Harness {
        inbox: Arc::new(Kept { inbox, guard: db }),
        dir: None,
    }
}
