//! Defects found by a second outside-in review of the hardened proxy (after issue 13): raw
//! sockets on both sides where a client or server library would tidy the bytes up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use countersign_core::Preset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::harness::{Proxy, Upstream, pairs, raw, raw_request, signed, status_of, unique_id};

const GITHUB_SECRET: &str = "github review secret";

fn github_proxy(upstream: &str) -> Proxy {
    Proxy::start(&[
        "--upstream",
        upstream,
        "--preset",
        "github",
        "--secret",
        GITHUB_SECRET,
    ])
}

/// The normaliser copied the path byte by byte as Latin-1 characters once it held an escape:
/// `/webhooks/café%41` reached the upstream as `/webhooks/cafÃ©A` (UTF-8 encoded twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_characters_next_to_an_escape_are_forwarded_unchanged() {
    let upstream = Upstream::start().await;
    let proxy = github_proxy(&upstream.url());
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("utf8"), body);
    let response = raw(
        proxy.addr,
        &raw_request(
            "POST",
            "/webhooks/caf\u{e9}%41/\u{fc}?q=\u{e9}",
            &pairs(&headers),
            body,
        ),
    )
    .await;
    assert_eq!(status_of(&response), 200, "{response}");
    assert_eq!(upstream.hits(), 1);
    assert_eq!(
        upstream.seen()[0].uri,
        "/webhooks/caf\u{e9}A/\u{fc}?q=\u{e9}"
    );
}

/// hyper's default head buffer (~400 KiB) let every connection hold that much before any
/// verification: 1 000 connections trickling an unfinished head took the proxy to 350 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_over_64_kib_is_431_and_never_forwarded() {
    let upstream = Upstream::start().await;
    let proxy = github_proxy(&upstream.url());
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("head"), body);
    let mut headers = pairs(&headers);
    // hyper checks the limit between reads, so a head is refused somewhere between 32 and
    // 64 KiB: 160 KB is over both, and well under hyper's default (~400 KiB).
    for i in 0..40 {
        headers.push((format!("x-pad-{i}"), "a".repeat(4000)));
    }
    let response = raw(proxy.addr, &raw_request("POST", "/hook", &headers, body)).await;
    assert_eq!(status_of(&response), 431, "{}", &response[..60]);
    assert_eq!(upstream.hits(), 0);

    // A normal head still passes.
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("head"), body);
    let response = raw(
        proxy.addr,
        &raw_request("POST", "/hook", &pairs(&headers), body),
    )
    .await;
    assert_eq!(status_of(&response), 200, "{response}");
}

/// An upstream answering `101 Switching Protocols` to a plain POST: the proxy relayed the
/// `101` (without `Upgrade`) and left the sender's connection hanging in an upgrade to
/// nothing. It is a broken answer: `502`, and the claim is released for the retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_101_is_502_and_the_retry_is_forwarded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Head and the (small) body: read until the client pauses.
                while let Ok(Ok(read)) =
                    tokio::time::timeout(std::time::Duration::from_millis(200), s.read(&mut chunk))
                        .await
                {
                    if read == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                }
                let answer: &[u8] = if n == 0 {
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                };
                let _ = s.write_all(answer).await;
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            });
        }
    });
    let proxy = github_proxy(&format!("http://{addr}"));
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("upgrade"), body);
    let request = raw_request("POST", "/hook", &pairs(&headers), body);
    let response = raw(proxy.addr, &request).await;
    assert_eq!(status_of(&response), 502, "{response}");
    let response = raw(proxy.addr, &request).await;
    assert_eq!(
        status_of(&response),
        200,
        "the claim was released: {response}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

/// hyper has no write timeout and reads nothing while an answer waits to be written: a client
/// that pipelined requests and never read the answers held its connection slot forever (no
/// header or body timeout runs meanwhile). `--max-connections` such clients took every slot,
/// `/healthz` included. Now a connection whose writes make no progress for the header timeout
/// is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_answers_do_not_keep_their_connection_slots() {
    use std::time::Duration;
    let upstream = Upstream::start().await;
    let proxy = Proxy::start(&[
        "--upstream",
        &upstream.url(),
        "--preset",
        "github",
        "--secret",
        GITHUB_SECRET,
        "--max-connections",
        "2",
        "--header-timeout",
        "1s",
    ]);
    let pipelined = b"GET /healthz HTTP/1.1\r\nHost: proxy.test\r\n\r\n".repeat(1000);
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        // Write until the proxy stops reading (its answers fill both socket buffers) or
        // closes the connection.
        let started = tokio::time::Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            match tokio::time::timeout(Duration::from_millis(500), s.write_all(&pipelined)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        hogs.push(s);
    }
    // Both slots are taken by clients that read nothing; within a few header timeouts the
    // proxy must have let them go and answer someone else.
    let mut probe = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(8), probe.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "no answer within 8 s: the non-reading clients still hold every slot"
    );
    assert_eq!(status_of(&String::from_utf8_lossy(&answer)), 200);
    drop(hogs);
}

/// Two `Host` headers (RFC 9112 §3.2: a 400) were verified and forwarded, the first one as
/// `X-Forwarded-Host`; a server in front of the proxy may have routed on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_host_headers_are_400_and_never_forwarded() {
    let upstream = Upstream::start().await;
    let proxy = github_proxy(&upstream.url());
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("host"), body);
    let mut headers = pairs(&headers);
    headers.push(("host".to_owned(), "admin.internal".to_owned()));
    let response = raw(proxy.addr, &raw_request("POST", "/hook", &headers, body)).await;
    assert_eq!(status_of(&response), 400, "{response}");
    assert_eq!(upstream.hits(), 0);
}

/// The route accepts `POST` only (issue 13), but `X-HTTP-Method-Override: DELETE` reached the
/// upstream, where Express's `method-override`, Symfony or Laravel read the request as a
/// `DELETE` — the signature does not cover the method. Any spelling is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_override_headers_never_reach_the_upstream() {
    let upstream = Upstream::start().await;
    let proxy = github_proxy(&upstream.url());
    let body = br#"{"action":"opened"}"#;
    let headers = signed(Preset::Github, GITHUB_SECRET, &unique_id("override"), body);
    let mut headers = pairs(&headers);
    for name in [
        "X-HTTP-Method-Override",
        "x_http_method",
        "X-Method-Override",
    ] {
        headers.push((name.to_owned(), "DELETE".to_owned()));
    }
    let response = raw(proxy.addr, &raw_request("POST", "/hook", &headers, body)).await;
    assert_eq!(status_of(&response), 200, "{response}");
    let seen = upstream.seen();
    let names: Vec<&str> = seen[0].headers.keys().map(|n| n.as_str()).collect();
    assert!(
        !names.iter().any(|n| n.contains("method")),
        "a method override reached the upstream: {names:?}"
    );
}
