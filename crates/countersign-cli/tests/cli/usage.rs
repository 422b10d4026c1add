//! Exit code 2: usage and configuration errors, with nothing on stdout and no secret echoed.

use super::{Scratch, run};

/// Runs `verify` with a valid GitHub body file and `args`; expects exit 2.
fn verify_usage_error(args: &[&str]) -> super::Run {
    let dir = Scratch::new();
    let body = dir.file("body", b"Hello, World!");
    let mut all = vec!["verify", "--body-file", body.as_str()];
    all.extend_from_slice(args);
    let r = run(&all, b"");
    r.assert_usage_error();
    r
}

#[test]
fn unknown_preset() {
    let r = verify_usage_error(&["--preset", "nope", "--secret", "s"]);
    assert!(r.stderr.contains("unknown preset `nope`"), "{r:?}");
    let r = run(&["sign", "--preset", "nope", "--secret", "s"], b"body");
    r.assert_usage_error();
}

#[test]
fn undecodable_or_empty_secrets_are_not_echoed() {
    let r = verify_usage_error(&[
        "--preset",
        "standard-webhooks",
        "--secret",
        "whsec_N0tBase64Secr3t!!",
        "-H",
        "webhook-id: msg_1",
    ]);
    assert!(r.stderr.contains("secret #0 is not valid base64"), "{r:?}");
    assert!(
        !r.stderr.contains("N0tBase64Secr3t"),
        "secret echoed: {r:?}"
    );
    // The second secret is the bad one: named by position.
    let r = verify_usage_error(&[
        "--preset",
        "svix",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--secret",
        "whsec_@@Secr3tTail",
    ]);
    assert!(r.stderr.contains("secret #1"), "{r:?}");
    assert!(!r.stderr.contains("Secr3tTail"), "secret echoed: {r:?}");
    // Empty: raw, and after the whsec_ prefix.
    let r = verify_usage_error(&["--preset", "github", "--secret", ""]);
    assert!(r.stderr.contains("secret #0 is empty"), "{r:?}");
    verify_usage_error(&["--preset", "standard-webhooks", "--secret", "whsec_"]);
    // Signing refuses them too.
    run(&["sign", "--preset", "github", "--secret", ""], b"x").assert_usage_error();
    let r = run(
        &["sign", "--preset", "svix", "--secret", "whsec_Secr3t*"],
        b"x",
    );
    r.assert_usage_error();
    assert!(!r.stderr.contains("Secr3t"), "secret echoed: {r:?}");
}

#[test]
fn sender_chosen_options_only_where_the_sender_chooses() {
    let r = verify_usage_error(&[
        "--preset",
        "stripe",
        "--secret",
        "whsec_x",
        "--algorithm",
        "sha256",
    ]);
    assert!(
        r.stderr
            .contains("--algorithm does not apply to preset `stripe`"),
        "{r:?}"
    );
    verify_usage_error(&["--preset", "github", "--secret", "s", "--encoding", "hex"]);
    verify_usage_error(&[
        "--preset",
        "github",
        "--secret",
        "s",
        "--signature-header",
        "x-sig",
    ]);
    verify_usage_error(&["--preset", "slack", "--secret", "s", "--prefix", "v0="]);
    run(
        &[
            "sign",
            "--preset",
            "shopify",
            "--secret",
            "s",
            "--algorithm",
            "sha1",
        ],
        b"x",
    )
    .assert_usage_error();
    // hmac needs its header; bad values are usage errors.
    let r = verify_usage_error(&["--preset", "hmac", "--secret", "s"]);
    assert!(r.stderr.contains("--signature-header"), "{r:?}");
    verify_usage_error(&[
        "--preset",
        "hmac",
        "--secret",
        "s",
        "--signature-header",
        "bad header",
    ]);
    verify_usage_error(&[
        "--preset",
        "hmac",
        "--secret",
        "s",
        "--signature-header",
        "x-sig",
        "--algorithm",
        "md4",
    ]);
    verify_usage_error(&[
        "--preset",
        "hmac",
        "--secret",
        "s",
        "--signature-header",
        "x-sig",
        "--encoding",
        "base32",
    ]);
}

#[test]
fn bad_header_lines() {
    for line in ["no colon", ": empty-name", "Bad Name: v", "X-Ctl: a\u{1}b"] {
        let r = verify_usage_error(&["--preset", "github", "--secret", "s", "-H", line]);
        assert!(r.stderr.contains("-H #1"), "{r:?}");
    }
    let dir = Scratch::new();
    let headers = dir.file("headers", b"x-hub-signature-256: sha256=00\nnot a header\n");
    let r = verify_usage_error(&[
        "--preset",
        "github",
        "--secret",
        "s",
        "--header-file",
        &headers,
    ]);
    assert!(r.stderr.contains("--header-file line 2"), "{r:?}");
}

