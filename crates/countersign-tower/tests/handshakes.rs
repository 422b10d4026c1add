//! Provider handshakes answered by `VerifyLayer` (`.handshakes(true)`), end to end: a real
//! server on 127.0.0.1:0, a real HTTP client, requests signed the way each provider signs
//! them. A signed handshake gets the provider's exact reply and never reaches the handler;
//! an unsigned or forged one is rejected and never answered. Slack's `url_verification` is
//! covered in `tests/http.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::*;
use countersign_tower::{FixedClock, Preset, Verifier, VerifyLayer};
use ed25519_dalek::Signer as _;
use http::{HeaderMap, StatusCode, header::CONTENT_TYPE};

const TWITCH_SECRET: &str = "twitch-eventsub-secret-0123456789";
const ZOOM_SECRET: &str = "zoom-secret-token";
const FRONT_SECRET: &str = "front-app-signing-key";

/// The Discord application's key pair (the layer gets the public half, as in production).
fn discord_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42; 32])
}

fn discord_public_key() -> String {
    hex::encode(discord_key().verifying_key().as_bytes())
}

/// Headers Discord sends: Ed25519 over `timestamp + body`, hex.
fn discord_sign(key: &ed25519_dalek::SigningKey, body: &[u8], at: u64) -> HeaderMap {
    let timestamp = at.to_string();
    let mut message = timestamp.clone().into_bytes();
    message.extend_from_slice(body);
    let mut h = HeaderMap::new();
    h.insert(
        "x-signature-ed25519",
        hex::encode(key.sign(&message).to_bytes()).parse().unwrap(),
    );
    h.insert("x-signature-timestamp", timestamp.parse().unwrap());
    h
}

fn guarded(preset: Preset, secret: &str, handshakes: bool) -> VerifyLayer {
    VerifyLayer::builder(
        Verifier::builder(preset)
            .secret(secret)
            .clock(FixedClock::from_unix_secs(NOW))
            .build()
            .unwrap(),
    )
    .handshakes(handshakes)
    .build()
    .unwrap()
}

/// `/twitch`, `/zoom`, `/front`, `/discord` answering handshakes, `/twitch-off` not; every handler
/// call is counted.
async fn app() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = |calls: Arc<AtomicUsize>| {
        move |body: Bytes| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            format!("handler saw {} bytes", body.len())
        }
    };
    let route = |layer: VerifyLayer| post(handler(Arc::clone(&calls))).route_layer(layer);
    let app = Router::new()
        .route(
            "/twitch",
            route(guarded(Preset::Twitch, TWITCH_SECRET, true)),
        )
        .route(
            "/twitch-off",
            route(guarded(Preset::Twitch, TWITCH_SECRET, false)),
        )
        .route("/zoom", route(guarded(Preset::Zoom, ZOOM_SECRET, true)))
        .route("/front", route(guarded(Preset::Front, FRONT_SECRET, true)))
        .route(
            "/discord",
            route(guarded(Preset::Discord, &discord_public_key(), true)),
        );
    (serve(app).await, calls)
}

fn twitch_headers(secret: &str, body: &[u8], kind: &str) -> HeaderMap {
    let mut h = sign(
        Preset::Twitch,
        secret,
        body,
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
        NOW,
    );
    h.insert("twitch-eventsub-message-type", kind.parse().unwrap());
    h
}

