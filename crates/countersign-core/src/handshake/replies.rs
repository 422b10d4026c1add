//! Computing a handshake's answer: after a verified delivery ([`reply`]) or, for unsigned
//! request handshakes, from the request line alone ([`request_reply`]).

use std::borrow::Cow;

use http::HeaderMap;

use super::{Handshake, HandshakeAnswer, HandshakeTrigger, MAX_CHALLENGE_LEN, single};
use crate::json_path;

impl Handshake {
    fn reply(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        mac: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    ) -> Option<HandshakeReply> {
        let (content_type, body) = match &self.answer {
            HandshakeAnswer::EchoHeaderJson { name, key } => {
                let value = echoable(single(headers, name).map(<[u8]>::to_vec)).ok()?;
                let value = String::from_utf8(value).ok()?;
                let mut object = serde_json::Map::new();
                object.insert(key.to_string(), serde_json::Value::String(value));
                (
                    Cow::Borrowed("application/json"),
                    serde_json::to_vec(&object).ok()?,
                )
            }
            HandshakeAnswer::EchoJson { path, key } => {
                let value = challenge(body, path)?;
                let mut object = serde_json::Map::new();
                object.insert(key.to_string(), serde_json::Value::String(value));
                let body = serde_json::to_vec(&object).ok()?;
                (Cow::Borrowed("application/json"), body)
            }
            HandshakeAnswer::EchoText { path } => (
                Cow::Borrowed("text/plain; charset=utf-8"),
                challenge(body, path)?.into_bytes(),
            ),
            HandshakeAnswer::Fixed { content_type, body } => {
                (content_type.clone(), body.clone().into_owned())
            }
            // Request handshakes are answered by `request_reply`, never after a signature.
            HandshakeAnswer::EchoQuery { .. }
            | HandshakeAnswer::EchoQueryWithToken { .. }
            | HandshakeAnswer::QueryMacJson { .. } => return None,
            HandshakeAnswer::EchoWithMac {
                path,
                echo_key,
                mac_key,
                encoding,
            } => {
                let value = challenge(body, path)?;
                let digest = encoding.encode(&mac(value.as_bytes())?);
                // Written by hand to keep the echoed value first, as the providers document.
                let mut body = Vec::with_capacity(MAX_CHALLENGE_LEN.saturating_mul(2));
                body.push(b'{');
                serde_json::to_writer(&mut body, echo_key.as_ref()).ok()?;
                body.push(b':');
                serde_json::to_writer(&mut body, &value).ok()?;
                body.push(b',');
                serde_json::to_writer(&mut body, mac_key.as_ref()).ok()?;
                body.push(b':');
                serde_json::to_writer(&mut body, &digest).ok()?;
                body.push(b'}');
                (Cow::Borrowed("application/json"), body)
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

/// The reply to the first of `handshakes` that the delivery triggers; `mac` computes the
/// keyed digest of [`HandshakeAnswer::EchoWithMac`].
pub(crate) fn reply(
    handshakes: &[Handshake],
    headers: &HeaderMap,
    body: &[u8],
    mac: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<HandshakeReply> {
    handshakes
        .iter()
        .find(|h| h.trigger.matches(headers, body))
        .and_then(|h| h.reply(headers, body, mac))
}

/// Why a request handshake was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestRefusal {
    /// The verify token is missing or wrong.
    Token,
    /// The challenge is missing, empty, too long or has characters that are not echoed.
    Challenge,
}

/// The reply to the first request handshake of `handshakes` that `method` and `url` (a full
/// URL, or a path with its query) trigger: `None` when none does.
pub(crate) fn request_reply(
    handshakes: &[Handshake],
    method: &str,
    url: &str,
    token_matches: &dyn Fn(&[u8]) -> bool,
    mac: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<Result<HandshakeReply, RequestRefusal>> {
    let url = url.as_bytes();
    let handshake = handshakes.iter().find(|h| match &h.trigger {
        HandshakeTrigger::Query {
            method: m,
            param,
            value,
        } => {
            m.eq_ignore_ascii_case(method)
                && crate::form::query_param(url, param.as_bytes())
                    .is_some_and(|v| value.as_ref().is_none_or(|want| v == want.as_bytes()))
        }
        _ => false,
    })?;
    let param = |name: &str| crate::form::query_param(url, name.as_bytes());
    let text = |body: Vec<u8>| HandshakeReply {
        name: handshake.name.clone(),
        content_type: Cow::Borrowed("text/plain; charset=utf-8"),
        body,
    };
    Some(match &handshake.answer {
        HandshakeAnswer::EchoQuery { param: p } => echoable(param(p)).map(text),
        HandshakeAnswer::EchoQueryWithToken {
            param: p,
            token_param,
        } => {
            // The token first: a wrong token learns nothing about the challenge rules.
            match param(token_param) {
                Some(token) if !token.is_empty() && token_matches(&token) => {
                    echoable(param(p)).map(text)
                }
                _ => Err(RequestRefusal::Token),
            }
        }
        HandshakeAnswer::QueryMacJson {
            param: p,
            key,
            prefix,
            encoding,
        } => match param(p) {
            Some(v) if !v.is_empty() && v.len() <= MAX_CHALLENGE_LEN => {
                let Some(digest) = mac(&v) else {
                    return Some(Err(RequestRefusal::Token));
                };
                let mut object = serde_json::Map::new();
                object.insert(
                    key.to_string(),
                    serde_json::Value::String(format!("{prefix}{}", encoding.encode(&digest))),
                );
                match serde_json::to_vec(&object) {
                    Ok(body) => Ok(HandshakeReply {
                        name: handshake.name.clone(),
                        content_type: Cow::Borrowed("application/json"),
                        body,
                    }),
                    Err(_) => Err(RequestRefusal::Challenge),
                }
            }
            _ => Err(RequestRefusal::Challenge),
        },
        _ => Err(RequestRefusal::Challenge),
    })
}

/// A value that may be echoed as `text/plain`: non-empty, at most [`MAX_CHALLENGE_LEN`]
/// bytes of printable ASCII without `<>&"'\` (no header splitting, nothing a browser could
/// take for markup).
fn echoable(value: Option<Vec<u8>>) -> Result<Vec<u8>, RequestRefusal> {
    match value {
        Some(v)
            if !v.is_empty()
                && v.len() <= MAX_CHALLENGE_LEN
                && v.iter()
                    .all(|&b| (0x20..0x7f).contains(&b) && !b"<>&\"'\\".contains(&b)) =>
        {
            Ok(v)
        }
        _ => Err(RequestRefusal::Challenge),
    }
}

/// A non-empty string of at most [`MAX_CHALLENGE_LEN`] bytes at `path`.
fn challenge(body: &[u8], path: &[Cow<'static, str>]) -> Option<String> {
    json_path::json_value(body, path).filter(|v| !v.is_empty() && v.len() <= MAX_CHALLENGE_LEN)
}
