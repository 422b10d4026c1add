use crate::event_type::EventTypeSource;
use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "gitlab";
pub(super) const DESCRIPTION: &str = "GitLab: X-Gitlab-Token equals the secret (constant time); whsec_ signing token: webhook-signature v1 like Standard Webhooks";

pub(super) fn scheme() -> Scheme {
    let signed = super::standard_webhooks::with_headers(
        NAME,
        &[HeaderName::from_static("webhook-id")],
        &[HeaderName::from_static("webhook-timestamp")],
        &[HeaderName::from_static("webhook-signature")],
    );
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_header("x-gitlab-token", SignatureSyntax::single(""))
        .content([])
        .event_id(EventIdSource::headers(&[
            "idempotency-key",
            "x-gitlab-event-uuid",
        ]))
        .alternative(signed)
        .event_type(EventTypeSource::header("x-gitlab-event"))
        .unchecked()
}
