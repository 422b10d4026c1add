//! AWS SNS: messages computed independently by `tests/sns/gen_sns.py` (Python
//! `cryptography`) verified against a certificate served by a real HTTPS server on
//! 127.0.0.1:0 (test CA of `tests/tls/`). Hostile cases: tampered fields, swapped signature
//! versions, `SigningCertURL`s pointing elsewhere (never fetched), a bounded certificate
//! cache, fetch failures answered 503, topics, and `SubscriptionConfirmation` confirmed only
//! when the operator opted in.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use countersign_tower::sns::{SnsError, SnsMessageType, SnsVerifier};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

const CA: &[u8] = include_bytes!("tls/ca.pem");
const SIGNING_PEM: &[u8] = include_bytes!("sns/signing.pem");

struct Server {
    addr: SocketAddr,
    cert_hits: Arc<AtomicUsize>,
    confirm_hits: Arc<AtomicUsize>,
    /// The most `/SimpleNotificationService-slow-….pem` requests in flight at once.
    slow_peak: Arc<AtomicUsize>,
}

async fn serve() -> Server {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/localhost.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/localhost.key")).unwrap();
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
    let cert_hits = Arc::new(AtomicUsize::new(0));
    let confirm_hits = Arc::new(AtomicUsize::new(0));
    let (certs_seen, confirms_seen) = (cert_hits.clone(), confirm_hits.clone());
    let slow_peak = Arc::new(AtomicUsize::new(0));
    let (peak, slow_now) = (slow_peak.clone(), Arc::new(AtomicUsize::new(0)));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, certs_seen, confirms_seen) =
                (acceptor.clone(), certs_seen.clone(), confirms_seen.clone());
            let (peak, slow_now) = (peak.clone(), slow_now.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (certs_seen, confirms_seen) =
                            (certs_seen.clone(), confirms_seen.clone());
                        let (peak, slow_now) = (peak.clone(), slow_now.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let response = if path.starts_with("/SimpleNotificationService-slow-") {
                                let now = slow_now.fetch_add(1, Ordering::SeqCst) + 1;
                                peak.fetch_max(now, Ordering::SeqCst);
                                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                                slow_now.fetch_sub(1, Ordering::SeqCst);
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap()
                            } else if path.starts_with("/SimpleNotificationService-")
                                && path != "/SimpleNotificationService-missing.pem"
                            {
                                certs_seen.fetch_add(1, Ordering::SeqCst);
                                Response::new(Full::new(Bytes::from_static(SIGNING_PEM)))
                            } else if path == "/confirm" {
                                confirms_seen.fetch_add(1, Ordering::SeqCst);
                                Response::new(Full::new(Bytes::from_static(
                                    b"<ConfirmSubscriptionResponse/>",
                                )))
                            } else {
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap()
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
    Server {
        addr,
        cert_hits,
        confirm_hits,
        slow_peak,
    }
}

fn base(server: &Server) -> String {
    format!("https://localhost:{}", server.addr.port())
}

/// The generated messages, their URLs pointed at `server`.
fn messages(server: &Server) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sns/messages.json"
    ))
    .unwrap()
    .replace("{BASE}", &base(server));
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .map(|v| (v["id"].as_str().unwrap().to_owned(), v["message"].clone()))
        .collect()
}

fn message(server: &Server, id: &str) -> Value {
    messages(server)
        .into_iter()
        .find(|(i, _)| i == id)
        .unwrap()
        .1
}

fn verifier() -> countersign_tower::sns::SnsVerifierBuilder {
    SnsVerifier::builder()
        .topic_arn("arn:aws:sns:us-west-2:123456789012:MyTopic")
        .allow_host("localhost")
        .root_certificates_pem(CA)
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Signs a message as SNS does (SignatureVersion 2), with the test key.
fn sign_v2(mut msg: Value) -> Value {
    let fields: &[&str] = if msg["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut text = String::new();
    for f in fields {
        if let Some(v) = msg.get(*f).and_then(Value::as_str) {
            text.push_str(&format!("{f}\n{v}\n"));
        }
    }
    let key = PrivateKeyDer::from_pem_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sns/signing.key"
    ))
    .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(key.secret_der()).unwrap();
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        text.as_bytes(),
        &mut sig,
    )
    .unwrap();
    use base64::Engine as _;
    msg["SignatureVersion"] = "2".into();
    msg["Signature"] = base64::engine::general_purpose::STANDARD.encode(sig).into();
    msg
}

