use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "flutterwave";
pub(super) const DESCRIPTION: &str =
    "Flutterwave: verif-hash equals the secret hash; type JSON event";

// Documentation: https://developer.flutterwave.com/docs/webhooks#verifying-webhook-signatures
// Checked 2026-12-02 (issue 15) against:
// - https://flutterwaveinc.mintlify.app/webhooks (v3: the secret hash is sent as is in verif-hash; payload `event` field). Flutterwave v4 sends `flutterwave-signature` instead: not covered by this preset

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_header("verif-hash", SignatureSyntax::single(""))
        .content([])
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
