//! Known-answer tests, table-driven from data files under `tests/vectors/`:
//!
//! - `providers.json`: signatures published by providers (docs, SDK test suites), copied
//!   verbatim from the project's shared vector set;
//! - `own.json`: countersign's own Stripe, Shopify and GitHub SHA-1 vectors, generated
//!   independently with Python's `hmac` by `gen_own_vectors.py`.
//!
//! Every valid vector also yields derived negatives — one body bit flipped, one signature
//! bit flipped, a wrong secret, the clock moved just past the tolerance both ways — each
//! of which must be rejected with the right [`ErrorKind`].

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use countersign_core::{
    Delivery, ErrorKind, EventIdSource, FixedClock, Preset, Scheme, SystemClock, Tolerance,
    Verified, Verifier, VerifyError,
};
use http::HeaderMap;
use serde::Deserialize;

/// Providers of `providers.json` whose preset does not exist yet (the provider catalogue
/// adds them). The test asserts this is *exactly* the set of preset names that
/// `Preset::from_name` rejects — when a preset lands, remove it here and its vectors run.
const NOT_YET_IMPLEMENTED: &[&str] = &[];

/// A different, valid P-256 public key (SubjectPublicKeyInfo DER, base64), for the
/// wrong-key negative of key-pair vectors. Generated with
/// `openssl ecparam -genkey -name prime256v1 -noout | openssl ec -pubout -outform DER | base64`.
const OTHER_P256_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjUBTEjy3ps+1oesji+cRXmKWVCdz1aYdMl06LuWVsjZjBatgdeT1K0cmHppILUic3DYMJ7ZEtt3I+CirPI/AzA==";

/// One entry of `providers.json` (see `tests/vectors/README.md` for the fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderVector {
    id: String,
    provider: String,
    #[expect(dead_code, reason = "provenance, read by humans")]
    official: bool,
    #[expect(dead_code, reason = "provenance, read by humans")]
    source: String,
    secret: Option<String>,
    public_key_b64_der: Option<String>,
    body: Option<String>,
    form: Option<Vec<(String, String)>>,
    headers: BTreeMap<String, String>,
    now: Option<u64>,
    url: Option<String>,
    method: Option<String>,
    advanced: Option<bool>,
    hash: Option<String>,
    encoding: Option<String>,
}

impl ProviderVector {
    /// The preset a vector exercises: the provider name, except Convoy, whose two header
    /// formats are two presets.
    fn preset_name(&self) -> String {
        match (self.provider.as_str(), self.advanced) {
            ("convoy", Some(true)) => "convoy".to_owned(),
            ("convoy", _) => "convoy-simple".to_owned(),
            (p, _) => p.to_owned(),
        }
    }

    fn body(&self) -> Vec<u8> {
        match (&self.body, &self.form) {
            (Some(b), None) => b.clone().into_bytes(),
            (None, Some(f)) => common::form_urlencode(f).into_bytes(),
            _ => panic!("{}: exactly one of body/form expected", self.id),
        }
    }
}

/// `own.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnFile {
    #[expect(dead_code, reason = "provenance, read by humans")]
    about: String,
    vectors: Vec<OwnVector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnVector {
    id: String,
    provider: String,
    secrets: Vec<String>,
    body: Option<String>,
    body_hex: Option<String>,
    headers: BTreeMap<String, String>,
    now: Option<u64>,
    expect: String,
    /// Present (possibly `null`) on valid vectors.
    #[serde(default, deserialize_with = "some")]
    event_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    timestamp: Option<Option<i64>>,
}

fn some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A vector normalised for checking.
struct Case {
    id: String,
    preset: Preset,
    secrets: Vec<String>,
    /// Key-pair vectors: the wrong-key negative uses [`OTHER_P256_PUBLIC_KEY`].
    public_key: bool,
    body: Vec<u8>,
    headers: HeaderMap,
    now: Option<u64>,
    url: Option<String>,
    method: Option<String>,
    expect: Option<ErrorKind>,
    event_id: Option<Option<String>>,
    timestamp: Option<Option<i64>>,
}

