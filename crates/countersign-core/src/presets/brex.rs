use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "brex";
pub(super) const DESCRIPTION: &str = "Brex: Standard Webhooks headers (webhook-id/-timestamp/-signature v1), base64 secret; type JSON event_type";

// Documentation: https://developer.brex.com/docs/webhooks (verifying webhooks)

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("webhook-id")],
        &[HeaderName::from_static("webhook-timestamp")],
        &[HeaderName::from_static("webhook-signature")],
    );
    scheme.event_type = EventTypeSource::json_field(&["event_type"]);
    scheme
}
