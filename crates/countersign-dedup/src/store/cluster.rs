//! [`RedisClusterStore`]: the [`RedisStore`](crate::RedisStore) protocol on Redis Cluster,
//! through `redis::cluster_async`.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

use super::redis::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REDIS_PREFIX, DEFAULT_RESPONSE_TIMEOUT, Wire};
use super::{Claim, DedupStore, Fenced, StoreFuture};
use crate::error::{DedupConfigError, StoreError, StoreOp, check_duration};
use crate::key::{DedupKey, Token};

/// Deduplication records in a Redis Cluster (Redis ≥ 7.0).
///
/// Built by [`RedisClusterStore::builder`]; cheap to clone. Requires a Tokio runtime with the
/// time driver enabled.
///
/// Each record is one key whose `{…}` hash tag is the whole event key, so every command of
/// one event goes to one slot's master. Claims, completions and releases are the same single
/// round trips as on one node (plus a redirection when the slot map changed).
///
/// ```no_run
/// use countersign_dedup::RedisClusterStore;
///
/// # async fn run() -> Result<(), countersign_dedup::StoreError> {
/// let store = RedisClusterStore::builder([
///     "redis://10.0.0.1:6379/",
///     "redis://10.0.0.2:6379/",
///     "redis://10.0.0.3:6379/",
/// ])
/// .connect()
/// .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisClusterStore {
    conn: ClusterConnection,
    wire: Wire,
}

impl fmt::Debug for RedisClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClusterStore")
            .field("prefix", &self.wire.prefix())
            .field("response_timeout", &self.wire.timeout())
            .finish_non_exhaustive()
    }
}

impl RedisClusterStore {
    /// Configures a store for the cluster reachable through `nodes` (any subset of its nodes;
    /// the rest is discovered).
    pub fn builder<I, S>(nodes: I) -> RedisClusterStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisClusterStoreBuilder {
            nodes: nodes.into_iter().map(Into::into).collect(),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// The Redis key that holds `key`'s record.
    #[must_use]
    pub fn redis_key(&self, key: &DedupKey) -> String {
        self.wire.key(key)
    }
}

impl DedupStore for RedisClusterStore {
    fn claim<'a>(&'a self, token: &'a Token, lease: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(self.wire.claim(self.conn.clone(), token, lease))
    }

    fn complete<'a>(
        &'a self,
        token: &'a Token,
        status: StatusCode,
        retention: Duration,
    ) -> StoreFuture<'a, Fenced> {
        Box::pin(
            self.wire
                .complete(self.conn.clone(), token, status, retention),
        )
    }

    fn release<'a>(&'a self, token: &'a Token) -> StoreFuture<'a, Fenced> {
        Box::pin(self.wire.release(self.conn.clone(), token))
    }
}

/// Builds a [`RedisClusterStore`].
#[must_use]
pub struct RedisClusterStoreBuilder {
    nodes: Vec<String>,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl fmt::Debug for RedisClusterStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Node URLs may carry passwords: only counted.
        f.debug_struct("RedisClusterStoreBuilder")
            .field("nodes", &self.nodes.len())
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisClusterStoreBuilder {
    /// Prepended to every key (default `countersign:dedup:`); no braces or whitespace.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bound on establishing a connection to a node (default 1 s); also bounds
    /// [`connect`](Self::connect).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on every operation, including redirections and retries (default 1 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Connects to the cluster.
    ///
    /// # Errors
    /// [`StoreError::Config`] for no nodes, a bad prefix or timeout; [`StoreError::Backend`]
    /// for an invalid URL or unreachable nodes; [`StoreError::Timeout`] when the cluster
    /// does not answer within the connect timeout.
    pub async fn connect(self) -> Result<RedisClusterStore, StoreError> {
        let wire = Wire::new(&self.prefix, self.response_timeout)?;
        check_duration(
            "connect_timeout",
            self.connect_timeout,
            Duration::from_secs(60),
        )?;
        if self.nodes.is_empty() {
            return Err(DedupConfigError::InvalidAddress.into());
        }
        let client = ClusterClient::builder(self.nodes.iter().map(String::as_str))
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.response_timeout)
            .retries(3)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .build()
            .map_err(|e| StoreError::backend(StoreOp::Connect, e))?;
        let conn = tokio::time::timeout(self.connect_timeout, client.get_async_connection())
            .await
            .map_err(|_| StoreError::Timeout {
                op: StoreOp::Connect,
                after: self.connect_timeout,
            })?
            .map_err(|e| StoreError::backend(StoreOp::Connect, e))?;
        Ok(RedisClusterStore { conn, wire })
    }
}