#[tokio::test]
async fn generated_messages_verify_and_the_certificate_is_fetched_once() {
    let server = serve().await;
    let sns = verifier().build().unwrap();
    for (id, msg) in messages(&server) {
        let got = sns
            .verify(&body(&msg))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(got.message_id(), msg["MessageId"].as_str().unwrap(), "{id}");
        assert_eq!(got.message(), msg["Message"].as_str().unwrap(), "{id}");
        assert_eq!(got.subject(), msg["Subject"].as_str(), "{id}");
        assert!(!got.confirmed());
    }
    assert_eq!(server.cert_hits.load(Ordering::SeqCst), 1, "cached");
    assert_eq!(sns.cached_certificates(), 1);
}

#[tokio::test]
async fn tampered_messages_are_refused() {
    let server = serve().await;
    let sns = verifier().build().unwrap();
    let v2 = message(&server, "notification-v2");
    let v1 = message(&server, "notification-v1");
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut m = v2.clone();
    m["Message"] = "Hello world?".into();
    cases.push(("message", m));
    let mut m = v2.clone();
    m.as_object_mut().unwrap().remove("Subject");
    cases.push(("subject removed", m));
    let mut m = v2.clone();
    m["Subject"] = "My First Message ".into();
    cases.push(("subject", m));
    let mut m = v2.clone();
    m["TopicArn"] = "arn:aws:sns:us-west-2:123456789012:Other".into();
    cases.push(("topic", m));
    let mut m = v2.clone();
    m["Timestamp"] = "2012-05-02T00:54:07.655Z".into();
    cases.push(("timestamp", m));
    let mut m = v2.clone();
    m["SignatureVersion"] = "1".into();
    cases.push(("v2 signature claimed as v1", m));
    let mut m = v1.clone();
    m["SignatureVersion"] = "2".into();
    cases.push(("v1 signature claimed as v2", m));
    let mut m = v2.clone();
    let sig = m["Signature"].as_str().unwrap().to_owned();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    m["Signature"] = format!("{flipped}{}", &sig[1..]).into();
    cases.push(("signature bit", m));
    let mut m = v2.clone();
    m["Signature"] = "not base64!".into();
    cases.push(("signature not base64", m));
    let mut m = v2.clone();
    m["Type"] = "UnsubscribeConfirmation".into();
    m["SubscribeURL"] = "https://sns.us-west-2.amazonaws.com/".into();
    m["Token"] = "t".into();
    cases.push(("type", m));
    for (what, m) in cases {
        let err = sns.verify(&body(&m)).await.unwrap_err();
        assert!(matches!(err, SnsError::SignatureMismatch), "{what}: {err}");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    let mut m = v2.clone();
    m["SignatureVersion"] = "3".into();
    let err = sns.verify(&body(&m)).await.unwrap_err();
    assert!(
        matches!(err, SnsError::UnsupportedSignatureVersion),
        "{err}"
    );
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    for hostile in [
        &b"not json"[..],
        b"[]",
        b"{}",
        br#"{"Type":"Notification"}"#,
    ] {
        let err = sns.verify(hostile).await.unwrap_err();
        assert!(matches!(err, SnsError::Malformed(_)), "{err}");
    }
    let huge = vec![b' '; countersign_tower::sns::MAX_SNS_BODY_LEN + 1];
    assert_eq!(
        sns.verify(&huge).await.unwrap_err().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn signing_cert_urls_elsewhere_are_never_fetched() {
    let server = serve().await;
    let sns = verifier().build().unwrap();
    let v2 = message(&server, "notification-v2");
    let port = server.addr.port();
    for url in [
        format!("http://localhost:{port}/SimpleNotificationService-test.pem"),
        format!("https://evil.test:{port}/SimpleNotificationService-test.pem"),
        format!("https://localhost.evil.test:{port}/SimpleNotificationService-test.pem"),
        format!("https://localhost@evil.test:{port}/SimpleNotificationService-test.pem"),
        format!("https://localhost:{port}/cert.pem"),
        format!("https://localhost:{port}/SimpleNotificationService-test.pem?x=1"),
        format!("https://localhost:{port}/SimpleNotificationService-../x.pem"),
        format!("https://localhost:{port}/SimpleNotificationService-.pem"),
        "not a url".to_owned(),
    ] {
        let mut m = v2.clone();
        m["SigningCertURL"] = url.clone().into();
        let err = sns.verify(&body(&m)).await.unwrap_err();
        assert!(matches!(err, SnsError::UrlNotAllowed(_)), "{url}: {err}");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.cert_hits.load(Ordering::SeqCst), 0);
    // The default patterns are AWS's: the test server is not one of them.
    let aws = SnsVerifier::builder()
        .topic_arn("arn:aws:sns:us-west-2:123456789012:MyTopic")
        .root_certificates_pem(CA)
        .build()
        .unwrap();
    let err = aws.verify(&body(&v2)).await.unwrap_err();
    assert!(matches!(err, SnsError::UrlNotAllowed(_)), "{err}");
    assert_eq!(server.cert_hits.load(Ordering::SeqCst), 0);
}

/// The default patterns name AWS regions, not any label: `sns.s3.amazonaws.com` is the S3
/// bucket `sns` (whoever owns it could serve a certificate there, with a valid AWS TLS
/// certificate, and sign any message with any topic ARN).
#[tokio::test]
async fn the_default_hosts_are_region_shaped() {
    let server = serve().await;
    let v2 = message(&server, "notification-v2");
    let aws = SnsVerifier::builder()
        .topic_arn("arn:aws:sns:us-west-2:123456789012:MyTopic")
        .timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    for host in [
        "sns.s3.amazonaws.com",
        "sns.s3-us-west-2.amazonaws.com",
        "sns.s3-external-1.amazonaws.com",
        "sns.s3.dualstack.us-east-1.amazonaws.com",
        "sns.evil.amazonaws.com",
        "sns.us-east-1.amazonaws.com.evil.test",
        "sns.us-east-1x.amazonaws.com",
        "sns.u-east-1.amazonaws.com",
    ] {
        let mut m = v2.clone();
        m["SigningCertURL"] = format!("https://{host}/SimpleNotificationService-x.pem").into();
        let err = aws.verify(&body(&m)).await.unwrap_err();
        assert!(matches!(err, SnsError::UrlNotAllowed(_)), "{host}: {err}");
    }
    // Region-shaped hosts pass the pin (the fetch then fails here: no network, 503).
    for host in [
        "sns.us-east-1.amazonaws.com",
        "sns.us-gov-west-1.amazonaws.com",
        "sns.ap-southeast-2.amazonaws.com",
        "SNS.EU-CENTRAL-1.AMAZONAWS.COM",
        "sns.cn-north-1.amazonaws.com.cn",
    ] {
        let mut m = v2.clone();
        m["SigningCertURL"] = format!("https://{host}/SimpleNotificationService-x.pem").into();
        let err = aws.verify(&body(&m)).await.unwrap_err();
        assert!(!matches!(err, SnsError::UrlNotAllowed(_)), "{host}: {err}");
    }
}

/// A forger can name any certificate URL on an allowed host: at most
/// `MAX_CONCURRENT_CERTIFICATE_FETCHES` are fetched at once, the others are answered 503 at
/// once (SNS retries), and no fetch failure is cached.
#[tokio::test]
async fn certificate_fetches_at_once_are_bounded() {
    let server = serve().await;
    let sns = verifier().build().unwrap();
    let v2 = message(&server, "notification-v2");
    let port = server.addr.port();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (sns, mut m) = (sns.clone(), v2.clone());
            m["SigningCertURL"] =
                format!("https://localhost:{port}/SimpleNotificationService-slow-{i}.pem").into();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let err = sns.verify(&body(&m)).await.unwrap_err();
                (err, started.elapsed())
            })
        })
        .collect();
    let max = countersign_tower::sns::MAX_CONCURRENT_CERTIFICATE_FETCHES;
    let mut quick = 0;
    for t in tasks {
        let (err, took) = t.await.unwrap();
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE, "{err}");
        if took < std::time::Duration::from_millis(1000) {
            quick += 1;
        }
    }
    let peak = server.slow_peak.load(Ordering::SeqCst);
    assert!((1..=max).contains(&peak), "{peak} fetches at once");
    assert!(quick >= 20 - max, "only {quick} answered without waiting");
}

