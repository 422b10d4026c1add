//! [`PostgresInbox`]: one table in a schema of its own, shared by any number of receivers;
//! group-committed accepts, `FOR UPDATE SKIP LOCKED` leases, versioned migrations, and the
//! transactional inbox ([`PostgresInbox::transactional`]).
//!
//! The rationale (driver, times, durability, migrations) is in the crate docs, section
//! "PostgreSQL".

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::{
    Accepted, Fenced, Inbox, InboxFuture, InboxStats, Lease, LeaseRequest, Leased, ListQuery,
    Requeue,
};
use crate::error::{InboxError, InboxOp};
use crate::event::{Event, EventKey, LastError, NewEvent, State, decode_headers, encode_headers};
use crate::worker::{Delivery, Failure, Handler, HandlerFuture};

/// The schema the inbox creates its tables in unless told otherwise: `countersign_inbox`.
pub const DEFAULT_SCHEMA: &str = "countersign_inbox";
/// Most connections one [`PostgresInbox`] opens: 16.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// Connect, pool-wait and statement timeout: 5 s. An operation that cannot finish in time
/// fails with an [`InboxError`] (the accept service answers `503`).
pub const DEFAULT_PG_TIMEOUT: Duration = Duration::from_secs(5);
/// Tasks writing accepted events, each one multi-row `INSERT` per batch: 4.
pub const DEFAULT_WRITERS: usize = 4;
/// The most events in one accept batch: 512.
pub const DEFAULT_PG_GROUP_MAX: usize = 512;

/// The schema version this build writes; a database at a newer version is refused.
pub const SCHEMA_VERSION: i32 = 2;

/// First key of the advisory lock that serialises migrations (the second is the schema
/// name's hash): "cs" + "in".
const MIGRATION_LOCK: i32 = 0x6373_696e;

/// Versioned migrations, applied in order, each once, in one transaction under the advisory
/// lock. `{s}` is the quoted schema name. Never edit a released migration: add one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "events table, due index, lease token sequence",
        r"
CREATE SEQUENCE {s}.lease_tokens AS bigint;
CREATE TABLE {s}.events (
    route        bytea       NOT NULL,
    id           bytea       NOT NULL,
    preset       text        NOT NULL,
    target       text        NOT NULL,
    received_at  timestamptz NOT NULL,
    headers      bytea       NOT NULL,
    body         bytea       NOT NULL,
    state        text        NOT NULL CHECK (state IN ('pending', 'in_flight', 'done', 'dead')),
    attempts     integer     NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    token        bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL,
    error_status integer,
    error_reason text,
    PRIMARY KEY (route, id)
);
CREATE INDEX events_due ON {s}.events (next_at) WHERE state IN ('pending', 'in_flight');
CREATE INDEX events_state ON {s}.events (state, updated_at);
CREATE INDEX events_received ON {s}.events (received_at, route, id);
",
    ),
    (
        2,
        "due index per route",
        // A worker leases for its own route (`LeaseRequest::route`). With only `events_due`
        // the custom plan combined it with the primary key in a bitmap, read every due row
        // of the route and sorted them on each lease: 64 ms at 38 000 pending rows, against
        // 0.07 ms through this index (EXPLAIN ANALYZE); the proxy drained ~200 events/s.
        r"
CREATE INDEX events_due_route ON {s}.events (route, next_at) WHERE state IN ('pending', 'in_flight');
",
    ),
];

const COLUMNS: &str = "route, id, preset, target, received_at, headers, body, state, attempts, next_at, error_status, error_reason";

/// Builds a [`PostgresInbox`]; everything is checked by [`open`](Self::open).
#[derive(Clone)]
pub struct PostgresInboxBuilder {
    conninfo: Result<String, tokio_postgres::Config>,
    schema: Option<String>,
    pool_size: usize,
    timeout: Duration,
    writers: usize,
    group_max: usize,
}

impl fmt::Debug for PostgresInboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold a password: never printed.
        f.debug_struct("PostgresInboxBuilder")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("writers", &self.writers)
            .field("group_max", &self.group_max)
            .finish_non_exhaustive()
    }
}

