//! Hostile requests from the outside-in review (issue 13): path confusion, methods, spoofed
//! headers, client-sent forwarding headers, big upstream answers, deliveries without an id,
//! draining on SIGTERM, log floods. Raw sockets where a client library would tidy the
//! request up.

use std::process::Command;
use std::time::Duration;

use countersign_core::{Preset, SignRequest, Signer};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::time::Instant;

use super::harness::{
    Mode, Proxy, SECRET, Scratch, Upstream, delivery, free_port, get, pairs, post, post_once, raw,
    raw_request, signed, status_of, unique_id,
};

const GITHUB_SECRET: &str = "github hardening secret";
const STRIPE_SECRET: &str = "whsec_stripe_hardening";

fn two_routes(github: &Upstream, stripe: &Upstream) -> (Scratch, String) {
    let dir = Scratch::new();
    let path = dir.file(
        "routes.toml",
        format!(
            r#"
[[route]]
path = "/webhooks/github"
preset = "github"
secret = "{GITHUB_SECRET}"
upstream = "{}"

[[route]]
path = "/webhooks/stripe"
preset = "stripe"
secret = "{STRIPE_SECRET}"
upstream = "{}"
"#,
            github.url(),
            stripe.url()
        )
        .as_bytes(),
    );
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_encoded_separators_backslashes_and_empty_segments_are_400_never_forwarded() {
    let github = Upstream::start().await;
    let stripe = Upstream::start().await;
    let (_dir, config) = two_routes(&github, &stripe);
    let proxy = Proxy::start(&["--config", &config]);
    let body = br#"{"action":"opened"}"#;

    for target in [
        "/webhooks/github/../stripe",
        "/webhooks/github/%2e%2e/stripe",
        "/webhooks/github/%2E%2E/stripe",
        "/webhooks/github/.%2e/stripe",
        "/webhooks/github/..%2fstripe",
        "/webhooks/github/..%2Fstripe",
        "/webhooks/github/%2fx",
        "/webhooks/github/..%5cstripe",
        "/webhooks/github/%5C",
        "/webhooks/github\\..\\stripe",
        "/webhooks/github/./../../admin?x=1",
        "/webhooks/github/.",
        "/webhooks/github//x",
        "//webhooks/github",
        "/webhooks/github/x//",
    ] {
        let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("path"), body);
        let response = raw(
            proxy.addr,
            &raw_request("POST", target, &pairs(&headers), body),
        )
        .await;
        assert_eq!(status_of(&response), 400, "{target}: {response}");
    }
    assert_eq!(
        (github.hits(), stripe.hits()),
        (0, 0),
        "nothing reached an upstream"
    );

    // Percent-encoded unreserved characters are the same path: routed and forwarded decoded.
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("path"), body);
    let response = raw(
        proxy.addr,
        &raw_request(
            "POST",
            "/webhooks/%67ithub/push%2Dx?a=%2e",
            &pairs(&headers),
            body,
        ),
    )
    .await;
    assert_eq!(status_of(&response), 200, "{response}");
    assert_eq!(github.hits(), 1);
    assert_eq!(github.seen()[0].uri, "/webhooks/github/push-x?a=%2e");
    assert_eq!(github.seen()[0].headers["countersign-preset"], "github");
    // A trailing slash is not an empty segment.
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("path"), body);
    let response = raw(
        proxy.addr,
        &raw_request("POST", "/webhooks/github/", &pairs(&headers), body),
    )
    .await;
    assert_eq!(status_of(&response), 200, "{response}");
    assert_eq!(github.seen()[1].uri, "/webhooks/github/");
    assert_eq!(stripe.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_other_than_the_routes_are_405_with_allow_before_verification() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &[]);
    let body = b"{}";
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] {
        let headers = delivery(&unique_id("method"), body);
        let response = raw(
            proxy.addr,
            &raw_request(method, "/hooks", &pairs(&headers), body),
        )
        .await;
        assert_eq!(status_of(&response), 405, "{method}: {response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains("\r\nallow: post\r\n"),
            "{method}: {response}"
        );
    }
    // Before any work: an unsigned PUT is 405, not 400.
    let response = raw(proxy.addr, &raw_request("PUT", "/hooks", &[], body)).await;
    assert_eq!(status_of(&response), 405, "{response}");
    assert_eq!(upstream.hits(), 0);

    // Methods are configurable per route.
    let proxy =
        Proxy::standard_webhooks(&url, &["--allow-method", "POST", "--allow-method", "PUT"]);
    let headers = delivery(&unique_id("put"), body);
    let response = raw(
        proxy.addr,
        &raw_request("PUT", "/hooks", &pairs(&headers), body),
    )
    .await;
    assert_eq!(status_of(&response), 200, "{response}");
    assert_eq!(upstream.seen()[0].method, "PUT");
    let response = raw(
        proxy.addr,
        &raw_request("DELETE", "/hooks", &pairs(&headers), body),
    )
    .await;
    assert_eq!(status_of(&response), 405, "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nallow: post, put\r\n"),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_the_proxy_sets_cannot_be_smuggled_with_underscores() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &[]);
    let body = b"{}";
    let id = unique_id("underscore");
    let mut headers = pairs(&delivery(&id, body));
    for (k, v) in [
        ("Countersign_Event_Id", "spoofed"),
        ("Countersign_Preset", "stripe"),
        ("countersign_verified", "spoofed"),
        ("COUNTERSIGN-PRESET", "stripe"),
        ("X_Forwarded_For", "6.6.6.6"),
        ("X_Forwarded_Host", "evil.example"),
        ("x-forwarded_proto", "https"),
        ("X-Real_IP", "6.6.6.6"),
    ] {
        headers.push((k.to_owned(), v.to_owned()));
    }
    let response = raw(proxy.addr, &raw_request("POST", "/hooks", &headers, body)).await;
    assert_eq!(status_of(&response), 200, "{response}");
    let seen = &upstream.seen()[0];
    let normal = |n: &str| n.to_ascii_lowercase().replace('_', "-");
    for (name, value) in &seen.headers {
        let n = normal(name.as_str());
        assert!(
            !name.as_str().contains('_')
                || !(n.starts_with("countersign-")
                    || n.starts_with("x-forwarded-")
                    || n == "x-real-ip"),
            "{name}: {value:?} reached the upstream"
        );
    }
    assert_eq!(seen.headers["countersign-event-id"], id.as_str());
    assert_eq!(seen.headers["countersign-preset"], "standard-webhooks");
    assert_eq!(seen.headers["countersign-verified"], "true");
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers.get_all("countersign-preset").iter().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_untrusted_clients_are_replaced_and_kept_from_trusted_proxies() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let body = b"{}";
    let spoof = |h: &mut HeaderMap| {
        for (k, v) in [
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-prefix", "/admin"),
            ("forwarded", "for=6.6.6.6;host=evil.example;proto=https"),
            ("x-real-ip", "6.6.6.6"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    let base = [
        "--upstream",
        url.as_str(),
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
    ];

    let proxy = Proxy::start(&base);
    let mut headers = delivery(&unique_id("xff"), body);
    spoof(&mut headers);
    let a = post_once(proxy.addr, "/hooks", &headers, body)
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let h = &upstream.seen()[0].headers;
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-host"], proxy.addr.to_string().as_str());
    assert_eq!(h["x-forwarded-proto"], "http");
    for gone in [
        "forwarded",
        "x-real-ip",
        "x-forwarded-port",
        "x-forwarded-prefix",
    ] {
        assert!(!h.contains_key(gone), "{gone}: {h:?}");
    }

    // The client is a trusted proxy: its chain is kept and extended.
    let mut args = base.to_vec();
    args.extend([
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "127.0.0.1/32",
    ]);
    let proxy = Proxy::start(&args);
    let mut headers = delivery(&unique_id("xff"), body);
    spoof(&mut headers);
    let a = post_once(proxy.addr, "/hooks", &headers, body)
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let h = &upstream.seen()[1].headers;
    assert_eq!(h["x-forwarded-for"], "6.6.6.6, 127.0.0.1");
    assert_eq!(h["x-forwarded-host"], "evil.example");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["forwarded"], "for=6.6.6.6;host=evil.example;proto=https");

    // The old switch is gone, with a pointer to its replacement.
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--trust-forwarded-headers"])
        .args(base)
        .args(["--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--trusted-proxy"), "{err}");
    // A bad CIDR is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--trusted-proxy", "10.0.0.0/33"])
        .args(base)
        .args(["--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_bound_presets_use_forwarded_headers_only_from_trusted_proxies() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let token = "twilio auth token";
    let body = b"CallSid=CA1&From=%2B15551234567";
    let public = "https://pub.example.com/hooks/twilio";
    let headers = || {
        let mut h = Signer::new(Preset::Twilio, token)
            .unwrap()
            .sign(&SignRequest::new(body).url(public))
            .unwrap();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("pub.example.com"),
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h
    };
    let args = |trusted: &'static str| {
        vec![
            "--upstream".to_owned(),
            url.clone(),
            "--preset".to_owned(),
            "twilio".to_owned(),
            "--secret".to_owned(),
            token.to_owned(),
            "--no-dedup".to_owned(),
            "--trusted-proxy".to_owned(),
            trusted.to_owned(),
        ]
    };
    let untrusted = args("192.0.2.0/24");
    let proxy = Proxy::start(&untrusted.iter().map(String::as_str).collect::<Vec<_>>());
    let a = post_once(proxy.addr, "/hooks/twilio", &headers(), body)
        .await
        .unwrap();
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "the URL is rebuilt from Host, not from an untrusted client's X-Forwarded-Host: {a:?}"
    );
    let trusted = args("127.0.0.0/8");
    let proxy = Proxy::start(&trusted.iter().map(String::as_str).collect::<Vec<_>>());
    let a = post_once(proxy.addr, "/hooks/twilio", &headers(), body)
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_with_a_large_body_is_recorded_done_and_relayed_without_the_body() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Large(1_100_000));
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &[]);
    let body = b"{}";
    let id = unique_id("large");
    let headers = delivery(&id, body);
    let first = post(&proxy.url("/hooks"), &headers, body).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.headers);
    assert!(first.body.len() <= 1024 * 1024, "{}", first.body.len());
    for _ in 0..2 {
        let again = post(&proxy.url("/hooks"), &headers, body).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.headers["countersign-duplicate"], "true");
    }
    assert_eq!(upstream.hits(), 1, "processed once");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        proxy.logs().contains("upstream answer body"),
        "{}",
        proxy.logs()
    );
}

