//! Property tests over every preset in [`Preset::ALL`] (so presets added later are covered
//! without touching this file):
//!
//! - sign → verify round trips, with arbitrary bodies (not UTF-8 either), secrets, ids and
//!   timestamps;
//! - any single-bit flip of the body, or of the signature header's text, is rejected (a
//!   signature has one accepted spelling: even the ASCII case bit of a hex letter, which
//!   decodes to the same bytes, is refused);
//! - the header parsers never panic on arbitrary header values — for every header each
//!   preset reads ([`Scheme::header_names`]), repeated or absent — with arbitrary bodies;
//! - hostile timestamps are rejections, never panics or overflows (run in debug *and*
//!   `--release`: overflow checks differ).
//!
//! Each property runs at least 10 000 cases.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_core::{
    Algorithm, Delivery, Encoding, ErrorKind, FixedClock, KeyFormat, Part, Preset, Scheme, Secret,
    SignRequest, SignatureSyntax, Signer, TimestampSource, TimestampUnit, Verifier,
};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Presets that cannot sign, each with the reason. Asserted: these (and only these) fail
/// to produce a signature; every other preset must round-trip.
const CANNOT_SIGN: &[(&str, &str)] = &[
    (
        "microsoft-graph",
        "the token travels in every notification of the JSON body (clientState), not in a header; catalogue.rs checks it",
    ),
    (
        "api-key-query",
        "the key travels in the URL's query, not in a header (config.rs and the preset's tests check it)",
    ),
    (
        "discord",
        "Ed25519 key pair: the configured key is the sender's public key (verify-only)",
    ),
    (
        "sendgrid",
        "ECDSA P-256 key pair: the configured key is the sender's public key (verify-only)",
    ),
    (
        "telnyx",
        "Ed25519 key pair: the configured key is the sender's public key (verify-only)",
    ),
    (
        "ecwid",
        "signs two fields of the JSON body (eventCreated, eventId), which arbitrary payloads lack; round_trip.rs and catalogue.rs sign real bodies",
    ),
    (
        "mailgun",
        "the signature travels inside the JSON body (Signer::signature computes it; round_trip.rs)",
    ),
];

/// The URL every delivery is signed for and received at (URL-bound presets sign it).
const URL: &str = "https://hooks.example.com:8443/in/wh?src=prop&x=%3A";

/// A delivery as the receiving side sees it: headers, body, URL and method.
fn deliver<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Delivery<'a> {
    Delivery::new(headers, body).url(URL).method("POST")
}

const CASES: u32 = 10_000;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

/// A secret in the format `scheme` expects, made from arbitrary key bytes.
fn secret_for(scheme: &Scheme, key: &[u8]) -> Secret {
    match scheme.key_format() {
        // A token travels in a header itself, so it must be a valid header value.
        KeyFormat::Raw if scheme.algorithm() == Algorithm::Token => Secret::from(hex::encode(key)),
        KeyFormat::Raw => Secret::from(key),
        KeyFormat::Hex => Secret::from(hex::encode(key)),
        KeyFormat::BasicAuth => Secret::from(format!("user:{}", hex::encode(key))),
        KeyFormat::Base64 { prefix } => Secret::from(format!(
            "{}{}",
            prefix.as_deref().unwrap_or(""),
            STANDARD.encode(key)
        )),
        other => panic!("properties.rs does not know key format {other:?} yet: teach it"),
    }
}

fn cannot_sign_reason(preset: Preset) -> Option<&'static str> {
    CANNOT_SIGN
        .iter()
        .find(|(name, _)| *name == preset.name())
        .map(|(_, why)| *why)
}

/// The body `preset` is sent with, carrying `payload`: the payload itself, except for
/// presets whose signed content is not the raw body — form parameters (Twilio: the payload
/// hex-encoded in one parameter) or a JSON body that carries the signed timestamp (Linear:
/// the timestamp at `at`, the payload hex-encoded beside it).
fn shape(preset: Preset, payload: &[u8], at: Duration) -> Vec<u8> {
    let scheme = preset.scheme();
    if scheme
        .content()
        .iter()
        .any(|p| matches!(p, Part::FormParams(_)))
    {
        return format!("Body={}", hex::encode(payload)).into_bytes();
    }
    match scheme.timestamp() {
        Some(spec) => match &spec.source {
            TimestampSource::JsonField(path) => {
                json_with_timestamp(path, &json_number(spec.unit, at), &hex::encode(payload))
                    .into_bytes()
            }
            _ => payload.to_vec(),
        },
        None => payload.to_vec(),
    }
}

