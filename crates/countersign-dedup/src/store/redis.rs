//! [`RedisStore`]: one Redis node (≥ 7.0) through `redis`'s reconnecting, multiplexed
//! `ConnectionManager`, plus the wire protocol both Redis stores share.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http::StatusCode;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};

use super::{Claim, DedupStore, Fenced, StoreFuture, ttl_millis};
use crate::error::{DedupConfigError, StoreError, StoreOp, check_duration, check_key_part};
use crate::key::{DedupKey, Token};

/// Default key prefix of the Redis stores.
pub const DEFAULT_REDIS_PREFIX: &str = "countersign:dedup:";
/// Default connect timeout of the Redis stores: 1 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default response timeout of the Redis stores: 1 s, including any wait for a reconnection.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest connect or response timeout accepted: 1 minute.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Fenced complete: record done if the key still holds our claim or nothing at all.
const COMPLETE_LUA: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

/// Fenced release: delete the key only if it still holds our claim.
const RELEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

static COMPLETE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(COMPLETE_LUA));
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE_LUA));

/// Key prefix, timeouts and the three operations, over any async Redis connection.
#[derive(Clone)]
pub(crate) struct Wire {
    prefix: Arc<str>,
    timeout: Duration,
}

impl Wire {
    pub(crate) fn new(prefix: &str, timeout: Duration) -> Result<Self, DedupConfigError> {
        check_key_part("prefix", prefix)?;
        check_duration("response_timeout", timeout, MAX_TIMEOUT)?;
        Ok(Wire {
            prefix: prefix.into(),
            timeout,
        })
    }

    pub(crate) fn key(&self, key: &DedupKey) -> String {
        format!("{}{{{}}}", self.prefix, key.as_str())
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Bounds `fut` by the response timeout.
    async fn bounded<T>(
        &self,
        op: StoreOp,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::backend(op, e)),
            Err(_) => Err(StoreError::Timeout {
                op,
                after: self.timeout,
            }),
        }
    }

    pub(crate) async fn claim<C: ConnectionLike + Send>(
        &self,
        mut conn: C,
        token: &Token,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(token.key()))
            .arg(claim_value(token))
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(lease))
            .arg("GET");
        let previous: Option<Vec<u8>> = self
            .bounded(StoreOp::Claim, cmd.query_async(&mut conn))
            .await?;
        match previous.as_deref() {
            None => Ok(Claim::Claimed),
            Some([b'c', b':', ..]) => Ok(Claim::InFlight),
            Some([b'd', b':', status @ ..]) => parse_status(status)
                .map(Claim::Done)
                .ok_or(StoreError::UnexpectedValue { op: StoreOp::Claim }),
            Some(_) => Err(StoreError::UnexpectedValue { op: StoreOp::Claim }),
        }
    }

    pub(crate) async fn complete<C: ConnectionLike + Send>(
        &self,
        mut conn: C,
        token: &Token,
        status: StatusCode,
        retention: Duration,
    ) -> Result<Fenced, StoreError> {
        let mut invocation = COMPLETE.key(self.key(token.key()));
        invocation
            .arg(claim_value(token))
            .arg(format!("d:{}", status.as_u16()))
            .arg(ttl_millis(retention));
        let applied: i64 = self
            .bounded(StoreOp::Complete, invocation.invoke_async(&mut conn))
            .await?;
        Ok(fenced(applied))
    }

    pub(crate) async fn release<C: ConnectionLike + Send>(
        &self,
        mut conn: C,
        token: &Token,
    ) -> Result<Fenced, StoreError> {
        let mut invocation = RELEASE.key(self.key(token.key()));
        invocation.arg(claim_value(token));
        let applied: i64 = self
            .bounded(StoreOp::Release, invocation.invoke_async(&mut conn))
            .await?;
        Ok(fenced(applied))
    }
}

fn claim_value(token: &Token) -> String {
    format!("c:{:032x}", token.fence())
}

fn fenced(applied: i64) -> Fenced {
    if applied == 1 {
        Fenced::Applied
    } else {
        Fenced::Stale
    }
}

fn parse_status(digits: &[u8]) -> Option<StatusCode> {
    if digits.len() != 3 {
        return None;
    }
    StatusCode::from_bytes(digits).ok()
}

