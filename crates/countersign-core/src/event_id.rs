//! The event id (the deduplication key): where it lives and how it is read from a header or
//! from the JSON body.

use std::borrow::Cow;

use http::{HeaderName, HeaderValue};

use crate::error::VerifyError;
use crate::json_path;

/// Where a delivery's event id (the deduplication key) lives.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum EventIdSource {
    /// The scheme carries no event id; deduplication needs a user-supplied extractor.
    #[default]
    None,
    /// A header (first of the names present). Absent header: no event id.
    Header(Vec<HeaderName>),
    /// A string (or integer) member of the JSON body, found by following object keys from
    /// the top level. Not JSON or absent: no event id.
    JsonField(Vec<Cow<'static, str>>),
}

impl EventIdSource {
    /// A top-level JSON member, e.g. Stripe's `id`.
    #[must_use]
    pub fn json_field(key: &'static str) -> Self {
        EventIdSource::JsonField(vec![Cow::Borrowed(key)])
    }

    /// A nested JSON member, e.g. PagerDuty's `event.id`.
    #[must_use]
    pub fn json_path(path: &[&'static str]) -> Self {
        EventIdSource::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect())
    }

    /// Header `name`, falling back to the others in order.
    #[must_use]
    pub fn headers(names: &[&'static str]) -> Self {
        EventIdSource::Header(names.iter().map(|n| HeaderName::from_static(n)).collect())
    }
}

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
    match json_path::read(body, path) {
        Some(id) if id.is_empty() => Ok(None),
        Some(id) if id.len() > MAX_EVENT_ID_LEN => Err(VerifyError::MalformedBody {
            reason: "event id longer than 1024 bytes",
        }),
        other => Ok(other),
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
