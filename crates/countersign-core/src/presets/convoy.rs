use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "convoy";
pub(super) const DESCRIPTION: &str = "Convoy advanced: X-Convoy-Signature t=<unix>,v1=<sig> over `t,body`; sha256|sha512 x hex|base64; id X-Convoy-Idempotency-Key";

/// What a Convoy endpoint can be configured with.
pub(super) const ALGORITHMS: &[Algorithm] = &[Algorithm::HmacSha256, Algorithm::HmacSha512];
/// See [`ALGORITHMS`].
pub(super) const ENCODINGS: &[Encoding] = &[Encoding::Hex, Encoding::Base64];

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-convoy-signature",
            SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal(","), Part::Body])
        .sender_choices(ALGORITHMS, ENCODINGS)
        .event_id(EventIdSource::headers(&["x-convoy-idempotency-key"]))
        .unchecked()
}
