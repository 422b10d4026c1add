use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "terraform-cloud";
pub(super) const DESCRIPTION: &str =
    "Terraform Cloud: X-TFE-Notification-Signature <hex> HMAC-SHA512 over the body";

// Documentation: https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity
// Checked 2026-12-02 (issue 15) against:
// - https://github.com/hashicorp/web-unified-docs/pull/866 (HCP Terraform docs: X-TFE-Notification-Signature on configurations with a token); hex HMAC-SHA512 as in the public verifiers found

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha512)
        .encoding(Encoding::Hex)
        .signature_header("x-tfe-notification-signature", SignatureSyntax::single(""))
        .unchecked()
}
