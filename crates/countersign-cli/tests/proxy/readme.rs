//! The README's "Proxy for apps in any language" commands, run as written — with the built
//! binary first on `PATH` and free ports instead of 8000/8080 — and its configuration file
//! example checked with `--check`.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::Scratch;

const README: &str = include_str!("../../../../README.md");

/// The first code block between `<!-- {marker}:start -->` and `<!-- {marker}:end -->`.
pub(crate) fn block(marker: &str) -> String {
    let start = format!("<!-- {marker}:start -->");
    let end = format!("<!-- {marker}:end -->");
    let from = README
        .find(&start)
        .unwrap_or_else(|| panic!("{start} missing"))
        + start.len();
    let to = README[from..]
        .find(&end)
        .unwrap_or_else(|| panic!("{end} missing"))
        + from;
    let section = &README[from..to];
    let mut lines = section.lines().skip_while(|l| !l.starts_with("```"));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn path_with_binary() -> String {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_countersign"));
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// What a README demo printed: its stdout, and both streams for assertion messages.
pub(crate) struct DemoOutput {
    pub(crate) stdout: String,
    pub(crate) all: String,
}

/// Runs a README demo `script` with bash in a scratch directory and a process group of its
/// own, `path` as `PATH` and no `RUST_LOG`. Past `limit` the group is killed and the test
/// fails naming `what`; once the script is done, whatever it left running is killed. Asserts
/// that it exited 0.
pub(crate) fn run_demo(what: &str, script: &str, path: String, limit: Duration) -> DemoOutput {
    let dir = Scratch::new();
    let child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(&dir.0)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = format!("-{}", child.id());
    let kill_group = || {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
    };
    let started = Instant::now();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if started.elapsed() > limit {
            kill_group();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = waiter.join().unwrap();
    kill_group();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(out.status.success(), "{what} failed:\n{all}");
    DemoOutput { stdout, all }
}

#[test]
fn the_readme_proxy_demo_works_as_written() {
    let script = block("proxy-demo");
    assert!(script.contains("countersign proxy") && script.contains("countersign send"));
    let (app, proxy) = (free_port(), free_port());
    let script = script
        .replace("8000", &app.to_string())
        .replace("8080", &proxy.to_string());
    let DemoOutput { stdout, all } = run_demo(
        "the README proxy demo",
        &script,
        path_with_binary(),
        Duration::from_secs(60),
    );

    // The app saw the event once, verified, with its exact body.
    let app_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("app got"))
        .collect();
    assert_eq!(
        app_lines,
        [r#"app got evt_1 verified: true {"id":"evt_1","type":"invoice.paid"}"#],
        "{all}"
    );
    // The three sends, in order: forwarded, answered from the record, forged.
    let statuses: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 401 Unauthorized"
        ],
        "{all}"
    );
    assert!(stdout.contains("processed\n"), "{all}");
    // `send -i` shows the redelivery for what it is; the other sends print no headers.
    assert_eq!(
        stdout.matches("countersign-duplicate: true\n").count(),
        1,
        "{all}"
    );
    assert_eq!(stdout.matches("content-length: ").count(), 1, "{all}");
    assert!(stdout.contains("webhook signature invalid"), "{all}");
    assert!(
        stdout.contains(r#"{"status":"ok","store":"memory","store_reachable":true}"#),
        "{all}"
    );
    assert!(stdout.contains(&format!(
        "countersign proxy listening on http://127.0.0.1:{proxy}"
    )));
}

#[test]
fn the_readme_configuration_file_is_valid() {
    let dir = Scratch::new();
    // The only path in the example that cannot exist here.
    let secret = dir.file("github", b"github-secret\n");
    let config = block("proxy-config").replace("/run/secrets/github", &secret);
    let path = dir.file("countersign.toml", config.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["proxy", "--config", &path, "--check"])
        .env("STRIPE_WEBHOOK_SECRET", "whsec_a")
        .env("ZOOM_WEBHOOK_SECRET", "zoom-secret")
        .env("REDIS_URL", "redis://127.0.0.1:6379/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "listen 0.0.0.0:8080\n\
         admin 127.0.0.1:9090\n\
         store redis\n\
         trusted_proxies 10.0.0.0/8\n\
         route stripe /webhooks/stripe -> http://127.0.0.1:3000 preset=stripe secrets=1 dedup=on handshakes=answered tolerance=300s upstream_timeout=30s methods=POST no_event_id=reject\n\
         route github /webhooks/github -> http://127.0.0.1:3001/app preset=github secrets=1 dedup=on handshakes=answered tolerance=preset upstream_timeout=30s methods=POST no_event_id=reject\n\
         route zoom /webhooks/zoom -> http://127.0.0.1:3002 preset=zoom secrets=1 dedup=off handshakes=answered tolerance=preset upstream_timeout=30s methods=POST no_event_id=reject\n\
         ok\n"
    );
}
