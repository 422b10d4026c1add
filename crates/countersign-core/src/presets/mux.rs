use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "mux";
pub(super) const DESCRIPTION: &str =
    "Mux: Mux-Signature t=<unix>,v1=<hex> over `t.body`; id JSON id; type JSON type";

// Documentation: https://www.mux.com/docs/core/verify-webhook-signatures
// Checked 2026-12-02 (issue 15) against:
// - https://www.mux.com/docs/core/verify-webhook-signatures (t=<unix s>,v1=<hex>; signed payload `t` + "." + body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "mux-signature",
            SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
