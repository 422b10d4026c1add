use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "slack";
pub(super) const DESCRIPTION: &str = "Slack: X-Slack-Signature v0=<hex> over `v0:ts:body`, X-Slack-Request-Timestamp; id JSON event_id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-slack-signature", SignatureSyntax::single("v0="))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-slack-request-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([
            Part::literal("v0:"),
            Part::Timestamp,
            Part::literal(":"),
            Part::Body,
        ])
        .event_id(EventIdSource::json_field("event_id"))
        .handshake(Handshake::slack_url_verification())
        .event_type(EventTypeSource::json_field(&["event", "type"]))
        .unchecked()
}
