use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "telegram";
pub(super) const DESCRIPTION: &str =
    "Telegram: X-Telegram-Bot-Api-Secret-Token equals the secret token; id JSON update_id";

// Documentation: https://core.telegram.org/bots/api#setwebhook
// Checked 2026-12-02 (issue 15) against:
// - https://core.telegram.org/bots/api#setwebhook (secret_token, sent back in X-Telegram-Bot-Api-Secret-Token; 1-256 chars A-Z a-z 0-9 _ -)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_header(
            "x-telegram-bot-api-secret-token",
            SignatureSyntax::single(""),
        )
        .content([])
        .event_id(EventIdSource::json_field("update_id"))
        .unchecked()
}
