use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "sendbird";
pub(super) const DESCRIPTION: &str =
    "Sendbird: x-sendbird-signature <hex> HMAC-SHA256 over the body; type JSON category";

// Documentation: https://sendbird.com/docs/chat/platform-api/v3/webhook/overview (headers)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-sendbird-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["category"]))
        .unchecked()
}
