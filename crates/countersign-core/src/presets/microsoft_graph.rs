use std::borrow::Cow;

use crate::algorithm::{Algorithm, Encoding};
use crate::handshake::Handshake;
use crate::scheme::{Scheme, SignatureSource, SignatureSyntax};

pub(super) const NAME: &str = "microsoft-graph";
pub(super) const DESCRIPTION: &str = "Microsoft Graph change notifications: every notification's clientState equals the configured secret (constant time; nothing is signed); POST validationToken echoed";

// Documentation: https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
// (validation: POST ?validationToken=… answered within 10 s with 200 and the decoded token as
// text/plain; notifications: {"value": [{…, "clientState": "…"}]}, "verify that the
// clientState property matches the value you set when creating the subscription").

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_source(
            SignatureSource::JsonArrayField {
                array: vec![Cow::Borrowed("value")],
                field: vec![Cow::Borrowed("clientState")],
            },
            SignatureSyntax::single(""),
        )
        .content([])
        .handshake(Handshake::graph_validation())
        .unchecked()
}
