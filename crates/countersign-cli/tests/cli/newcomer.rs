//! What a new user meets in the first hour: exit codes in `--help`, a word on stderr when a
//! command waits on the terminal, a table that fits a terminal, host names for `--listen`,
//! and one way of counting.

use std::process::{Command, Stdio};

use super::{bin, run};

fn help(command: &str) -> String {
    let out = bin().args([command, "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_lists_the_exit_codes() {
    let send = help("send");
    for line in [
        "Exit status:",
        "0  the endpoint answered 2xx",
        "1  the endpoint answered another status",
        "2  no answer (connection refused, timeout) or a usage error",
        "-i, --include",
    ] {
        assert!(send.contains(line), "{line}: {send}");
    }
    let verify = help("verify");
    for line in ["Exit status:", "0  valid", "1  rejected", "2  a usage"] {
        assert!(verify.contains(line), "{line}: {verify}");
    }
    assert!(help("sign").contains("Exit status:"));
}

/// Runs `args` with a pseudo-terminal as stdin (util-linux `script`), typing `typed`.
fn run_on_a_terminal(args: &[&str], typed: &[u8]) -> (i32, String) {
    let command = std::iter::once(env!("CARGO_BIN_EXE_countersign"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` (Debian: bsdutils) runs");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(typed).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn sign_and_verify_say_when_they_wait_on_the_terminal() {
    // Ctrl-D (EOT) ends the body typed on the terminal.
    let (code, out) = run_on_a_terminal(
        &["sign", "--preset", "github", "--secret", "s", "--id", "d-1"],
        b"hello\n\x04",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "reading the body from the terminal; end it with Ctrl-D or pass --body-file PATH"
        ),
        "{out}"
    );
    assert!(out.contains("x-hub-signature-256: sha256="), "{out}");

    let (code, out) = run_on_a_terminal(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "s",
            "-H",
            "x-hub-signature-256: sha256=00",
        ],
        b"hello\n\x04",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("reading the body from the terminal"), "{out}");

    // Piped stdin: nothing is said, stderr stays empty.
    let r = run(
        &["sign", "--preset", "github", "--secret", "s", "--id", "d-1"],
        b"hello",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[test]
fn presets_table_is_narrow_unless_wide() {
    let narrow = run(&["presets"], b"");
    let wide = run(&["presets", "--wide"], b"");
    assert_eq!((narrow.code, wide.code), (0, 0));
    let header = |t: &str| {
        t.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(header(&narrow.stdout), "NAME SIGNATURE DESCRIPTION");
    assert_eq!(
        header(&wide.stdout),
        "NAME SIGNATURE SIGNATURE HEADER TIMESTAMP EVENT ID EVENT TYPE DESCRIPTION"
    );
    assert_eq!(narrow.stdout.lines().count(), wide.stdout.lines().count());
    let widest = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest(&narrow.stdout) <= 100, "{}", narrow.stdout);
    assert!(
        widest(&narrow.stdout) * 2 < widest(&wide.stdout),
        "narrow {} vs wide {}",
        widest(&narrow.stdout),
        widest(&wide.stdout)
    );
    // The JSON is the whole description already.
    run(&["presets", "--json", "--wide"], b"").assert_usage_error();
}

fn check_listen(listen: &str) -> super::Run {
    let out = bin()
        .args([
            "proxy",
            "--check",
            "--listen",
            listen,
            "--upstream",
            "http://127.0.0.1:9",
            "--preset",
            "github",
            "--secret",
            "s",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    super::Run::from_output(out)
}

#[test]
fn listen_takes_host_names() {
    let r = check_listen("localhost:0");
    assert_eq!(r.code, 0, "{r:?}");
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first == "listen 127.0.0.1:0" || first == "listen [::1]:0",
        "{r:?}"
    );
    let r = check_listen("no-such-host.invalid:8080");
    r.assert_usage_error();
    assert!(
        r.stderr
            .contains("the host name `no-such-host.invalid` does not resolve"),
        "{r:?}"
    );
    let r = check_listen("localhost");
    r.assert_usage_error();
    assert!(r.stderr.contains("the port is missing"), "{r:?}");
}

#[test]
fn positions_count_from_one_everywhere() {
    // The first -H, the first secret: both #1.
    let r = run(
        &[
            "verify", "--preset", "github", "--secret", "s", "-H", "nocolon",
        ],
        b"x",
    );
    r.assert_usage_error();
    assert!(r.stderr.contains("-H #1"), "{r:?}");
    let r = run(&["verify", "--preset", "github", "--secret", ""], b"x");
    r.assert_usage_error();
    assert!(r.stderr.contains("secret #1 is empty"), "{r:?}");
}
