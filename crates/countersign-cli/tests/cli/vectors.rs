//! Known-answer vectors through `countersign verify`, and the negatives derived from them.
//!
//! The provider vectors are copied from `shared/vectors/providers.json` (ids in the comments)
//! so that the tests run on a clean clone. The Stripe vector is our own, computed
//! independently with Python's `hmac` module:
//!
//! ```text
//! hmac.new(b"whsec_cli_old", b"1700000000." + body, hashlib.sha256).hexdigest()
//! hmac.new(b"whsec_cli_new", b"1700000000." + body, hashlib.sha256).hexdigest()
//! ```

use serde_json::json;

use super::{Scratch, run};

// providers.json "github-docs"
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_BODY: &[u8] = b"Hello, World!";
const GITHUB_SIG: &str =
    "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

// providers.json "slack-docs"
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_TS: u64 = 1_531_420_618;
const SLACK_SIG: &str =
    "X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

// providers.json "svix-js"
const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SVIX_BODY: &[u8] = br#"{"test": 2432232314}"#;
const SVIX_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SVIX_TS: u64 = 1_614_265_330;
const SVIX_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// Our own Stripe vector (see the module docs).
const STRIPE_BODY: &[u8] = br#"{"id":"evt_123","object":"event","type":"invoice.paid"}"#;
const STRIPE_TS: u64 = 1_700_000_000;
const STRIPE_V1_OLD: &str = "1943b7f0af806ca1c2b76ce33757839887231e939c008cc6470bd357b4f98e05";
const STRIPE_V1_NEW: &str = "7002d402d6e97ebb2ebc026af79fef60f0f2b2abbf2c96747bc984a3e5e28b6f";

fn svix_headers(prefix: &str) -> [String; 3] {
    [
        format!("{prefix}-id: {SVIX_ID}"),
        format!("{prefix}-timestamp: {SVIX_TS}"),
        format!("{prefix}-signature: {SVIX_SIG}"),
    ]
}

/// `verify` with the body in a file, the headers as `-H` flags and extra flags.
fn verify(
    preset: &str,
    secrets: &[&str],
    headers: &[String],
    body: &[u8],
    extra: &[&str],
) -> super::Run {
    let dir = Scratch::new();
    let body = dir.file("body", body);
    let mut args: Vec<String> = vec!["verify".into(), "--preset".into(), preset.into()];
    for s in secrets {
        args.extend(["--secret".into(), (*s).into()]);
    }
    for h in headers {
        args.extend(["-H".into(), h.clone()]);
    }
    args.extend(["--body-file".into(), body]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, b"")
}

