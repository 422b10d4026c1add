use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "coinbase-commerce";
pub(super) const DESCRIPTION: &str =
    "Coinbase Commerce: X-CC-Webhook-Signature <hex> HMAC-SHA256 over the body; id JSON event.id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-cc-webhook-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_path(&["event", "id"]))
        .event_type(EventTypeSource::json_field(&["event", "type"]))
        .unchecked()
}