impl PostgresInboxBuilder {
    /// The schema holding the inbox's tables (default: the URL's `schema` parameter, else
    /// [`DEFAULT_SCHEMA`]): lowercase letters, digits and `_`, at most 63 bytes, not
    /// starting with a digit or `pg_`.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Most connections (default [`DEFAULT_POOL_SIZE`]; at least `writers + 1`).
    #[must_use]
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n;
        self
    }

    /// Connect, pool-wait and statement timeout (default [`DEFAULT_PG_TIMEOUT`]; 100 ms to
    /// 10 min).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Tasks writing accept batches concurrently (default [`DEFAULT_WRITERS`]).
    #[must_use]
    pub fn writers(mut self, n: usize) -> Self {
        self.writers = n;
        self
    }

    /// The most events in one accept batch (default [`DEFAULT_PG_GROUP_MAX`]).
    #[must_use]
    pub fn group_max(mut self, n: usize) -> Self {
        self.group_max = n;
        self
    }

    /// Checks the connection string and the schema name without connecting.
    ///
    /// # Errors
    /// [`InboxError`] with [`InboxOp::Open`], as [`open`](Self::open) would.
    pub fn check(&self) -> Result<(), InboxError> {
        let open = |what: String| InboxError::backend(InboxOp::Open, ConfigError(what));
        let url_schema = match &self.conninfo {
            Ok(text) => parse_conninfo(text).map_err(open)?.1,
            Err(_) => None,
        };
        let schema = self.schema.clone().or(url_schema);
        check_schema(schema.as_deref().unwrap_or(DEFAULT_SCHEMA)).map_err(open)
    }

    /// Connects, applies the migrations this build knows (idempotent; serialised by an
    /// advisory lock, so several receivers may start at once), starts the accept writers.
    ///
    /// # Errors
    /// [`InboxError`] with [`InboxOp::Open`]: an unusable URL or setting, the server
    /// unreachable, the role lacking the rights to create the schema (when it is missing or
    /// behind), or a schema written by a newer countersign.
    pub async fn open(self) -> Result<PostgresInbox, InboxError> {
        let open = |what: String| InboxError::backend(InboxOp::Open, ConfigError(what));
        let (mut config, url_schema) = match self.conninfo {
            Ok(text) => parse_conninfo(&text).map_err(open)?,
            Err(config) => (config, None),
        };
        let schema = self
            .schema
            .or(url_schema)
            .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
        check_schema(&schema).map_err(open)?;
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&self.timeout) {
            return Err(open(format!(
                "timeout must be between 100ms and 10min, got {:?}",
                self.timeout
            )));
        }
        let writers = self.writers.max(1);
        let pool_size = self.pool_size.max(writers + 1);
        let group_max = self.group_max.max(1);
        if config.get_application_name().is_none() {
            config.application_name("countersign-inbox");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.timeout);
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        // Server-side bounds for every statement of the inbox's sessions, and every commit
        // waits for the WAL flush whatever the server's default.
        let mut options = config.get_options().unwrap_or("").to_owned();
        options.push_str(&format!(
            " -c statement_timeout={} -c synchronous_commit=on",
            self.timeout.as_millis()
        ));
        config.options(options.trim());
        let display = describe(&config, &schema);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(|e| open(e.to_string()))?;
        let sql = Arc::new(Sql::new(&schema));
        let op_timeout = self.timeout * 2 + Duration::from_secs(1);
        tokio::time::timeout(op_timeout * 2, migrate(&pool, &schema))
            .await
            .map_err(|_| timed_out(InboxOp::Open))??;

        let (tx, rx) = mpsc::channel(group_max * writers * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(writer(
                Arc::clone(&rx),
                pool.clone(),
                Arc::clone(&sql),
                group_max,
            ));
        }
        Ok(PostgresInbox {
            inner: Arc::new(Inner {
                pool,
                sql,
                accepts: tx,
                display,
                schema,
                op_timeout,
                wakeup: Notify::new(),
            }),
        })
    }
}

/// A URL or setting the inbox cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigError(String);

/// An operation that did not finish within its bound.
#[derive(Debug, thiserror::Error)]
#[error("postgres: no answer within the timeout")]
struct TimedOut;

/// An accept batch failed; every accept in it gets this.
#[derive(Debug, thiserror::Error)]
#[error("postgres: accept batch not stored: {0}")]
struct BatchFailed(String);

fn timed_out(op: InboxOp) -> InboxError {
    InboxError::backend(op, TimedOut)
}

/// Splits our own `schema` parameter off a `postgres://` / `postgresql://` URL and parses the
/// rest (URL or `key=value` form) with the driver.
fn parse_conninfo(text: &str) -> Result<(tokio_postgres::Config, Option<String>), String> {
    let text = text.trim();
    let mut schema = None;
    let mut rest = text.to_owned();
    if (text.starts_with("postgres://") || text.starts_with("postgresql://"))
        && let Some((base, query)) = text.split_once('?')
    {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", v)) => schema = Some(v.to_owned()),
                _ => kept.push(pair),
            }
        }
        rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
    }
    // The driver's error names the offending part, never the password.
    let config = tokio_postgres::Config::from_str(&rest)
        .map_err(|e| format!("invalid PostgreSQL connection string: {e}"))?;
    Ok((config, schema))
}

fn check_schema(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && !s.starts_with("pg_")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid schema name `{s}`: lowercase letters, digits and _, at most 63 bytes, not starting with a digit or pg_"
        ))
    }
}

