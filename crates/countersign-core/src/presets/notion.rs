use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "notion";
pub(super) const DESCRIPTION: &str =
    "Notion: X-Notion-Signature sha256=<hex> HMAC-SHA256 over the body; id JSON id; type JSON type";

// Documentation: https://developers.notion.com/reference/webhooks (validating event payloads)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-notion-signature", SignatureSyntax::single("sha256="))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