/// Asserts exit 0 and exactly `expected` (all four keys, exact values).
fn assert_valid(r: &super::Run, expected: serde_json::Value) {
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json(), expected, "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[test]
fn github_vectors() {
    // providers.json "github-docs"
    let r = verify(
        "github",
        &[GITHUB_SECRET],
        &[GITHUB_SIG.into()],
        GITHUB_BODY,
        &[],
    );
    assert_valid(
        &r,
        json!({"valid": true, "preset": "github", "event_id": null, "timestamp": null, "event_type": null}),
    );
    // The exact bytes of the contract, key order included.
    assert_eq!(
        r.stdout,
        "{\"valid\":true,\"preset\":\"github\",\"event_id\":null,\"timestamp\":null,\"event_type\":null}\n"
    );
    // providers.json "octokit-basic", with a delivery id header.
    let r = verify(
        "github",
        &["mysecret"],
        &[
            "X-Hub-Signature-256: sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3".into(),
            "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        ],
        br#"{"foo":"bar"}"#,
        &[],
    );
    assert_valid(
        &r,
        json!({"valid": true, "preset": "github", "event_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "timestamp": null, "event_type": null}),
    );
}

#[test]
fn slack_vector() {
    // providers.json "slack-docs" (form body: no JSON event_id)
    let ts = format!("X-Slack-Request-Timestamp: {SLACK_TS}");
    let now = SLACK_TS.to_string();
    let r = verify(
        "slack",
        &[SLACK_SECRET],
        &[ts, SLACK_SIG.into()],
        SLACK_BODY,
        &["--now", &now],
    );
    assert_valid(
        &r,
        json!({"valid": true, "preset": "slack", "event_id": null, "timestamp": SLACK_TS, "event_type": null}),
    );
}

#[test]
fn svix_vector_as_svix_and_as_standard_webhooks() {
    let now = SVIX_TS.to_string();
    let expected = |preset: &str| json!({"valid": true, "preset": preset, "event_id": SVIX_ID, "timestamp": SVIX_TS, "event_type": null});
    // providers.json "svix-js", as delivered.
    let r = verify(
        "svix",
        &[SVIX_SECRET],
        &svix_headers("svix"),
        SVIX_BODY,
        &["--now", &now],
    );
    assert_valid(&r, expected("svix"));
    // Svix falls back to the webhook-* names.
    let r = verify(
        "svix",
        &[SVIX_SECRET],
        &svix_headers("webhook"),
        SVIX_BODY,
        &["--now", &now],
    );
    assert_valid(&r, expected("svix"));
    // The same message is a Standard Webhooks delivery once the headers are renamed.
    let r = verify(
        "standard-webhooks",
        &[SVIX_SECRET],
        &svix_headers("webhook"),
        SVIX_BODY,
        &["--now", &now],
    );
    assert_valid(&r, expected("standard-webhooks"));
    // ...but standard-webhooks does not read svix-* headers.
    let r = verify(
        "standard-webhooks",
        &[SVIX_SECRET],
        &svix_headers("svix"),
        SVIX_BODY,
        &["--now", &now],
    );
    r.assert_invalid("standard-webhooks", "missing_header");
}

#[test]
fn svix_vector_from_a_header_file() {
    let dir = Scratch::new();
    let body = dir.file("body", SVIX_BODY);
    let headers = dir.file("headers", svix_headers("svix").join("\r\n").as_bytes());
    let now = SVIX_TS.to_string();
    let r = run(
        &[
            "verify",
            "--preset",
            "svix",
            "--secret",
            SVIX_SECRET,
            "--body-file",
            &body,
            "--header-file",
            &headers,
            "--now",
            &now,
        ],
        b"",
    );
    assert_valid(
        &r,
        json!({"valid": true, "preset": "svix", "event_id": SVIX_ID, "timestamp": SVIX_TS, "event_type": null}),
    );
    // Headers from stdin, body from a file.
    let r = run(
        &[
            "verify",
            "--preset",
            "svix",
            "--secret",
            SVIX_SECRET,
            "--body-file",
            &body,
            "--header-file",
            "-",
            "--now",
            &now,
        ],
        svix_headers("svix").join("\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn stripe_own_vector_two_v1_and_a_v0_decoy() {
    let header = format!(
        "Stripe-Signature: t={STRIPE_TS},v1={STRIPE_V1_OLD},v1={STRIPE_V1_NEW},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    );
    let now = STRIPE_TS.to_string();
    let expected = json!({"valid": true, "preset": "stripe", "event_id": "evt_123", "timestamp": STRIPE_TS, "event_type": "invoice.paid"});
    for secret in ["whsec_cli_old", "whsec_cli_new"] {
        let r = verify(
            "stripe",
            &[secret],
            std::slice::from_ref(&header),
            STRIPE_BODY,
            &["--now", &now],
        );
        assert_valid(&r, expected.clone());
    }
    assert_eq!(
        verify(
            "stripe",
            &["whsec_cli_new"],
            std::slice::from_ref(&header),
            STRIPE_BODY,
            &["--now", &now]
        )
        .stdout,
        "{\"valid\":true,\"preset\":\"stripe\",\"event_id\":\"evt_123\",\"timestamp\":1700000000,\"event_type\":\"invoice.paid\"}\n"
    );
    // Neither secret: rejected.
    let r = verify(
        "stripe",
        &["whsec_cli_other"],
        &[header],
        STRIPE_BODY,
        &["--now", &now],
    );
    r.assert_invalid("stripe", "signature_mismatch");
}

#[test]
fn rotation_second_secret_matches() {
    let header = format!("Stripe-Signature: t={STRIPE_TS},v1={STRIPE_V1_NEW}");
    let now = STRIPE_TS.to_string();
    let r = verify(
        "stripe",
        &["whsec_cli_old", "whsec_cli_new"],
        std::slice::from_ref(&header),
        STRIPE_BODY,
        &["--now", &now],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = verify(
        "stripe",
        &["whsec_cli_old"],
        &[header],
        STRIPE_BODY,
        &["--now", &now],
    );
    r.assert_invalid("stripe", "signature_mismatch");
    // GitHub, secret order reversed: the first one matches.
    let r = verify(
        "github",
        &[GITHUB_SECRET, "wrong"],
        &[GITHUB_SIG.into()],
        GITHUB_BODY,
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn flipped_body_byte_is_a_mismatch() {
    let mut body = GITHUB_BODY.to_vec();
    body[12] ^= 0x01;
    verify("github", &[GITHUB_SECRET], &[GITHUB_SIG.into()], &body, &[])
        .assert_invalid("github", "signature_mismatch");

    let mut body = SVIX_BODY.to_vec();
    body[3] ^= 0x20;
    let now = SVIX_TS.to_string();
    verify(
        "svix",
        &[SVIX_SECRET],
        &svix_headers("svix"),
        &body,
        &["--now", &now],
    )
    .assert_invalid("svix", "signature_mismatch");

    let mut body = SLACK_BODY.to_vec();
    body[0] ^= 0x80;
    let ts = format!("X-Slack-Request-Timestamp: {SLACK_TS}");
    let now = SLACK_TS.to_string();
    verify(
        "slack",
        &[SLACK_SECRET],
        &[ts, SLACK_SIG.into()],
        &body,
        &["--now", &now],
    )
    .assert_invalid("slack", "signature_mismatch");
}

#[test]
fn timestamp_window() {
    let headers = svix_headers("svix");
    let at = |now: u64, extra: &[&str]| {
        let now = now.to_string();
        let mut args = vec!["--now", now.as_str()];
        args.extend_from_slice(extra);
        verify("svix", &[SVIX_SECRET], &headers, SVIX_BODY, &args)
    };
    // Exactly the default tolerance (300 s) either way is accepted.
    assert_eq!(at(SVIX_TS + 300, &[]).code, 0);
    assert_eq!(at(SVIX_TS - 300, &[]).code, 0);
    at(SVIX_TS + 301, &[]).assert_invalid("svix", "timestamp_too_old");
    at(SVIX_TS - 301, &[]).assert_invalid("svix", "timestamp_too_new");
    // --tolerance sets both directions.
    assert_eq!(at(SVIX_TS + 1000, &["--tolerance", "1000"]).code, 0);
    assert_eq!(at(SVIX_TS - 1000, &["--tolerance", "1000"]).code, 0);
    at(SVIX_TS + 11, &["--tolerance", "10"]).assert_invalid("svix", "timestamp_too_old");
    at(SVIX_TS - 11, &["--tolerance", "10"]).assert_invalid("svix", "timestamp_too_new");
    // Without --now the system clock is used: a 2021 timestamp is stale today.
    verify("svix", &[SVIX_SECRET], &headers, SVIX_BODY, &[])
        .assert_invalid("svix", "timestamp_too_old");
    // Slack, stale.
    let ts = format!("X-Slack-Request-Timestamp: {SLACK_TS}");
    let now = (SLACK_TS + 301).to_string();
    verify(
        "slack",
        &[SLACK_SECRET],
        &[ts, SLACK_SIG.into()],
        SLACK_BODY,
        &["--now", &now],
    )
    .assert_invalid("slack", "timestamp_too_old");
}

#[test]
fn missing_and_malformed_headers() {
    let now = SVIX_TS.to_string();
    for missing in 0..3 {
        let mut headers = svix_headers("svix").to_vec();
        headers.remove(missing);
        verify(
            "svix",
            &[SVIX_SECRET],
            &headers,
            SVIX_BODY,
            &["--now", &now],
        )
        .assert_invalid("svix", "missing_header");
    }
    verify("github", &[GITHUB_SECRET], &[], GITHUB_BODY, &[])
        .assert_invalid("github", "missing_header");
    // The same header twice is ambiguous.
    verify(
        "github",
        &[GITHUB_SECRET],
        &[GITHUB_SIG.into(), GITHUB_SIG.into()],
        GITHUB_BODY,
        &[],
    )
    .assert_invalid("github", "malformed_header");
    // Timestamps that are not plain digits.
    for bad in [
        "1.5",
        "-1",
        "+1531420618",
        "99999999999999999999",
        "-9223372036854775808",
        "",
    ] {
        let ts = format!("X-Slack-Request-Timestamp: {bad}");
        verify(
            "slack",
            &[SLACK_SECRET],
            &[ts, SLACK_SIG.into()],
            SLACK_BODY,
            &["--now", "1"],
        )
        .assert_invalid("slack", "malformed_timestamp");
    }
}

#[test]
fn truncated_and_unsupported_signatures() {
    let now = SVIX_TS.to_string();
    // `v1,` alone (the svix CVE shape): no decodable signature, never a match.
    let mut headers = svix_headers("webhook").to_vec();
    headers[2] = "webhook-signature: v1,".into();
    verify(
        "standard-webhooks",
        &[SVIX_SECRET],
        &headers,
        SVIX_BODY,
        &["--now", &now],
    )
    .assert_invalid("standard-webhooks", "signature_mismatch");
    // A truncated signature.
    headers[2] = format!("webhook-signature: {}", &SVIX_SIG[..SVIX_SIG.len() - 4]);
    verify(
        "standard-webhooks",
        &[SVIX_SECRET],
        &headers,
        SVIX_BODY,
        &["--now", &now],
    )
    .assert_invalid("standard-webhooks", "signature_mismatch");
    // Only unknown versions.
    headers[2] = format!("webhook-signature: v2,{}", &SVIX_SIG[3..]);
    verify(
        "standard-webhooks",
        &[SVIX_SECRET],
        &headers,
        SVIX_BODY,
        &["--now", &now],
    )
    .assert_invalid("standard-webhooks", "no_supported_signature");

    // Stripe v0-only fails even when the v0 value is the correct v1 digest.
    let v0_only = format!("Stripe-Signature: t={STRIPE_TS},v0={STRIPE_V1_NEW}");
    let now = STRIPE_TS.to_string();
    verify(
        "stripe",
        &["whsec_cli_new"],
        &[v0_only],
        STRIPE_BODY,
        &["--now", &now],
    )
    .assert_invalid("stripe", "no_supported_signature");
}

#[test]
fn body_limits() {
    // The generic hmac preset keeps the default 1 MiB limit; one byte more is rejected
    // without the CLI reading the rest of a large input. (The signature must be well-formed:
    // headers are checked before the body.)
    let zeros = "0".repeat(64);
    let body = vec![b'a'; 1024 * 1024 + 1];
    verify(
        "hmac",
        &["k"],
        &[format!("X-Sig: {zeros}")],
        &body,
        &["--signature-header", "x-sig"],
    )
    .assert_invalid("hmac", "body_too_large");
    let dir = Scratch::new();
    let path = dir.file("big", &vec![b'a'; 3 * 1024 * 1024]);
    let r = run(
        &[
            "verify",
            "--preset",
            "hmac",
            "--signature-header",
            "x-sig",
            "--secret",
            "k",
            "-H",
            &format!("x-sig: {zeros}"),
            "--body-file",
            &path,
        ],
        b"",
    );
    r.assert_invalid("hmac", "body_too_large");
    // Exactly the limit is read in full and checked.
    verify(
        "hmac",
        &["k"],
        &[format!("X-Sig: {zeros}")],
        &body[1..],
        &["--signature-header", "x-sig"],
    )
    .assert_invalid("hmac", "signature_mismatch");
}

#[test]
fn oversized_event_id_is_a_malformed_body() {
    // Stripe reads the event id from the body; a signed body with a 2 KiB id is refused.
    let body = format!(r#"{{"id":"{}"}}"#, "e".repeat(2048));
    let dir = Scratch::new();
    let path = dir.file("body", body.as_bytes());
    let signed = run(
        &[
            "sign",
            "--preset",
            "stripe",
            "--secret",
            "whsec_x",
            "--timestamp",
            "1700000000",
            "--body-file",
            &path,
        ],
        b"",
    );
    assert_eq!(signed.code, 0, "{signed:?}");
    let header = signed.stdout.trim_end().to_owned();
    verify(
        "stripe",
        &["whsec_x"],
        &[header],
        body.as_bytes(),
        &["--now", "1700000000"],
    )
    .assert_invalid("stripe", "malformed_body");
}

#[test]
fn an_endless_stdin_body_is_read_only_up_to_the_limit() {
    let sig = format!("x-sig: {}", "0".repeat(64));
    let (r, written) = super::run_with_endless_stdin(&[
        "verify",
        "--preset",
        "hmac",
        "--signature-header",
        "x-sig",
        "--secret",
        "k",
        "-H",
        &sig,
    ]);
    r.assert_invalid("hmac", "body_too_large");
    // 1 MiB limit + 1 byte read, plus what the pipe buffers.
    assert!(
        written < 4 * 1024 * 1024,
        "the CLI consumed {written} bytes"
    );
}