impl Case {
    fn delivery<'a>(&'a self, headers: &'a HeaderMap, body: &'a [u8]) -> Delivery<'a> {
        let mut d = Delivery::new(headers, body);
        if let Some(u) = &self.url {
            d = d.url(u);
        }
        if let Some(m) = &self.method {
            d = d.method(m);
        }
        d
    }

    fn verifier(&self, secrets: &[String], now: u64) -> Verifier {
        Verifier::builder(self.preset)
            .secrets(secrets.iter().map(String::as_str))
            .clock(FixedClock::from_unix_secs(now))
            .build()
            .unwrap_or_else(|e| panic!("{}: building the verifier: {e}", self.id))
    }

    fn verify_with(
        &self,
        verifier: &Verifier,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        let delivery = self.delivery(headers, body);
        let one_shot = verifier.verify(&delivery);
        // The two-phase path the tower layer uses must agree with `verify`.
        let two_phase = verifier
            .prepare(headers)
            .and_then(|mut p| {
                if let Some(u) = &self.url {
                    p = p.url(u);
                }
                if let Some(m) = &self.method {
                    p = p.method(m);
                }
                p.finish(body)
            })
            .map(countersign_core::Outcome::into_verified);
        assert_eq!(one_shot, two_phase, "{}: verify vs prepare+finish", self.id);
        one_shot
    }

    fn expect_kind(&self, what: &str, got: Result<Verified, VerifyError>, kind: ErrorKind) {
        match got {
            Err(e) => assert_eq!(e.kind(), kind, "{}: {what}: {e}", self.id),
            Ok(v) => panic!("{}: {what}: accepted ({v:?}), expected {kind}", self.id),
        }
    }
}

/// The event id `Verified` must carry, computed from the scheme's description.
fn expected_event_id(scheme: &Scheme, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    match scheme.event_id() {
        EventIdSource::None => None,
        EventIdSource::Header(names) => names
            .iter()
            .find_map(|n| headers.get(n))
            .map(|v| v.to_str().unwrap().trim().to_owned()),
        EventIdSource::JsonField(path) => {
            let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
            for key in path {
                value = value.get(key.as_ref())?.clone();
            }
            match value {
                serde_json::Value::String(s) if !s.is_empty() => Some(s),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
                _ => None,
            }
        }
        other => panic!("kat.rs does not know event id source {other:?} yet: teach it"),
    }
}

/// Checks one case; returns how many derived negatives it checked.
fn check(case: &Case) -> usize {
    let scheme = case.preset.scheme();
    let Some(kind) = case.expect else {
        return check_valid(case, &scheme);
    };
    let verifier = case.verifier(&case.secrets, case.now.unwrap_or(1_700_000_000));
    case.expect_kind(
        "expected rejection",
        case.verify_with(&verifier, &case.headers, &case.body),
        kind,
    );
    0
}

