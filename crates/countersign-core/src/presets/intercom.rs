use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "intercom";
pub(super) const DESCRIPTION: &str =
    "Intercom: X-Hub-Signature sha1=<hex> HMAC-SHA1 over the body; id JSON id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature", SignatureSyntax::single("sha1="))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["topic"]))
        .unchecked()
}
