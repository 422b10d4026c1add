//! `VerifyLayer` end to end: real servers on 127.0.0.1:0 (axum and plain hyper), a real
//! HTTP client, signed deliveries.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::routing::{get, post};
use bytes::Bytes;
use common::*;
use countersign_tower::{
    FixedClock, Preset, SignRequest, Signer, Verified, VerifiedBody, VerifiedWebhook, Verifier,
    VerifyLayer, Webhook,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::Full;
use serde::Deserialize;

/// What a handler saw.
#[derive(Debug, Clone)]
struct Seen {
    body: Bytes,
    verified: Option<Verified>,
    signature_sensitive: bool,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A router with one recording handler per preset, each behind its own `route_layer`.
fn app(log: &Log) -> Router {
    let handler = |log: Log| {
        move |req: Request| {
            let log = log.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let signature_sensitive = [
                    "stripe-signature",
                    "x-hub-signature-256",
                    "webhook-signature",
                    "x-slack-signature",
                ]
                .iter()
                .filter_map(|h| parts.headers.get(*h))
                .all(HeaderValue::is_sensitive);
                log.lock().unwrap().push(Seen {
                    body,
                    verified: parts.extensions.get::<Verified>().cloned(),
                    signature_sensitive,
                });
                "handled"
            }
        }
    };
    Router::new()
        .route("/stripe", post(handler(log.clone())))
        .route_layer(layer(Preset::Stripe, STRIPE_SECRET))
        .merge(
            Router::new()
                .route("/github", post(handler(log.clone())))
                .route_layer(
                    VerifyLayer::builder(
                        Verifier::builder(Preset::Github)
                            .secret(GITHUB_SECRET)
                            .body_limit(1024)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                ),
        )
        .merge(
            Router::new()
                .route("/standard", post(handler(log.clone())))
                .route_layer(layer(Preset::StandardWebhooks, STANDARD_SECRET)),
        )
        .merge(
            Router::new()
                .route("/slack", post(handler(log.clone())))
                .route_layer(
                    VerifyLayer::builder(
                        Verifier::builder(Preset::Slack)
                            .secret(SLACK_SECRET)
                            .clock(FixedClock::from_unix_secs(NOW))
                            .build()
                            .unwrap(),
                    )
                    .handshakes(true)
                    .build()
                    .unwrap(),
                ),
        )
        .merge(
            // MethodRouter::route_layer: only POST is guarded.
            Router::new().route(
                "/method",
                post(handler(log.clone()))
                    .route_layer(layer(Preset::Github, GITHUB_SECRET))
                    .get(|| async { "open" }),
            ),
        )
}

#[tokio::test]
async fn accepted_deliveries_reach_the_handler_with_exact_bytes_and_metadata() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();

    // Not UTF-8, NUL bytes, trailing whitespace: passed on untouched.
    let binary = Bytes::from_static(b"\xff\xfe\x00{\"id\":1}\r\n \t");
    let h = sign(Preset::Github, GITHUB_SECRET, &binary, "delivery-1", NOW);
    let r = send(&client, addr, "/github", &h, full(binary.clone())).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "handled"));

    let stripe = Bytes::from_static(br#"{"id":"evt_1","type":"invoice.paid"}"#);
    let h = sign(Preset::Stripe, STRIPE_SECRET, &stripe, "", NOW);
    let r = send(&client, addr, "/stripe", &h, full(stripe.clone())).await;
    assert_eq!(r.status, StatusCode::OK);

    // Chunked, under the limit.
    let standard = Bytes::from_static(br#"{"type":"user.created","data":{}}"#);
    let h = sign(
        Preset::StandardWebhooks,
        STANDARD_SECRET,
        &standard,
        "msg_1",
        NOW,
    );
    let chunks = vec![standard.slice(..5), standard.slice(5..)];
    let r = send(&client, addr, "/standard", &h, chunked(chunks)).await;
    assert_eq!(r.status, StatusCode::OK);

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].body, binary);
    // What was verified (the event type source rides along; compared field by field).
    let fields = |v: &Option<Verified>| {
        v.as_ref().map(|v| {
            (
                v.preset().to_owned(),
                v.event_id().map(str::to_owned),
                v.timestamp(),
            )
        })
    };
    assert_eq!(
        fields(&seen[0].verified),
        Some(("github".to_owned(), Some("delivery-1".to_owned()), None))
    );
    assert_eq!(seen[1].body, stripe);
    assert_eq!(
        fields(&seen[1].verified),
        Some((
            "stripe".to_owned(),
            Some("evt_1".to_owned()),
            Some(NOW as i64)
        ))
    );
    assert_eq!(seen[2].body, standard);
    assert_eq!(
        seen[2].verified.as_ref().and_then(|v| v.event_id()),
        Some("msg_1")
    );
    assert!(seen.iter().all(|s| s.signature_sensitive));
}