/// `postgres://user@host:port/db?schema=s` without the password.
fn describe(config: &tokio_postgres::Config, schema: &str) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let port = config
        .get_ports()
        .first()
        .map_or(String::new(), |p| format!(":{p}"));
    format!(
        "postgres://{}@{}{port}/{}?schema={schema}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Creates the schema when missing and applies every migration it has not seen yet, under
/// `pg_advisory_xact_lock` so that receivers starting at once take turns. Nothing runs DDL
/// when the schema is current.
async fn migrate(pool: &Pool, schema: &str) -> Result<(), InboxError> {
    fn open(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> InboxError {
        InboxError::backend(InboxOp::Open, e)
    }
    let mut client = pool.get().await.map_err(open)?;
    let quoted = format!("\"{schema}\"");
    let newer = || InboxError::Corrupt {
        op: InboxOp::Open,
        what: "the schema was written by a newer countersign (schema_version)",
    };
    let version = schema_version(&**client, schema).await.map_err(open)?;
    if version > SCHEMA_VERSION {
        return Err(newer());
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = client.transaction().await.map_err(open)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&MIGRATION_LOCK, &schema],
    )
    .await
    .map_err(open)?;
    let has_schema = tx
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .await
        .map_err(open)?
        .is_some();
    if !has_schema {
        tx.batch_execute(&format!("CREATE SCHEMA {quoted}"))
            .await
            .map_err(open)?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {quoted}.schema_version (
            version     integer     PRIMARY KEY,
            description text        NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )"
    ))
    .await
    .map_err(open)?;
    // Under the lock: another receiver may have migrated while we waited.
    let version = schema_version(&*tx, schema).await.map_err(open)?;
    if version > SCHEMA_VERSION {
        return Err(newer());
    }
    for (v, description, sql) in MIGRATIONS.iter().filter(|(v, ..)| *v > version) {
        tx.batch_execute(&sql.replace("{s}", &quoted))
            .await
            .map_err(open)?;
        tx.execute(
            &format!("INSERT INTO {quoted}.schema_version (version, description) VALUES ($1, $2)"),
            &[v, description],
        )
        .await
        .map_err(open)?;
        tracing::info!(target: "countersign::inbox", schema, version = v, description, "postgres: migration applied");
    }
    tx.commit().await.map_err(open)
}

/// The latest migration applied to `schema` (0: none).
async fn schema_version<C: tokio_postgres::GenericClient>(
    c: &C,
    schema: &str,
) -> Result<i32, tokio_postgres::Error> {
    let exists = c
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = 'schema_version'",
            &[&schema],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(0);
    }
    let row = c
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM \"{schema}\".schema_version"),
            &[],
        )
        .await?;
    row.try_get(0)
}

/// The statements, with the schema name in them (built once).
struct Sql {
    insert: String,
    lease: String,
    complete: String,
    retry: String,
    dead: String,
    requeue_keys: String,
    requeue_state: String,
    stats: String,
    list: String,
    show: String,
    purge: String,
    /// Transactional inbox: lock the leased row (fencing check) for the handler's transaction.
    tx_lock: String,
    /// Transactional inbox: the done mark, fenced on the wall clock.
    tx_done: String,
}

/// `WHERE` the lease is current: same token, in flight, deadline not passed (server time).
const FENCE: &str =
    "route = $1 AND id = $2 AND token = $3 AND state = 'in_flight' AND next_at > now()";

impl Sql {
    fn new(schema: &str) -> Self {
        let t = format!("\"{schema}\".events");
        let seq = format!("\"{schema}\".lease_tokens");
        let returning = COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Sql {
            insert: format!(
                "INSERT INTO {t} (route, id, preset, target, received_at, headers, body, state, next_at, updated_at)
                 SELECT r, i, p, g, ra, h, b, 'pending', now(), now()
                 FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[], $7::bytea[])
                      AS u(r, i, p, g, ra, h, b)
                 ON CONFLICT (route, id) DO NOTHING
                 RETURNING route, id"
            ),
            // The locked rows are updated by `ctid` (a TID scan): joining `due` on the key
            // made the generic plan of the prepared statement (LIMIT unknown) hash-join a
            // sequential scan of the whole table on every lease — measured 18 ms at 20 000
            // rows against 0.9 ms. The rows are locked, so their ctid cannot change.
            lease: format!(
                "WITH due AS (
                    SELECT ctid FROM {t}
                    WHERE state IN ('pending', 'in_flight') AND next_at <= now()
                      AND ($2::bytea IS NULL OR route = $2)
                    ORDER BY next_at LIMIT $1
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE {t} e SET state = 'in_flight', attempts = e.attempts + 1,
                    next_at = now() + $3::float8 * interval '1 millisecond',
                    token = nextval('{seq}'), updated_at = now()
                 WHERE e.ctid = ANY (ARRAY(SELECT ctid FROM due))
                 RETURNING {returning}, e.token"
            ),
            complete: format!(
                "UPDATE {t} SET state = 'done', next_at = now(), updated_at = now() WHERE {FENCE}"
            ),
            retry: format!(
                "UPDATE {t} SET state = 'pending', next_at = now() + $4::float8 * interval '1 millisecond',
                 updated_at = now(), error_status = $5, error_reason = $6 WHERE {FENCE}"
            ),
            dead: format!(
                "UPDATE {t} SET state = 'dead', next_at = now(), updated_at = now(),
                 error_status = $4, error_reason = $5 WHERE {FENCE}"
            ),
            requeue_keys: format!(
                "UPDATE {t} SET state = 'pending', attempts = 0, next_at = now(), token = 0, updated_at = now()
                 WHERE NOT (state = 'in_flight' AND next_at > now())
                   AND (route, id) IN (SELECT * FROM unnest($1::bytea[], $2::bytea[]))"
            ),
            requeue_state: format!(
                "UPDATE {t} SET state = 'pending', attempts = 0, next_at = now(), token = 0, updated_at = now()
                 WHERE NOT (state = 'in_flight' AND next_at > now()) AND state = $1"
            ),
            stats: format!(
                "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'in_flight'),
                        count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'dead'),
                        min(received_at) FILTER (WHERE state = 'pending')
                 FROM {t}"
            ),
            list: format!(
                "SELECT {COLUMNS} FROM {t} WHERE ($1::text IS NULL OR state = $1)
                 AND ($2::bytea IS NULL OR route = $2) AND ($3::bytea IS NULL OR id = $3)
                 ORDER BY received_at, route, id LIMIT $4"
            ),
            show: format!("SELECT {COLUMNS} FROM {t} WHERE route = $1 AND id = $2"),
            purge: format!(
                "DELETE FROM {t} WHERE state = $1 AND updated_at <= now() - $2::float8 * interval '1 millisecond'"
            ),
            tx_lock: format!(
                "SELECT 1 FROM {t} WHERE route = $1 AND id = $2 AND token = $3 AND state = 'in_flight'
                 AND next_at > clock_timestamp() FOR NO KEY UPDATE"
            ),
            tx_done: format!(
                "UPDATE {t} SET state = 'done', next_at = clock_timestamp(), updated_at = clock_timestamp()
                 WHERE route = $1 AND id = $2 AND token = $3 AND state = 'in_flight' AND next_at > clock_timestamp()"
            ),
        }
    }
}

