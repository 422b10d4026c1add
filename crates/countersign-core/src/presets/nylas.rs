use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "nylas";
pub(super) const DESCRIPTION: &str =
    "Nylas: X-Nylas-Signature <hex> HMAC-SHA256 over the body; id JSON id; type JSON type";

// Documentation: https://developer.nylas.com/docs/cookbook/use-cases/build/verify-webhook-signatures/
// Checked 2026-12-02 (issue 15) against:
// - https://developer.nylas.com/docs/cookbook/use-cases/build/verify-webhook-signatures/ (hex HMAC-SHA256 of the exact body with webhook_secret)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-nylas-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
