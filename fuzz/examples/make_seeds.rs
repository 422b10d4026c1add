//! Writes the seed corpora under `fuzz/seeds/<target>/`: a validly signed delivery per
//! preset (in the header-segment format of `countersign_fuzz`), hostile timestamps, JSON
//! bodies and secrets. Run: `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use countersign_core::{Preset, SignRequest, Signer};
use countersign_fuzz::{NOW, encode, secret_for};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).expect("seed dir");
    fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let bodies: [(&str, &[u8]); 3] = [
        (
            "json",
            br#"{"id":"evt_1","event_id":"Ev1","type":"x","data":{"object":{"id":"in_1"}}}"#,
        ),
        ("form", b"token=x&team_id=T1&command=%2Fhi"),
        ("empty", b""),
    ];
    for &preset in Preset::ALL {
        let scheme = preset.scheme();
        let Ok(signer) = Signer::new(preset, secret_for(&scheme)) else {
            continue;
        };
        for (label, body) in bodies {
            let Ok(headers) = signer.sign(
                &SignRequest::new(body)
                    .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
                    .timestamp(Duration::from_secs(NOW)),
            ) else {
                continue;
            };
            let input = encode(&scheme.header_names(), &headers, body);
            write("signature_headers", &format!("{preset}-{label}"), &input);
        }
    }
    let clock = NOW.to_le_bytes();
    for (i, t) in [
        "1700000000",
        "-9223372036854775808",
        "99999999999999999999",
        "+17",
        "1.5",
        "",
        "9223372036854775807",
        "0",
        " 1700000000 ",
        "1700000000\t",
    ]
    .iter()
    .enumerate()
    {
        write(
            "timestamps",
            &format!("t{i}"),
            &[&clock[..], t.as_bytes()].concat(),
        );
    }
    for (i, b) in [
        &br#"{"id":"evt_1"}"#[..],
        br#"{"event_id":"Ev1","id":42}"#,
        br#"{"id":"a\"b\u00e9","id":"dup"}"#,
        br#"{"data":{"id":"x"},"object":[1,[2,[3]]],"id":-7}"#,
        br#"  {"id":null}  "#,
        br#"{"id":"evt_1"} trailing"#,
        b"[1,2,3]",
        b"token=x&event_id=1",
    ]
    .iter()
    .enumerate()
    {
        write("json_event_id", &format!("b{i}"), b);
    }
    for (i, s) in [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_!!!",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_Y291bnRlcnNpZ24tcGFkZGVkLWtleS0yNQ",
        "It's a Secret to Everybody",
        "",
        "sha256",
    ]
    .iter()
    .enumerate()
    {
        write("secrets", &format!("s{i}"), s.as_bytes());
    }
    // Scheme files: the first byte picks the reader (even JSON, odd TOML), then the file,
    // `\0`, and a body.
    let files: [(&str, u8, &str, &[u8]); 6] = [
        (
            "j_slack",
            0,
            r#"{"name": "slack-file", "signature_header": "x-slack-signature", "prefix": "v0=", "timestamp_header": "x-slack-request-timestamp", "content": "v0:{timestamp}:{body}", "handshakes": ["slack-url-verification"]}"#,
            br#"{"type":"url_verification","challenge":"abc"}"#,
        ),
        (
            "j_alt",
            0,
            r#"{"name":"acme","algorithm":"hmac-sha256","encoding":"hex","signature_header":"x-acme-signature","event_id_header":"x-acme-id","alternatives":[{"algorithm":"hmac-sha1","signature_header":"x-acme-sig1"}]}"#,
            b"{}",
        ),
        (
            "j_jws",
            0,
            r#"{"name":"jwsish","syntax":"jws","signature_header":"x-webhook-signature","jws_body_sha256_claim":"sha256","jws_issuer":"netlify"}"#,
            b"{}",
        ),
        (
            "t_basic",
            1,
            "name = \"acme\"\nsignature_header = \"x-acme-signature\"\nencoding = \"base64\"\ncontent = \"{timestamp}.{body}\"\ntimestamp_header = \"x-acme-timestamp\"\ntolerance = 300\n",
            b"hello",
        ),
        (
            "t_alt",
            1,
            "name = \"acme\"\nsignature_header = \"x-acme-signature\"\n[[alternatives]]\nalgorithm = \"hmac-sha512\"\nsignature_header = \"x-acme-sig512\"\n",
            b"{}",
        ),
        (
            "t_event",
            1,
            "name = \"acme\"\nsignature_header = \"x-sig\"\nevent_id_json = \"/id\"\nevent_type_json = \"/type\"\nhandshakes = [\"front-challenge\"]\n",
            br#"{"id":"1","type":"sync"}"#,
        ),
    ];
    for (name, reader, file, body) in files {
        let mut seed = vec![reader];
        seed.extend_from_slice(file.as_bytes());
        seed.push(0);
        seed.extend_from_slice(body);
        write("scheme_files", name, &seed);
    }
}
