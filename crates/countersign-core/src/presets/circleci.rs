use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "circleci";
pub(super) const DESCRIPTION: &str =
    "CircleCI: circleci-signature v1=<hex> HMAC-SHA256 over the body; id JSON id; type JSON type";

// Documentation: https://circleci.com/docs/webhooks/#validate-webhooks
// Checked 2026-12-02 (issue 15) against:
// - https://discuss.circleci.com/t/circleci-webhook-secret-token-decryption-or-validation/40979 (CircleCI staff: only v1, HMAC-SHA256 of the body with the signing secret)
// - https://circleci.com/docs/webhooks/ (deduplicate on the payload's `id`)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("circleci-signature", SignatureSyntax::key_value(',', "v1"))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
