//! The HTTP/1.1 server: accept loop with a connection limit, per-connection hyper with a
//! header-read timeout, and graceful shutdown.
//!
//! ## Shutdown
//!
//! 1. Stop accepting (the listener closes; `/healthz` answers 503 from the first signal on).
//! 2. Every connection finishes the request it is serving and closes; idle keep-alive
//!    connections close at once; a connection accepted but with no request yet is served its
//!    first request (its client sent it before the listener closed) or closes at the header
//!    timeout.
//!    Forwards whose client went away run on in the dedup layer's tasks; the grace period
//!    waits for them too (until no claim is pending).
//! 3. When the grace period ends (or a second signal arrives), requests still waiting for
//!    the upstream are answered `503` + `Retry-After`; at most [`RELEASE_WINDOW`] later
//!    whatever is left is aborted. Forwards still running are abandoned when the proxy
//!    exits: their claims are neither completed nor released but expire with their lease,
//!    so that a retry cannot race an upstream that may still be working.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::forward::{ErrorChain, Peer};
use super::metrics::Metrics;
use super::route::Router;

/// After the grace period: how long requests cut off from their upstream get to answer
/// `503` before the rest is aborted.
pub(crate) const RELEASE_WINDOW: Duration = Duration::from_secs(5);

/// Server settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) header_timeout: Duration,
    pub(crate) grace_period: Duration,
    pub(crate) max_connections: usize,
}

/// How the shutdown went.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Connections open when the grace period ended.
    pub(crate) open_after_grace: usize,
    /// Connections aborted after the release window.
    pub(crate) aborted: usize,
    /// Claims of forwards still running when the proxy stopped (abandoned: they expire with
    /// their lease).
    pub(crate) claims_pending: u64,
}

/// Per connection: whether a request has started, and a wake-up for the first one.
#[derive(Debug, Default)]
struct ConnState {
    started: AtomicBool,
    first_request: Notify,
}

/// Serves until `shutdown` resolves, then shuts down gracefully (see the module docs).
/// `second_signal` cuts the grace period short; `cancel` is the forwarders' token.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    options: Options,
    cancel: CancellationToken,
    shutdown: impl Future<Output = ()>,
    second_signal: impl Future<Output = ()>,
) -> Report {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let drain = CancellationToken::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(target: "countersign::proxy", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        conns.spawn(connection(
            stream,
            peer,
            permit,
            Arc::clone(&router),
            options.header_timeout,
            drain.clone(),
        ));
    }

    drop(listener);
    router.health().set_shutting_down();
    drain.cancel();
    let metrics = Arc::clone(router.metrics());
    tracing::info!(
        target: "countersign::proxy",
        connections = conns.len(),
        requests_in_flight = metrics.requests_in_flight(),
        grace_period = ?options.grace_period,
        "shutting down: no longer accepting; letting in-flight requests finish"
    );
    let mut report = Report::default();
    tokio::pin!(second_signal);

    // 2. Let connections finish within the grace period.
    let grace_end = Instant::now() + options.grace_period;
    let mut cut_short = drain_until(&mut conns, grace_end, second_signal.as_mut()).await;
    // Forwards whose client went away still run in the dedup layer's tasks.
    while !cut_short && metrics.claims_pending() > 0 && Instant::now() < grace_end {
        tokio::select! {
            biased;
            () = second_signal.as_mut() => cut_short = true,
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    if !conns.is_empty() {
        report.open_after_grace = conns.len();
        tracing::warn!(
            target: "countersign::proxy",
            connections = conns.len(),
            requests_in_flight = metrics.requests_in_flight(),
            "{}: answering requests still waiting for the upstream 503; their claims expire with their lease",
            if cut_short { "second signal" } else { "grace period over" }
        );
        // 3. Answer the requests waiting for their forward; the forwards keep their claims.
        cancel.cancel();
        let window_end = Instant::now() + RELEASE_WINDOW;
        while metrics.requests_in_flight() > 0 && Instant::now() < window_end && !conns.is_empty() {
            tokio::select! {
                Some(_) = conns.join_next() => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        report.aborted = conns.len();
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }

    // Forwards still running are abandoned with the runtime (never released).
    report.claims_pending = metrics.claims_pending();
    report
}

/// Joins connection tasks until none is left, `deadline` passes or `signal` fires
/// (returns `true` then).
async fn drain_until<F: Future<Output = ()>>(
    conns: &mut JoinSet<()>,
    deadline: Instant,
    mut signal: Pin<&mut F>,
) -> bool {
    loop {
        if conns.is_empty() {
            return false;
        }
        tokio::select! {
            biased;
            () = signal.as_mut() => return true,
            () = tokio::time::sleep_until(deadline) => return false,
            joined = conns.join_next() => {
                if joined.is_none() {
                    return false;
                }
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    router: Arc<Router>,
    header_timeout: Duration,
    drain: CancellationToken,
) {
    let _permit = permit;
    let _open = Open::new(Arc::clone(router.metrics()));
    let _ = stream.set_nodelay(true);
    let state = Arc::new(ConnState::default());
    let service_state = Arc::clone(&state);
    let client = Peer::new(peer);
    let service = hyper::service::service_fn(move |req| {
        if !service_state.started.swap(true, Ordering::Relaxed) {
            service_state.first_request.notify_one();
        }
        Arc::clone(&router).handle(req, client.clone())
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);

    // 0: serving; 1: draining, waiting for the first request; 2: graceful shutdown asked.
    let mut phase = 0u8;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(target: "countersign::proxy", %peer, error = %ErrorChain(&e), "connection ended with an error");
                }
                break;
            }
            () = drain.cancelled(), if phase == 0 => {
                if state.started.load(Ordering::Relaxed) {
                    conn.as_mut().graceful_shutdown();
                    phase = 2;
                } else {
                    phase = 1;
                }
            }
            () = state.first_request.notified(), if phase == 1 => {
                conn.as_mut().graceful_shutdown();
                phase = 2;
            }
        }
    }
}

/// Counts a connection open from creation to drop (aborted tasks included).
struct Open(Arc<Metrics>);

impl Open {
    fn new(metrics: Arc<Metrics>) -> Self {
        metrics.connection(1);
        Open(metrics)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connection(-1);
    }
}
