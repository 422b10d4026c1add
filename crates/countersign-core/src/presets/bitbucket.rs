use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "bitbucket";
pub(super) const DESCRIPTION: &str =
    "Bitbucket Cloud: X-Hub-Signature sha256=<hex> over the body; id X-Request-UUID";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature", SignatureSyntax::single("sha256="))
        .event_id(EventIdSource::headers(&["x-request-uuid"]))
        .event_type(EventTypeSource::header("x-event-key"))
        .unchecked()
}
