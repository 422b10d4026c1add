//! The string-valued fields of a scheme file whose values are names: header lists, `syntax`
//! and `key_format` (the scheme's own types, such as `Algorithm`, read themselves).

use serde::{Deserialize, Deserializer};

/// A single string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Reads a name case-insensitively (surrounding spaces ignored), or says what was expected.
fn named<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<T, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text.trim().to_ascii_lowercase())
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}`: expected {expected}")))
}

/// `syntax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SyntaxName {
    Single,
    VersionedList,
    KeyValue,
    Jws,
}

impl SyntaxName {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            SyntaxName::Single => "single",
            SyntaxName::VersionedList => "versioned-list",
            SyntaxName::KeyValue => "key-value",
            SyntaxName::Jws => "jws",
        }
    }
}

impl<'de> Deserialize<'de> for SyntaxName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        named(
            deserializer,
            |s| match s {
                "single" => Some(SyntaxName::Single),
                "versioned-list" | "versioned_list" => Some(SyntaxName::VersionedList),
                "key-value" | "key_value" => Some(SyntaxName::KeyValue),
                "jws" => Some(SyntaxName::Jws),
                _ => None,
            },
            "single, versioned-list, key-value or jws",
        )
    }
}

/// `key_format` (its base64 prefix is a field of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyFormatName {
    Raw,
    Base64,
    Hex,
    BasicAuth,
}

impl<'de> Deserialize<'de> for KeyFormatName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        named(
            deserializer,
            |s| match s {
                "raw" => Some(KeyFormatName::Raw),
                "base64" => Some(KeyFormatName::Base64),
                "hex" => Some(KeyFormatName::Hex),
                "basic-auth" => Some(KeyFormatName::BasicAuth),
                _ => None,
            },
            "raw, base64, hex or basic-auth",
        )
    }
}