/// `at` as a JSON number in `unit`.
fn json_number(unit: TimestampUnit, at: Duration) -> String {
    match unit {
        TimestampUnit::Milliseconds => at.as_millis().to_string(),
        _ => at.as_secs().to_string(),
    }
}

/// A JSON object with `timestamp` (raw JSON text) at `path` and `data` beside it.
fn json_with_timestamp(
    path: &[std::borrow::Cow<'static, str>],
    timestamp: &str,
    data: &str,
) -> String {
    let mut json = timestamp.to_owned();
    for key in path.iter().rev() {
        json = format!(r#"{{"{key}":{json}}}"#);
    }
    format!(r#"{{"data":"{data}",{}"#, &json[1..])
}

/// Signs `payload` (shaped by [`shape`]) with `preset`, returning the headers, a verifier
/// for them (clock at `at`) and the body as sent.
fn signed(
    preset: Preset,
    key: &[u8],
    payload: &[u8],
    id: &str,
    at: Duration,
) -> Option<(HeaderMap, Verifier, Vec<u8>)> {
    let body = shape(preset, payload, at);
    let (headers, verifier) = signed_as_is(preset, key, &body, id, at)?;
    Some((headers, verifier, body))
}

/// Signs `body` exactly as given.
fn signed_as_is(
    preset: Preset,
    key: &[u8],
    body: &[u8],
    id: &str,
    at: Duration,
) -> Option<(HeaderMap, Verifier)> {
    let scheme = preset.scheme();
    let secret = secret_for(&scheme, key);
    let headers = Signer::new(preset, secret.clone())
        .map_err(|e| e.to_string())
        .and_then(|s| {
            s.sign(
                &SignRequest::new(body)
                    .id(id)
                    .timestamp(at)
                    .url(URL)
                    .method("POST"),
            )
            .map_err(|e| e.to_string())
        });
    match (cannot_sign_reason(preset), headers) {
        (None, Ok(h)) => {
            let verifier = Verifier::builder(preset)
                .secret(secret)
                .clock(FixedClock::new(at))
                .build()
                .unwrap();
            Some((h, verifier))
        }
        (None, Err(e)) => panic!("{preset} cannot sign ({e}); list it in CANNOT_SIGN with why"),
        (Some(_), Ok(_)) => panic!("{preset} is in CANNOT_SIGN but signs: remove it"),
        (Some(_), Err(_)) => None,
    }
}

/// The algorithms a shared secret signs with (key-pair algorithms verify only; a token
/// signs nothing).
fn signing_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL
        .iter()
        .copied()
        .filter(|a| !a.is_key_pair() && *a != Algorithm::Token)
        .collect()
}

/// Whether `preset`'s proof covers the body: everything but a bare token (GitLab's
/// `X-Gitlab-Token` only proves the sender knows the secret).
fn signs_body(preset: Preset) -> bool {
    preset.scheme().algorithm() != Algorithm::Token
}

/// One preset per case, drawn from [`Preset::ALL`]: the cost per case stays flat as the
/// catalogue grows (`every_preset_*` below still walk every preset deterministically).
fn preset() -> impl Strategy<Value = Preset> {
    proptest::sample::select(Preset::ALL)
}

/// Bodies: arbitrary bytes (mostly short, sometimes JSON-ish).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..512),
        1 => "[ -~]{0,200}".prop_map(|s| format!(r#"{{"id":"{s}","event_id":"{s}"}}"#).into_bytes()),
    ]
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..80)
}

fn event_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_:.-]{1,64}"
}

