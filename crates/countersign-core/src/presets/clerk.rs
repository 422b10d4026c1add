use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "clerk";
pub(super) const DESCRIPTION: &str =
    "Clerk: Svix headers (svix-id/-timestamp/-signature v1), whsec_ base64 secret; type JSON type";

// Documentation: https://clerk.com/docs/webhooks/sync-data (verifyWebhook: Svix signatures)

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("svix-id")],
        &[HeaderName::from_static("svix-timestamp")],
        &[HeaderName::from_static("svix-signature")],
    );
    scheme.event_type = EventTypeSource::json_field(&["type"]);
    scheme
}
