use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "checkout-com";
pub(super) const DESCRIPTION: &str =
    "Checkout.com: Cko-Signature <hex> HMAC-SHA256 over the body; id JSON id; type JSON type";

// Documentation: https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks (verify the Cko-Signature header)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("cko-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
