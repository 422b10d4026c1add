//! `sign` → `verify` through the binary for every preset `presets --json` lists, so presets
//! added to the core are covered without touching this file; the generic `hmac` with every
//! algorithm × encoding; the README's pipe, verbatim in spirit.

use std::process::Stdio;

use serde_json::{Value, json};

use super::{Run, Scratch, bin, run};

/// Decodes for every HMAC preset: base64 after `whsec_` where the scheme wants it, raw bytes
/// elsewhere.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==";
const TS: u64 = 1_700_000_000;
/// Carries the ids and signed fields the presets read (Ecwid signs `eventCreated.eventId`).
const BODY: &[u8] = br#"{"id":"evt_rt","event_id":"Ev_rt","type":"round.trip","eventId":"ev-rt","eventCreated":1700000000,"data":{"n":1}}"#;
const URL: &str = "https://example.com/webhooks?x=1";

fn presets() -> Vec<Value> {
    let r = run(&["presets", "--json"], b"");
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v.as_array().expect("a JSON array").clone()
}

/// [`BODY`], plus the timestamp where the preset reads it from the body (Linear's
/// `webhookTimestamp`), so the delivery is fresh at [`TS`].
fn body_for(p: &Value) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(BODY).unwrap();
    if let Some(pointer) = p["timestamp"]["source"]
        .as_str()
        .and_then(|s| s.strip_prefix("json:/"))
    {
        let value = match p["timestamp"]["unit"].as_str() {
            Some("milliseconds") => json!(TS * 1000),
            Some("seconds") => json!(TS),
            other => panic!("{}: cannot write a {other:?} timestamp", p["name"]),
        };
        body[pointer] = value;
    }
    serde_json::to_vec(&body).unwrap()
}

/// The flags a preset needs beyond `--preset`, from its `options` list.
fn preset_flags(p: &Value) -> Vec<String> {
    let options: Vec<&str> = p["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    let mut flags = vec![
        "--preset".to_owned(),
        p["name"].as_str().unwrap().to_owned(),
    ];
    if options.contains(&"--signature-header") {
        flags.extend(["--signature-header".into(), "x-countersign-test".into()]);
    }
    flags
}

fn sign(flags: &[String], secret: &str, id: Option<&str>, body_file: &str) -> Run {
    let ts = TS.to_string();
    let mut args: Vec<&str> = vec!["sign"];
    args.extend(flags.iter().map(String::as_str));
    args.extend([
        "--secret",
        secret,
        "--timestamp",
        &ts,
        "--url",
        URL,
        "--method",
        "POST",
        "--body-file",
        body_file,
    ]);
    if let Some(id) = id {
        args.extend(["--id", id]);
    }
    run(&args, b"")
}

fn verify(flags: &[String], secrets: &[&str], header_file: &str, body_file: &str) -> Run {
    let now = TS.to_string();
    let mut args: Vec<&str> = vec!["verify"];
    args.extend(flags.iter().map(String::as_str));
    for s in secrets {
        args.extend(["--secret", s]);
    }
    args.extend([
        "--header-file",
        header_file,
        "--body-file",
        body_file,
        "--now",
        &now,
        "--url",
        URL,
        "--method",
        "POST",
    ]);
    run(&args, b"")
}

/// What `verify` must report for a delivery of `p` signed with id `id` (if any).
fn expected_event_id(p: &Value, id: Option<&str>) -> Value {
    match p["event_id"].as_str() {
        None => Value::Null,
        Some(s) if s.starts_with("header:") => id.map_or(Value::Null, |i| json!(i)),
        Some(s) if s.starts_with("json:") => {
            let body: Value = serde_json::from_slice(&body_for(p)).unwrap();
            body.pointer(&s["json:".len()..])
                .cloned()
                .unwrap_or(Value::Null)
        }
        Some(other) => panic!("{}: cannot predict event id source {other}", p["name"]),
    }
}

/// The event type `verify` must report for [`BODY`] signed by `sign` (which sets no
/// event-type header): JSON parts are read from the body, a header part is absent.
fn expected_event_type(p: &Value) -> Value {
    let Some(source) = p["event_type"].as_str() else {
        return Value::Null;
    };
    let body: Value = serde_json::from_slice(&body_for(p)).unwrap();
    let mut out: Option<String> = None;
    for (i, part) in source.split('+').enumerate() {
        let value = part
            .strip_prefix("json:")
            .and_then(|ptr| body.pointer(ptr))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            });
        match (i, value) {
            (0, None) => return Value::Null,
            (0, Some(v)) => out = Some(v),
            (_, Some(v)) => out = out.map(|o| format!("{o}.{v}")),
            (_, None) => {}
        }
    }
    out.map_or(Value::Null, Value::String)
}

