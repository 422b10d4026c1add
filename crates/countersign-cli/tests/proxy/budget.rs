//! The in-memory body budget (`--max-body-memory`): 32 connections each upload ~25 MiB (the
//! GitHub preset's limit) with a bogus signature, all at once. The proxy's peak RSS stays
//! under 400 MiB with the default budget, the requests that do not fit get 503 +
//! Retry-After before their body is read, and the memory comes back afterwards.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::{Proxy, Upstream};

const CONNECTIONS: usize = 32;
const BODY: usize = 25 * 1024 * 1024 - 1024;
const MIB: u64 = 1024 * 1024;

/// A `VmRSS`-style field of /proc/PID/status, in bytes.
fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kib: u64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// One upload: the head, then the body in 64 KiB writes while the answer is read. Returns
/// the answer's head (empty if the connection was reset before an answer arrived).
async fn upload(addr: std::net::SocketAddr, n: usize) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /hooks HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {BODY}\r\n\
         x-github-delivery: burst-{n}\r\nx-hub-signature-256: sha256={}\r\n\r\n",
        "0".repeat(64)
    );
    let writer = tokio::spawn(async move {
        static CHUNK: [u8; 64 * 1024] = [b'a'; 64 * 1024];
        if wr.write_all(head.as_bytes()).await.is_err() {
            return wr;
        }
        let mut left = BODY;
        while left > 0 {
            let n = left.min(CHUNK.len());
            if wr.write_all(&CHUNK[..n]).await.is_err() {
                break; // answered and closed before the whole body was sent
            }
            left -= n;
        }
        // Kept open: a half-closed connection reads as a client that went away.
        wr
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), rd.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Err(e)) => {
                if answer.is_empty() {
                    eprintln!("upload {n}: {e} before an answer");
                }
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("upload {n}: no answer within 60 s"),
        }
    }
    drop(writer.await);
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_large_bogus_uploads_stays_within_the_memory_budget() {
    let upstream = Upstream::start().await;
    let url = upstream.url();
    let proxy = Proxy::start(&[
        "--upstream",
        &url,
        "--preset",
        "github",
        "--secret",
        "github-secret",
    ]);
    let pid = proxy.pid();
    let baseline = proc_status(pid, "VmRSS");

    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|n| tokio::spawn(upload(proxy.addr, n)))
        .collect();
    let mut unauthorized = 0;
    let mut busy = 0;
    let mut reset = 0;
    for t in tasks {
        let answer = t.await.unwrap();
        if answer.starts_with("http/1.1 401") {
            unauthorized += 1;
        } else if answer.starts_with("http/1.1 503") {
            assert!(answer.contains("\r\nretry-after: "), "{answer}");
            busy += 1;
        } else if answer.is_empty() {
            reset += 1;
        } else {
            panic!("unexpected answer: {answer}");
        }
    }
    let burst = started.elapsed();
    let peak = proc_status(pid, "VmHWM");
    // Memory goes back once the burst is over.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = proc_status(pid, "VmRSS");
    eprintln!(
        "{CONNECTIONS} uploads of {} MiB in {burst:?}: {unauthorized} × 401, {busy} × 503, \
         {reset} reset; proxy RSS {} MiB before, peak {} MiB, {} MiB 2 s after",
        BODY as u64 / MIB,
        baseline / MIB,
        peak / MIB,
        after / MIB
    );
    assert!(peak < 400 * MIB, "peak RSS {} MiB", peak / MIB);
    assert!(busy > 0, "some uploads did not fit and got 503");
    assert!(unauthorized > 0, "the ones that fit were verified (401)");
    assert_eq!(reset, 0, "every upload got an answer");
    assert!(
        after < baseline + 64 * MIB,
        "memory returned: {} MiB after, {} MiB before",
        after / MIB,
        baseline / MIB
    );
    let metrics = super::harness::get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains(&format!(
            "countersign_rejected_total{{route=\"default\",reason=\"body_budget\"}} {busy}"
        )) || metrics.contains("reason=\"body_budget\"} "),
        "{metrics}"
    );
}