/// Unix time up to the year 2100, with a sub-second part.
fn when() -> impl Strategy<Value = Duration> {
    (0u64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sign_then_verify_round_trips(
        preset in preset(),
        body in body(),
        key in key(),
        id in event_id(),
        at in when(),
    ) {
        {
            let Some((headers, verifier, body)) = signed(preset, &key, &body, &id, at) else {
                return Ok(());
            };
            let verified = verifier
                .verify(&deliver(&headers, &body))
                .unwrap_or_else(|e| panic!("{preset}: own signature rejected: {e}"));
            prop_assert_eq!(verified.preset(), preset.name());
            let scheme = preset.scheme();
            if scheme.timestamp().is_some() {
                prop_assert_eq!(verified.timestamp(), Some(i64::try_from(at.as_secs()).unwrap()));
            } else {
                prop_assert_eq!(verified.timestamp(), None);
            }
            if let countersign_core::EventIdSource::Header(_) = scheme.event_id() {
                prop_assert_eq!(verified.event_id(), Some(id.as_str()));
            }
        }
    }

    #[test]
    fn generic_hmac_round_trips(
        body in body(),
        key in key(),
        header in "x-[a-z]{1,12}-signature",
        prefix in "[a-z0-9]{0,8}=?",
        alg in proptest::sample::select(signing_algorithms()),
        enc in proptest::sample::select(Encoding::ALL),
    ) {
        let scheme = Scheme::generic_hmac(&header, &prefix, alg, enc).unwrap();
        let headers = Signer::new(scheme.clone(), key.as_slice())
            .unwrap()
            .sign(&SignRequest::new(&body))
            .unwrap();
        let value = headers[header.as_str()].to_str().unwrap();
        prop_assert!(value.starts_with(prefix.as_str()));
        let verifier = Verifier::new(scheme, key.as_slice()).unwrap();
        prop_assert!(verifier.verify(&deliver(&headers, &body)).is_ok());
        let mut flipped = body.clone();
        flipped.push(0);
        prop_assert_eq!(
            verifier.verify(&deliver(&headers, &flipped)).unwrap_err().kind(),
            ErrorKind::SignatureMismatch
        );
    }

    #[test]
    fn any_body_bit_flip_is_rejected(
        preset in preset(),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        key in key(),
        id in event_id(),
        at in when(),
        bit in any::<proptest::sample::Index>(),
    ) {
        {
            let Some((headers, verifier, body)) = signed(preset, &key, &body, &id, at) else {
                return Ok(());
            };
            let mut flipped = body.clone();
            let i = bit.index(body.len() * 8);
            flipped[i / 8] ^= 1 << (i % 8);
            let result = verifier.verify(&deliver(&headers, &flipped));
            if signs_body(preset) {
                prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::SignatureMismatch, "{}", preset);
            } else {
                prop_assert!(result.is_ok(), "{}: a token does not cover the body", preset);
            }
        }
    }

    #[test]
    fn any_signature_header_bit_flip_is_rejected(
        preset in preset(),
        body in body(),
        key in key(),
        id in event_id(),
        at in when(),
        bit in any::<proptest::sample::Index>(),
    ) {
        {
            let Some((headers, verifier, body)) = signed(preset, &key, &body, &id, at) else {
                return Ok(());
            };
            let name = common::signature_header(&preset.scheme(), &headers);
            let bits = headers[&name].len() * 8;
            if let Err(e) = check_signature_flip(preset, &headers, &verifier, &body, bit.index(bits)) {
                prop_assert!(false, "{}", e);
            }
        }
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_headers(
        (preset, values) in preset().prop_flat_map(|p| {
            let n = p.scheme().header_names().len();
            (Just(p), proptest::collection::vec(header_values(), n))
        }),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            "[ -~]{0,64}".prop_map(|s| format!(r#"{{"id":{s},"event_id":"{s}"}}"#).into_bytes()),
        ],
        key in key(),
        now in any::<u64>(),
    ) {
        {
            let scheme = preset.scheme();
            let names = scheme.header_names();
            let mut headers = HeaderMap::new();
            for (name, vals) in names.iter().zip(&values) {
                for v in vals {
                    headers.append(name.clone(), v.clone());
                }
            }
            exercise(preset, &key, &headers, &body, now);
        }
    }

    #[test]
    fn parsers_never_panic_on_mutated_valid_deliveries(
        preset in preset(),
        body in body(),
        key in key(),
        id in event_id(),
        at in when(),
        which in any::<proptest::sample::Index>(),
        edit in (any::<proptest::sample::Index>(), 0usize..8, header_bytes()),
        now in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
    ) {
        {
            let Some((mut headers, _, body)) = signed(preset, &key, &body, &id, at) else {
                return Ok(());
            };
            // Splice arbitrary bytes into one of the headers the scheme reads.
            let names = preset.scheme().header_names();
            let name = names[which.index(names.len())].clone();
            let mut bytes = headers.get(&name).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
            let at_byte = edit.0.index(bytes.len() + 1);
            let cut = (at_byte + edit.1).min(bytes.len());
            bytes.splice(at_byte..cut, edit.2.iter().copied());
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                headers.insert(name, v);
            }
            let now = now.unwrap_or(at.as_secs());
            exercise(preset, &key, &headers, &body, now);
        }
    }

    #[test]
    fn timestamps_other_than_digits_are_rejected(preset in preset(), text in prop_oneof!["\\PC{0,24}", "[0-9+. eE_x-]{0,24}", "[0-9]{0,21}[^0-9]?[0-9]{0,3}"]) {
        {
            let Some(result) = with_timestamp(preset, &text) else { return Ok(()) };
            let scheme = preset.scheme();
            // Inside a key-value signature header, pairs are trimmed of spaces and tabs, and
            // a separator in the text starts another pair.
            let (seen, separator) = match scheme.syntax() {
                SignatureSyntax::KeyValue { separator, .. }
                    if matches!(scheme.timestamp().map(|t| &t.source), Some(TimestampSource::SignatureHeader)) =>
                {
                    (text.trim_matches([' ', '\t']), Some(*separator))
                }
                // `<timestamp><sep><sig>…` (Recurly): the timestamp ends at the first separator.
                SignatureSyntax::TimestampFirst { separator } => {
                    (text.split(*separator).next().unwrap_or(""), Some(*separator))
                }
                _ => (text.as_str(), None),
            };
            let timestamp_first = matches!(scheme.syntax(), SignatureSyntax::TimestampFirst { .. });
            let digits = !seen.is_empty() && seen.len() <= 19 && seen.bytes().all(|b| b.is_ascii_digit());
            let numeric = scheme.timestamp().is_some_and(|t| t.unit != TimestampUnit::Rfc3339);
            if digits && numeric {
                return Ok(());
            }
            prop_assert!(result.is_some(), "{}: {:?} accepted", preset, text);
            // Timestamp-first: the refusal may name the signature part instead.
            if !timestamp_first && separator.is_none_or(|sep| !text.contains(sep)) {
                prop_assert_eq!(result, Some(ErrorKind::MalformedTimestamp), "{}: {:?}", preset, text);
            }
        }
    }

    #[test]
    fn digit_timestamps_never_overflow(
        preset in preset(),text in "[0-9]{1,25}", now in any::<u64>()) {
        {
            let Some((headers, body)) = timestamped_delivery(preset, &text) else { return Ok(()) };
            let verifier = fixture_verifier(preset, Duration::from_secs(now));
            let err = verifier.verify(&deliver(&headers, &body)).unwrap_err();
            prop_assert!(
                matches!(
                    err.kind(),
                    ErrorKind::MalformedTimestamp
                        | ErrorKind::TimestampTooOld
                        | ErrorKind::TimestampTooNew
                        | ErrorKind::SignatureMismatch
                ),
                "{}: {:?}: {}", preset, text, err
            );
        }
    }
}

/// Flips bit `i` of the signature header's text and checks the outcome: rejected — also the
/// flip of the ASCII case bit of a hex letter, which decodes to the same bytes (only the
/// lowercase spelling is accepted). Flips that make the value something no HTTP request can
/// carry are not checked.
fn check_signature_flip(
    preset: Preset,
    headers: &HeaderMap,
    verifier: &Verifier,
    body: &[u8],
    i: usize,
) -> Result<(), String> {
    let scheme = preset.scheme();
    let name = common::signature_header(&scheme, headers);
    let original = headers[&name].as_bytes().to_vec();
    let mut bytes = original.clone();
    bytes[i / 8] ^= 1 << (i % 8);
    let Ok(value) = HeaderValue::from_bytes(&bytes) else {
        return Ok(());
    };
    let mut tampered = headers.clone();
    tampered.insert(name, value);
    let result = verifier.verify(&deliver(&tampered, body));
    if result.is_err() {
        Ok(())
    } else {
        Err(format!(
            "{preset}: {:?} -> {:?}: {result:?}",
            String::from_utf8_lossy(&original),
            String::from_utf8_lossy(&bytes),
        ))
    }
}

/// Every preset, deterministically: round trip, then *every* single-bit flip of the
/// signature header and of a short body.
#[test]
fn every_preset_round_trips_and_rejects_every_single_bit_flip() {
    let bodies: [&[u8]; 4] = [
        b"",
        br#"{"id":"evt_1","event_id":"Ev1"}"#,
        b"\xff\xfe\x00binary\x80",
        &[b'x'; 4096],
    ];
    let mut signed_presets = 0;
    for &preset in Preset::ALL {
        let mut any = false;
        for body in bodies {
            let Some((headers, verifier, body)) =
                signed(preset, FIXTURE_KEY, body, "msg_1", FIXTURE_TIME)
            else {
                continue;
            };
            let body = body.as_slice();
            any = true;
            let ok = verifier.verify(&deliver(&headers, body));
            assert!(ok.is_ok(), "{preset}: {ok:?}");
            let name = common::signature_header(&preset.scheme(), &headers);
            for i in 0..headers[&name].len() * 8 {
                check_signature_flip(preset, &headers, &verifier, body, i).unwrap();
            }
            for i in 0..body.len().min(64) * 8 {
                let mut flipped = body.to_vec();
                flipped[i / 8] ^= 1 << (i % 8);
                let result = verifier.verify(&deliver(&headers, &flipped));
                if !signs_body(preset) {
                    assert!(result.is_ok(), "{preset}: a token does not cover the body");
                    continue;
                }
                let err = result.unwrap_err();
                assert_eq!(
                    err.kind(),
                    ErrorKind::SignatureMismatch,
                    "{preset}: bit {i}"
                );
            }
        }
        signed_presets += usize::from(any);
    }
    assert_eq!(signed_presets, Preset::ALL.len() - CANNOT_SIGN.len());
}

/// Header values as a request can carry them: visible ASCII, tabs, obs-text — mostly
/// built from the characters signature syntaxes care about.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting =
        proptest::sample::select(b"v1v0t=,; .-+/=_0123456789abcdefABCDEFxyz\t\x80\xff".to_vec());
    prop_oneof![
        proptest::collection::vec(interesting, 0..96),
        proptest::collection::vec(any::<u8>(), 0..96).prop_map(|b| b
            .into_iter()
            .filter(|&c| c == b'\t' || (c >= 0x20 && c != 0x7f))
            .collect()),
        "(v1,[A-Za-z0-9+/=]{0,50} ?){0,4}".prop_map(String::into_bytes),
        "(t=[0-9+-]{0,22},)?(v[01]=[0-9a-f]{0,70},?){0,3}".prop_map(String::into_bytes),
        "(sha(1|256|512)=|v0=)?[0-9a-fA-F]{0,130}".prop_map(String::into_bytes),
    ]
}