/// One accept waiting for its batch.
struct Waiting {
    route: String,
    id: String,
    preset: String,
    target: String,
    received_at: SystemTime,
    headers: Vec<u8>,
    body: Bytes,
    reply: oneshot::Sender<Result<Accepted, InboxError>>,
}

/// An accept writer: takes every accept queued (up to `max`), writes them with one
/// multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` (one statement, one transaction,
/// one WAL flush), answers each once that returned. Several writers run at once, each on
/// its own connection, so that a batch fills while the previous one commits.
async fn writer(rx: Arc<Mutex<mpsc::Receiver<Waiting>>>, pool: Pool, sql: Arc<Sql>, max: usize) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(w) => batch.push(w),
                None => return,
            }
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(w) => batch.push(w),
                    Err(_) => break,
                }
            }
        }
        write_batch(&pool, &sql, batch).await;
    }
}

async fn write_batch(pool: &Pool, sql: &Sql, mut batch: Vec<Waiting>) {
    // One row per key, in key order: concurrent batches (also of other receivers) take the
    // unique-index locks in the same order and cannot deadlock. A copy in the same batch
    // waits for the first's answer and is a duplicate of it.
    batch.sort_by(|a, b| {
        (a.route.as_bytes(), a.id.as_bytes()).cmp(&(b.route.as_bytes(), b.id.as_bytes()))
    });
    let mut first = vec![true; batch.len()];
    for i in 1..batch.len() {
        if batch[i].route == batch[i - 1].route && batch[i].id == batch[i - 1].id {
            first[i] = false;
        }
    }
    let rows: Vec<&Waiting> = batch
        .iter()
        .zip(&first)
        .filter(|(_, f)| **f)
        .map(|(w, _)| w)
        .collect();
    let result = insert(pool, sql, &rows).await;
    let mut previous: Option<Result<Accepted, String>> = None;
    for (w, is_first) in batch.into_iter().zip(first) {
        let answer = match &result {
            Err(e) => Err(e.clone()),
            Ok(inserted) if is_first => Ok(
                if inserted.contains(&(w.route.as_bytes().to_vec(), w.id.as_bytes().to_vec())) {
                    Accepted::Stored
                } else {
                    Accepted::Duplicate
                },
            ),
            Ok(_) => match &previous {
                Some(Ok(_)) => Ok(Accepted::Duplicate),
                Some(Err(e)) => Err(e.clone()),
                None => Ok(Accepted::Duplicate),
            },
        };
        previous = Some(answer.clone());
        let _ = w
            .reply
            .send(answer.map_err(|e| InboxError::backend(InboxOp::Accept, BatchFailed(e))));
    }
}

type Key = (Vec<u8>, Vec<u8>);

