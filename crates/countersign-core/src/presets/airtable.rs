use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{KeyFormat, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "airtable";
pub(super) const DESCRIPTION: &str =
    "Airtable: X-Airtable-Content-MAC hmac-sha256=<hex> over the body; base64 macSecret";

// Documentation: https://airtable.com/developers/web/api/webhooks-overview#webhook-notification-delivery

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-airtable-content-mac",
            SignatureSyntax::single("hmac-sha256="),
        )
        .key_format(KeyFormat::Base64 { prefix: None })
        .unchecked()
}
