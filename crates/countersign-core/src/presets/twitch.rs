use crate::event_type::EventTypeSource;
use std::time::Duration;

use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::handshake::Handshake;
use crate::scheme::{
    EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance,
};

pub(super) const NAME: &str = "twitch";
pub(super) const DESCRIPTION: &str = "Twitch EventSub: Twitch-Eventsub-Message-Signature sha256=<hex> over id+timestamp+body, RFC 3339, 10 min";

/// Twitch: "make sure the message's timestamp isn't older than 10 minutes".
const TOLERANCE: Duration = Duration::from_secs(600);

pub(super) fn scheme() -> Scheme {
    let id = || HeaderName::from_static("twitch-eventsub-message-id");
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "twitch-eventsub-message-signature",
            SignatureSyntax::single("sha256="),
        )
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("twitch-eventsub-message-timestamp"),
            TimestampUnit::Rfc3339,
        ))
        .content([Part::Header(vec![id()]), Part::Timestamp, Part::Body])
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_id(EventIdSource::Header(vec![id()]))
        .handshake(Handshake::twitch_webhook_callback_verification())
        .event_type(EventTypeSource::header("twitch-eventsub-subscription-type"))
        .unchecked()
}
