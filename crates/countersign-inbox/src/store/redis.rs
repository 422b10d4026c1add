//! [`RedisInbox`]: one Redis node (≥ 6.2) shared by several receivers; sorted sets, Lua
//! scripts, fencing tokens from `INCR`, every time taken from the server's `TIME`.
//!
//! The rationale (sorted sets rather than streams, the clock, durability) is in the crate
//! docs, section "Redis".

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use redis::Value;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Notify;

use super::{
    Accepted, Fenced, Inbox, InboxFuture, InboxStats, Lease, LeaseRequest, Leased, ListQuery,
    Requeue,
};
use crate::error::{InboxError, InboxOp};
use crate::event::{
    Event, EventKey, LastError, NewEvent, State, add, decode_headers, encode_headers, from_ms,
    to_ms,
};

/// Default key prefix: every key of the inbox is `{countersign:inbox}:…`.
pub const DEFAULT_REDIS_INBOX_PREFIX: &str = "countersign:inbox";
/// Default bound on establishing the connection: 1 s.
pub const DEFAULT_REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default bound on every operation, including a wait for a reconnection: 2 s.
pub const DEFAULT_REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The layout version written to `{prefix}:meta`; a newer one is refused.
const LAYOUT_VERSION: i64 = 1;
/// Events a purge script deletes per call (the client loops): bounds the time Redis is busy.
const PURGE_BATCH: usize = 500;
/// Events read per page by `list`.
const LIST_PAGE: usize = 256;

/// The fields of an event hash, in the order every script and read returns them.
const FIELDS: [&str; 12] = [
    "ro", "id", "p", "t", "r", "h", "b", "s", "a", "n", "es", "er",
];

/// `accept`: the dedup check and the enqueue in one atomic script.
/// KEYS: event hash, due set of the route, pending set, received set, routes set, meta.
/// ARGV: member, route, id, preset, target, received ms, headers, body.
const ACCEPT_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'ro', ARGV[2], 'id', ARGV[3], 'p', ARGV[4], 't', ARGV[5],
  'r', ARGV[6], 'h', ARGV[7], 'b', ARGV[8], 's', 'pending', 'a', 0, 'n', now, 'k', 0, 'u', now)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[2])
return 1
";