#[test]
fn inputs() {
    // stdin cannot be both the body and the headers.
    let r = run(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "s",
            "--header-file",
            "-",
        ],
        b"x-hub-signature-256: sha256=00\n",
    );
    r.assert_usage_error();
    assert!(r.stderr.contains("stdin"), "{r:?}");
    let r = run(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "s",
            "--header-file",
            "-",
            "--body-file",
            "-",
        ],
        b"",
    );
    r.assert_usage_error();
    // Missing files.
    verify_usage_error(&[
        "--preset",
        "github",
        "--secret",
        "s",
        "--header-file",
        "/nonexistent/h",
    ]);
    let r = run(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "s",
            "--body-file",
            "/nonexistent/b",
        ],
        b"",
    );
    r.assert_usage_error();
    assert!(r.stderr.contains("cannot read the body file"), "{r:?}");
    run(
        &[
            "sign",
            "--preset",
            "github",
            "--secret",
            "s",
            "--body-file",
            "/nonexistent/b",
        ],
        b"",
    )
    .assert_usage_error();
    // An id that cannot be a header value.
    run(
        &[
            "sign",
            "--preset",
            "standard-webhooks",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--id",
            "a\nb",
        ],
        b"",
    )
    .assert_usage_error();
}

#[test]
fn sign_bounds_its_input() {
    let (r, written) =
        super::run_with_endless_stdin(&["sign", "--preset", "github", "--secret", "s"]);
    r.assert_usage_error();
    assert!(
        r.stderr
            .contains("the body from stdin is larger than 67108864 bytes"),
        "{r:?}"
    );
    assert!(
        written < 80 * 1024 * 1024,
        "the CLI consumed {written} bytes"
    );
}

#[test]
fn clap_usage_errors_exit_2_with_empty_stdout() {
    run(&["verify", "--preset", "github"], b"").assert_usage_error(); // no --secret
    run(&["verify", "--secret", "s"], b"").assert_usage_error(); // no --preset
    run(
        &[
            "verify", "--preset", "github", "--secret", "s", "--now", "soon",
        ],
        b"",
    )
    .assert_usage_error();
    run(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "s",
            "--tolerance",
            "-1",
        ],
        b"",
    )
    .assert_usage_error();
    run(
        &["verify", "--preset", "github", "--secret", "s", "--bogus"],
        b"",
    )
    .assert_usage_error();
    run(
        &[
            "sign", "--preset", "github", "--secret", "a", "--secret", "b",
        ],
        b"",
    )
    .assert_usage_error();
    run(&["frobnicate"], b"").assert_usage_error();
    // A forgotten `--secret` leaves the secret as a stray argument: refused, not echoed.
    let r = run(&["verify", "--preset", "stripe", "whsec_Str4ySecret"], b"");
    r.assert_usage_error();
    assert!(!r.stderr.contains("Str4ySecret"), "secret echoed: {r:?}");
    run(&[], b"").assert_usage_error();
    // --help and --version succeed on stdout.
    for args in [
        &["--help"][..],
        &["verify", "--help"],
        &["sign", "--help"],
        &["--version"],
    ] {
        let r = run(args, b"");
        assert_eq!(r.code, 0, "{r:?}");
        assert!(!r.stdout.is_empty(), "{r:?}");
    }
}

#[test]
fn help_documents_every_contract_flag() {
    let r = run(&["verify", "--help"], b"");
    for flag in [
        "--preset",
        "--secret",
        "-H",
        "--header-file",
        "--body-file",
        "--url",
        "--method",
        "--now",
        "--tolerance",
        "--algorithm",
        "--encoding",
        "--signature-header",
        "--prefix",
    ] {
        assert!(r.stdout.contains(flag), "verify --help lacks {flag}");
    }
    let r = run(&["sign", "--help"], b"");
    for flag in [
        "--preset",
        "--secret",
        "--id",
        "--timestamp",
        "--url",
        "--method",
        "--body-file",
        "--algorithm",
        "--encoding",
        "--signature-header",
        "--prefix",
    ] {
        assert!(r.stdout.contains(flag), "sign --help lacks {flag}");
    }
    let r = run(&["presets", "--help"], b"");
    assert!(r.stdout.contains("--json"), "{r:?}");
}
