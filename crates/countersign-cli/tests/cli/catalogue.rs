//! The provider catalogue through the binary: every known-answer vector of the core's
//! `tests/vectors/` (the published `providers.json` and the independently computed
//! `catalogue.json`, `catalogue_ii.json`) verified by `countersign verify` — accepted with the right event id, and
//! rejected with another key; key-pair presets refuse to sign; URL-bound presets need
//! `--url`; `--algorithm`/`--encoding` for Convoy; `--scheme-file` in TOML and JSON.

use serde_json::{Value, json};

use super::{Scratch, run};

fn vectors(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../countersign-core/tests/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

/// A list of `vectors/jws.json` (`valid` or `negatives`).
fn jws(list: &str) -> Vec<Value> {
    let path = format!(
        "{}/../countersign-core/tests/vectors/jws.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut file: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(file[list].take()).unwrap()
}

fn form_encode(pairs: &[Value]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|p| {
            format!(
                "{}={}",
                enc(p[0].as_str().unwrap()),
                enc(p[1].as_str().unwrap())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The `verify` arguments (without `--secret`) and the body for a vector.
fn delivery(v: &Value, dir: &Scratch) -> (String, Vec<String>) {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let preset = s("preset").map_or_else(
        || match (s("provider").unwrap(), v.get("advanced")) {
            ("convoy", Some(Value::Bool(false))) => "convoy-simple".to_owned(),
            (p, _) => p.to_owned(),
        },
        str::to_owned,
    );
    let body = match v.get("form") {
        Some(Value::Array(pairs)) => form_encode(pairs),
        _ => s("body").unwrap_or_default().to_owned(),
    };
    let id = s("id").unwrap();
    let mut args = vec![
        "verify".to_owned(),
        "--preset".to_owned(),
        preset.clone(),
        "--body-file".to_owned(),
        dir.file(&format!("{id}.body"), body.as_bytes()),
    ];
    for (name, value) in v["headers"].as_object().unwrap() {
        args.extend([
            "-H".to_owned(),
            format!("{name}: {}", value.as_str().unwrap()),
        ]);
    }
    match v.get("now").and_then(Value::as_u64) {
        Some(now) => args.extend(["--now".to_owned(), now.to_string()]),
        // Signature-only vectors (timestamps from years ago).
        None => args.extend(["--tolerance".to_owned(), u64::MAX.to_string()]),
    }
    for (key, flag) in [("url", "--url"), ("method", "--method")] {
        if let Some(x) = s(key) {
            args.extend([flag.to_owned(), x.to_owned()]);
        }
    }
    if let Some(h) = s("hash") {
        args.extend(["--algorithm".to_owned(), h.to_ascii_lowercase()]);
    }
    if let Some(e) = s("encoding") {
        args.extend(["--encoding".to_owned(), e.to_owned()]);
    }
    (preset, args)
}

const FOUNDATION: &[&str] = &[
    "github",
    "slack",
    "svix",
    "stripe",
    "shopify",
    "standard-webhooks",
];

#[test]
fn every_catalogue_vector_verifies_through_the_cli() {
    let dir = Scratch::new();
    let published = vectors("providers.json")
        .into_iter()
        .filter(|v| !FOUNDATION.contains(&v["provider"].as_str().unwrap()));
    let all: Vec<Value> = published
        .chain(vectors("catalogue.json"))
        .chain(vectors("catalogue_ii.json"))
        .chain(jws("valid"))
        .collect();
    assert!(all.len() >= 90, "{} vectors", all.len());
    let mut presets_seen = std::collections::BTreeSet::new();
    for v in &all {
        let (preset, args) = delivery(v, &dir);
        presets_seen.insert(preset.clone());
        let secret = v
            .get("public_key_b64_der")
            .or_else(|| v.get("secret"))
            .and_then(Value::as_str)
            .unwrap();
        let mut ok_args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_args.extend(["--secret", secret]);
        let r = run(&ok_args, b"");
        assert_eq!(r.code, 0, "{}: {r:?}", v["id"]);
        let out = r.json();
        assert_eq!(out["valid"], true, "{}", v["id"]);
        assert_eq!(out["preset"], preset, "{}", v["id"]);
        if let Some(expected) = v.get("event_id") {
            assert_eq!(&out["event_id"], expected, "{}", v["id"]);
        }
        if let Some(expected) = v.get("event_type") {
            assert_eq!(&out["event_type"], expected, "{}: event type", v["id"]);
        }
        // Another key of the same kind is a mismatch (key-pair vectors name one).
        let wrong = v.get("wrong_secret").and_then(Value::as_str).map_or_else(
            || match secret.strip_prefix("whsec_") {
                Some(b64) => format!(
                    "whsec_{}",
                    b64.replacen(&b64[..1], if &b64[..1] == "A" { "B" } else { "A" }, 1)
                ),
                None => format!("{secret}x"),
            },
            str::to_owned,
        );
        if preset == "sendgrid" && v.get("wrong_secret").is_none() {
            continue; // the published SendGrid key: its wrong-key case runs with our vector
        }
        let mut bad_args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad_args.extend(["--secret", &wrong]);
        run(&bad_args, b"").assert_invalid(&preset, "signature_mismatch");
    }
    for p in countersign_core::Preset::ALL {
        if !FOUNDATION.contains(&p.name()) && !["github-sha1", "svix"].contains(&p.name()) {
            assert!(presets_seen.contains(p.name()), "no CLI vector for {p}");
        }
    }
}

#[test]
fn key_pair_and_body_signed_presets_cannot_sign() {
    for (preset, secret) in [
        (
            "discord",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        ),
        (
            "sendgrid",
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
        ),
        (
            "standard-webhooks",
            "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ),
        ("mailgun", "key-1"),
    ] {
        let r = run(
            &["sign", "--preset", preset, "--secret", secret],
            br#"{"a":1}"#,
        );
        r.assert_usage_error();
        assert!(r.stderr.contains("cannot sign"), "{preset}: {r:?}");
    }
}

#[test]
fn url_bound_presets_need_the_url() {
    for preset in ["twilio", "square", "hubspot", "hubspot-v2"] {
        let r = run(
            &[
                "verify",
                "--preset",
                preset,
                "--secret",
                "s",
                "-H",
                "x-twilio-signature: x",
            ],
            b"{}",
        );
        r.assert_usage_error();
        assert!(r.stderr.contains("--url"), "{preset}: {r:?}");
        let r = run(&["sign", "--preset", preset, "--secret", "s"], b"{}");
        r.assert_usage_error();
        assert!(r.stderr.contains("URL"), "{preset}: {r:?}");
    }
    // The presets listing says so.
    let list: Value = serde_json::from_str(&run(&["presets", "--json"], b"").stdout).unwrap();
    let hubspot = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hubspot")
        .unwrap();
    assert_eq!(hubspot["requires"], json!(["--url", "--method"]));
    let sw = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "standard-webhooks")
        .unwrap();
    assert_eq!(sw["alternatives"][0]["key_prefix"], "whpk_");
    assert_eq!(sw["alternatives"][0]["algorithm"], "ed25519");
}

#[test]
fn convoy_algorithm_and_encoding_flags() {
    let dir = Scratch::new();
    let body = dir.file("body", br#"{"event":"x"}"#);
    for preset in ["convoy", "convoy-simple"] {
        for (alg, enc) in [("sha256", "hex"), ("sha512", "base64")] {
            let flags = ["--preset", preset, "--algorithm", alg, "--encoding", enc];
            let mut args = vec!["sign"];
            args.extend(flags);
            args.extend([
                "--secret",
                "c",
                "--timestamp",
                "1700000000",
                "--body-file",
                &body,
            ]);
            let signed = run(&args, b"");
            assert_eq!(signed.code, 0, "{signed:?}");
            let headers = dir.file("h", signed.stdout.as_bytes());
            let mut args = vec!["verify"];
            args.extend(flags);
            args.extend([
                "--secret",
                "c",
                "--now",
                "1700000000",
                "--header-file",
                &headers,
                "--body-file",
                &body,
            ]);
            assert_eq!(run(&args, b"").code, 0, "{preset} {alg}/{enc}");
            // The default (sha256/hex) does not verify a sha512/base64 signature.
            if alg == "sha512" {
                let r = run(
                    &[
                        "verify",
                        "--preset",
                        preset,
                        "--secret",
                        "c",
                        "--now",
                        "1700000000",
                        "--header-file",
                        &headers,
                        "--body-file",
                        &body,
                    ],
                    b"",
                );
                r.assert_invalid(preset, "signature_mismatch");
            }
        }
        let r = run(
            &[
                "verify",
                "--preset",
                preset,
                "--secret",
                "c",
                "--algorithm",
                "sha1",
            ],
            b"",
        );
        r.assert_usage_error();
        assert!(
            r.stderr.contains("the sender offers sha256, sha512"),
            "{r:?}"
        );
    }
}

#[test]
fn scheme_files_in_toml_and_json() {
    let dir = Scratch::new();
    let toml = dir.file(
        "zoomish.toml",
        br#"name = "zoomish"
signature_header = "x-zm-signature"
prefix = "v0="
timestamp_header = "x-zm-request-timestamp"
content = "v0:{timestamp}:{body}"
"#,
    );
    let json_file = dir.file(
        "zoomish.json",
        br#"{"name":"zoomish-json","signature_header":"x-zm-signature","prefix":"v0=",
            "timestamp_header":"x-zm-request-timestamp","content":"v0:{timestamp}:{body}"}"#,
    );
    let body = dir.file("body", br#"{"event":"meeting.started"}"#);
    let signed = run(
        &[
            "sign",
            "--preset",
            "zoom",
            "--secret",
            "zs",
            "--timestamp",
            "1700000000",
            "--body-file",
            &body,
        ],
        b"",
    );
    assert_eq!(signed.code, 0, "{signed:?}");
    let headers = dir.file("h", signed.stdout.as_bytes());
    for (file, name) in [(&toml, "zoomish"), (&json_file, "zoomish-json")] {
        let base = [
            "verify",
            "--scheme-file",
            file,
            "--header-file",
            &headers,
            "--body-file",
            &body,
            "--now",
            "1700000000",
        ];
        let mut ok = base.to_vec();
        ok.extend(["--secret", "zs"]);
        let r = run(&ok, b"");
        assert_eq!(
            r.json(),
            json!({"valid": true, "preset": name, "event_id": null, "timestamp": 1_700_000_000, "event_type": null}),
            "{r:?}"
        );
        let mut bad = base.to_vec();
        bad.extend(["--secret", "other"]);
        run(&bad, b"").assert_invalid(name, "signature_mismatch");
    }
    // `sign` takes a scheme file too, and agrees with the preset.
    let again = run(
        &[
            "sign",
            "--scheme-file",
            &toml,
            "--secret",
            "zs",
            "--timestamp",
            "1700000000",
            "--body-file",
            &body,
        ],
        b"",
    );
    assert_eq!(again.stdout, signed.stdout);

    // Mistakes are usage errors that name the problem.
    let typo = dir.file("typo.toml", b"name = \"x\"\nsignature_heder = \"x-s\"\n");
    let bad_template = dir.file(
        "t.json",
        br#"{"name":"x","signature_header":"x-s","content":"{bdy}"}"#,
    );
    for (args, needle) in [
        (
            vec!["verify", "--scheme-file", &typo, "--secret", "s"],
            "unknown field `signature_heder`",
        ),
        (
            vec!["verify", "--scheme-file", &bad_template, "--secret", "s"],
            "unknown placeholder `{bdy}`",
        ),
        (
            vec![
                "verify",
                "--scheme-file",
                "/nonexistent/x.toml",
                "--secret",
                "s",
            ],
            "cannot read",
        ),
        (
            vec![
                "verify",
                "--scheme-file",
                &toml,
                "--preset",
                "zoom",
                "--secret",
                "s",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "verify",
                "--scheme-file",
                &toml,
                "--algorithm",
                "sha1",
                "--secret",
                "s",
            ],
            "--algorithm does not apply with --scheme-file",
        ),
        (vec!["verify", "--secret", "s"], "--preset"),
    ] {
        let r = run(&args, b"{}");
        r.assert_usage_error();
        assert!(r.stderr.contains(needle), "{args:?}: {r:?}");
    }
}

#[test]
fn hostile_jws_tokens_are_refused_through_the_cli() {
    let dir = Scratch::new();
    let negatives = jws("negatives");
    assert!(negatives.len() >= 20);
    for mut v in negatives {
        v["now"] = 1_700_000_000u64.into();
        let (preset, mut args) = delivery(&v, &dir);
        args.extend([
            "--secret".to_owned(),
            v["secret"].as_str().unwrap().to_owned(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, b"").assert_invalid(&preset, v["expect"].as_str().unwrap());
    }
}

#[test]
fn netlify_sign_then_verify() {
    let dir = Scratch::new();
    let body = dir.file("netlify.json", br#"{"state":"ready"}"#);
    let signed = run(
        &[
            "sign",
            "--preset",
            "netlify",
            "--secret",
            "jws-secret",
            "--body-file",
            &body,
        ],
        b"",
    );
    assert_eq!(signed.code, 0, "{signed:?}");
    let header = signed.stdout.clone();
    let header = header.trim();
    assert!(header.starts_with("x-webhook-signature: ey"), "{header}");
    let ok = run(
        &[
            "verify",
            "--preset",
            "netlify",
            "--secret",
            "jws-secret",
            "--body-file",
            &body,
            "-H",
            header,
        ],
        b"",
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    let wrong = run(
        &[
            "verify",
            "--preset",
            "netlify",
            "--secret",
            "other",
            "--body-file",
            &body,
            "-H",
            header,
        ],
        b"",
    );
    wrong.assert_invalid("netlify", "signature_mismatch");
}
