//! `countersign send`: signs, POSTs, prints the status line and the body.

use std::process::{Command, Output};

use countersign_core::{Delivery, Preset, Verifier};
use http::StatusCode;

use super::harness::{Mode, Proxy, SECRET, Scratch, Upstream};

fn send(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("send")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_signs_posts_and_prints_the_answer() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    let body = br#"{"id":"evt_send_1","type":"invoice.paid"}"#;
    let body_file = dir.file("event.json", body);
    let to = format!("{}/webhooks/stripe?attempt=1", upstream.url());
    let out = tokio::task::spawn_blocking(move || {
        send(
            &[
                "--preset",
                "stripe",
                "--secret",
                "whsec_demo",
                "--to",
                &to,
                "--body-file",
                &body_file,
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\nupstream answered 200\n"
    );

    let seen = &upstream.seen()[0];
    assert_eq!(seen.uri, "/webhooks/stripe?attempt=1");
    assert_eq!(&seen.body[..], body);
    assert_eq!(seen.headers["content-type"], "application/json");
    // What arrived verifies with the same secret.
    let verified = Verifier::new(Preset::Stripe, "whsec_demo")
        .unwrap()
        .verify(&Delivery::new(&seen.headers, &seen.body))
        .unwrap();
    assert_eq!(verified.event_id(), Some("evt_send_1"));

    // A non-2xx answer: printed, exit 1.
    upstream.set(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let to = upstream.url();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_countersign"));
        cmd.args([
            "send", "--preset", "github", "--secret", "s", "--to", &to, "--id", "d-7",
        ]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"from stdin")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 500 Internal Server Error\nupstream answered 500\n"
    );
    let seen = &upstream.seen()[1];
    assert_eq!(&seen.body[..], b"from stdin");
    assert_eq!(seen.headers["x-github-delivery"], "d-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_include_prints_the_response_headers_between_status_and_body() {
    let upstream = Upstream::start().await;
    let dir = Scratch::new();
    let body_file = dir.file("event.json", br#"{"id":"evt_i"}"#);
    let to = upstream.url();
    let args = move |include: &str| {
        let mut args: Vec<String> = [
            "--preset",
            "stripe",
            "--secret",
            "whsec_demo",
            "--to",
            &to,
            "--body-file",
            &body_file,
        ]
        .map(str::to_owned)
        .to_vec();
        if !include.is_empty() {
            args.insert(0, include.to_owned());
        }
        args
    };
    for flag in ["-i", "--include"] {
        let a = args(flag);
        let out = tokio::task::spawn_blocking(move || {
            send(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[])
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stdout = text(&out.stdout);
        let (head, body) = stdout
            .split_once("\n\n")
            .expect("a blank line ends the headers");
        let mut lines = head.lines();
        assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"), "{stdout}");
        let headers: Vec<&str> = lines.collect();
        assert!(headers.contains(&"content-length: 21"), "{stdout}");
        assert!(
            headers.iter().all(|h| h.split_once(": ").is_some()),
            "{stdout}"
        );
        assert_eq!(body, "upstream answered 200\n", "{stdout}");
    }
    // Without the flag: no headers, no blank line.
    let a = args("");
    let out = tokio::task::spawn_blocking(move || {
        send(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    })
    .await
    .unwrap();
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\nupstream answered 200\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_through_the_proxy_with_secrets_from_env_and_file() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &[]);
    let dir = Scratch::new();
    let secret_file = dir.file("secret", format!("{SECRET}\n").as_bytes());
    let body_file = dir.file("event.json", b"{\"n\":1}");
    let to = proxy.url("/hooks");
    let out = tokio::task::spawn_blocking(move || {
        let first = send(
            &[
                "--preset",
                "standard-webhooks",
                "--secret",
                "env:CS_SEND_TEST_SECRET",
                "--to",
                &to,
                "--body-file",
                &body_file,
                "--id",
                "msg_send_env",
            ],
            &[("CS_SEND_TEST_SECRET", SECRET)],
        );
        let again = send(
            &[
                "--preset",
                "standard-webhooks",
                "--secret-file",
                &secret_file,
                "--to",
                &to,
                "--body-file",
                &body_file,
                "--id",
                "msg_send_env",
            ],
            &[],
        );
        let wrong = send(
            &[
                "--preset",
                "standard-webhooks",
                "--secret",
                "whsec_b3RoZXI=",
                "--to",
                &to,
                "--body-file",
                &body_file,
            ],
            &[],
        );
        (first, again, wrong)
    })
    .await
    .unwrap();
    let (first, again, wrong) = out;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert_eq!(
        text(&first.stdout),
        "HTTP/1.1 200 OK\nupstream answered 200\n"
    );
    // The redelivery is answered by the proxy from its record: 200, empty body.
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert_eq!(text(&again.stdout), "HTTP/1.1 200 OK\n");
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        text(&wrong.stdout),
        "HTTP/1.1 401 Unauthorized\nwebhook signature invalid\n"
    );
    assert_eq!(upstream.hits(), 1);
}

#[test]
fn send_fails_with_exit_2_when_no_answer_can_come() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let to = format!("http://{closed}/");
    let dir = Scratch::new();
    let body = dir.file("b", b"{}");
    let out = send(
        &[
            "--preset",
            "github",
            "--secret",
            "s",
            "--to",
            &to,
            "--body-file",
            &body,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains(&format!("cannot send to {to}: no answer")),
        "{out:?}"
    );

    let out = send(
        &[
            "--preset",
            "github",
            "--secret",
            "s",
            "--to",
            "https://example.com/",
            "--body-file",
            &body,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("plain http only"), "{out:?}");

    let out = send(
        &[
            "--preset",
            "github",
            "--secret",
            "env:CS_SEND_UNSET_VAR",
            "--to",
            &to,
            "--body-file",
            &body,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`CS_SEND_UNSET_VAR`"), "{out:?}");
}
