//! Event ids read from JSON bodies: for every preset whose id is a JSON field (Stripe,
//! Slack, …), the fuzzed body is signed (so verification reaches the id extraction) and
//! verified. The streaming extraction is checked against `serde_json::Value` whenever the
//! body is a complete JSON document without duplicate object keys (with duplicates the
//! streaming reader keeps the first, `Value` the last).

#![no_main]

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use countersign_core::{
    ErrorKind, EventIdSource, FixedClock, MAX_EVENT_ID_LEN, Preset, SignRequest, Signer, Verifier,
};
use countersign_fuzz::{NOW, check, secret_for};
use libfuzzer_sys::fuzz_target;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

struct Json {
    path: Vec<String>,
    signer: Signer,
    verifier: Verifier,
}

static PRESETS: OnceLock<Vec<Json>> = OnceLock::new();

fn presets() -> Vec<Json> {
    Preset::ALL
        .iter()
        .filter_map(|&preset| {
            let scheme = preset.scheme();
            let EventIdSource::JsonField(path) = scheme.event_id() else {
                return None;
            };
            let secret = secret_for(&scheme);
            Some(Json {
                path: path.iter().map(|k| k.to_string()).collect(),
                signer: Signer::new(preset, secret).ok()?,
                verifier: Verifier::builder(preset)
                    .secret(secret)
                    .clock(FixedClock::new(Duration::from_secs(NOW)))
                    .build()
                    .ok()?,
            })
        })
        .collect()
}

/// Walks a whole JSON document; `Err` on invalid JSON or any duplicate object key.
struct NoDuplicates;

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !keys.insert(k) {
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value_seed(Walk)?;
        }
        Ok(())
    }
}

struct Walk;

impl<'de> de::DeserializeSeed<'de> for Walk {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(NoDuplicates)
    }
}

/// What `Verified::event_id` must be, per `serde_json::Value`; `None` when the oracle
/// does not apply.
fn expected(body: &[u8], path: &[String]) -> Option<Result<Option<String>, ErrorKind>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    de::DeserializeSeed::deserialize(Walk, &mut de).ok()?;
    de.end().ok()?;
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    for key in path {
        match value.get(key) {
            Some(v) => value = v.clone(),
            None => return Some(Ok(None)),
        }
    }
    Some(match value {
        serde_json::Value::String(s) if s.len() > MAX_EVENT_ID_LEN => Err(ErrorKind::MalformedBody),
        serde_json::Value::String(s) if s.is_empty() => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        _ => Ok(None),
    })
}

fuzz_target!(|body: &[u8]| {
    for p in PRESETS.get_or_init(presets) {
        let Ok(headers) = p.signer.sign(
            &SignRequest::new(body)
                .id("msg_1")
                .timestamp(Duration::from_secs(NOW)),
        ) else {
            continue;
        };
        let result = check(&p.verifier, &headers, body);
        let got = match &result {
            Ok(v) => Ok(v.event_id().map(str::to_owned)),
            Err(e) => Err(e.kind()),
        };
        assert!(
            matches!(got, Ok(_) | Err(ErrorKind::MalformedBody)),
            "signed body rejected: {result:?}"
        );
        if let Some(want) = expected(body, &p.path) {
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(body));
        }
    }
});