async fn insert(pool: &Pool, sql: &Sql, rows: &[&Waiting]) -> Result<HashSet<Key>, String> {
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        crate::ErrorChain(e).to_string()
    }
    let client = pool.get().await.map_err(|e| chain(&e))?;
    let stmt = client
        .prepare_cached(&sql.insert)
        .await
        .map_err(|e| chain(&e))?;
    let routes: Vec<&[u8]> = rows.iter().map(|w| w.route.as_bytes()).collect();
    let ids: Vec<&[u8]> = rows.iter().map(|w| w.id.as_bytes()).collect();
    let presets: Vec<String> = rows.iter().map(|w| text(&w.preset)).collect();
    let targets: Vec<String> = rows.iter().map(|w| text(&w.target)).collect();
    let received: Vec<SystemTime> = rows.iter().map(|w| w.received_at).collect();
    let headers: Vec<&[u8]> = rows.iter().map(|w| &w.headers[..]).collect();
    let bodies: Vec<&[u8]> = rows.iter().map(|w| &w.body[..]).collect();
    let inserted = client
        .query(
            &stmt,
            &[
                &routes, &ids, &presets, &targets, &received, &headers, &bodies,
            ],
        )
        .await
        .map_err(|e| chain(&e))?;
    inserted
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(|e| chain(&e))
}

/// PostgreSQL `text` cannot hold NUL: replaced (presets, paths and reasons never carry one
/// legitimately; keys are `bytea` and kept exactly).
fn text(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

struct Inner {
    pool: Pool,
    sql: Arc<Sql>,
    accepts: mpsc::Sender<Waiting>,
    display: String,
    schema: String,
    op_timeout: Duration,
    wakeup: Notify,
}

/// The shared inbox: one table in a PostgreSQL schema of its own, any number of receivers
/// (proxies, workers, `countersign inbox`) on it at once. See the [crate
/// docs](crate#postgresql) for the mapping, the times, durability and migrations, and
/// [`transactional`](Self::transactional) for exactly-once effects in the same database.
///
/// ```no_run
/// use countersign_inbox::{Accepted, EventKey, Inbox, NewEvent, PostgresInbox};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let inbox = PostgresInbox::open("postgres://postgres@127.0.0.1:5432/app?schema=webhooks").await?;
/// let event = NewEvent::new(EventKey::new("github", "d-1"), "github", Default::default(), "{}".into());
/// assert_eq!(inbox.accept(&event).await?, Accepted::Stored); // committed before this returns
/// assert_eq!(inbox.accept(&event).await?, Accepted::Duplicate);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresInbox {
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresInbox")
            .field("database", &self.inner.display)
            .finish_non_exhaustive()
    }
}

impl PostgresInbox {
    /// A builder for the database at `conninfo`: a `postgres://` or `postgresql://` URL
    /// (with an optional `schema=NAME` parameter) or a `key=value` connection string.
    #[must_use]
    pub fn builder(conninfo: impl Into<String>) -> PostgresInboxBuilder {
        PostgresInboxBuilder::new(Ok(conninfo.into()))
    }

    /// A builder from a driver configuration.
    #[must_use]
    pub fn builder_from_config(config: tokio_postgres::Config) -> PostgresInboxBuilder {
        PostgresInboxBuilder::new(Err(config))
    }

    /// Opens the database at `conninfo` with the defaults.
    ///
    /// # Errors
    /// As [`PostgresInboxBuilder::open`].
    pub async fn open(conninfo: impl Into<String>) -> Result<Self, InboxError> {
        PostgresInbox::builder(conninfo).open().await
    }

    /// The schema holding the tables.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The database, without the password: `postgres://user@host:port/db?schema=s`.
    #[must_use]
    pub fn describe(&self) -> &str {
        &self.inner.display
    }

    /// A [`Handler`] for a [`Worker`](crate::Worker) on this inbox whose `handler` runs in
    /// the database transaction that marks the event done: its own writes and the done mark
    /// commit together or not at all — exactly-once *effects* for data in this database.
    ///
    /// Per attempt: `BEGIN`; lock the event's row if the lease is still this attempt's
    /// (else nothing runs: the attempt is stale); run `handler` with the transaction;
    /// on `Ok` mark the event done (fenced by the lease token and deadline) and `COMMIT`;
    /// on `Err`, a panic, a timeout or a crash anywhere before the commit, the transaction
    /// rolls back — none of the handler's writes happened — and the event is retried (or
    /// dead-lettered) as usual. The row lock keeps other receivers from delivering the event
    /// while the handler runs; `idle_in_transaction_session_timeout` is set to the lease, so
    /// a receiver that hangs inside the handler gives the event up when its lease ends.
    ///
    /// Effects *outside* the database (HTTP calls, e-mails) stay at least once.
    ///
    /// ```no_run
    /// use countersign_inbox::{PostgresInbox, Worker};
    /// use std::sync::Arc;
    ///
    /// # async fn demo(inbox: PostgresInbox) -> Result<(), Box<dyn std::error::Error>> {
    /// let handler = inbox.transactional(|d, tx| {
    ///     Box::pin(async move {
    ///         let event: serde_json::Value = d.json()?; // d: Delivery, tx: &Transaction
    ///         let order = event["data"]["object"]["metadata"]["order"].as_str().unwrap_or("");
    ///         tx.execute("UPDATE orders SET status = 'paid' WHERE id = $1", &[&order]).await?;
    ///         Ok(())
    ///     })
    /// });
    /// let worker = Worker::builder(Arc::new(inbox), handler).build()?;
    /// worker.run(std::future::pending()).await;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn transactional<H>(&self, handler: H) -> Transactional<H>
    where
        H: for<'t> Fn(Delivery, &'t tokio_postgres::Transaction<'t>) -> TxFuture<'t>
            + Send
            + Sync
            + 'static,
    {
        Transactional {
            inbox: self.clone(),
            handler: Arc::new(handler),
        }
    }

