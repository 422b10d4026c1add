use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "sentry";
pub(super) const DESCRIPTION: &str =
    "Sentry: Sentry-Hook-Signature <hex> HMAC-SHA256 over the body; id Request-ID";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("sentry-hook-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::headers(&["request-id"]))
        .event_type(EventTypeSource::header("sentry-hook-resource").then_json_field(&["action"]))
        .unchecked()
}
