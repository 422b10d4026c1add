use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "patreon";
pub(super) const DESCRIPTION: &str =
    "Patreon: X-Patreon-Signature <hex> HMAC-MD5 over the body; type X-Patreon-Event";

// Documentation: https://docs.patreon.com/#webhooks ("the message signature is
// X-Patreon-Signature, an HMAC-MD5 hex digest of the body with the webhook's secret"; the
// trigger is in X-Patreon-Event).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacMd5)
        .encoding(Encoding::Hex)
        .signature_header("x-patreon-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::header("x-patreon-event"))
        .unchecked()
}
