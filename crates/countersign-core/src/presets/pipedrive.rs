use crate::scheme::Scheme;

pub(super) const NAME: &str = "pipedrive";
pub(super) const DESCRIPTION: &str = "Pipedrive: HTTP Basic auth credentials configured on the webhook (user:password, constant time)";

// Documentation: https://pipedrive.readme.io/docs/guide-for-webhooks (HTTP basic auth)

pub(super) fn scheme() -> Scheme {
    super::basic_auth::with_name(NAME)
}
