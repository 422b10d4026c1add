use http::HeaderName;

use crate::scheme::Scheme;

pub(super) const NAME: &str = "svix";
pub(super) const DESCRIPTION: &str =
    "Svix: Standard Webhooks with svix-id/-timestamp/-signature, falling back to webhook-*";

pub(super) fn scheme() -> Scheme {
    let pair = |svix, webhook| {
        [
            HeaderName::from_static(svix),
            HeaderName::from_static(webhook),
        ]
    };
    super::standard_webhooks::with_headers(
        NAME,
        &pair("svix-id", "webhook-id"),
        &pair("svix-timestamp", "webhook-timestamp"),
        &pair("svix-signature", "webhook-signature"),
    )
}
