use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "docusign";
pub(super) const DESCRIPTION: &str =
    "DocuSign Connect: X-DocuSign-Signature-1 <base64> HMAC-SHA256 over the body; type JSON event";

// Documentation: https://developers.docusign.com/platform/webhooks/connect/hmac/

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-docusign-signature-1", SignatureSyntax::single(""))
        .signature_header_fallback("x-docusign-signature-2")
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
