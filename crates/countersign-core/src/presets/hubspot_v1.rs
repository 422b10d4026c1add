use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "hubspot-v1";
pub(super) const DESCRIPTION: &str =
    "HubSpot v1: X-HubSpot-Signature <hex> = SHA-256(client secret + body), no timestamp";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Sha256SecretPrefix)
        .encoding(Encoding::Hex)
        .signature_header("x-hubspot-signature", SignatureSyntax::single(""))
        .unchecked()
}
