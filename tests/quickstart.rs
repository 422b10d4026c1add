//! The README's run command, as a person would use it: start `examples/quickstart` (built by
//! `cargo test` with the other examples), run the `curl` commands it prints, each twice, and
//! the tampered one — with the in-memory store and with `REDIS_URL` pointing at a real
//! `redis-server`. First send 200 and one `handler ran` line, second send 200 with
//! `countersign-duplicate: true` and no new handler run, tampered copy 401.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/quickstart`, next to this test's `deps/` directory.
fn quickstart_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: `cargo test` builds the examples; run it without `--test` filters that skip them, or `cargo build --example quickstart` first",
        bin.display()
    );
    bin
}

/// A running quickstart whose output is collected line by line.
struct Quickstart {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Quickstart {
    fn start(redis_url: Option<&str>) -> Quickstart {
        let mut cmd = Command::new(quickstart_binary());
        cmd.env("PORT", "0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(url) = redis_url {
            cmd.env("REDIS_URL", url);
        }
        let mut child = cmd.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (ready, wait) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let done = line.contains("gets 401");
                sink.lock().unwrap().push(line);
                if done {
                    // The tampered command follows on the next line(s).
                    let _ = ready.send(());
                }
            }
        });
        wait.recv_timeout(Duration::from_secs(30))
            .expect("the quickstart did not print its commands");
        Quickstart { child, lines }
    }

    fn commands(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let cmds: Vec<String> = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with("curl "))
                .cloned()
                .collect();
            if cmds.len() == 4 {
                return cmds;
            }
            assert!(Instant::now() < deadline, "printed commands: {cmds:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many times a handler logged that it ran.
    fn handler_runs(&self) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("handler ran:"))
            .count()
    }

    fn wait_for_runs(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.handler_runs() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Runs a printed command exactly as printed (`curl -i …`): status and headers.
fn run(command: &str) -> (u16, bool) {
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("{command} --silent --show-error --max-time 10"),
        ])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "`{command}` failed (is curl installed? `apt-get install curl`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let duplicate = text
        .lines()
        .any(|l| l.eq_ignore_ascii_case("countersign-duplicate: true"));
    (status, duplicate)
}

fn printed_commands_work(redis_url: Option<&str>) {
    let app = Quickstart::start(redis_url);
    let commands = app.commands();
    let expected_store = if redis_url.is_some() {
        "Redis"
    } else {
        "memory"
    };
    assert!(
        app.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&format!("dedup store: {expected_store}"))),
        "the start-up line names the store"
    );
    for (i, command) in commands[..3].iter().enumerate() {
        assert_eq!(run(command), (200, false), "first send of {command}");
        app.wait_for_runs(i + 1);
        assert_eq!(app.handler_runs(), i + 1, "the handler ran once");
        assert_eq!(run(command), (200, true), "second send of {command}");
    }
    assert_eq!(run(&commands[3]), (401, false), "the tampered copy");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        app.handler_runs(),
        3,
        "duplicates and the tampered copy ran no handler"
    );
}

#[test]
fn printed_commands_work_with_the_memory_store() {
    printed_commands_work(None);
}

#[test]
fn printed_commands_work_with_redis() {
    let redis = countersign_testkit::redis();
    printed_commands_work(Some(&redis.url()));
}
