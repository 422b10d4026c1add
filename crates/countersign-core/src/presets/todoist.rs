use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "todoist";
pub(super) const DESCRIPTION: &str = "Todoist: X-Todoist-Hmac-SHA256 <base64> over the body; id X-Todoist-Delivery-ID; type JSON event_name";

// Documentation: https://developer.todoist.com/sync/v9/#webhooks (request format)
// Checked 2026-12-02 (issue 15) against:
// - https://doist.github.io/todoist-sdk-typescript/api/functions/verifyWebhookSignature (official SDK: base64 HMAC-SHA256 of the raw body, client_secret)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-todoist-hmac-sha256", SignatureSyntax::single(""))
        .event_id(EventIdSource::headers(&["x-todoist-delivery-id"]))
        .event_type(EventTypeSource::json_field(&["event_name"]))
        .unchecked()
}