/// Zero to three values for one header.
fn header_values() -> impl Strategy<Value = Vec<HeaderValue>> {
    proptest::collection::vec(header_bytes(), 0..3).prop_map(|vals| {
        vals.into_iter()
            .map(|v| HeaderValue::from_bytes(&v).expect("filtered to valid header bytes"))
            .collect()
    })
}

/// Drives everything a request controls through the public API; the only requirement is
/// not to panic and to classify rejections consistently.
fn exercise(preset: Preset, key: &[u8], headers: &HeaderMap, body: &[u8], now: u64) {
    let scheme = preset.scheme();
    let verifier = Verifier::builder(preset)
        .secret(verifying_secret(&scheme, key))
        .clock(FixedClock::from_unix_secs(now))
        .build()
        .unwrap();
    let delivery = deliver(headers, body);
    let one = verifier.verify(&delivery);
    let two = verifier
        .prepare(headers)
        .and_then(|p| p.url(URL).method("POST").finish(body))
        .map(countersign_core::Outcome::into_verified);
    assert_eq!(one, two, "{preset}: verify vs prepare+finish");
    if let Err(e) = one {
        let status = e.kind().status().as_u16();
        assert!(
            matches!(status, 400 | 401 | 413),
            "{preset}: {e} -> {status}"
        );
        let text = e.to_string();
        assert!(!text.is_empty());
        assert!(!e.kind().public_message().is_empty());
    }
}

