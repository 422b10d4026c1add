use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::handshake::Handshake;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "meta";
pub(super) const DESCRIPTION: &str = "Meta (Facebook, Instagram, WhatsApp, Messenger): X-Hub-Signature-256 sha256=<hex> over the body with the app secret; GET hub.challenge handshake with the verify token; type JSON object";

// Documentation: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
// ("Verification Requests": GET with hub.mode=subscribe, hub.challenge and hub.verify_token,
// answered with hub.challenge when the token matches; "Validating Payloads": X-Hub-Signature-256
// is sha256= and the HMAC-SHA256 of the payload with the app secret).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hub-signature-256", SignatureSyntax::single("sha256="))
        .event_type(EventTypeSource::json_field(&["object"]))
        .handshake(Handshake::meta_verification())
        .unchecked()
}
