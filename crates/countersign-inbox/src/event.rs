//! What the inbox keeps per event: [`NewEvent`] (what `accept` stores), [`Event`] (what is
//! read back), [`EventKey`], [`State`], [`LastError`].

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The longest [`LastError`] reason kept, in bytes.
pub const MAX_REASON: usize = 200;

/// Which event: the route (dedup scope; the preset name unless configured) and the
/// provider's event id. Two routes may carry the same id without colliding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    route: String,
    id: String,
}

impl EventKey {
    /// The key of event `id` on `route`.
    #[must_use]
    pub fn new(route: impl Into<String>, id: impl Into<String>) -> Self {
        EventKey {
            route: route.into(),
            id: id.into(),
        }
    }

    /// The route (dedup scope).
    #[must_use]
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The provider's event id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.route, self.id)
    }
}

/// Where an event is in its life.
///
/// ```text
/// accept ─▶ pending ──lease──▶ in_flight ──complete──▶ done ──(retention)──▶ purged
///              ▲                  │  │
///              └──retry(at)───────┘  └──dead──▶ dead ──requeue──▶ pending
///              └──lease expired (re-leased)
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Waiting for its next attempt (due now or at `next_attempt_at`).
    Pending,
    /// Leased by a worker until `next_attempt_at` (the lease deadline).
    InFlight,
    /// Delivered; kept to answer duplicates until purged.
    Done,
    /// Given up on (a 4xx, or `max_attempts` failures); kept until requeued or purged.
    Dead,
}

impl State {
    /// Every state, in life order.
    pub const ALL: [State; 4] = [State::Pending, State::InFlight, State::Done, State::Dead];

    /// `pending`, `in_flight`, `done` or `dead`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InFlight => "in_flight",
            State::Done => "done",
            State::Dead => "dead",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is none of `pending`, `in_flight`, `done`, `dead`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state `{0}` (expected pending, in_flight, done or dead)")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// Why the last attempt failed: the upstream's status (if it answered) and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    status: Option<u16>,
    reason: String,
}

