//! Slow clients cannot hold the proxy: header and body timeouts, and the connection limit.

use std::time::Duration;

use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::harness::{Proxy, Upstream, delivery, post, post_once, unique_id};

/// Sends `head` one byte per second; returns how long until the proxy closed the connection.
async fn trickle(addr: std::net::SocketAddr, head: &'static [u8]) -> Duration {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        for byte in head.iter().cycle() {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut buf = [0u8; 1024];
    // EOF or reset: either way the proxy let go.
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    writing.abort();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_one_header_byte_per_second_is_cut_off_while_others_are_served() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy =
        Proxy::standard_webhooks(&url, &["--header-timeout", "2s", "--max-connections", "32"]);
    let addr = proxy.addr;

    // Ten slowloris clients, and one that connects and says nothing at all.
    let mut slow = Vec::new();
    for _ in 0..10 {
        slow.push(tokio::spawn(trickle(
            addr,
            b"POST /hooks HTTP/1.1\r\nHost: x\r\n",
        )));
    }
    let silent = tokio::spawn(async move {
        let started = Instant::now();
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
        started.elapsed()
    });

    // Meanwhile, deliveries keep flowing, promptly.
    let until = Instant::now() + Duration::from_secs(3);
    let mut served = 0;
    while Instant::now() < until {
        let id = unique_id("flow");
        let started = Instant::now();
        let answer = post_once(addr, "/hooks", &delivery(&id, b"{}"), b"{}")
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "slow: {:?}",
            started.elapsed()
        );
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served >= 10, "{served}");

    for s in slow {
        let held = s.await.unwrap();
        assert!(
            held >= Duration::from_millis(1800) && held < Duration::from_millis(3500),
            "a slowloris client held its connection for {held:?} (header timeout 2s)"
        );
    }
    let held = silent.await.unwrap();
    assert!(
        held < Duration::from_millis(3500),
        "a silent client held on for {held:?}"
    );
    assert_eq!(upstream.hits(), served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(&url, &["--body-timeout", "1s"]);
    let id = unique_id("slowbody");
    let body = br#"{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}"#;
    let headers = delivery(&id, body);
    let mut head = format!(
        "POST /hooks HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        proxy.addr,
        body.len()
    );
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    head.push_str("\r\n");

    let started = Instant::now();
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // Half the body, then a byte every 300 ms: never done within the second.
    s.write_all(&body[..10]).await.unwrap();
    let (mut reader, mut writer) = s.into_split();
    let rest = body[10..].to_vec();
    let trickling = tokio::spawn(async move {
        for b in rest {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(&[b]).await.is_err() {
                return;
            }
        }
    });
    let mut response = Vec::new();
    let _ = reader.read_to_end(&mut response).await;
    trickling.abort();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408 Request Timeout"), "{text}");
    assert!(text.contains("request body timeout"), "{text}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(upstream.hits(), 0);

    let metrics = super::harness::get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains(
            "countersign_rejected_total{route=\"standard-webhooks\",reason=\"body_timeout\"} 1"
        ),
        "{metrics}"
    );
    // The same delivery, sent promptly, is forwarded (nothing was claimed).
    assert_eq!(
        post(&proxy.url("/hooks"), &headers, body).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_a_slot_frees() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::standard_webhooks(
        &url,
        &["--max-connections", "2", "--header-timeout", "1500ms"],
    );
    // Two silent connections take both slots until the header timeout closes them.
    let _a = TcpStream::connect(proxy.addr).await.unwrap();
    let _b = TcpStream::connect(proxy.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let id = unique_id("limit");
    let answer = post_once(proxy.addr, "/hooks", &delivery(&id, b"{}"), b"{}")
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        waited >= Duration::from_millis(1200) && waited < Duration::from_secs(4),
        "the third connection was served after {waited:?}"
    );
}
