use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "persona";
pub(super) const DESCRIPTION: &str = "Persona: Persona-Signature t=<unix>,v1=<hex> over `t.body`; id JSON data.id; type data.attributes.name";

// Documentation: https://docs.withpersona.com/docs/webhooks-best-practices#checking-signatures

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "persona-signature",
            SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .event_id(EventIdSource::json_path(&["data", "id"]))
        .event_type(EventTypeSource::json_field(&["data", "attributes", "name"]))
        .unchecked()
}
