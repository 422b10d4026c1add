//! Handshakes: signed requests a provider sends to check an endpoint, which must be answered
//! with a specific body instead of being handled as an event.
//!
//! A [`Handshake`] is data: a [`HandshakeTrigger`] (how to recognise the request) and a
//! [`HandshakeAnswer`] (what to send back). A scheme lists its handshakes
//! ([`SchemeBuilder::handshake`](crate::SchemeBuilder::handshake)); presets declare the
//! provider's (Slack's `url_verification`). [`Verifier::handshake`] computes the reply for a
//! delivery that has already been verified — a handshake is only ever answered after its
//! signature checked out.

use std::borrow::Cow;

use http::HeaderName;

use crate::error::ConfigError;
use crate::event_id;
use crate::verifier::{Delivery, Verifier};

/// Longest value a handshake echoes back, in bytes.
pub const MAX_CHALLENGE_LEN: usize = 1024;

/// How a handshake request is recognised.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HandshakeTrigger {
    /// The JSON body has `value` at `path` (object keys from the top level). An integer
    /// member matches its decimal text (`{"type":1}` matches `"1"`).
    JsonField {
        /// Object keys from the top level, e.g. `["type"]`.
        path: Vec<Cow<'static, str>>,
        /// The value, e.g. `url_verification`.
        value: Cow<'static, str>,
    },
    /// A header has exactly `value` (ASCII case-insensitive).
    Header {
        /// The header.
        name: HeaderName,
        /// The value, e.g. `webhook_callback_verification`.
        value: Cow<'static, str>,
    },
}

impl HandshakeTrigger {
    /// A top-level JSON member equal to `value`.
    #[must_use]
    pub fn json_field(key: &'static str, value: &'static str) -> Self {
        HandshakeTrigger::JsonField {
            path: vec![Cow::Borrowed(key)],
            value: Cow::Borrowed(value),
        }
    }

    fn matches(&self, delivery: &Delivery<'_>) -> bool {
        match self {
            HandshakeTrigger::JsonField { path, value } => {
                // Cheap pre-filter: most deliveries are events, not handshakes.
                contains(delivery.body(), value.as_bytes())
                    && event_id::from_json(delivery.body(), path)
                        .ok()
                        .flatten()
                        .is_some_and(|found| found == *value)
            }
            HandshakeTrigger::Header { name, value } => {
                let mut values = delivery.headers().get_all(name).iter();
                match (values.next(), values.next()) {
                    (Some(v), None) => v.as_bytes().eq_ignore_ascii_case(value.as_bytes()),
                    _ => false,
                }
            }
        }
    }
}

/// What a handshake is answered with (always `200 OK`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HandshakeAnswer {
    /// The string at `path` of the JSON body, sent back as the JSON object `{"<key>": …}`
    /// (Slack's `url_verification`).
    EchoJson {
        /// Where the value is, e.g. `["challenge"]`.
        path: Vec<Cow<'static, str>>,
        /// The key of the answer object, e.g. `challenge`.
        key: Cow<'static, str>,
    },
    /// The string at `path` of the JSON body, sent back as `text/plain`.
    EchoText {
        /// Where the value is, e.g. `["challenge"]`.
        path: Vec<Cow<'static, str>>,
    },
    /// A fixed body.
    Fixed {
        /// Its media type, e.g. `application/json`.
        content_type: Cow<'static, str>,
        /// The bytes.
        body: Cow<'static, [u8]>,
    },
}

/// One kind of handshake a provider performs: recognised by a [`HandshakeTrigger`], answered
/// with a [`HandshakeAnswer`]; [`Verifier::handshake`] computes the reply.
///
/// ```
/// use countersign_core::{Delivery, Preset, Signer, SignRequest, Verifier};
///
/// let verifier = Verifier::new(Preset::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?;
/// let signer = Signer::new(Preset::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?;
///
/// // Slack checks a new Events API URL with a signed `url_verification` request...
/// let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRN","type":"url_verification"}"#;
/// let headers = signer.sign(&SignRequest::new(body))?;
/// let delivery = Delivery::new(&headers, body);
/// verifier.verify(&delivery)?;
/// let reply = verifier.handshake(&delivery).expect("a url_verification");
/// assert_eq!(reply.content_type(), "application/json");
/// assert_eq!(reply.body(), br#"{"challenge":"3eZbrw1aBm2rZgRN"}"#);
///
/// // ...while an ordinary event is not a handshake.
/// let body = br#"{"type":"event_callback","event_id":"Ev1"}"#;
/// let headers = signer.sign(&SignRequest::new(body))?;
/// assert!(verifier.handshake(&Delivery::new(&headers, body)).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handshake {
    name: Cow<'static, str>,
    trigger: HandshakeTrigger,
    answer: HandshakeAnswer,
}

