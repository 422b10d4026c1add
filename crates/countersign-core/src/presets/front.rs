use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "front";
pub(super) const DESCRIPTION: &str = "Front: X-Front-Signature <base64> over `timestamp:body`, X-Front-Request-Timestamp ms; type JSON type; x-front-challenge handshake";

// Documentation: https://dev.frontapp.com/docs/application-webhooks (verifying integrity;
// "Application webhook validation": a signed request with an `x-front-challenge` header,
// answered `200` with `{"challenge": <value>}` — as Front's own sample app does:
// https://github.com/dugjason/front-webhook-application, src/middlewares/handle_validation_request.ts)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-front-signature", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-front-request-timestamp"),
            TimestampUnit::Milliseconds,
        ))
        .content([Part::Timestamp, Part::literal(":"), Part::Body])
        .event_type(EventTypeSource::json_field(&["type"]))
        .handshake(Handshake::front_challenge())
        .unchecked()
}
