use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "chargify";
pub(super) const DESCRIPTION: &str = "Chargify/Maxio: X-Chargify-Webhook-Signature-Hmac-Sha-256 <hex> over the body; id X-Chargify-Webhook-Id";

// Documentation: https://docs.maxio.com/hc/en-us/articles/24266136649869-Webhooks-Reference (webhook signature)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-chargify-webhook-signature-hmac-sha-256",
            SignatureSyntax::single(""),
        )
        .event_id(EventIdSource::headers(&["x-chargify-webhook-id"]))
        .unchecked()
}
