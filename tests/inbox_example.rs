//! `cargo run --example inbox` as a person would use it: start the example (built by `cargo
//! test` with the other examples) on a fresh SQLite file, run the `curl` commands it prints:
//! first send 200 and one `handler ran` line from the worker, second send 200 with
//! `countersign-duplicate: true` and no new run, tampered copy 401.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("inbox{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: `cargo test` builds the examples, or `cargo build --example inbox` first",
        bin.display()
    );
    bin
}

struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Running {
    fn start() -> Running {
        let dir =
            std::env::temp_dir().join(format!("countersign-inbox-example-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(example_binary())
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("INBOX_PATH", dir.join("inbox.db"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (ready, wait) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let done = line.starts_with("Look inside");
                sink.lock().unwrap().push(line);
                if done {
                    let _ = ready.send(());
                }
            }
        });
        wait.recv_timeout(Duration::from_secs(30))
            .expect("the example did not print its commands");
        Running { child, lines, dir }
    }

    fn commands(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("curl "))
            .cloned()
            .collect()
    }

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
        "`{command}` failed (is curl installed?): {}",
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

#[test]
fn printed_commands_work() {
    let app = Running::start();
    let commands = app.commands();
    assert_eq!(commands.len(), 3, "{commands:?}");
    for (i, command) in commands[..2].iter().enumerate() {
        assert_eq!(run(command), (200, false), "first send of {command}");
        app.wait_for_runs(i + 1);
        assert_eq!(app.handler_runs(), i + 1, "the worker ran the handler once");
        assert_eq!(run(command), (200, true), "second send of {command}");
    }
    assert_eq!(run(&commands[2]), (401, false), "the tampered copy");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        app.handler_runs(),
        2,
        "duplicates and the tampered copy ran no handler"
    );
}