#[tokio::test]
async fn twitch_callback_verification_is_echoed_as_text() {
    let (addr, calls) = app().await;
    let client = client();
    let body = Bytes::from_static(
        br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}"#,
    );

    let h = twitch_headers(TWITCH_SECRET, &body, "webhook_callback_verification");
    let r = send(&client, addr, "/twitch", &h, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(r.body, "pogchamp-kappa-360noscope-vohiyo");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a handshake reached the handler"
    );

    // Forged (another secret), tampered, unsigned: rejected, never answered.
    let forged = twitch_headers("not-the-secret", &body, "webhook_callback_verification");
    let r = send(&client, addr, "/twitch", &forged, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains("pogchamp"));
    let tampered = body
        .iter()
        .copied()
        .map(|b| if b == b'k' { b'K' } else { b })
        .collect::<Vec<u8>>();
    let r = send(&client, addr, "/twitch", &h, full(tampered)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut unsigned = HeaderMap::new();
    unsigned.insert(
        "twitch-eventsub-message-type",
        "webhook_callback_verification".parse().unwrap(),
    );
    let r = send(&client, addr, "/twitch", &unsigned, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Signed 11 minutes ago: outside Twitch's 10 minutes.
    let mut stale = sign(
        Preset::Twitch,
        TWITCH_SECRET,
        &body,
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
        NOW - 660,
    );
    stale.insert(
        "twitch-eventsub-message-type",
        "webhook_callback_verification".parse().unwrap(),
    );
    let r = send(&client, addr, "/twitch", &stale, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A notification goes to the handler; so does a verification when handshakes are off.
    let h = twitch_headers(TWITCH_SECRET, &body, "notification");
    let r = send(&client, addr, "/twitch", &h, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("handler saw"), "{}", r.text());
    let h = twitch_headers(TWITCH_SECRET, &body, "webhook_callback_verification");
    let r = send(&client, addr, "/twitch-off", &h, full(body.clone())).await;
    assert!(r.text().starts_with("handler saw"), "{}", r.text());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn zoom_url_validation_is_answered_with_the_token_hmac() {
    let (addr, calls) = app().await;
    let client = client();
    let body = Bytes::from_static(
        br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#,
    );

    let h = sign(Preset::Zoom, ZOOM_SECRET, &body, "", NOW);
    let r = send(&client, addr, "/zoom", &h, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    // encryptedToken computed independently: Python's
    // hmac.new(b"zoom-secret-token", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert_eq!(
        r.text(),
        r#"{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"}"#
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Signed with another secret token: 401, and no HMAC of the token leaks.
    let forged = sign(Preset::Zoom, "attacker-token", &body, "", NOW);
    let r = send(&client, addr, "/zoom", &forged, full(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains("encryptedToken"));
    let r = send(
        &client,
        addr,
        "/zoom",
        &HeaderMap::new(),
        full(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.text().contains("encryptedToken"));
    // Signed, but another body was sent (the plainToken swapped in transit).
    let swapped = br#"{"payload":{"plainToken":"chosen-by-attacker"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let r = send(&client, addr, "/zoom", &h, full(&swapped[..])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // An event goes to the handler.
    let event =
        br#"{"event":"meeting.started","payload":{"object":{"id":"1"}},"event_ts":1654503849680}"#;
    let h = sign(Preset::Zoom, ZOOM_SECRET, event, "", NOW);
    let r = send(&client, addr, "/zoom", &h, full(&event[..])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn discord_ping_is_answered_with_pong() {
    let (addr, calls) = app().await;
    let client = client();
    let ping = Bytes::from_static(
        br#"{"app_permissions":"0","application_id":"1234567890","id":"1111111111","token":"aW50ZXJhY3Rpb24","type":1,"user":{"id":"1"},"version":1}"#,
    );

    let h = discord_sign(&discord_key(), &ping, NOW);
    let r = send(&client, addr, "/discord", &h, full(ping.clone())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    assert_eq!(r.body, r#"{"type":1}"#);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Discord checks that endpoints reject bad signatures: another key, a signature of
    // another timestamp, no signature at all.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let r = send(
        &client,
        addr,
        "/discord",
        &discord_sign(&other, &ping, NOW),
        full(ping.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut replayed = discord_sign(&discord_key(), &ping, NOW);
    replayed.insert(
        "x-signature-timestamp",
        (NOW + 1).to_string().parse().unwrap(),
    );
    let r = send(&client, addr, "/discord", &replayed, full(ping.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &client,
        addr,
        "/discord",
        &HeaderMap::new(),
        full(ping.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // An application command is an interaction for the handler.
    let command = br#"{"application_id":"1234567890","id":"2222222222","token":"dG9rZW4","type":2,"data":{"id":"3","name":"ping","type":1},"version":1}"#;
    let h = discord_sign(&discord_key(), command, NOW);
    let r = send(&client, addr, "/discord", &h, full(&command[..])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("handler saw"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// The stale-signature case once more for Discord: its 5-minute tolerance applies to PINGs.
#[tokio::test]
async fn stale_discord_ping_is_rejected() {
    let (addr, calls) = app().await;
    let ping = br#"{"id":"1","type":1,"version":1}"#;
    let h = discord_sign(&discord_key(), ping, NOW - 301);
    let r = send(&client(), addr, "/discord", &h, full(&ping[..])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// Front's application webhook validation: a signed request with `x-front-challenge` is
/// answered `{"challenge": …}`; forged, it is refused and not answered.
#[tokio::test]
async fn front_challenge_is_answered_with_json() {
    let (addr, calls) = app().await;
    let client = client();
    let body = Bytes::from_static(br#"{"type":"sync","authorization":{"id":"cmp_abc"}}"#);
    let with_challenge = |secret: &str| {
        let mut h = sign(Preset::Front, secret, &body, "", NOW);
        h.insert("x-front-challenge", "c0ffee-42".parse().unwrap());
        h
    };
    let r = send(
        &client,
        addr,
        "/front",
        &with_challenge(FRONT_SECRET),
        full(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    assert_eq!(r.text(), r#"{"challenge":"c0ffee-42"}"#);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let r = send(
        &client,
        addr,
        "/front",
        &with_challenge("not-the-key"),
        full(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains("c0ffee"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A signed event with the (unsigned) header added on the way: still the handler's.
    let event = br#"{"type":"inbound_received","id":"evt_0"}"#;
    let mut h = sign(Preset::Front, FRONT_SECRET, event, "", NOW);
    h.insert("x-front-challenge", "c0ffee-42".parse().unwrap());
    let r = send(&client, addr, "/front", &h, full(&event[..])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("handler saw"), "{}", r.text());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // An event (no challenge header) goes to the handler.
    let event = br#"{"type":"inbound_received","id":"evt_1"}"#;
    let h = sign(Preset::Front, FRONT_SECRET, event, "", NOW);
    let r = send(&client, addr, "/front", &h, full(&event[..])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
