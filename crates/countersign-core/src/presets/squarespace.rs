use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, KeyFormat, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "squarespace";
pub(super) const DESCRIPTION: &str = "Squarespace: Squarespace-Signature <hex> HMAC-SHA256 over the body, hex secret; id JSON id; type JSON topic";

// Documentation: https://developers.squarespace.com/commerce-apis/webhooks/verifying-notifications (verifying notifications)
// Checked 2026-12-02 (issue 15) against:
// - https://developers.squarespace.com/commerce-apis/webhooks/verifying-notifications (the secret is hex and must be decoded to bytes; HMAC-SHA256 of the raw body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("squarespace-signature", SignatureSyntax::single(""))
        .key_format(KeyFormat::Hex)
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["topic"]))
        .unchecked()
}
