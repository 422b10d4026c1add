//! Reading the event id (the deduplication key) from a header or from the JSON body.
//!
//! JSON ids are found by streaming through the body with serde's `IgnoredAny` for everything
//! that is not on the path: nothing is built but the id string. serde_json itself may add
//! one small scratch buffer per body (the bracket stack it keeps while skipping nested
//! values, or an escaped key), bounded by the body size.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::error::VerifyError;

/// Longest event id accepted, in bytes. Stores hash long ids into fixed-size keys.
pub const MAX_EVENT_ID_LEN: usize = 1024;

/// Validates an event id taken from a header: visible ASCII, 1..=1024 bytes.
pub(crate) fn header_str<'h>(
    name: &HeaderName,
    value: &'h HeaderValue,
) -> Result<&'h str, VerifyError> {
    let malformed = |reason| VerifyError::MalformedHeader {
        name: name.clone(),
        reason,
    };
    let s = value
        .to_str()
        .map_err(|_| malformed("event id is not visible ASCII"))?;
    // Visible ASCII (checked above), so the ASCII trim is the whole trim.
    let s = s.trim_ascii();
    if s.is_empty() {
        return Err(malformed("event id is empty"));
    }
    if s.len() > MAX_EVENT_ID_LEN {
        return Err(malformed("event id longer than 1024 bytes"));
    }
    Ok(s)
}

/// Follows `path` through nested JSON objects and returns the string or integer found there.
/// A body that is not JSON, or has nothing at the path, yields `Ok(None)`.
pub(crate) fn from_json(
    body: &[u8],
    path: &[Cow<'static, str>],
) -> Result<Option<String>, VerifyError> {
    // A path starts with an object key, so only an object can hold the id. Checking the
    // first byte spares non-JSON bodies (Slack's form-encoded slash commands) the
    // allocation of a serde_json error.
    if !path.is_empty() && body.trim_ascii_start().first() != Some(&b'{') {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = PathSeed { path }.deserialize(&mut de).unwrap_or(None);
    match found {
        Some(id) if id.is_empty() => Ok(None),
        Some(id) if id.len() > MAX_EVENT_ID_LEN => Err(VerifyError::MalformedBody {
            reason: "event id longer than 1024 bytes",
        }),
        other => Ok(other),
    }
}

/// The string or integer at `path` in a JSON body, for the other body-borne values
/// (signatures, timestamps, signed fields). `None` when the body is not JSON, has nothing
/// there, or the value is longer than [`MAX_EVENT_ID_LEN`].
pub(crate) fn json_value(body: &[u8], path: &[Cow<'static, str>]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    PathSeed { path }
        .deserialize(&mut de)
        .ok()
        .flatten()
        .filter(|v| v.len() <= MAX_EVENT_ID_LEN)
}

struct PathSeed<'p> {
    path: &'p [Cow<'static, str>],
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            None => d.deserialize_any(Leaf),
            Some((key, rest)) => d.deserialize_any(Object { key, rest }),
        }
    }
}

/// The value at the end of the path: a string or an integer; anything else is "no id".
struct Leaf;

impl<'de> Visitor<'de> for Leaf {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// An object on the path: look for `key`, skip everything else.
struct Object<'p> {
    key: &'p str,
    rest: &'p [Cow<'static, str>],
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(KeyIs(self.key))? {
            if is_key && found.is_none() {
                found = map.next_value_seed(PathSeed { path: self.rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Compares an object key with the wanted one without allocating (for unescaped keys).
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&'static str]) -> Vec<Cow<'static, str>> {
        p.iter().map(|s| Cow::Borrowed(*s)).collect()
    }

    #[test]
    fn finds_top_level_and_nested() {
        let body = br#"{"object":"event","data":{"id":"inner"},"id":"evt_1","x":[1,{"id":2}]}"#;
        assert_eq!(from_json(body, &path(&["id"])), Ok(Some("evt_1".into())));
        assert_eq!(
            from_json(body, &path(&["data", "id"])),
            Ok(Some("inner".into()))
        );
        assert_eq!(from_json(body, &path(&["nope"])), Ok(None));
        assert_eq!(
            from_json(br#"{"event_id":42}"#, &path(&["event_id"])),
            Ok(Some("42".into()))
        );
        assert_eq!(
            from_json(br#"{"id":"a\"b"}"#, &path(&["id"])),
            Ok(Some("a\"b".into()))
        );
        assert_eq!(
            from_json(b" \t\r\n{\"id\":7}", &path(&["id"])),
            Ok(Some("7".into()))
        );
    }

    #[test]
    fn not_json_is_no_id() {
        for body in [
            &b"token=x&team_id=T1"[..],
            b"",
            b"[1,2]",
            b"{\"id\":",
            b"\xff\xfe",
            b"{\"id\":null}",
            b" \t\r\n[{\"id\":\"x\"}]",
            b"\"evt_1\"",
        ] {
            assert_eq!(from_json(body, &path(&["id"])), Ok(None));
        }
    }

    #[test]
    fn long_ids_are_rejected() {
        let body = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_EVENT_ID_LEN + 1));
        assert!(from_json(body.as_bytes(), &path(&["id"])).is_err());
    }
}
