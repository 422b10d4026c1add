//! Queued delivery (`--inbox URL`): a route's verified deliveries are stored in a durable
//! inbox and answered at once; workers POST them to the upstream later, with retries and
//! dead letters.
//!
//! ```text
//! provider ─▶ VerifyLayer ─▶ Tag ─▶ Accept ──▶ 200 once stored (fsynced) / 200 duplicate / 503
//!                                     │
//!                                   inbox (sqlite:PATH) ── Worker (per route) ──▶ upstream
//!                                                          POST same path, stored headers +
//!                                                          Countersign-Verified / -Event-Id /
//!                                                          -Preset / -Attempt
//!                                                          2xx done · 5xx 408 429 timeout
//!                                                          error → retry (backoff, jitter,
//!                                                          Retry-After) · other 4xx → dead
//! ```
//!
//! `postgres://…` (or `postgresql://…`) puts the inbox in a PostgreSQL schema shared by every
//! receiver pointed at it: several proxies behind a load balancer share one queue, each
//! event is delivered by one of them at a time. Its password never appears in logs, metrics
//! labels or errors.
//!
//! The inbox is also the route's dedup store. `--lease` is the delivery lease and must exceed
//! `--upstream-timeout`, so that an upstream call never outlives its lease: the event is
//! never delivered concurrently twice.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use countersign_inbox::{
    Accept, AcceptOutcome, Backoff, DEFAULT_CONCURRENCY, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_REDIS_INBOX_PREFIX, DEFAULT_RETRY_INITIAL, DEFAULT_RETRY_MAX, Delivery, Failure, Inbox,
    MemoryInbox, PostgresInbox, RedisInbox, SqliteInbox, Worker, WorkerStats,
};
use http::Request;
use http::header::{self, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http_body_util::{BodyExt, Full, Limited};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::{RouteSpec, Settings, Upstream};
use super::forward::{
    EVENT_ID_HEADER, ErrorChain, MAX_UPSTREAM_RESPONSE, PRESET_HEADER, UpstreamClient,
    VERIFIED_HEADER, event_id_value, strip_hop_by_hop,
};
use crate::duration::parse_duration;
use crate::error::CliError;
use crate::secrets;

/// `Countersign-Attempt: N` on every queued delivery (from 1).
pub(crate) const ATTEMPT_HEADER: HeaderName = HeaderName::from_static("countersign-attempt");

/// The queued-delivery flags of `countersign proxy`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct InboxFlags {
    /// Queued delivery: store verified deliveries in this inbox and answer 200 once they are
    /// durable; workers forward them later with retries. `sqlite:PATH`, or shared by several
    /// proxies `redis://[user:password@]host:port/[db][?prefix=NAME]` or
    /// `postgres://USER@HOST:PORT/DB[?schema=NAME]` (or `env:NAME` holding one of them).
    /// The inbox is also the dedup store. Without it, deliveries are forwarded synchronously.
    #[arg(long, value_name = "URL", help_heading = "Queued delivery (--inbox)")]
    pub(crate) inbox: Option<String>,

    /// Attempts before an event is dead [default: 12].
    #[arg(long, value_name = "N", help_heading = "Queued delivery (--inbox)")]
    pub(crate) max_attempts: Option<u32>,

    /// First retry delay, doubling per attempt, full jitter [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Queued delivery (--inbox)")]
    pub(crate) retry_initial: Option<Duration>,

    /// Longest retry delay [default: 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Queued delivery (--inbox)")]
    pub(crate) retry_max: Option<Duration>,

    /// Most deliveries in flight to the upstream at once [default: 16].
    #[arg(long, value_name = "N", help_heading = "Queued delivery (--inbox)")]
    pub(crate) delivery_concurrency: Option<usize>,
}

impl InboxFlags {
    /// Whether any of the flags is given.
    pub(crate) fn any(&self) -> bool {
        self.inbox.is_some()
            || self.max_attempts.is_some()
            || self.retry_initial.is_some()
            || self.retry_max.is_some()
            || self.delivery_concurrency.is_some()
    }
}

