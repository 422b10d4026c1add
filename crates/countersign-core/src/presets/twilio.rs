use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, FormParams, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "twilio";
pub(super) const DESCRIPTION: &str = "Twilio: X-Twilio-Signature <base64> HMAC-SHA1 over URL + sorted POST params (or bodySHA256); id I-Twilio-Idempotency-Token";

/// Twilio's form requests are a few KiB; the form parameters are decoded and sorted before
/// the signature can be checked, so their body limit stays small.
pub(super) const BODY_LIMIT: usize = 256 * 1024;

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
        .body_limit(BODY_LIMIT)
        .unchecked()
}
