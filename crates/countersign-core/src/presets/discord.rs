use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::scheme::{
    EventIdSource, KeyFormat, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit,
};

pub(super) const NAME: &str = "discord";
pub(super) const DESCRIPTION: &str = "Discord: X-Signature-Ed25519 <hex> over timestamp+body, X-Signature-Timestamp; hex public key; id JSON id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Ed25519)
        .encoding(Encoding::Hex)
        .signature_header("x-signature-ed25519", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-signature-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([Part::Timestamp, Part::Body])
        .key_format(KeyFormat::Hex)
        .event_id(EventIdSource::json_field("id"))
        .handshake(Handshake::discord_ping())
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
