//! `GET /healthz`: whether the proxy can take deliveries now.
//!
//! The dedup store is probed with an operation deliveries use, without writing anything: the
//! fenced release of a claim nobody holds (Redis: one `EVALSHA` that reads the key and leaves
//! it alone), so "reachable" means what it says for Redis and Redis Cluster alike (one round
//! trip, bounded by the store's response timeout) and a load balancer polling `/healthz`
//! costs the store no writes. Answers:
//!
//! - `200 {"status":"ok","store":"redis","store_reachable":true}`
//! - `503 {"status":"store_unavailable",…,"store_reachable":false}` while the store fails
//!   (deliveries would get 503 too: the dedup layer fails closed);
//! - `503 {"status":"shutting_down",…}` once SIGTERM arrived, so a load balancer stops
//!   sending during the grace period, before the listener closes.
//!
//! With queued routes (`--inbox`) every inbox is probed too, with a read of an event that
//! does not exist (SQLite: one indexed lookup on the writer thread; Redis: one `HGET`-like
//! read; PostgreSQL: one primary-key `SELECT`), bounded by [`INBOX_PROBE_TIMEOUT`]; the
//! report gains `"inbox_reachable"` and answers `503 {"status":"inbox_unavailable",…}` while
//! one fails (accepts would get 503 too).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;

use countersign_dedup::{DedupKey, DedupStore, Token};
use countersign_inbox::{EventKey, Inbox};
use http::StatusCode;
use serde::Serialize;

use super::forward::ErrorChain;

/// How long `/healthz` waits for an inbox to answer its probe.
pub(crate) const INBOX_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The health endpoint's state.
pub(crate) struct Health {
    store: Option<Arc<dyn DedupStore>>,
    kind: &'static str,
    inboxes: Vec<Arc<dyn Inbox>>,
    shutting_down: AtomicBool,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("store", &self.kind)
            .field("shutting_down", &self.shutting_down)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    status: &'a str,
    store: &'a str,
    store_reachable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox_reachable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Health {
    /// Health of a proxy whose routes deduplicate in `store` (`None`: no route does).
    pub(crate) fn new(store: Option<Arc<dyn DedupStore>>, kind: &'static str) -> Self {
        Health {
            kind: if store.is_some() { kind } else { "none" },
            store,
            inboxes: Vec::new(),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Also probes these inboxes (the queued routes').
    pub(crate) fn with_inboxes(mut self, inboxes: Vec<Arc<dyn Inbox>>) -> Self {
        self.inboxes = inboxes;
        self
    }

    /// From now on, answer 503 `shutting_down`.
    pub(crate) fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Whether the proxy is draining.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Probes the store; the status and the JSON body.
    pub(crate) async fn check(&self) -> (StatusCode, Vec<u8>) {
        let (reachable, error) = match &self.store {
            None => (None, None),
            Some(store) => match self.probe(&**store).await {
                Ok(()) => (Some(true), None),
                Err(e) => (Some(false), Some(e)),
            },
        };
        let mut error = error;
        let mut inbox_reachable = None;
        for inbox in &self.inboxes {
            match probe_inbox(&**inbox).await {
                Ok(()) => {
                    inbox_reachable.get_or_insert(true);
                }
                Err(e) => {
                    inbox_reachable = Some(false);
                    error.get_or_insert(e);
                    break;
                }
            }
        }
        let (status, label) = if self.shutting_down.load(Ordering::Relaxed) {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
        } else if reachable == Some(false) {
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
        } else if inbox_reachable == Some(false) {
            (StatusCode::SERVICE_UNAVAILABLE, "inbox_unavailable")
        } else {
            (StatusCode::OK, "ok")
        };
        let report = Report {
            status: label,
            store: self.kind,
            store_reachable: reachable,
            inbox_reachable,
            error,
        };
        let mut body = serde_json::to_vec(&report).unwrap_or_default();
        body.push(b'\n');
        (status, body)
    }

    async fn probe(&self, store: &dyn DedupStore) -> Result<(), String> {
        // A fresh token holds no claim: the release is a read that finds nothing to delete.
        let token = Token::new(DedupKey::new("countersign-healthz", "probe"));
        store
            .release(&token)
            .await
            .map(drop)
            .map_err(|e| ErrorChain(&e).to_string())
    }
}

/// Reads an event that does not exist: a round trip to the inbox that writes nothing.
async fn probe_inbox(inbox: &dyn Inbox) -> Result<(), String> {
    let key = EventKey::new("countersign-healthz", "probe");
    match tokio::time::timeout(INBOX_PROBE_TIMEOUT, inbox.show(&key)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("inbox: {}", ErrorChain(&e))),
        Err(_) => Err(format!("inbox: no answer within {INBOX_PROBE_TIMEOUT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_dedup::MemoryStore;

    #[tokio::test]
    async fn reports() {
        let h = Health::new(Some(Arc::new(MemoryStore::new())), "memory");
        let (status, body) = h.check().await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            b"{\"status\":\"ok\",\"store\":\"memory\",\"store_reachable\":true}\n"
        );
        h.set_shutting_down();
        let (status, body) = h.check().await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.starts_with(b"{\"status\":\"shutting_down\""));

        let queued = Health::new(None, "memory")
            .with_inboxes(vec![Arc::new(countersign_inbox::MemoryInbox::new())]);
        let (status, body) = queued.check().await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            b"{\"status\":\"ok\",\"store\":\"none\",\"store_reachable\":null,\"inbox_reachable\":true}\n"
        );

        let none = Health::new(None, "memory");
        let (status, body) = none.check().await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            b"{\"status\":\"ok\",\"store\":\"none\",\"store_reachable\":null}\n"
        );
    }
}
