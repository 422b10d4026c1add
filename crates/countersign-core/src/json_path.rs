//! The JSON path reader: the string (or integer) at a path of object keys in a JSON body,
//! for event ids, body-borne signatures and timestamps, signed fields and handshakes.
//!
//! Values are found by streaming through the body with serde's `IgnoredAny` for everything
//! that is not on the path: nothing is built but the value string. serde_json itself may add
//! one small scratch buffer per body (the bracket stack it keeps while skipping nested
//! values, or an escaped key), bounded by the body size.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// Longest value [`json_value`] returns, in bytes.
pub(crate) const MAX_VALUE_LEN: usize = 1024;

/// The string or integer at `path` in a JSON body, for the other body-borne values
/// (signatures, timestamps, signed fields). `None` when the body is not JSON, has nothing
/// there, or the value is longer than [`MAX_VALUE_LEN`].
pub(crate) fn json_value(body: &[u8], path: &[Cow<'static, str>]) -> Option<String> {
    read(body, path).filter(|v| v.len() <= MAX_VALUE_LEN)
}

/// Most array elements [`common_in_array`] looks at; more is no value.
pub(crate) const MAX_ARRAY_ITEMS: usize = 1000;

/// The string at `field` of every element of the array at `array`, when they all have the
/// same one (Microsoft Graph's `clientState` in each of `value`): `None` when the body is not
/// JSON, the array is missing or empty or longer than [`MAX_ARRAY_ITEMS`], an element lacks
/// the string, or two elements disagree.
pub(crate) fn common_in_array(
    body: &[u8],
    array: &[Cow<'static, str>],
    field: &[Cow<'static, str>],
) -> Option<String> {
    let root: serde_json::Value = serde_json::from_slice(body).ok()?;
    let at = |mut v: &serde_json::Value, path: &[Cow<'static, str>]| {
        for key in path {
            v = v.as_object()?.get(key.as_ref())?;
        }
        Some(v.clone())
    };
    let serde_json::Value::Array(items) = at(&root, array)? else {
        return None;
    };
    if items.is_empty() || items.len() > MAX_ARRAY_ITEMS {
        return None;
    }
    let mut common: Option<String> = None;
    for item in &items {
        let serde_json::Value::String(s) = at(item, field)? else {
            return None;
        };
        match &common {
            None => common = Some(s),
            Some(c) if *c == s => {}
            Some(_) => return None,
        }
    }
    common.filter(|c| c.len() <= MAX_VALUE_LEN)
}

/// The string or integer at `path`, whatever its length; `None` when the body is not JSON or
/// has nothing there.
pub(crate) fn read(body: &[u8], path: &[Cow<'static, str>]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    PathSeed { path }.deserialize(&mut de).ok().flatten()
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
    fn values_at_paths() {
        let body = br#"{"a":{"b":"x"},"n":7,"f":1.5,"l":[1]}"#;
        assert_eq!(json_value(body, &path(&["a", "b"])), Some("x".into()));
        assert_eq!(json_value(body, &path(&["n"])), Some("7".into()));
        for p in [&["f"][..], &["l"], &["a"], &["zz"]] {
            assert_eq!(json_value(body, &path(p)), None, "{p:?}");
        }
        let long = format!(r#"{{"v":"{}"}}"#, "a".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(json_value(long.as_bytes(), &path(&["v"])), None);
        assert!(read(long.as_bytes(), &path(&["v"])).is_some());
    }
}