#[tokio::test]
async fn the_certificate_cache_is_bounded_and_fetch_failures_are_503() {
    let server = serve().await;
    let sns = verifier().certificate_cache(2).build().unwrap();
    let v2 = message(&server, "notification-v2");
    for name in ["a", "b", "c", "a"] {
        let mut m = v2.clone();
        m["SigningCertURL"] =
            format!("{}/SimpleNotificationService-{name}.pem", base(&server)).into();
        sns.verify(&body(&m)).await.unwrap();
        assert!(sns.cached_certificates() <= 2);
    }
    // "a" was evicted by "c", so it was fetched again.
    assert_eq!(server.cert_hits.load(Ordering::SeqCst), 4);
    let mut m = v2.clone();
    m["SigningCertURL"] = format!("{}/SimpleNotificationService-missing.pem", base(&server)).into();
    let err = sns.verify(&body(&m)).await.unwrap_err();
    assert!(matches!(err, SnsError::Certificate(_)), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn topics_can_be_pinned() {
    let server = serve().await;
    let v2 = message(&server, "notification-v2");
    let only_other = SnsVerifier::builder()
        .allow_host("localhost")
        .root_certificates_pem(CA)
        .topic_arn("arn:aws:sns:us-west-2:123456789012:Other")
        .build()
        .unwrap();
    let err = only_other.verify(&body(&v2)).await.unwrap_err();
    assert!(matches!(err, SnsError::TopicNotAllowed(_)), "{err}");
    let mine = verifier()
        .topic_arn("arn:aws:sns:us-west-2:123456789012:MyTopic")
        .build()
        .unwrap();
    mine.verify(&body(&v2)).await.unwrap();
}

#[tokio::test]
async fn subscription_confirmation_is_fetched_only_when_opted_in() {
    let server = serve().await;
    // The generated confirmation (SubscribeURL at AWS) verifies; without opting in nothing
    // is fetched.
    let generated = message(&server, "subscription-confirmation-v2");
    let sns = verifier().build().unwrap();
    let got = sns.handle(&body(&generated)).await.unwrap();
    assert_eq!(got.kind(), SnsMessageType::SubscriptionConfirmation);
    assert!(!got.confirmed());
    assert!(
        got.subscribe_url()
            .unwrap()
            .starts_with("https://sns.us-west-2.amazonaws.com/")
    );
    assert!(matches!(
        sns.confirm(&got).await,
        Err(SnsError::ConfirmationDisabled)
    ));

    // One signed for our server's SubscribeURL.
    let mut confirmation = generated.clone();
    confirmation["SubscribeURL"] = format!(
        "{}/confirm?Action=ConfirmSubscription&Token=2336412f37",
        base(&server)
    )
    .into();
    let confirmation = sign_v2(confirmation);
    let got = sns.handle(&body(&confirmation)).await.unwrap();
    assert!(!got.confirmed());
    assert_eq!(server.confirm_hits.load(Ordering::SeqCst), 0);

    let opted_in = verifier().confirm_subscriptions(true).build().unwrap();
    let got = opted_in.handle(&body(&confirmation)).await.unwrap();
    assert!(got.confirmed());
    assert_eq!(server.confirm_hits.load(Ordering::SeqCst), 1);

    // A notification is never "confirmed"; a forged confirmation is refused before any
    // fetch; a signed SubscribeURL on a host outside the pins is not fetched.
    let n = opted_in
        .handle(&body(&message(&server, "notification-v2")))
        .await
        .unwrap();
    assert!(!n.confirmed());
    let mut forged = confirmation.clone();
    forged["Token"] = "forged".into();
    assert!(matches!(
        opted_in.handle(&body(&forged)).await,
        Err(SnsError::SignatureMismatch)
    ));
    let err = opted_in.handle(&body(&generated)).await.unwrap_err();
    assert!(matches!(err, SnsError::UrlNotAllowed(_)), "{err}");
    assert_eq!(server.confirm_hits.load(Ordering::SeqCst), 1);
}

/// SNS signs with AWS's key whatever the topic: a message published to *anyone's* topic
/// (an attacker's own AWS account) verifies, and can be POSTed straight to our endpoint.
/// Without a pinned topic nothing ties a message to us, so the builder refuses.
#[tokio::test]
async fn a_verifier_without_a_topic_is_refused_at_build() {
    let server = serve().await;
    let err = SnsVerifier::builder()
        .allow_host("localhost")
        .root_certificates_pem(CA)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("topic"), "{err}");
    let err = SnsVerifier::builder()
        .allow_host("localhost")
        .root_certificates_pem(CA)
        .confirm_subscriptions(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("topic"), "{err}");
    // An attacker's topic, genuinely signed (here: by the test key standing for AWS's).
    let mut theirs = message(&server, "notification-v2");
    theirs["TopicArn"] = "arn:aws:sns:us-west-2:666666666666:Attacker".into();
    let theirs = sign_v2(theirs);
    let err = verifier()
        .build()
        .unwrap()
        .verify(&body(&theirs))
        .await
        .unwrap_err();
    assert!(matches!(err, SnsError::TopicNotAllowed(_)), "{err}");
}

/// The canonical string is `Name\nvalue\n…`, so an authentic message's TopicArn can carry
/// a signed prefix of any length with newlines; the error must not echo it whole.
#[tokio::test]
async fn a_refused_topic_is_not_echoed_whole_in_the_error() {
    let server = serve().await;
    let mut m = message(&server, "notification-v2");
    m["TopicArn"] = format!("{}\nforged log line\n", "x".repeat(100_000)).into();
    let m = sign_v2(m);
    let err = verifier()
        .build()
        .unwrap()
        .verify(&body(&m))
        .await
        .unwrap_err();
    assert!(matches!(err, SnsError::TopicNotAllowed(_)), "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.len() < 1000, "{} bytes", text.len());
    assert!(!err.to_string().contains('\n'), "{err}");
}
