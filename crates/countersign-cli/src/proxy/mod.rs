//! `countersign proxy`: a verifying, deduplicating reverse proxy in front of an app written
//! in any language.
//!
//! ```text
//! provider ─▶ proxy ─────────────────────────────────────────────────────▶ upstream app
//!             VerifyLayer → DedupLayer (claim) → Forward (same path + query,
//!             exact body, original headers + Countersign-Verified: true,
//!             Countersign-Event-Id, Countersign-Preset)
//!             ◀── upstream 2xx recorded done, then relayed; non-2xx/502/504 → claim released
//! ```
//!
//! Built on hyper/hyper-util and the two tower layers of this workspace: no web framework.
//! Modules: [`config`] (flags and TOML file), [`route`] (the per-route stack and the router),
//! [`path`] (the normal form of request paths), [`trusted`] (trusted proxies),
//! [`forward`] (the upstream call), [`deadline`] (body timeout), [`server`] (accept loop,
//! limits, draining), [`stall`] (write stall timeout), [`health`], [`metrics`], [`logging`], [`sampling`] (rejection logs).
//!
//! Exit codes: `0` after a clean shutdown (SIGTERM/SIGINT), `2` when the configuration is
//! unusable or the proxy cannot start (address in use, Redis unreachable at start).

mod cancelled;
pub(crate) mod config;
mod deadline;
mod forward;
mod health;
pub(crate) mod inbox;
mod logging;
mod metrics;
mod path;
mod publish;
mod route;
mod sampling;
mod secret_files;
mod server;
mod stall;
mod trusted;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use countersign_dedup::{DedupStore, MemoryStore, RedisClusterStore, RedisStore};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use self::config::{Settings, StoreSpec};
use self::forward::UpstreamClient;
use crate::cli::ProxyArgs;
use crate::error::CliError;
use crate::output;

/// Connect timeout towards the upstream.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the command.
pub(crate) fn run(args: &ProxyArgs) -> Result<ExitCode, CliError> {
    let settings = config::load(args)?;
    if args.check {
        return check(&settings);
    }
    logging::init(settings.log_format);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = settings.workers {
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| proxy_error("cannot start the async runtime", e))?;
    let result = runtime.block_on(serve(settings));
    logging::flush();
    result
}

fn proxy_error(
    what: &str,
    e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
) -> CliError {
    CliError::Proxy {
        what: what.to_owned(),
        source: Some(e.into()),
    }
}

/// `--check`: build every route (secrets decoded, presets and dedup checked), print them.
fn check(settings: &Settings) -> Result<ExitCode, CliError> {
    let router = route::build(
        settings,
        Arc::new(MemoryStore::new()),
        settings.store.kind(),
        &client(),
        &CancellationToken::new(),
        &Arc::new(inbox::Queued::unopened(settings)?),
    )?;
    drop(router);
    publish::check_brokers_blocking(settings)?;
    let mut out = String::new();
    let _ = writeln!(out, "listen {}", settings.listen);
    if let Some(admin) = settings.admin_listen {
        let _ = writeln!(out, "admin {admin}");
    }
    let _ = writeln!(out, "store {}", settings.store.kind());
    if !settings.trusted_proxies.is_empty() {
        let blocks: Vec<String> = settings
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(out, "trusted_proxies {}", blocks.join(","));
    }
    for r in &settings.routes {
        let _ = writeln!(
            out,
            "route {} {} -> {} preset={} secrets={} dedup={} handshakes={} tolerance={} upstream_timeout={:?} methods={} no_event_id={}",
            r.name,
            r.path,
            match (&r.upstream, &r.publish) {
                (Some(u), _) => u.to_string(),
                (None, Some(p)) => p.to_string(),
                (None, None) => "-".to_owned(),
            },
            r.scheme.name(),
            r.secrets.len(),
            if r.dedup { "on" } else { "off" },
            if r.handshakes {
                "answered"
            } else {
                "forwarded"
            },
            r.tolerance
                .map_or_else(|| "preset".to_owned(), |t| format!("{}s", t.as_secs())),
            r.upstream_timeout,
            r.methods
                .iter()
                .map(http::Method::as_str)
                .collect::<Vec<_>>()
                .join(","),
            match r.no_event_id {
                crate::cli::NoEventId::Forward => "forward",
                crate::cli::NoEventId::Reject => "reject",
            },
        );
        if let Some(q) = &r.inbox {
            let _ = writeln!(
                out,
                "  inbox {} max_attempts={} retry_initial={:?} retry_max={:?} delivery_concurrency={} lease={:?}",
                q.url,
                q.max_attempts,
                q.backoff.initial(),
                q.backoff.max(),
                q.concurrency,
                settings.lease,
            );
        }
    }
    out.push_str("ok\n");
    output::stdout(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(UPSTREAM_CONNECT_TIMEOUT));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build::<_, Full<Bytes>>(connector)
}

