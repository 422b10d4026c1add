//! The proxy's settings: from flags (one route) or a TOML file (several routes), with flags
//! overriding the file's server settings. A route given by flags and one given by a
//! `[[route]]` table become the same value (`RouteInput`) and are resolved by one function,
//! so they cannot drift apart. Everything is checked here or when the layers are built,
//! before the proxy listens: a bad file never half-starts a server.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! redis = "env:REDIS_URL"          # or redis_cluster = ["redis://a:6379", …]; default: memory
//! upstream_timeout = "10s"
//! trusted_proxies = ["10.0.0.0/8"] # peers whose X-Forwarded-* / Forwarded are kept
//! admin_listen = "127.0.0.1:9090"  # /healthz and /metrics here instead
//!
//! [[route]]
//! path = "/webhooks/stripe"        # this path and everything below it
//! preset = "stripe"
//! secret = "env:STRIPE_WEBHOOK_SECRET"   # or a list; secret_file = "/run/secrets/stripe"
//! # a list may mix plain entries and labelled ones (rotation you can watch in /metrics):
//! # secret = [{ value = "env:OLD", label = "2026-q3", not_after = 1798675200 }, "env:NEW"]
//! upstream = "http://127.0.0.1:3000"
//! tolerance = 300                  # seconds
//! dedup = true
//! no_event_id = "reject"           # or "forward" (without dedup); default by preset
//! methods = ["POST"]               # the default (POST and GET for meta and x)
//! # handshake_token = "env:META_VERIFY_TOKEN"   # Meta's hub.verify_token
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use countersign_core::{Scheme, Secret};
use http::Method;
use http::uri::{Authority, PathAndQuery, Uri};
use serde::Deserialize;

use super::publish::PublishUrl;
use super::trusted::Cidr;
use crate::cli::{LogFormat, NoEventId, ProxyArgs, SchemeArgs, SchemeParams};
use crate::duration::parse_duration;
use crate::error::CliError;
use crate::input::Source;
use crate::scheme_args;
use crate::secrets::{self, LabelledSecret, SecretArg};

/// The most bytes read from a configuration file.
const MAX_CONFIG_FILE: usize = 1024 * 1024;

/// Defaults (documented in `--help` and the README).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Request-body bytes in memory, all requests together: ten 25 MiB GitHub bodies.
pub(crate) const DEFAULT_MAX_BODY_MEMORY: usize = 256 * 1024 * 1024;

/// Everything the proxy runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) store: StoreSpec,
    pub(crate) redis_prefix: Option<String>,
    /// Records of the in-memory store.
    pub(crate) memory_capacity: usize,
    /// The body budget shared by every route, in bytes.
    pub(crate) max_body_memory: usize,
    pub(crate) lease: Duration,
    pub(crate) retention: Duration,
    pub(crate) header_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) grace_period: Duration,
    pub(crate) max_connections: usize,
    /// Runtime worker threads; `None`: one per core.
    pub(crate) workers: Option<usize>,
    pub(crate) log_format: LogFormat,
    /// `/healthz` and `/metrics` on this address instead of the public listener.
    pub(crate) admin_listen: Option<SocketAddr>,
    /// Peers whose forwarding headers are kept (empty: none).
    pub(crate) trusted_proxies: Vec<Cidr>,
    pub(crate) routes: Vec<RouteSpec>,
}

/// Where claims and records live.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum StoreSpec {
    /// `MemoryStore`: per process.
    Memory,
    /// `RedisStore`.
    Redis(String),
    /// `RedisClusterStore`.
    Cluster(Vec<String>),
}

impl StoreSpec {
    /// `memory`, `redis` or `redis-cluster`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            StoreSpec::Memory => "memory",
            StoreSpec::Redis(_) => "redis",
            StoreSpec::Cluster(_) => "redis-cluster",
        }
    }
}

impl fmt::Debug for StoreSpec {
    /// URLs may carry a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("Memory"),
            StoreSpec::Redis(_) => f.write_str("Redis(<url>)"),
            StoreSpec::Cluster(nodes) => write!(f, "Cluster(<{} nodes>)", nodes.len()),
        }
    }
}

/// One route: requests whose path is `path` or below it.
#[derive(Debug)]
pub(crate) struct RouteSpec {
    /// Metrics label and dedup key scope.
    pub(crate) name: String,
    /// `/` or `/a/b` (no trailing slash).
    pub(crate) path: String,
    pub(crate) scheme: Scheme,
    /// Every secret, as loaded at start.
    pub(crate) secrets: Vec<Secret>,
    /// When some secrets come from files: what to re-read when they change.
    pub(crate) secret_files: Option<SecretFiles>,
    /// When the keys come from a JSON Web Key Set (`keys_url`; `secrets` is then empty).
    pub(crate) keys: Option<KeysUrl>,
    /// Where verified deliveries go: an upstream, or (`publish`) a broker. Exactly one.
    pub(crate) upstream: Option<Upstream>,
    pub(crate) publish: Option<PublishUrl>,
    pub(crate) tolerance: Option<Duration>,
    pub(crate) body_limit: Option<usize>,
    pub(crate) dedup: bool,
    pub(crate) handshakes: bool,
    /// The token unsigned request handshakes present (Meta's `hub.verify_token`).
    pub(crate) handshake_token: Option<Secret>,
    pub(crate) public_url: Option<String>,
    pub(crate) upstream_timeout: Duration,
    /// Accepted methods; others are answered 405.
    pub(crate) methods: Vec<Method>,
    /// Verified deliveries without an event id, with dedup on.
    pub(crate) no_event_id: NoEventId,
    /// Queued delivery (`--inbox`); `None`: synchronous.
    pub(crate) inbox: Option<super::inbox::InboxSpec>,
}