impl Handshake {
    /// A handshake called `name` (for logs), recognised by `trigger`, answered with `answer`.
    #[must_use]
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        trigger: HandshakeTrigger,
        answer: HandshakeAnswer,
    ) -> Self {
        Handshake {
            name: name.into(),
            trigger,
            answer,
        }
    }

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

    /// The name, e.g. `url_verification`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it is recognised.
    #[must_use]
    pub fn trigger(&self) -> &HandshakeTrigger {
        &self.trigger
    }

    /// How it is answered.
    #[must_use]
    pub fn answer(&self) -> &HandshakeAnswer {
        &self.answer
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let empty_path = |p: &[Cow<'static, str>]| p.is_empty();
        let bad = match (&self.trigger, &self.answer) {
            (HandshakeTrigger::JsonField { path, value }, _)
                if empty_path(path) || value.is_empty() =>
            {
                true
            }
            (HandshakeTrigger::Header { value, .. }, _) if value.is_empty() => true,
            (_, HandshakeAnswer::EchoJson { path, .. } | HandshakeAnswer::EchoText { path })
                if empty_path(path) =>
            {
                true
            }
            _ => false,
        };
        if bad {
            return Err(ConfigError::InvalidScheme(
                "a handshake needs a non-empty trigger value and JSON paths",
            ));
        }
        Ok(())
    }

    fn reply(&self, delivery: &Delivery<'_>) -> Option<HandshakeReply> {
        let (content_type, body) = match &self.answer {
            HandshakeAnswer::EchoJson { path, key } => {
                let value = challenge(delivery.body(), path)?;
                let mut object = serde_json::Map::new();
                object.insert(key.to_string(), serde_json::Value::String(value));
                let body = serde_json::to_vec(&object).ok()?;
                (Cow::Borrowed("application/json"), body)
            }
            HandshakeAnswer::EchoText { path } => (
                Cow::Borrowed("text/plain; charset=utf-8"),
                challenge(delivery.body(), path)?.into_bytes(),
            ),
            HandshakeAnswer::Fixed { content_type, body } => {
                (content_type.clone(), body.clone().into_owned())
            }
        };
        Some(HandshakeReply {
            name: self.name.clone(),
            content_type,
            body,
        })
    }
}

/// The answer to a handshake: send it with status `200 OK` instead of calling the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeReply {
    name: Cow<'static, str>,
    content_type: Cow<'static, str>,
    body: Vec<u8>,
}

