use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Part, Scheme, SignatureSyntax, UrlPart};

pub(super) const NAME: &str = "hubspot-v2";
pub(super) const DESCRIPTION: &str = "HubSpot v2: X-HubSpot-Signature <hex> = SHA-256(client secret + method + URI + body), no timestamp";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Sha256SecretPrefix)
        .encoding(Encoding::Hex)
        .signature_header("x-hubspot-signature", SignatureSyntax::single(""))
        .content([Part::Method, Part::Url(UrlPart::exact()), Part::Body])
        .unchecked()
}