/// Deduplication records in one Redis node (Redis ≥ 7.0, or a compatible server supporting
/// `SET … NX GET`), shared by every instance of the app.
///
/// Built by [`RedisStore::builder`]; cheap to clone (one multiplexed connection shared by
/// every clone and every request). Requires a Tokio runtime with the time driver enabled.
///
/// ## On the wire
///
/// A record is one string key, `<prefix>{<scope>:<event id>}` — the braces are a Redis
/// Cluster hash tag, so every key of one event maps to one slot — holding `c:<fence>` while
/// claimed (expiring after the lease) or `d:<status>` when done (expiring after the
/// retention).
///
/// - **claim** is one command, `SET key c:<fence> NX PX <lease> GET`: it sets the claim only
///   when the key is absent and returns what was there, in a single round trip.
/// - **complete** and **release** are one `EVALSHA` each of a short Lua script that compares
///   the stored claim with the token's before writing — the fence. They run through
///   `redis::Script`, which falls back to loading the script when the server answers
///   `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
///
/// Every operation is bounded by the response timeout, including the wait for a reconnection,
/// so a dead server costs a request at most that long (the layer answers 503).
///
/// ```no_run
/// use countersign_dedup::{DedupLayer, RedisStore};
/// use countersign_core::Preset;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")
///     .prefix("myapp:webhooks:")
///     .response_timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// let layer = DedupLayer::builder(store, Preset::Stripe).build()?;
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    wire: Wire,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: not printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.wire.prefix())
            .field("response_timeout", &self.wire.timeout())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Configures a store for the server at `url` (`redis://[user:password@]host:port/[db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            reconnect_max_delay: Duration::from_millis(200),
        }
    }

    /// Connects with the default settings.
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// The Redis key that holds `key`'s record (for operators and tests).
    #[must_use]
    pub fn redis_key(&self, key: &DedupKey) -> String {
        self.wire.key(key)
    }
}

impl DedupStore for RedisStore {
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

/// Builds a [`RedisStore`].
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    reconnect_max_delay: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_max_delay", &self.reconnect_max_delay)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Prepended to every key (default [`DEFAULT_REDIS_PREFIX`]); no braces or whitespace.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bound on establishing a connection (default [`DEFAULT_CONNECT_TIMEOUT`]); also bounds
    /// [`connect`](Self::connect) itself.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on every operation, including a wait for reconnection (default
    /// [`DEFAULT_RESPONSE_TIMEOUT`]). Keep it well below your HTTP server's timeout.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Longest pause between reconnection attempts after the server went away (default
    /// 200 ms): how soon after Redis is back the store notices.
    pub fn reconnect_max_delay(mut self, delay: Duration) -> Self {
        self.reconnect_max_delay = delay;
        self
    }

    /// Connects (one connection, multiplexed; reconnects in the background when it drops).
    ///
    /// # Errors
    /// [`StoreError::Config`] for a bad prefix or timeout, [`StoreError::Backend`] for an
    /// invalid URL or a refused connection, [`StoreError::Timeout`] when the server does not
    /// answer within the connect timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let wire = Wire::new(&self.prefix, self.response_timeout)?;
        check_duration("connect_timeout", self.connect_timeout, MAX_TIMEOUT)?;
        check_duration("reconnect_max_delay", self.reconnect_max_delay, MAX_TIMEOUT)?;
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| StoreError::backend(StoreOp::Connect, e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_min_delay(Duration::from_millis(20).min(self.reconnect_max_delay))
            .set_max_delay(self.reconnect_max_delay);
        let conn = tokio::time::timeout(
            self.connect_timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::Timeout {
            op: StoreOp::Connect,
            after: self.connect_timeout,
        })?
        .map_err(|e| StoreError::backend(StoreOp::Connect, e))?;
        Ok(RedisStore { conn, wire })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_one_hash_tag() {
        let wire = Wire::new("app:", Duration::from_secs(1)).unwrap();
        let key = DedupKey::new("stripe", "evt_1");
        assert_eq!(wire.key(&key), "app:{stripe:evt_1}");
        assert!(Wire::new("a{b", Duration::from_secs(1)).is_err());
        assert!(Wire::new("a b", Duration::from_secs(1)).is_err());
        assert!(Wire::new("ok", Duration::ZERO).is_err());
    }

    #[test]
    fn status_values() {
        assert_eq!(parse_status(b"200"), Some(StatusCode::OK));
        assert_eq!(parse_status(b"20"), None);
        assert_eq!(parse_status(b"2000"), None);
        assert_eq!(parse_status(b"abc"), None);
    }

    #[test]
    fn claim_values_are_fixed_width() {
        let t = Token::new(DedupKey::new("s", "e"));
        assert_eq!(claim_value(&t).len(), 2 + 32);
    }
}
