//! Known-answer vectors for the provider catalogue: the published vectors of
//! `vectors/providers.json` (for the catalogue's providers) and the independently computed
//! ones of `vectors/catalogue.json` and `vectors/catalogue_ii.json` (see `vectors/gen_catalogue.py`
//! and `vectors/gen_catalogue_ii.py`) and the valid JWS vectors of `vectors/jws.json`
//! (`vectors/gen_jws.py`; its hostile tokens are `tests/jws.rs`'s), each accepted with the event id and event type it
//! carries, and the
//! negatives derived from each — tampered body, wrong key, stale and future timestamp,
//! unknown signature version — rejected with the right error kind.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use countersign_core::{
    Algorithm, Delivery, Encoding, ErrorKind, FixedClock, KeyFormat, Preset, Scheme,
    SignatureSource, SignatureSyntax, Tolerance, Verifier, VerifyError,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// Providers of `providers.json` that the foundation presets cover; the rest are ours.
const FOUNDATION: &[&str] = &[
    "github",
    "slack",
    "svix",
    "stripe",
    "shopify",
    "standard-webhooks",
];

/// Presets without a version marker in their signature header (a bare value): an "unknown
/// version" cannot be expressed, so that negative is replaced by an undecodable signature.
const NO_VERSION_MARKER: &[&str] = &[
    "shopify",
    "twilio",
    "square",
    "linear",
    "gitlab",
    "mailgun",
    "sendgrid",
    "discord",
    "hubspot",
    "hubspot-v2",
    "hubspot-v1",
    "dropbox",
    "xero",
    "woocommerce",
    "sentry",
    "vercel",
    "coinbase-commerce",
    "convoy-simple",
    "lemon-squeezy",
    "paystack",
    "razorpay",
    "checkout-com",
    "cal-com",
    "todoist",
    "clickup",
    "help-scout",
    "docusign",
    "intuit",
    "gusto",
    "heroku",
    "line",
    "webex",
    "alchemy",
    "tally",
    "squarespace",
    "chargify",
    "nylas",
    "pusher",
    "terraform-cloud",
    "gocardless",
    "sendbird",
    "segment",
    "hookdeck",
    "asana",
    "telegram",
    "flutterwave",
    "webflow",
    "customer-io",
    "zendesk",
    "box",
    "telnyx",
    "trello",
    "mandrill",
    "front",
    "api-key",
    "ecwid",
    "patreon",
    "api-key-query",
    "microsoft-graph",
];

/// Presets whose signature does not cover a timestamp.
const NO_TIMESTAMP: &[&str] = &[
    "github",
    "netlify",
    "github-sha1",
    "shopify",
    "twilio",
    "square",
    "gitlab",
    "intercom",
    "pagerduty",
    "hubspot-v2",
    "hubspot-v1",
    "dropbox",
    "typeform",
    "xero",
    "woocommerce",
    "bitbucket",
    "sentry",
    "vercel",
    "coinbase-commerce",
    "convoy-simple",
    "lemon-squeezy",
    "paystack",
    "razorpay",
    "checkout-com",
    "cal-com",
    "todoist",
    "clickup",
    "help-scout",
    "docusign",
    "intuit",
    "gusto",
    "greenhouse",
    "heroku",
    "doppler",
    "circleci",
    "line",
    "webex",
    "alchemy",
    "tally",
    "squarespace",
    "chargify",
    "airtable",
    "nylas",
    "pusher",
    "terraform-cloud",
    "gocardless",
    "sendbird",
    "segment",
    "jira",
    "hookdeck",
    "asana",
    "notion",
    "telegram",
    "flutterwave",
    "trello",
    "mandrill",
    "basic-auth",
    "postmark",
    "pipedrive",
    "api-key",
    "bearer-token",
    "ecwid",
    "patreon",
    "api-key-query",
    "meta",
    "x",
    "microsoft-graph",
];

#[derive(Debug, Clone)]
struct Vector {
    id: String,
    preset: Preset,
    scheme: Scheme,
    secret: String,
    wrong_secret: Option<String>,
    body: Vec<u8>,
    headers: HeaderMap,
    now: Option<u64>,
    url: Option<String>,
    method: Option<String>,
    event_id: Option<Option<String>>,
    event_type: Option<Option<String>>,
}

