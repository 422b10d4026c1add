//! RedisStore claim+complete throughput with 50 concurrent tasks on ONE multiplexed
//! connection, against `redis-benchmark -c 50 -t set` on the same throwaway server, in the
//! same run (five alternating rounds; the median ratio is the result).
//!
//! `bash crates/countersign-dedup/benches/redis_vs_benchmark.sh`
//! (= `cargo bench -p countersign-dedup --bench redis_throughput`).
//! Environment: `BENCH_OPS` (claim+complete pairs per round, default 100 000), `BENCH_RUNTIME=current`
//! (a current-thread Tokio runtime instead of the multi-thread default).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    missing_docs,
    reason = "bench"
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use countersign_dedup::{Claim, DedupKey, DedupStore, Fenced, RedisStore, Token};
use http::StatusCode;

const TASKS: usize = 50;
const ROUNDS: u32 = 5;

/// CPU seconds redis-server has used (`INFO cpu`: user + sys).
fn server_cpu(port: u16) -> f64 {
    countersign_testkit::cli(port, &["INFO", "cpu"])
        .lines()
        .filter(|l| l.starts_with("used_cpu_user:") || l.starts_with("used_cpu_sys:"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .sum()
}

/// CPU seconds this process has used (utime + stime from /proc/self/stat, 100 Hz ticks).
fn own_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After "pid (comm)": state is field 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) / 100.0
}

fn redis_benchmark(port: u16, requests: u64) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", "50", "-n", &requests.to_string(), "-t", "set", "-q"])
        .output()
        .expect("run redis-benchmark (Debian package redis-tools / redis-server)");
    let text = String::from_utf8_lossy(&out.stdout);
    // "SET: 98231.83 requests per second, p50=0.255 msec" (after \r-separated progress).
    let line = text
        .split(['\r', '\n'])
        .rfind(|l| l.starts_with("SET:"))
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"));
    line.trim_start_matches("SET:")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark line: {line}"))
}

async fn ours(store: Arc<RedisStore>, round: u32, ops: u64) -> f64 {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (store, next) = (Arc::clone(&store), Arc::clone(&next));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        break;
                    }
                    let t = Token::new(DedupKey::new("bench", &format!("r{round}_evt_{i}")));
                    let claim = store.claim(&t, Duration::from_secs(60)).await.unwrap();
                    assert_eq!(claim, Claim::Claimed);
                    let done = store
                        .complete(&t, StatusCode::OK, Duration::from_secs(120))
                        .await
                        .unwrap();
                    assert_eq!(done, Fenced::Applied);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    ops as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let ops: u64 = std::env::var("BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 100_000 });
    let server = countersign_testkit::RedisServer::start();
    // BENCH_RUNTIME=current: one thread drives the 50 tasks (the client then competes with
    // redis-server for one core, not two).
    let current = std::env::var("BENCH_RUNTIME").is_ok_and(|v| v == "current");
    let runtime = if current {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .unwrap();
    let store = runtime.block_on(async {
        RedisStore::builder(server.url())
            .prefix("bench:")
            .connect()
            .await
            .unwrap()
    });
    let store = Arc::new(store);
    // Warm-up: connection, script load.
    runtime.block_on(ours(Arc::clone(&store), 0, 1_000));

    println!(
        "redis_throughput: {TASKS} tasks on one RedisStore connection ({} Tokio runtime) vs redis-benchmark -c 50 -t set, {ops} ops per round",
        if current {
            "current-thread"
        } else {
            "multi-thread"
        }
    );
    let mut ratios = Vec::new();
    let port = server.port();
    let (mut server_us_set, mut server_us_pair, mut client_us_pair) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let cpu = server_cpu(port);
        let set_rps = redis_benchmark(port, ops);
        server_us_set.push((server_cpu(port) - cpu) * 1e6 / ops as f64);
        let (cpu, own) = (server_cpu(port), own_cpu());
        let pairs = runtime.block_on(ours(Arc::clone(&store), round, ops));
        server_us_pair.push((server_cpu(port) - cpu) * 1e6 / ops as f64);
        client_us_pair.push((own_cpu() - own) * 1e6 / ops as f64);
        let ratio = pairs / set_rps;
        ratios.push(ratio);
        println!(
            "round {round}: redis-benchmark SET {set_rps:>10.0} req/s | RedisStore claim+complete {pairs:>10.0} pairs/s ({:>10.0} commands/s) | ratio pairs/SET {ratio:.2} (commands/SET {:.2})",
            2.0 * pairs,
            2.0 * ratio
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median CPU per operation: redis-server {:.1} µs per redis-benchmark SET, {:.1} µs per claim+complete pair; this client {:.1} µs per pair",
        median(&mut server_us_set),
        median(&mut server_us_pair),
        median(&mut client_us_pair)
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio claim+complete pairs / redis-benchmark SET: {:.2} (target >= 0.70)",
        ratios[ratios.len() / 2]
    );
    drop(server);
}
