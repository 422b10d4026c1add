use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "cal-com";
pub(super) const DESCRIPTION: &str =
    "Cal.com: X-Cal-Signature-256 <hex> HMAC-SHA256 over the body; type JSON triggerEvent";

// Documentation: https://cal.com/docs/developing/guides/automation/webhooks (verifying the authenticity of the payload)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-cal-signature-256", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["triggerEvent"]))
        .unchecked()
}
