use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "replicate";
pub(super) const DESCRIPTION: &str =
    "Replicate: Standard Webhooks (webhook-id/-timestamp/-signature v1), whsec_ secret";

// Documentation: https://replicate.com/docs/topics/webhooks/verify-webhook
// Checked 2026-12-02 (issue 15) against:
// - https://replicate.com/docs/topics/webhooks/verify-webhook (webhook-id, webhook-timestamp in seconds, space-delimited base64 signatures)

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("webhook-id")],
        &[HeaderName::from_static("webhook-timestamp")],
        &[HeaderName::from_static("webhook-signature")],
    );
    scheme.event_type = EventTypeSource::none();
    scheme
}