/// The secret a verifier of `scheme` is configured with: for key-pair schemes a valid public
/// key (arbitrary bytes are not one), otherwise [`secret_for`].
fn verifying_secret(scheme: &Scheme, key: &[u8]) -> Secret {
    match scheme.algorithm() {
        Algorithm::Ed25519 => {
            let seed: [u8; 32] = std::array::from_fn(|i| key.get(i).copied().unwrap_or(7));
            let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            match scheme.key_format() {
                KeyFormat::Hex => Secret::from(hex::encode(public.as_bytes())),
                KeyFormat::Base64 { prefix } => Secret::from(format!(
                    "{}{}",
                    prefix.as_deref().unwrap_or(""),
                    STANDARD.encode(public.as_bytes())
                )),
                other => panic!("properties.rs does not know Ed25519 keys as {other:?}: teach it"),
            }
        }
        // An SPKI DER P-256 public key (base64), as SendGrid's dashboard shows it.
        Algorithm::EcdsaP256Sha256 => Secret::from(P256_PUBLIC_KEY),
        _ => secret_for(scheme, key),
    }
}

const P256_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";

/// A signed delivery of `preset` whose timestamp text is `text`: replaced in the headers,
/// or — for a timestamp inside the JSON body, which the signature covers — a body carrying
/// `text` as a JSON string, signed afresh. `None` when the preset has no timestamp, cannot
/// sign, or `text` cannot be put in a header at all.
fn timestamped_delivery(preset: Preset, text: &str) -> Option<(HeaderMap, Vec<u8>)> {
    let scheme = preset.scheme();
    if let TimestampSource::JsonField(path) = &scheme.timestamp()?.source {
        let body =
            json_with_timestamp(path, &serde_json::to_string(text).unwrap(), "00").into_bytes();
        let (headers, _) = signed_as_is(preset, FIXTURE_KEY, &body, "msg_1", FIXTURE_TIME)?;
        return Some((headers, body));
    }
    let (mut headers, _, body) = signed(
        preset,
        FIXTURE_KEY,
        br#"{"id":"evt_1","event_id":"Ev1"}"#,
        "msg_1",
        FIXTURE_TIME,
    )?;
    put_timestamp(preset, &mut headers, text).then_some((headers, body))
}