/// `lease`: up to `max` due events of one route (or of every route, earliest first).
/// ARGV: base, max, lease ms, has-route flag, route. Returns {now, {{token, fields}, …}}.
const LEASE_LUA: &str = r"
local base = ARGV[1]
local max = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[3])
local routes
if ARGV[4] == '1' then routes = {ARGV[5]} else routes = redis.call('SMEMBERS', base .. 'routes') end
local cands = {}
for _, r in ipairs(routes) do
  local got = redis.call('ZRANGEBYSCORE', base .. 'due:' .. r, '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
  for i = 1, #got, 2 do cands[#cands + 1] = {tonumber(got[i + 1]), got[i], r} end
end
if #routes > 1 then
  table.sort(cands, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
end
local out = {}
for i = 1, math.min(max, #cands) do
  local m, r = cands[i][2], cands[i][3]
  local k = base .. 'e:' .. m
  local s = redis.call('HGET', k, 's')
  if not s then
    redis.call('ZREM', base .. 'due:' .. r, m)
  else
    if s ~= 'in_flight' then redis.call('ZREM', base .. 'st:' .. s, m) end
    local tok = redis.call('INCR', base .. 'seq')
    redis.call('ZADD', base .. 'st:in_flight', now, m)
    redis.call('ZADD', base .. 'due:' .. r, deadline, m)
    redis.call('HINCRBY', k, 'a', 1)
    redis.call('HSET', k, 's', 'in_flight', 'n', deadline, 'k', tok, 'u', now)
    out[#out + 1] = {tok, redis.call('HMGET', k, 'ro', 'id', 'p', 't', 'r', 'h', 'b', 's', 'a', 'n', 'es', 'er')}
  end
end
return {now, out}
";

/// `complete` / `retry` / `dead`: only while the lease is current (same token, still in
/// flight, deadline not passed on the server's clock).
/// ARGV: base, member, route, token, action, retry delay ms, error status, error reason.
const SETTLE_LUA: &str = r"
local base, m = ARGV[1], ARGV[2]
local k = base .. 'e:' .. m
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', k, 's', 'k', 'n', 'r')
if v[1] ~= 'in_flight' or v[2] ~= ARGV[4] or tonumber(v[3]) <= now then return 0 end
redis.call('ZREM', base .. 'st:in_flight', m)
local due = base .. 'due:' .. ARGV[3]
local act = ARGV[5]
if act == 'retry' then
  local at = now + tonumber(ARGV[6])
  redis.call('ZADD', due, at, m)
  redis.call('ZADD', base .. 'st:pending', v[4], m)
  redis.call('HSET', k, 's', 'pending', 'n', at, 'u', now, 'es', ARGV[7], 'er', ARGV[8])
else
  redis.call('ZREM', due, m)
  redis.call('ZADD', base .. 'st:' .. act, now, m)
  redis.call('HSET', k, 's', act, 'n', now, 'u', now)
  if act == 'dead' then redis.call('HSET', k, 'es', ARGV[7], 'er', ARGV[8]) end
end
return 1
";

/// `requeue`: ARGV: base, 'keys' + members, or 'state' + state. Skips live leases.
const REQUEUE_LUA: &str = r"
local base = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function requeue(m)
  local k = base .. 'e:' .. m
  local v = redis.call('HMGET', k, 's', 'n', 'r', 'ro')
  if not v[1] then return 0 end
  if v[1] == 'in_flight' and tonumber(v[2]) > now then return 0 end
  redis.call('ZREM', base .. 'st:' .. v[1], m)
  redis.call('ZADD', base .. 'st:pending', v[3], m)
  redis.call('ZADD', base .. 'due:' .. v[4], now, m)
  redis.call('HSET', k, 's', 'pending', 'a', 0, 'n', now, 'k', 0, 'u', now)
  return 1
end
local n = 0
if ARGV[2] == 'keys' then
  for i = 3, #ARGV do n = n + requeue(ARGV[i]) end
else
  for _, m in ipairs(redis.call('ZRANGE', base .. 'st:' .. ARGV[3], 0, -1)) do n = n + requeue(m) end
end
return n
";

/// `purge`: deletes up to `batch` events of a state unchanged since `older` ms.
/// ARGV: base, state, older ms, batch. Returns how many were deleted.
const PURGE_LUA: &str = r"
local base, st = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[3])
local set = base .. 'st:' .. st
local ms
if st == 'pending' then
  ms = redis.call('ZRANGE', set, 0, -1)
else
  ms = redis.call('ZRANGEBYSCORE', set, '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[4]))
end
local n = 0
for _, m in ipairs(ms) do
  local k = base .. 'e:' .. m
  local v = redis.call('HMGET', k, 'ro', 'u')
  if st ~= 'pending' or (v[2] and tonumber(v[2]) <= cutoff) then
    redis.call('DEL', k)
    redis.call('ZREM', set, m)
    redis.call('ZREM', base .. 'recv', m)
    if v[1] then redis.call('ZREM', base .. 'due:' .. v[1], m) end
    n = n + 1
  end
end
return n
";

static ACCEPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ACCEPT_LUA));
static LEASE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(LEASE_LUA));
static SETTLE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SETTLE_LUA));
static REQUEUE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(REQUEUE_LUA));
static PURGE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(PURGE_LUA));

/// An operation got no answer within the response timeout.
#[derive(Debug, thiserror::Error)]
#[error("redis did not answer within {0:?}")]
struct NoAnswer(Duration);

