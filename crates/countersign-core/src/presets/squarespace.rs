use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, KeyFormat, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "squarespace";
pub(super) const DESCRIPTION: &str = "Squarespace: Squarespace-Signature <hex> HMAC-SHA256 over the body, hex secret; id JSON id; type JSON topic";

// Documentation: https://developers.squarespace.com/commerce-apis/webhook-subscriptions-overview (verifying notifications)

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
