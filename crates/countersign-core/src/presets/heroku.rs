use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "heroku";
pub(super) const DESCRIPTION: &str = "Heroku: Heroku-Webhook-Hmac-SHA256 <base64> over the body; id Heroku-Webhook-Id; type resource.action";

// Documentation: https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("heroku-webhook-hmac-sha256", SignatureSyntax::single(""))
        .event_id(EventIdSource::headers(&["heroku-webhook-id"]))
        .event_type(EventTypeSource::json_field(&["resource"]).then_json_field(&["action"]))
        .unchecked()
}