fn load(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    serde_json::from_str::<Vec<Value>>(&text).expect("vector file is a JSON array")
}

fn load_jws_valid() -> Vec<Value> {
    let path = format!("{}/tests/vectors/jws.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    let mut file: Value = serde_json::from_str(&text).expect("jws.json is JSON");
    serde_json::from_value(file["valid"].take()).expect("jws.json `valid` is an array")
}

fn form_encode(pairs: &[Value]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|p| {
            let p = p.as_array().unwrap();
            format!(
                "{}={}",
                enc(p[0].as_str().unwrap()),
                enc(p[1].as_str().unwrap())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn parse(v: &Value) -> Vector {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let provider = s("provider").unwrap();
    let name = s("preset").unwrap_or_else(|| match provider.as_str() {
        "convoy" if v["advanced"] == Value::Bool(false) => "convoy-simple".to_owned(),
        _ => provider.clone(),
    });
    let preset = Preset::from_name(&name).unwrap_or_else(|e| panic!("{}: {e}", s("id").unwrap()));
    let mut scheme = preset.scheme();
    if let Some(h) = s("hash") {
        scheme = scheme
            .with_algorithm(h.parse::<Algorithm>().unwrap())
            .unwrap();
    }
    if let Some(e) = s("encoding") {
        scheme = scheme
            .with_encoding(e.parse::<Encoding>().unwrap())
            .unwrap();
    }
    let body = match v.get("form") {
        Some(Value::Array(pairs)) => form_encode(pairs),
        _ => s("body").unwrap_or_default(),
    };
    let mut headers = HeaderMap::new();
    for (k, val) in v["headers"].as_object().unwrap() {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
        );
    }
    Vector {
        id: s("id").unwrap(),
        preset,
        scheme,
        secret: s("public_key_b64_der").or_else(|| s("secret")).unwrap(),
        wrong_secret: s("wrong_secret"),
        body: body.into_bytes(),
        headers,
        now: v.get("now").and_then(Value::as_u64),
        url: s("url"),
        method: s("method"),
        event_id: v.get("event_id").map(|e| e.as_str().map(str::to_owned)),
        event_type: v.get("event_type").map(|e| e.as_str().map(str::to_owned)),
    }
}

fn vectors() -> Vec<Vector> {
    let published = load("providers.json")
        .into_iter()
        .filter(|v| !FOUNDATION.contains(&v["provider"].as_str().unwrap()));
    let computed = load("catalogue.json");
    let computed_ii = load("catalogue_ii.json");
    let jws = load_jws_valid();
    published
        .chain(computed)
        .chain(computed_ii)
        .chain(jws)
        .map(|v| parse(&v))
        .collect()
}

/// A verifier for the vector at `now` (or, for signature-only vectors, with a tolerance so
/// wide that only the signature is checked).
fn make(
    v: &Vector,
    secret: &str,
    now: Option<Duration>,
) -> Result<Verifier, countersign_core::ConfigError> {
    let mut b = Verifier::builder(v.scheme.clone()).secret(secret);
    match (now, v.now) {
        (Some(t), _) => b = b.clock(FixedClock::new(t)),
        (None, Some(t)) => b = b.clock(FixedClock::from_unix_secs(t)),
        (None, None) => {
            b = b
                .clock(FixedClock::from_unix_secs(1_700_000_000))
                .tolerance(Tolerance::symmetric(Duration::MAX));
        }
    }
    b.build()
}

fn check(
    v: &Vector,
    verifier: &Verifier,
    body: &[u8],
    headers: &HeaderMap,
) -> Result<countersign_core::Verified, VerifyError> {
    let mut d = Delivery::new(headers, body);
    if let Some(u) = &v.url {
        d = d.url(u);
    }
    if let Some(m) = &v.method {
        d = d.method(m);
    }
    verifier.verify(&d)
}

fn expect_kind(
    v: &Vector,
    what: &str,
    got: Result<countersign_core::Verified, VerifyError>,
    kind: ErrorKind,
) {
    match got {
        Ok(_) => panic!("{}: {what} was accepted", v.id),
        Err(e) => assert_eq!(e.kind(), kind, "{}: {what}: {e}", v.id),
    }
}

#[test]
fn every_vector_is_accepted() {
    let all = vectors();
    assert!(all.len() >= 90, "{} vectors", all.len());
    for v in &all {
        let verifier = make(v, &v.secret, None).unwrap_or_else(|e| panic!("{}: {e}", v.id));
        let ok = check(v, &verifier, &v.body, &v.headers)
            .unwrap_or_else(|e| panic!("{}: rejected: {e}", v.id));
        assert_eq!(ok.preset(), v.preset.name(), "{}", v.id);
        if let Some(expected) = &v.event_id {
            assert_eq!(ok.event_id(), expected.as_deref(), "{}: event id", v.id);
        }
        if let Some(expected) = &v.event_type {
            let got = ok.event_type(&v.headers, &v.body);
            assert_eq!(
                got.as_ref().map(|t| t.as_str()),
                expected.as_deref(),
                "{}: event type",
                v.id
            );
        }
        if let Some(now) = v.now
            && mode(v).timestamp().is_some()
        {
            let ts = ok
                .timestamp()
                .unwrap_or_else(|| panic!("{}: no timestamp", v.id));
            assert!(ts.abs_diff(now as i64) <= 2, "{}: timestamp {ts}", v.id);
        }
    }
}

#[test]
fn every_catalogue_preset_has_a_vector() {
    let all = vectors();
    for p in Preset::ALL {
        if FOUNDATION.contains(&p.name()) || p.name() == "github-sha1" || p.name() == "svix" {
            continue;
        }
        assert!(
            all.iter().any(|v| v.preset == *p),
            "{p} has no known-answer vector"
        );
    }
}

#[test]
fn tampered_body_is_rejected() {
    for v in vectors() {
        let verifier = make(&v, &v.secret, None).unwrap();
        if v.preset == Preset::Mailgun {
            // The body is not signed: only the signature object is. Changing the token is
            // caught; changing the event data is not (see the preset's docs).
            let tampered = String::from_utf8(v.body.clone())
                .unwrap()
                .replacen("a8ce", "a8cf", 1);
            expect_kind(
                &v,
                "tampered token",
                check(&v, &verifier, tampered.as_bytes(), &v.headers),
                ErrorKind::SignatureMismatch,
            );
            let unsigned = String::from_utf8(v.body.clone())
                .unwrap()
                .replace("delivered", "failed");
            assert!(
                check(&v, &verifier, unsigned.as_bytes(), &v.headers).is_ok(),
                "mailgun body is unsigned"
            );
            continue;
        }
        if v.preset == Preset::Ecwid {
            // Only `eventCreated.eventId` is signed: changing the id is caught, the data is not
            // (see the preset's docs).
            let text = String::from_utf8(v.body.clone()).unwrap();
            let tampered = text.replacen("80aece08", "80aece09", 1);
            expect_kind(
                &v,
                "tampered event id",
                check(&v, &verifier, tampered.as_bytes(), &v.headers),
                ErrorKind::SignatureMismatch,
            );
            let unsigned = text.replace("\"PAID\"", "\"REFUNDED\"");
            assert_ne!(unsigned, text);
            assert!(
                check(&v, &verifier, unsigned.as_bytes(), &v.headers).is_ok(),
                "ecwid data is unsigned"
            );
            continue;
        }
        if v.preset == Preset::MicrosoftGraph {
            // The token travels in every notification: changing one is caught (the
            // notifications disagree), changing the rest of a notification is not.
            let text = String::from_utf8(v.body.clone()).unwrap();
            let one = text.replacen("graph-client-state-1", "graph-client-state-2", 1);
            expect_kind(
                &v,
                "one clientState changed",
                check(&v, &verifier, one.as_bytes(), &v.headers),
                ErrorKind::MalformedBody,
            );
            let all = text.replace("graph-client-state-1", "graph-client-state-2");
            expect_kind(
                &v,
                "every clientState changed",
                check(&v, &verifier, all.as_bytes(), &v.headers),
                ErrorKind::SignatureMismatch,
            );
            for hostile in [
                &br#"{"value":[]}"#[..],
                br#"{"value":[{"clientState":1}]}"#,
                br#"{"value":{"clientState":"graph-client-state-1"}}"#,
                br#"{"clientState":"graph-client-state-1"}"#,
                br#"{"value":[{"clientState":"graph-client-state-1"},{}]}"#,
                b"not json",
            ] {
                expect_kind(
                    &v,
                    "hostile notification list",
                    check(&v, &verifier, hostile, &v.headers),
                    ErrorKind::MalformedBody,
                );
            }
            let unsigned = text.replace("Messages/2", "Messages/9");
            assert!(check(&v, &verifier, unsigned.as_bytes(), &v.headers).is_ok());
            continue;
        }
        if mode(&v).algorithm() == Algorithm::Token {
            // A token signs nothing: any body passes with the right token.
            assert!(check(&v, &verifier, b"{}", &v.headers).is_ok());
            continue;
        }
        let mut body = v.body.clone();
        match body.last_mut() {
            Some(b) => *b ^= 0x01,
            None => body.push(b'x'),
        }
        expect_kind(
            &v,
            "tampered body",
            check(&v, &verifier, &body, &v.headers),
            ErrorKind::SignatureMismatch,
        );
    }
}

fn wrong_secret(v: &Vector) -> String {
    if let Some(w) = &v.wrong_secret {
        return w.clone();
    }
    if v.preset == Preset::Sendgrid {
        // The official vector's key is wrong for ours and the other way round.
        return load("catalogue.json")
            .iter()
            .find(|c| c["preset"] == "sendgrid")
            .and_then(|c| c["secret"].as_str())
            .unwrap()
            .to_owned();
    }
    if let Some(b64) = v.secret.strip_prefix("whsec_") {
        // Another valid key of the same length.
        let mut chars: Vec<char> = b64.chars().collect();
        chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
        return format!("whsec_{}", chars.into_iter().collect::<String>());
    }
    format!("{}x", v.secret)
}

#[test]
fn wrong_key_is_rejected() {
    for v in vectors() {
        let verifier =
            make(&v, &wrong_secret(&v), None).unwrap_or_else(|e| panic!("{}: {e}", v.id));
        expect_kind(
            &v,
            "wrong key",
            check(&v, &verifier, &v.body, &v.headers),
            ErrorKind::SignatureMismatch,
        );
    }
}

#[test]
fn stale_and_future_timestamps_are_rejected() {
    for v in vectors() {
        let scheme = mode(&v);
        if scheme.timestamp().is_none() {
            assert!(
                NO_TIMESTAMP.contains(&v.preset.name()),
                "{}: timestamp expected",
                v.id
            );
            continue;
        };
        let Some(now) = v.now else {
            // Signature-only vectors (timestamps from years ago): the real clock rejects them.
            let verifier = Verifier::builder(v.scheme.clone())
                .secret(v.secret.as_str())
                .build()
                .unwrap();
            expect_kind(
                &v,
                "old vector on the real clock",
                check(&v, &verifier, &v.body, &v.headers),
                ErrorKind::TimestampTooOld,
            );
            continue;
        };
        let tol = scheme.tolerance();
        let late = Duration::from_secs(now) + tol.past + Duration::from_secs(2);
        let verifier = make(&v, &v.secret, Some(late)).unwrap();
        expect_kind(
            &v,
            "stale",
            check(&v, &verifier, &v.body, &v.headers),
            ErrorKind::TimestampTooOld,
        );
        let early = Duration::from_secs(now) - tol.future - Duration::from_secs(2);
        let verifier = make(&v, &v.secret, Some(early)).unwrap();
        expect_kind(
            &v,
            "from the future",
            check(&v, &verifier, &v.body, &v.headers),
            ErrorKind::TimestampTooNew,
        );
    }
    for p in Preset::ALL {
        assert_eq!(
            p.scheme().timestamp().is_none(),
            NO_TIMESTAMP.contains(&p.name()),
            "{p}: NO_TIMESTAMP is out of date"
        );
    }
}

/// The scheme, or the alternative the vector's secret selects by its prefix.
fn mode(v: &Vector) -> &Scheme {
    v.scheme
        .alternatives()
        .iter()
        .find(|alt| match alt.key_format() {
            KeyFormat::Base64 { prefix: Some(p) } => v.secret.starts_with(p.as_ref()),
            _ => false,
        })
        .unwrap_or(&v.scheme)
}

#[test]
fn unknown_versions_are_rejected() {
    for v in vectors() {
        let verifier = make(&v, &v.secret, None).unwrap();
        let scheme = mode(&v);
        let SignatureSource::Header(names) = scheme.signature_source() else {
            assert!(
                [Preset::Mailgun, Preset::ApiKeyQuery, Preset::MicrosoftGraph].contains(&v.preset),
                "{}",
                v.id
            );
            continue;
        };
        let name = names.iter().find(|n| v.headers.contains_key(*n)).unwrap();
        let value = v.headers[name].to_str().unwrap().to_owned();
        let (changed, kind) = match scheme.syntax() {
            SignatureSyntax::Single { prefix } if prefix.is_empty() => {
                assert!(NO_VERSION_MARKER.contains(&v.preset.name()), "{}", v.id);
                (format!("!{value}"), ErrorKind::SignatureMismatch)
            }
            SignatureSyntax::Single { .. } => {
                (format!("x{value}"), ErrorKind::NoSupportedSignature)
            }
            SignatureSyntax::VersionedList { .. } => (
                value.replace("v1a,", "v9,").replace("v1,", "v9,"),
                ErrorKind::NoSupportedSignature,
            ),
            SignatureSyntax::KeyValue { signature_key, .. } => (
                value.replace(&format!("{signature_key}="), &format!("{signature_key}9=")),
                ErrorKind::NoSupportedSignature,
            ),
            SignatureSyntax::TimestampFirst { separator } => {
                // No version marker: every signature made undecodable instead.
                let mut entries = value.split(*separator);
                let ts = entries.next().unwrap().to_owned();
                let sigs: Vec<String> = entries.map(|s| format!("!{s}")).collect();
                (
                    std::iter::once(ts)
                        .chain(sigs)
                        .collect::<Vec<_>>()
                        .join(","),
                    ErrorKind::SignatureMismatch,
                )
            }
            SignatureSyntax::Jws(_) => {
                // The "version" of a JWS is its `alg`: any other is refused.
                use base64::Engine as _;
                let rest = value.split_once('.').unwrap().1;
                let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(br#"{"alg":"HS384","typ":"JWT"}"#);
                (format!("{header}.{rest}"), ErrorKind::MalformedHeader)
            }
            other => panic!("{}: syntax {other:?}", v.id),
        };
        let mut headers = v.headers.clone();
        headers.insert(name.clone(), HeaderValue::from_str(&changed).unwrap());
        expect_kind(
            &v,
            "unknown version",
            check(&v, &verifier, &v.body, &headers),
            kind,
        );
    }
    for p in Preset::ALL {
        let bare =
            matches!(p.scheme().syntax(), SignatureSyntax::Single { prefix } if prefix.is_empty());
        assert_eq!(
            bare,
            NO_VERSION_MARKER.contains(&p.name()),
            "{p}: NO_VERSION_MARKER is out of date"
        );
    }
}

#[test]
fn url_bound_presets_need_the_url() {
    for v in vectors().into_iter().filter(|v| v.scheme.needs_url()) {
        let verifier = make(&v, &v.secret, None).unwrap();
        let got = verifier.verify(&Delivery::new(&v.headers, &v.body));
        expect_kind(&v, "no URL", got, ErrorKind::MissingUrl);
        let mut other = v.clone();
        other.url = Some(format!("{}x", v.url.as_deref().unwrap()));
        expect_kind(
            &v,
            "another URL",
            check(&other, &verifier, &v.body, &v.headers),
            ErrorKind::SignatureMismatch,
        );
    }
}
