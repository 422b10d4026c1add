use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "woocommerce";
pub(super) const DESCRIPTION: &str =
    "WooCommerce: X-WC-Webhook-Signature <base64> over the body; id X-WC-Webhook-Delivery-ID";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-wc-webhook-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::headers(&["x-wc-webhook-delivery-id"]))
        .event_type(EventTypeSource::header("x-wc-webhook-topic"))
        .unchecked()
}