/// The prefix is unusable.
#[derive(Debug, thiserror::Error)]
#[error("redis inbox prefix: {0}")]
struct BadPrefix(&'static str);

/// What the server said about persistence at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RedisPersistence {
    /// `appendonly` (from `CONFIG GET`, else `INFO persistence`'s `aof_enabled`); `None`
    /// when neither could be read.
    pub aof: Option<bool>,
    /// `appendfsync` (`always`, `everysec`, `no`) when `CONFIG GET` is allowed.
    pub appendfsync: Option<String>,
}

/// Builds a [`RedisInbox`].
#[must_use]
pub struct RedisInboxBuilder {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    create: bool,
}

impl fmt::Debug for RedisInboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: not printed.
        f.debug_struct("RedisInboxBuilder")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisInboxBuilder {
    /// The inbox's name in Redis (default [`DEFAULT_REDIS_INBOX_PREFIX`]): every key is
    /// `{<prefix>}:…`, one Redis Cluster hash tag. 1–128 bytes, no braces, no whitespace.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bound on establishing a connection (default [`DEFAULT_REDIS_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on every operation, including a wait for a reconnection (default
    /// [`DEFAULT_REDIS_RESPONSE_TIMEOUT`]). Keep it below the sender's timeout.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Whether [`open`](Self::open) marks the inbox as created (`{prefix}:meta`, default
    /// `true`). With `false` (inspection tools) nothing is written; see
    /// [`RedisInbox::exists`].
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Connects, loads the scripts, checks the layout version and the server's persistence
    /// (logging a warning when `appendonly` is off).
    ///
    /// # Errors
    /// [`InboxError`] with [`InboxOp::Open`] for a bad URL or prefix, an unreachable server,
    /// or an inbox written by a newer countersign.
    pub async fn open(self) -> Result<RedisInbox, InboxError> {
        let open = |e: redis::RedisError| InboxError::backend(InboxOp::Open, e);
        check_prefix(&self.prefix).map_err(|e| InboxError::backend(InboxOp::Open, e))?;
        for t in [self.connect_timeout, self.response_timeout] {
            if t.is_zero() || t > Duration::from_secs(60) {
                return Err(InboxError::backend(
                    InboxOp::Open,
                    BadPrefix("timeouts must be between 1 ms and 60 s"),
                ));
            }
        }
        let client = redis::Client::open(self.url.as_str()).map_err(open)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conn = tokio::time::timeout(
            self.connect_timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| InboxError::backend(InboxOp::Open, NoAnswer(self.connect_timeout)))?
        .map_err(open)?;
        let inbox = RedisInbox {
            conn,
            base: format!("{{{}}}:", self.prefix).into(),
            prefix: self.prefix.into(),
            timeout: self.response_timeout,
            wakeup: Arc::new(Notify::new()),
            persistence: RedisPersistence::default(),
        };
        let mut inbox = inbox;
        // Loaded now so that an accept is one EVALSHA from the first request on.
        for script in [&*ACCEPT, &*LEASE, &*SETTLE, &*REQUEUE, &*PURGE] {
            let mut conn = inbox.conn.clone();
            inbox
                .bounded(InboxOp::Open, script.prepare_invoke().load_async(&mut conn))
                .await?;
        }
        let meta = format!("{}meta", inbox.base);
        let mut conn = inbox.conn.clone();
        let version: Option<i64> = inbox
            .bounded(
                InboxOp::Open,
                redis::cmd("HGET")
                    .arg(&meta)
                    .arg("version")
                    .query_async(&mut conn),
            )
            .await?;
        if version.is_some_and(|v| v > LAYOUT_VERSION) {
            return Err(InboxError::Corrupt {
                op: InboxOp::Open,
                what: "the inbox was written by a newer countersign (layout version)",
            });
        }
        if self.create && version.is_none() {
            let _: () = inbox
                .bounded(
                    InboxOp::Open,
                    redis::cmd("HSET")
                        .arg(&meta)
                        .arg("version")
                        .arg(LAYOUT_VERSION)
                        .query_async(&mut conn),
                )
                .await?;
        }
        inbox.persistence = inbox.read_persistence().await;
        match (
            &inbox.persistence.aof,
            inbox.persistence.appendfsync.as_deref(),
        ) {
            (Some(false), _) => tracing::warn!(
                target: "countersign::inbox",
                prefix = %inbox.prefix,
                "redis runs with appendonly no: an acknowledged event lives only in Redis's memory (and the next RDB snapshot, if any) — a Redis restart or crash LOSES acknowledged events. Set `appendonly yes` with `appendfsync everysec` (at most ~1 s of acknowledged events lost on an OS crash or power loss) or `always` (none)"
            ),
            (None, _) => tracing::warn!(
                target: "countersign::inbox",
                prefix = %inbox.prefix,
                "cannot tell whether redis persists its writes (CONFIG GET and INFO persistence refused): without `appendonly yes` a Redis restart loses acknowledged events"
            ),
            (Some(true), Some("no")) => tracing::warn!(
                target: "countersign::inbox",
                prefix = %inbox.prefix,
                "redis runs with appendfsync no: the OS decides when the AOF reaches the disk — an OS crash or power loss can lose ~30 s of acknowledged events; a Redis crash alone loses none"
            ),
            _ => {}
        }
        Ok(inbox)
    }
}

