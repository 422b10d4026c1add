use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "clickup";
pub(super) const DESCRIPTION: &str =
    "ClickUp: X-Signature <hex> HMAC-SHA256 over the body; type JSON event";

// Documentation: https://developer.clickup.com/docs/webhooksignature
// Checked 2026-12-02 (issue 15) against:
// - https://developer.clickup.com/docs/webhooksignature (hex HMAC-SHA256 of the body in X-Signature; example body has `event`)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
