use crate::algorithm::{Algorithm, Encoding};
use crate::jws::JwsClaims;
use crate::scheme::{Part, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "netlify";
pub(super) const DESCRIPTION: &str = "Netlify: X-Webhook-Signature JWS (HS256 pinned) with iss netlify and the body's hex SHA-256 in `sha256`";

// Documentation: https://docs.netlify.com/site-deploys/notifications/#payload-signature
// Checked 2026-12-07 (issue 15): the JWS secret token signs a JWS (HS256) sent in
// X-Webhook-Signature; its payload claims `iss: "netlify"` and `sha256`, the hex SHA-256 of
// the request body. No timestamp, no event id, no event type header.

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64Url)
        .signature_header(
            "x-webhook-signature",
            SignatureSyntax::jws(JwsClaims::new("sha256").issuer("netlify")),
        )
        .content([Part::JwsSigningInput])
        .unchecked()
}
