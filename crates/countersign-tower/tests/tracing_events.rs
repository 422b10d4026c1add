//! `VerifyLayer`'s tracing output: one event per rejection, never a secret or an expected
//! signature.
//!
//! Alone in its test binary on purpose: `tracing` caches each callsite's interest when the
//! callsite is first hit, and a test on another thread hitting the layer's callsites without
//! a subscriber, at the moment this one installs its thread-local subscriber, could cache
//! "never" and silence the events this test reads.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::*;
use countersign_tower::{Preset, VerifiedBody, Verify, VerifyLayer};
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};

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

/// Captures everything written by a tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn one_tracing_event_per_rejection_without_secrets_or_expected_signatures() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let calls = Arc::new(AtomicUsize::new(0));
    let svc = guarded(&layer(Preset::Github, GITHUB_SECRET), &calls);
    let sent = b"{\"action\":\"opened\"}";
    let tampered = b"{\"action\":\"closed\"}";
    let headers = sign(Preset::Github, GITHUB_SECRET, sent, "d-1", NOW);
    // The signature the layer computes for the tampered body must never be logged.
    let expected = sign(Preset::Github, GITHUB_SECRET, tampered, "d-1", NOW);
    let expected = expected["x-hub-signature-256"]
        .to_str()
        .unwrap()
        .trim_start_matches("sha256=");

    let mut req = Request::post("/hooks/gh")
        .body(Full::new(Bytes::from_static(tampered)))
        .unwrap();
    *req.headers_mut() = headers.clone();
    let response = svc.clone().oneshot(req).now_or_never().unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let req = Request::post("/hooks/gh")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = svc.oneshot(req).now_or_never().unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("webhook rejected"))
        .collect();
    assert_eq!(rejected.len(), 2, "{log}");
    assert!(
        rejected[0].contains("reason=\"signature_mismatch\""),
        "{log}"
    );
    assert!(rejected[0].contains("status=401"), "{log}");
    assert!(rejected[0].contains("path=\"/hooks/gh\""), "{log}");
    assert!(rejected[1].contains("reason=\"missing_header\""), "{log}");
    assert!(rejected[1].contains("x-hub-signature-256"), "{log}");
    assert!(!log.contains(GITHUB_SECRET), "{log}");
    assert!(!log.contains(expected), "{log}");
}
