//! `BodyBudget` end to end: a real axum server on 127.0.0.1:0, a real client and raw
//! sockets. Bodies held by handlers count against the budget; a request that does not fit
//! gets 503 + Retry-After before its body is read; the bytes come back when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::routing::post;
use bytes::Bytes;
use common::*;
use countersign_tower::{BodyBudget, Preset, Verifier, VerifyLayer, VerifyRejection};
use http::{HeaderMap, StatusCode};
use tokio::sync::Semaphore;

const BUDGET: usize = 2500;

/// GitHub route, body limit 1 KiB, sharing `budget`; the handler holds the body until the
/// gate lets it go.
fn app(budget: &BodyBudget, gate: &Arc<Semaphore>) -> Router {
    let gate = Arc::clone(gate);
    Router::new()
        .route(
            "/github",
            post(move |req: Request| {
                let gate = Arc::clone(&gate);
                async move {
                    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    let _pass = gate.acquire().await.unwrap();
                    format!("held {} bytes", body.len())
                }
            }),
        )
        .route_layer(
            VerifyLayer::builder(
                Verifier::builder(Preset::Github)
                    .secret(GITHUB_SECRET)
                    .body_limit(1024)
                    .build()
                    .unwrap(),
            )
            .body_budget(budget.clone())
            .build()
            .unwrap(),
        )
}