/// Where a route's inbox lives.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum InboxUrl {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `redis://…` or `rediss://…` (without the `prefix` parameter) and the key prefix.
    Redis {
        /// The connection URL, as the client takes it (may carry a password).
        url: String,
        /// `?prefix=` (default `countersign:inbox`).
        prefix: String,
    },
    /// `postgres://…` / `postgresql://…` (may hold a password: shown redacted).
    Postgres(String),
}

impl fmt::Display for InboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboxUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            // Shown in logs, metrics labels and errors: never the credentials.
            InboxUrl::Redis { url, prefix } => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "{scheme}://{rest}?prefix={prefix}")
            }
            InboxUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for InboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl InboxUrl {
    /// Parses `sqlite:PATH` (`sqlite://PATH` too), after expanding `env:NAME`.
    pub(crate) fn parse(text: &str) -> Result<Self, CliError> {
        let text = secrets::expand_env(text.trim())?;
        let text = text.trim();
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(CliError::Usage(
                    "the inbox `sqlite:` needs a file path".into(),
                ));
            }
            return Ok(InboxUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            return parse_redis(text);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = InboxUrl::Postgres(text.to_owned());
            PostgresInbox::builder(text)
                .check()
                .map_err(|e| CliError::Usage(format!("inbox {url}: {}", ErrorChain(&e))))?;
            return Ok(url);
        }
        let scheme = text.split_once(':').map_or(text, |(s, _)| s);
        Err(CliError::Usage(format!(
            "inbox URL: unsupported `{scheme}` (expected sqlite:PATH, redis://HOST:PORT/[DB][?prefix=NAME] or postgres://USER@HOST/DB)"
        )))
    }

    /// Refuses an inbox that does not exist yet, so that `countersign inbox` on a mistyped
    /// path says so instead of creating (and reporting on) an empty one.
    pub(crate) fn require_existing(&self) -> Result<(), CliError> {
        match self {
            InboxUrl::Sqlite(path) if !path.exists() => Err(CliError::Usage(format!(
                "no inbox at {self}: the file does not exist (the proxy creates it when it starts with --inbox)"
            ))),
            InboxUrl::Sqlite(_) | InboxUrl::Redis { .. } | InboxUrl::Postgres(_) => Ok(()),
        }
    }

    /// Opens an inbox that must exist already (`countersign inbox`): nothing is created.
    pub(crate) async fn open_existing(&self) -> Result<Arc<dyn Inbox>, CliError> {
        let InboxUrl::Redis { url, prefix } = self else {
            self.require_existing()?;
            return self.open().await;
        };
        let inbox = RedisInbox::builder(url.as_str())
            .prefix(prefix.as_str())
            .create(false)
            .open()
            .await
            .map_err(|e| self.cannot_open(e))?;
        if !inbox.exists().await.map_err(|e| self.cannot_open(e))? {
            return Err(CliError::Usage(format!(
                "no inbox at {self}: nothing with this prefix on that server (the proxy creates it when it starts with --inbox)"
            )));
        }
        Ok(Arc::new(inbox))
    }

    fn cannot_open(&self, e: countersign_inbox::InboxError) -> CliError {
        CliError::Proxy {
            what: format!("cannot open the inbox {self}"),
            source: Some(Box::new(e)),
        }
    }

    /// Opens the inbox (creating the file and its schema when missing).
    pub(crate) async fn open(&self) -> Result<Arc<dyn Inbox>, CliError> {
        match self {
            InboxUrl::Sqlite(path) => Ok(Arc::new(
                SqliteInbox::open(path)
                    .await
                    .map_err(|e| self.cannot_open(e))?,
            )),
            InboxUrl::Redis { url, prefix } => Ok(Arc::new(
                RedisInbox::builder(url.as_str())
                    .prefix(prefix.as_str())
                    .open()
                    .await
                    .map_err(|e| self.cannot_open(e))?,
            )),
            // Connects and applies the schema's migrations (idempotent, serialised between
            // receivers starting at once).
            InboxUrl::Postgres(url) => Ok(Arc::new(
                PostgresInbox::open(url.as_str())
                    .await
                    .map_err(|e| self.cannot_open(e))?,
            )),
        }
    }
}