fn check_valid(case: &Case, scheme: &Scheme) -> usize {
    let id = &case.id;
    let has_timestamp = scheme.timestamp().is_some();

    // Fix the clock: at `now` when the vector gives one; for a timestamped scheme without
    // one, at the signed time (learnt with an unbounded tolerance), after checking that
    // today's clock rejects such an old delivery.
    let now = match (case.now, has_timestamp) {
        (Some(now), _) => now,
        (None, false) => 1_700_000_000,
        (None, true) => {
            let unbounded = Verifier::builder(case.preset)
                .secrets(case.secrets.iter().map(String::as_str))
                .tolerance(Tolerance::symmetric(Duration::MAX))
                .build()
                .unwrap();
            let signed_at = case
                .verify_with(&unbounded, &case.headers, &case.body)
                .unwrap_or_else(|e| panic!("{id}: with unbounded tolerance: {e}"))
                .timestamp()
                .expect("timestamped scheme reports a timestamp");
            let today = Verifier::builder(case.preset)
                .secrets(case.secrets.iter().map(String::as_str))
                .clock(SystemClock)
                .build()
                .unwrap();
            case.expect_kind(
                "today's clock",
                case.verify_with(&today, &case.headers, &case.body),
                ErrorKind::TimestampTooOld,
            );
            u64::try_from(signed_at).unwrap()
        }
    };

    let verifier = case.verifier(&case.secrets, now);
    let verified = case
        .verify_with(&verifier, &case.headers, &case.body)
        .unwrap_or_else(|e| panic!("{id}: rejected: {e} ({:?})", e.kind()));
    assert_eq!(verified.preset(), case.preset.name(), "{id}");
    assert_eq!(
        verified.timestamp().is_some(),
        has_timestamp,
        "{id}: timestamp {:?}",
        verified.timestamp()
    );
    assert_eq!(
        verified.event_id().map(str::to_owned),
        expected_event_id(scheme, &case.headers, &case.body),
        "{id}: event id"
    );
    if let Some(want) = &case.event_id {
        assert_eq!(verified.event_id(), want.as_deref(), "{id}: event id");
    }
    if let Some(want) = case.timestamp {
        assert_eq!(verified.timestamp(), want, "{id}: timestamp");
    }

    let mut negatives = 0;

    // One body bit.
    assert!(!case.body.is_empty(), "{id}: a vector needs a body");
    let mut body = case.body.clone();
    let mid = body.len() / 2;
    body[mid] ^= 0x01;
    case.expect_kind(
        "body bit flipped",
        case.verify_with(&verifier, &case.headers, &body),
        ErrorKind::SignatureMismatch,
    );
    negatives += 1;

    // One bit of each signature entry (decoded, flipped, re-encoded: still well-formed).
    let flipped = common::flip_signature_bits(scheme, &case.headers);
    case.expect_kind(
        "a bit of each signature flipped",
        case.verify_with(&verifier, &flipped, &case.body),
        ErrorKind::SignatureMismatch,
    );
    negatives += 1;

    // The same signature bytes in an encoding the provider does not send (uppercase hex,
    // base64 without padding): refused, as the providers' own libraries refuse it.
    if let Some(other) = common::non_canonical_signatures(scheme, &case.headers) {
        case.expect_kind(
            "non-canonical signature encoding",
            case.verify_with(&verifier, &other, &case.body),
            ErrorKind::SignatureMismatch,
        );
        negatives += 1;
    }

    // A wrong secret (well-formed, so the rejection comes from verification).
    let wrong: Vec<String> = if case.public_key {
        vec![OTHER_P256_PUBLIC_KEY.to_owned()]
    } else {
        case.secrets
            .iter()
            .map(|s| common::wrong_secret(scheme, s))
            .collect()
    };
    case.expect_kind(
        "wrong secret",
        case.verify_with(&case.verifier(&wrong, now), &case.headers, &case.body),
        ErrorKind::SignatureMismatch,
    );
    negatives += 1;

    // The clock just past the tolerance, both ways.
    if has_timestamp {
        let signed_at = u64::try_from(verified.timestamp().unwrap()).unwrap();
        let tolerance = verifier.tolerance();
        let late = signed_at + tolerance.past.as_secs() + 1;
        case.expect_kind(
            "clock past the tolerance",
            case.verify_with(
                &case.verifier(&case.secrets, late),
                &case.headers,
                &case.body,
            ),
            ErrorKind::TimestampTooOld,
        );
        negatives += 1;
        let early = signed_at
            .checked_sub(tolerance.future.as_secs() + 1)
            .expect("signed after the epoch + tolerance");
        case.expect_kind(
            "clock before the tolerance",
            case.verify_with(
                &case.verifier(&case.secrets, early),
                &case.headers,
                &case.body,
            ),
            ErrorKind::TimestampTooNew,
        );
        negatives += 1;
    }
    negatives
}

