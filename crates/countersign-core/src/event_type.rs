//! Where a provider puts the event type (`invoice.paid`, `push`, `orders/create`), and the
//! bounded value read from a delivery.
//!
//! The event type is read only when asked for ([`Verified::event_type`](crate::Verified::event_type)),
//! never on the verification path: a type in one header is borrowed from it, a type in the
//! JSON body costs one streaming pass over the body when requested.
//!
//! ```
//! use countersign_core::{EventTypeSource, MAX_EVENT_TYPE_LEN};
//! use http::HeaderMap;
//!
//! // GitHub: the `X-GitHub-Event` header, qualified by the body's `action` when it has one.
//! let source = EventTypeSource::try_header("X-GitHub-Event")?.then_json_field(&["action"]);
//! assert_eq!(source.to_string(), "header:x-github-event+json:/action");
//! // A name that is no header name is an error, not a panic.
//! assert!(EventTypeSource::try_header("x github event").is_err());
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-github-event", "issues".parse()?);
//! let t = source.extract(&headers, br#"{"action":"opened","issue":{}}"#).unwrap();
//! assert_eq!(t.as_str(), "issues.opened");
//! let t = source.extract(&headers, br#"{"ref":"refs/heads/main"}"#).unwrap();
//! assert_eq!(t.as_str(), "issues");
//!
//! // Values outside the bounds (length, character set) are no event type at all: they
//! // could not flood metrics labels or broker routing keys.
//! headers.insert("x-github-event", "a*b".parse()?);
//! assert!(source.extract(&headers, b"{}").is_none());
//! headers.insert("x-github-event", "x".repeat(MAX_EVENT_TYPE_LEN + 1).parse()?);
//! assert!(source.extract(&headers, b"{}").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, HeaderName};

use crate::error::ConfigError;
use crate::header::IntoHeaderName;
use crate::json_path;

/// Longest event type, in bytes (after joining its parts).
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// Most parts an [`EventTypeSource`] joins.
const MAX_PARTS: usize = 3;
/// Deepest JSON path of a part.
const MAX_PATH_DEPTH: usize = 8;

/// One place a piece of the event type is read from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventTypePart {
    /// A header's value (present once; present twice is ambiguous and counts as absent).
    Header(HeaderName),
    /// A string (or integer) member of the JSON body, found by following object keys from
    /// the top level.
    JsonField(Vec<Cow<'static, str>>),
}

/// Where a scheme's event type lives: one part (a header, or a member of the JSON body),
/// optionally qualified by further parts joined with `.` when present — GitHub's
/// `X-GitHub-Event` + `action` gives `issues.opened`, or `push` for events without an action.
/// Empty ([`EventTypeSource::none`]): the provider sends no event type.
///
/// The first part must be present for a delivery to have an event type. The joined value
/// must be 1..=[`MAX_EVENT_TYPE_LEN`] bytes of ASCII letters, digits, `.`, `_`, `-`, `:`,
/// `/` and inner spaces (GitLab's `Push Hook`); anything else is no event type.
///
/// An event type read from a header is only as trustworthy as the header: most providers
/// (GitHub, Shopify, GitLab) sign the body and not the header naming the event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EventTypeSource {
    parts: Vec<EventTypePart>,
}

impl EventTypeSource {
    /// The provider sends no event type.
    #[must_use]
    pub const fn none() -> Self {
        EventTypeSource { parts: Vec::new() }
    }