/// A route's secrets around its secret files, to rebuild the list when a file changes
/// (`secrets` of [`RouteSpec`] is `before`, the files' lines, then `after`).
#[derive(Debug, Clone)]
pub(crate) struct SecretFiles {
    pub(crate) before: Vec<Secret>,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) after: Vec<Secret>,
}

/// A route's key set: fetched from `url` (over TLS, trusting `ca_pem` when given) every
/// `refresh`.
#[derive(Clone)]
pub(crate) struct KeysUrl {
    pub(crate) url: String,
    pub(crate) ca_pem: Option<Vec<u8>>,
    pub(crate) refresh: Duration,
}

impl fmt::Debug for KeysUrl {
    /// Without the URL: it may carry an access token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysUrl")
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

/// Default of `keys_refresh` / `--keys-refresh`.
const DEFAULT_KEYS_REFRESH: Duration = Duration::from_secs(300);
/// Largest `keys_ca` file read.
const MAX_KEYS_CA_LEN: usize = 1024 * 1024;

impl RouteSpec {
    /// Whether `path` (a request path) belongs to this route: equal, or below it on a
    /// segment boundary (`/hooks` matches `/hooks/x`, not `/hooksx`).
    #[cfg(test)]
    pub(crate) fn matches(&self, path: &str) -> bool {
        path_matches(&self.path, path)
    }
}

/// Whether request path `path` belongs to route path `route` (normalized: `/` or no trailing
/// slash): equal, or below it on a segment boundary.
pub(crate) fn path_matches(route: &str, path: &str) -> bool {
    route == "/"
        || path
            .strip_prefix(route)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// An upstream base URL: `http://authority[/prefix]`.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    authority: Authority,
    /// Empty, or `/prefix` without a trailing slash.
    prefix: String,
}

impl Upstream {
    /// Parses an absolute `http://` URL without query or fragment.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|_| format!("upstream `{url}` is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "upstream `{url}`: the proxy forwards over plain http (it runs next to the app); use http://"
                ));
            }
            _ => return Err(format!("upstream `{url}` is not an absolute http:// URL")),
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("upstream `{url}` has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "upstream `{url}`: credentials in the URL are not supported"
            ));
        }
        if uri.query().is_some() {
            return Err(format!("upstream `{url}` must not have a query"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(Upstream { authority, prefix })
    }

    /// The upstream URI of a request: the prefix followed by the request's path and query.
    pub(crate) fn uri_for(
        &self,
        path_and_query: Option<&PathAndQuery>,
    ) -> Result<Uri, http::Error> {
        let pq = path_and_query.map_or("/", PathAndQuery::as_str);
        let mut joined = String::with_capacity(self.prefix.len() + pq.len());
        joined.push_str(&self.prefix);
        joined.push_str(pq);
        Uri::builder()
            .scheme("http")
            .authority(self.authority.clone())
            .path_and_query(joined)
            .build()
    }

    /// The `Host` to send upstream.
    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.prefix)
    }
}

/// A duration in the file: a string (`"500ms"`, `"10s"`) or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Seconds(u64),
    Text(String),
}

impl DurationValue {
    fn get(&self, field: &str) -> Result<Duration, CliError> {
        match self {
            DurationValue::Seconds(s) => Ok(Duration::from_secs(*s)),
            DurationValue::Text(t) => {
                parse_duration(t).map_err(|e| CliError::Usage(format!("`{field}`: {e}")))
            }
        }
    }
}

/// One `secret` entry of a route: a value (or `env:NAME`), or a table with a label and an
/// optional `not_after` (Unix seconds).
#[derive(Deserialize)]
#[serde(untagged)]
enum SecretEntry {
    Plain(String),
    Labelled {
        value: String,
        label: String,
        #[serde(default)]
        not_after: Option<u64>,
    },
}

/// One value or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum List<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> List<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            List::One(v) => vec![v],
            List::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    redis: Option<String>,
    redis_cluster: Option<List<String>>,
    redis_prefix: Option<String>,
    memory_capacity: Option<usize>,
    max_body_memory: Option<usize>,
    lease: Option<DurationValue>,
    retention: Option<DurationValue>,
    header_timeout: Option<DurationValue>,
    body_timeout: Option<DurationValue>,
    upstream_timeout: Option<DurationValue>,
    grace_period: Option<DurationValue>,
    max_connections: Option<usize>,
    workers: Option<usize>,
    log_format: Option<LogFormat>,
    admin_listen: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    #[serde(default, rename = "route")]
    routes: Vec<FileRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    path: String,
    upstream: Option<String>,
    publish: Option<String>,
    name: Option<String>,
    preset: Option<String>,
    scheme_file: Option<PathBuf>,
    scheme: Option<Scheme>,
    algorithm: Option<String>,
    encoding: Option<String>,
    signature_header: Option<String>,
    prefix: Option<String>,
    secret: Option<List<SecretEntry>>,
    secret_file: Option<List<PathBuf>>,
    keys_url: Option<String>,
    keys_ca: Option<PathBuf>,
    keys_refresh: Option<DurationValue>,
    tolerance: Option<u64>,
    body_limit: Option<usize>,
    dedup: Option<bool>,
    handshakes: Option<bool>,
    handshake_token: Option<String>,
    public_url: Option<String>,
    /// Replaced by the server's `trusted_proxies`: an error.
    trust_forwarded_headers: Option<bool>,
    upstream_timeout: Option<DurationValue>,
    methods: Option<Vec<String>>,
    no_event_id: Option<NoEventId>,
    inbox: Option<String>,
    max_attempts: Option<u32>,
    retry_initial: Option<DurationValue>,
    retry_max: Option<DurationValue>,
    delivery_concurrency: Option<usize>,
}

