use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "stytch";
pub(super) const DESCRIPTION: &str = "Stytch: Svix headers (svix-id/-timestamp/-signature v1), whsec_ base64 secret; type source.object_type.action";

// Documentation: https://stytch.com/docs/workspace-management/webhooks ("Stytch's webhooks
// are powered through Svix"; event types are `source.object_type.action`, and each payload
// carries `source`, `object_type`, `action` and `event_id`).

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("svix-id")],
        &[HeaderName::from_static("svix-timestamp")],
        &[HeaderName::from_static("svix-signature")],
    );
    scheme.event_type = EventTypeSource::json_field(&["source"])
        .then_json_field(&["object_type"])
        .then_json_field(&["action"]);
    scheme
}
