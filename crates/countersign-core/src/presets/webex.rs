use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "webex";
pub(super) const DESCRIPTION: &str =
    "Webex: X-Spark-Signature <hex> HMAC-SHA1 over the body; no event id; type resource.event";

// Documentation: https://developer.webex.com/docs/receive-and-verify-webhooks (the example
// body: top-level `id` is the webhook registration's id, the same on every delivery of that
// webhook, so it cannot be the deduplication key; `resource` + `event` name the event).
// Algorithm: https://developer-portal-intb.ciscospark.com/blog/using-a-webhook-secret (Webex's
// own blog: hex HMAC-SHA1 of the raw body with the webhook secret in X-Spark-Signature).
// Checked 2026-12-02 (issue 15).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Hex)
        .signature_header("x-spark-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["resource"]).then_json_field(&["event"]))
        .unchecked()
}
