use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "buildkite";
pub(super) const DESCRIPTION: &str = "Buildkite: X-Buildkite-Signature timestamp=<unix>,signature=<hex> over `timestamp.body`; type X-Buildkite-Event";

// Documentation: https://buildkite.com/docs/apis/webhooks#webhook-signature

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-buildkite-signature",
            SignatureSyntax::key_value(',', "signature").with_timestamp_key("timestamp"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .event_type(EventTypeSource::header("x-buildkite-event"))
        .unchecked()
}
