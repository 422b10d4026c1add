use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{FormParams, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "mandrill";
pub(super) const DESCRIPTION: &str =
    "Mandrill: X-Mandrill-Signature <base64> HMAC-SHA1 over URL + sorted POST params";

// Documentation: https://mandrill.zendesk.com/hc/en-us/articles/360039232513-How-to-Authenticate-Webhook-Requests
// Checked 2026-12-02 (issue 15) against:
// - https://mandrill.zendesk.com/hc/en-us/articles/360039232513-How-to-Authenticate-Webhook-Requests (exact URL + POST keys sorted, key and value with no delimiter; base64 HMAC-SHA1)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Base64)
        .signature_header("x-mandrill-signature", SignatureSyntax::single(""))
        .content([
            Part::Url(UrlPart::exact()),
            Part::FormParams(FormParams::sorted()),
        ])
        .unchecked()
}
