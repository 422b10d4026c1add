//! `VerifyLayer` + `PublishService` end to end: real HTTP (axum on 127.0.0.1:0, a hyper
//! client), real signatures, real brokers — every behaviour on both backends, plus the
//! failure cases with a broker the test owns (a RabbitMQ vhost it deletes, a nats-server it
//! kills or freezes).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use countersign_core::{Preset, SignRequest, Signer};
use countersign_publish::{DUPLICATE_HEADER, FailureKind, PublishService, PublishStats, Publisher};
use countersign_testkit::{NatsServer, RabbitVhost};
use countersign_tower::VerifyLayer;
use futures_util::future::join_all;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use support::{Amqp, Backend, Nats};
use tower::ServiceBuilder;

const SECRET: &str = "It's a Secret to Everybody";
const WAIT: Duration = Duration::from_secs(5);
/// Long enough for "nothing was published" to mean something.
const QUIET: Duration = Duration::from_millis(300);

struct App {
    addr: SocketAddr,
    stats: PublishStats,
}

fn service(publisher: Arc<dyn Publisher>, timeout: Duration) -> PublishService {
    PublishService::builder_arc(publisher, Preset::Github)
        .route("hooks")
        .timeout(timeout)
        .lease(Duration::from_secs(20))
        .retry_after(Duration::from_secs(1))
        .event_type_with(|parts, _body| {
            parts
                .headers
                .get("x-github-event")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .build()
        .unwrap()
}

async fn serve(publisher: Arc<dyn Publisher>, timeout: Duration) -> App {
    let publish = service(publisher, timeout);
    let stats = publish.stats();
    let stack = ServiceBuilder::new()
        .layer(VerifyLayer::new(Preset::Github, SECRET).unwrap())
        .service(publish);
    let app = axum::Router::new().route_service("/hook", stack);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    App { addr, stats }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
}

impl Answer {
    fn duplicate(&self) -> bool {
        self.headers
            .get(DUPLICATE_HEADER)
            .is_some_and(|v| v == "true")
    }
    fn retry_after(&self) -> bool {
        self.headers.contains_key(http::header::RETRY_AFTER)
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn body_of(id: &str) -> Vec<u8> {
    format!("{{\"id\":\"{id}\",\"bytes\":\"\u{e9}\"}}\n").into_bytes()
}

async fn send(client: &HttpClient, addr: SocketAddr, id: &str, tamper: bool) -> Answer {
    let body = body_of(id);
    let headers = Signer::new(Preset::Github, SECRET)
        .unwrap()
        .sign(&SignRequest::new(&body).id(id))
        .unwrap();
    let mut sent = body.clone();
    if tamper {
        sent[2] ^= 1;
    }
    let mut req = Request::post(format!("http://{addr}/hook"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request/opened")
        .body(Full::new(Bytes::from(sent)))
        .unwrap();
    req.headers_mut().extend(headers);
    let res = client.request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let _ = body.collect().await;
    Answer {
        status: parts.status,
        headers: parts.headers,
    }
}

async fn a_delivery_is_published_once<B: Backend>() {
    let b = B::new("svc_once").await;
    let app = serve(b.publisher(), WAIT).await;
    let c = client();
    let first = send(&c, app.addr, "d-1", false).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert!(!first.duplicate());
    let again = send(&c, app.addr, "d-1", false).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.duplicate(), "a redelivery is a marked duplicate");
    b.received(1, WAIT).await;
    tokio::time::sleep(QUIET).await;
    let got = b.received(0, Duration::ZERO).await;
    assert_eq!(got.len(), 1, "exactly one message");
    assert_eq!(got[0].body, body_of("d-1"), "exact bytes");
    assert_eq!(got[0].headers["Countersign-Event-Id"], "d-1");
    assert_eq!(got[0].headers["Countersign-Preset"], "github");
    assert_eq!(got[0].headers["Countersign-Route"], "hooks");
    assert_eq!(got[0].headers["Content-Type"], "application/json");
    assert_eq!(
        got[0].headers["Countersign-Event-Type"],
        "pull_request/opened"
    );
    assert!(got[0].routed_as.ends_with(".github.pull_request_opened"));
    let s = app.stats.snapshot();
    assert_eq!((s.published, s.duplicates), (1, 1));
    assert_eq!(
        s.latency_buckets.last(),
        Some(&1),
        "one confirm latency observed"
    );
    b.cleanup().await;
}

async fn tampered_is_401_and_nothing_published<B: Backend>() {
    let b = B::new("svc_tamper").await;
    let app = serve(b.publisher(), WAIT).await;
    let c = client();
    let a = send(&c, app.addr, "d-t", true).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(QUIET).await;
    assert!(
        b.received(0, Duration::ZERO).await.is_empty(),
        "nothing published"
    );
    // The untampered delivery of the same event is then published: the forgery claimed nothing.
    assert_eq!(
        send(&c, app.addr, "d-t", false).await.status,
        StatusCode::OK
    );
    assert_eq!(b.received(1, WAIT).await.len(), 1);
    b.cleanup().await;
}

async fn concurrent_duplicates_make_one_message<B: Backend>() {
    let b = B::new("svc_burst").await;
    let app = serve(b.publisher(), WAIT).await;
    let c = client();
    for round in 0..3 {
        let id = format!("d-burst-{round}");
        let answers = join_all((0..64).map(|_| send(&c, app.addr, &id, false))).await;
        let mut first = 0;
        for a in &answers {
            match (a.status, a.duplicate()) {
                (StatusCode::OK, false) => first += 1,
                (StatusCode::OK, true) => {}
                (StatusCode::CONFLICT, false) => assert!(a.retry_after()),
                other => panic!("unexpected {other:?}: {a:?}"),
            }
        }
        assert_eq!(first, 1, "one delivery published: {answers:?}");
    }
    b.received(3, WAIT).await;
    tokio::time::sleep(QUIET).await;
    let got = b.received(0, Duration::ZERO).await;
    assert_eq!(got.len(), 3, "one message per event");
    b.cleanup().await;
}

async fn unroutable_is_503_and_released<B: Backend>() {
    let mut b = B::new("svc_unroutable").await;
    let app = serve(b.unroutable().await, WAIT).await;
    let c = client();
    for _ in 0..2 {
        // 503 both times, never 409: the first attempt released its claim.
        let a = send(&c, app.addr, "d-u", false).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
        assert!(a.retry_after());
    }
    assert_eq!(app.stats.snapshot().failures_of(FailureKind::Unroutable), 2);
    b.cleanup().await;
}

async fn a_full_destination_is_503_not_200<B: Backend>() {
    let mut b = B::new("svc_full").await;
    let app = serve(b.full().await, WAIT).await;
    let c = client();
    assert_eq!(
        send(&c, app.addr, "d-f1", false).await.status,
        StatusCode::OK
    );
    let a = send(&c, app.addr, "d-f2", false).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert_eq!(app.stats.snapshot().failures_of(FailureKind::Rejected), 1);
    b.cleanup().await;
}

macro_rules! suite {
    ($name:ident, $backend:ty) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_delivery_is_published_once() {
                super::a_delivery_is_published_once::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn tampered_is_401_and_nothing_published() {
                super::tampered_is_401_and_nothing_published::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_duplicates_make_one_message() {
                super::concurrent_duplicates_make_one_message::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unroutable_is_503_and_released() {
                super::unroutable_is_503_and_released::<$backend>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_full_destination_is_503_not_200() {
                super::a_full_destination_is_503_not_200::<$backend>().await;
            }
        }
    };
}

suite!(rabbitmq, Amqp);
suite!(nats_jetstream, Nats);

/// RabbitMQ goes away (the test's own vhost is deleted, which closes every connection to
/// it): 503 within the timeout, nothing published, claim released; after it is back the
/// sender's retry is published once, by the same publisher (it reconnects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_gone_then_back() {
    let mut vhost = RabbitVhost::create("svc_gone");
    let b = Amqp::on(vhost.url(), "svc_gone").await;
    let app = serve(b.publisher(), Duration::from_secs(3)).await;
    let c = client();
    assert_eq!(
        send(&c, app.addr, "d-g0", false).await.status,
        StatusCode::OK
    );
    assert_eq!(b.received(1, WAIT).await.len(), 1);

    vhost.delete();
    for _ in 0..2 {
        let started = Instant::now();
        let a = send(&c, app.addr, "d-g1", false).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
        assert!(a.retry_after());
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }

    vhost.recreate();
    let mut b = b;
    b.redeclare().await;
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    let deadline = Instant::now() + Duration::from_secs(10);
    while status != StatusCode::OK && Instant::now() < deadline {
        status = send(&c, app.addr, "d-g1", false).await.status;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "the retry is published after recovery"
    );
    b.received(1, WAIT).await;
    tokio::time::sleep(QUIET).await;
    let got = b.received(0, Duration::ZERO).await;
    let ids: Vec<&str> = got
        .iter()
        .map(|m| m.headers["Countersign-Event-Id"].as_str())
        .collect();
    assert_eq!(ids, ["d-g0", "d-g1"], "each event once");
    b.cleanup().await;
}

/// NATS goes away (a server the test started, killed): 503 within the timeout, nothing
/// published, claim released; after a restart the sender's retry is published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_gone_then_back() {
    let mut server = NatsServer::start();
    let b = Nats::on(server.url(), "svc_nats_gone").await;
    let app = serve(b.publisher(), Duration::from_secs(3)).await;
    let c = client();
    assert_eq!(
        send(&c, app.addr, "d-n0", false).await.status,
        StatusCode::OK
    );

    server.kill();
    for _ in 0..2 {
        let started = Instant::now();
        let a = send(&c, app.addr, "d-n1", false).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            a.headers.get(http::header::RETRY_AFTER).unwrap(),
            "1",
            "released, not in flight"
        );
    }
    assert!(app.stats.snapshot().failures_of(FailureKind::Unreachable) >= 2);

    server.restart();
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    let deadline = Instant::now() + Duration::from_secs(15);
    while status != StatusCode::OK && Instant::now() < deadline {
        status = send(&c, app.addr, "d-n1", false).await.status;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "the retry is published after the restart"
    );
    let got = b.received(2, WAIT).await;
    let ids: Vec<&str> = got
        .iter()
        .map(|m| m.headers["Countersign-Event-Id"].as_str())
        .collect();
    assert_eq!(ids, ["d-n0", "d-n1"], "each event once");
}

/// The broker has the message but has not confirmed it when the publish timeout ends (a
/// frozen nats-server): 503, the claim is KEPT (a retry is 409, not a second publish); the
/// late confirmation is recorded, and the retry is then a duplicate — one message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_confirmation_keeps_the_claim_and_lands_once() {
    let server = NatsServer::start();
    let b = Nats::on(server.url(), "svc_late").await;
    let app = serve(b.publisher(), Duration::from_millis(800)).await;
    let c = client();
    assert_eq!(
        send(&c, app.addr, "d-l0", false).await.status,
        StatusCode::OK
    );

    server.pause();
    let a = send(&c, app.addr, "d-l1", false).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert_eq!(
        a.headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("text/plain; charset=utf-8")
    );
    let retry = send(&c, app.addr, "d-l1", false).await;
    assert_eq!(
        retry.status,
        StatusCode::CONFLICT,
        "claim kept while the outcome is open"
    );
    server.resume();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    while Instant::now() < deadline {
        let a = send(&c, app.addr, "d-l1", false).await;
        if a.status == StatusCode::OK {
            last = Some(a);
            break;
        }
        assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = last.expect("answered 200 after the late confirmation");
    assert!(
        last.duplicate(),
        "the late confirmation was recorded: {last:?}"
    );
    let got = b.received(2, WAIT).await;
    let ids: Vec<&str> = got
        .iter()
        .map(|m| m.headers["Countersign-Event-Id"].as_str())
        .collect();
    assert_eq!(ids, ["d-l0", "d-l1"], "one message per event");
    let s = app.stats.snapshot();
    assert_eq!(s.confirmed_late, 1);
    assert_eq!(s.failures_of(FailureKind::TimedOut), 1);
}

/// The scheme is an argument of the builder, not an option: a scheme without event ids
/// (Zoom's) is refused when the service is built, before any delivery could reach it.
#[test]
fn a_scheme_without_event_ids_is_refused_when_built() {
    let publisher: Arc<dyn Publisher> =
        countersign_publish::from_url("nats://127.0.0.1:4222?subject=webhooks.{preset}")
            .expect("a valid URL");
    let err = PublishService::builder_arc(Arc::clone(&publisher), Preset::Zoom)
        .build()
        .expect_err("zoom deliveries carry no event id");
    let text = err.to_string();
    assert!(text.contains("scheme") && text.contains("zoom"), "{text}");
    PublishService::builder_arc(publisher, Preset::Github)
        .build()
        .expect("github deliveries carry one");
}
