use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "courier";
pub(super) const DESCRIPTION: &str = "Courier: courier-signature t=<unix ms>,signature=<hex> HMAC-SHA256 over `t.body`; type JSON type";

// Documentation: https://www.courier.com/docs/platform/workspaces/outbound-webhooks
// (`courier-signature: t=<timestamp>,signature=<hex>`, HMAC-SHA256 of `${timestamp}.${body}`
// with the webhook's signing secret; the timestamp is in milliseconds).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "courier-signature",
            SignatureSyntax::key_value(',', "signature").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(
            TimestampUnit::Milliseconds,
        ))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
