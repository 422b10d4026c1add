use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "greenhouse";
pub(super) const DESCRIPTION: &str =
    "Greenhouse: Signature `sha256 <hex>` HMAC-SHA256 over the body; type JSON action";

// Documentation: https://developers.greenhouse.io/webhooks.html#authentication

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("signature", SignatureSyntax::single("sha256 "))
        .event_type(EventTypeSource::json_field(&["action"]))
        .unchecked()
}
