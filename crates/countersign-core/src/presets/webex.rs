use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "webex";
pub(super) const DESCRIPTION: &str =
    "Webex: X-Spark-Signature <hex> HMAC-SHA1 over the body; id JSON id; type resource.event";

// Documentation: https://developer.webex.com/docs/api/guides/webhooks#handling-requests-from-webex

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Hex)
        .signature_header("x-spark-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["resource"]).then_json_field(&["event"]))
        .unchecked()
}
