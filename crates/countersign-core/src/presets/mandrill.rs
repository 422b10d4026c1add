use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{FormParams, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "mandrill";
pub(super) const DESCRIPTION: &str =
    "Mandrill: X-Mandrill-Signature <base64> HMAC-SHA1 over URL + sorted POST params";

// Documentation: https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests

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
