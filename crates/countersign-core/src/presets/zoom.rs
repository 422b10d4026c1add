use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "zoom";
pub(super) const DESCRIPTION: &str = "Zoom: x-zm-signature v0=<hex> HMAC-SHA256 over `v0:ts:body`, x-zm-request-timestamp; no event id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-zm-signature", SignatureSyntax::single("v0="))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-zm-request-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([
            Part::literal("v0:"),
            Part::Timestamp,
            Part::literal(":"),
            Part::Body,
        ])
        .handshake(Handshake::zoom_endpoint_url_validation())
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
