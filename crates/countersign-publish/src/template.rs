//! [`Template`]: routing keys, subjects and topics with `{preset}` and `{event_type}`.

use std::fmt;

use crate::error::PublishConfigError;
use crate::message::Message;

/// What `{event_type}` expands to when the event type is not known.
pub const UNKNOWN_EVENT_TYPE: &str = "unknown";

/// The longest template (and expansion) accepted: AMQP routing keys are short strings
/// (255 bytes).
pub const MAX_TEMPLATE_LEN: usize = 255;

/// A routing key / subject / topic with placeholders, parsed once when the publisher is built.
///
/// `{preset}` and `{event_type}` expand per message; every character of an expanded value
/// outside `[A-Za-z0-9._-]` becomes `_` (Shopify's `orders/create` → `orders_create`), so a
/// sender can never add a subject token, a wildcard (`*`, `>`, `#`) or a space. An unknown
/// event type expands to [`UNKNOWN_EVENT_TYPE`]. Any other `{…}` is a configuration error.
///
/// ```
/// use countersign_publish::{Message, Template};
///
/// let t = Template::parse("webhooks.{preset}.{event_type}")?;
/// let m = Message::new("id", "shopify", "shop", &b"{}"[..])
///     .with_event_type(Some("orders/create".into()));
/// assert_eq!(t.render(&m), "webhooks.shopify.orders_create");
/// let m = Message::new("id", "stripe", "billing", &b"{}"[..])
///     .with_event_type(Some("a.b > *".into()));
/// assert_eq!(t.render(&m), "webhooks.stripe.a.b____");
///
/// assert!(Template::parse("webhooks.{secret}").is_err());
/// # Ok::<(), countersign_publish::PublishConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Preset,
    EventType,
}

impl Template {
    /// Parses a template.
    ///
    /// # Errors
    /// [`PublishConfigError::Template`] for an unknown or unclosed placeholder, or a
    /// template longer than [`MAX_TEMPLATE_LEN`].
    pub fn parse(source: &str) -> Result<Self, PublishConfigError> {
        let bad = |reason: &str| PublishConfigError::Template {
            template: source.to_owned(),
            reason: reason.to_owned(),
        };
        if source.len() > MAX_TEMPLATE_LEN {
            return Err(bad("longer than 255 bytes"));
        }
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Piece::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| bad("a `{` is not closed"))?;
            parts.push(match &after[..close] {
                "preset" => Piece::Preset,
                "event_type" => Piece::EventType,
                _ => return Err(bad("placeholders are {preset} and {event_type}")),
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(bad("a `}` without `{`"));
        }
        if !rest.is_empty() {
            parts.push(Piece::Literal(rest.to_owned()));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template has no placeholder (the same value for every message).
    #[must_use]
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    /// The expansion for `message`, at most [`MAX_TEMPLATE_LEN`] bytes (longer expansions
    /// are cut on a character boundary; the expanded values are ASCII).
    #[must_use]
    pub fn render(&self, message: &Message) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            match part {
                Piece::Literal(s) => out.push_str(s),
                Piece::Preset => push_sanitized(&mut out, message.preset()),
                Piece::EventType => {
                    push_sanitized(&mut out, message.event_type().unwrap_or(UNKNOWN_EVENT_TYPE))
                }
            }
        }
        if out.len() > MAX_TEMPLATE_LEN {
            let mut end = MAX_TEMPLATE_LEN;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
        }
        out
    }
}

/// Appends `value` with every char outside `[A-Za-z0-9._-]` replaced by `_` (one `_` per
/// char); an empty value becomes `_` so that no empty subject token appears.
fn push_sanitized(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push('_');
        return;
    }
    out.extend(value.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '_'
        }
    }));
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(preset: &str, event_type: Option<&str>) -> Message {
        Message::new("id", preset, "r", bytes::Bytes::new())
            .with_event_type(event_type.map(str::to_owned))
    }

    #[test]
    fn expansion_and_sanitising() {
        let t = Template::parse("w.{preset}.{event_type}").unwrap();
        assert!(!t.is_fixed());
        assert_eq!(t.render(&msg("github", Some("push"))), "w.github.push");
        assert_eq!(t.render(&msg("github", None)), "w.github.unknown");
        assert_eq!(t.render(&msg("x", Some(""))), "w.x._");
        assert_eq!(
            t.render(&msg("x", Some("é/ #*>\u{0}\r\n"))),
            "w.x._________"
        );
        assert_eq!(
            Template::parse("{preset}").unwrap().render(&msg("a", None)),
            "a"
        );
        let fixed = Template::parse("fixed.key").unwrap();
        assert!(fixed.is_fixed());
        assert_eq!(fixed.render(&msg("a", None)), "fixed.key");
        assert_eq!(Template::parse("").unwrap().render(&msg("a", None)), "");
    }

    #[test]
    fn long_expansions_are_bounded() {
        let t = Template::parse("{event_type}").unwrap();
        let long = "x".repeat(10_000);
        assert_eq!(t.render(&msg("a", Some(&long))).len(), MAX_TEMPLATE_LEN);
    }

    #[test]
    fn bad_templates() {
        for bad in [
            "{",
            "a{preset",
            "}",
            "a}b",
            "{Preset}",
            "{}",
            "{event_type}{x}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert!(Template::parse(&"a".repeat(256)).is_err());
    }
}
