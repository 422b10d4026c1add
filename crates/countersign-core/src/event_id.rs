//! The event id (the deduplication key): where it lives and how it is read from a header or
//! from the JSON body.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderName, HeaderValue};

use crate::error::{ConfigError, VerifyError};
use crate::header::IntoHeaderName;
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

    /// Header `names[0]`, falling back to the others in order; names are case-insensitive.
    ///
    /// ```
    /// use countersign_core::{ConfigError, EventIdSource};
    ///
    /// let source = EventIdSource::try_headers(["X-GitHub-Delivery"])?;
    /// assert_eq!(source, EventIdSource::Header(vec![http::HeaderName::from_static("x-github-delivery")]));
    /// assert!(matches!(
    ///     EventIdSource::try_headers(["not a header"]),
    ///     Err(ConfigError::InvalidValue { what: "header name", .. })
    /// ));
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] naming the first invalid header name;
    /// [`ConfigError::InvalidScheme`] when `names` is empty.
    pub fn try_headers<N: IntoHeaderName>(
        names: impl IntoIterator<Item = N>,
    ) -> Result<Self, ConfigError> {
        let names = names
            .into_iter()
            .map(IntoHeaderName::into_header_name)
            .collect::<Result<Vec<_>, _>>()?;
        if names.is_empty() {
            return Err(ConfigError::InvalidScheme(
                "the event id header list is empty",
            ));
        }
        Ok(EventIdSource::Header(names))
    }

    /// The presets' constant names (lowercase, valid: the preset tests build every preset).
    pub(crate) fn headers(names: &[&'static str]) -> Self {
        EventIdSource::Header(names.iter().map(|n| HeaderName::from_static(n)).collect())
    }
}

/// Longest event id accepted, in bytes. Stores hash long ids into fixed-size keys.
pub const MAX_EVENT_ID_LEN: usize = 1024;

/// Ids up to this many bytes are kept inline in [`Verified`](crate::Verified): every id of
/// the presets (UUIDs are 36 bytes, Svix ids 31, Stripe's 28) costs no allocation.
const INLINE: usize = 62;

/// An event id as [`Verified`](crate::Verified) keeps it: inline when short (no allocation
/// on the success path), boxed otherwise.
#[derive(Clone)]
pub(crate) enum EventIdBuf {
    /// `len` bytes of UTF-8 at the start of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A longer id (up to [`MAX_EVENT_ID_LEN`]).
    Boxed(Box<str>),
}

impl EventIdBuf {
    pub(crate) fn new(id: &str) -> Self {
        let mut bytes = [0u8; INLINE];
        match (u8::try_from(id.len()), bytes.get_mut(..id.len())) {
            (Ok(len), Some(head)) => {
                head.copy_from_slice(id.as_bytes());
                EventIdBuf::Inline { len, bytes }
            }
            _ => EventIdBuf::Boxed(id.into()),
        }
    }

    /// An integer id (JSON numbers), written without allocating.
    pub(crate) fn from_integer(n: impl fmt::Display) -> Self {
        struct Buf {
            len: usize,
            bytes: [u8; INLINE],
        }
        impl fmt::Write for Buf {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
                self.bytes
                    .get_mut(self.len..end)
                    .ok_or(fmt::Error)?
                    .copy_from_slice(s.as_bytes());
                self.len = end;
                Ok(())
            }
        }
        let mut buf = Buf {
            len: 0,
            bytes: [0; INLINE],
        };
        // An i64/u64 has at most 20 characters: it always fits.
        if fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
            && let Ok(len) = u8::try_from(buf.len)
        {
            return EventIdBuf::Inline {
                len,
                bytes: buf.bytes,
            };
        }
        EventIdBuf::Boxed(n.to_string().into())
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            EventIdBuf::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            EventIdBuf::Boxed(id) => id,
        }
    }
}

impl PartialEq for EventIdBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for EventIdBuf {}

impl From<&str> for EventIdBuf {
    fn from(id: &str) -> Self {
        EventIdBuf::new(id)
    }
}

impl std::hash::Hash for EventIdBuf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for EventIdBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl json_path::Scalar for EventIdBuf {
    fn from_str(s: &str) -> Self {
        EventIdBuf::new(s)
    }
    fn from_u64(n: u64) -> Self {
        EventIdBuf::from_integer(n)
    }
    fn from_i64(n: i64) -> Self {
        EventIdBuf::from_integer(n)
    }
}

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
) -> Result<Option<EventIdBuf>, VerifyError> {
    // A path starts with an object key, so only an object can hold the id. Checking the
    // first byte spares non-JSON bodies (Slack's form-encoded slash commands) the
    // allocation of a serde_json error.
    if !path.is_empty() && body.trim_ascii_start().first() != Some(&b'{') {
        return Ok(None);
    }
    match json_path::read::<EventIdBuf>(body, path) {
        Some(id) if id.as_str().is_empty() => Ok(None),
        Some(id) if id.as_str().len() > MAX_EVENT_ID_LEN => Err(VerifyError::MalformedBody {
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
    fn header_names_given_at_run_time_are_errors_not_panics() {
        assert_eq!(
            EventIdSource::try_headers(["Svix-Id", "webhook-id"]).unwrap(),
            EventIdSource::headers(&["svix-id", "webhook-id"])
        );
        for bad in ["", "a b", "x:y", "caf\u{e9}", "x\ny"] {
            assert!(
                matches!(
                    EventIdSource::try_headers(["x-ok", bad]),
                    Err(ConfigError::InvalidValue {
                        what: "header name",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            EventIdSource::try_headers(Vec::<&str>::new()),
            Err(ConfigError::InvalidScheme(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn try_headers_does_not_panic(names in proptest::collection::vec(".{0,12}", 0..4)) {
            let _ = EventIdSource::try_headers(names.iter().map(String::as_str));
            if let Some(first) = names.first() {
                let _ = crate::EventTypeSource::try_header(first.as_str());
            }
        }
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
    fn ids_are_inline_up_to_62_bytes_and_equal_either_way() {
        for len in [0, 1, 36, INLINE - 1, INLINE, INLINE + 1, MAX_EVENT_ID_LEN] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let id = EventIdBuf::new(&text);
            assert_eq!(id.as_str(), text);
            assert_eq!(
                matches!(id, EventIdBuf::Inline { .. }),
                text.len() <= INLINE,
                "{len}"
            );
            assert_eq!(id, EventIdBuf::Boxed(text.as_str().into()));
            assert_eq!(format!("{id:?}"), format!("{text:?}"));
        }
        for n in [0_i128, 7, -1, i128::from(i64::MIN), i128::from(u64::MAX)] {
            let id = EventIdBuf::from_integer(n);
            assert_eq!(id.as_str(), n.to_string());
            assert!(matches!(id, EventIdBuf::Inline { .. }));
        }
    }

    #[test]
    fn long_ids_are_rejected() {
        let body = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_EVENT_ID_LEN + 1));
        assert!(from_json(body.as_bytes(), &path(&["id"])).is_err());
    }
}
