use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "gusto";
pub(super) const DESCRIPTION: &str =
    "Gusto: X-Gusto-Signature <hex> HMAC-SHA256 over the body; id JSON uuid; type JSON event_type";

// Documentation: https://docs.gusto.com/embedded-payroll/docs/webhooks (verify webhook signatures)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-gusto-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("uuid"))
        .event_type(EventTypeSource::json_field(&["event_type"]))
        .unchecked()
}