impl LastError {
    /// A failure; `reason` is cut to [`MAX_REASON`] bytes (on a character boundary).
    #[must_use]
    pub fn new(status: Option<u16>, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON {
            let mut end = MAX_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        LastError { status, reason }
    }

    /// The HTTP status the handler or upstream answered, if any.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The reason, at most [`MAX_REASON`] bytes.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for LastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s} {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// A verified delivery to store: what [`Inbox::accept`](crate::Inbox::accept) writes.
///
/// The body is the raw bytes the signature covers (never re-serialised), the headers those
/// the scheme reads plus `content-type` and an allow-list, so that the receiver can verify
/// the delivery again.
#[derive(Clone)]
pub struct NewEvent {
    pub(crate) key: EventKey,
    pub(crate) preset: String,
    pub(crate) target: String,
    pub(crate) received_at: SystemTime,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl NewEvent {
    /// An event `key`, verified with `preset`, received now.
    #[must_use]
    pub fn new(key: EventKey, preset: impl Into<String>, headers: HeaderMap, body: Bytes) -> Self {
        NewEvent {
            key,
            preset: preset.into(),
            target: "/".to_owned(),
            received_at: SystemTime::now(),
            headers,
            body,
        }
    }

    /// The path and query the delivery was sent to (default `/`), so that a forwarder can
    /// send it on to the same path.
    #[must_use]
    pub fn target(mut self, path_and_query: impl Into<String>) -> Self {
        self.target = path_and_query.into();
        self
    }

    /// Overrides the receive time (tests, imports).
    #[must_use]
    pub fn received_at(mut self, at: SystemTime) -> Self {
        self.received_at = at;
        self
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &EventKey {
        &self.key
    }

    /// The preset that verified it.
    #[must_use]
    pub fn preset(&self) -> &str {
        &self.preset
    }

    /// The headers kept.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEvent")
            .field("key", &self.key)
            .field("preset", &self.preset)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A stored event, as read back by [`Inbox::lease`](crate::Inbox::lease) and
/// [`Inbox::show`](crate::Inbox::show).
#[derive(Clone)]
pub struct Event {
    pub(crate) key: EventKey,
    pub(crate) preset: String,
    pub(crate) target: String,
    pub(crate) received_at: SystemTime,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) state: State,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: SystemTime,
    pub(crate) last_error: Option<LastError>,
}

impl Event {
    pub(crate) fn from_new(e: &NewEvent, now: SystemTime) -> Self {
        Event {
            key: e.key.clone(),
            preset: e.preset.clone(),
            target: e.target.clone(),
            received_at: e.received_at,
            headers: e.headers.clone(),
            body: e.body.clone(),
            state: State::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        }
    }

    /// Route and event id.
    #[must_use]
    pub fn key(&self) -> &EventKey {
        &self.key
    }
    /// The provider's event id.
    #[must_use]
    pub fn id(&self) -> &str {
        self.key.id()
    }
    /// The route (dedup scope).
    #[must_use]
    pub fn route(&self) -> &str {
        self.key.route()
    }
    /// The preset that verified it.
    #[must_use]
    pub fn preset(&self) -> &str {
        &self.preset
    }
    /// When it was accepted.
    #[must_use]
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }
    /// The path and query it was sent to.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }
    /// The stored headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The raw body, byte for byte as received.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// Its state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }
    /// Attempts started (a lease counts as an attempt).
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Pending: when it is due; in flight: the lease deadline; done/dead: the last change.
    #[must_use]
    pub fn next_attempt_at(&self) -> SystemTime {
        self.next_attempt_at
    }
    /// Why the last attempt failed.
    #[must_use]
    pub fn last_error(&self) -> Option<&LastError> {
        self.last_error.as_ref()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("key", &self.key)
            .field("preset", &self.preset)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("body_len", &self.body.len())
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds (saturating; times before 1970 are 0).
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis")),
    allow(dead_code, reason = "used by the SQLite and Redis stores")
)]
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time `ms` Unix milliseconds.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis")),
    allow(dead_code, reason = "used by the SQLite and Redis stores")
)]
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// `t + d`, saturating far in the future.
pub(crate) fn add(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d)
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 1000))
}

/// Headers as bytes: per header a big-endian u32 name length, the name, a u32 value
/// length, the value. Values may be any bytes a `HeaderValue` holds.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code, reason = "used by the durable stores")
)]
pub(crate) fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        for part in [name.as_str().as_bytes(), value.as_bytes()] {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// The inverse of [`encode_headers`]; `None` on bytes it did not write.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code, reason = "used by the durable stores")
)]
pub(crate) fn decode_headers(mut bytes: &[u8]) -> Option<HeaderMap> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (part, rest) = rest.split_at(len);
        *bytes = rest;
        Some(part)
    }
    let mut headers = HeaderMap::new();
    while !bytes.is_empty() {
        let name = HeaderName::from_bytes(take(&mut bytes)?).ok()?;
        let value = HeaderValue::from_bytes(take(&mut bytes)?).ok()?;
        headers.append(name, value);
    }
    Some(headers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn headers_round_trip_including_odd_bytes() {
        let mut h = HeaderMap::new();
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        h.append("x-b", HeaderValue::from_bytes(b"\xff\xfe ok").unwrap());
        h.append("x-empty", HeaderValue::from_static(""));
        let back = decode_headers(&encode_headers(&h)).unwrap();
        assert_eq!(back, h);
        assert!(decode_headers(b"\0\0\0\x05abc").is_none());
        assert!(decode_headers(b"\0\0").is_none());
    }

    #[test]
    fn reasons_are_bounded_on_char_boundaries() {
        let e = LastError::new(Some(500), "é".repeat(300));
        assert!(e.reason().len() <= MAX_REASON);
        assert_eq!(e.to_string().split_once(' ').unwrap().0, "500");
        assert_eq!("in_flight".parse::<State>().unwrap(), State::InFlight);
        assert!("nope".parse::<State>().is_err());
    }
}
