use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "ecwid";
pub(super) const DESCRIPTION: &str = "Ecwid: X-Ecwid-Webhook-Signature <base64> HMAC-SHA256 over `eventCreated.eventId` (body fields; the rest is unsigned); id JSON eventId; type JSON eventType";

// Documentation: https://api-docs.ecwid.com/docs/webhooks (verify the webhook signature:
// base64 HMAC-SHA256 of "{eventCreated}.{eventId}" with the app's client secret)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-ecwid-webhook-signature", SignatureSyntax::single(""))
        .content([
            Part::json_field(&["eventCreated"]),
            Part::literal("."),
            Part::json_field(&["eventId"]),
        ])
        .event_id(EventIdSource::json_field("eventId"))
        .event_type(EventTypeSource::json_field(&["eventType"]))
        .unchecked()
}
