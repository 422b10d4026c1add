use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "jira";
pub(super) const DESCRIPTION: &str =
    "Jira: X-Hub-Signature sha256=<hex> HMAC-SHA256 over the body; type JSON webhookEvent";

// Documentation: https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature", SignatureSyntax::single("sha256="))
        .event_type(EventTypeSource::json_field(&["webhookEvent"]))
        .unchecked()
}
