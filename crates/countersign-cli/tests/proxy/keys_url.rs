//! `--keys-url` / `keys_url`: a route whose keys come from a JSON Web Key Set over HTTPS. The
//! key server is a real TLS server (`jwks_server.py`, Python's `http.server` with the tower
//! crate's test CA certificate for `localhost`); the proxy is the real binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_core::Preset;
use http::StatusCode;

use super::harness::{
    Proxy, Scratch, Upstream, get, post, signed, status_signed_with, unique_id, until_status,
};

/// The tower crate's test PKI (`crates/countersign-tower/tests/tls/gen_test_ca.py`).
fn tls_file(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "countersign-tower",
        "tests",
        "tls",
        name,
    ]
    .iter()
    .collect();
    path.to_str().unwrap().to_owned()
}

/// A key server serving `dir` over HTTPS; killed on drop.
struct KeyServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl KeyServer {
    fn start(dir: &Scratch) -> KeyServer {
        let log = dir.0.join("key-server.log");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/proxy/jwks_server.py");
        let mut child = Command::new("python3")
            .args([
                script,
                dir.0.to_str().unwrap(),
                &tls_file("localhost.pem"),
                &tls_file("localhost.key"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 runs the key server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "the key server did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        KeyServer { child, port, log }
    }

    fn url(&self, file: &str) -> String {
        format!("https://localhost:{}/{file}", self.port)
    }

    /// Requests the key server has answered so far.
    fn fetches(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("\"GET /")
            .count()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The proxy in front of `upstream` for `preset`, its keys from `keys` (trusting the test CA),
/// plus `extra` flags.
fn key_set_proxy(upstream: &Upstream, preset: &str, keys: &str, extra: &[&str]) -> Proxy {
    let (url, ca) = (upstream.url(), tls_file("ca.pem"));
    let mut args = vec![
        "--upstream",
        &url,
        "--preset",
        preset,
        "--keys-url",
        keys,
        "--keys-ca",
        &ca,
    ];
    args.extend_from_slice(extra);
    Proxy::start(&args)
}

/// A JSON Web Key Set of `oct` keys (HMAC secrets) plus `extra` JWKs.
fn jwks(secrets: &[(&str, &str)], extra: &[serde_json::Value]) -> Vec<u8> {
    let mut keys: Vec<serde_json::Value> = secrets
        .iter()
        .map(|(kid, secret)| {
            serde_json::json!({"kty": "oct", "kid": kid, "k": URL_SAFE_NO_PAD.encode(secret)})
        })
        .collect();
    keys.extend_from_slice(extra);
    serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()
}

/// 32 bytes that sit in the key set as an Ed25519 public key.
const PUBLIC_KEY: &str = "an ed25519 public key: 32 bytes!";

/// The key set rotates (a key added, the old one removed) and the proxy follows without a
/// restart; a public key in the set never verifies an HMAC signature; a key server that
/// goes away leaves the last good keys in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_a_key_set_rotate_without_a_restart() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    let public = serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "kid": "public", "x": URL_SAFE_NO_PAD.encode(PUBLIC_KEY)
    });
    dir.file(
        "jwks.json",
        &jwks(&[("one", "first secret")], std::slice::from_ref(&public)),
    );
    let mut keys = KeyServer::start(&dir);
    let proxy = key_set_proxy(
        &upstream,
        "github",
        &keys.url("jwks.json"),
        &["--keys-refresh", "1s"],
    );
    let at = proxy.url("/");
    let status = |secret: &'static str| status_signed_with(&at, Preset::Github, secret);
    assert_eq!(status("first secret").await, StatusCode::OK);
    assert_eq!(status("second secret").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(PUBLIC_KEY).await,
        StatusCode::UNAUTHORIZED,
        "a public key in the set is not an HMAC secret"
    );

    // Rotation: the new key is published beside the old one, then the old one is removed.
    dir.file(
        "jwks.json",
        &jwks(&[("one", "first secret"), ("two", "second secret")], &[]),
    );
    let took = until_status(&at, Preset::Github, "second secret", StatusCode::OK).await;
    assert_eq!(status("first secret").await, StatusCode::OK);
    dir.file("jwks.json", &jwks(&[("two", "second secret")], &[]));
    until_status(
        &at,
        Preset::Github,
        "first secret",
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A key set without a usable key, then no key server at all: the last good keys stay.
    dir.file("jwks.json", &jwks(&[], std::slice::from_ref(&public)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(status("second secret").await, StatusCode::OK);
    keys.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(status("second secret").await, StatusCode::OK);
    assert_eq!(status("first secret").await, StatusCode::UNAUTHORIZED);
    // The operator sees it: keys taken into use twice, refreshes failing since.
    let metrics = get(&proxy.url("/metrics")).await.text();
    let value = |name: &str| -> u64 {
        let prefix = format!("{name}{{route=\"github\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("countersign_key_reloads_total"), 2, "{metrics}");
    assert!(
        value("countersign_key_refresh_failures_total") >= 2,
        "{metrics}"
    );
    let logs = proxy.logs();
    assert!(
        !logs.contains("second secret") && !logs.contains(&URL_SAFE_NO_PAD.encode("second secret")),
        "key material in the logs:\n{logs}"
    );
    eprintln!("a published key was picked up after {took:?}");
}

/// Deliveries signed with unknown keys ask for a refresh, but the key server is fetched at
/// most once per `--keys-refresh` interval however many arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_deliveries_do_not_flood_the_key_server() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    dir.file("jwks.json", &jwks(&[("one", "first secret")], &[]));
    let keys = KeyServer::start(&dir);
    let proxy = key_set_proxy(
        &upstream,
        "github",
        &keys.url("jwks.json"),
        &["--keys-refresh", "2s"],
    );
    let at_start = keys.fetches();
    assert_eq!(at_start, 1, "one fetch at start");
    let started = Instant::now();
    let mut forged = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let body = br#"{"zen":"forged"}"#;
        let headers = signed(Preset::Github, "not a key", &unique_id("forged"), body);
        let answer = post(&proxy.url("/"), &headers, body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        forged += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let fetched = keys.fetches() - at_start;
    // One per 2 s interval, plus one for the interval in progress.
    let bound = (elapsed / 2.0).ceil() as usize + 1;
    assert!(
        forged > 50 && fetched <= bound,
        "{forged} forged deliveries in {elapsed:.1} s made {fetched} fetches (at most {bound})"
    );
    assert!(upstream.hits() == 0, "nothing forged was forwarded");
    eprintln!("{forged} forged deliveries in {elapsed:.1} s: {fetched} fetches");
}

/// A key set that cannot be used stops the proxy before it listens, with the reason.
#[test]
fn unusable_key_sets_exit_2_before_listening() {
    let dir = Scratch::new();
    dir.file(
        "public.json",
        &jwks(
            &[],
            &[serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(PUBLIC_KEY)
            })],
        ),
    );
    dir.file("ok.json", &jwks(&[("one", "first secret")], &[]));
    let keys = KeyServer::start(&dir);
    let ca = tls_file("ca.pem");
    let rogue_ca = tls_file("rogue-ca.pem");
    let (public, ok, missing) = (
        keys.url("public.json"),
        keys.url("ok.json"),
        keys.url("missing.json"),
    );
    let plain = format!("http://localhost:{}/ok.json", keys.port);
    // An access token in the URL is never echoed.
    let with_token = format!("{missing}?token=topsecret");
    let up = "http://127.0.0.1:1";
    let base = ["--check", "--upstream", up, "--preset", "github"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--keys-url", &public, "--keys-ca", &ca],
            "the key set has no `oct` key for",
        ),
        (
            vec!["--keys-url", &plain, "--keys-ca", &ca],
            "is not an https URL",
        ),
        (
            vec!["--keys-url", &ok, "--keys-ca", &rogue_ca],
            "cannot fetch the keys",
        ),
        (vec!["--keys-url", &ok], "cannot fetch the keys"),
        (
            vec!["--keys-url", &missing, "--keys-ca", &ca],
            "the key server answered 404",
        ),
        (
            vec!["--keys-url", &with_token, "--keys-ca", &ca],
            "the key server answered 404",
        ),
        (
            vec!["--keys-url", "env:CS_PROXY_TEST_UNSET_KEYS_URL"],
            "environment variable `CS_PROXY_TEST_UNSET_KEYS_URL`",
        ),
        (
            vec!["--keys-url", &ok, "--keys-ca", &ca, "--secret", "topsecret"],
            "--keys-url replaces the route's secrets",
        ),
        (
            vec![
                "--keys-url",
                &ok,
                "--keys-ca",
                &ca,
                "--keys-refresh",
                "10ms",
            ],
            "--keys-refresh must be at least 1s",
        ),
    ];
    for (i, (extra, expected)) in cases.into_iter().enumerate() {
        let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
            .arg("proxy")
            .args(base)
            .args(&extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(expected),
            "case {i}: expected {expected:?} in {err:?}"
        );
        assert!(!err.contains("topsecret"), "case {i}: secret echoed: {err}");
    }

    // `env:NAME`: the URL from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("proxy")
        .args(base)
        .args(["--keys-url", "env:CS_PROXY_TEST_KEYS_URL", "--keys-ca", &ca])
        .env("CS_PROXY_TEST_KEYS_URL", &ok)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");

    // The same through a config file: paths relative to it, settings named as written.
    let config = format!(
        "[[route]]\npath = \"/\"\npreset = \"github\"\nkeys_url = \"{ok}\"\nkeys_ca = \"ca.pem\"\nkeys_refresh = \"30s\"\nupstream = \"{up}\"\n"
    );
    dir.file("ca.pem", &std::fs::read(&ca).unwrap());
    let path = dir.file("keys.toml", config.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--check", "--config", &path])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.ends_with("ok\n"), "{stdout}");
    let bad = format!(
        "[[route]]\npath = \"/\"\npreset = \"github\"\nsecret = \"s\"\nkeys_ca = \"ca.pem\"\nupstream = \"{up}\"\n"
    );
    let path = dir.file("bad.toml", bad.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--check", "--config", &path])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`keys_ca` needs `keys_url`"), "{stderr}");
}

/// Keys come to the verifier written as the scheme's secrets are: a Standard Webhooks route
/// (secrets `whsec_<base64>`) verifies with a raw `oct` key from the set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_serves_schemes_with_encoded_secrets() {
    use base64::engine::general_purpose::STANDARD;
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    let raw = b"a raw 24-byte secret key";
    let set = serde_json::json!({"keys": [{"kty": "oct", "kid": "sw-1", "k": URL_SAFE_NO_PAD.encode(raw)}]});
    dir.file("jwks.json", &serde_json::to_vec(&set).unwrap());
    let keys = KeyServer::start(&dir);
    let proxy = key_set_proxy(&upstream, "standard-webhooks", &keys.url("jwks.json"), &[]);
    let body = br#"{"type":"ping"}"#;
    let secret = format!("whsec_{}", STANDARD.encode(raw));
    let headers = signed(Preset::StandardWebhooks, &secret, &unique_id("sw"), body);
    assert_eq!(
        post(&proxy.url("/"), &headers, body).await.status,
        StatusCode::OK
    );
    let other = format!("whsec_{}", STANDARD.encode(b"another 24-byte secret!!"));
    let headers = signed(Preset::StandardWebhooks, &other, &unique_id("sw"), body);
    assert_eq!(
        post(&proxy.url("/"), &headers, body).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(upstream.hits(), 1);
}
