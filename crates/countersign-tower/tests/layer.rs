//! `VerifyLayer` in process, where a test can see what the network hides: whether the body
//! was polled, the response extensions, the inner service's readiness. Plus the property test
//! over arbitrary header bytes. (The tracing output is checked in `tests/tracing_events.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use common::*;
use countersign_tower::{
    ErrorKind, Preset, SignRequest, Signer, Verified, VerifiedBody, Verifier, Verify, VerifyError,
    VerifyLayer, VerifyRejection, VerifyResponseBody, VerifyResponseFuture,
};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A request body that records whether anyone polled it.
struct Untouchable {
    polled: Arc<AtomicBool>,
    declared: u64,
}

impl Body for Untouchable {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polled.store(true, Ordering::SeqCst);
        Poll::Ready(None)
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = SizeHint::new();
        hint.set_lower(self.declared);
        hint
    }
}

type Ready = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

/// The layer over a handler that counts its calls.
fn guarded(
    layer: &VerifyLayer,
    calls: &Arc<AtomicUsize>,
) -> Verify<tower::util::ServiceFn<impl FnMut(Request<VerifiedBody>) -> Ready + Clone + use<>>> {
    let calls = calls.clone();
    layer.layer(service_fn(move |_req: Request<VerifiedBody>| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
    }))
}