    /// The value of header `name` (case-insensitive).
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] when `name` is not a valid header name.
    pub fn try_header(name: impl IntoHeaderName) -> Result<Self, ConfigError> {
        Ok(EventTypeSource {
            parts: vec![EventTypePart::Header(name.into_header_name()?)],
        })
    }

    /// The presets' constant names (lowercase, valid: the preset tests build every preset).
    pub(crate) fn header(name: &'static str) -> Self {
        EventTypeSource {
            parts: vec![EventTypePart::Header(HeaderName::from_static(name))],
        }
    }

    /// The JSON member at `path` (object keys from the top level), e.g. `&["type"]`.
    #[must_use]
    pub fn json_field(path: &[&'static str]) -> Self {
        EventTypeSource {
            parts: vec![EventTypePart::JsonField(static_path(path))],
        }
    }

    /// Appends the JSON member at `path` as a qualifier (joined with `.` when present).
    #[must_use]
    pub fn then_json_field(mut self, path: &[&'static str]) -> Self {
        self.parts.push(EventTypePart::JsonField(static_path(path)));
        self
    }

    /// A source from parts given at run time (scheme files).
    ///
    /// # Errors
    /// [`ConfigError::InvalidScheme`] when the parts are not usable (see
    /// [`EventTypeSource::validate`]).
    pub fn from_parts(parts: Vec<EventTypePart>) -> Result<Self, ConfigError> {
        let source = EventTypeSource { parts };
        source.validate()?;
        Ok(source)
    }

    /// The parts, first the required one.
    #[must_use]
    pub fn parts(&self) -> &[EventTypePart] {
        &self.parts
    }

    /// Whether the provider sends no event type.
    #[must_use]
    pub fn is_none(&self) -> bool {
        self.parts.is_empty()
    }

    /// The header the whole event type is, when it is exactly one header (then
    /// [`extract`](Self::extract) borrows it).
    #[must_use]
    pub fn single_header(&self) -> Option<&HeaderName> {
        match self.parts.as_slice() {
            [EventTypePart::Header(name)] => Some(name),
            _ => None,
        }
    }

    /// Checks the bounds: at most 3 parts, JSON paths of 1 to 8 non-empty keys.
    ///
    /// # Errors
    /// [`ConfigError::InvalidScheme`] naming the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.parts.len() > MAX_PARTS {
            return Err(ConfigError::InvalidScheme(
                "an event type joins at most 3 parts",
            ));
        }
        for part in &self.parts {
            if let EventTypePart::JsonField(path) = part
                && (path.is_empty()
                    || path.len() > MAX_PATH_DEPTH
                    || path.iter().any(|k| k.is_empty()))
            {
                return Err(ConfigError::InvalidScheme(
                    "an event type's JSON path needs 1 to 8 non-empty keys",
                ));
            }
        }
        Ok(())
    }

    /// Reads the event type of a delivery: borrowed when it is one header, built otherwise.
    /// `None` when the first part is absent, or the value is out of bounds (see the type's
    /// docs). Never fails and never panics, whatever the headers and body hold; the body
    /// is read (streaming, nothing but the wanted strings is built) only when a part is in
    /// it.
    #[must_use]
    pub fn extract<'h>(&self, headers: &'h HeaderMap, body: &[u8]) -> Option<EventType<'h>> {
        let (first, rest) = self.parts.split_first()?;
        if rest.is_empty()
            && let EventTypePart::Header(name) = first
        {
            return EventType::new(Cow::Borrowed(header_value(headers, name)?));
        }
        let mut out = String::new();
        out.push_str(&part_value(first, headers, body)?);
        for part in rest {
            if let Some(value) = part_value(part, headers, body) {
                out.push('.');
                out.push_str(&value);
            }
            if out.len() > MAX_EVENT_TYPE_LEN {
                return None;
            }
        }
        EventType::new(Cow::Owned(out))
    }
}

fn static_path(path: &[&'static str]) -> Vec<Cow<'static, str>> {
    path.iter().map(|k| Cow::Borrowed(*k)).collect()
}

/// A header's value as trimmed text, when present exactly once.
fn header_value<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    Some(value.to_str().ok()?.trim_ascii())
}

fn part_value<'h>(
    part: &EventTypePart,
    headers: &'h HeaderMap,
    body: &[u8],
) -> Option<Cow<'h, str>> {
    let value = match part {
        EventTypePart::Header(name) => Cow::Borrowed(header_value(headers, name)?),
        EventTypePart::JsonField(path) => {
            // Only an object can hold a member; other bodies (form data) are skipped cheaply.
            if body.trim_ascii_start().first() != Some(&b'{') {
                return None;
            }
            Cow::Owned(json_path::json_value(body, path)?.trim_ascii().to_owned())
        }
    };
    (!value.is_empty()).then_some(value)
}

