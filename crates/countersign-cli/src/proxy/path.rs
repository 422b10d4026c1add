//! Request paths: the one form the proxy routes on and forwards.
//!
//! A path an upstream (or a web server in front of it) could read as another path is
//! refused, so the route that verified a delivery is the route the upstream sees:
//!
//! | refused (400) | why |
//! |---|---|
//! | `.` / `..` segments, also as `%2e` or with a `;param` (`..;`) | resolved by the upstream |
//! | `%2f` `%5c` | encoded separators, decoded by some servers |
//! | `\` | a separator on some servers |
//! | empty segments (`//`), except one trailing `/` | collapsed by some servers |
//! | `%00`, bad `%` escapes | truncation, ambiguity |
//!
//! Percent-encoded unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`) are decoded
//! and other escapes upper-cased (§6.2.2): `/webhooks/%67ithub` *is* `/webhooks/github`, so
//! it is routed — and forwarded — as that.

use std::borrow::Cow;

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not an absolute path (`*`, empty).
    NotAbsolute,
    /// A `.` or `..` segment.
    DotSegment,
    /// `%2f` or `%5c`.
    EncodedSeparator,
    /// A backslash.
    Backslash,
    /// `//`.
    EmptySegment,
    /// `%00`, or `%` not followed by two hex digits.
    BadEscape,
}

impl Refused {
    /// A label for logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refused::NotAbsolute => "path_not_absolute",
            Refused::DotSegment => "path_dot_segment",
            Refused::EncodedSeparator => "path_encoded_separator",
            Refused::Backslash => "path_backslash",
            Refused::EmptySegment => "path_empty_segment",
            Refused::BadEscape => "path_bad_escape",
        }
    }
}

/// The normal form of `path`, borrowed when it already is one (the common case: no `%`).
///
/// # Errors
/// [`Refused`] for a path that could be read as another one.
pub(crate) fn normalize(path: &str) -> Result<Cow<'_, str>, Refused> {
    let rest = path.strip_prefix('/').ok_or(Refused::NotAbsolute)?;
    if path.contains('\\') {
        return Err(Refused::Backslash);
    }
    let escaped = path.contains('%');
    let mut out = escaped.then(|| String::with_capacity(path.len()));
    let mut segments = rest.split('/').peekable();
    while let Some(raw) = segments.next() {
        let last = segments.peek().is_none();
        if raw.is_empty() && !last {
            return Err(Refused::EmptySegment);
        }
        let segment = match &mut out {
            Some(out) => {
                out.push('/');
                let start = out.len();
                decode_into(raw, out)?;
                out.get(start..).unwrap_or_default()
            }
            None => raw,
        };
        // `..;x` is `..` to servlet containers.
        let bare = segment.split(';').next().unwrap_or_default();
        if bare == "." || bare == ".." {
            return Err(Refused::DotSegment);
        }
    }
    Ok(match out {
        Some(out) if out != path => Cow::Owned(out),
        _ => Cow::Borrowed(path),
    })
}

/// Appends `segment` with unreserved escapes decoded and the others upper-cased.
fn decode_into(segment: &str, out: &mut String) -> Result<(), Refused> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            // Copy the run up to the next escape as text: a byte at a time would turn each
            // byte of a non-ASCII character into a character of its own (`é` into `Ã©`).
            let end = bytes
                .get(i..)
                .and_then(|rest| rest.iter().position(|&b| b == b'%'))
                .map_or(bytes.len(), |n| i + n);
            out.push_str(segment.get(i..end).unwrap_or_default());
            i = end;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).and_then(|h| hex(*h)),
            bytes.get(i + 2).and_then(|l| hex(*l)),
        ) else {
            return Err(Refused::BadEscape);
        };
        let decoded = hi << 4 | lo;
        match decoded {
            b'/' | b'\\' => return Err(Refused::EncodedSeparator),
            0 => return Err(Refused::BadEscape),
            b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') => {
                out.push(char::from(b));
            }
            b => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        i += 3;
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_are_borrowed() {
        for p in [
            "/",
            "/webhooks/stripe",
            "/a/b/",
            "/a.json",
            "/a/.well-known",
            "/a;b",
        ] {
            assert!(
                matches!(normalize(p), Ok(Cow::Borrowed(q)) if q == p),
                "{p}"
            );
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_others_upper_cased() {
        assert_eq!(normalize("/webhooks/%67ithub").unwrap(), "/webhooks/github");
        assert_eq!(normalize("/a%2ejson").unwrap(), "/a.json");
        assert_eq!(normalize("/a%7e%20b%c3%a9").unwrap(), "/a~%20b%C3%A9");
        assert!(matches!(normalize("/a%20b"), Ok(Cow::Borrowed(_))));
        // Characters outside ASCII next to an escape are kept as they are.
        assert_eq!(
            normalize("/caf\u{e9}%41/\u{e9}").unwrap(),
            "/caf\u{e9}A/\u{e9}"
        );
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for (p, why) in [
            ("*", Refused::NotAbsolute),
            ("", Refused::NotAbsolute),
            ("/a/../b", Refused::DotSegment),
            ("/a/./b", Refused::DotSegment),
            ("/a/..", Refused::DotSegment),
            ("/a/.", Refused::DotSegment),
            ("/..", Refused::DotSegment),
            ("/a/%2e%2e/b", Refused::DotSegment),
            ("/a/%2E./b", Refused::DotSegment),
            ("/a/..;x/b", Refused::DotSegment),
            ("/a/..%2fb", Refused::EncodedSeparator),
            ("/a/%2F", Refused::EncodedSeparator),
            ("/a/%5c..", Refused::EncodedSeparator),
            ("/a\\b", Refused::Backslash),
            ("//a", Refused::EmptySegment),
            ("/a//b", Refused::EmptySegment),
            ("/a//", Refused::EmptySegment),
            ("/a%00b", Refused::BadEscape),
            ("/a%zz", Refused::BadEscape),
            ("/a%2", Refused::BadEscape),
        ] {
            assert_eq!(normalize(p), Err(why), "{p}");
        }
    }
}