    fn bounded<'a, T: Send + 'a>(
        &'a self,
        op: InboxOp,
        f: impl Future<Output = Result<T, InboxError>> + Send + 'a,
    ) -> InboxFuture<'a, T> {
        let limit = self.inner.op_timeout;
        Box::pin(async move {
            tokio::time::timeout(limit, f)
                .await
                .map_err(|_| timed_out(op))?
        })
    }

    async fn client(&self, op: InboxOp) -> Result<deadpool_postgres::Object, InboxError> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| InboxError::backend(op, e))
    }

    /// Runs one statement (prepared once per connection) and returns the rows changed.
    async fn execute(
        &self,
        op: InboxOp,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, InboxError> {
        let client = self.client(op).await?;
        let stmt = client
            .prepare_cached(sql)
            .await
            .map_err(|e| InboxError::backend(op, e))?;
        client
            .execute(&stmt, params)
            .await
            .map_err(|e| InboxError::backend(op, e))
    }

    async fn query(
        &self,
        op: InboxOp,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, InboxError> {
        let client = self.client(op).await?;
        let stmt = client
            .prepare_cached(sql)
            .await
            .map_err(|e| InboxError::backend(op, e))?;
        client
            .query(&stmt, params)
            .await
            .map_err(|e| InboxError::backend(op, e))
    }

    async fn settle(
        &self,
        sql: &str,
        lease: &Lease,
        extra: &[&(dyn ToSql + Sync)],
    ) -> Result<Fenced, InboxError> {
        let Ok(token) = i64::try_from(lease.token()) else {
            return Ok(Fenced::Stale);
        };
        let route = lease.key().route().as_bytes();
        let id = lease.key().id().as_bytes();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&route, &id, &token];
        params.extend_from_slice(extra);
        let n = self.execute(InboxOp::Settle, sql, &params).await?;
        Ok(if n == 0 {
            Fenced::Stale
        } else {
            Fenced::Applied
        })
    }
}

impl PostgresInboxBuilder {
    fn new(conninfo: Result<String, tokio_postgres::Config>) -> Self {
        PostgresInboxBuilder {
            conninfo,
            schema: None,
            pool_size: DEFAULT_POOL_SIZE,
            timeout: DEFAULT_PG_TIMEOUT,
            writers: DEFAULT_WRITERS,
            group_max: DEFAULT_PG_GROUP_MAX,
        }
    }
}

fn corrupt(op: InboxOp, what: &'static str) -> InboxError {
    InboxError::Corrupt { op, what }
}

fn string(op: InboxOp, bytes: Vec<u8>) -> Result<String, InboxError> {
    String::from_utf8(bytes).map_err(|_| corrupt(op, "a key that is not UTF-8"))
}

fn event_of(op: InboxOp, row: &Row) -> Result<Event, InboxError> {
    let get = |_: tokio_postgres::Error| corrupt(op, "a column of an unexpected type");
    let headers: Vec<u8> = row.try_get(5).map_err(get)?;
    let headers = decode_headers(&headers).ok_or_else(|| corrupt(op, "undecodable headers"))?;
    let body: Vec<u8> = row.try_get(6).map_err(get)?;
    let state: String = row.try_get(7).map_err(get)?;
    let status: Option<i32> = row.try_get(10).map_err(get)?;
    let reason: Option<String> = row.try_get(11).map_err(get)?;
    Ok(Event {
        key: EventKey::new(
            string(op, row.try_get(0).map_err(get)?)?,
            string(op, row.try_get(1).map_err(get)?)?,
        ),
        preset: row.try_get(2).map_err(get)?,
        target: row.try_get(3).map_err(get)?,
        received_at: row.try_get(4).map_err(get)?,
        headers,
        body: Bytes::from(body),
        state: state.parse().map_err(|_| corrupt(op, "an unknown state"))?,
        attempts: u32::try_from(row.try_get::<_, i32>(8).map_err(get)?).unwrap_or(0),
        next_attempt_at: row.try_get(9).map_err(get)?,
        last_error: reason.map(|r| LastError::new(status.and_then(|s| u16::try_from(s).ok()), r)),
    })
}

