use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "help-scout";
pub(super) const DESCRIPTION: &str =
    "Help Scout: X-HelpScout-Signature <base64> HMAC-SHA1 over the body; type X-HelpScout-Event";

// Documentation: https://developer.helpscout.com/webhooks/ (verifying)
// Checked 2026-12-02 (issue 15) against:
// - https://developer.helpscout.com/webhooks (X-HelpScout-Event; X-HelpScout-Signature = base64 HMAC-SHA1 of the body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Base64)
        .signature_header("x-helpscout-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::header("x-helpscout-event"))
        .unchecked()
}
