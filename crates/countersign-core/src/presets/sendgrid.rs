use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{KeyFormat, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "sendgrid";
pub(super) const DESCRIPTION: &str = "SendGrid: X-Twilio-Email-Event-Webhook-Signature ECDSA P-256 (base64 DER) over timestamp+body; key base64 DER";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::EcdsaP256Sha256)
        .encoding(Encoding::Base64)
        .signature_header(
            "x-twilio-email-event-webhook-signature",
            SignatureSyntax::single(""),
        )
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-twilio-email-event-webhook-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([Part::Timestamp, Part::Body])
        .key_format(KeyFormat::Base64 { prefix: None })
        .unchecked()
}
