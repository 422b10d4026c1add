use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance};

pub(super) const NAME: &str = "elevenlabs";
pub(super) const DESCRIPTION: &str =
    "ElevenLabs: ElevenLabs-Signature t=<unix>,v0=<hex> over `t.body`, 30 min; type JSON type";

// Documentation: https://elevenlabs.io/docs/agents-platform/workflows/post-call-webhooks (authentication)

/// ElevenLabs' verification example accepts timestamps up to 30 minutes old.
const TOLERANCE: Duration = Duration::from_secs(1800);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "elevenlabs-signature",
            SignatureSyntax::key_value(',', "v0").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
