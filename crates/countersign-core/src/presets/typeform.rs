use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "typeform";
pub(super) const DESCRIPTION: &str =
    "Typeform: Typeform-Signature sha256=<base64> over the body; id JSON event_id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("typeform-signature", SignatureSyntax::single("sha256="))
        .event_id(EventIdSource::json_field("event_id"))
        .event_type(EventTypeSource::json_field(&["event_type"]))
        .unchecked()
}
