use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "trello";
pub(super) const DESCRIPTION: &str = "Trello: X-Trello-Webhook <base64> HMAC-SHA1 over body + callback URL; id action.id; type action.type";

// Documentation: https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Base64)
        .signature_header("x-trello-webhook", SignatureSyntax::single(""))
        .content([Part::Body, Part::Url(UrlPart::exact())])
        .event_id(EventIdSource::json_path(&["action", "id"]))
        .event_type(EventTypeSource::json_field(&["action", "type"]))
        .unchecked()
}
