//! Secret sources: `--secret env:NAME` and `--secret-file PATH` for `sign` and `verify`.

use std::process::Stdio;

use super::{Run, Scratch, bin};

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = bin()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run::from_output(out)
}

#[test]
fn sign_from_a_file_verifies_from_the_environment() {
    let dir = Scratch::new();
    let body = dir.file("event.json", br#"{"id":"evt_env"}"#);
    let secret = dir.file("secret", b"whsec_from_a_file\n");
    let signed = run_env(
        &[
            "sign",
            "--preset",
            "stripe",
            "--secret-file",
            &secret,
            "--body-file",
            &body,
        ],
        &[],
    );
    assert_eq!(signed.code, 0, "{signed:?}");
    let headers = dir.file("headers", signed.stdout.as_bytes());

    let ok = run_env(
        &[
            "verify",
            "--preset",
            "stripe",
            "--secret",
            "env:CS_CLI_TEST_SECRET",
            "--body-file",
            &body,
            "--header-file",
            &headers,
        ],
        &[("CS_CLI_TEST_SECRET", "whsec_from_a_file")],
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.json()["event_id"], "evt_env");

    // Rotation from a file: the old secret on the second line still verifies.
    let rotation = dir.file("rotation", b"whsec_new\nwhsec_from_a_file\n");
    let ok = run_env(
        &[
            "verify",
            "--preset",
            "stripe",
            "--secret-file",
            &rotation,
            "--body-file",
            &body,
            "--header-file",
            &headers,
        ],
        &[],
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    let wrong = run_env(
        &[
            "verify",
            "--preset",
            "stripe",
            "--secret",
            "env:CS_CLI_TEST_SECRET",
            "--body-file",
            &body,
            "--header-file",
            &headers,
        ],
        &[("CS_CLI_TEST_SECRET", "whsec_other")],
    );
    wrong.assert_invalid("stripe", "signature_mismatch");
}

#[test]
fn secret_source_errors_are_usage_errors_that_show_no_secret() {
    let dir = Scratch::new();
    let body = dir.file("b", b"{}");
    let r = run_env(
        &[
            "verify",
            "--preset",
            "github",
            "--secret",
            "env:CS_CLI_TEST_UNSET",
            "--body-file",
            &body,
        ],
        &[],
    );
    r.assert_usage_error();
    assert!(
        r.stderr
            .contains("environment variable `CS_CLI_TEST_UNSET`"),
        "{r:?}"
    );

    let two = dir.file("two", b"s3cretA\ns3cretB\n");
    let r = run_env(
        &[
            "sign",
            "--preset",
            "github",
            "--secret-file",
            &two,
            "--body-file",
            &body,
        ],
        &[],
    );
    r.assert_usage_error();
    assert!(r.stderr.contains("holds 2"), "{r:?}");
    assert!(!r.stderr.contains("s3cret"), "{r:?}");

    let r = run_env(
        &[
            "sign",
            "--preset",
            "github",
            "--secret",
            "x",
            "--secret-file",
            &two,
            "--body-file",
            &body,
        ],
        &[],
    );
    r.assert_usage_error();
    let missing = dir.0.join("missing").to_str().unwrap().to_owned();
    let r = run_env(
        &[
            "sign",
            "--preset",
            "github",
            "--secret-file",
            &missing,
            "--body-file",
            &body,
        ],
        &[],
    );
    r.assert_usage_error();
    assert!(r.stderr.contains("cannot read the secret file"), "{r:?}");
    // Neither source at all.
    run_env(&["sign", "--preset", "github", "--body-file", &body], &[]).assert_usage_error();

    // An `env:` value that is not a variable name is a literal secret, as before.
    let r = run_env(
        &[
            "sign",
            "--preset",
            "github",
            "--secret",
            "env:not a name",
            "--body-file",
            &body,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
}
