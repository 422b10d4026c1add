use crate::event_type::EventTypeSource;
use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{
    EventIdSource, KeyFormat, Part, Scheme, SignatureSyntax, TimestampSource, TimestampSpec,
    TimestampUnit,
};

pub(super) const NAME: &str = "standard-webhooks";
pub(super) const DESCRIPTION: &str = "Standard Webhooks: webhook-id/-timestamp/-signature (v1, HMAC-SHA256, base64), whsec_ base64 secret; whpk_ key: v1a Ed25519";

pub(super) fn scheme() -> Scheme {
    let id = [HeaderName::from_static("webhook-id")];
    let timestamp = [HeaderName::from_static("webhook-timestamp")];
    let signature = [HeaderName::from_static("webhook-signature")];
    let mut scheme = with_headers(NAME, &id, &timestamp, &signature);
    // `v1a`: the same content signed with Ed25519; a `whpk_` public key selects it.
    let mut v1a = with_headers(NAME, &id, &timestamp, &signature);
    v1a.algorithm = Algorithm::Ed25519;
    v1a.syntax = SignatureSyntax::versioned_list("v1a");
    v1a.key_format = KeyFormat::Base64 {
        prefix: Some("whpk_".into()),
    };
    scheme.alternatives.push(v1a);
    scheme
}

/// The Standard Webhooks scheme under other header names (Svix).
pub(super) fn with_headers(
    name: &'static str,
    id: &[HeaderName],
    timestamp: &[HeaderName],
    signature: &[HeaderName],
) -> Scheme {
    let mut builder = Scheme::builder(name)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .key_format(KeyFormat::Base64 {
            prefix: Some("whsec_".into()),
        })
        .timestamp(TimestampSpec {
            source: TimestampSource::Header(timestamp.to_vec()),
            unit: TimestampUnit::Seconds,
        })
        .content([
            Part::Header(id.to_vec()),
            Part::literal("."),
            Part::Timestamp,
            Part::literal("."),
            Part::Body,
        ])
        .event_id(EventIdSource::Header(id.to_vec()))
        .event_type(EventTypeSource::json_field(&["type"]));
    let mut names = signature.iter();
    if let Some(first) = names.next() {
        builder = builder.signature_header(first.clone(), SignatureSyntax::versioned_list("v1"));
    }
    for fallback in names {
        builder = builder.signature_header_fallback(fallback.clone());
    }
    builder.unchecked()
}
