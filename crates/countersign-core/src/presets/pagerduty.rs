use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "pagerduty";
pub(super) const DESCRIPTION: &str = "PagerDuty v3: X-PagerDuty-Signature v1=<hex>[,v1=…] HMAC-SHA256 over the body; id JSON event.id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-pagerduty-signature",
            SignatureSyntax::key_value(',', "v1"),
        )
        .event_id(EventIdSource::json_path(&["event", "id"]))
        .event_type(EventTypeSource::json_field(&["event", "event_type"]))
        .unchecked()
}
