use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "recurly";
pub(super) const DESCRIPTION: &str = "Recurly: recurly-signature <unix ms>,<hex>[,<hex>…] HMAC-SHA256 over `timestamp.body`; JSON webhooks only";

// Documentation: https://docs.recurly.com/recurly-subscriptions/docs/signature-verification
// ("a Unix timestamp (in milliseconds), followed by one or more hexadecimal signatures";
// split on commas, the first element is the timestamp; HMAC-SHA256 of `timestamp.body` with
// the endpoint's secret key; both keys sign for 24 hours after a regeneration; XML payloads
// are not signed). Tolerance 5 minutes, as Recurly's client libraries' default.

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("recurly-signature", SignatureSyntax::timestamp_first(','))
        .timestamp(TimestampSpec::in_signature_header(
            TimestampUnit::Milliseconds,
        ))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .unchecked()
}
