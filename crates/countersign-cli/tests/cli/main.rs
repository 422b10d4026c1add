//! End-to-end tests of the `countersign` binary: the real executable, spawned with
//! `std::process::Command`, checked against the CLI contract of DESIGN.md (exit codes, exactly
//! one JSON object on stdout for `verify`, nothing on stdout for usage errors).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod catalogue;
mod newcomer;
mod round_trip;
mod secrets;
mod usage;
mod vectors;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

/// The binary under test.
fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
}

/// What one run produced.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Self {
        Run {
            code: out.status.code().expect("exited normally, not by a signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// The single JSON object `verify` printed (exactly one line, nothing else).
    fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stdout: {self:?}"
        );
        let v: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {self:?}"));
        assert!(v.is_object(), "{self:?}");
        v
    }

    /// Asserts a rejected delivery: exit 1 and the contract's four keys.
    fn assert_invalid(&self, preset: &str, kind: &str) {
        assert_eq!(self.code, 1, "{self:?}");
        let v = self.json();
        let obj = v.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["error", "message", "preset", "valid"], "{self:?}");
        assert_eq!(v["valid"], false, "{self:?}");
        assert_eq!(v["preset"], preset, "{self:?}");
        assert_eq!(v["error"], kind, "{self:?}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert!(self.stderr.is_empty(), "{self:?}");
    }

    /// Asserts a usage error: exit 2, nothing on stdout, an explanation on stderr.
    fn assert_usage_error(&self) {
        assert_eq!(self.code, 2, "{self:?}");
        assert!(self.stdout.is_empty(), "stdout must be empty: {self:?}");
        assert!(
            !self.stderr.trim().is_empty(),
            "stderr must explain: {self:?}"
        );
    }
}

/// Runs the binary with `args` and `stdin` as its whole standard input.
fn run(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The binary may exit before reading everything (usage errors); that is not a failure.
    let _ = input.write_all(stdin);
    drop(input);
    Run::from_output(child.wait_with_output().unwrap())
}

/// Runs the binary while another thread writes `a`s to its stdin until the pipe closes (or
/// 256 MiB, so that a missing bound fails the test instead of hanging it). Returns the run and
/// how many bytes were written.
fn run_with_endless_stdin(args: &[&str]) -> (Run, usize) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut written = 0usize;
        while written < 256 * 1024 * 1024 && stdin.write_all(&chunk).is_ok() {
            written += chunk.len();
        }
        written
    });
    let run = Run::from_output(child.wait_with_output().unwrap());
    (run, writer.join().unwrap())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "countersign-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `bytes` to a file in the directory and returns its path as a string.
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path_str(&path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_owned()
}