#[tokio::test]
async fn rejected_early_without_polling_the_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = guarded(&layer(Preset::Github, GITHUB_SECRET), &calls);
    let good = sign(Preset::Github, GITHUB_SECRET, b"{}", "d", NOW);

    // (headers, declared length, expected status)
    let too_large = 25 * 1024 * 1024 + 1;
    let cases = [
        (
            good.clone(),
            Some(too_large),
            0,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (good.clone(), None, too_large, StatusCode::PAYLOAD_TOO_LARGE),
        (HeaderMap::new(), Some(10), 0, StatusCode::BAD_REQUEST),
        (HeaderMap::new(), None, 0, StatusCode::BAD_REQUEST),
        (
            {
                let mut h = HeaderMap::new();
                h.insert("x-hub-signature-256", "sha1=abc".parse().unwrap());
                h
            },
            None,
            0,
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (headers, content_length, lower, status) in cases {
        let polled = Arc::new(AtomicBool::new(false));
        let mut req = Request::post("/").body(Untouchable {
            polled: polled.clone(),
            declared: lower,
        });
        let req = req.as_mut().unwrap();
        *req.headers_mut() = headers.clone();
        if let Some(n) = content_length {
            req.headers_mut().insert("content-length", n.into());
        }
        let req = std::mem::replace(
            req,
            Request::new(Untouchable {
                polled: Arc::default(),
                declared: 0,
            }),
        );
        let response = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), status);
        assert!(!polled.load(Ordering::SeqCst), "body polled for {status}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rejection_reason_rides_in_the_response_extensions() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = guarded(&layer(Preset::Stripe, STRIPE_SECRET), &calls);
    let h = sign(Preset::Stripe, STRIPE_SECRET, b"{\"id\":\"a\"}", "", NOW);
    let mut req = Request::post("/")
        .body(Full::new(Bytes::from_static(b"{\"id\":\"b\"}")))
        .unwrap();
    *req.headers_mut() = h;
    let response = svc.oneshot(req).await.unwrap();
    let rejection = response.extensions().get::<VerifyRejection>().unwrap();
    assert_eq!(rejection.kind(), Some(ErrorKind::SignatureMismatch));
    assert!(matches!(
        rejection.verify_error(),
        Some(VerifyError::SignatureMismatch { candidates: 1, .. })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_hook_replaces_the_response_and_the_reason_is_still_attached() {
    let layer = VerifyLayer::builder(Verifier::new(Preset::Github, GITHUB_SECRET).unwrap())
        .on_rejection(|rejection| {
            let mut r = Response::new(Bytes::from(format!(
                "{{\"error\":\"{}\"}}",
                rejection.label()
            )));
            *r.status_mut() = StatusCode::FORBIDDEN;
            r
        })
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let response = guarded(&layer, &calls)
        .oneshot(Request::post("/").body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.extensions().get::<VerifyRejection>().is_some());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r#"{"error":"missing_header"}"#);
}

/// A service that refuses `call` unless `poll_ready` was called on that very instance.
struct NeedsReady {
    ready: bool,
}

impl Clone for NeedsReady {
    fn clone(&self) -> Self {
        NeedsReady { ready: false }
    }
}

impl Service<Request<VerifiedBody>> for NeedsReady {
    type Response = Response<Full<Bytes>>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        let ready = std::mem::replace(&mut self.ready, false);
        std::future::ready(if ready {
            Ok(Response::new(Full::new(req.into_body().into_bytes())))
        } else {
            Err("called without poll_ready")
        })
    }
}

#[tokio::test]
async fn the_ready_inner_service_is_the_one_called() {
    let mut svc = layer(Preset::Github, GITHUB_SECRET).layer(NeedsReady { ready: false });
    for i in 0..3 {
        let body = format!("body {i}");
        let mut req = Request::post("/")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        *req.headers_mut() = sign(Preset::Github, GITHUB_SECRET, body.as_bytes(), "d", NOW);
        let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap()
            .call(req)
            .await
            .unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            body
        );
    }
}

#[test]
fn service_layer_and_future_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send + 'static>() {}
    send_sync_clone::<VerifyLayer>();
    send_sync_clone::<Verify<axum::routing::Route>>();
    send_sync_clone::<Verify<axum::Router>>();
    send_sync_clone::<VerifiedBody>();
    send::<<Verify<axum::routing::Route> as Service<Request<axum::body::Body>>>::Future>();
    send::<<Verify<axum::routing::Route> as Service<Request<hyper::body::Incoming>>>::Future>();
    send::<VerifyResponseFuture<axum::body::Body, Infallible>>();
    send::<VerifyResponseBody<axum::body::Body>>();
    send_sync_clone::<VerifyRejection>();
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    let known: Vec<HeaderName> = Preset::ALL
        .iter()
        .flat_map(|p| p.scheme().header_names())
        .chain([HeaderName::from_static("content-length")])
        .collect();
    prop_oneof![
        4 => proptest::sample::select(known),
        1 => "[a-z][a-z0-9-]{0,15}".prop_map(|s| HeaderName::from_bytes(s.as_bytes()).unwrap()),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        "(t=[0-9]{0,12},)?(v1=[0-9a-f]{0,70},?){0,3}".prop_map(String::into_bytes),
        "(sha256=|sha1=|v0=)?[0-9a-fA-F]{0,70}".prop_map(String::into_bytes),
        "(v1,[A-Za-z0-9+/=]{0,50} ?){0,3}".prop_map(String::into_bytes),
        "[0-9]{0,25}".prop_map(String::into_bytes),
    ]
}

/// Secrets (or public keys) in every format the presets take; the first one a preset accepts
/// is used.
const KEYS: &[&str] = &[
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    // Ed25519 public key, RFC 8032 test 1 (hex).
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    // The same key in base64 (Telnyx).
    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    // ECDSA P-256 public key, DER, base64 (SendGrid's SDK test key).
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    // HTTP Basic credentials (basic-auth, Postmark, Pipedrive).
    "hook-user:s3cret-password",
];

fn fuzz_layer(preset: Preset) -> VerifyLayer {
    KEYS.iter()
        .find_map(|key| {
            VerifyLayer::builder(
                Verifier::builder(preset)
                    .secret(*key)
                    .body_limit(1024)
                    .clock(countersign_tower::FixedClock::from_unix_secs(NOW))
                    .build()
                    .ok()?,
            )
            .handshakes(true)
            .build()
            .ok()
        })
        .unwrap_or_else(|| panic!("no test key fits {preset}"))
}

#[test]
fn every_preset_has_a_fuzz_key() {
    for &preset in Preset::ALL {
        fuzz_layer(preset);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Whatever the headers and body, the layer answers 400, 401 or 413 and never calls the
    /// handler or panics.
    #[test]
    fn never_panics_on_arbitrary_headers(
        preset in proptest::sample::select(Preset::ALL.to_vec()),
        headers in proptest::collection::vec((header_name(), header_value()), 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..1100),
        method in proptest::sample::select(vec!["POST", "GET", "PUT", "PATCH"]),
    ) {
        let layer = fuzz_layer(preset);
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = guarded(&layer, &calls);
        let mut req = Request::builder().method(method).uri("/hook").body(Full::new(Bytes::from(body))).unwrap();
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                req.headers_mut().append(name, value);
            }
        }
        let response = svc.oneshot(req).now_or_never().expect("completes").unwrap();
        let status = response.status().as_u16();
        prop_assert!([400, 401, 413].contains(&status), "status {}", status);
        prop_assert_eq!(calls.load(Ordering::SeqCst), 0);
        prop_assert!(response.extensions().get::<VerifyRejection>().is_some());
    }

    /// Sign→verify through the whole layer for arbitrary bodies; flipping one bit of the body
    /// is rejected.
    #[test]
    fn round_trip_and_single_bit_tamper(
        preset in proptest::sample::select(vec![Preset::Stripe, Preset::Github, Preset::StandardWebhooks, Preset::Slack, Preset::Shopify]),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        bit in any::<proptest::sample::Index>(),
    ) {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let headers = Signer::new(preset, secret).unwrap().sign(
            &SignRequest::new(&body).id("evt").timestamp(std::time::Duration::from_secs(NOW)),
        ).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = guarded(&layer(preset, secret), &calls);

        let mut req = Request::post("/").body(Full::new(Bytes::from(body.clone()))).unwrap();
        *req.headers_mut() = headers.clone();
        let response = svc.clone().oneshot(req).now_or_never().unwrap().unwrap();
        prop_assert_eq!(response.status(), StatusCode::OK);

        let mut tampered = body;
        let i = bit.index(tampered.len() * 8);
        tampered[i / 8] ^= 1 << (i % 8);
        let mut req = Request::post("/").body(Full::new(Bytes::from(tampered))).unwrap();
        *req.headers_mut() = headers;
        let response = svc.oneshot(req).now_or_never().unwrap().unwrap();
        prop_assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        prop_assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn verified_is_in_the_extensions_and_the_body_is_the_exact_bytes() {
    let seen: Arc<Mutex<Option<(Verified, Bytes)>>> = Arc::default();
    let s = seen.clone();
    let svc = layer(Preset::Stripe, STRIPE_SECRET).layer(service_fn(
        move |req: Request<VerifiedBody>| {
            let s = s.clone();
            async move {
                let verified = req.extensions().get::<Verified>().cloned().unwrap();
                *s.lock().unwrap() = Some((verified, req.into_body().into_bytes()));
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }
        },
    ));
    let body = Bytes::from_static(b"{\"id\":\"evt_42\"}\n");
    let mut req = Request::post("/").body(Full::new(body.clone())).unwrap();
    *req.headers_mut() = sign(Preset::Stripe, STRIPE_SECRET, &body, "", NOW);
    assert_eq!(svc.oneshot(req).await.unwrap().status(), StatusCode::OK);
    let (verified, bytes) = seen.lock().unwrap().take().unwrap();
    assert_eq!(verified.event_id(), Some("evt_42"));
    assert_eq!(bytes, body);
}

#[tokio::test]
async fn url_bound_scheme_without_a_host_is_a_bad_request() {
    let form = Bytes::from_static(b"CallSid=CA1");
    let headers = Signer::new(Preset::Twilio, "token")
        .unwrap()
        .sign(&SignRequest::new(&form).url("https://x.example/hook"))
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = guarded(&VerifyLayer::new(Preset::Twilio, "token").unwrap(), &calls);
    let mut req = Request::post("/hook").body(Full::new(form)).unwrap();
    *req.headers_mut() = headers;
    let response = svc.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let rejection = response.extensions().get::<VerifyRejection>().unwrap();
    assert_eq!(
        rejection.verify_error(),
        Some(&VerifyError::MissingHeader {
            name: http::header::HOST
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
