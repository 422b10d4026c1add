//! The HTTP/1.1 server: accept loop with a connection limit, per-connection hyper with a
//! header-read timeout (also the longest a client may leave its answers unread, see
//! [`super::stall`]), and graceful shutdown.
//!
//! ## Shutdown
//!
//! 1. Drain for the grace period: the listener stays open so that load balancers see
//!    `/healthz` answer 503 (and stop sending) instead of refused connections; new requests
//!    are answered `503` + `Retry-After` + `Connection: close` without any work.
//! 2. Every connection finishes the request it is serving and closes; idle keep-alive
//!    connections close at once; a connection with no request yet is served its first request
//!    (a 503) or closes at the header timeout.
//!    Forwards whose client went away run on in the dedup layer's tasks meanwhile.
//! 3. When the grace period ends (or a second signal arrives), the listener closes; requests
//!    still waiting for the upstream are answered `503` + `Retry-After`; at most
//!    [`RELEASE_WINDOW`] later whatever is left is aborted. Forwards still running are
//!    abandoned when the proxy exits: their claims are neither completed nor released but
//!    expire with their lease, so that a retry cannot race an upstream that may still be
//!    working (`claims_pending` in the stop log).

use std::future::Future;
use std::net::SocketAddr;
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

use super::cancelled::Cancelled;
use super::forward::{ErrorChain, Peer};
use super::metrics::Metrics;
use super::route::Router;
use super::stall::WriteStall;

/// After the grace period: how long requests cut off from their upstream get to answer
/// `503` before the rest is aborted.
pub(crate) const RELEASE_WINDOW: Duration = Duration::from_secs(5);
/// The read buffer of a connection, which bounds a request head (line and headers): hyper
/// checks it between reads, so a head over 32 KiB may be, and one over 64 KiB always is,
/// answered `431` (nginx's default is 32 KiB). Webhook heads are a few KiB. With hyper's
/// default (~400 KiB), 1 000 connections trickling an unfinished head took the proxy to
/// 350 MB before any verification; with this, 85 MB.
pub(crate) const MAX_HEAD_BYTES: usize = 32 * 1024;

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
/// `second_signal` cuts the grace period short; `cancel` is the forwarders' token. `admin`
/// serves `/healthz` and `/metrics` until the end.
pub(crate) async fn serve(
    listener: TcpListener,
    admin: Option<TcpListener>,
    router: Arc<Router>,
    options: Options,
    cancel: CancellationToken,
    shutdown: impl Future<Output = ()>,
    second_signal: impl Future<Output = ()>,
) -> Report {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let drain = CancellationToken::new();
    let mut conns = JoinSet::new();
    let admin =
        admin.map(|l| tokio::spawn(admin_loop(l, Arc::clone(&router), options.header_timeout)));
    tokio::pin!(shutdown);
    tokio::pin!(second_signal);
    // 1. Serve until the first signal.
    tokio::select! {
        biased;
        () = &mut shutdown => {}
        () = accept_until(&listener, &mut conns, &slots, &router, options.header_timeout, &drain, None) => {}
    }
    router.health().set_shutting_down();
    drain.cancel();
    let metrics = Arc::clone(router.metrics());
    tracing::info!(
        target: "countersign::proxy",
        connections = conns.len(),
        requests_in_flight = metrics.requests_in_flight(),
        grace_period = ?options.grace_period,
        "draining: /healthz and new requests answer 503; letting in-flight requests finish"
    );
    let mut report = Report::default();

    // 2. Keep the listener open (answering 503) and let connections finish within the grace
    //    period.
    let grace_end = Instant::now() + options.grace_period;
    let cut_short = tokio::select! {
        biased;
        () = second_signal.as_mut() => true,
        () = accept_until(&listener, &mut conns, &slots, &router, options.header_timeout, &drain, Some(grace_end)) => false,
    };
    drop(listener);
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
    if let Some(admin) = admin {
        admin.abort();
    }
    report
}

/// Accepts connections (reaping finished ones) until `end`, forever without one.
async fn accept_until(
    listener: &TcpListener,
    conns: &mut JoinSet<()>,
    slots: &Arc<Semaphore>,
    router: &Arc<Router>,
    header_timeout: Duration,
    drain: &CancellationToken,
    end: Option<Instant>,
) {
    let deadline = async {
        match end {
            Some(end) => tokio::time::sleep_until(end).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut deadline => return,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            permit = Arc::clone(slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut deadline => return,
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
            Arc::clone(router),
            header_timeout,
            drain.clone(),
        ));
    }
}

/// Most connections the admin listener serves at once.
const ADMIN_CONNECTIONS: usize = 16;

/// Serves `/healthz` and `/metrics` on the admin listener.
async fn admin_loop(listener: TcpListener, router: Arc<Router>, header_timeout: Duration) {
    let slots = Arc::new(Semaphore::new(ADMIN_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(target: "countersign::proxy", error = %e, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = Arc::clone(&router);
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(move |req| Arc::clone(&router).handle_admin(req));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(
                    TokioIo::new(WriteStall::new(stream, header_timeout)),
                    service,
                )
                .await;
        });
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
    let client = Peer::new(peer, router.trusts(peer.ip()));
    let service = hyper::service::service_fn(move |req| {
        if !service_state.started.swap(true, Ordering::Relaxed) {
            service_state.first_request.notify_one();
        }
        Arc::clone(&router).handle(req, client.clone())
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(
            TokioIo::new(WriteStall::new(stream, header_timeout)),
            service,
        );
    tokio::pin!(conn);

    // 0: serving; 1: draining, waiting for the first request; 2: graceful shutdown asked.
    let mut phase = 0u8;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(target: "countersign::proxy", %peer, error = %ErrorChain(&e), "connection ended with an error");
                }
                break;
            }
            () = Cancelled::new(&drain), if phase == 0 => {
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
