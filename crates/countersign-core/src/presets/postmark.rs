use crate::event_type::EventTypeSource;
use crate::scheme::Scheme;

pub(super) const NAME: &str = "postmark";
pub(super) const DESCRIPTION: &str = "Postmark: HTTP Basic auth credentials set in the webhook URL (user:password, constant time); type JSON RecordType";

// Documentation: https://postmarkapp.com/developer/webhooks/webhooks-overview (protecting
// your webhook: basic HTTP authentication)
// Checked 2026-12-02 (issue 15) against:
// - https://postmarkapp.com/developer/webhooks/webhooks-overview (no signature: basic HTTP authentication in the webhook URL)

pub(super) fn scheme() -> Scheme {
    let mut scheme = super::basic_auth::with_name(NAME);
    scheme.event_type = EventTypeSource::json_field(&["RecordType"]);
    scheme
}
