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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use countersign_dedup::{DedupKey, DedupStore, Token};
use http::StatusCode;
use serde::Serialize;

use super::forward::ErrorChain;

/// The health endpoint's state.
pub(crate) struct Health {
    store: Option<Arc<dyn DedupStore>>,
    kind: &'static str,
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
    error: Option<String>,
}

impl Health {
    /// Health of a proxy whose routes deduplicate in `store` (`None`: no route does).
    pub(crate) fn new(store: Option<Arc<dyn DedupStore>>, kind: &'static str) -> Self {
        Health {
            kind: if store.is_some() { kind } else { "none" },
            store,
            shutting_down: AtomicBool::new(false),
        }
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
        let (status, label) = if self.shutting_down.load(Ordering::Relaxed) {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
        } else if reachable == Some(false) {
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
        } else {
            (StatusCode::OK, "ok")
        };
        let report = Report {
            status: label,
            store: self.kind,
            store_reachable: reachable,
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

        let none = Health::new(None, "memory");
        let (status, body) = none.check().await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            b"{\"status\":\"ok\",\"store\":\"none\",\"store_reachable\":null}\n"
        );
    }
}
