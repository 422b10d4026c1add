use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "asana";
pub(super) const DESCRIPTION: &str = "Asana: X-Hook-Signature <hex> HMAC-SHA256 over the body (secret from the X-Hook-Secret handshake)";

// Documentation: https://developers.asana.com/docs/webhooks-guide#security
// Checked 2026-12-02 (issue 15) against:
// - https://developers.asana.com/reference/createwebhook (X-Hook-Secret handshake)
// - https://forum.asana.com/t/securing-webhook-initial-handshake/969989 (Asana staff: X-Hook-Signature is computed from the stored secret and the event body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hook-signature", SignatureSyntax::single(""))
        .unchecked()
}
