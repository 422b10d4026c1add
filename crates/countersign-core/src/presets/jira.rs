use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "jira";
pub(super) const DESCRIPTION: &str = "Jira: X-Hub-Signature sha256=<hex> HMAC-SHA256 over the body; id X-Atlassian-Webhook-Identifier; type JSON webhookEvent";

// Documentation: https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
// (admin webhooks saved with a secret; WebSub `method=signature`: `sha256=<hex>` over the raw
// body in X-Hub-Signature, not X-Hub-Signature-256). Confirmed by the jira.js typings
// (https://mrrefactoring.github.io/jira.js/api/functions/webhooks.verifyWebhookSignature.html),
// which also key deliveries by the X-Atlassian-Webhook-Identifier header (same on retries).
// Checked 2026-12-02 (issue 15).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature", SignatureSyntax::single("sha256="))
        .event_id(EventIdSource::headers(&["x-atlassian-webhook-identifier"]))
        .event_type(EventTypeSource::json_field(&["webhookEvent"]))
        .unchecked()
}
