//! A client that gives up does not decide a forward's outcome: the upstream's answer does.
//! Stripe route, an upstream that takes 3 s, a client that hangs up after 0.5 s, the
//! sender's retries: the upstream sees the event exactly once.

use std::time::{Duration, Instant};

use countersign_core::Preset;
use http::{HeaderMap, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::{Mode, Proxy, Upstream, post, signed, unique_id};

const STRIPE_SECRET: &str = "whsec_disconnect_test_secret";

/// Sends one request over a raw connection and closes it after `patience` without reading.
async fn send_and_hang_up(proxy: &Proxy, headers: &HeaderMap, body: &[u8], patience: Duration) {
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    let mut head = format!(
        "POST /hooks HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        proxy.addr,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(patience, stream.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "the proxy answered before the client gave up"
    );
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_does_not_release_the_claim_of_a_running_forward() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Delay(Duration::from_secs(3)));
    let url = upstream.url();
    let proxy = Proxy::start(&[
        "--upstream",
        &url,
        "--preset",
        "stripe",
        "--secret",
        STRIPE_SECRET,
    ]);
    let id = unique_id("evt_gone");
    let body = format!(r#"{{"id":"{id}","object":"event","type":"invoice.paid"}}"#);
    let headers = signed(Preset::Stripe, STRIPE_SECRET, &id, body.as_bytes());

    let started = Instant::now();
    send_and_hang_up(
        &proxy,
        &headers,
        body.as_bytes(),
        Duration::from_millis(500),
    )
    .await;

    // The sender retries at once: the first forward still runs, so not acknowledged.
    let retry = post(&proxy.url("/hooks"), &headers, body.as_bytes()).await;
    assert_eq!(retry.status, StatusCode::CONFLICT, "{retry:?}");
    assert!(retry.headers.contains_key("retry-after"));

    // Once the upstream answered, its 200 is on record: later retries are duplicates.
    let done = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the first forward's outcome was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let retry = post(&proxy.url("/hooks"), &headers, body.as_bytes()).await;
        match retry.status {
            StatusCode::CONFLICT => continue,
            StatusCode::OK => break retry,
            other => panic!("unexpected {other}: {retry:?}"),
        }
    };
    assert_eq!(done.headers["countersign-duplicate"], "true", "{done:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "recorded only after the upstream answered"
    );
    assert_eq!(upstream.hits_for(&id), 1, "the upstream saw the event once");
}