async fn wait_for(budget: &BodyBudget, bytes: usize) {
    let start = Instant::now();
    while budget.in_use() != bytes {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "budget in use: {} (expected {bytes})",
            budget.in_use()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_answers_503_before_reading_and_bytes_come_back() {
    let budget = BodyBudget::new(BUDGET);
    let gate = Arc::new(Semaphore::new(0));
    let addr = serve(app(&budget, &gate)).await;
    let client = client();

    // Two verified deliveries held by their handler: 2 000 bytes in use.
    let body = Bytes::from(vec![b'x'; 1000]);
    let held: Vec<_> = (0..2)
        .map(|i| {
            let headers = sign(Preset::Github, GITHUB_SECRET, &body, &format!("d-{i}"), NOW);
            let (client, body) = (client.clone(), body.clone());
            tokio::spawn(async move { send(&client, addr, "/github", &headers, full(body)).await })
        })
        .collect();
    wait_for(&budget, 2000).await;

    // 1 000 more declared: does not fit. Answered without a body byte sent.
    let head = "POST /github HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\
                x-hub-signature-256: sha256=0000000000000000000000000000000000000000000000000000000000000000\r\n\r\n";
    let response = raw_head_only(addr, head).await.to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 503"), "{response}");
    assert!(response.contains("\r\nretry-after: 1\r\n"), "{response}");
    assert!(response.contains("\r\nconnection: close\r\n"), "{response}");
    assert!(response.ends_with("busy, retry later"), "{response}");

    // A chunked body is counted as it arrives: 300 bytes fit, the next 300 do not.
    let bogus = bogus_headers();
    let reply = send(
        &client,
        addr,
        "/github",
        &bogus,
        chunked(vec![
            Bytes::from(vec![b'y'; 300]),
            Bytes::from(vec![b'y'; 300]),
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "1");
    assert_eq!(budget.in_use(), 2000, "the refused request holds nothing");

    // The handlers drop their bodies: everything comes back.
    gate.add_permits(2);
    for h in held {
        let reply = h.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), "held 1000 bytes");
    }
    wait_for(&budget, 0).await;

    // Bogus signatures hold their bytes only until the rejection.
    let reply = send(&client, addr, "/github", &bogus, full(body.clone())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    wait_for(&budget, 0).await;
    let reply = send(
        &client,
        addr,
        "/github",
        &bogus,
        chunked(vec![body.clone(), Bytes::from_static(b"z")]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    wait_for(&budget, 0).await;

    // And the budget serves again.
    gate.add_permits(1);
    let headers = sign(Preset::Github, GITHUB_SECRET, &body, "d-after", NOW);
    let reply = send(&client, addr, "/github", &headers, full(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    wait_for(&budget, 0).await;
}

fn bogus_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "x-hub-signature-256",
        format!("sha256={}", "0".repeat(64)).parse().unwrap(),
    );
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_response_still_carries_retry_after() {
    let budget = BodyBudget::new(1024).retry_after(Duration::from_millis(2500));
    let gate = Arc::new(Semaphore::new(0));
    let hook_layer = VerifyLayer::builder(
        Verifier::builder(Preset::Github)
            .secret(GITHUB_SECRET)
            .body_limit(1024)
            .build()
            .unwrap(),
    )
    .body_budget(budget.clone())
    .on_rejection(|r| {
        let mut response = http::Response::new(Bytes::from(r.label()));
        *response.status_mut() = r.status();
        response
    })
    .build()
    .unwrap();
    let app = {
        let gate = Arc::clone(&gate);
        Router::new()
            .route(
                "/github",
                post(move |req: Request| {
                    let gate = Arc::clone(&gate);
                    async move {
                        let _body = req.into_body();
                        let _pass = gate.acquire().await.unwrap();
                        "ok"
                    }
                }),
            )
            .route_layer(hook_layer)
    };
    let addr = serve(app).await;
    let client = client();
    let body = Bytes::from(vec![b'x'; 600]);
    let headers = sign(Preset::Github, GITHUB_SECRET, &body, "d-1", NOW);
    let held = {
        let (client, body) = (client.clone(), body.clone());
        tokio::spawn(async move { send(&client, addr, "/github", &headers, full(body)).await })
    };
    wait_for(&budget, 600).await;
    let reply = send(&client, addr, "/github", &bogus_headers(), full(body)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.text(), "body_budget");
    assert_eq!(reply.headers["retry-after"], "3", "2.5 s, rounded up");
    gate.add_permits(1);
    assert_eq!(held.await.unwrap().status, StatusCode::OK);
    wait_for(&budget, 0).await;
}

#[test]
fn a_budget_smaller_than_the_body_limit_is_a_configuration_error() {
    let err = VerifyLayer::builder(Verifier::new(Preset::Github, "s").unwrap())
        .body_budget(BodyBudget::new(1024 * 1024))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("body budget"), "{err}");
    // With the limit lowered to fit, it builds.
    VerifyLayer::builder(
        Verifier::builder(Preset::Github)
            .secret("s")
            .body_limit(1024 * 1024)
            .build()
            .unwrap(),
    )
    .body_budget(BodyBudget::new(1024 * 1024))
    .build()
    .unwrap();
    let rejection = VerifyRejection::BudgetExhausted {
        capacity: 10,
        retry_after: 1,
    };
    assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejection.label(), "body_budget");
}

/// Large bodies (≥ 1 MiB: their own mapping) arrive byte-identical, declared or chunked,
/// with and without a budget; the budget counts them while the handler holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_arrive_exactly_with_and_without_a_budget() {
    let chunk = |i: u8| {
        Bytes::from(
            (0..700 * 1024)
                .map(|j| (j % 251) as u8 ^ i)
                .collect::<Vec<u8>>(),
        )
    };
    let chunks = vec![chunk(1), chunk(2), chunk(3)];
    let body: Bytes = chunks.concat().into();
    let headers = sign(Preset::Github, GITHUB_SECRET, &body, "big", NOW);
    for budget in [None, Some(BodyBudget::new(8 * 1024 * 1024))] {
        let verifier = Verifier::builder(Preset::Github)
            .secret(GITHUB_SECRET)
            .body_limit(4 * 1024 * 1024)
            .build()
            .unwrap();
        let mut builder = VerifyLayer::builder(verifier);
        if let Some(b) = &budget {
            builder = builder.body_budget(b.clone());
        }
        let seen_budget = budget.clone();
        let expected = body.clone();
        let app = Router::new()
            .route(
                "/github",
                post(move |req: Request| {
                    let (seen_budget, expected) = (seen_budget.clone(), expected.clone());
                    async move {
                        let got = axum::body::to_bytes(req.into_body(), usize::MAX)
                            .await
                            .unwrap();
                        assert!(got == expected, "body differs");
                        if let Some(b) = seen_budget {
                            assert_eq!(b.in_use(), expected.len(), "held while in use");
                        }
                        "ok"
                    }
                }),
            )
            .route_layer(builder.build().unwrap());
        let addr = serve(app).await;
        let client = client();
        let declared = send(&client, addr, "/github", &headers, full(body.clone())).await;
        assert_eq!(declared.status, StatusCode::OK, "{}", declared.text());
        let streamed = send(&client, addr, "/github", &headers, chunked(chunks.clone())).await;
        assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.text());
        if let Some(b) = &budget {
            wait_for(b, 0).await;
        }
    }
}
