use crate::event_type::EventTypeSource;
use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "shopify";
pub(super) const DESCRIPTION: &str = "Shopify: X-Shopify-Hmac-Sha256 <base64> over the body; id X-Shopify-Event-Id, else X-Shopify-Webhook-Id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-shopify-hmac-sha256", SignatureSyntax::single(""))
        .event_id(EventIdSource::Header(vec![
            HeaderName::from_static("x-shopify-event-id"),
            HeaderName::from_static("x-shopify-webhook-id"),
        ]))
        .event_type(EventTypeSource::header("x-shopify-topic"))
        .unchecked()
}
