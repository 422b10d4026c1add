use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "mailgun";
pub(super) const DESCRIPTION: &str = "Mailgun: JSON signature.{timestamp,token,signature}, hex HMAC-SHA256 of timestamp+token; body NOT signed";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_json_field(&["signature", "signature"], "")
        .timestamp(TimestampSpec::json_field(
            &["signature", "timestamp"],
            TimestampUnit::Seconds,
        ))
        .content([Part::Timestamp, Part::json_field(&["signature", "token"])])
        .event_id(EventIdSource::json_path(&["event-data", "id"]))
        .event_type(EventTypeSource::json_field(&["event-data", "event"]))
        .unchecked()
}
