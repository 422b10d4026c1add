use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "intuit";
pub(super) const DESCRIPTION: &str = "Intuit QuickBooks: intuit-signature <base64> HMAC-SHA256 over the body with the verifier token; CloudEvents id/type";

// Documentation: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("intuit-signature", SignatureSyntax::single(""))
        // CloudEvents deliveries carry `id` and `type`; the legacy `eventNotifications`
        // batches have neither.
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
