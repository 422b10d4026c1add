use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "pusher";
pub(super) const DESCRIPTION: &str =
    "Pusher: X-Pusher-Signature <hex> HMAC-SHA256 over the body with the app secret";

// Documentation: https://pusher.com/docs/channels/server_api/webhooks/#authentication
// Checked 2026-12-02 (issue 15) against:
// - https://pusher.com/docs/channels/server_api/webhooks/ (X-Pusher-Key names the token; X-Pusher-Signature = hex HMAC-SHA256 of the body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-pusher-signature", SignatureSyntax::single(""))
        .unchecked()
}