impl fmt::Debug for FileRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRoute")
            .field("path", &self.path)
            .field("upstream", &self.upstream)
            .field("preset", &self.preset)
            .field("scheme", &self.scheme.as_ref().map(Scheme::name))
            .finish_non_exhaustive()
    }
}

/// Reads the flags (and the file they name) into settings, resolving every secret.
///
/// # Errors
/// [`CliError::Usage`] naming the flag, field or route that is wrong; read errors of the
/// file, secret files and scheme files.
pub(crate) fn load(args: &ProxyArgs) -> Result<Settings, CliError> {
    if args.trust_forwarded_headers {
        return Err(CliError::Usage(TRUST_FORWARDED_REPLACED.into()));
    }
    let (file, base_dir) = match &args.config {
        Some(path) => {
            check_no_route_flags(args)?;
            (Some(read_file(path)?), path.parent().map(Path::to_path_buf))
        }
        None => (None, None),
    };
    let file_ref = file.as_ref();
    let pick = |flag: Option<Duration>,
                field: Option<&DurationValue>,
                name: &str,
                default: Duration|
     -> Result<Duration, CliError> {
        match (flag, field) {
            (Some(d), _) => Ok(d),
            (None, Some(v)) => v.get(name),
            (None, None) => Ok(default),
        }
    };

    let address = |field: &str, text: &str| -> Result<SocketAddr, CliError> {
        crate::cli::listen_address(text).map_err(|e| CliError::Usage(format!("`{field}`: {e}")))
    };
    let listen = match (&args.listen, file_ref.and_then(|f| f.listen.as_deref())) {
        (Some(addr), _) => *addr,
        (None, Some(text)) => address("listen", text)?,
        (None, None) => address("listen", DEFAULT_LISTEN)?,
    };
    let admin_listen = match (
        &args.admin_listen,
        file_ref.and_then(|f| f.admin_listen.as_deref()),
    ) {
        (Some(addr), _) => Some(*addr),
        (None, Some(text)) => Some(address("admin_listen", text)?),
        (None, None) => None,
    };
    if admin_listen == Some(listen) && listen.port() != 0 {
        return Err(CliError::Usage(
            "the admin address must differ from the listen address".into(),
        ));
    }
    let trusted_texts: Vec<&String> = if args.trusted_proxies.is_empty() {
        file_ref
            .and_then(|f| f.trusted_proxies.as_ref())
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    } else {
        args.trusted_proxies.iter().collect()
    };
    let trusted_proxies = trusted_texts
        .into_iter()
        .map(|t| {
            t.parse::<Cidr>()
                .map_err(|m| CliError::Usage(format!("trusted proxy: {m}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let store = store_spec(args, file_ref)?;
    let redis_prefix = args
        .redis_prefix
        .clone()
        .or_else(|| file_ref.and_then(|f| f.redis_prefix.clone()));
    let memory_capacity = args
        .memory_capacity
        .or_else(|| file_ref.and_then(|f| f.memory_capacity))
        .unwrap_or(countersign_dedup::DEFAULT_MEMORY_CAPACITY);
    if memory_capacity == 0 {
        return Err(CliError::Usage("memory capacity must be at least 1".into()));
    }
    let max_body_memory = args
        .max_body_memory
        .or_else(|| file_ref.and_then(|f| f.max_body_memory))
        .unwrap_or(DEFAULT_MAX_BODY_MEMORY);
    let lease = pick(
        args.lease,
        file_ref.and_then(|f| f.lease.as_ref()),
        "lease",
        countersign_dedup::DEFAULT_LEASE,
    )?;
    let retention = pick(
        args.retention,
        file_ref.and_then(|f| f.retention.as_ref()),
        "retention",
        countersign_dedup::DEFAULT_RETENTION,
    )?;
    let header_timeout = pick(
        args.header_timeout,
        file_ref.and_then(|f| f.header_timeout.as_ref()),
        "header_timeout",
        DEFAULT_HEADER_TIMEOUT,
    )?;
    let body_timeout = pick(
        args.body_timeout,
        file_ref.and_then(|f| f.body_timeout.as_ref()),
        "body_timeout",
        DEFAULT_BODY_TIMEOUT,
    )?;
    let upstream_timeout = pick(
        args.upstream_timeout,
        file_ref.and_then(|f| f.upstream_timeout.as_ref()),
        "upstream_timeout",
        DEFAULT_UPSTREAM_TIMEOUT,
    )?;
    let grace_period = pick(
        args.grace_period,
        file_ref.and_then(|f| f.grace_period.as_ref()),
        "grace_period",
        DEFAULT_GRACE_PERIOD,
    )?;
    for (name, d) in [
        ("header timeout", header_timeout),
        ("body timeout", body_timeout),
        ("upstream timeout", upstream_timeout),
    ] {
        if d < Duration::from_millis(1) {
            return Err(CliError::Usage(format!("the {name} must be at least 1ms")));
        }
    }
    let max_connections = args
        .max_connections
        .or_else(|| file_ref.and_then(|f| f.max_connections))
        .unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        return Err(CliError::Usage("max connections must be at least 1".into()));
    }
    let workers = args.workers.or_else(|| file_ref.and_then(|f| f.workers));
    if workers == Some(0) {
        return Err(CliError::Usage("workers must be at least 1".into()));
    }
    let log_format = args
        .log_format
        .or_else(|| file_ref.and_then(|f| f.log_format))
        .unwrap_or_default();

    let routes = match file {
        Some(file) => {
            if file.routes.is_empty() {
                return Err(CliError::Usage(
                    "the configuration file has no [[route]]".into(),
                ));
            }
            let mut routes = Vec::with_capacity(file.routes.len());
            for (i, route) in file.routes.into_iter().enumerate() {
                let spec = file_route(route, base_dir.as_deref(), upstream_timeout).map_err(
                    |e| match e {
                        CliError::Usage(m) => CliError::Usage(format!("[[route]] #{}: {m}", i + 1)),
                        other => other,
                    },
                )?;
                routes.push(spec);
            }
            routes
        }
        None => vec![flag_route(args, upstream_timeout)?],
    };
    check_routes(&routes, lease)?;

    Ok(Settings {
        listen,
        store,
        redis_prefix,
        memory_capacity,
        max_body_memory,
        lease,
        retention,
        header_timeout,
        body_timeout,
        grace_period,
        max_connections,
        workers,
        log_format,
        admin_listen,
        trusted_proxies,
        routes,
    })
}

/// Why `--trust-forwarded-headers` / `trust_forwarded_headers` are refused.
const TRUST_FORWARDED_REPLACED: &str = "--trust-forwarded-headers (`trust_forwarded_headers`) trusted forwarding headers from every client; it was replaced by --trusted-proxy CIDR (`trusted_proxies = [\"10.0.0.0/8\"]`), which trusts them only from the proxies you name";

fn read_file(path: &Path) -> Result<FileConfig, CliError> {
    let source = Source::from_arg(Some(path));
    if source == Source::Stdin {
        return Err(CliError::Usage("--config needs a file".into()));
    }
    let bytes = source.read_bounded("configuration", MAX_CONFIG_FILE)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::Usage(format!(
            "the configuration file `{}` is not UTF-8",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| {
        // toml's message quotes the offending line, which may hold a literal secret: keep the
        // position and the reason only.
        let span = e
            .span()
            .map(|s| {
                let line = text.get(..s.start).map_or(0, |t| t.matches('\n').count()) + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        CliError::Usage(format!(
            "the configuration file `{}`{span}: {}",
            path.display(),
            e.message()
        ))
    })
}

fn check_no_route_flags(args: &ProxyArgs) -> Result<(), CliError> {
    let p = &args.params;
    for (set, flag) in [
        (args.upstream.is_some(), "--upstream"),
        (args.publish.is_some(), "--publish"),
        (args.preset.is_some(), "--preset"),
        (args.scheme_file.is_some(), "--scheme-file"),
        (p.algorithm.is_some(), "--algorithm"),
        (p.encoding.is_some(), "--encoding"),
        (p.signature_header.is_some(), "--signature-header"),
        (p.prefix.is_some(), "--prefix"),
        (!args.secrets.is_empty(), "--secret"),
        (!args.secret_files.is_empty(), "--secret-file"),
        (!args.labelled_secrets.is_empty(), "--labelled-secret"),
        (args.keys_url.is_some(), "--keys-url"),
        (args.keys_ca.is_some(), "--keys-ca"),
        (args.keys_refresh.is_some(), "--keys-refresh"),
        (args.name.is_some(), "--name"),
        (args.queued.any(), "--inbox (set `inbox` per [[route]])"),
        (args.tolerance.is_some(), "--tolerance"),
        (args.body_limit.is_some(), "--body-limit"),
        (args.no_dedup, "--no-dedup"),
        (args.forward_handshakes, "--forward-handshakes"),
        (args.handshake_token.is_some(), "--handshake-token"),
        (args.public_url.is_some(), "--public-url"),
        (args.no_event_id.is_some(), "--no-event-id"),
        (!args.methods.is_empty(), "--allow-method"),
    ] {
        if set {
            return Err(CliError::Usage(format!(
                "{flag} is a route setting: with --config, set it in the file's [[route]]"
            )));
        }
    }
    Ok(())
}

fn store_spec(args: &ProxyArgs, file: Option<&FileConfig>) -> Result<StoreSpec, CliError> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let spec = if let Some(url) = &args.redis {
        StoreSpec::Redis(secrets::expand_env(url)?)
    } else if let Some(nodes) = &args.redis_cluster {
        StoreSpec::Cluster(split(&secrets::expand_env(nodes)?))
    } else {
        match file.map(|f| (f.redis.as_deref(), f.redis_cluster.as_ref())) {
            Some((Some(_), Some(_))) => {
                return Err(CliError::Usage(
                    "`redis` and `redis_cluster` cannot both be set".into(),
                ));
            }
            Some((Some(url), None)) => StoreSpec::Redis(secrets::expand_env(url)?),
            Some((None, Some(nodes))) => {
                let mut all = Vec::new();
                for node in match nodes {
                    List::One(s) => vec![s.clone()],
                    List::Many(v) => v.clone(),
                } {
                    all.extend(split(&secrets::expand_env(&node)?));
                }
                StoreSpec::Cluster(all)
            }
            _ => StoreSpec::Memory,
        }
    };
    match &spec {
        StoreSpec::Redis(url) if url.trim().is_empty() => {
            return Err(CliError::Usage("the Redis URL is empty".into()));
        }
        StoreSpec::Cluster(nodes) if nodes.is_empty() => {
            return Err(CliError::Usage(
                "the Redis Cluster node list is empty".into(),
            ));
        }
        _ => {}
    }
    let urls = match &spec {
        StoreSpec::Memory => &[][..],
        StoreSpec::Redis(url) => std::slice::from_ref(url),
        StoreSpec::Cluster(nodes) => &nodes[..],
    };
    for url in urls {
        // Parsed, not connected (`--check` works offline); not echoed (it may hold a password).
        if redis::IntoConnectionInfo::into_connection_info(url.as_str()).is_err() {
            return Err(CliError::Usage(
                "the Redis URL is not a valid redis:// (or rediss://, redis+unix://) URL".into(),
            ));
        }
    }
    Ok(spec)
}

/// One route as given — by flags or by a `[[route]]` table — before anything is resolved:
/// both forms become this value, and [`route_spec`] is the one way from it to a
/// [`RouteSpec`].
struct RouteInput {
    path: String,
    upstream: Option<String>,
    publish: Option<String>,
    name: Option<String>,
    scheme: SchemeArgs,
    secrets: Vec<SecretArg>,
    labelled: Vec<LabelledSecret>,
    secret_files: Vec<PathBuf>,
    keys: KeysInput,
    tolerance: Option<u64>,
    body_limit: Option<usize>,
    dedup: bool,
    handshakes: bool,
    handshake_token: Option<SecretArg>,
    public_url: Option<String>,
    upstream_timeout: Duration,
    methods: Vec<String>,
    no_event_id: Option<NoEventId>,
    /// Messages name flags (`--preset`) or, for a file, settings (`preset`).
    from_file: bool,
    /// Queued delivery settings, as written.
    inbox: super::inbox::InboxFields,
}

/// A route's key set, as written.
#[derive(Default)]
struct KeysInput {
    url: Option<String>,
    ca: Option<PathBuf>,
    refresh: Option<Duration>,
}

/// The route of a flags-only invocation: every path (`/`).
fn flag_route(args: &ProxyArgs, upstream_timeout: Duration) -> Result<RouteSpec, CliError> {
    if args.upstream.is_none() == args.publish.is_none() {
        return Err(CliError::Usage(
            "give --upstream URL or --publish URL (or --config FILE with [[route]]s)".into(),
        ));
    }
    if args.preset.is_none() && args.scheme_file.is_none() {
        return Err(CliError::Usage(
            "give --preset NAME (or --scheme-file PATH, or --config FILE)".into(),
        ));
    }
    if args.secrets.is_empty()
        && args.secret_files.is_empty()
        && args.labelled_secrets.is_empty()
        && args.keys_url.is_none()
    {
        return Err(CliError::Usage(
            "give --secret S (or --secret env:NAME, --secret-file PATH, --keys-url URL)".into(),
        ));
    }
    route_spec(RouteInput {
        path: "/".to_owned(),
        upstream: args.upstream.clone(),
        publish: args.publish.clone(),
        name: args.name.clone(),
        scheme: SchemeArgs {
            preset: args.preset.clone(),
            scheme_file: args.scheme_file.clone(),
            inline: None,
            params: args.params.clone(),
        },
        secrets: args.secrets.clone(),
        labelled: args.labelled_secrets.clone(),
        secret_files: args.secret_files.clone(),
        keys: KeysInput {
            url: args.keys_url.clone(),
            ca: args.keys_ca.clone(),
            refresh: args.keys_refresh,
        },
        tolerance: args.tolerance,
        body_limit: args.body_limit,
        dedup: !args.no_dedup,
        handshakes: !args.forward_handshakes,
        handshake_token: args.handshake_token.clone(),
        public_url: args.public_url.clone(),
        upstream_timeout,
        methods: args.methods.clone(),
        no_event_id: args.no_event_id,
        from_file: false,
        inbox: (&args.queued).into(),
    })
}

/// A `[[route]]` table: paths relative to the file's directory.
fn file_route(
    route: FileRoute,
    base_dir: Option<&Path>,
    default_upstream_timeout: Duration,
) -> Result<RouteSpec, CliError> {
    let relative = |p: PathBuf| match base_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p,
    };
    let parse_param = |field: &str, value: Option<String>| -> Result<Option<String>, CliError> {
        match value {
            Some(v) if v.trim().is_empty() => Err(CliError::Usage(format!("`{field}` is empty"))),
            other => Ok(other),
        }
    };
    let algorithm = parse_param("algorithm", route.algorithm)?
        .map(|a| a.parse())
        .transpose()?;
    let encoding = parse_param("encoding", route.encoding)?
        .map(|e| e.parse())
        .transpose()?;
    let schemes = [
        route.preset.is_some(),
        route.scheme_file.is_some(),
        route.scheme.is_some(),
    ];
    if schemes.iter().filter(|set| **set).count() != 1 {
        return Err(CliError::Usage(
            "set exactly one of `preset`, `scheme_file` and a `[route.scheme]` table".into(),
        ));
    }
    if route.scheme.is_some() {
        for (set, field) in [
            (algorithm.is_some(), "algorithm"),
            (encoding.is_some(), "encoding"),
            (route.signature_header.is_some(), "signature_header"),
            (route.prefix.is_some(), "prefix"),
        ] {
            if set {
                return Err(CliError::Usage(format!(
                    "`{field}` does not apply with a `[route.scheme]` table: write it inside the table"
                )));
            }
        }
    }
    let mut secrets: Vec<SecretArg> = Vec::new();
    let mut labelled: Vec<LabelledSecret> = Vec::new();
    for entry in route.secret.map(List::into_vec).unwrap_or_default() {
        match entry {
            SecretEntry::Plain(s) => secrets.push(SecretArg::parse(&s)),
            SecretEntry::Labelled {
                value,
                label,
                not_after,
            } => labelled.push(LabelledSecret {
                label,
                not_after,
                secret: SecretArg::parse(&value),
            }),
        }
    }
    let secret_files: Vec<PathBuf> = route
        .secret_file
        .map(List::into_vec)
        .unwrap_or_default()
        .into_iter()
        .map(relative)
        .collect();
    if secrets.is_empty()
        && secret_files.is_empty()
        && labelled.is_empty()
        && route.keys_url.is_none()
    {
        return Err(CliError::Usage(
            "set `secret` (a value or \"env:NAME\"), `secret_file` or `keys_url`".into(),
        ));
    }
    if route.trust_forwarded_headers.is_some() {
        return Err(CliError::Usage(TRUST_FORWARDED_REPLACED.into()));
    }
    let upstream_timeout = match &route.upstream_timeout {
        Some(v) => v.get("upstream_timeout")?,
        None => default_upstream_timeout,
    };
    route_spec(RouteInput {
        path: normalize_path(&route.path)?,
        upstream: route.upstream,
        publish: route.publish,
        name: route.name,
        scheme: SchemeArgs {
            preset: route.preset,
            scheme_file: route.scheme_file.map(relative),
            inline: route.scheme,
            params: SchemeParams {
                algorithm,
                encoding,
                signature_header: route.signature_header,
                prefix: route.prefix,
            },
        },
        secrets,
        labelled,
        secret_files,
        keys: KeysInput {
            url: route.keys_url,
            ca: route.keys_ca.map(relative),
            refresh: route
                .keys_refresh
                .map(|v| v.get("keys_refresh"))
                .transpose()?,
        },
        tolerance: route.tolerance,
        body_limit: route.body_limit,
        dedup: route.dedup.unwrap_or(true),
        handshakes: route.handshakes.unwrap_or(true),
        handshake_token: route.handshake_token.as_deref().map(SecretArg::parse),
        public_url: route.public_url,
        upstream_timeout,
        methods: route.methods.unwrap_or_default(),
        no_event_id: route.no_event_id,
        from_file: true,
        inbox: super::inbox::InboxFields {
            inbox: route.inbox,
            max_attempts: route.max_attempts,
            retry_initial: route
                .retry_initial
                .map(|v| v.get("retry_initial"))
                .transpose()?,
            retry_max: route.retry_max.map(|v| v.get("retry_max")).transpose()?,
            delivery_concurrency: route.delivery_concurrency,
        },
    })
}

/// A route's key set: `keys_url` replaces secrets; `keys_ca` and `keys_refresh` need it.
fn keys_url(
    input: &KeysInput,
    has_secrets: bool,
    from_file: bool,
) -> Result<Option<KeysUrl>, CliError> {
    let name = |setting: &str| {
        if from_file {
            format!("`{setting}`")
        } else {
            format!("--{}", setting.replace('_', "-"))
        }
    };
    let Some(url) = &input.url else {
        for (set, setting) in [
            (input.ca.is_some(), "keys_ca"),
            (input.refresh.is_some(), "keys_refresh"),
        ] {
            if set {
                return Err(CliError::Usage(format!(
                    "{} needs {}",
                    name(setting),
                    name("keys_url")
                )));
            }
        }
        return Ok(None);
    };
    if has_secrets {
        return Err(CliError::Usage(format!(
            "{} replaces the route's secrets: remove {}, {} and {}",
            name("keys_url"),
            name("secret"),
            name("secret_file"),
            if from_file {
                "labelled secrets".to_owned()
            } else {
                "--labelled-secret".to_owned()
            }
        )));
    }
    let refresh = input.refresh.unwrap_or(DEFAULT_KEYS_REFRESH);
    if refresh < Duration::from_secs(1) {
        return Err(CliError::Usage(format!(
            "{} must be at least 1s",
            name("keys_refresh")
        )));
    }
    let ca_pem = input
        .ca
        .as_ref()
        .map(|path| Source::from_arg(Some(path)).read_bounded("key server CA", MAX_KEYS_CA_LEN))
        .transpose()?;
    Ok(Some(KeysUrl {
        // `env:NAME`: a URL carrying an access token need not show in argv or the file.
        url: secrets::expand_env(url)?,
        ca_pem,
        refresh,
    }))
}

/// Resolves a route: its scheme, secrets, upstream, methods and defaults.
fn route_spec(input: RouteInput) -> Result<RouteSpec, CliError> {
    let scheme = scheme_args::resolve(&input.scheme).map_err(|e| match e {
        // The messages speak of flags; in a file they name the setting.
        CliError::Usage(m) if input.from_file => CliError::Usage(m.replace("--", "")),
        other => other,
    })?;
    let before = secrets::collect(&input.secrets, &[])?;
    let from_files = secrets::collect(&[], &input.secret_files)?;
    let after = input
        .labelled
        .iter()
        .map(LabelledSecret::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let secrets: Vec<Secret> = before
        .iter()
        .chain(&from_files)
        .chain(&after)
        .cloned()
        .collect();
    let secret_files = (!input.secret_files.is_empty()).then(|| SecretFiles {
        before,
        files: input.secret_files.clone(),
        after,
    });
    let keys = keys_url(&input.keys, !secrets.is_empty(), input.from_file)?;
    if input.upstream_timeout < Duration::from_millis(1) {
        return Err(CliError::Usage(
            "the upstream timeout must be at least 1ms".into(),
        ));
    }
    let (upstream, publish) = match (&input.upstream, &input.publish) {
        (Some(u), None) => (Some(Upstream::parse(u).map_err(CliError::Usage)?), None),
        (None, Some(p)) => (None, Some(PublishUrl::parse(p)?)),
        _ => {
            return Err(CliError::Usage(
                "set exactly one of `upstream` and `publish`".into(),
            ));
        }
    };
    Ok(RouteSpec {
        name: input.name.unwrap_or_else(|| scheme.name().to_owned()),
        path: input.path,
        upstream,
        publish,
        secrets,
        secret_files,
        keys,
        tolerance: input.tolerance.map(Duration::from_secs),
        body_limit: input.body_limit,
        dedup: input.dedup,
        handshakes: input.handshakes,
        handshake_token: input
            .handshake_token
            .as_ref()
            .map(SecretArg::resolve)
            .transpose()?,
        public_url: input.public_url,
        upstream_timeout: input.upstream_timeout,
        methods: methods(&input.methods, &scheme, input.handshakes)?,
        no_event_id: input
            .no_event_id
            .unwrap_or_else(|| default_no_event_id(&scheme)),
        inbox: super::inbox::spec(input.inbox, input.dedup)?,
        scheme,
    })
}

/// The methods a route accepts: those given, else `POST`, and `GET` too when the scheme
/// has a `GET` request handshake the proxy answers (Meta's `hub.challenge`, X's `crc_token`).
fn methods(
    given: &[impl AsRef<str>],
    scheme: &Scheme,
    handshakes: bool,
) -> Result<Vec<Method>, CliError> {
    if given.is_empty() {
        let get = handshakes
            && scheme.handshakes().iter().any(|h| {
                h.request_method()
                    .is_some_and(|m| m.eq_ignore_ascii_case("GET"))
            });
        return Ok(if get {
            vec![Method::POST, Method::GET]
        } else {
            vec![Method::POST]
        });
    }
    let mut out: Vec<Method> = Vec::with_capacity(given.len());
    for m in given {
        let m = m.as_ref().trim();
        let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .ok()
            .filter(|_| !m.is_empty())
            .ok_or_else(|| CliError::Usage(format!("`{m}` is not an HTTP method")))?;
        if !out.contains(&method) {
            out.push(method);
        }
    }
    Ok(out)
}

/// Presets whose providers sign deliveries that carry no event id forward those without
/// deduplication: Slack's slash commands, interactivity and options payloads have none (only
/// Events API deliveries have `event_id`). Everything else rejects them: a missing id there
/// is a malformed or forged delivery.
fn default_no_event_id(scheme: &Scheme) -> NoEventId {
    match scheme.name() {
        "slack" => NoEventId::Forward,
        _ => NoEventId::Reject,
    }
}

fn normalize_path(path: &str) -> Result<String, CliError> {
    let p = path.trim();
    let bad = || {
        CliError::Usage(format!(
            "`path` `{path}` must be an absolute path such as /webhooks/stripe (no `.`/`..` or empty segments, encoded separators, backslashes)"
        ))
    };
    if !p.starts_with('/') || p.contains(['?', '#', ' ']) {
        return Err(bad());
    }
    // Routes are matched against normalised request paths: a route path must be one.
    if !matches!(super::path::normalize(p), Ok(std::borrow::Cow::Borrowed(_))) {
        return Err(bad());
    }
    let trimmed = p.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    })
}

fn check_routes(routes: &[RouteSpec], lease: Duration) -> Result<(), CliError> {
    for (i, r) in routes.iter().enumerate() {
        let valid_name = !r.name.is_empty()
            && r.name.len() <= 64
            && r.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_name {
            return Err(CliError::Usage(format!(
                "route name `{}`: use 1 to 64 of A-Z a-z 0-9 . _ -",
                r.name
            )));
        }
        for other in &routes[..i] {
            if other.name == r.name {
                return Err(CliError::Usage(format!(
                    "two routes are named `{}` (the name is the dedup scope and the metrics label): give each a distinct `name`",
                    r.name
                )));
            }
            if other.path == r.path {
                return Err(CliError::Usage(format!(
                    "two routes have the path `{}`",
                    r.path
                )));
            }
        }
        if r.dedup && r.upstream_timeout >= lease {
            return Err(CliError::Usage(format!(
                "route `{}`: the upstream timeout ({:?}) must be shorter than the dedup lease ({lease:?}), or a duplicate could overtake a delivery still in flight",
                r.name, r.upstream_timeout
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        let u = Upstream::parse("http://127.0.0.1:8000").unwrap();
        let pq: PathAndQuery = "/hooks/a?x=1".parse().unwrap();
        assert_eq!(
            u.uri_for(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:8000/hooks/a?x=1"
        );
        let u = Upstream::parse("http://app:3000/api/").unwrap();
        assert_eq!(u.to_string(), "http://app:3000/api");
        assert_eq!(
            u.uri_for(Some(&pq)).unwrap().to_string(),
            "http://app:3000/api/hooks/a?x=1"
        );
        assert_eq!(u.uri_for(None).unwrap().to_string(), "http://app:3000/api/");
        for bad in [
            "https://app/",
            "app:3000",
            "/x",
            "http://app/?q=1",
            "http://user:pw@app/",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_match_on_segment_boundaries() {
        let route = |path: &str| RouteSpec {
            name: "r".into(),
            path: normalize_path(path).unwrap(),
            scheme: countersign_core::Preset::Stripe.scheme(),
            secrets: vec![],
            secret_files: None,
            keys: None,
            upstream: Upstream::parse("http://a").ok(),
            publish: None,
            tolerance: None,
            body_limit: None,
            dedup: true,
            handshakes: true,
            handshake_token: None,
            public_url: None,
            upstream_timeout: Duration::from_secs(1),
            methods: vec![Method::POST],
            no_event_id: NoEventId::Reject,
            inbox: None,
        };
        let r = route("/hooks/stripe/");
        assert_eq!(r.path, "/hooks/stripe");
        assert!(r.matches("/hooks/stripe"));
        assert!(r.matches("/hooks/stripe/x"));
        assert!(!r.matches("/hooks/stripex"));
        assert!(!r.matches("/hooks"));
        assert!(route("/").matches("/anything"));
        assert!(normalize_path("hooks").is_err());
        assert!(normalize_path("/a?b").is_err());
        for bad in ["/a/../b", "/a//b", "/a/%2e%2e", "/%67ithub", "/a\\b"] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
    }

    fn proxy_args(args: &[&str]) -> ProxyArgs {
        use clap::Parser as _;
        let cli =
            crate::cli::Cli::try_parse_from(["countersign", "proxy"].iter().chain(args.iter()))
                .unwrap();
        match cli.command {
            crate::cli::Command::Proxy(args) => *args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_and_a_file_build_the_same_route() {
        let dir = std::env::temp_dir().join(format!("cs-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "[[route]]\npath = \"/\"\npreset = \"slack\"\nsecret = \"s\"\nupstream = \"http://127.0.0.1:9/app\"\nname = \"n\"\ntolerance = 60\nbody_limit = 1000\ndedup = true\nhandshakes = false\nmethods = [\"post\", \"PUT\"]\nno_event_id = \"reject\"\npublic_url = \"https://h.example\"\n",
        )
        .unwrap();
        let from_file = load(&proxy_args(&["--config", file.to_str().unwrap()])).unwrap();
        let from_flags = load(&proxy_args(&[
            "--upstream",
            "http://127.0.0.1:9/app",
            "--preset",
            "slack",
            "--secret",
            "s",
            "--name",
            "n",
            "--tolerance",
            "60",
            "--body-limit",
            "1000",
            "--forward-handshakes",
            "--allow-method",
            "post",
            "--allow-method",
            "PUT",
            "--no-event-id",
            "reject",
            "--public-url",
            "https://h.example",
        ]))
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (&from_file.routes[0], &from_flags.routes[0]);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.methods, [Method::POST, Method::PUT]);
        // Defaults by preset, the same both ways.
        let slack = load(&proxy_args(&[
            "--upstream",
            "http://a",
            "--preset",
            "slack",
            "--secret",
            "s",
        ]))
        .unwrap();
        assert_eq!(slack.routes[0].no_event_id, NoEventId::Forward);
        assert_eq!(slack.routes[0].methods, [Method::POST]);
    }

    #[test]
    fn durations_in_files() {
        let v: FileConfig =
            toml::from_str("header_timeout = \"250ms\"\nbody_timeout = 7\n").unwrap();
        assert_eq!(
            v.header_timeout.unwrap().get("header_timeout").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            v.body_timeout.unwrap().get("body_timeout").unwrap(),
            Duration::from_secs(7)
        );
        let err = toml::from_str::<FileConfig>("nonsense = 1").unwrap_err();
        assert!(err.message().contains("unknown field"), "{err}");
    }

    #[test]
    fn store_urls_are_not_debug_printed() {
        let s = StoreSpec::Redis("redis://:hunter2@db:6379/".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = StoreSpec::Cluster(vec!["redis://:hunter2@a/".into()]);
        assert_eq!(format!("{c:?}"), "Cluster(<1 nodes>)");
    }
}
