//! `--publish`: the proxy hands verified deliveries to a real broker (a nats-server the test
//! starts, a RabbitMQ vhost the test creates) and answers 200 only after the broker
//! confirmed; 503 + Retry-After while the broker is away; `--check` connects.

use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use countersign_testkit::{NatsServer, RabbitVhost, unique_name};
use http::StatusCode;
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};

use super::harness::{Proxy, SECRET, delivery, get, post, unique_id};

/// The messages of `stream`: (subject, event id header, body).
async fn stream_messages(url: &str, stream: &str) -> Vec<(String, String, Vec<u8>)> {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let mut s = js.get_stream(stream).await.unwrap();
    let info = s.info().await.unwrap().clone();
    let mut out = Vec::new();
    if info.state.messages == 0 {
        return out;
    }
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let m = s.get_raw_message(seq).await.unwrap();
        let id = m
            .headers
            .get("Countersign-Event-Id")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        // The preset's event type (Standard Webhooks: the JSON `type`).
        assert_eq!(
            m.headers.get("Countersign-Event-Type").map(|v| v.as_str()),
            Some("invoice.paid")
        );
        out.push((m.subject.to_string(), id, m.payload.to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_to_nats_once_and_survives_a_broker_restart() {
    let mut nats = NatsServer::start();
    let stream = unique_name("proxy_pub");
    let url = format!(
        "nats://127.0.0.1:{}?subject={stream}.{{preset}}&stream={stream}",
        nats.port()
    );
    let proxy = Proxy::start(&[
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--publish",
        &url,
        "--upstream-timeout",
        "2s",
    ]);
    let id = unique_id("pub");
    let body = b"{\"type\":\"invoice.paid\",\"raw\":\"\\u00e9\"}";
    let headers = delivery(&id, body);

    let first = post(&proxy.url("/hook"), &headers, body).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}\n{}", proxy.logs());
    let dup = post(&proxy.url("/hook"), &headers, body).await;
    assert_eq!(dup.status, StatusCode::OK);
    assert_eq!(dup.headers["countersign-duplicate"], "true");
    let mut tampered = body.to_vec();
    tampered[3] ^= 1;
    let forged = post(&proxy.url("/hook"), &headers, &tampered).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let got = stream_messages(&nats.url(), &stream).await;
    assert_eq!(got.len(), 1, "one message: {got:?}");
    assert_eq!(got[0].0, format!("{stream}.standard-webhooks"));
    assert_eq!(got[0].1, id);
    assert_eq!(got[0].2, body, "exact bytes");

    // The broker goes away: 503 + Retry-After, quickly, and nothing is lost.
    nats.kill();
    let id2 = unique_id("pub_down");
    let headers2 = delivery(&id2, body);
    let started = Instant::now();
    let down = post(&proxy.url("/hook"), &headers2, body).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{down:?}");
    assert!(down.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    nats.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    while status != StatusCode::OK && Instant::now() < deadline {
        status = post(&proxy.url("/hook"), &headers2, body).await.status;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, StatusCode::OK, "the retry lands after the restart");
    let got = stream_messages(&nats.url(), &stream).await;
    let ids: Vec<&str> = got.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(ids, [id.as_str(), id2.as_str()], "each event once");

    let metrics = get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains("countersign_published_total{route=\"standard-webhooks\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "countersign_publish_failures_total{route=\"standard-webhooks\",reason=\"unreachable\"}"
    ));
    assert!(
        metrics
            .contains("countersign_publish_confirm_seconds_count{route=\"standard-webhooks\"} 2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_to_a_rabbitmq_queue_and_refuses_unroutable() {
    let vhost = RabbitVhost::create("proxy_pub");
    let queue = "webhooks";
    let good = format!("{}?queue={queue}", vhost.url());
    let proxy = Proxy::start(&[
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--publish",
        &good,
    ]);
    let id = unique_id("amqp");
    let body = b"\x00binary\xffbody";
    let answer = post(&proxy.url("/hook"), &delivery(&id, body), body).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{answer:?}\n{}",
        proxy.logs()
    );

    let conn = Connection::connect(&vhost.url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let m = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the queue was declared and holds the message");
    assert_eq!(m.delivery.data, body);
    assert_eq!(
        m.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str()),
        Some(id.as_str())
    );
    assert_eq!(*m.delivery.properties.delivery_mode(), Some(2));

    // An exchange that routes nowhere: basic.return + ack must be a 503, not a 200.
    let unroutable = format!("{}?exchange=amq.direct&routing_key=nowhere", vhost.url());
    let proxy2 = Proxy::start(&[
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--publish",
        &unroutable,
    ]);
    let a = post(
        &proxy2.url("/hook"),
        &delivery(&unique_id("amqp_u"), body),
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert!(a.headers.contains_key("retry-after"));
    let _ = conn.close(200, "bye".into()).await;
}

fn check(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--check", "--preset", "github", "--secret", "s"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn check_connects_to_the_broker_and_hides_the_password() {
    let nats = NatsServer::start();
    let out = check(
        &["--publish", "env:CS_TEST_PUBLISH"],
        &[(
            "CS_TEST_PUBLISH",
            &format!(
                "nats://127.0.0.1:{}?subject=hooks.{{preset}}&stream=CHECKED",
                nats.port()
            ),
        )],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains("publish nats://127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("subject=hooks.{preset} stream=CHECKED"),
        "{stdout}"
    );

    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = check(
        &[
            "--publish",
            &format!("amqp://guest:hunter2@127.0.0.1:{dead}/%2f?queue=q"),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("broker"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");

    for bad in [
        "amqp://guest:hunter2@127.0.0.1:5672/%2f",
        "nats://127.0.0.1:4222?subject=a.{secret}",
        "ftp://x",
    ] {
        let out = check(&["--publish", bad], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    let out = check(
        &[
            "--publish",
            "nats://127.0.0.1:1?subject=x",
            "--upstream",
            "http://a",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = check(
        &["--publish", "nats://127.0.0.1:1?subject=x", "--no-dedup"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// The README's "Publishing to a broker" commands, run as written — the built binary first
/// on `PATH`, free ports for the proxies, a vhost and a nats-server of the test's own instead
/// of the machine's `/` and 4222.
#[test]
fn the_readme_publish_demo_works_as_written() {
    use super::readme::{DemoOutput, block, free_port, path_with_binary, run_demo};

    let script = block("publish-demo");
    assert!(script.contains("--publish") && script.contains("countersign send"));
    let vhost = RabbitVhost::create("readme_publish");
    let nats = NatsServer::start();
    let (p1, p2) = (free_port(), free_port());
    let script = script
        .replace("8081", &p1.to_string())
        .replace("8082", &p2.to_string())
        .replace("5672/%2f", &format!("5672/{}", vhost.name()))
        .replace("4222", &nats.port().to_string())
        .replace("list_queues", &format!("list_queues -p {}", vhost.name()));
    let DemoOutput { stdout, all } = run_demo(
        "the README publish demo",
        &script,
        path_with_binary(),
        Duration::from_secs(90),
    );
    let statuses: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK"; 3], "{all}");
    assert_eq!(stdout.matches("published\n").count(), 2, "{all}");
    assert!(stdout.contains("duplicate\n"), "{all}");
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["webhooks", "1"]),
        "{all}"
    );
    assert!(
        stdout.contains(r#"webhooks.stripe evt_1 {"id":"evt_1","type":"invoice.paid"}"#),
        "{all}"
    );
}

#[test]
fn a_config_file_route_publishes_and_is_checked() {
    use super::harness::Scratch;

    let nats = NatsServer::start();
    let dir = Scratch::new();
    let file = dir.file(
        "countersign.toml",
        br#"
[[route]]
path = "/webhooks/stripe"
preset = "stripe"
secret = "whsec_demo"
publish = "env:CS_TEST_BROKER"

[[route]]
path = "/webhooks/github"
preset = "github"
secret = "s"
upstream = "http://127.0.0.1:3001"
"#,
    );
    let run = |env: &str| {
        Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args(["proxy", "--check", "--config", &file])
            .env("CS_TEST_BROKER", env)
            .output()
            .unwrap()
    };
    let out = run(&format!(
        "nats://127.0.0.1:{}?subject=stripe.{{event_type}}",
        nats.port()
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains("route stripe /webhooks/stripe -> publish nats://"),
        "{stdout}"
    );
    assert!(
        stdout.contains("route github /webhooks/github -> http://127.0.0.1:3001"),
        "{stdout}"
    );
    // Both or neither of upstream and publish: a usage error naming the route.
    let both = dir.file(
        "both.toml",
        b"[[route]]\npath = \"/\"\npreset = \"github\"\nsecret = \"s\"\nupstream = \"http://a\"\npublish = \"nats://127.0.0.1:1?subject=x\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--check", "--config", &both])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exactly one of `upstream` and `publish`")
    );
}
