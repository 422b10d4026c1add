//! `HttpsKeys` against a real HTTPS server on 127.0.0.1:0 whose certificate comes from a
//! test CA (`tests/tls/`, made by `gen_test_ca.py`): keys rotate without a restart, refreshes
//! are throttled, responses are bounded, slow servers time out, and every way of pointing the
//! source elsewhere — a host outside the pins, a redirect, a certificate for another name or
//! from another CA — is refused while the last good keys stay in use.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use countersign_core::Delivery;
use countersign_tower::keys::{HttpsKeys, KeySourceError, RotatingVerifier};
use countersign_tower::{FixedClock, Preset, SignRequest, Signer, Verifier};
use http::{Response, StatusCode};
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CA: &[u8] = include_bytes!("tls/ca.pem");

struct Server {
    addr: SocketAddr,
    jwks: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

fn jwks(keys: &[(&str, &str)]) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|(kid, k)| {
            format!(
                r#"{{"kty":"oct","kid":"{kid}","use":"sig","k":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(k)
            )
        })
        .collect();
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// An HTTPS key server presenting `cert`/`key` (file stems under tests/tls).
async fn serve(stem: &str) -> Server {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/{stem}.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/{stem}.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let jwks = Arc::new(Mutex::new(self::jwks(&[("a", "key-a")])));
    let hits = Arc::new(AtomicUsize::new(0));
    let (set, count) = (jwks.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, set, count) = (acceptor.clone(), set.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return; // the client refused our certificate
                };
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (set, count) = (set.clone(), count.clone());
                        async move {
                            count.fetch_add(1, Ordering::SeqCst);
                            let full =
                                |b: Bytes| -> Body { http_body_util::BodyExt::boxed(Full::new(b)) };
                            let response = match req.uri().path() {
                                "/jwks" => {
                                    Response::new(full(Bytes::from(set.lock().unwrap().clone())))
                                }
                                "/redirect" => Response::builder()
                                    .status(StatusCode::FOUND)
                                    .header("location", "/jwks")
                                    .body(full(Bytes::new()))
                                    .unwrap(),
                                "/huge" => Response::new(full(Bytes::from(vec![b' '; 100_000]))),
                                "/huge-chunked" => {
                                    let chunks = futures_util::stream::iter((0..100).map(|_| {
                                        Ok::<_, Infallible>(Frame::data(Bytes::from(vec![
                                            b' ';
                                            1000
                                        ])))
                                    }));
                                    Response::new(http_body_util::BodyExt::boxed(StreamBody::new(
                                        chunks,
                                    )))
                                }
                                "/slow" => {
                                    tokio::time::sleep(Duration::from_secs(3)).await;
                                    Response::new(full(Bytes::from(set.lock().unwrap().clone())))
                                }
                                _ => Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(full(Bytes::new()))
                                    .unwrap(),
                            };
                            Ok::<_, Infallible>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Server { addr, jwks, hits }
}

fn url(server: &Server, path: &str) -> String {
    format!("https://localhost:{}{path}", server.addr.port())
}

fn github(
    keys: Vec<countersign_tower::Secret>,
) -> Result<Verifier, countersign_tower::ConfigError> {
    Verifier::builder(Preset::Github)
        .secrets(keys)
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
}

fn accepts(verifier: &Verifier, secret: &str) -> bool {
    let body = br#"{"zen":"keys rotate"}"#;
    let headers = Signer::new(Preset::Github, secret)
        .unwrap()
        .sign(&SignRequest::new(body).id("d-1"))
        .unwrap();
    verifier.verify(&Delivery::new(&headers, body)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_without_a_restart() {
    let server = serve("localhost").await;
    let source = HttpsKeys::builder(url(&server, "/jwks"), Preset::Github)
        .root_certificates_pem(CA)
        .refresh_interval(Duration::from_millis(50))
        .min_refresh_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let rotating = RotatingVerifier::new(source, github).unwrap();
    assert!(accepts(&rotating.current(), "key-a"));
    assert!(!accepts(&rotating.current(), "key-b"));
    let verified_label = {
        let body = b"{}";
        let headers = Signer::new(Preset::Github, "key-a")
            .unwrap()
            .sign(&SignRequest::new(body).id("d"))
            .unwrap();
        rotating
            .current()
            .verify(&Delivery::new(&headers, body))
            .unwrap()
    };
    assert_eq!(
        verified_label.secret_label(),
        Some("a"),
        "the kid labels the key"
    );

    *server.jwks.lock().unwrap() = jwks(&[("b", "key-b"), ("a", "key-a")]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !accepts(&rotating.current(), "key-b") {
        assert!(Instant::now() < deadline, "key-b never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    *server.jwks.lock().unwrap() = jwks(&[("b", "key-b")]);
    while accepts(&rotating.current(), "key-a") {
        assert!(Instant::now() < deadline, "key-a never left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rotating.reloads() >= 2);

    // A broken key set keeps the last good keys.
    let failures = rotating.failed_refreshes();
    *server.jwks.lock().unwrap() = r#"{"keys":[{"kty":"oct"}]}"#.to_owned();
    while rotating.failed_refreshes() == failures {
        assert!(
            Instant::now() < deadline,
            "the broken set was never fetched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(accepts(&rotating.current(), "key-b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_are_throttled() {
    let server = serve("localhost").await;
    let source = HttpsKeys::builder(url(&server, "/jwks"), Preset::Github)
        .root_certificates_pem(CA)
        .refresh_interval(Duration::from_secs(3600))
        .min_refresh_interval(Duration::from_millis(300))
        .build()
        .unwrap();
    let rotating = RotatingVerifier::new(source, github).unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // A flood of refresh requests (say, deliveries signed with an unknown key) within the
    // minimum interval reaches the key server not once.
    *server.jwks.lock().unwrap() = jwks(&[("b", "key-b")]);
    for _ in 0..50 {
        assert!(!rotating.refresh().unwrap());
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert!(!accepts(&rotating.current(), "key-b"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(rotating.refresh().unwrap());
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    assert!(accepts(&rotating.current(), "key-b"));
    // Unchanged set: fetched (after the interval) but nothing rebuilt.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(!rotating.refresh().unwrap());
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    assert_eq!(rotating.reloads(), 1);
}

fn first_load(builder: countersign_tower::keys::HttpsKeysBuilder) -> KeySourceError {
    RotatingVerifier::new(builder.build().unwrap(), github).unwrap_err()
}

/// Anyone can read a public key: if an HMAC scheme took one as its secret, anyone could sign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hmac_scheme_never_takes_a_public_key_as_its_secret() {
    let server = serve("localhost").await;
    let public = "public-key-bytes-anyone-can-read";
    assert_eq!(public.len(), 32);
    let x = URL_SAFE_NO_PAD.encode(public);
    *server.jwks.lock().unwrap() = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"pub","x":"{x}"}},{{"kty":"EC","crv":"P-256","x":"{x}","y":"{x}"}}]}}"#
    );
    let err = first_load(
        HttpsKeys::builder(url(&server, "/jwks"), Preset::Github).root_certificates_pem(CA),
    );
    assert!(
        matches!(err, KeySourceError::NoUsableKey { kty: "oct", .. }),
        "{err}"
    );

    // Beside an HMAC key, the public key is skipped: a delivery "signed" with it is refused.
    *server.jwks.lock().unwrap() = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"pub","x":"{x}"}},{{"kty":"oct","kid":"a","k":"{}"}}]}}"#,
        URL_SAFE_NO_PAD.encode("key-a")
    );
    let source = HttpsKeys::builder(url(&server, "/jwks"), Preset::Github)
        .root_certificates_pem(CA)
        .build()
        .unwrap();
    let rotating = RotatingVerifier::new(source, github).unwrap();
    assert!(accepts(&rotating.current(), "key-a"));
    assert!(!accepts(&rotating.current(), public));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_bounded_and_slow_servers_time_out() {
    let server = serve("localhost").await;
    for path in ["/huge", "/huge-chunked"] {
        let err = first_load(
            HttpsKeys::builder(url(&server, path), Preset::Github)
                .root_certificates_pem(CA)
                .max_response_len(4096),
        );
        assert!(
            matches!(err, KeySourceError::TooLarge { limit: 4096 }),
            "{path}: {err}"
        );
    }
    let started = Instant::now();
    let err = first_load(
        HttpsKeys::builder(url(&server, "/slow"), Preset::Github)
            .root_certificates_pem(CA)
            .timeout(Duration::from_millis(300)),
    );
    assert!(
        matches!(
            err,
            KeySourceError::Fetch {
                reason: "timed out",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let err = first_load(
        HttpsKeys::builder(url(&server, "/missing"), Preset::Github).root_certificates_pem(CA),
    );
    assert!(matches!(err, KeySourceError::Status(404)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_is_pinned() {
    let server = serve("localhost").await;
    // A host outside the pins is refused before any connection.
    let err = HttpsKeys::builder(url(&server, "/jwks"), Preset::Github)
        .allow_host("keys.example.com")
        .root_certificates_pem(CA)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, KeySourceError::HostNotAllowed(ref h) if h == "localhost"),
        "{err}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    // A matching pattern is fine.
    HttpsKeys::builder(url(&server, "/jwks"), Preset::Github)
        .allow_host("LOCALHOST")
        .root_certificates_pem(CA)
        .build()
        .unwrap();
    // Plain http is refused.
    let plain = format!("http://localhost:{}/jwks", server.addr.port());
    assert!(matches!(
        HttpsKeys::builder(plain, Preset::Github).build(),
        Err(KeySourceError::InvalidUrl(_))
    ));
    // Redirects are not followed, even to the same host.
    let err = first_load(
        HttpsKeys::builder(url(&server, "/redirect"), Preset::Github).root_certificates_pem(CA),
    );
    assert!(matches!(err, KeySourceError::Status(302)), "{err}");
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "the redirect target was not asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_for_another_name_or_from_another_ca_are_refused() {
    for stem in ["evil", "rogue"] {
        let server = serve(stem).await;
        let err = first_load(
            HttpsKeys::builder(url(&server, "/jwks"), Preset::Github).root_certificates_pem(CA),
        );
        assert!(matches!(err, KeySourceError::Fetch { .. }), "{stem}: {err}");
        assert!(err.to_string().contains("TLS"), "{stem}: {err}");
        assert_eq!(
            server.hits.load(Ordering::SeqCst),
            0,
            "{stem}: no request was sent"
        );
    }
    // The built-in web PKI roots do not trust the test CA either.
    let server = serve("localhost").await;
    let err = first_load(HttpsKeys::builder(url(&server, "/jwks"), Preset::Github));
    assert!(matches!(err, KeySourceError::Fetch { .. }), "{err}");
}

/// A `VerifyLayer` over a rotating verifier whose schedule is hourly: a delivery signed with
/// a key published since the last poll is refused once, wakes the refresher, and is accepted
/// shortly after — while a flood of forged deliveries reaches the key server at most once per
/// minimum refresh interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_wakes_a_throttled_refresh_through_the_layer() {
    use axum::routing::post;
    let keys = serve("localhost").await;
    let source = HttpsKeys::builder(url(&keys, "/jwks"), Preset::Github)
        .root_certificates_pem(CA)
        .refresh_interval(Duration::from_secs(3600))
        .min_refresh_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let rotating = RotatingVerifier::new(source, github).unwrap();
    let layer = countersign_tower::VerifyLayer::rotating(rotating.clone())
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/github", post(|| async { "handled" }))
        .route_layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let post = |secret: &'static str| {
        let client = client.clone();
        async move {
            let body = br#"{"zen":"hi"}"#;
            let headers = Signer::new(Preset::Github, secret)
                .unwrap()
                .sign(&SignRequest::new(body).id("d-1"))
                .unwrap();
            let mut req = http::Request::post(format!("http://{addr}/github"))
                .body(Full::new(Bytes::from_static(body)))
                .unwrap();
            req.headers_mut().extend(headers);
            client.request(req).await.unwrap().status()
        }
    };
    assert_eq!(post("key-a").await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(250)).await;

    *keys.jwks.lock().unwrap() = jwks(&[("b", "key-b")]);
    assert_eq!(post("key-b").await, StatusCode::UNAUTHORIZED);
    let deadline = Instant::now() + Duration::from_secs(5);
    while post("key-b").await != StatusCode::OK {
        assert!(Instant::now() < deadline, "the refresh was never woken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(post("key-a").await, StatusCode::UNAUTHORIZED);

    // Forgeries: 60 in ~600 ms may wake at most one fetch per 200 ms.
    let before = keys.hits.load(Ordering::SeqCst);
    let started = Instant::now();
    for _ in 0..60 {
        assert_eq!(post("forged").await, StatusCode::UNAUTHORIZED);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fetched = keys.hits.load(Ordering::SeqCst) - before;
    let allowed = (started.elapsed().as_millis() / 200) as usize + 2;
    assert!(
        fetched <= allowed,
        "{fetched} fetches in {:?}",
        started.elapsed()
    );
}
