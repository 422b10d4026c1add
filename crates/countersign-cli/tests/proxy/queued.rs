//! What the queued-delivery suites (`inbox`, `inbox_redis`, `inbox_pg`) share: the
//! `countersign inbox` command, a queued proxy in front of an upstream, waiting for a
//! condition, and counting deliveries per event id.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::harness::{Proxy, Upstream};

/// `countersign inbox --inbox URL ARGS…` → (exit code, stdout, stderr).
pub(crate) fn inbox_cli(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["inbox", "--inbox", url])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `countersign inbox --inbox URL stats`, which must succeed, as JSON.
pub(crate) fn stats(url: &str) -> Value {
    let (code, out, err) = inbox_cli(url, &["stats"]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

/// Polls `f` until it holds; fails the test naming `what` after `timeout`.
pub(crate) async fn until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A `standard-webhooks` route queued on `inbox` in front of `upstream`, plus `extra`.
pub(crate) fn start_queued(upstream: &str, inbox: &str, extra: &[&str]) -> Proxy {
    let mut args = vec!["--inbox", inbox];
    args.extend_from_slice(extra);
    Proxy::standard_webhooks(upstream, &args)
}

/// How many times the upstream received each event id (`Countersign-Event-Id`).
pub(crate) fn per_id(upstream: &Upstream) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for s in upstream.seen() {
        if let Some(id) = s.headers.get("countersign-event-id") {
            *m.entry(id.to_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    m
}