fn check_prefix(prefix: &str) -> Result<(), BadPrefix> {
    if prefix.is_empty() || prefix.len() > 128 {
        return Err(BadPrefix("must be 1 to 128 bytes"));
    }
    if prefix
        .chars()
        .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        return Err(BadPrefix("no braces, whitespace or control characters"));
    }
    Ok(())
}

/// The durable, shared inbox on one Redis node (≥ 6.2): several receivers (proxies, apps)
/// on one Redis share the queue — each event is leased by one of them at a time. See the
/// [crate docs](crate#redis) for the layout, the clock and what AOF settings mean for an
/// acknowledged event.
///
/// Cheap to clone: one multiplexed connection that reconnects in the background; every
/// operation is bounded by the response timeout (then [`InboxError`]: the accept service
/// answers `503` + `Retry-After`).
///
/// ```no_run
/// use countersign_inbox::{Accepted, EventKey, Inbox, NewEvent, RedisInbox};
///
/// # async fn run() -> Result<(), countersign_inbox::InboxError> {
/// let inbox = RedisInbox::builder("redis://127.0.0.1:6379/")
///     .prefix("myapp:webhooks")
///     .open()
///     .await?;
/// let event = NewEvent::new(EventKey::new("github", "d-1"), "github", Default::default(), "{}".into());
/// assert_eq!(inbox.accept(&event).await?, Accepted::Stored); // one EVALSHA
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisInbox {
    conn: ConnectionManager,
    /// `{prefix}:`
    base: Arc<str>,
    prefix: Arc<str>,
    timeout: Duration,
    wakeup: Arc<Notify>,
    persistence: RedisPersistence,
}

