//! [`Message`]: what a publisher puts on the broker for one verified delivery.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;

/// `Content-Type` of the delivery (as the sender declared it).
pub const CONTENT_TYPE_HEADER: &str = "Content-Type";
/// The provider's event id (also AMQP `message_id`, NATS `Nats-Msg-Id`).
pub const EVENT_ID_HEADER: &str = "Countersign-Event-Id";
/// The preset (scheme) name, e.g. `stripe`.
pub const PRESET_HEADER: &str = "Countersign-Preset";
/// The route the delivery came in on (the proxy's route name).
pub const ROUTE_HEADER: &str = "Countersign-Route";
/// When the delivery was verified, RFC 3339 in UTC with milliseconds.
pub const RECEIVED_AT_HEADER: &str = "Countersign-Received-At";
/// The provider's event type (`orders/create`, `invoice.paid`), when known.
pub const EVENT_TYPE_HEADER: &str = "Countersign-Event-Type";

/// Content type used when the sender declared none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// One verified delivery, ready to publish: the raw body bytes, unchanged, and the metadata
/// that travels as message headers ([`Message::headers`]).
///
/// ```
/// use countersign_publish::Message;
///
/// let m = Message::new("evt_1", "stripe", "billing", b"{\"id\":\"evt_1\"}".to_vec())
///     .with_content_type("application/json")
///     .with_event_type(Some("invoice.paid".into()));
/// let headers: Vec<(&str, String)> = m.headers().collect();
/// assert_eq!(headers[0], ("Content-Type", "application/json".to_owned()));
/// assert_eq!(headers[1], ("Countersign-Event-Id", "evt_1".to_owned()));
/// assert_eq!(headers.last().unwrap(), &("Countersign-Event-Type", "invoice.paid".to_owned()));
/// ```
#[derive(Clone)]
pub struct Message {
    body: Bytes,
    event_id: String,
    preset: String,
    route: String,
    content_type: Option<String>,
    event_type: Option<String>,
    received_at: SystemTime,
}

impl Message {
    /// A message for event `event_id` of `preset`, received on `route` now.
    #[must_use]
    pub fn new(
        event_id: impl Into<String>,
        preset: impl Into<String>,
        route: impl Into<String>,
        body: impl Into<Bytes>,
    ) -> Self {
        Message {
            body: body.into(),
            event_id: event_id.into(),
            preset: preset.into(),
            route: route.into(),
            content_type: None,
            event_type: None,
            received_at: SystemTime::now(),
        }
    }

    /// Sets the content type (default [`DEFAULT_CONTENT_TYPE`]).
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the provider's event type, when known.
    #[must_use]
    pub fn with_event_type(mut self, event_type: Option<String>) -> Self {
        self.event_type = event_type;
        self
    }

    /// Sets the receive time (default: when the message was built).
    #[must_use]
    pub fn with_received_at(mut self, at: SystemTime) -> Self {
        self.received_at = at;
        self
    }

    /// The raw body bytes.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The provider's event id.
    #[must_use]
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// The preset name.
    #[must_use]
    pub fn preset(&self) -> &str {
        &self.preset
    }

    /// The route name.
    #[must_use]
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The content type, [`DEFAULT_CONTENT_TYPE`] when the sender declared none.
    #[must_use]
    pub fn content_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE)
    }

    /// The event type, when known.
    #[must_use]
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// When the delivery was received.
    #[must_use]
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// The receive time as RFC 3339 UTC with milliseconds: `2026-12-02T01:51:05.123Z`.
    #[must_use]
    pub fn received_at_rfc3339(&self) -> String {
        rfc3339(self.received_at)
    }

    /// The headers every message carries, in this order: `Content-Type`,
    /// `Countersign-Event-Id`, `Countersign-Preset`, `Countersign-Route`,
    /// `Countersign-Received-At`, then `Countersign-Event-Type` when known.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [
            (CONTENT_TYPE_HEADER, self.content_type().to_owned()),
            (EVENT_ID_HEADER, self.event_id.clone()),
            (PRESET_HEADER, self.preset.clone()),
            (ROUTE_HEADER, self.route.clone()),
            (RECEIVED_AT_HEADER, self.received_at_rfc3339()),
        ]
        .into_iter()
        .chain(
            self.event_type
                .as_ref()
                .map(|t| (EVENT_TYPE_HEADER, t.clone())),
        )
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("event_id", &self.event_id)
            .field("preset", &self.preset)
            .field("route", &self.route)
            .field("event_type", &self.event_type)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// RFC 3339 UTC with milliseconds, without a date crate (civil-from-days, H. Hinnant).
fn rfc3339(at: SystemTime) -> String {
    let d = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_answers() {
        let at = |s: u64, ms: u64| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms)
        };
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 7)), "2000-02-29T00:00:00.007Z");
        assert_eq!(rfc3339(at(1_700_000_000, 123)), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(at(4_102_444_799, 999)), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn headers_without_event_type() {
        let m = Message::new("e", "github", "r", Bytes::new());
        let names: Vec<&str> = m.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                CONTENT_TYPE_HEADER,
                EVENT_ID_HEADER,
                PRESET_HEADER,
                ROUTE_HEADER,
                RECEIVED_AT_HEADER
            ]
        );
        assert_eq!(m.content_type(), DEFAULT_CONTENT_TYPE);
    }
}
