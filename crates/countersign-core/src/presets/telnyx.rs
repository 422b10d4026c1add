use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{
    EventIdSource, KeyFormat, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit,
};

pub(super) const NAME: &str = "telnyx";
pub(super) const DESCRIPTION: &str = "Telnyx: telnyx-signature-ed25519 <base64> Ed25519 over `ts|body`; base64 public key; id data.id; type data.event_type";

// Documentation: https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks#webhook-signing

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Ed25519)
        .encoding(Encoding::Base64)
        .signature_header("telnyx-signature-ed25519", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("telnyx-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([Part::Timestamp, Part::literal("|"), Part::Body])
        .key_format(KeyFormat::Base64 { prefix: None })
        .event_id(EventIdSource::json_path(&["data", "id"]))
        .event_type(EventTypeSource::json_field(&["data", "event_type"]))
        .unchecked()
}
