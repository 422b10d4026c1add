use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "openai";
pub(super) const DESCRIPTION: &str = "OpenAI: Standard Webhooks (webhook-id/-timestamp/-signature v1), whsec_ secret; type JSON type";

// Documentation: https://platform.openai.com/docs/guides/webhooks (Standard Webhooks spec)

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("webhook-id")],
        &[HeaderName::from_static("webhook-timestamp")],
        &[HeaderName::from_static("webhook-signature")],
    );
    scheme.event_type = EventTypeSource::json_field(&["type"]);
    scheme
}