const FIXTURE_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const FIXTURE_TIME: Duration = Duration::from_secs(1_700_000_000);

/// A verifier for [`timestamped_delivery`] deliveries with the clock at `now`.
fn fixture_verifier(preset: Preset, now: Duration) -> Verifier {
    Verifier::builder(preset)
        .secret(secret_for(&preset.scheme(), FIXTURE_KEY))
        .clock(FixedClock::new(now))
        .build()
        .unwrap()
}

/// Replaces the timestamp text where `preset` carries it. `false` when the text cannot be
/// put in a header at all.
fn put_timestamp(preset: Preset, headers: &mut HeaderMap, text: &str) -> bool {
    let scheme = preset.scheme();
    let spec = scheme.timestamp().expect("timestamped scheme");
    match &spec.source {
        TimestampSource::Header(names) => {
            let Ok(v) = HeaderValue::from_str(text) else {
                return false;
            };
            let name = names
                .iter()
                .find(|n| headers.contains_key(*n))
                .unwrap()
                .clone();
            headers.insert(name, v);
        }
        TimestampSource::SignatureHeader
            if matches!(scheme.syntax(), SignatureSyntax::TimestampFirst { .. }) =>
        {
            let SignatureSyntax::TimestampFirst { separator } = scheme.syntax() else {
                unreachable!()
            };
            let name = common::signature_header(&scheme, headers);
            let value = headers[&name].to_str().unwrap().to_owned();
            let rest = value.split_once(*separator).map(|(_, r)| r).unwrap_or("");
            let Ok(v) = HeaderValue::from_str(&format!("{text}{separator}{rest}")) else {
                return false;
            };
            headers.insert(name, v);
        }
        TimestampSource::SignatureHeader => {
            let SignatureSyntax::KeyValue {
                separator,
                timestamp_key: Some(key),
                ..
            } = scheme.syntax()
            else {
                panic!("{preset}: timestamp in the signature header needs a key-value syntax");
            };
            let name = common::signature_header(&scheme, headers);
            let value = headers[&name].to_str().unwrap().to_owned();
            let tag = format!("{key}=");
            let rebuilt: Vec<String> = value
                .split(*separator)
                .map(|pair| match pair.strip_prefix(tag.as_str()) {
                    Some(_) => format!("{tag}{text}"),
                    None => pair.to_owned(),
                })
                .collect();
            let Ok(v) = HeaderValue::from_str(&rebuilt.join(&separator.to_string())) else {
                return false;
            };
            headers.insert(name, v);
        }
        other => panic!("properties.rs does not know timestamp source {other:?} yet: teach it"),
    }
    true
}

