//! Unsigned request handshakes answered by `VerifyLayer` (`.handshakes(true)`), end to end
//! over a real server and client: Meta's `GET ?hub.mode=subscribe…` (only with the verify
//! token), X's `GET ?crc_token=…` (its HMAC under the consumer secret) and Microsoft Graph's
//! `POST ?validationToken=…`. Hostile ones — a wrong verify token, an oversized challenge,
//! CRLF or markup in it — are refused and never echoed, and no handshake reaches the handler.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use common::*;
use countersign_tower::{Preset, VerifyLayer};
use http::{HeaderMap, StatusCode, header::CONTENT_TYPE};

async fn app() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |layer: VerifyLayer| {
        let handler = {
            let calls = Arc::clone(&calls);
            move |body: Bytes| {
                let calls = Arc::clone(&calls);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    format!("handler saw {} bytes", body.len())
                }
            }
        };
        get(handler.clone()).post(handler).route_layer(layer)
    };
    let meta = VerifyLayer::builder(Preset::Meta)
        .secret("meta-app-secret")
        .handshake_token("my-verify-token")
        .handshakes(true)
        .build()
        .unwrap();
    let meta_off = VerifyLayer::builder(Preset::Meta)
        .secret("meta-app-secret")
        .handshake_token("my-verify-token")
        .build()
        .unwrap();
    let x = VerifyLayer::builder(Preset::X)
        .secret("x-consumer-secret")
        .handshakes(true)
        .build()
        .unwrap();
    let graph = VerifyLayer::builder(Preset::MicrosoftGraph)
        .secret("graph-client-state-1")
        .handshakes(true)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/meta", counted(meta))
        .route("/meta-off", counted(meta_off))
        .route("/x", counted(x))
        .route("/graph", counted(graph));
    (serve(app).await, calls)
}

#[tokio::test]
async fn meta_challenge_needs_the_verify_token_and_a_clean_challenge() {
    let (addr, calls) = app().await;
    let client = client();
    let none = HeaderMap::new();
    let get = |path: String| {
        let client = client.clone();
        async move { request(&client, "GET", addr, &path, &HeaderMap::new(), full("")).await }
    };

    let r = get(
        "/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=my-verify-token".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.body, "1158201444");

    // Wrong, missing or near-miss tokens: 401, and the challenge is never echoed.
    for token in [
        "&hub.verify_token=my-verify-tokem",
        "&hub.verify_token=",
        "",
        "&hub.verify_token=MY-VERIFY-TOKEN",
    ] {
        let r = get(format!(
            "/meta?hub.mode=subscribe&hub.challenge=SECRETCHALLENGE{token}"
        ))
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token}");
        assert!(
            !r.text().contains("SECRETCHALLENGE"),
            "{token}: {}",
            r.text()
        );
    }
    // CRLF (header splitting), markup, an oversized challenge: refused, not echoed.
    for challenge in [
        "a%0D%0ASet-Cookie:%20pwn=1".to_owned(),
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
        "9".repeat(1025),
    ] {
        let r = get(format!(
            "/meta?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge={challenge}"
        ))
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{challenge}");
        assert!(r.headers.get("set-cookie").is_none());
        assert!(!r.text().contains("script"), "{}", r.text());
        assert!(
            !r.text().contains("999999999"),
            "oversized challenge echoed"
        );
    }
    // A 1024-byte challenge is still answered.
    let r = get(format!(
        "/meta?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge={}",
        "9".repeat(1024)
    ))
    .await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 1024));

    // With handshakes off the GET is an unsigned delivery: rejected, never answered.
    let r =
        get("/meta-off?hub.mode=subscribe&hub.challenge=1&hub.verify_token=my-verify-token".into())
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_ne!(r.body, "1");
    // An event is verified as usual (X-Hub-Signature-256) and reaches the handler.
    let body = br#"{"object":"page","entry":[]}"#;
    let h = sign(Preset::Meta, "meta-app-secret", body, "unused", NOW);
    let r = send(&client, addr, "/meta", &h, full(&body[..])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(&client, addr, "/meta", &none, full(&body[..])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the signed event reaches the handler"
    );
}

#[tokio::test]
async fn x_crc_is_the_hmac_of_the_token_and_graph_validation_is_echoed() {
    let (addr, calls) = app().await;
    let client = client();
    let none = HeaderMap::new();
    let r = request(
        &client,
        "GET",
        addr,
        "/x?crc_token=challenge%2Bstring",
        &none,
        full(""),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    // base64(HMAC-SHA256("x-consumer-secret", "challenge+string")), computed independently
    // (Python hmac).
    assert_eq!(
        r.text(),
        r#"{"response_token":"sha256=QwwqhdDUbwE6L71Uxm30DQ7wgGZG0+uGQm6AI7KBFyg="}"#
    );
    let r = request(
        &client,
        "GET",
        addr,
        &format!("/x?crc_token={}", "a".repeat(1025)),
        &none,
        full(""),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = request(
        &client,
        "POST",
        addr,
        "/graph?validationToken=Validation%3A%20Testing%20client%20application%20reachability",
        &none,
        full(""),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        "Validation: Testing client application reachability"
    );
    let r = request(
        &client,
        "POST",
        addr,
        "/graph?validationToken=a%0D%0Ab",
        &none,
        full(""),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A notification whose clientState matches reaches the handler; a forged one does not.
    let ok = br#"{"value":[{"clientState":"graph-client-state-1","changeType":"created"}]}"#;
    let r = send(&client, addr, "/graph", &none, full(&ok[..])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let forged = br#"{"value":[{"clientState":"guess","changeType":"created"}]}"#;
    let r = send(&client, addr, "/graph", &none, full(&forged[..])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