fn headers_of(map: &BTreeMap<String, String>) -> HeaderMap {
    common::header_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[test]
fn providers_json_known_answers() {
    let vectors: Vec<ProviderVector> =
        serde_json::from_str(include_str!("vectors/providers.json")).unwrap();
    assert!(!vectors.is_empty());

    let mut not_implemented = BTreeSet::new();
    let mut checked = BTreeMap::<String, usize>::new();
    let mut negatives = 0;
    for v in &vectors {
        let name = v.preset_name();
        let Ok(preset) = Preset::from_name(&name) else {
            not_implemented.insert(name);
            continue;
        };
        let scheme = preset.scheme();
        // Convoy lets the sender choose; the preset's scheme must be the vector's choice.
        if let Some(hash) = &v.hash {
            assert_eq!(
                scheme.algorithm(),
                hash.parse().unwrap(),
                "{}: vector hash {hash}",
                v.id
            );
        }
        if let Some(encoding) = &v.encoding {
            assert_eq!(
                scheme.encoding(),
                encoding.parse().unwrap(),
                "{}: vector encoding {encoding}",
                v.id
            );
        }
        let (secret, public_key) = match (&v.secret, &v.public_key_b64_der) {
            (Some(s), None) => (s.clone(), false),
            (None, Some(k)) => (k.clone(), true),
            _ => panic!(
                "{}: exactly one of secret/public_key_b64_der expected",
                v.id
            ),
        };
        let case = Case {
            id: v.id.clone(),
            preset,
            secrets: vec![secret],
            public_key,
            body: v.body(),
            headers: headers_of(&v.headers),
            now: v.now,
            url: v.url.clone(),
            method: v.method.clone(),
            expect: None,
            event_id: None,
            timestamp: None,
        };
        negatives += check(&case);
        *checked.entry(name).or_default() += 1;
    }

    let expected: BTreeSet<String> = NOT_YET_IMPLEMENTED
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        not_implemented, expected,
        "NOT_YET_IMPLEMENTED must list exactly the providers without a preset"
    );
    // The presets of the foundation issue that have official vectors.
    for name in ["github", "slack", "svix"] {
        assert!(checked.contains_key(name), "no vector checked for {name}");
    }
    assert!(negatives >= 3 * checked.values().sum::<usize>());
    eprintln!("providers.json: checked {checked:?}, {negatives} derived negatives");
}

#[test]
fn own_vectors_known_answers() {
    let file: OwnFile = serde_json::from_str(include_str!("vectors/own.json")).unwrap();
    let mut seen = BTreeMap::<String, usize>::new();
    let mut negatives = 0;
    for v in &file.vectors {
        let preset = Preset::from_name(&v.provider).unwrap();
        let body = match (&v.body, &v.body_hex) {
            (Some(b), None) => b.clone().into_bytes(),
            (None, Some(h)) => hex::decode(h).unwrap(),
            _ => panic!("{}: exactly one of body/body_hex expected", v.id),
        };
        let expect = match v.expect.as_str() {
            "valid" => None,
            kind => Some(
                kind.parse::<ErrorKind>()
                    .unwrap_or_else(|()| panic!("{}: unknown error kind {kind}", v.id)),
            ),
        };
        assert_eq!(
            expect.is_none(),
            v.event_id.is_some() && v.timestamp.is_some(),
            "{}: valid vectors state event_id and timestamp",
            v.id
        );
        let case = Case {
            id: v.id.clone(),
            preset,
            secrets: v.secrets.clone(),
            public_key: false,
            body,
            headers: headers_of(&v.headers),
            now: v.now,
            url: None,
            method: None,
            expect,
            event_id: v.event_id.clone(),
            timestamp: v.timestamp,
        };
        negatives += check(&case);
        *seen.entry(v.provider.clone()).or_default() += 1;
    }
    for name in ["stripe", "shopify", "github-sha1"] {
        assert!(
            seen.get(name).copied().unwrap_or(0) >= 4,
            "{name}: {seen:?}"
        );
    }
    eprintln!("own.json: checked {seen:?}, {negatives} derived negatives");
}

/// The shared vector file is copied verbatim; its README's promise (every entry valid,
/// `official`) is what the table test relies on.
#[test]
fn vector_files_are_well_formed() {
    let raw: serde_json::Value =
        serde_json::from_str(include_str!("vectors/providers.json")).unwrap();
    let ids: Vec<&str> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate vector ids");
    let own: serde_json::Value = serde_json::from_str(include_str!("vectors/own.json")).unwrap();
    let own_ids: Vec<&str> = own["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    let own_unique: BTreeSet<_> = own_ids.iter().collect();
    assert_eq!(own_unique.len(), own_ids.len(), "duplicate own vector ids");
}