/// Milliseconds from now until `at` (0 when past), as the server adds them to its `now()`.
fn ms_until(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::now())
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Inbox for PostgresInbox {
    fn accept<'a>(&'a self, event: &'a NewEvent) -> InboxFuture<'a, Accepted> {
        self.bounded(InboxOp::Accept, async move {
            let (reply, answer) = oneshot::channel();
            let waiting = Waiting {
                route: event.key.route().to_owned(),
                id: event.key.id().to_owned(),
                preset: event.preset.clone(),
                target: event.target.clone(),
                received_at: event.received_at,
                headers: encode_headers(&event.headers),
                body: event.body.clone(),
                reply,
            };
            self.inner
                .accepts
                .send(waiting)
                .await
                .map_err(|_| InboxError::Closed {
                    op: InboxOp::Accept,
                })?;
            let accepted = answer.await.map_err(|_| InboxError::Closed {
                op: InboxOp::Accept,
            })??;
            if accepted == Accepted::Stored {
                self.inner.wakeup.notify_waiters();
            }
            Ok(accepted)
        })
    }

    fn lease<'a>(&'a self, request: &'a LeaseRequest) -> InboxFuture<'a, Vec<Leased>> {
        self.bounded(InboxOp::Lease, async move {
            if request.max == 0 {
                return Ok(Vec::new());
            }
            let op = InboxOp::Lease;
            let max = i64::try_from(request.max).unwrap_or(i64::MAX);
            let route = request.route.as_deref().map(str::as_bytes);
            let ms = request.lease.as_secs_f64() * 1000.0;
            // The deadline handed to the worker is counted from before the request: never
            // later than the server's (same clock assumed; the fence uses the server's).
            let deadline = crate::event::add(SystemTime::now(), request.lease);
            let rows = self
                .query(op, &self.inner.sql.lease, &[&max, &route, &ms])
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let event = event_of(op, row)?;
                let token: i64 = row
                    .try_get(12)
                    .map_err(|_| corrupt(op, "a column of an unexpected type"))?;
                let lease = Lease::new(
                    event.key.clone(),
                    u64::try_from(token).unwrap_or(0),
                    deadline,
                );
                out.push(Leased { event, lease });
            }
            Ok(out)
        })
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> InboxFuture<'a, Fenced> {
        self.bounded(
            InboxOp::Settle,
            self.settle(&self.inner.sql.complete, lease, &[]),
        )
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        at: SystemTime,
        error: &'a LastError,
    ) -> InboxFuture<'a, Fenced> {
        self.bounded(InboxOp::Settle, async move {
            let ms = ms_until(at);
            let status = error.status().map(i32::from);
            let reason = text(error.reason());
            let r = self
                .settle(&self.inner.sql.retry, lease, &[&ms, &status, &reason])
                .await?;
            if r == Fenced::Applied {
                self.inner.wakeup.notify_waiters();
            }
            Ok(r)
        })
    }

    fn dead<'a>(&'a self, lease: &'a Lease, error: &'a LastError) -> InboxFuture<'a, Fenced> {
        self.bounded(InboxOp::Settle, async move {
            let status = error.status().map(i32::from);
            let reason = text(error.reason());
            self.settle(&self.inner.sql.dead, lease, &[&status, &reason])
                .await
        })
    }

    fn requeue<'a>(&'a self, which: &'a Requeue) -> InboxFuture<'a, u64> {
        self.bounded(InboxOp::Requeue, async move {
            let op = InboxOp::Requeue;
            let n = match which {
                Requeue::Events(keys) => {
                    let routes: Vec<&[u8]> = keys.iter().map(|k| k.route().as_bytes()).collect();
                    let ids: Vec<&[u8]> = keys.iter().map(|k| k.id().as_bytes()).collect();
                    self.execute(op, &self.inner.sql.requeue_keys, &[&routes, &ids])
                        .await?
                }
                Requeue::State(state) => {
                    self.execute(op, &self.inner.sql.requeue_state, &[&state.as_str()])
                        .await?
                }
            };
            if n > 0 {
                self.inner.wakeup.notify_waiters();
            }
            Ok(n)
        })
    }

    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        self.bounded(InboxOp::Read, async move {
            let op = InboxOp::Read;
            let rows = self.query(op, &self.inner.sql.stats, &[]).await?;
            let row = rows.first().ok_or_else(|| corrupt(op, "no stats row"))?;
            let bad = |_| corrupt(op, "a column of an unexpected type");
            let n = |i: usize| -> Result<u64, InboxError> {
                Ok(u64::try_from(row.try_get::<_, i64>(i).map_err(bad)?).unwrap_or(0))
            };
            Ok(InboxStats {
                pending: n(0)?,
                in_flight: n(1)?,
                done: n(2)?,
                dead: n(3)?,
                oldest_pending: row.try_get(4).map_err(bad)?,
            })
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> InboxFuture<'a, Vec<Event>> {
        self.bounded(InboxOp::Read, async move {
            let op = InboxOp::Read;
            let state = query.state.map(State::as_str);
            let route = query.route.as_deref().map(str::as_bytes);
            let id = query.id.as_deref().map(str::as_bytes);
            let limit = i64::try_from(query.effective_limit()).unwrap_or(i64::MAX);
            let rows = self
                .query(op, &self.inner.sql.list, &[&state, &route, &id, &limit])
                .await?;
            rows.iter().map(|r| event_of(op, r)).collect()
        })
    }

    fn show<'a>(&'a self, key: &'a EventKey) -> InboxFuture<'a, Option<Event>> {
        self.bounded(InboxOp::Read, async move {
            let op = InboxOp::Read;
            let route = key.route().as_bytes();
            let id = key.id().as_bytes();
            let rows = self.query(op, &self.inner.sql.show, &[&route, &id]).await?;
            rows.first().map(|r| event_of(op, r)).transpose()
        })
    }

    fn purge(&self, state: State, older_than: Duration) -> InboxFuture<'_, u64> {
        self.bounded(InboxOp::Purge, async move {
            let ms = older_than.as_secs_f64() * 1000.0;
            self.execute(
                InboxOp::Purge,
                &self.inner.sql.purge,
                &[&state.as_str(), &ms],
            )
            .await
        })
    }

    fn wakeup(&self) -> Option<&Notify> {
        Some(&self.inner.wakeup)
    }
}

