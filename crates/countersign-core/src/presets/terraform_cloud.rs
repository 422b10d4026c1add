use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "terraform-cloud";
pub(super) const DESCRIPTION: &str =
    "Terraform Cloud: X-TFE-Notification-Signature <hex> HMAC-SHA512 over the body";

// Documentation: https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha512)
        .encoding(Encoding::Hex)
        .signature_header("x-tfe-notification-signature", SignatureSyntax::single(""))
        .unchecked()
}