impl fmt::Debug for RedisInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInbox")
            .field("prefix", &self.prefix)
            .field("response_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisInbox {
    /// Configures an inbox on the server at `url` (`redis://[user:password@]host:port/[db]`).
    pub fn builder(url: impl Into<String>) -> RedisInboxBuilder {
        RedisInboxBuilder {
            url: url.into(),
            prefix: DEFAULT_REDIS_INBOX_PREFIX.to_owned(),
            connect_timeout: DEFAULT_REDIS_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_REDIS_RESPONSE_TIMEOUT,
            create: true,
        }
    }

    /// Opens the inbox at `url` with the defaults.
    ///
    /// # Errors
    /// As [`RedisInboxBuilder::open`].
    pub async fn open(url: impl Into<String>) -> Result<Self, InboxError> {
        Self::builder(url).open().await
    }

    /// The prefix (the hash tag of every key).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What the server said about persistence when the inbox was opened.
    #[must_use]
    pub fn persistence(&self) -> &RedisPersistence {
        &self.persistence
    }

    /// Whether an inbox with this prefix was ever opened for writing on the server.
    ///
    /// # Errors
    /// [`InboxError`] when the server cannot answer.
    pub async fn exists(&self) -> Result<bool, InboxError> {
        let mut conn = self.conn.clone();
        let n: i64 = self
            .bounded(
                InboxOp::Read,
                redis::cmd("EXISTS")
                    .arg(format!("{}meta", self.base))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(n > 0)
    }

    async fn bounded<T>(
        &self,
        op: InboxOp,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, InboxError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(InboxError::backend(op, e)),
            Err(_) => Err(InboxError::backend(op, NoAnswer(self.timeout))),
        }
    }

    async fn read_persistence(&self) -> RedisPersistence {
        let mut conn = self.conn.clone();
        let get = |name: &'static str| {
            let mut conn = conn.clone();
            async move {
                let r: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async(&mut conn)
                    .await;
                r.ok().and_then(|v| v.get(1).cloned())
            }
        };
        let aof = self
            .bounded(InboxOp::Open, async { Ok(get("appendonly").await) })
            .await
            .ok()
            .flatten();
        let appendfsync = self
            .bounded(InboxOp::Open, async { Ok(get("appendfsync").await) })
            .await
            .ok()
            .flatten();
        let aof = match aof {
            Some(v) => Some(v.eq_ignore_ascii_case("yes")),
            None => {
                let info: Option<String> = self
                    .bounded(
                        InboxOp::Open,
                        redis::cmd("INFO").arg("persistence").query_async(&mut conn),
                    )
                    .await
                    .ok();
                info.and_then(|i| {
                    i.lines()
                        .find_map(|l| l.trim().strip_prefix("aof_enabled:"))
                        .map(|v| v.trim() == "1")
                })
            }
        };
        RedisPersistence { aof, appendfsync }
    }

    fn key(&self, what: &str) -> String {
        format!("{}{what}", self.base)
    }

    fn event_key(&self, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.base.len() + 2 + member.len());
        k.extend_from_slice(self.base.as_bytes());
        k.extend_from_slice(b"e:");
        k.extend_from_slice(member);
        k
    }

    /// Reads full events by member, in the given order; missing ones are skipped.
    async fn fetch(&self, op: InboxOp, members: &[Vec<u8>]) -> Result<Vec<Event>, InboxError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for m in members {
            pipe.cmd("HMGET").arg(self.event_key(m)).arg(&FIELDS[..]);
        }
        let mut conn = self.conn.clone();
        let rows: Vec<Vec<Option<Vec<u8>>>> = self.bounded(op, pipe.query_async(&mut conn)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(e) = decode_event(op, row)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    async fn settle(
        &self,
        lease: &Lease,
        action: &str,
        delay_ms: u64,
        error: Option<&LastError>,
    ) -> Result<Fenced, InboxError> {
        let mut inv = SETTLE.prepare_invoke();
        inv.arg(&*self.base)
            .arg(member(lease.key()))
            .arg(lease.key().route())
            .arg(lease.token().to_string())
            .arg(action)
            .arg(delay_ms)
            .arg(
                error
                    .and_then(LastError::status)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            )
            .arg(error.map(LastError::reason).unwrap_or_default());
        let mut conn = self.conn.clone();
        let n: i64 = self
            .bounded(InboxOp::Settle, inv.invoke_async(&mut conn))
            .await?;
        Ok(if n == 1 {
            Fenced::Applied
        } else {
            Fenced::Stale
        })
    }
}

/// The set member (and event hash suffix) of `key`: `<route length>:<route><id>`, so that no
/// two (route, id) pairs share a member whatever bytes they hold.
fn member(key: &EventKey) -> Vec<u8> {
    let mut m = format!("{}:{}", key.route().len(), key.route()).into_bytes();
    m.extend_from_slice(key.id().as_bytes());
    m
}

fn corrupt(op: InboxOp, what: &'static str) -> InboxError {
    InboxError::Corrupt { op, what }
}