/// `redis[s]://…[?prefix=NAME]`: the prefix is taken out of the query, the rest must be a
/// URL the Redis client accepts (checked here, without connecting).
fn parse_redis(text: &str) -> Result<InboxUrl, CliError> {
    let (base, query) = match text.split_once('?') {
        Some((b, q)) => (b, q),
        None => (text, ""),
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut prefix = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("prefix", v)) if !v.is_empty() => prefix = Some(v.to_owned()),
            Some(("prefix", _)) | None if pair == "prefix" || pair.starts_with("prefix=") => {
                return Err(CliError::Usage("inbox URL: `prefix=` needs a name".into()));
            }
            _ => rest.push(pair),
        }
    }
    let prefix = prefix.unwrap_or_else(|| DEFAULT_REDIS_INBOX_PREFIX.to_owned());
    if prefix.len() > 128
        || prefix
            .chars()
            .any(|c| c == '{' || c == '}' || c == '%' || c.is_whitespace() || c.is_control())
    {
        return Err(CliError::Usage(
            "inbox URL: the prefix must be 1 to 128 characters without braces, `%` or whitespace"
                .into(),
        ));
    }
    let mut url = base.to_owned();
    if !rest.is_empty() {
        url.push('?');
        url.push_str(&rest.join("&"));
    }
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    if let Err(e) = redis::IntoConnectionInfo::into_connection_info(url.as_str()) {
        // The text is not repeated: it may carry a password.
        if url.starts_with("rediss://") && e.to_string().contains("TLS") {
            return Err(CliError::Usage(
                "inbox URL: rediss:// (TLS) is not supported by this build; use redis:// (e.g. through a TLS tunnel)".into(),
            ));
        }
        return Err(CliError::Usage(
            "the inbox URL is not a valid redis:// URL".into(),
        ));
    }
    Ok(InboxUrl::Redis { url, prefix })
}

/// A PostgreSQL URL or `key=value` string with its password replaced by `***`.
fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            out = format!("{scheme}://{masked}@{host}{tail}");
        }
    }
    // `?password=…` in a URL, `password=…` in a key=value string.
    let mut redacted = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password=") {
        let starts_word = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ');
        let (head, tail) = rest.split_at(i + "password=".len());
        redacted.push_str(head);
        if starts_word {
            let end = tail.find(['&', ' ']).unwrap_or(tail.len());
            redacted.push_str("***");
            rest = &tail[end..];
        } else {
            rest = tail;
        }
    }
    redacted.push_str(rest);
    redacted
}

/// A route's queued-delivery settings.
#[derive(Debug, Clone)]
pub(crate) struct InboxSpec {
    pub(crate) url: InboxUrl,
    pub(crate) max_attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) concurrency: usize,
}

/// The queued-delivery settings of one route, as written (flags or file).
#[derive(Debug, Default)]
pub(crate) struct InboxFields {
    pub(crate) inbox: Option<String>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) retry_initial: Option<Duration>,
    pub(crate) retry_max: Option<Duration>,
    pub(crate) delivery_concurrency: Option<usize>,
}

impl From<&InboxFlags> for InboxFields {
    fn from(f: &InboxFlags) -> Self {
        InboxFields {
            inbox: f.inbox.clone(),
            max_attempts: f.max_attempts,
            retry_initial: f.retry_initial,
            retry_max: f.retry_max,
            delivery_concurrency: f.delivery_concurrency,
        }
    }
}

/// Checks a route's queued-delivery settings: `None` without an inbox (and then no other
/// queued-delivery setting may be given).
pub(crate) fn spec(fields: InboxFields, dedup: bool) -> Result<Option<InboxSpec>, CliError> {
    let Some(url) = fields.inbox else {
        if fields.max_attempts.is_some()
            || fields.retry_initial.is_some()
            || fields.retry_max.is_some()
            || fields.delivery_concurrency.is_some()
        {
            return Err(CliError::Usage(
                "max-attempts, retry-initial, retry-max and delivery-concurrency need an inbox (--inbox URL)".into(),
            ));
        }
        return Ok(None);
    };
    if !dedup {
        return Err(CliError::Usage(
            "an inbox always deduplicates: it cannot be combined with --no-dedup / dedup = false"
                .into(),
        ));
    }
    let max_attempts = fields.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let concurrency = fields.delivery_concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if max_attempts == 0 || concurrency == 0 {
        return Err(CliError::Usage(
            "max-attempts and delivery-concurrency must be at least 1".into(),
        ));
    }
    let backoff = Backoff::new(
        fields.retry_initial.unwrap_or(DEFAULT_RETRY_INITIAL),
        fields.retry_max.unwrap_or(DEFAULT_RETRY_MAX),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Some(InboxSpec {
        url: InboxUrl::parse(&url)?,
        max_attempts,
        backoff,
        concurrency,
    }))
}

