use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "alchemy";
pub(super) const DESCRIPTION: &str =
    "Alchemy: X-Alchemy-Signature <hex> HMAC-SHA256 over the body; id JSON id; type JSON type";

// Documentation: https://docs.alchemy.com/reference/notify-api-faq
// Checked 2026-12-02 (issue 15) against:
// - https://docs.alchemy.com/reference/notify-api-faq (hex HMAC-SHA256 of the raw body with the signing key; example event `id` whevt_…, `type`)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-alchemy-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
