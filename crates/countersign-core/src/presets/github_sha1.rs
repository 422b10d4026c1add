use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "github-sha1";
pub(super) const DESCRIPTION: &str =
    "GitHub legacy: X-Hub-Signature sha1=<hex> over the body; id X-GitHub-Delivery";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature", SignatureSyntax::single("sha1="))
        .event_id(EventIdSource::Header(vec![http::HeaderName::from_static(
            "x-github-delivery",
        )]))
        .body_limit(super::github::BODY_LIMIT)
        .event_type(EventTypeSource::header("x-github-event").then_json_field(&["action"]))
        .unchecked()
}