/// The queued side of the proxy: the opened inboxes, per-route counters, the workers.
pub(crate) struct Queued {
    inboxes: Vec<(InboxUrl, Arc<dyn Inbox>)>,
    routes: Vec<QueuedRoute>,
}

impl fmt::Debug for Queued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field(
                "inboxes",
                &self.inboxes.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Counters of one queued route.
struct QueuedRoute {
    /// Index in the settings' routes.
    index: usize,
    name: String,
    inbox: Arc<dyn Inbox>,
    accepted: [AtomicU64; 4],
    worker: OnceLock<WorkerStats>,
    latency: Histogram,
}

const OUTCOMES: [AcceptOutcome; 4] = [
    AcceptOutcome::Stored,
    AcceptOutcome::Duplicate,
    AcceptOutcome::StoreUnavailable,
    AcceptOutcome::MissingEventId,
];

impl Queued {
    /// Opens every inbox the routes name (each file once).
    pub(crate) async fn open(settings: &Settings) -> Result<Self, CliError> {
        let mut inboxes: Vec<(InboxUrl, Arc<dyn Inbox>)> = Vec::new();
        for spec in settings.routes.iter().filter_map(|r| r.inbox.as_ref()) {
            if !inboxes.iter().any(|(u, _)| *u == spec.url) {
                inboxes.push((spec.url.clone(), spec.url.open().await?));
            }
        }
        Queued::with(settings, inboxes)
    }

    /// The opened inboxes (for `/healthz`).
    pub(crate) fn inboxes(&self) -> Vec<Arc<dyn Inbox>> {
        self.inboxes.iter().map(|(_, i)| Arc::clone(i)).collect()
    }

    /// For `--check`: every inbox in memory, nothing opened.
    pub(crate) fn unopened(settings: &Settings) -> Result<Self, CliError> {
        let mut inboxes: Vec<(InboxUrl, Arc<dyn Inbox>)> = Vec::new();
        for spec in settings.routes.iter().filter_map(|r| r.inbox.as_ref()) {
            if !inboxes.iter().any(|(u, _)| *u == spec.url) {
                inboxes.push((spec.url.clone(), Arc::new(MemoryInbox::new())));
            }
        }
        Queued::with(settings, inboxes)
    }

    fn with(
        settings: &Settings,
        inboxes: Vec<(InboxUrl, Arc<dyn Inbox>)>,
    ) -> Result<Self, CliError> {
        let mut routes = Vec::new();
        for (index, r) in settings.routes.iter().enumerate() {
            let Some(spec) = &r.inbox else { continue };
            if settings.lease <= r.upstream_timeout {
                return Err(CliError::Usage(format!(
                    "route `{}`: the lease ({:?}) must exceed the upstream timeout ({:?}) with an inbox, or a slow upstream could be sent the event twice at once",
                    r.name, settings.lease, r.upstream_timeout
                )));
            }
            let inbox = inboxes
                .iter()
                .find(|(u, _)| *u == spec.url)
                .map(|(_, i)| Arc::clone(i))
                .ok_or_else(|| CliError::Usage(format!("inbox {} not opened", spec.url)))?;
            routes.push(QueuedRoute {
                index,
                name: r.name.clone(),
                inbox,
                accepted: Default::default(),
                worker: OnceLock::new(),
                latency: Histogram::default(),
            });
        }
        Ok(Queued { inboxes, routes })
    }

    /// The terminating service of route `index`, when it is queued.
    pub(crate) fn accept_service(
        &self,
        index: usize,
        spec: &RouteSpec,
    ) -> Result<Option<Accept>, CliError> {
        let Some(route) = self.routes.iter().find(|r| r.index == index) else {
            return Ok(None);
        };
        Accept::builder(Arc::clone(&route.inbox), spec.scheme.clone())
            .route(&spec.name)
            .build()
            .map(Some)
            .map_err(|e| CliError::Usage(e.to_string()))
    }

    /// Counts an answer of route `index`.
    pub(crate) fn accepted(&self, index: usize, outcome: AcceptOutcome) {
        if let Some(r) = self.routes.iter().find(|r| r.index == index)
            && let Some(i) = OUTCOMES.iter().position(|o| *o == outcome)
        {
            r.accepted[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Starts one worker per queued route. They stop leasing when `stop` is cancelled and get
    /// the grace period for running deliveries.
    pub(crate) fn start(
        self: &Arc<Self>,
        settings: &Settings,
        client: &UpstreamClient,
        stop: &CancellationToken,
    ) -> Result<Workers, CliError> {
        let mut handles = Vec::new();
        for route in &self.routes {
            let spec = &settings.routes[route.index];
            let Some(inbox) = &spec.inbox else { continue };
            // A queued route forwards later; a publish route has no upstream (and no inbox).
            let Some(upstream) = &spec.upstream else {
                return Err(CliError::Usage(format!(
                    "route `{}`: --inbox needs --upstream, not --publish",
                    spec.name
                )));
            };
            let host = HeaderValue::from_str(upstream.authority().as_str())
                .map_err(|_| CliError::Usage(format!("upstream `{upstream}` has no valid host")))?;
            let forward = Arc::new(Forwarder {
                client: client.clone(),
                upstream: upstream.clone(),
                host,
                timeout: spec.upstream_timeout,
                queued: Arc::clone(self),
                index: route.index,
            });
            let worker = Worker::builder(Arc::clone(&route.inbox), move |d: Delivery| {
                let forward = Arc::clone(&forward);
                async move { forward.deliver(d).await }
            })
            .route(&spec.name)
            .concurrency(inbox.concurrency)
            .max_attempts(inbox.max_attempts)
            .backoff(inbox.backoff)
            .lease(settings.lease)
            .grace_period(settings.grace_period)
            .retention(settings.retention)
            .build()
            .map_err(|e| CliError::Usage(format!("route `{}`: {e}", spec.name)))?;
            let _ = route.worker.set(worker.stats());
            let stop = stop.clone();
            tracing::info!(target: "countersign::proxy", route = %spec.name, inbox = %inbox.url, concurrency = inbox.concurrency, max_attempts = inbox.max_attempts, "queued delivery");
            handles.push(tokio::spawn(async move {
                let report = worker.run(stop.cancelled_owned()).await;
                report.aborted
            }));
        }
        Ok(Workers { handles })
    }

    /// Prometheus text for the queued routes: queue depth per state and the oldest pending
    /// age per inbox; accept outcomes, attempts, outcomes and delivery latency per route.
    pub(crate) async fn render(&self) -> String {
        let mut out = String::new();
        if self.routes.is_empty() {
            return out;
        }
        let mut stats = Vec::with_capacity(self.inboxes.len());
        for (url, inbox) in &self.inboxes {
            stats.push((url.to_string(), inbox.stats().await.ok()));
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_events Events in the inbox, by state (absent while the inbox cannot answer).\n# TYPE countersign_inbox_events gauge"
        );
        for (url, s) in &stats {
            let Some(s) = s else { continue };
            for (state, n) in [
                ("pending", s.pending),
                ("in_flight", s.in_flight),
                ("done", s.done),
                ("dead", s.dead),
            ] {
                let _ = writeln!(
                    out,
                    "countersign_inbox_events{{inbox=\"{}\",state=\"{state}\"}} {n}",
                    escape(url)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_oldest_pending_age_seconds Age of the oldest pending event (0 when none).\n# TYPE countersign_inbox_oldest_pending_age_seconds gauge"
        );
        for (url, s) in &stats {
            let Some(s) = s else { continue };
            let age = s
                .oldest_pending
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "countersign_inbox_oldest_pending_age_seconds{{inbox=\"{}\"}} {:.3}",
                escape(url),
                age.as_secs_f64()
            );
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_accepted_total Verified deliveries answered in queued mode, by outcome.\n# TYPE countersign_inbox_accepted_total counter"
        );
        for r in &self.routes {
            for (o, c) in OUTCOMES.iter().zip(&r.accepted) {
                let _ = writeln!(
                    out,
                    "countersign_inbox_accepted_total{{route=\"{}\",outcome=\"{}\"}} {}",
                    escape(&r.name),
                    o.as_str(),
                    c.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_attempts_total Delivery attempts started.\n# TYPE countersign_inbox_attempts_total counter"
        );
        for r in &self.routes {
            let s = r
                .worker
                .get()
                .map(WorkerStats::snapshot)
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "countersign_inbox_attempts_total{{route=\"{}\"}} {}",
                escape(&r.name),
                s.attempts
            );
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_outcomes_total Delivery attempts by outcome (stale: lease lost; store_error: not recorded).\n# TYPE countersign_inbox_outcomes_total counter"
        );
        for r in &self.routes {
            let s = r
                .worker
                .get()
                .map(WorkerStats::snapshot)
                .unwrap_or_default();
            for (o, n) in [
                ("done", s.done),
                ("retried", s.retried),
                ("dead", s.dead),
                ("stale", s.stale),
                ("store_error", s.store_errors),
            ] {
                let _ = writeln!(
                    out,
                    "countersign_inbox_outcomes_total{{route=\"{}\",outcome=\"{o}\"}} {n}",
                    escape(&r.name)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP countersign_inbox_delivery_duration_seconds Upstream delivery attempts, request to complete answer.\n# TYPE countersign_inbox_delivery_duration_seconds histogram"
        );
        for r in &self.routes {
            r.latency.render(&mut out, &r.name);
        }
        out
    }
}

/// The running workers.
#[derive(Debug)]
pub(crate) struct Workers {
    handles: Vec<JoinHandle<usize>>,
}

impl Workers {
    /// Waits for every worker to stop (they were told to by the stop token); returns how
    /// many deliveries were aborted after the grace period.
    pub(crate) async fn join(self) -> usize {
        let mut aborted = 0;
        for h in self.handles {
            aborted += h.await.unwrap_or(0);
        }
        aborted
    }
}

/// POSTs a stored event to a route's upstream.
struct Forwarder {
    client: UpstreamClient,
    upstream: Upstream,
    host: HeaderValue,
    timeout: Duration,
    queued: Arc<Queued>,
    index: usize,
}

impl Forwarder {
    async fn deliver(&self, d: Delivery) -> Result<(), Failure> {
        let pq = PathAndQuery::try_from(d.target()).ok();
        let uri = self
            .upstream
            .uri_for(pq.as_ref())
            .map_err(|_| Failure::dead("bad upstream URL for the stored path"))?;
        let mut headers = d.headers().clone();
        strip_hop_by_hop(&mut headers);
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::HOST, self.host.clone());
        headers.insert(VERIFIED_HEADER, HeaderValue::from_static("true"));
        headers.insert(EVENT_ID_HEADER, event_id_value(d.id()));
        if let Ok(preset) = HeaderValue::from_str(d.preset()) {
            headers.insert(PRESET_HEADER, preset);
        }
        headers.insert(ATTEMPT_HEADER, HeaderValue::from(d.attempt()));
        let mut req = Request::new(Full::new(d.body().clone()));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;

        let started = Instant::now();
        let exchange = async {
            let res =
                self.client.request(req).await.map_err(|e| {
                    Failure::retry(format!("upstream unavailable: {}", ErrorChain(&e)))
                })?;
            let (parts, body) = res.into_parts();
            // Read (bounded) so the connection can be reused; the content is not kept.
            let _ = Limited::new(body, MAX_UPSTREAM_RESPONSE).collect().await;
            Ok::<_, Failure>(parts)
        };
        let result = tokio::time::timeout(self.timeout, exchange).await;
        if let Some(r) = self.queued.routes.iter().find(|r| r.index == self.index) {
            r.latency.observe(started.elapsed());
        }
        let parts = match result {
            Ok(parts) => parts?,
            Err(_) => {
                return Err(Failure::retry(format!(
                    "upstream did not answer within {:?}",
                    self.timeout
                )));
            }
        };
        if parts.status.is_success() {
            return Ok(());
        }
        Err(Failure::status(parts.status, retry_after(&parts.headers)))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff applies).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Upper bounds of the delivery latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; 14],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, out: &mut String, route: &str) {
        let name = "countersign_inbox_delivery_duration_seconds";
        let route = escape(route);
        let mut cumulative = 0;
        for (b, c) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
        );
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {count}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            InboxUrl::parse("sqlite:/tmp/x.db").unwrap(),
            InboxUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            InboxUrl::parse("sqlite:///tmp/x.db").unwrap(),
            InboxUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            InboxUrl::parse("sqlite:rel.db").unwrap(),
            InboxUrl::Sqlite("rel.db".into())
        );
        assert_eq!(
            InboxUrl::parse("redis://:hunter2@127.0.0.1:6379/2?prefix=shop:hooks").unwrap(),
            InboxUrl::Redis {
                url: "redis://:hunter2@127.0.0.1:6379/2".into(),
                prefix: "shop:hooks".into()
            }
        );
        let r = InboxUrl::parse("redis://:hunter2@127.0.0.1:6379/2?prefix=shop:hooks").unwrap();
        assert_eq!(r.to_string(), "redis://127.0.0.1:6379/2?prefix=shop:hooks");
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(
            InboxUrl::parse("redis://127.0.0.1").unwrap(),
            InboxUrl::Redis {
                url: "redis://127.0.0.1".into(),
                prefix: "countersign:inbox".into()
            }
        );
        assert_eq!(
            InboxUrl::parse("postgres://u@127.0.0.1:5432/db?schema=hooks").unwrap(),
            InboxUrl::Postgres("postgres://u@127.0.0.1:5432/db?schema=hooks".into())
        );
        assert!(InboxUrl::parse("postgresql://u@h/db").is_ok());
        for bad in [
            "sqlite:",
            "redis://127.0.0.1/?prefix=",
            "redis://127.0.0.1/?prefix=a{b}",
            "redis://127.0.0.1/?prefix=a%20b",
            "redis://",
            "rediss://127.0.0.1/",
            "postgres://x?schema=Bad-Name",
            "postgres://x?schema=pg_catalog",
            "postgres://x?nonsense=1",
            "/tmp/x.db",
            "",
        ] {
            assert!(InboxUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_passwords_are_never_shown() {
        for (url, shown) in [
            (
                "postgres://u:s3cret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            (
                "postgresql://u:s3cret@h/db?schema=x",
                "postgresql://u:***@h/db?schema=x",
            ),
            (
                "postgres://u@h/db?password=s3cret&schema=x",
                "postgres://u@h/db?password=***&schema=x",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ] {
            assert_eq!(redact(url), shown);
            let parsed = InboxUrl::parse(url).unwrap();
            assert!(!parsed.to_string().contains("s3cret"));
            assert!(!format!("{parsed:?}").contains("s3cret"));
        }
        let err = InboxUrl::parse("postgres://u:s3cret@h/db?schema=NO").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn settings_need_an_inbox() {
        let none = spec(InboxFields::default(), true).unwrap();
        assert!(none.is_none());
        let orphan = InboxFields {
            max_attempts: Some(3),
            ..InboxFields::default()
        };
        assert!(spec(orphan, true).is_err());
        let with = |f: InboxFields| spec(f, true);
        let s = with(InboxFields {
            inbox: Some("sqlite:/tmp/a.db".into()),
            ..InboxFields::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!((s.max_attempts, s.concurrency), (12, 16));
        assert!(
            spec(
                InboxFields {
                    inbox: Some("sqlite:/tmp/a.db".into()),
                    ..InboxFields::default()
                },
                false
            )
            .is_err()
        );
        assert!(
            with(InboxFields {
                inbox: Some("sqlite:/tmp/a.db".into()),
                retry_initial: Some(Duration::from_secs(10)),
                retry_max: Some(Duration::from_secs(1)),
                ..InboxFields::default()
            })
            .is_err()
        );
        assert!(
            with(InboxFields {
                inbox: Some("sqlite:/tmp/a.db".into()),
                delivery_concurrency: Some(0),
                ..InboxFields::default()
            })
            .is_err()
        );
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
