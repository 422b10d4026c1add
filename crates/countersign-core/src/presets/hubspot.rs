use http::HeaderName;

use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{
    Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance, UrlPart,
};

pub(super) const NAME: &str = "hubspot";
pub(super) const DESCRIPTION: &str = "HubSpot v3: X-HubSpot-Signature-v3 <base64> HMAC-SHA256 over method+URI+body+timestamp (ms), 5 min";

/// HubSpot decodes these characters in the request URI before signing.
const DECODED: &[u8] = b":/?@!$'()*,;";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-hubspot-signature-v3", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-hubspot-request-timestamp"),
            TimestampUnit::Milliseconds,
        ))
        .content([
            Part::Method,
            Part::Url(UrlPart::exact().decoding(DECODED)),
            Part::Body,
            Part::Timestamp,
        ])
        .tolerance(Tolerance::symmetric(Duration::from_secs(300)))
        .unchecked()
}
