//! The providers' handshakes, ready-made ([`Handshake::BUILT_IN`] by name).

use std::borrow::Cow;

use http::HeaderName;

use super::{Handshake, HandshakeAnswer, HandshakeTrigger};
use crate::algorithm::Encoding;

impl Handshake {
    /// Slack's Events API check: `{"type":"url_verification","challenge":"…"}` is answered
    /// with `{"challenge":"…"}`.
    #[must_use]
    pub fn slack_url_verification() -> Self {
        Handshake::new(
            "url_verification",
            HandshakeTrigger::json_field("type", "url_verification"),
            HandshakeAnswer::EchoJson {
                path: vec![Cow::Borrowed("challenge")],
                key: Cow::Borrowed("challenge"),
            },
        )
    }

    /// Twitch EventSub's subscription check: a request whose
    /// `Twitch-Eventsub-Message-Type` header is `webhook_callback_verification` is answered
    /// with the body's `challenge`, as `text/plain`.
    #[must_use]
    pub fn twitch_webhook_callback_verification() -> Self {
        Handshake::new(
            "webhook_callback_verification",
            HandshakeTrigger::Header {
                name: HeaderName::from_static("twitch-eventsub-message-type"),
                value: Cow::Borrowed("webhook_callback_verification"),
            },
            HandshakeAnswer::EchoText {
                path: vec![Cow::Borrowed("challenge")],
            },
        )
    }

    /// Zoom's endpoint validation: `{"event":"endpoint.url_validation",
    /// "payload":{"plainToken":"…"}}` is answered with `{"plainToken":"…",
    /// "encryptedToken":"<hex HMAC-SHA256 of plainToken under the secret token>"}`. With
    /// several secrets configured (a rotation), the digest uses the first: list the secret
    /// token Zoom currently has first.
    #[must_use]
    pub fn zoom_endpoint_url_validation() -> Self {
        Handshake::new(
            "endpoint.url_validation",
            HandshakeTrigger::json_field("event", "endpoint.url_validation"),
            HandshakeAnswer::EchoWithMac {
                path: vec![Cow::Borrowed("payload"), Cow::Borrowed("plainToken")],
                echo_key: Cow::Borrowed("plainToken"),
                mac_key: Cow::Borrowed("encryptedToken"),
                encoding: Encoding::Hex,
            },
        )
    }

    /// Discord's interactions endpoint check: a `PING` (`{"type":1,…}`) is answered with the
    /// `PONG` `{"type":1}` as JSON.
    #[must_use]
    pub fn discord_ping() -> Self {
        Handshake::new(
            "PING",
            HandshakeTrigger::json_field("type", "1"),
            HandshakeAnswer::Fixed {
                content_type: Cow::Borrowed("application/json"),
                body: Cow::Borrowed(br#"{"type":1}"#),
            },
        )
    }

    /// Meta's (Facebook, Instagram, WhatsApp, Messenger) verification request:
    /// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` is answered with the
    /// challenge as `text/plain` when the verify token matches the verifier's
    /// [handshake token](crate::VerifierBuilder::handshake_token).
    #[must_use]
    pub fn meta_verification() -> Self {
        Handshake::new(
            "hub.challenge",
            HandshakeTrigger::Query {
                method: Cow::Borrowed("GET"),
                param: Cow::Borrowed("hub.mode"),
                value: Some(Cow::Borrowed("subscribe")),
            },
            HandshakeAnswer::EchoQueryWithToken {
                param: Cow::Borrowed("hub.challenge"),
                token_param: Cow::Borrowed("hub.verify_token"),
            },
        )
    }

    /// X's (Twitter's) challenge-response check: `GET ?crc_token=…` is answered with
    /// `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`.
    #[must_use]
    pub fn x_crc() -> Self {
        Handshake::new(
            "crc_token",
            HandshakeTrigger::Query {
                method: Cow::Borrowed("GET"),
                param: Cow::Borrowed("crc_token"),
                value: None,
            },
            HandshakeAnswer::QueryMacJson {
                param: Cow::Borrowed("crc_token"),
                key: Cow::Borrowed("response_token"),
                prefix: Cow::Borrowed("sha256="),
                encoding: Encoding::Base64,
            },
        )
    }

    /// Front's application webhook validation: a signed delivery whose JSON `type` is
    /// `sync` and that carries an `x-front-challenge` header is answered with
    /// `{"challenge": <the header's value>}`
    /// (<https://dev.frontapp.com/docs/application-webhooks>, "Application webhook
    /// validation"). Front does not sign the header, so the body must say `sync` too: the
    /// header added to a genuine event (by anyone on the path) does not turn the event into
    /// a handshake that the app never sees.
    #[must_use]
    pub fn front_challenge() -> Self {
        Handshake::new(
            "x-front-challenge",
            HandshakeTrigger::json_field("type", "sync"),
            HandshakeAnswer::EchoHeaderJson {
                name: HeaderName::from_static("x-front-challenge"),
                key: Cow::Borrowed("challenge"),
            },
        )
    }

    /// Microsoft Graph's subscription validation: `POST ?validationToken=…` is answered with
    /// the token as `text/plain` (unsigned: Graph sends nothing to check it with).
    #[must_use]
    pub fn graph_validation() -> Self {
        Handshake::new(
            "validationToken",
            HandshakeTrigger::Query {
                method: Cow::Borrowed("POST"),
                param: Cow::Borrowed("validationToken"),
                value: None,
            },
            HandshakeAnswer::EchoQuery {
                param: Cow::Borrowed("validationToken"),
            },
        )
    }

    /// The names of the built-in handshakes, as scheme files list them (`handshakes =
    /// ["slack-url-verification"]`); [`Handshake::built_in`] makes one from its name.
    pub const BUILT_IN: &'static [&'static str] = &[
        "slack-url-verification",
        "twitch-webhook-callback-verification",
        "zoom-endpoint-url-validation",
        "discord-ping",
        "meta-verification",
        "x-crc",
        "graph-validation",
        "front-challenge",
    ];

    /// The built-in handshake called `name` (one of [`Handshake::BUILT_IN`]), or `None`.
    ///
    /// ```
    /// use countersign_core::Handshake;
    ///
    /// assert_eq!(Handshake::built_in("x-crc"), Some(Handshake::x_crc()));
    /// assert!(Handshake::BUILT_IN.iter().all(|name| Handshake::built_in(name).is_some()));
    /// assert_eq!(Handshake::built_in("x_crc"), None);
    /// ```
    #[must_use]
    pub fn built_in(name: &str) -> Option<Handshake> {
        Some(match name {
            "slack-url-verification" => Handshake::slack_url_verification(),
            "twitch-webhook-callback-verification" => {
                Handshake::twitch_webhook_callback_verification()
            }
            "zoom-endpoint-url-validation" => Handshake::zoom_endpoint_url_validation(),
            "discord-ping" => Handshake::discord_ping(),
            "meta-verification" => Handshake::meta_verification(),
            "x-crc" => Handshake::x_crc(),
            "graph-validation" => Handshake::graph_validation(),
            "front-challenge" => Handshake::front_challenge(),
            _ => return None,
        })
    }
}