impl fmt::Display for EventTypeSource {
    /// `header:x-github-event+json:/action` (JSON paths as RFC 6901 pointers), or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.is_empty() {
            return f.write_str("none");
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            match part {
                EventTypePart::Header(name) => write!(f, "header:{name}")?,
                EventTypePart::JsonField(path) => {
                    f.write_str("json:")?;
                    for key in path {
                        write!(f, "/{}", key.replace('~', "~0").replace('/', "~1"))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A delivery's event type: 1..=[`MAX_EVENT_TYPE_LEN`] bytes of ASCII letters, digits,
/// `.`, `_`, `-`, `:`, `/` and inner spaces — safe as a metrics label value, a header value
/// and (mapping spaces as the broker requires) a routing key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType<'a>(Cow<'a, str>);

impl<'a> EventType<'a> {
    /// Checks `value` against the bounds.
    #[must_use]
    pub fn new(value: Cow<'a, str>) -> Option<Self> {
        is_valid(value.as_bytes()).then_some(EventType(value))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An owned copy, independent of the headers it was read from.
    #[must_use]
    pub fn into_owned(self) -> EventType<'static> {
        EventType(Cow::Owned(self.0.into_owned()))
    }
}

impl AsRef<str> for EventType<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for EventType<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EventType<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The bounds of an event type.
pub(crate) fn is_valid(value: &[u8]) -> bool {
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"._-:/ ".contains(b);
    !value.is_empty()
        && value.len() <= MAX_EVENT_TYPE_LEN
        && value.iter().all(allowed)
        && value.first() != Some(&b' ')
        && value.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn one_header_is_borrowed() {
        let s = EventTypeSource::header("x-shopify-topic");
        let h = headers(&[("x-shopify-topic", " orders/create ")]);
        let t = s.extract(&h, b"").unwrap();
        assert!(matches!(t.0, Cow::Borrowed(_)));
        assert_eq!(t, "orders/create");
        assert_eq!(
            s.single_header().map(HeaderName::as_str),
            Some("x-shopify-topic")
        );
    }

    #[test]
    fn duplicate_or_missing_header_is_none() {
        let s = EventTypeSource::header("x-gitlab-event");
        assert!(s.extract(&HeaderMap::new(), b"").is_none());
        let h = headers(&[
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-event", "Tag Push Hook"),
        ]);
        assert!(s.extract(&h, b"").is_none());
        let h = headers(&[("x-gitlab-event", "Push Hook")]);
        assert_eq!(s.extract(&h, b"").unwrap(), "Push Hook");
    }

    #[test]
    fn json_parts_and_qualifiers() {
        let s = EventTypeSource::json_field(&["type"]).then_json_field(&["action"]);
        let h = HeaderMap::new();
        assert_eq!(
            s.extract(&h, br#"{"action":"create","type":"Issue"}"#)
                .unwrap(),
            "Issue.create"
        );
        assert_eq!(s.extract(&h, br#"{"type":"Issue"}"#).unwrap(), "Issue");
        assert!(s.extract(&h, br#"{"action":"create"}"#).is_none());
        assert!(s.extract(&h, b"type=Issue").is_none());
        assert_eq!(
            EventTypeSource::json_field(&["type"])
                .extract(&h, br#"{"type":2}"#)
                .unwrap(),
            "2"
        );
        assert!(
            EventTypeSource::json_field(&["type"])
                .extract(&h, br#"{"type":{"a":1}}"#)
                .is_none()
        );
        assert!(
            EventTypeSource::none()
                .extract(&h, br#"{"type":"x"}"#)
                .is_none()
        );
    }

    #[test]
    fn bounds() {
        for ok in [
            "a",
            "invoice.paid",
            "repo:push",
            "orders/create",
            "Push Hook",
            "a_b-c",
        ] {
            assert!(is_valid(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", " a", "a ", "a*b", "a>b", "a#b", "é", "a\tb", "a\"b", "a\\b",
        ] {
            assert!(!is_valid(bad.as_bytes()), "{bad}");
        }
        assert!(is_valid("a".repeat(MAX_EVENT_TYPE_LEN).as_bytes()));
        assert!(!is_valid("a".repeat(MAX_EVENT_TYPE_LEN + 1).as_bytes()));
        // A qualifier that pushes the whole over the bound: none.
        let s = EventTypeSource::json_field(&["t"]).then_json_field(&["a"]);
        let body = format!(r#"{{"t":"{}","a":"{}"}}"#, "x".repeat(100), "y".repeat(100));
        assert!(s.extract(&HeaderMap::new(), body.as_bytes()).is_none());
    }

    #[test]
    fn display_and_validation() {
        assert_eq!(EventTypeSource::none().to_string(), "none");
        assert_eq!(
            EventTypeSource::json_field(&["event", "a/b~c"]).to_string(),
            "json:/event/a~1b~0c"
        );
        assert!(EventTypeSource::from_parts(vec![EventTypePart::JsonField(vec![])]).is_err());
        let h = EventTypePart::Header(HeaderName::from_static("x"));
        assert!(EventTypeSource::from_parts(vec![h.clone(); 4]).is_err());
        assert!(EventTypeSource::from_parts(vec![h; 3]).is_ok());
    }
}
