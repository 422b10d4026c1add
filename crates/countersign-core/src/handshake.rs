//! Handshakes: signed requests a provider sends to check an endpoint, which must be answered
//! with a specific body instead of being handled as an event.
//!
//! A [`Handshake`] is data: a [`HandshakeTrigger`] (how to recognise the request) and a
//! [`HandshakeAnswer`] (what to send back). A scheme lists its handshakes
//! ([`SchemeBuilder::handshake`](crate::SchemeBuilder::handshake)); presets declare the
//! provider's: Slack `url_verification`, Twitch `webhook_callback_verification`, Zoom
//! `endpoint.url_validation`, Discord `PING`. [`Prepared::finish`](crate::Prepared::finish) computes the reply for
//! a delivery whose signature it has just verified — a handshake is only ever answered after its
//! signature checked out.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};

use crate::algorithm::{Algorithm, Encoding};
use crate::error::ConfigError;
use crate::json_path;

mod built_in;
mod replies;

pub use replies::HandshakeReply;
pub(crate) use replies::{RequestRefusal, reply, request_reply};

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
    /// An **unsigned** request of `method` whose URL query has `param` (equal to `value`
    /// when one is given): Meta's `GET ?hub.mode=subscribe…`, X's `GET ?crc_token=…`,
    /// Microsoft Graph's `POST ?validationToken=…`. These are answered before any signature
    /// is checked ([`Verifier::request_handshake`](crate::Verifier::request_handshake)),
    /// so their answers prove only what the sender could not compute itself (X's CRC is an
    /// HMAC under the secret; Meta's echo needs the verify token) or nothing at all (Graph).
    Query {
        /// The request method, e.g. `GET`.
        method: Cow<'static, str>,
        /// The query parameter that marks the handshake, e.g. `hub.mode`.
        param: Cow<'static, str>,
        /// Its value, when it must have one, e.g. `subscribe`.
        value: Option<Cow<'static, str>>,
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

    fn matches(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        match self {
            HandshakeTrigger::JsonField { path, value } => {
                // Cheap pre-filter: most deliveries are events, not handshakes.
                contains(body, value.as_bytes())
                    && json_path::json_value(body, path).is_some_and(|found| found == *value)
            }
            HandshakeTrigger::Query { .. } => false,
            HandshakeTrigger::Header { name, value } => {
                single(headers, name).is_some_and(|v| v.eq_ignore_ascii_case(value.as_bytes()))
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The value of `name` when the header is present exactly once.
fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h [u8]> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => Some(v.as_bytes()),
        _ => None,
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
    /// The value of the header `name`, sent back as the JSON object `{"<key>": …}` (Front's
    /// `x-front-challenge` → `{"challenge": …}`). Same character rules as
    /// [`EchoQuery`](Self::EchoQuery): only printable ASCII without `<>&"'\`, at most
    /// [`MAX_CHALLENGE_LEN`] bytes, the header present once; otherwise the delivery is not
    /// answered (it is treated as an event).
    EchoHeaderJson {
        /// The header, e.g. `x-front-challenge`.
        name: HeaderName,
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
    /// The string at `path` of the JSON body and its keyed digest
    /// under the verifier's first secret, sent back as the JSON object
    /// `{"<echo_key>": value, "<mac_key>": encoded digest}` (Zoom's `endpoint.url_validation`:
    /// `{"plainToken": …, "encryptedToken": hex HMAC-SHA256}`). Only for HMAC schemes.
    EchoWithMac {
        /// Where the value is, e.g. `["payload", "plainToken"]`.
        path: Vec<Cow<'static, str>>,
        /// The key the value is echoed under, e.g. `plainToken`.
        echo_key: Cow<'static, str>,
        /// The key of the digest, e.g. `encryptedToken`.
        mac_key: Cow<'static, str>,
        /// How the digest is written, e.g. [`Encoding::Hex`].
        encoding: Encoding,
    },
    /// The query parameter `param`, sent back as `text/plain` (Microsoft Graph's
    /// `validationToken`). Only printable ASCII without `<>&"'\` is echoed, at most
    /// [`MAX_CHALLENGE_LEN`] bytes; anything else is refused.
    EchoQuery {
        /// The parameter, e.g. `validationToken`.
        param: Cow<'static, str>,
    },
    /// The query parameter `param`, sent back as `text/plain` only when the query parameter
    /// `token_param` equals the verifier's handshake token (compared in constant time): Meta's
    /// `hub.challenge` / `hub.verify_token`. Same character rules as [`EchoQuery`](Self::EchoQuery).
    EchoQueryWithToken {
        /// The echoed parameter, e.g. `hub.challenge`.
        param: Cow<'static, str>,
        /// The parameter carrying the token, e.g. `hub.verify_token`.
        token_param: Cow<'static, str>,
    },
    /// The keyed digest (under the verifier's first secret) of the query parameter `param`,
    /// sent back as the JSON object `{"<key>": "<prefix><encoded digest>"}` (X's CRC:
    /// `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`).
    QueryMacJson {
        /// The parameter, e.g. `crc_token`.
        param: Cow<'static, str>,
        /// The key of the answer object, e.g. `response_token`.
        key: Cow<'static, str>,
        /// Text before the digest, e.g. `sha256=`.
        prefix: Cow<'static, str>,
        /// How the digest is written.
        encoding: Encoding,
    },
}

/// One kind of handshake a provider performs: recognised by a [`HandshakeTrigger`], answered
/// with a [`HandshakeAnswer`]; [`Prepared::finish`](crate::Prepared::finish)
/// computes the reply.
///
/// ```
/// use countersign_core::{Outcome, Preset, Signer, SignRequest, Verifier};
///
/// let verifier = Verifier::new(Preset::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?;
/// let signer = Signer::new(Preset::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?;
///
/// // Slack checks a new Events API URL with a signed `url_verification` request...
/// let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRN","type":"url_verification"}"#;
/// let headers = signer.sign(&SignRequest::new(body))?;
/// let outcome = verifier.prepare(&headers)?.finish(body)?;
/// let reply = outcome.handshake().expect("a url_verification");
/// assert_eq!(reply.content_type(), "application/json");
/// assert_eq!(reply.body(), br#"{"challenge":"3eZbrw1aBm2rZgRN"}"#);
///
/// // ...while an ordinary event is not a handshake.
/// let body = br#"{"type":"event_callback","event_id":"Ev1"}"#;
/// let headers = signer.sign(&SignRequest::new(body))?;
/// assert!(matches!(verifier.prepare(&headers)?.finish(body)?, Outcome::Event(_)));
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

    /// Whether this handshake comes as an unsigned request recognised by its method and
    /// query ([`HandshakeTrigger::Query`]).
    #[must_use]
    pub fn is_request(&self) -> bool {
        matches!(self.trigger, HandshakeTrigger::Query { .. })
    }

    /// The method of an unsigned request handshake (`GET` for Meta and X), else `None`.
    #[must_use]
    pub fn request_method(&self) -> Option<&str> {
        match &self.trigger {
            HandshakeTrigger::Query { method, .. } => Some(method),
            _ => None,
        }
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

    /// Checks the handshake for a scheme signed with `algorithm`.
    pub(crate) fn validate(&self, algorithm: Algorithm) -> Result<(), ConfigError> {
        if let HandshakeAnswer::EchoWithMac {
            path,
            echo_key,
            mac_key,
            ..
        } = &self.answer
        {
            if path.is_empty() || echo_key.is_empty() || mac_key.is_empty() || echo_key == mac_key {
                return Err(ConfigError::InvalidScheme(
                    "a handshake digest answer needs a JSON path and two distinct non-empty keys",
                ));
            }
            if !algorithm.is_hmac() {
                return Err(ConfigError::InvalidScheme(
                    "a handshake digest answer needs an HMAC scheme",
                ));
            }
        }
        let query_answer = matches!(
            self.answer,
            HandshakeAnswer::EchoQuery { .. }
                | HandshakeAnswer::EchoQueryWithToken { .. }
                | HandshakeAnswer::QueryMacJson { .. }
        );
        if query_answer != self.is_request() {
            return Err(ConfigError::InvalidScheme(
                "query answers go with query triggers, and only with them",
            ));
        }
        match (&self.trigger, &self.answer) {
            (
                HandshakeTrigger::Query {
                    method,
                    param,
                    value,
                },
                _,
            ) if method.is_empty()
                || param.is_empty()
                || value.as_ref().is_some_and(|v| v.is_empty()) =>
            {
                return Err(ConfigError::InvalidScheme(
                    "a query handshake needs a method and a parameter",
                ));
            }
            (_, HandshakeAnswer::QueryMacJson { .. }) if !algorithm.is_hmac() => {
                return Err(ConfigError::InvalidScheme(
                    "a handshake digest answer needs an HMAC scheme",
                ));
            }
            _ => {}
        }
        let empty_path = |p: &[Cow<'static, str>]| p.is_empty();
        let bad = match (&self.trigger, &self.answer) {
            (HandshakeTrigger::JsonField { path, value }, _)
                if empty_path(path) || value.is_empty() =>
            {
                true
            }
            (HandshakeTrigger::Header { value, .. }, _) if value.is_empty() => true,
            (_, HandshakeAnswer::EchoHeaderJson { key, .. }) if key.is_empty() => true,
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
}

impl<'de> serde::Deserialize<'de> for Handshake {
    /// A built-in handshake by name (see [`Handshake::BUILT_IN`]).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(deserializer)?;
        Handshake::built_in(&name).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "`{name}`: expected a built-in handshake: {}",
                Handshake::BUILT_IN.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Delivery, Preset, Scheme, SignRequest, Signer, Verifier};
    use http::HeaderMap;

    /// The reply the verifier's handshakes give, signature unchecked.
    fn hs(v: &Verifier, headers: &HeaderMap, body: &[u8]) -> Option<HandshakeReply> {
        reply(v.scheme().handshakes(), headers, body, &|m| v.mac(m))
    }

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
        let reply = hs(&v, &h, body).unwrap();
        assert_eq!(reply.name(), "url_verification");
        assert_eq!(reply.body(), br#"{"challenge":"a\"b<c>"}"#);
    }

    /// Front's validation: a signed delivery with `x-front-challenge` is answered with the
    /// header's value as JSON; only after the signature matched; odd values are not echoed.
    #[test]
    fn front_challenge_is_answered_after_the_signature() {
        let secret = "front app signing key";
        let verifier = Verifier::new(Preset::Front, secret).unwrap();
        let signer = Signer::new(Preset::Front, secret).unwrap();
        let body = br#"{"type":"sync","authorization":{"id":"cmp_abc"}}"#;
        let signed = |challenge: &[u8]| {
            let mut headers = signer.sign(&SignRequest::new(body)).unwrap();
            headers.insert(
                "x-front-challenge",
                http::HeaderValue::from_bytes(challenge).unwrap(),
            );
            headers
        };
        let outcome = |headers: &HeaderMap, body: &[u8]| {
            verifier.prepare(headers).and_then(|p| p.finish(body))
        };
        let reply = outcome(&signed(b"8Nc6kmD3"), body)
            .unwrap()
            .handshake()
            .cloned()
            .expect("a handshake");
        assert_eq!(reply.name(), "x-front-challenge");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(reply.body(), br#"{"challenge":"8Nc6kmD3"}"#);
        // Tampered body: refused before any answer.
        assert!(outcome(&signed(b"8Nc6kmD3"), b"{}").is_err());
        // Values that are not echoed: the delivery is an event, not answered.
        let long = vec![b'a'; MAX_CHALLENGE_LEN + 1];
        for challenge in [&b"<script>"[..], b"a\"b", &long] {
            let o = outcome(&signed(challenge), body).unwrap();
            assert!(o.handshake().is_none(), "{challenge:?}");
        }
        // Twice: not answered either.
        let mut twice = signed(b"one");
        twice.append("x-front-challenge", http::HeaderValue::from_static("two"));
        assert!(outcome(&twice, body).unwrap().handshake().is_none());
        // Without the header: an event.
        let plain = signer.sign(&SignRequest::new(body)).unwrap();
        assert!(outcome(&plain, body).unwrap().handshake().is_none());
        // The header (which Front does not sign) added to a signed event: still an event.
        let event = br#"{"type":"inbound_received","id":"evt_1"}"#;
        let mut headers = signer.sign(&SignRequest::new(event)).unwrap();
        headers.insert("x-front-challenge", http::HeaderValue::from_static("x"));
        assert!(outcome(&headers, event).unwrap().handshake().is_none());
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
            assert!(hs(&v, &h, body).is_none(), "{body:?}");
        }
    }

    #[test]
    fn overlong_challenge_is_not_echoed() {
        let body = format!(
            r#"{{"type":"url_verification","challenge":"{}"}}"#,
            "a".repeat(MAX_CHALLENGE_LEN + 1)
        );
        let (v, h) = slack(body.as_bytes());
        assert!(hs(&v, &h, body.as_bytes()).is_none());
    }

    #[test]
    fn schemes_without_handshakes_never_answer() {
        let body = br#"{"type":"url_verification","challenge":"x"}"#;
        let v = Verifier::new(Preset::Github, "s").unwrap();
        assert!(hs(&v, &HeaderMap::new(), body).is_none());
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
        let reply = hs(&v, &h, br#"{"challenge":"pong"}"#).unwrap();
        assert_eq!(
            (reply.content_type(), reply.body()),
            ("text/plain; charset=utf-8", &b"pong"[..])
        );
        let reply = hs(&v, &HeaderMap::new(), br#"{"type":1}"#).unwrap();
        assert_eq!(reply.into_body(), br#"{"type":1}"#);
        assert!(hs(&v, &HeaderMap::new(), br#"{"type":2}"#).is_none());
    }

    #[test]
    fn twitch_challenge_is_echoed_as_text_when_the_header_says_so() {
        let secret = "twitch-eventsub-secret";
        let v = Verifier::new(Preset::Twitch, secret).unwrap();
        let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow"}}"#;
        let sign = |kind: &str| {
            let mut h = Signer::new(Preset::Twitch, secret)
                .unwrap()
                .sign(&SignRequest::new(body).id("e76c6bd4-55c9-4987-8304-da1588d8988b"))
                .unwrap();
            h.insert("twitch-eventsub-message-type", kind.parse().unwrap());
            h
        };
        let h = sign("webhook_callback_verification");
        v.verify(&Delivery::new(&h, body)).unwrap();
        let reply = hs(&v, &h, body).unwrap();
        assert_eq!(reply.name(), "webhook_callback_verification");
        assert_eq!(reply.content_type(), "text/plain; charset=utf-8");
        assert_eq!(reply.body(), b"pogchamp-kappa-360noscope-vohiyo");
        // A notification with a `challenge` member is still an event.
        for kind in ["notification", "revocation"] {
            let h = sign(kind);
            assert!(hs(&v, &h, body).is_none(), "{kind}");
        }
        // No header, or two of them: not a handshake.
        assert!(hs(&v, &HeaderMap::new(), body).is_none());
        let mut twice = sign("webhook_callback_verification");
        twice.append(
            "twitch-eventsub-message-type",
            "webhook_callback_verification".parse().unwrap(),
        );
        assert!(hs(&v, &twice, body).is_none());
    }

    #[test]
    fn zoom_plain_token_is_answered_with_its_hmac() {
        // RFC 4231 test case 2: HMAC-SHA256 with key "Jefe" of "what do ya want for nothing?".
        let v = Verifier::new(Preset::Zoom, "Jefe").unwrap();
        let body = br#"{"payload":{"plainToken":"what do ya want for nothing?"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
        let h = Signer::new(Preset::Zoom, "Jefe")
            .unwrap()
            .sign(&SignRequest::new(body))
            .unwrap();
        v.verify(&Delivery::new(&h, body)).unwrap();
        let reply = hs(&v, &h, body).unwrap();
        assert_eq!(reply.name(), "endpoint.url_validation");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(
            std::str::from_utf8(reply.body()).unwrap(),
            r#"{"plainToken":"what do ya want for nothing?","encryptedToken":"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"}"#
        );
        // Escaped in the answer like any JSON string.
        let body = br#"{"event":"endpoint.url_validation","payload":{"plainToken":"a\"b"}}"#;
        let reply = hs(&v, &h, body).unwrap();
        let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(json["plainToken"], "a\"b");
        assert_eq!(json["encryptedToken"], hex::encode(v.mac(b"a\"b").unwrap()));
        for body in [
            &br#"{"event":"meeting.started","payload":{"plainToken":"x"}}"#[..],
            br#"{"event":"endpoint.url_validation","payload":{}}"#,
            br#"{"event":"endpoint.url_validation","plainToken":"x"}"#,
        ] {
            assert!(hs(&v, &h, body).is_none(), "{body:?}");
        }
    }

    #[test]
    fn discord_ping_is_answered_with_pong() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let v =
            Verifier::new(Preset::Discord, hex::encode(key.verifying_key().as_bytes())).unwrap();
        let ping = br#"{"application_id":"1","id":"2","token":"t","type":1,"version":1}"#;
        let reply = hs(&v, &HeaderMap::new(), ping).unwrap();
        assert_eq!(reply.name(), "PING");
        assert_eq!(
            (reply.content_type(), reply.body()),
            ("application/json", &br#"{"type":1}"#[..])
        );
        for body in [
            &br#"{"id":"3","type":2,"data":{"type":1,"name":"ping"}}"#[..],
            br#"{"id":"3","type":"1x"}"#,
            br#"[{"type":1}]"#,
        ] {
            assert!(hs(&v, &HeaderMap::new(), body).is_none(), "{body:?}");
        }
    }

    #[test]
    fn digest_answers_need_an_hmac_scheme_and_two_keys() {
        let answer = |echo: &'static str, mac: &'static str| {
            Handshake::new(
                "check",
                HandshakeTrigger::json_field("event", "check"),
                HandshakeAnswer::EchoWithMac {
                    path: vec![Cow::Borrowed("token")],
                    echo_key: Cow::Borrowed(echo),
                    mac_key: Cow::Borrowed(mac),
                    encoding: Encoding::Base64,
                },
            )
        };
        let scheme = |alg: Algorithm, h: Handshake| {
            Scheme::builder("acme")
                .algorithm(alg)
                .signature_header("x-acme-signature", crate::SignatureSyntax::single(""))
                .handshake(h)
                .build()
        };
        assert!(scheme(Algorithm::HmacSha512, answer("token", "digest")).is_ok());
        for (alg, h) in [
            (Algorithm::Ed25519, answer("token", "digest")),
            (Algorithm::Token, answer("token", "digest")),
            (Algorithm::HmacSha256, answer("same", "same")),
            (Algorithm::HmacSha256, answer("", "digest")),
        ] {
            assert!(
                matches!(scheme(alg, h), Err(ConfigError::InvalidScheme(_))),
                "{alg:?}"
            );
        }
        // Base64 digests, through a scheme of one's own.
        let v = Verifier::new(
            scheme(Algorithm::HmacSha512, answer("token", "digest")).unwrap(),
            "k",
        )
        .unwrap();
        let reply = hs(&v, &HeaderMap::new(), br#"{"event":"check","token":"t1"}"#).unwrap();
        let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(
            json["digest"],
            Encoding::Base64.encode(&v.mac(b"t1").unwrap())
        );
    }

    #[test]
    fn presets_declare_their_providers_handshakes() {
        let declared: Vec<String> = Preset::ALL
            .iter()
            .flat_map(|p| {
                let scheme = p.scheme();
                let names: Vec<String> = scheme
                    .handshakes()
                    .iter()
                    .map(|h| format!("{p}: {}", h.name()))
                    .collect();
                names
            })
            .collect();
        assert_eq!(
            declared,
            [
                "slack: url_verification",
                "twitch: webhook_callback_verification",
                "zoom: endpoint.url_validation",
                "discord: PING",
                "front: x-front-challenge",
                "meta: hub.challenge",
                "x: crc_token",
                "microsoft-graph: validationToken",
            ]
        );
    }

    fn meta() -> Verifier {
        Verifier::builder(Preset::Meta)
            .secret("app-secret")
            .handshake_token("verify-me")
            .build()
            .unwrap()
    }

    fn kind(r: Option<Result<HandshakeReply, crate::VerifyError>>) -> crate::ErrorKind {
        r.expect("a request handshake").unwrap_err().kind()
    }

    #[test]
    fn meta_challenge_is_echoed_only_with_the_verify_token() {
        let v = meta();
        let ok = v
            .request_handshake(
                "GET",
                "https://example.com/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me",
            )
            .unwrap()
            .unwrap();
        assert_eq!(ok.name(), "hub.challenge");
        assert_eq!(
            (ok.content_type(), ok.body()),
            ("text/plain; charset=utf-8", &b"1158201444"[..])
        );
        use crate::ErrorKind::{MalformedHeader, SignatureMismatch};
        for (url, want) in [
            (
                "/m?hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-mE",
                SignatureMismatch,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-me%20",
                SignatureMismatch,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
                SignatureMismatch,
            ),
            ("/m?hub.mode=subscribe&hub.challenge=1", SignatureMismatch),
            // The token is checked before the challenge's form is looked at.
            (
                "/m?hub.mode=subscribe&hub.challenge=%0d%0aSet-Cookie:x&hub.verify_token=nope",
                SignatureMismatch,
            ),
            // CRLF, markup, quotes, non-ASCII and empty challenges are never echoed.
            (
                "/m?hub.mode=subscribe&hub.challenge=a%0d%0aSet-Cookie:%20x=1&hub.verify_token=verify-me",
                MalformedHeader,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=%3Cscript%3Ealert(1)%3C/script%3E&hub.verify_token=verify-me",
                MalformedHeader,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=a%22b&hub.verify_token=verify-me",
                MalformedHeader,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=%C3%A9&hub.verify_token=verify-me",
                MalformedHeader,
            ),
            (
                "/m?hub.mode=subscribe&hub.challenge=&hub.verify_token=verify-me",
                MalformedHeader,
            ),
            (
                "/m?hub.mode=subscribe&hub.verify_token=verify-me",
                MalformedHeader,
            ),
        ] {
            assert_eq!(kind(v.request_handshake("GET", url)), want, "{url}");
        }
        let long = format!(
            "/m?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge={}",
            "7".repeat(MAX_CHALLENGE_LEN + 1)
        );
        assert_eq!(kind(v.request_handshake("GET", &long)), MalformedHeader);
        let longest = format!(
            "/m?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge={}",
            "7".repeat(MAX_CHALLENGE_LEN)
        );
        assert!(v.request_handshake("GET", &longest).unwrap().is_ok());
        // Not a handshake: another mode, another method, no query.
        for (method, url) in [
            (
                "GET",
                "/m?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me",
            ),
            (
                "POST",
                "/m?hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-me",
            ),
            ("GET", "/m"),
        ] {
            assert!(v.request_handshake(method, url).is_none(), "{method} {url}");
        }
        // Without a configured handshake token every verification request is refused.
        let tokenless = Verifier::new(Preset::Meta, "app-secret").unwrap();
        assert_eq!(
            kind(tokenless.request_handshake(
                "GET",
                "/m?hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-me"
            )),
            SignatureMismatch
        );
        // An empty handshake token is a configuration error.
        assert!(
            Verifier::builder(Preset::Meta)
                .secret("s")
                .handshake_token("")
                .build()
                .is_err()
        );
    }

    #[test]
    fn x_crc_is_answered_with_the_hmac_of_the_token() {
        let v = Verifier::new(Preset::X, "consumer-secret").unwrap();
        let reply = v
            .request_handshake("GET", "/x?crc_token=challenge%2Bstring")
            .unwrap()
            .unwrap();
        assert_eq!(reply.content_type(), "application/json");
        // Independently: base64(HMAC-SHA256("consumer-secret", "challenge+string")).
        assert_eq!(
            std::str::from_utf8(reply.body()).unwrap(),
            r#"{"response_token":"sha256=AJYUDI6iDziJsOUsZinzsUzQBuLrX5swFPN36X8tF7Y="}"#
        );
        // X's own published example (its developer relations' CRC samples,
        // gist.github.com/jcipriano/46c4b3f379d214d57a9ddfa70dba49fe and the Node/PHP twins):
        // consumer secret and token as given there; the expected answer computed with
        // `base64.b64encode(hmac.new(secret, token, hashlib.sha256).digest())`, as the gist
        // does.
        let published = Verifier::new(
            Preset::X,
            "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu",
        )
        .unwrap();
        let reply = published
            .request_handshake("GET", "/x?crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553")
            .unwrap()
            .unwrap();
        assert_eq!(
            std::str::from_utf8(reply.body()).unwrap(),
            r#"{"response_token":"sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}"#
        );
        assert_eq!(
            kind(v.request_handshake("GET", "/x?crc_token=")),
            crate::ErrorKind::MalformedHeader
        );
        let long = format!("/x?crc_token={}", "a".repeat(MAX_CHALLENGE_LEN + 1));
        assert_eq!(
            kind(v.request_handshake("GET", &long)),
            crate::ErrorKind::MalformedHeader
        );
        assert!(v.request_handshake("POST", "/x?crc_token=a").is_none());
        assert!(v.request_handshake("GET", "/x?other=a").is_none());
        // Schemes without request handshakes never answer one.
        let github = Verifier::new(Preset::Github, "s").unwrap();
        assert!(github.request_handshake("GET", "/x?crc_token=a").is_none());
    }

    #[test]
    fn graph_validation_token_is_echoed_as_text() {
        let v = Verifier::new(Preset::MicrosoftGraph, "client-state-secret").unwrap();
        let reply = v
            .request_handshake(
                "POST",
                "/graph?validationToken=Validation%3A%20Testing%20client%20application%20reachability",
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (reply.content_type(), reply.body()),
            (
                "text/plain; charset=utf-8",
                &b"Validation: Testing client application reachability"[..]
            )
        );
        assert_eq!(
            kind(v.request_handshake("POST", "/graph?validationToken=a%0Ab")),
            crate::ErrorKind::MalformedHeader
        );
        assert!(
            v.request_handshake("GET", "/graph?validationToken=a")
                .is_none()
        );
    }

    #[test]
    fn query_answers_need_query_triggers() {
        let build = |trigger: HandshakeTrigger, answer: HandshakeAnswer| {
            Scheme::builder("acme")
                .signature_header("x-acme-signature", crate::SignatureSyntax::single(""))
                .handshake(Handshake::new("h", trigger, answer))
                .build()
        };
        let query = HandshakeTrigger::Query {
            method: Cow::Borrowed("GET"),
            param: Cow::Borrowed("c"),
            value: None,
        };
        let echo = HandshakeAnswer::EchoQuery {
            param: Cow::Borrowed("c"),
        };
        assert!(build(query.clone(), echo.clone()).is_ok());
        assert!(build(HandshakeTrigger::json_field("type", "x"), echo).is_err());
        assert!(
            build(
                query,
                HandshakeAnswer::EchoText {
                    path: vec![Cow::Borrowed("c")]
                }
            )
            .is_err()
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
