use crate::scheme::Scheme;

pub(super) const NAME: &str = "pipedrive";
pub(super) const DESCRIPTION: &str = "Pipedrive: HTTP Basic auth credentials configured on the webhook (user:password, constant time)";

// Documentation: https://pipedrive.readme.io/docs/guide-for-webhooks (HTTP basic auth)
// Checked 2026-12-02 (issue 15) against:
// - https://pipedrive.readme.io/docs/guide-for-webhooks and the API's http_auth_user / http_auth_password (no signature)

pub(super) fn scheme() -> Scheme {
    super::basic_auth::with_name(NAME)
}