fn text(op: InboxOp, v: Option<Vec<u8>>) -> Result<String, InboxError> {
    String::from_utf8(v.ok_or_else(|| corrupt(op, "an event field is missing"))?)
        .map_err(|_| corrupt(op, "an event field is not UTF-8"))
}

fn number(op: InboxOp, v: Option<Vec<u8>>) -> Result<i64, InboxError> {
    let s = text(op, v)?;
    s.parse::<i64>()
        .or_else(|_| s.parse::<f64>().map(|f| f as i64))
        .map_err(|_| corrupt(op, "an event field is not a number"))
}

/// An event from the [`FIELDS`] of its hash; `None` when the hash does not exist.
fn decode_event(op: InboxOp, row: Vec<Option<Vec<u8>>>) -> Result<Option<Event>, InboxError> {
    if row.len() != FIELDS.len() {
        return Err(corrupt(op, "an unexpected reply"));
    }
    if row.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut it = row.into_iter();
    let mut next = || it.next().flatten();
    let route = text(op, next())?;
    let id = text(op, next())?;
    let preset = text(op, next())?;
    let target = text(op, next())?;
    let received = number(op, next())?;
    let headers = decode_headers(&next().unwrap_or_default())
        .ok_or_else(|| corrupt(op, "undecodable headers"))?;
    let body = Bytes::from(next().unwrap_or_default());
    let state: State = text(op, next())?
        .parse()
        .map_err(|_| corrupt(op, "an unknown state"))?;
    let attempts = number(op, next())?;
    let next_at = number(op, next())?;
    let status = next().and_then(|s| String::from_utf8(s).ok());
    let reason = next().and_then(|s| String::from_utf8(s).ok());
    Ok(Some(Event {
        key: EventKey::new(route, id),
        preset,
        target,
        received_at: from_ms(received),
        headers,
        body,
        state,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: from_ms(next_at),
        last_error: reason.map(|r| LastError::new(status.and_then(|s| s.parse::<u16>().ok()), r)),
    }))
}

fn bulk(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

/// The lease script's reply: `{now, {{token, fields…}, …}}`.
fn decode_leased(reply: Value, deadline: SystemTime) -> Result<Vec<Leased>, InboxError> {
    let op = InboxOp::Lease;
    let bad = || corrupt(op, "an unexpected reply to lease");
    let Value::Array(top) = reply else {
        return Err(bad());
    };
    let mut top = top.into_iter();
    let _server_now = top.next().as_ref().and_then(int).ok_or_else(bad)?;
    let Some(Value::Array(items)) = top.next() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else {
            return Err(bad());
        };
        let mut pair = pair.into_iter();
        let token = pair.next().as_ref().and_then(int).ok_or_else(bad)?;
        let Some(Value::Array(fields)) = pair.next() else {
            return Err(bad());
        };
        let row: Vec<Option<Vec<u8>>> = fields.into_iter().map(bulk).collect();
        let Some(event) = decode_event(op, row)? else {
            continue;
        };
        out.push(Leased {
            lease: Lease::new(
                event.key.clone(),
                u64::try_from(token).unwrap_or(0),
                deadline,
            ),
            event,
        });
    }
    Ok(out)
}

/// `ZCARD` per state, then the oldest pending member with its score.
type StatsReply = (u64, u64, u64, u64, Vec<(Vec<u8>, f64)>);

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2)
}

impl Inbox for RedisInbox {
    fn accept<'a>(&'a self, event: &'a NewEvent) -> InboxFuture<'a, Accepted> {
        Box::pin(async move {
            let m = member(event.key());
            let route = event.key().route();
            let mut inv = ACCEPT.key(self.event_key(&m));
            inv.key(self.key(&format!("due:{route}")))
                .key(self.key("st:pending"))
                .key(self.key("recv"))
                .key(self.key("routes"))
                .arg(&m)
                .arg(route)
                .arg(event.key().id())
                .arg(&event.preset)
                .arg(&event.target)
                .arg(to_ms(event.received_at))
                .arg(encode_headers(&event.headers))
                .arg(&event.body[..]);
            let mut conn = self.conn.clone();
            let n: i64 = self
                .bounded(InboxOp::Accept, inv.invoke_async(&mut conn))
                .await?;
            if n == 1 {
                self.wakeup.notify_waiters();
                Ok(Accepted::Stored)
            } else {
                Ok(Accepted::Duplicate)
            }
        })
    }

