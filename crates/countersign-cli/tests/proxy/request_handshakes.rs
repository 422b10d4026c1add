//! Unsigned request handshakes through the real proxy process: Meta's `GET hub.challenge`
//! (only with the verify token given by `--handshake-token env:…`), X's `GET crc_token`;
//! routes of presets with a GET handshake allow GET by default, the others stay POST-only.
//! Hostile handshakes (wrong token, CRLF, oversized) are refused, never echoed, and never
//! reach the upstream.

use countersign_core::{Preset, SignRequest, Signer};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;

use super::harness::*;

const META_SECRET: &str = "meta-app-secret-1";
const VERIFY_TOKEN: &str = "verify-token-Zq9";

async fn request(method: &str, url: &str) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(bytes::Bytes::new()))
        .unwrap();
    send(&client(), req).await
}

#[tokio::test]
async fn meta_route_answers_hub_challenge_with_the_verify_token_only() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start_with_env(
        &[
            "--upstream",
            &upstream.url(),
            "--preset",
            "meta",
            "--secret",
            META_SECRET,
            "--handshake-token",
            "env:META_VERIFY_TOKEN",
            "--no-dedup",
        ],
        &[("META_VERIFY_TOKEN", VERIFY_TOKEN)],
    );
    let ok = request(
        "GET",
        &proxy.url(&format!(
            "/hooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        )),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.text(), "1158201444");
    assert_eq!(ok.headers["x-content-type-options"], "nosniff");

    let wrong = request(
        "GET",
        &proxy.url("/hooks/meta?hub.mode=subscribe&hub.challenge=ECHOME&hub.verify_token=guess"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.text().contains("ECHOME"));
    for challenge in [
        "a%0D%0ASet-Cookie:%20x=1".to_owned(),
        "%3Cb%3E".to_owned(),
        "7".repeat(1025),
    ] {
        let r = request(
            "GET",
            &proxy.url(&format!(
                "/hooks/meta?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge={challenge}"
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{challenge}");
        assert!(r.headers.get("set-cookie").is_none());
        assert!(!r.text().contains("<b>") && !r.text().contains("7777777"));
    }
    // A GET that is not a handshake is an unsigned request: rejected.
    let plain = request("GET", &proxy.url("/hooks/meta")).await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    // Other methods: 405 naming POST and GET.
    let put = request("PUT", &proxy.url("/hooks/meta")).await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers["allow"], "POST, GET");
    assert_eq!(upstream.hits(), 0, "a handshake reached the upstream");

    // A signed event is forwarded.
    let body = br#"{"object":"page","entry":[{"id":"1","time":1700000000}]}"#;
    let headers = Signer::new(Preset::Meta, META_SECRET)
        .unwrap()
        .sign(&SignRequest::new(body))
        .unwrap();
    let r = post(&proxy.url("/hooks/meta"), &headers, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(upstream.hits(), 1);
    let r = post(&proxy.url("/hooks/meta"), &HeaderMap::new(), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(upstream.hits(), 1);
    // The verify token never appears in the logs.
    assert!(!proxy.logs().contains(VERIFY_TOKEN), "{}", proxy.logs());
}

#[tokio::test]
async fn x_route_answers_crc_and_other_presets_stay_post_only() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&[
        "--upstream",
        &upstream.url(),
        "--preset",
        "x",
        "--secret",
        "x-consumer-secret",
        "--no-dedup",
    ]);
    let r = request("GET", &proxy.url("/x?crc_token=challenge%2Bstring")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // base64(HMAC-SHA256("x-consumer-secret", "challenge+string")) (Python hmac).
    assert_eq!(
        r.text(),
        r#"{"response_token":"sha256=QwwqhdDUbwE6L71Uxm30DQ7wgGZG0+uGQm6AI7KBFyg="}"#
    );
    assert_eq!(upstream.hits(), 0);

    // Without a GET handshake a route answers GET with 405, as before.
    let stripe = Proxy::start(&[
        "--upstream",
        &upstream.url(),
        "--preset",
        "stripe",
        "--secret",
        "whsec_test",
    ]);
    let r = request("GET", &stripe.url("/hook?crc_token=x")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(upstream.hits(), 0);
}

/// Rotation through the real proxy: labelled secrets (`--labelled-secret`), the matching
/// label counted in `/metrics`, an expired secret refused (and logged by label, never by
/// value).
#[tokio::test]
async fn labelled_secrets_are_counted_and_an_expired_one_is_refused() {
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&[
        "--upstream",
        &upstream.url(),
        "--preset",
        "github",
        "--labelled-secret",
        "q3-old@1000000000=old-secret-VALUE-1",
        "--labelled-secret",
        "q4-new=new-secret-VALUE-2",
        "--secret",
        "plain-secret-VALUE-3",
    ]);
    let body = br#"{"action":"opened"}"#;
    let sign = |secret: &str, id: &str| {
        Signer::new(Preset::Github, secret)
            .unwrap()
            .sign(&SignRequest::new(body).id(id))
            .unwrap()
    };
    let r = post(&proxy.url("/gh"), &sign("new-secret-VALUE-2", "d-1"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &proxy.url("/gh"),
        &sign("plain-secret-VALUE-3", "d-2"),
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(&proxy.url("/gh"), &sign("old-secret-VALUE-1", "d-3"), body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.hits(), 2);

    let metrics = get(&proxy.url("/metrics")).await.text();
    for line in [
        "countersign_secret_matches_total{route=\"github\",secret=\"q3-old\"} 0",
        "countersign_secret_matches_total{route=\"github\",secret=\"q4-new\"} 1",
        "countersign_secret_matches_total{route=\"github\",secret=\"unlabelled\"} 1",
        "countersign_rejected_total{route=\"github\",reason=\"secret_expired\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
    // The refusal's log line is written after the answer: wait for it (bounded).
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !proxy.logs().contains("q3-old") && std::time::Instant::now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let logs = proxy.logs();
    assert!(logs.contains("q3-old"), "{logs}");
    assert!(
        !logs.contains("VALUE"),
        "a secret value reached the logs:\n{logs}"
    );
}