/// The future a [`TxHandler`] returns: it may borrow the transaction.
pub type TxFuture<'t> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 't>>;

/// A handler that runs inside the transaction marking its event done (see
/// [`PostgresInbox::transactional`]). Implemented for every
/// `Fn(Delivery, &Transaction<'_>) -> TxFuture<'_>`: write
/// `|d, tx| Box::pin(async move { … })`.
pub trait TxHandler: Send + Sync + 'static {
    /// Runs one attempt; every write through `tx` commits with the done mark, or not at all.
    fn call<'t>(
        &'t self,
        delivery: Delivery,
        tx: &'t tokio_postgres::Transaction<'t>,
    ) -> TxFuture<'t>;
}

impl<F> TxHandler for F
where
    F: for<'t> Fn(Delivery, &'t tokio_postgres::Transaction<'t>) -> TxFuture<'t>
        + Send
        + Sync
        + 'static,
{
    fn call<'t>(
        &'t self,
        delivery: Delivery,
        tx: &'t tokio_postgres::Transaction<'t>,
    ) -> TxFuture<'t> {
        self(delivery, tx)
    }
}

/// The [`Handler`] [`PostgresInbox::transactional`] returns: give it to
/// [`Worker::builder`](crate::Worker::builder) with the same inbox.
pub struct Transactional<H> {
    inbox: PostgresInbox,
    handler: Arc<H>,
}

impl<H> fmt::Debug for Transactional<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transactional")
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

impl<H: TxHandler> Handler for Transactional<H> {
    fn call(&self, delivery: Delivery) -> HandlerFuture {
        let inbox = self.inbox.clone();
        let handler = Arc::clone(&self.handler);
        Box::pin(async move { run_in_transaction(&inbox, &*handler, delivery).await })
    }
}

/// Failures of the transaction's own statements: retried (the database may be back).
fn db_failure(what: &str, e: &tokio_postgres::Error) -> Failure {
    Failure::retry(format!("{what}: {}", crate::ErrorChain(e)))
}

async fn run_in_transaction<H: TxHandler>(
    inbox: &PostgresInbox,
    handler: &H,
    delivery: Delivery,
) -> Result<(), Failure> {
    let lease = delivery.lease().clone();
    let sql = &inbox.inner.sql;
    let Ok(token) = i64::try_from(lease.token()) else {
        delivery.settle(Ok(Fenced::Stale));
        return Ok(());
    };
    let route = lease.key().route().as_bytes().to_vec();
    let id = lease.key().id().as_bytes().to_vec();
    let mut client = inbox.inner.pool.get().await.map_err(|e| {
        Failure::retry(format!(
            "inbox database unavailable: {}",
            crate::ErrorChain(&e)
        ))
    })?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| db_failure("begin", &e))?;
    let idle_ms = lease
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_millis()
        .max(1);
    tx.batch_execute(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = {idle_ms}; SET LOCAL synchronous_commit = on"
    ))
    .await
    .map_err(|e| db_failure("set the transaction's timeouts", &e))?;
    let lock = tx
        .prepare_cached(&sql.tx_lock)
        .await
        .map_err(|e| db_failure("prepare", &e))?;
    let held = tx
        .query_opt(&lock, &[&route, &id, &token])
        .await
        .map_err(|e| db_failure("lock the event", &e))?;
    if held.is_none() {
        // The lease is gone (expired and taken, requeued, purged): nothing runs.
        let _ = tx.rollback().await;
        delivery.settle(Ok(Fenced::Stale));
        return Ok(());
    }
    let settle = delivery.clone();
    if let Err(failure) = handler.call(delivery, &tx).await {
        let _ = tx.rollback().await;
        return Err(failure);
    }
    let done = match tx.prepare_cached(&sql.tx_done).await {
        Ok(stmt) => tx.execute(&stmt, &[&route, &id, &token]).await,
        Err(e) => Err(e),
    };
    let outcome = match done {
        Ok(0) => {
            let _ = tx.rollback().await;
            Ok(Fenced::Stale)
        }
        Ok(_) => match tx.commit().await {
            Ok(()) => Ok(Fenced::Applied),
            Err(e) => Err(InboxError::backend(InboxOp::Settle, e)),
        },
        Err(e) => {
            let _ = tx.rollback().await;
            Err(InboxError::backend(InboxOp::Settle, e))
        }
    };
    settle.settle(outcome);
    Ok(())
}