async fn connect_store(settings: &Settings) -> Result<Arc<dyn DedupStore>, CliError> {
    let any_dedup = settings
        .routes
        .iter()
        .any(|r| r.dedup || r.publish.is_some());
    let prefix = settings
        .redis_prefix
        .clone()
        .unwrap_or_else(|| countersign_dedup::DEFAULT_REDIS_PREFIX.to_owned());
    Ok(match &settings.store {
        StoreSpec::Redis(url) if any_dedup => Arc::new(
            RedisStore::builder(url.clone())
                .prefix(prefix)
                .connect()
                .await
                .map_err(|e| proxy_error("cannot connect to Redis", e))?,
        ),
        StoreSpec::Cluster(nodes) if any_dedup => Arc::new(
            RedisClusterStore::builder(nodes.clone())
                .prefix(prefix)
                .connect()
                .await
                .map_err(|e| proxy_error("cannot connect to the Redis Cluster", e))?,
        ),
        _ => Arc::new(
            MemoryStore::builder()
                .capacity(settings.memory_capacity)
                .build()
                .map_err(|e| proxy_error("cannot build the memory store", e))?,
        ),
    })
}

/// Counts SIGTERM/SIGINT deliveries.
fn signals() -> Result<watch::Receiver<u32>, CliError> {
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| proxy_error("cannot install the SIGTERM handler", e))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| proxy_error("cannot install the SIGINT handler", e))?;
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(target: "countersign::proxy", signal = name, "signal received");
            tx.send_modify(|n| *n = n.saturating_add(1));
        }
    });
    Ok(rx)
}

async fn nth_signal(mut rx: watch::Receiver<u32>, n: u32) {
    if rx.wait_for(|count| *count >= n).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn serve(settings: Settings) -> Result<ExitCode, CliError> {
    let signals = signals()?;
    tokio::spawn(sampling::report_suppressed());
    let store = connect_store(&settings).await?;
    publish::check_brokers(&settings).await?;
    let cancel = CancellationToken::new();
    let queued = Arc::new(inbox::Queued::open(&settings).await?);
    let client = client();
    let router = Arc::new(route::build(
        &settings,
        store,
        settings.store.kind(),
        &client,
        &cancel,
        &queued,
    )?);
    // Queued routes' workers stop leasing at the first signal; running deliveries get the
    // grace period, the rest is left to lease expiry.
    let stop_workers = CancellationToken::new();
    let workers = queued.start(&settings, &client, &stop_workers)?;
    tokio::spawn({
        let stop = stop_workers.clone();
        let first = nth_signal(signals.clone(), 1);
        async move {
            first.await;
            stop.cancel();
        }
    });
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| proxy_error(&format!("cannot listen on {}", settings.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| proxy_error("cannot read the listening address", e))?;
    let admin = match settings.admin_listen {
        Some(admin) => Some(
            TcpListener::bind(admin)
                .await
                .map_err(|e| proxy_error(&format!("cannot listen on {admin} (admin)"), e))?,
        ),
        None => None,
    };
    if let Some(admin) = &admin
        && let Ok(a) = admin.local_addr()
    {
        tracing::info!(target: "countersign::proxy", admin = %a, "/healthz and /metrics on the admin address");
    }
    for (name, path) in router.routes() {
        tracing::info!(target: "countersign::proxy", route = name, path, "route");
    }
    tracing::info!(
        target: "countersign::proxy",
        listen = %addr,
        store = settings.store.kind(),
        header_timeout = ?settings.header_timeout,
        body_timeout = ?settings.body_timeout,
        grace_period = ?settings.grace_period,
        max_connections = settings.max_connections,
        "listening"
    );
    // Scripts and tests read the address (useful with port 0) from the first stdout line. A
    // closed stdout is no reason not to serve.
    let _ = output::stdout(format!("countersign proxy listening on http://{addr}\n").as_bytes());

    let options = server::Options {
        header_timeout: settings.header_timeout,
        grace_period: settings.grace_period,
        max_connections: settings.max_connections,
    };
    let report = server::serve(
        listener,
        admin,
        Arc::clone(&router),
        options,
        cancel,
        nth_signal(signals.clone(), 1),
        nth_signal(signals, 2),
    )
    .await;
    stop_workers.cancel();
    let aborted_deliveries = workers.join().await;
    if aborted_deliveries > 0 {
        tracing::warn!(
            target: "countersign::proxy",
            aborted_deliveries,
            "queued deliveries still running after the grace period were aborted; they are delivered again when their leases expire"
        );
    }
    if report.claims_pending > 0 {
        tracing::warn!(
            target: "countersign::proxy",
            claims_pending = report.claims_pending,
            "stopped with forwards still running; their claims expire with their lease (a retry before then is answered 409)"
        );
    }
    tracing::info!(
        target: "countersign::proxy",
        open_after_grace = report.open_after_grace,
        aborted = report.aborted,
        claims_pending = report.claims_pending,
        "stopped"
    );
    Ok(ExitCode::SUCCESS)
}