fn slack_command(secret: &str, body: &[u8]) -> HeaderMap {
    let mut h = signed(Preset::Slack, secret, "", body);
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_slash_commands_without_an_event_id_are_forwarded_without_dedup_by_default() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let secret = "slack signing secret";
    let base = [
        "--upstream",
        url.as_str(),
        "--preset",
        "slack",
        "--secret",
        secret,
    ];
    let proxy = Proxy::start(&base);
    let command = b"token=x&team_id=T1&command=%2Fweather&text=94070";
    for _ in 0..2 {
        let a = post(
            &proxy.url("/slack"),
            &slack_command(secret, command),
            command,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert!(!a.headers.contains_key("countersign-duplicate"));
    }
    assert_eq!(upstream.hits(), 2, "no id, no dedup: each is forwarded");
    assert!(
        !upstream.seen()[0]
            .headers
            .contains_key("countersign-event-id")
    );
    // Events API deliveries still carry an id and are deduplicated.
    let event = format!(
        r#"{{"type":"event_callback","event_id":"{}"}}"#,
        unique_id("ev")
    );
    for _ in 0..2 {
        post(
            &proxy.url("/slack"),
            &signed(Preset::Slack, secret, "", event.as_bytes()),
            event.as_bytes(),
        )
        .await;
    }
    assert_eq!(upstream.hits(), 3);

    let mut args = base.to_vec();
    args.extend(["--no-event-id", "reject"]);
    let proxy = Proxy::start(&args);
    let a = post(
        &proxy.url("/slack"),
        &slack_command(secret, command),
        command,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    assert_eq!(upstream.hits(), 3);
}

fn admin_get(port: u16, path: &str) -> impl std::future::Future<Output = super::harness::Answer> {
    let url = format!("http://127.0.0.1:{port}{path}");
    async move { get(&url).await }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_listener_stays_open_healthz_is_503_and_new_deliveries_get_503() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_millis(1500)));
    let url = upstream.url();
    let mut proxy = Proxy::standard_webhooks(&url, &["--grace-period", "3s"]);
    let addr = proxy.addr;
    let id = unique_id("drain");
    let in_flight =
        tokio::spawn(async move { post_once(addr, "/hooks", &delivery(&id, b"{}"), b"{}").await });
    while upstream.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sigterm_at = Instant::now();
    proxy.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let health = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&health), 503, "{health}");
    assert!(health.contains("shutting_down"), "{health}");
    let late = post_once(addr, "/hooks", &delivery(&unique_id("late"), b"{}"), b"{}")
        .await
        .expect("the listener is still open");
    assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE, "{late:?}");
    assert!(late.headers.contains_key("retry-after"));

    let first = in_flight
        .await
        .unwrap()
        .expect("in-flight request answered");
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(upstream.hits(), 1, "the late delivery was not forwarded");
    let status = proxy.wait(Duration::from_secs(10)).await;
    assert!(status.success());
    let took = sigterm_at.elapsed();
    assert!(took >= Duration::from_millis(2500), "exited after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listen_serves_healthz_and_metrics_and_healthz_writes_nothing_to_the_store() {
    let server = countersign_testkit::RedisServer::start();
    let redis_url = server.url();
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    let proxy = Proxy::standard_webhooks(
        &url,
        &["--redis", &redis_url, "--admin-listen", &admin_addr],
    );
    let dirty = || {
        server
            .cli(&["INFO", "persistence"])
            .lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap()
    };
    let before = dirty();
    for _ in 0..10 {
        let h = admin_get(admin, "/healthz").await;
        assert_eq!(h.status, StatusCode::OK, "{h:?}");
        assert_eq!(
            h.text(),
            "{\"status\":\"ok\",\"store\":\"redis\",\"store_reachable\":true}\n"
        );
    }
    assert_eq!(dirty(), before, "/healthz wrote to the store");
    let m = admin_get(admin, "/metrics").await;
    assert!(m.text().contains("countersign_verified_total"), "{m:?}");
    // The public listener no longer answers them.
    let public = get(&proxy.url("/healthz")).await;
    assert_ne!(public.status, StatusCode::OK, "{public:?}");
    assert!(!public.text().contains("store_reachable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_rejections_is_logged_sampled_and_counted_exactly() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &[]);
    let client = super::harness::client();
    const FLOOD: usize = 2000;
    let headers = delivery(&unique_id("flood"), b"{}");
    for _ in 0..FLOOD {
        let mut req = http::Request::post(proxy.url("/hooks"))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"{\"x\":1}",
            )))
            .unwrap();
        req.headers_mut().extend(headers.clone());
        let a = super::harness::send(&client, req).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let metrics = get(&proxy.url("/metrics")).await.text();
    let line = format!(
        "countersign_rejected_total{{route=\"standard-webhooks\",reason=\"signature_mismatch\"}} {FLOOD}"
    );
    assert!(metrics.lines().any(|l| l == line), "{metrics}");
    // The summary of what was left out comes within a few seconds.
    let waited = Instant::now();
    while !proxy.logs().contains("suppressed") && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = proxy.logs();
    let lines = logs
        .lines()
        .filter(|l| l.contains("signature_mismatch") || l.contains("webhook rejected"))
        .count();
    assert!(
        lines < 200,
        "{lines} rejection log lines for {FLOOD} rejections"
    );
    assert!(lines > 0);
    assert!(logs.contains("suppressed"), "{logs}");
}

#[test]
fn check_parses_the_redis_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args([
            "proxy",
            "--upstream",
            "http://127.0.0.1:1",
            "--preset",
            "stripe",
            "--secret",
            "s",
            "--redis",
            "env:CS_HARDENING_REDIS_URL",
            "--check",
        ])
        .env("CS_HARDENING_REDIS_URL", "notaurl")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Redis URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_the_drain_at_once() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Hang);
    let url = upstream.url();
    let mut proxy = Proxy::standard_webhooks(&url, &["--grace-period", "30s"]);
    let addr = proxy.addr;
    let in_flight = tokio::spawn(async move {
        post_once(
            addr,
            "/hooks",
            &delivery(&unique_id("second"), b"{}"),
            b"{}",
        )
        .await
    });
    while upstream.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second_at = Instant::now();
    proxy.terminate();
    let answer = in_flight.await.unwrap().expect("answered");
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert!(answer.headers.contains_key("retry-after"));
    let status = proxy.wait(Duration::from_secs(10)).await;
    assert!(status.success());
    let took = second_at.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "exited {took:?} after the second signal"
    );
}