/// A secret and another one of the same kind, in the encoding the preset's key format
/// expects (hex or unprefixed base64 keys cannot be `whsec_` strings).
fn secrets_for(name: &str) -> (String, String) {
    let format = countersign_core::Preset::from_name(name)
        .map(|p| p.scheme().key_format().clone())
        .unwrap_or_default();
    match format {
        countersign_core::KeyFormat::Hex => (hex32(1), hex32(2)),
        countersign_core::KeyFormat::BasicAuth => ("user:pass".to_owned(), "user:other".to_owned()),
        // 32 bytes of 0x01 and of 0x02.
        countersign_core::KeyFormat::Base64 { prefix: None } => (
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".to_owned(),
            "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=".to_owned(),
        ),
        _ => (SECRET.to_owned(), OTHER_SECRET.to_owned()),
    }
}

fn hex32(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

#[test]
fn every_listed_preset_round_trips() {
    let list = presets();
    let core: Vec<&str> = countersign_core::Preset::ALL
        .iter()
        .map(|p| p.name())
        .collect();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in core.iter().chain(&["hmac"]) {
        assert!(names.contains(name), "presets --json lacks {name}");
    }

    let dir = Scratch::new();
    let mut cannot_sign = Vec::new();
    for p in &list {
        let name = p["name"].as_str().unwrap();
        let flags = preset_flags(p);
        let bytes = body_for(p);
        let body = dir.file(&format!("{name}.body"), &bytes);
        let mut tampered = bytes.clone();
        // Ecwid signs only `eventCreated.eventId`: tamper with the id (its data is unsigned).
        let at = if name == "ecwid" {
            bytes.windows(5).position(|w| w == b"ev-rt").unwrap() + 4
        } else {
            10
        };
        tampered[at] ^= 0x01;
        let tampered = dir.file(&format!("{name}.tampered"), &tampered);
        let id = format!("evt-{name}-1");
        let (secret, other) = secrets_for(name);
        let (secret, other) = (secret.as_str(), other.as_str());
        let signed = sign(&flags, secret, Some(&id), &body);
        if signed.code != 0 && signed.stderr.contains("this scheme cannot sign") {
            cannot_sign.push(format!("{name}: {}", signed.stderr.trim()));
            continue;
        }
        assert_eq!(signed.code, 0, "{name}: sign failed: {signed:?}");
        assert!(signed.stderr.is_empty(), "{name}: {signed:?}");
        for line in signed.stdout.lines() {
            let (n, _) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{name}: {line:?}"));
            assert!(!n.is_empty() && !n.contains(' '), "{name}: {line:?}");
        }
        let headers = dir.file(&format!("{name}.headers"), signed.stdout.as_bytes());

        let ok = verify(&flags, &[secret], &headers, &body);
        // The secret's prefix may select another mode (GitLab's `whsec_` signing token).
        let mode = p["alternatives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| secret.starts_with(a["key_prefix"].as_str().unwrap()))
            .unwrap_or(p);
        let timestamp = if mode["timestamp"].is_null() {
            Value::Null
        } else {
            json!(TS)
        };
        assert_eq!(ok.code, 0, "{name}: {ok:?} (signed: {})", signed.stdout);
        assert_eq!(
            ok.json(),
            json!({
                "valid": true,
                "preset": name,
                "event_id": expected_event_id(p, Some(&id)),
                "timestamp": timestamp,
                "event_type": expected_event_type(p),
            }),
            "{name}"
        );
        // Rotation: the right secret second.
        let rotated = verify(&flags, &[other, secret], &headers, &body);
        assert_eq!(rotated.code, 0, "{name}: {rotated:?}");
        // Wrong secret, tampered body: rejected.
        verify(&flags, &[other], &headers, &body).assert_invalid(name, "signature_mismatch");
        if mode["algorithm"] == "token" {
            // A token signs nothing: any body passes with the right token.
            assert_eq!(
                verify(&flags, &[secret], &headers, &tampered).code,
                0,
                "{name}"
            );
        } else {
            verify(&flags, &[secret], &headers, &tampered)
                .assert_invalid(name, "signature_mismatch");
        }

        // Without --id, schemes that send an id header get a generated one.
        let signed = sign(&flags, secret, None, &body);
        assert_eq!(signed.code, 0, "{name}: {signed:?}");
        let headers = dir.file(&format!("{name}.noid.headers"), signed.stdout.as_bytes());
        let ok = verify(&flags, &[secret], &headers, &body);
        assert_eq!(ok.code, 0, "{name}: {ok:?}");
        let event_id = ok.json()["event_id"].clone();
        if p["event_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("header:"))
        {
            assert!(
                event_id.as_str().is_some_and(|s| s.starts_with("msg_")),
                "{name}: generated id expected, got {event_id}"
            );
        } else {
            assert_eq!(event_id, expected_event_id(p, None), "{name}");
        }
    }
    // Presets that cannot sign (public-key schemes) are reported, never silently skipped.
    if !cannot_sign.is_empty() {
        eprintln!("presets that cannot sign (verify-only, not round-tripped):");
        for line in &cannot_sign {
            eprintln!("  {line}");
        }
    }
    assert!(
        cannot_sign.len() < list.len(),
        "no preset could sign: {cannot_sign:?}"
    );
}

#[test]
fn generic_hmac_every_algorithm_and_encoding() {
    let dir = Scratch::new();
    let body = dir.file("body", BODY);
    for algorithm in ["md5", "sha1", "sha256", "sha512"] {
        for encoding in ["hex", "base64", "base64url"] {
            let flags: Vec<String> = [
                "--preset",
                "hmac",
                "--signature-header",
                "X-Acme-Signature",
                "--prefix",
                "sig=",
                "--algorithm",
                algorithm,
                "--encoding",
                encoding,
            ]
            .map(str::to_owned)
            .to_vec();
            let signed = sign(&flags, "acme-secret", None, &body);
            assert_eq!(signed.code, 0, "{signed:?}");
            let line = signed.stdout.trim_end();
            assert_eq!(signed.stdout.lines().count(), 1, "{signed:?}");
            let value = line.strip_prefix("x-acme-signature: sig=").unwrap();
            let expected_len = match (algorithm, encoding) {
                ("md5", "hex") => 32,
                ("sha1", "hex") => 40,
                ("sha256", "hex") => 64,
                ("sha512", "hex") => 128,
                ("md5", "base64") => 24,
                ("sha1", "base64") => 28,
                ("sha256", "base64") => 44,
                ("sha512", "base64") => 88,
                // base64url: no padding.
                ("md5", _) => 22,
                ("sha1", _) => 27,
                ("sha256", _) => 43,
                _ => 86,
            };
            assert_eq!(value.len(), expected_len, "{algorithm}/{encoding}: {line}");
            let headers = dir.file("h", signed.stdout.as_bytes());
            let ok = verify(&flags, &["acme-secret"], &headers, &body);
            assert_eq!(
                ok.json(),
                json!({"valid": true, "preset": "hmac", "event_id": null, "timestamp": null, "event_type": null}),
                "{algorithm}/{encoding}"
            );
            // Verifying with another algorithm or encoding than the sender used fails.
            let mut other = flags.clone();
            other[7] = if algorithm == "sha256" {
                "sha512"
            } else {
                "sha256"
            }
            .into();
            verify(&other, &["acme-secret"], &headers, &body)
                .assert_invalid("hmac", "signature_mismatch");
            let mut other = flags.clone();
            other[5] = "other=".into();
            verify(&other, &["acme-secret"], &headers, &body)
                .assert_invalid("hmac", "no_supported_signature");
        }
    }
}

#[test]
fn hmac_default_parameters_are_sha256_hex() {
    // Known answer, RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
    let r = run(
        &[
            "sign",
            "--preset",
            "hmac",
            "--signature-header",
            "x-sig",
            "--secret",
            "Jefe",
        ],
        b"what do ya want for nothing?",
    );
    assert_eq!(
        r.stdout,
        "x-sig: 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n"
    );
}

#[test]
fn hmac_md5_and_base64url_known_answers() {
    // RFC 2202 test case 2: HMAC-MD5("Jefe", "what do ya want for nothing?").
    let hex = run(
        &[
            "sign",
            "--preset",
            "hmac",
            "--signature-header",
            "x-sig",
            "--algorithm",
            "md5",
            "--secret",
            "Jefe",
        ],
        b"what do ya want for nothing?",
    );
    assert_eq!(hex.stdout, "x-sig: 750c783e6ab0b503eaa86e310a5db738\n");
    // RFC 4231 case 2 (HMAC-SHA256) in base64url: no `=` padding.
    let url = run(
        &[
            "sign",
            "--preset",
            "hmac",
            "--signature-header",
            "x-sig",
            "--encoding",
            "base64url",
            "--secret",
            "Jefe",
        ],
        b"what do ya want for nothing?",
    );
    assert_eq!(
        url.stdout,
        "x-sig: W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM\n"
    );
    // The padded spelling is not canonical base64url: refused.
    let dir = Scratch::new();
    let body = dir.file("body", b"what do ya want for nothing?");
    let headers = dir.file(
        "h",
        b"x-sig: W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=\n",
    );
    let flags: Vec<String> = [
        "--preset",
        "hmac",
        "--signature-header",
        "x-sig",
        "--encoding",
        "base64url",
    ]
    .map(str::to_owned)
    .to_vec();
    verify(&flags, &["Jefe"], &headers, &body).assert_invalid("hmac", "signature_mismatch");
}

#[test]
fn sign_prints_only_header_lines_and_reads_stdin() {
    let r = run(
        &[
            "sign",
            "--preset",
            "standard-webhooks",
            "--secret",
            SECRET,
            "--id",
            "msg_1",
            "--timestamp",
            "1700000000",
        ],
        BODY,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let names: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_once(": ").unwrap().0)
        .collect();
    assert_eq!(
        names,
        ["webhook-signature", "webhook-timestamp", "webhook-id"]
    );
    assert!(r.stdout.contains("webhook-timestamp: 1700000000\n"));
    assert!(r.stdout.contains("webhook-id: msg_1\n"));
    assert!(r.stderr.is_empty(), "{r:?}");
    // Body from stdin for verify too, headers as -H flags.
    let mut args = vec![
        "verify",
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--now",
        "1700000000",
    ];
    for line in r.stdout.lines() {
        args.extend(["-H", line]);
    }
    let v = run(&args, BODY);
    assert_eq!(
        v.json(),
        json!({"valid": true, "preset": "standard-webhooks", "event_id": "msg_1", "timestamp": 1_700_000_000, "event_type": "round.trip"})
    );
}

/// The README's run command: `sign … | verify … --header-file -`, two processes and a pipe.
#[test]
fn readme_pipe() {
    let dir = Scratch::new();
    let body = dir.file("event.json", br#"{"id":"evt_1"}"#);
    let mut signer = bin()
        .args([
            "sign",
            "--preset",
            "stripe",
            "--secret",
            "whsec_demo",
            "--body-file",
            &body,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let verifier = bin()
        .args([
            "verify",
            "--preset",
            "stripe",
            "--secret",
            "whsec_demo",
            "--body-file",
            &body,
            "--header-file",
            "-",
        ])
        .stdin(Stdio::from(signer.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(signer.wait().unwrap().success());
    let r = Run::from_output(verifier);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["preset"], "stripe");
    assert_eq!(v["event_id"], "evt_1");
    assert!(
        v["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000),
        "{v}"
    );
}

#[test]
fn presets_table_and_json_agree() {
    let list = presets();
    let table = run(&["presets"], b"");
    assert_eq!(table.code, 0, "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), list.len() + 1, "{table:?}");
    assert!(lines[0].starts_with("NAME"));
    for (p, line) in list.iter().zip(&lines[1..]) {
        let name = p["name"].as_str().unwrap();
        assert_eq!(line.split_whitespace().next(), Some(name));
        for key in [
            "name",
            "description",
            "algorithm",
            "encoding",
            "signature_headers",
            "signature_format",
            "timestamp",
            "event_id",
            "tolerance_secs",
            "body_limit",
            "options",
        ] {
            assert!(p.get(key).is_some(), "{name} lacks {key}");
        }
        assert!(p["tolerance_secs"]["past"].is_u64() && p["tolerance_secs"]["future"].is_u64());
        assert!(p["body_limit"].as_u64().is_some_and(|n| n > 0));
        if let Some(t) = p["timestamp"].as_object() {
            assert!(t["source"].is_string() && t["unit"].is_string(), "{name}");
        }
    }
}
