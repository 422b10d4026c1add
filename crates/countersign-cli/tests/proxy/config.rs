//! `--config` with several routes; secrets from the environment and from files; the checks
//! that refuse a bad configuration before anything listens.

use std::process::Command;

use countersign_core::Preset;
use http::StatusCode;

use super::harness::{
    Proxy, SECRET, Scratch, Upstream, get, post, signed, status_signed_with, unique_id,
    until_status,
};

const STRIPE_SECRET: &str = "whsec_stripe_from_env";
const GITHUB_SECRET: &str = "github secret from a file";

fn config(stripe_upstream: &str, github_upstream: &str) -> String {
    format!(
        r#"
# two providers, two apps
upstream_timeout = "5s"
log_format = "text"

[[route]]
path = "/webhooks/stripe"
preset = "stripe"
secret = "env:CS_PROXY_TEST_STRIPE_SECRET"
upstream = "{stripe_upstream}"
tolerance = 600

[[route]]
name = "gh"
path = "/webhooks/github/"
preset = "github"
secret_file = "github.secret"
upstream = "{github_upstream}/app"
dedup = false
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_with_two_routes() {
    let stripe_app = Upstream::start().await;
    let github_app = Upstream::start().await;
    let dir = Scratch::new();
    dir.file("github.secret", format!("{GITHUB_SECRET}\n").as_bytes());
    let path = dir.file(
        "countersign.toml",
        config(&stripe_app.url(), &github_app.url()).as_bytes(),
    );
    let proxy = Proxy::start_with_env(
        &["--config", &path],
        &[("CS_PROXY_TEST_STRIPE_SECRET", STRIPE_SECRET)],
    );

    // Stripe: id in the body; routed by path, deduplicated.
    let id = unique_id("cfg");
    let body = format!(r#"{{"id":"{id}","type":"invoice.paid"}}"#);
    let headers = signed(Preset::Stripe, STRIPE_SECRET, "", body.as_bytes());
    let a = post(&proxy.url("/webhooks/stripe"), &headers, body.as_bytes()).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let a = post(&proxy.url("/webhooks/stripe"), &headers, body.as_bytes()).await;
    assert_eq!(a.headers["countersign-duplicate"], "true");
    assert_eq!(stripe_app.hits(), 1);
    assert_eq!(stripe_app.seen()[0].uri, "/webhooks/stripe");
    assert_eq!(
        stripe_app.seen()[0].headers["countersign-event-id"],
        id.as_str()
    );
    assert_eq!(stripe_app.seen()[0].headers["countersign-preset"], "stripe");

    // GitHub: a sub-path, an upstream prefix, the secret from a file, no dedup.
    let gh_body = br#"{"action":"opened"}"#;
    let gh_headers = signed(Preset::Github, GITHUB_SECRET, "d-1", gh_body);
    for _ in 0..2 {
        let a = post(
            &proxy.url("/webhooks/github/push?x=1"),
            &gh_headers,
            gh_body,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert!(!a.headers.contains_key("countersign-duplicate"));
    }
    assert_eq!(github_app.hits(), 2, "dedup = false forwards every copy");
    assert_eq!(github_app.seen()[0].uri, "/app/webhooks/github/push?x=1");
    assert_eq!(github_app.seen()[0].headers["countersign-event-id"], "d-1");

    // Each route verifies with its own preset and secret.
    let wrong = post(&proxy.url("/webhooks/github"), &headers, body.as_bytes()).await;
    assert_eq!(
        wrong.status,
        StatusCode::BAD_REQUEST,
        "no GitHub signature: {wrong:?}"
    );
    let other = signed(Preset::Github, "another secret", "d-2", gh_body);
    let wrong = post(&proxy.url("/webhooks/github"), &other, gh_body).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // No route, no forwarding.
    let none = post(&proxy.url("/webhooks/stripex"), &headers, body.as_bytes()).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!((stripe_app.hits(), github_app.hits()), (1, 2));

    let metrics = get(&proxy.url("/metrics")).await.text();
    for line in [
        "countersign_verified_total{route=\"stripe\"} 2",
        "countersign_verified_total{route=\"gh\"} 2",
        "countersign_rejected_total{route=\"gh\",reason=\"missing_header\"} 1",
        "countersign_rejected_total{route=\"gh\",reason=\"signature_mismatch\"} 1",
        "countersign_unrouted_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?}:\n{metrics}"
        );
    }
    assert!(!metrics.contains("countersign_duplicates_total{route=\"gh\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheme_table_in_the_config_verifies_like_the_preset_it_copies() {
    let app = Upstream::start().await;
    let dir = Scratch::new();
    // GitHub, written out as data inside the route.
    let path = dir.file(
        "c.toml",
        format!(
            r#"
[[route]]
path = "/hooks/acme"
secret = "acme secret"
upstream = "{}"

[route.scheme]
name = "acme"
signature_header = "X-Hub-Signature-256"
prefix = "sha256="
event_id_header = "X-GitHub-Delivery"
event_type_header = "X-GitHub-Event"
handshakes = []
"#,
            app.url()
        )
        .as_bytes(),
    );
    let proxy = Proxy::start(&["--config", &path]);
    let id = unique_id("inline");
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, "acme secret", &id, body);
    let a = post(&proxy.url("/hooks/acme"), &headers, body).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let a = post(&proxy.url("/hooks/acme"), &headers, body).await;
    assert_eq!(a.headers["countersign-duplicate"], "true", "{a:?}");
    assert_eq!(app.hits(), 1);
    assert_eq!(app.seen()[0].headers["countersign-preset"], "acme");
    assert_eq!(app.seen()[0].headers["countersign-event-id"], id.as_str());

    // Signed under another secret, or with the body changed: refused, never forwarded.
    let forged = signed(Preset::Github, "not the secret", &unique_id("f"), body);
    let a = post(&proxy.url("/hooks/acme"), &forged, body).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    let a = post(
        &proxy.url("/hooks/acme"),
        &headers,
        br#"{"action":"closed"}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    assert_eq!(app.hits(), 1);
}

fn proxy(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("proxy")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_prints_the_routes_without_listening() {
    let dir = Scratch::new();
    dir.file("github.secret", b"s\n");
    let path = dir.file(
        "c.toml",
        config("http://127.0.0.1:1", "http://127.0.0.1:2").as_bytes(),
    );
    let (code, out, err) = proxy(
        &[
            "--config",
            &path,
            "--check",
            "--redis",
            "redis://127.0.0.1:1/",
        ],
        &[("CS_PROXY_TEST_STRIPE_SECRET", "x")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "listen 127.0.0.1:8080\n\
         store redis\n\
         route stripe /webhooks/stripe -> http://127.0.0.1:1 preset=stripe secrets=1 dedup=on handshakes=answered tolerance=600s upstream_timeout=5s methods=POST no_event_id=reject\n\
         route gh /webhooks/github -> http://127.0.0.1:2/app preset=github secrets=1 dedup=off handshakes=answered tolerance=preset upstream_timeout=5s methods=POST no_event_id=reject\n\
         ok\n"
    );
}

#[test]
fn unusable_configurations_exit_2_before_listening() {
    let dir = Scratch::new();
    let up = "http://127.0.0.1:1";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("[[route]]\npath = \"/\"\npreset = \"stripe\"\nsecret = \"env:CS_PROXY_TEST_UNSET\"\nupstream = \"{up}\"\n"),
            "environment variable `CS_PROXY_TEST_UNSET` (from `env:CS_PROXY_TEST_UNSET`) is not set",
        ),
        (
            format!("[[route]]\npath = \"/a\"\npreset = \"stripe\"\nsecret = \"s\"\nupstream = \"{up}\"\n[[route]]\npath = \"/b\"\npreset = \"stripe\"\nsecret = \"s\"\nupstream = \"{up}\"\n"),
            "two routes are named `stripe`",
        ),
        (
            format!("[[route]]\npath = \"/\"\npreset = \"zoom\"\nsecret = \"s\"\nupstream = \"{up}\"\n"),
            "route `zoom`: `zoom` deliveries carry no event id to deduplicate on: turn dedup off",
        ),
        (
            "[[route]]\npath = \"/\"\npreset = \"stripe\"\nsecret = \"s\"\nupstream = \"https://app\"\n".into(),
            "plain http",
        ),
        (
            format!("[[route]]\npath = \"/\"\npreset = \"stripe\"\nsecret = \"whsec_topsecret\"\nupstream = \"{up}\"\ncolour = \"blue\"\n"),
            "unknown field `colour`",
        ),
        (
            format!("upstream_timeout = \"2m\"\n[[route]]\npath = \"/\"\npreset = \"stripe\"\nsecret = \"s\"\nupstream = \"{up}\"\n"),
            "must be shorter than the dedup lease",
        ),
        ("listen = \"127.0.0.1:8080\"\n".into(), "has no [[route]]"),
        (
            format!("[[route]]\npath = \"/\"\nsecret = \"s\"\nupstream = \"{up}\"\n[route.scheme]\nname = \"acme\"\nsignature_header = \"x-acme-signature\"\ncontent = \"{{bdy}}\"\n"),
            "`content`: unknown placeholder `{bdy}`",
        ),
        (
            format!("[[route]]\npath = \"/\"\npreset = \"github\"\nsecret = \"s\"\nupstream = \"{up}\"\n[route.scheme]\nname = \"acme\"\nsignature_header = \"x-acme-signature\"\n"),
            "set exactly one of `preset`, `scheme_file` and a `[route.scheme]` table",
        ),
        (
            format!("[[route]]\npath = \"/\"\nprefix = \"sha1=\"\nsecret = \"s\"\nupstream = \"{up}\"\n[route.scheme]\nname = \"acme\"\nsignature_header = \"x-acme-signature\"\n"),
            "`prefix` does not apply with a `[route.scheme]` table",
        ),
    ];
    for (i, (text, expected)) in cases.into_iter().enumerate() {
        let path = dir.file(&format!("bad{i}.toml"), text.as_bytes());
        let (code, out, err) = proxy(&["--config", &path], &[]);
        assert_eq!(code, 2, "case {i}: {err}");
        assert!(out.is_empty(), "case {i}: {out}");
        assert!(
            err.contains(expected),
            "case {i}: expected {expected:?} in {err:?}"
        );
        assert!(!err.contains("topsecret"), "case {i}: secret echoed: {err}");
    }

    // Route flags do not mix with --config; flags alone need the route's essentials.
    let path = dir.file(
        "ok.toml",
        format!(
            "[[route]]\npath = \"/\"\npreset = \"stripe\"\nsecret = \"s\"\nupstream = \"{up}\"\n"
        )
        .as_bytes(),
    );
    let (code, _, err) = proxy(&["--config", &path, "--preset", "github"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--preset is a route setting"), "{err}");
    let (code, _, err) = proxy(&["--preset", "stripe", "--secret", "s"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--upstream"), "{err}");
    let (code, _, err) = proxy(&["--upstream", up, "--preset", "stripe"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--secret"), "{err}");
    let (code, _, err) = proxy(
        &[
            "--upstream",
            up,
            "--preset",
            "zoom",
            "--secret",
            "s",
            "--check",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--no-dedup"), "{err}");
    let (code, _, err) = proxy(
        &[
            "--upstream",
            up,
            "--preset",
            "zoom",
            "--secret",
            "s",
            "--no-dedup",
            "--check",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_the_environment_and_from_files_on_the_command_line() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    // Rotation: a file with two secrets, the new one first.
    let file = dir.file("secrets", b"whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==\n  \n");
    let url = upstream.url();
    let proxy = Proxy::start_with_env(
        &[
            "--upstream",
            &url,
            "--preset",
            "standard-webhooks",
            "--secret",
            "env:CS_PROXY_TEST_SECRET",
            "--secret-file",
            &file,
        ],
        &[("CS_PROXY_TEST_SECRET", SECRET)],
    );
    for secret in [SECRET, "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA=="] {
        let headers = signed(Preset::StandardWebhooks, secret, &unique_id("env"), b"{}");
        assert_eq!(
            post(&proxy.url("/"), &headers, b"{}").await.status,
            StatusCode::OK
        );
    }
    let headers = signed(
        Preset::StandardWebhooks,
        "whsec_b3RoZXI=",
        &unique_id("env"),
        b"{}",
    );
    assert_eq!(
        post(&proxy.url("/"), &headers, b"{}").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(upstream.hits(), 2);
    // The secret never shows in the process's arguments.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", proxy.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("MfKQ9r8G"));
}

/// An operator rotates a secret file (in place, or by swapping the file as a mounted
/// Kubernetes secret does): the proxy picks the new secret up without a restart; a file
/// that breaks keeps the last good secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_rotates_without_a_restart() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    let file = dir.file("github.secret", b"first secret\n");
    let url = upstream.url();
    let proxy = Proxy::start(&[
        "--upstream",
        &url,
        "--preset",
        "github",
        "--secret-file",
        &file,
        "--secret",
        "fixed secret",
    ]);
    let at = proxy.url("/");
    let status = |secret: &'static str| status_signed_with(&at, Preset::Github, secret);
    let until_accepted =
        |secret: &'static str| until_status(&at, Preset::Github, secret, StatusCode::OK);
    assert_eq!(status("first secret").await, StatusCode::OK);
    assert_eq!(status("fixed secret").await, StatusCode::OK);
    assert_eq!(status("second secret").await, StatusCode::UNAUTHORIZED);

    // Rewritten in place.
    std::fs::write(&file, "second secret\n").unwrap();
    let took = until_accepted("second secret").await;
    assert_eq!(status("first secret").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status("fixed secret").await,
        StatusCode::OK,
        "the flag's secret stays"
    );

    // Swapped for another file (a new inode), as a mounted secret is.
    let next = dir.file("next", b"third secret\n");
    std::fs::rename(&next, &file).unwrap();
    until_accepted("third secret").await;
    assert_eq!(status("second secret").await, StatusCode::UNAUTHORIZED);

    // Emptied (a half-written file): the last good secrets stay in use.
    std::fs::write(&file, b"\n\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(status("third secret").await, StatusCode::OK);
    assert_eq!(status("first secret").await, StatusCode::UNAUTHORIZED);
    // And fixed again.
    std::fs::write(&file, "fourth secret\n").unwrap();
    until_accepted("fourth secret").await;
    assert_eq!(status("third secret").await, StatusCode::UNAUTHORIZED);
    eprintln!("in-place rotation picked up after {took:?}");
}
