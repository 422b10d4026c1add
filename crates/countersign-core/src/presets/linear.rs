use crate::event_type::EventTypeSource;
use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{
    EventIdSource, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance,
};

pub(super) const NAME: &str = "linear";
pub(super) const DESCRIPTION: &str = "Linear: Linear-Signature <hex> HMAC-SHA256 over the body; JSON webhookTimestamp (ms), 60 s; id Linear-Delivery";

/// Linear's SDK rejects deliveries whose `webhookTimestamp` is more than a minute away.
const TOLERANCE: Duration = Duration::from_secs(60);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("linear-signature", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::json_field(
            &["webhookTimestamp"],
            TimestampUnit::Milliseconds,
        ))
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_id(EventIdSource::headers(&["linear-delivery"]))
        .event_type(EventTypeSource::json_field(&["type"]).then_json_field(&["action"]))
        .unchecked()
}
