use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "zendesk";
pub(super) const DESCRIPTION: &str = "Zendesk: X-Zendesk-Webhook-Signature <base64> over timestamp+body, RFC 3339 timestamp; id JSON id; type JSON type";

// Documentation: https://developer.zendesk.com/documentation/webhooks/verifying/

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-zendesk-webhook-signature", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-zendesk-webhook-signature-timestamp"),
            TimestampUnit::Rfc3339,
        ))
        .content([Part::Timestamp, Part::Body])
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
