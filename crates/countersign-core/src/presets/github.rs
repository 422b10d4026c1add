use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "github";
pub(super) const DESCRIPTION: &str =
    "GitHub: X-Hub-Signature-256 sha256=<hex> over the body; id X-GitHub-Delivery";

/// GitHub caps payloads at 25 MB.
pub(super) const BODY_LIMIT: usize = 25 * 1024 * 1024;

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature-256", SignatureSyntax::single("sha256="))
        .event_id(EventIdSource::Header(vec![http::HeaderName::from_static(
            "x-github-delivery",
        )]))
        .body_limit(BODY_LIMIT)
        .event_type(EventTypeSource::header("x-github-event").then_json_field(&["action"]))
        .unchecked()
}
