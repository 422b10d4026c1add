use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "square";
pub(super) const DESCRIPTION: &str = "Square: x-square-hmacsha256-signature <base64> HMAC-SHA256 over notification URL + body; id JSON event_id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-square-hmacsha256-signature", SignatureSyntax::single(""))
        .content([Part::Url(UrlPart::exact()), Part::Body])
        .event_id(EventIdSource::json_field("event_id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