impl HandshakeReply {
    /// Which handshake this answers, e.g. `url_verification`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Content-Type` to send.
    #[must_use]
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The body to send.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body to send, owned.
    #[must_use]
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

impl Verifier {
    /// The reply to `delivery` when it is one of the scheme's handshakes, `None` for an
    /// ordinary delivery.
    ///
    /// Call it only with a delivery that [`verify`](Self::verify) accepted: this method
    /// checks no signature. Pure: no I/O, nothing stored.
    #[must_use]
    pub fn handshake(&self, delivery: &Delivery<'_>) -> Option<HandshakeReply> {
        self.scheme()
            .handshakes()
            .iter()
            .find(|h| h.trigger.matches(delivery))
            .and_then(|h| h.reply(delivery))
    }
}

/// A non-empty string of at most [`MAX_CHALLENGE_LEN`] bytes at `path`.
fn challenge(body: &[u8], path: &[Cow<'static, str>]) -> Option<String> {
    event_id::from_json(body, path)
        .ok()
        .flatten()
        .filter(|v| v.len() <= MAX_CHALLENGE_LEN)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Preset, Scheme, SignRequest, Signer};
    use http::HeaderMap;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

    fn slack(body: &[u8]) -> (Verifier, HeaderMap) {
        let verifier = Verifier::new(Preset::Slack, SECRET).unwrap();
        let headers = Signer::new(Preset::Slack, SECRET)
            .unwrap()
            .sign(&SignRequest::new(body))
            .unwrap();
        (verifier, headers)
    }

    #[test]
    fn slack_challenge_is_echoed_as_json_with_escaping() {
        let body = br#"{"type":"url_verification","challenge":"a\"b<c>"}"#;
        let (v, h) = slack(body);
        let reply = v.handshake(&Delivery::new(&h, body)).unwrap();
        assert_eq!(reply.name(), "url_verification");
        assert_eq!(reply.body(), br#"{"challenge":"a\"b<c>"}"#);
    }

    #[test]
    fn not_a_handshake() {
        for body in [
            &br#"{"type":"event_callback","challenge":"x"}"#[..],
            br#"{"type":"url_verification"}"#,
            br#"{"type":"url_verification","challenge":{"x":1}}"#,
            br#"{"type":"url_verification","challenge":""}"#,
            b"token=x&type=url_verification",
            b"\xff\xfe url_verification",
            br#"{"event":{"type":"url_verification"},"challenge":"x"}"#,
        ] {
            let (v, h) = slack(body);
            assert!(v.handshake(&Delivery::new(&h, body)).is_none(), "{body:?}");
        }
    }

    #[test]
    fn overlong_challenge_is_not_echoed() {
        let body = format!(
            r#"{{"type":"url_verification","challenge":"{}"}}"#,
            "a".repeat(MAX_CHALLENGE_LEN + 1)
        );
        let (v, h) = slack(body.as_bytes());
        assert!(v.handshake(&Delivery::new(&h, body.as_bytes())).is_none());
    }

    #[test]
    fn schemes_without_handshakes_never_answer() {
        let body = br#"{"type":"url_verification","challenge":"x"}"#;
        let v = Verifier::new(Preset::Github, "s").unwrap();
        assert!(
            v.handshake(&Delivery::new(&HeaderMap::new(), body))
                .is_none()
        );
    }

    #[test]
    fn header_trigger_text_and_fixed_answers() {
        let scheme = Scheme::builder("acme")
            .signature_header("x-acme-signature", crate::SignatureSyntax::single(""))
            .handshake(Handshake::new(
                "verify",
                HandshakeTrigger::Header {
                    name: HeaderName::from_static("x-acme-type"),
                    value: Cow::Borrowed("verification"),
                },
                HandshakeAnswer::EchoText {
                    path: vec![Cow::Borrowed("challenge")],
                },
            ))
            .handshake(Handshake::new(
                "ping",
                HandshakeTrigger::json_field("type", "1"),
                HandshakeAnswer::Fixed {
                    content_type: Cow::Borrowed("application/json"),
                    body: Cow::Borrowed(br#"{"type":1}"#),
                },
            ))
            .build()
            .unwrap();
        let v = Verifier::new(scheme, "s").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-acme-type", "Verification".parse().unwrap());
        let reply = v
            .handshake(&Delivery::new(&h, br#"{"challenge":"pong"}"#))
            .unwrap();
        assert_eq!(
            (reply.content_type(), reply.body()),
            ("text/plain; charset=utf-8", &b"pong"[..])
        );
        let reply = v
            .handshake(&Delivery::new(&HeaderMap::new(), br#"{"type":1}"#))
            .unwrap();
        assert_eq!(reply.into_body(), br#"{"type":1}"#);
        assert!(
            v.handshake(&Delivery::new(&HeaderMap::new(), br#"{"type":2}"#))
                .is_none()
        );
    }

    #[test]
    fn empty_trigger_is_a_config_error() {
        let built = Scheme::builder("acme")
            .signature_header("x-acme-signature", crate::SignatureSyntax::single(""))
            .handshake(Handshake::new(
                "bad",
                HandshakeTrigger::json_field("type", ""),
                HandshakeAnswer::EchoText { path: vec![] },
            ))
            .build();
        assert!(matches!(built, Err(ConfigError::InvalidScheme(_))));
    }
}
