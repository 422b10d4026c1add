use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, FormParams, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "twilio";
pub(super) const DESCRIPTION: &str = "Twilio: X-Twilio-Signature <base64> HMAC-SHA1 over URL + sorted POST params (or bodySHA256); id I-Twilio-Idempotency-Token";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Base64)
        .signature_header("x-twilio-signature", SignatureSyntax::single(""))
        .content([
            Part::Url(UrlPart::either_default_port()),
            Part::FormParams(FormParams::or_body_hash_in("bodySHA256")),
        ])
        .event_id(EventIdSource::headers(&["i-twilio-idempotency-token"]))
        .unchecked()
}