#[tokio::test]
async fn bad_deliveries_get_their_documented_status_and_never_reach_the_handler() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();
    let body = Bytes::from_static(br#"{"id":"evt_1","amount":100}"#);
    let good = sign(Preset::Stripe, STRIPE_SECRET, &body, "", NOW);

    let cases: Vec<(&str, HeaderMap, Bytes, StatusCode, &str)> = vec![
        (
            "tampered body",
            good.clone(),
            Bytes::from_static(br#"{"id":"evt_1","amount":900}"#),
            StatusCode::UNAUTHORIZED,
            "webhook signature invalid",
        ),
        (
            "stale",
            sign(Preset::Stripe, STRIPE_SECRET, &body, "", NOW - 301),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "webhook timestamp outside tolerance",
        ),
        (
            "from the future",
            sign(Preset::Stripe, STRIPE_SECRET, &body, "", NOW + 301),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "webhook timestamp outside tolerance",
        ),
        (
            "wrong secret",
            sign(Preset::Stripe, "whsec_someone_else", &body, "", NOW),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "webhook signature invalid",
        ),
        (
            "missing header",
            HeaderMap::new(),
            body.clone(),
            StatusCode::BAD_REQUEST,
            "webhook signature headers missing or malformed",
        ),
        (
            "malformed timestamp",
            {
                let mut h = HeaderMap::new();
                h.insert("stripe-signature", "t=12x,v1=00".parse().unwrap());
                h
            },
            body.clone(),
            StatusCode::BAD_REQUEST,
            "webhook timestamp malformed",
        ),
    ];
    for (name, headers, sent, status, text) in cases {
        let r = send(&client, addr, "/stripe", &headers, full(sent)).await;
        assert_eq!(r.status, status, "{name}");
        assert_eq!(r.text(), text, "{name}");
        assert_eq!(
            r.headers[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
    assert!(log.lock().unwrap().is_empty(), "a handler ran");
}

#[tokio::test]
async fn too_large_content_length_is_refused_without_reading_the_body() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    // The head promises 2 KiB (limit 1 KiB) and no body byte is ever sent: a 413 can only
    // come back if the layer did not wait for the body.
    let head = "POST /github HTTP/1.1\r\nhost: x\r\ncontent-length: 2048\r\n\
                x-hub-signature-256: sha256=00\r\n\r\n";
    let response = raw_head_only(addr, head).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.ends_with("webhook body too large"), "{response}");
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn missing_headers_are_refused_without_reading_the_body() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    for path in ["/github", "/stripe", "/standard", "/slack"] {
        let head = format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n");
        let response = raw_head_only(addr, &head).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{path}: {response}");
    }
    // A stale Stripe timestamp is also caught from the headers alone.
    let stale = sign(Preset::Stripe, STRIPE_SECRET, b"{}", "", NOW - 3600);
    let head = format!(
        "POST /stripe HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\nstripe-signature: {}\r\n\r\n",
        stale["stripe-signature"].to_str().unwrap()
    );
    assert!(raw_head_only(addr, &head).await.starts_with("HTTP/1.1 401"));
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn chunked_body_crossing_the_limit_is_refused() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();
    // Validly signed, but 1 KiB + 1 byte in chunks, with no Content-Length.
    let body = Bytes::from(vec![b'a'; 1025]);
    let h = sign(Preset::Github, GITHUB_SECRET, &body, "d", NOW);
    let chunks = body.chunks(100).map(Bytes::copy_from_slice).collect();
    let r = send(&client, addr, "/github", &h, chunked(chunks)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Exactly at the limit is fine.
    let body = Bytes::from(vec![b'a'; 1024]);
    let h = sign(Preset::Github, GITHUB_SECRET, &body, "d", NOW);
    let chunks = body.chunks(100).map(Bytes::copy_from_slice).collect();
    let r = send(&client, addr, "/github", &h, chunked(chunks)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn route_layer_leaves_404_and_405_untouched() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();
    let none = HeaderMap::new();

    let r = send(&client, addr, "/nope", &none, full("x")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&client, addr, "/stripe/nested", &none, full("x")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // axum's Router::route_layer also wraps the 405 fallback of a matched path, so a GET
    // on a POST-only route is checked like any other request (documented behaviour)...
    let r = request(&client, "GET", addr, "/stripe", &none, full("")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // ...while MethodRouter::route_layer (`post(h).route_layer(..)`) guards POST only and
    // leaves 405 untouched.
    let r = request(&client, "PUT", addr, "/method", &none, full("")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers[http::header::ALLOW], "POST,GET,HEAD");
    let r = request(&client, "GET", addr, "/method", &none, full("")).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "open"));
    let r = send(&client, addr, "/method", &none, full("x")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let h = sign(Preset::Github, GITHUB_SECRET, b"x", "d", NOW);
    let r = send(&client, addr, "/method", &h, full("x")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn slack_url_verification_is_answered_by_the_layer() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let h = sign(Preset::Slack, SLACK_SECRET, body, "", NOW);
    let r = send(&client, addr, "/slack", &h, full(&body[..])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[http::header::CONTENT_TYPE], "application/json");
    assert_eq!(
        r.text(),
        r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
    );
    assert!(
        log.lock().unwrap().is_empty(),
        "the handshake reached the handler"
    );

    // Unsigned or forged handshakes are rejected like anything else.
    let r = send(&client, addr, "/slack", &HeaderMap::new(), full(&body[..])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let forged = sign(Preset::Slack, "not-the-secret", body, "", NOW);
    let r = send(&client, addr, "/slack", &forged, full(&body[..])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Ordinary events go to the handler.
    let event = br#"{"type":"event_callback","event_id":"Ev1"}"#;
    let h = sign(Preset::Slack, SLACK_SECRET, event, "", NOW);
    let r = send(&client, addr, "/slack", &h, full(&event[..])).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "handled"));
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].verified.as_ref().unwrap().event_id(), Some("Ev1"));
}

#[tokio::test]
async fn handshakes_are_off_by_default() {
    let log = Log::default();
    let seen = log.clone();
    let app = Router::new()
        .route(
            "/slack",
            post(move |body: Bytes| async move {
                seen.lock().unwrap().push(Seen {
                    body,
                    verified: None,
                    signature_sensitive: true,
                });
                "handler answered"
            }),
        )
        .route_layer(layer(Preset::Slack, SLACK_SECRET));
    let addr = serve(app).await;
    let body = br#"{"type":"url_verification","challenge":"c"}"#;
    let h = sign(Preset::Slack, SLACK_SECRET, body, "", NOW);
    let r = send(&client(), addr, "/slack", &h, full(&body[..])).await;
    assert_eq!(r.text(), "handler answered");
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_valid_deliveries_all_succeed() {
    let log = Log::default();
    let addr = serve(app(&log)).await;
    let client = client();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let body = format!(r#"{{"id":"evt_{i}","data":"{}"}}"#, "x".repeat(900));
                let h = sign(Preset::Stripe, STRIPE_SECRET, body.as_bytes(), "", NOW);
                send(&client, addr, "/stripe", &h, full(body)).await.status
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1000);
    let seen = log.lock().unwrap();
    assert_eq!(seen.len(), 1000);
    let mut ids: Vec<_> = seen
        .iter()
        .map(|s| s.verified.as_ref().unwrap().event_id().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
}

#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[tokio::test]
async fn axum_extractors() {
    let verified = Router::new()
        .route(
            "/meta",
            post(|hook: VerifiedWebhook| async move {
                format!("{} {:?}", hook.preset(), hook.event_id())
            }),
        )
        .route(
            "/typed",
            post(
                |Webhook { verified, payload }: Webhook<StripeEvent>| async move {
                    format!("{} {} {:?}", payload.id, payload.kind, verified.timestamp())
                },
            ),
        )
        .route(
            "/optional",
            post(
                |hook: Option<VerifiedWebhook>, typed: Option<Webhook<StripeEvent>>| async move {
                    format!("{} {}", hook.is_some(), typed.is_some())
                },
            ),
        )
        .route_layer(layer(Preset::Stripe, STRIPE_SECRET));
    let unguarded = Router::new()
        .route(
            "/open/meta",
            post(|_: VerifiedWebhook| async { "unreachable" }),
        )
        .route(
            "/open/typed",
            post(|_: Webhook<StripeEvent>| async { "unreachable" }),
        )
        .route(
            "/open/optional",
            post(
                |hook: Option<VerifiedWebhook>, typed: Option<Webhook<StripeEvent>>| async move {
                    format!("{} {}", hook.is_some(), typed.is_some())
                },
            ),
        )
        .route("/open/get", get(|| async { "ok" }));
    let addr = serve(verified.merge(unguarded)).await;
    let client = client();

    let body = br#"{"id":"evt_9","type":"charge.succeeded","livemode":false}"#;
    let h = sign(Preset::Stripe, STRIPE_SECRET, body, "", NOW);
    let r = send(&client, addr, "/meta", &h, full(&body[..])).await;
    assert_eq!(r.text(), r#"stripe Some("evt_9")"#);
    let r = send(&client, addr, "/typed", &h, full(&body[..])).await;
    assert_eq!(r.text(), "evt_9 charge.succeeded Some(1700000000)");
    let r = send(&client, addr, "/optional", &h, full(&body[..])).await;
    assert_eq!(r.text(), "true true");

    // Signed, but not the JSON the handler expects: 400 with serde's reason.
    let wrong = br#"{"id":42}"#;
    let h = sign(Preset::Stripe, STRIPE_SECRET, wrong, "", NOW);
    let r = send(&client, addr, "/typed", &h, full(&wrong[..])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().starts_with(
            "webhook body does not match the expected JSON: invalid type: integer `42`"
        ),
        "{}",
        r.text()
    );
    let r = send(&client, addr, "/optional", &h, full(&wrong[..])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // No layer: a wiring mistake, 500 with a message that says what to do.
    for path in ["/open/meta", "/open/typed"] {
        let r = send(&client, addr, path, &h, full(&body[..])).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(
            r.text().contains("no VerifyLayer in front of this handler"),
            "{}",
            r.text()
        );
    }
    let r = send(&client, addr, "/open/optional", &h, full(&body[..])).await;
    assert_eq!(r.text(), "false false");
}

#[tokio::test]
async fn plain_hyper_server_with_service_builder() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceBuilder;

    let service = ServiceBuilder::new()
        .layer(layer(Preset::StandardWebhooks, STANDARD_SECRET))
        .service_fn(|req: http::Request<VerifiedBody>| async move {
            let id = req
                .extensions()
                .get::<Verified>()
                .and_then(|v| v.event_id().map(str::to_owned))
                .unwrap_or_default();
            let body = req.into_body().into_bytes();
            let text = format!("{id}:{}", body.len());
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(text))))
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = client();
    let body = Bytes::from_static(b"{\"a\":1}");
    let h = sign(
        Preset::StandardWebhooks,
        STANDARD_SECRET,
        &body,
        "msg_7",
        NOW,
    );
    let r = send(&client, addr, "/", &h, full(body.clone())).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "msg_7:7"));
    let r = send(&client, addr, "/", &h, full("{\"a\":2}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// URL-bound schemes get the method and the public URL: from `public_url`, from the `Host`
/// header, or (when trusted) from `X-Forwarded-*` / `Forwarded`.
#[tokio::test]
async fn url_bound_schemes_verify_against_the_public_url() {
    const TWILIO: &str = "twilio-auth-token";
    const HUBSPOT: &str = "hubspot-client-secret";
    let twilio = |layer: VerifyLayer| post(|body: Bytes| async move { body }).route_layer(layer);
    let app = Router::new()
        .route(
            "/public/twilio",
            twilio(
                VerifyLayer::builder(Verifier::new(Preset::Twilio, TWILIO).unwrap())
                    .public_url("https://hooks.example.com/")
                    .build()
                    .unwrap(),
            ),
        )
        .route(
            "/host/twilio",
            twilio(
                VerifyLayer::builder(Verifier::new(Preset::Twilio, TWILIO).unwrap())
                    .url_scheme("http")
                    .build()
                    .unwrap(),
            ),
        )
        .route(
            "/forwarded/twilio",
            twilio(
                VerifyLayer::builder(Verifier::new(Preset::Twilio, TWILIO).unwrap())
                    .trust_forwarded_headers(true)
                    .build()
                    .unwrap(),
            ),
        )
        .route(
            "/hubspot",
            post(|body: Bytes| async move { body }).route_layer(
                VerifyLayer::builder(
                    Verifier::builder(Preset::Hubspot)
                        .secret(HUBSPOT)
                        .clock(FixedClock::from_unix_secs(NOW))
                        .build()
                        .unwrap(),
                )
                .public_url("https://hooks.example.com")
                .build()
                .unwrap(),
            ),
        );
    let addr = serve(app).await;
    let client = client();
    let form = Bytes::from_static(b"CallSid=CA1&From=%2B15551234567&Body=hi");
    let signed_for = |url: &str| {
        Signer::new(Preset::Twilio, TWILIO)
            .unwrap()
            .sign(&SignRequest::new(&form).url(url).method("POST"))
            .unwrap()
    };

    // The configured public URL plus the request's path and query.
    let h = signed_for("https://hooks.example.com/public/twilio?a=1&b=2");
    let r = send(
        &client,
        addr,
        "/public/twilio?a=1&b=2",
        &h,
        full(form.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(
        &client,
        addr,
        "/public/twilio?a=1&b=3",
        &h,
        full(form.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // No public URL: the Host header with the configured scheme.
    let h = signed_for(&format!("http://{addr}/host/twilio"));
    let r = send(&client, addr, "/host/twilio", &h, full(form.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut spoofed = h.clone();
    spoofed.insert("x-forwarded-host", "elsewhere.example".parse().unwrap());
    let r = send(&client, addr, "/host/twilio", &spoofed, full(form.clone())).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "untrusted X-Forwarded-Host must be ignored"
    );

    // Trusted forwarded headers: the URL the proxy received.
    let mut h = signed_for("https://public.example.com/forwarded/twilio");
    h.insert("x-forwarded-proto", "https".parse().unwrap());
    h.insert("x-forwarded-host", "public.example.com".parse().unwrap());
    let r = send(&client, addr, "/forwarded/twilio", &h, full(form.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    h.insert("x-forwarded-host", "attacker.example".parse().unwrap());
    let r = send(&client, addr, "/forwarded/twilio", &h, full(form.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // HubSpot v3 signs the method too.
    let body = Bytes::from_static(br#"[{"eventId":1}]"#);
    let sign_hubspot = |method: &str| {
        Signer::new(Preset::Hubspot, HUBSPOT)
            .unwrap()
            .sign(
                &SignRequest::new(&body)
                    .url("https://hooks.example.com/hubspot")
                    .method(method)
                    .timestamp(std::time::Duration::from_secs(NOW)),
            )
            .unwrap()
    };
    let r = send(
        &client,
        addr,
        "/hubspot",
        &sign_hubspot("POST"),
        full(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(
        &client,
        addr,
        "/hubspot",
        &sign_hubspot("PUT"),
        full(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
