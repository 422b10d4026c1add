use http::HeaderName;

use crate::event_type::EventTypeSource;
use crate::scheme::{KeyFormat, Scheme};

pub(super) const NAME: &str = "polar";
pub(super) const DESCRIPTION: &str = "Polar: Standard Webhooks headers; whsec_ secret base64-decoded, any other secret (polar_whs_…) used as raw bytes; type JSON type";

// Documentation: https://polar.sh/docs/integrate/webhooks/endpoints (Standard Webhooks).
// Polar's SDKs (`validateEvent`, polarsource/polar-js src/webhooks.ts) base64-encode the
// secret before handing it to the Standard Webhooks library, so the HMAC key is the secret's
// own bytes; secrets issued in the `whsec_<base64>` form are decoded like any Standard
// Webhooks secret.

pub(super) fn scheme() -> Scheme {
    let id = [HeaderName::from_static("webhook-id")];
    let timestamp = [HeaderName::from_static("webhook-timestamp")];
    let signature = [HeaderName::from_static("webhook-signature")];
    // The primary mode: the secret's bytes are the key.
    let mut scheme = super::standard_webhooks::with_headers(NAME, &id, &timestamp, &signature);
    let standard = super::standard_webhooks::with_headers(NAME, &id, &timestamp, &signature);
    scheme.key_format = KeyFormat::Raw;
    scheme.event_type = EventTypeSource::json_field(&["type"]);
    // A `whsec_` secret selects the standard decoding.
    scheme.alternatives.push(standard);
    scheme
}