    fn lease<'a>(&'a self, request: &'a LeaseRequest) -> InboxFuture<'a, Vec<Leased>> {
        Box::pin(async move {
            if request.max == 0 {
                return Ok(Vec::new());
            }
            let mut inv = LEASE.prepare_invoke();
            inv.arg(&*self.base)
                .arg(request.max)
                .arg(ms(request.lease))
                .arg(if request.route.is_some() { "1" } else { "0" })
                .arg(request.route.as_deref().unwrap_or(""));
            // The worker's budget is measured on this process's clock: the deadline it is
            // given is `now + lease` taken *before* the request is sent, never later than
            // the deadline the server stored and fences with, whatever the two clocks say.
            let deadline = add(SystemTime::now(), request.lease);
            let mut conn = self.conn.clone();
            let reply: Value = self
                .bounded(InboxOp::Lease, inv.invoke_async(&mut conn))
                .await?;
            decode_leased(reply, deadline)
        })
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> InboxFuture<'a, Fenced> {
        Box::pin(self.settle(lease, "done", 0, None))
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        at: SystemTime,
        error: &'a LastError,
    ) -> InboxFuture<'a, Fenced> {
        Box::pin(async move {
            // Sent as a delay: the due time is the server's clock + the delay (rounded up),
            // so a skewed client clock shifts nothing.
            let delay = at.duration_since(SystemTime::now()).unwrap_or_default();
            let delay_ms = ms(delay) + u64::from(!delay.subsec_nanos().is_multiple_of(1_000_000));
            let r = self.settle(lease, "retry", delay_ms, Some(error)).await?;
            if r == Fenced::Applied {
                self.wakeup.notify_waiters();
            }
            Ok(r)
        })
    }

    fn dead<'a>(&'a self, lease: &'a Lease, error: &'a LastError) -> InboxFuture<'a, Fenced> {
        Box::pin(self.settle(lease, "dead", 0, Some(error)))
    }

    fn requeue<'a>(&'a self, which: &'a Requeue) -> InboxFuture<'a, u64> {
        Box::pin(async move {
            let mut inv = REQUEUE.prepare_invoke();
            inv.arg(&*self.base);
            match which {
                Requeue::Events(keys) => {
                    if keys.is_empty() {
                        return Ok(0);
                    }
                    inv.arg("keys");
                    for k in keys {
                        inv.arg(member(k));
                    }
                }
                Requeue::State(state) => {
                    inv.arg("state").arg(state.as_str());
                }
            }
            let mut conn = self.conn.clone();
            let n: i64 = self
                .bounded(InboxOp::Requeue, inv.invoke_async(&mut conn))
                .await?;
            if n > 0 {
                self.wakeup.notify_waiters();
            }
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for s in State::ALL {
                pipe.cmd("ZCARD")
                    .arg(self.key(&format!("st:{}", s.as_str())));
            }
            pipe.cmd("ZRANGE")
                .arg(self.key("st:pending"))
                .arg(0)
                .arg(0)
                .arg("WITHSCORES");
            let mut conn = self.conn.clone();
            let reply: StatsReply = self
                .bounded(InboxOp::Read, pipe.query_async(&mut conn))
                .await?;
            let (pending, in_flight, done, dead, oldest) = reply;
            Ok(InboxStats {
                pending,
                in_flight,
                done,
                dead,
                oldest_pending: oldest.first().map(|(_, score)| from_ms(*score as i64)),
            })
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> InboxFuture<'a, Vec<Event>> {
        Box::pin(async move {
            let limit = query.effective_limit();
            let keep = |e: &Event| {
                query.state.is_none_or(|s| e.state == s)
                    && query.route.as_deref().is_none_or(|r| e.route() == r)
                    && query.id.as_deref().is_none_or(|i| e.id() == i)
            };
            if let Some(id) = &query.id {
                // One candidate per route: no scan.
                let routes: Vec<String> = match &query.route {
                    Some(r) => vec![r.clone()],
                    None => {
                        let mut conn = self.conn.clone();
                        self.bounded(
                            InboxOp::Read,
                            redis::cmd("SMEMBERS")
                                .arg(self.key("routes"))
                                .query_async(&mut conn),
                        )
                        .await?
                    }
                };
                let members: Vec<Vec<u8>> = routes
                    .iter()
                    .map(|r| member(&EventKey::new(r.as_str(), id.as_str())))
                    .collect();
                let mut events = self.fetch(InboxOp::Read, &members).await?;
                events.retain(keep);
                events.sort_by(|a, b| (a.received_at, &a.key).cmp(&(b.received_at, &b.key)));
                events.truncate(limit);
                return Ok(events);
            }
            let mut out = Vec::new();
            let mut offset = 0usize;
            while out.len() < limit {
                let mut conn = self.conn.clone();
                let page: Vec<Vec<u8>> = self
                    .bounded(
                        InboxOp::Read,
                        redis::cmd("ZRANGE")
                            .arg(self.key("recv"))
                            .arg(offset)
                            .arg(offset + LIST_PAGE - 1)
                            .query_async(&mut conn),
                    )
                    .await?;
                let n = page.len();
                offset += n;
                let events = self.fetch(InboxOp::Read, &page).await?;
                out.extend(events.into_iter().filter(|e| keep(e)));
                if n < LIST_PAGE {
                    break;
                }
            }
            out.truncate(limit);
            Ok(out)
        })
    }

    fn show<'a>(&'a self, key: &'a EventKey) -> InboxFuture<'a, Option<Event>> {
        Box::pin(async move { Ok(self.fetch(InboxOp::Read, &[member(key)]).await?.pop()) })
    }

    fn purge(&self, state: State, older_than: Duration) -> InboxFuture<'_, u64> {
        Box::pin(async move {
            let mut total = 0u64;
            loop {
                let mut inv = PURGE.prepare_invoke();
                inv.arg(&*self.base)
                    .arg(state.as_str())
                    .arg(ms(older_than))
                    .arg(PURGE_BATCH);
                let mut conn = self.conn.clone();
                let n: i64 = self
                    .bounded(InboxOp::Purge, inv.invoke_async(&mut conn))
                    .await?;
                let n = u64::try_from(n).unwrap_or(0);
                total += n;
                if state == State::Pending || n < PURGE_BATCH as u64 {
                    return Ok(total);
                }
            }
        })
    }

    fn wakeup(&self) -> Option<&Notify> {
        Some(&self.wakeup)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn members_never_collide() {
        let a = member(&EventKey::new("ab", "c"));
        let b = member(&EventKey::new("a", "bc"));
        assert_ne!(a, b);
        assert_eq!(a, b"2:abc");
        assert_eq!(member(&EventKey::new("", "x")), b"0:x");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("countersign:inbox").is_ok());
        for bad in ["", "a{b", "a}b", "a b", "a\nb"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(check_prefix(&"x".repeat(129)).is_err());
    }

    #[test]
    fn odd_replies_are_corrupt_not_panics() {
        assert!(decode_event(InboxOp::Read, vec![None; 3]).is_err());
        assert!(
            decode_event(InboxOp::Read, vec![None; 12])
                .unwrap()
                .is_none()
        );
        let mut row: Vec<Option<Vec<u8>>> = vec![Some(b"x".to_vec()); 12];
        row[7] = Some(b"weird".to_vec());
        assert!(decode_event(InboxOp::Read, row).is_err());
        assert!(decode_leased(Value::Nil, SystemTime::now()).is_err());
        assert!(
            decode_leased(
                Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Int(3)])]),
                SystemTime::now()
            )
            .is_err()
        );
    }
}