/// Verifies a valid delivery of `preset` whose timestamp text was replaced by `text`;
/// `None` when the preset has no timestamp (or cannot sign), `Some(None)` when accepted.
fn with_timestamp(preset: Preset, text: &str) -> Option<Option<ErrorKind>> {
    let (headers, body) = timestamped_delivery(preset, text)?;
    let verifier = fixture_verifier(preset, FIXTURE_TIME);
    Some(
        verifier
            .verify(&deliver(&headers, &body))
            .err()
            .map(|e| e.kind()),
    )
}

/// The timestamps the issue names, and their relatives: rejections in debug and release.
#[test]
fn hostile_timestamps_are_rejections() {
    let hostile = [
        "-9223372036854775808",
        "99999999999999999999",
        "+1700000000",
        "+17",
        "1.5",
        "",
        "1700000000.0",
        "9223372036854775808",
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "-1",
        "-0",
        "0x6553f100",
        "1e9",
        "１７００００００００",
        "17_00000000",
    ];
    let mut checked = 0;
    for &preset in Preset::ALL {
        let Some(spec) = preset.scheme().timestamp().cloned() else {
            continue;
        };
        // Digits are not an RFC 3339 date-time.
        let rfc3339 = spec.unit == TimestampUnit::Rfc3339;
        let resigned = matches!(spec.source, TimestampSource::JsonField(_));
        for text in hostile {
            match with_timestamp(preset, text) {
                None => {
                    // Only texts that cannot be a header value at all.
                    assert!(
                        HeaderValue::from_str(text).is_err()
                            || cannot_sign_reason(preset).is_some()
                    );
                }
                Some(kind) => {
                    assert_eq!(
                        kind,
                        Some(ErrorKind::MalformedTimestamp),
                        "{preset}: {text:?}"
                    );
                    checked += 1;
                }
            }
        }
        // Extremes that *are* digits: outside any tolerance, never an overflow — also with
        // the clock at its extremes.
        for text in ["0", "9223372036854775807", "0000000000000000001"] {
            for now in [
                Duration::ZERO,
                Duration::from_secs(1_700_000_000),
                Duration::MAX,
            ] {
                let Some((headers, body)) = timestamped_delivery(preset, text) else {
                    assert!(cannot_sign_reason(preset).is_some(), "{preset}");
                    continue;
                };
                let verifier = fixture_verifier(preset, now);
                let err = match verifier.verify(&deliver(&headers, &body)) {
                    // A body-carried timestamp is signed afresh, so it verifies when it is
                    // inside the tolerance of the clock ("0" at the epoch).
                    Ok(v) => {
                        let at = v.timestamp().unwrap().unsigned_abs();
                        assert!(
                            resigned && at.abs_diff(now.as_secs()) <= 3600,
                            "{preset}: {text} at {now:?}: {v:?}"
                        );
                        continue;
                    }
                    Err(err) => err,
                };
                assert!(
                    matches!(
                        err.kind(),
                        ErrorKind::TimestampTooOld
                            | ErrorKind::TimestampTooNew
                            // inside the tolerance: the signed text changed
                            | ErrorKind::SignatureMismatch
                    ) || (rfc3339 && err.kind() == ErrorKind::MalformedTimestamp),
                    "{preset}: {text} at {now:?}: {err}"
                );
            }
        }
    }
    assert!(checked >= 2 * (hostile.len() - 1), "checked {checked}");
}

#[test]
fn cannot_sign_list_names_real_presets() {
    for (name, why) in CANNOT_SIGN {
        assert!(Preset::from_name(name).is_ok(), "{name} is not a preset");
        assert!(!why.is_empty());
    }
}
