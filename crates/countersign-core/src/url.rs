//! The request URL as URL-bound schemes sign it: percent-decoding of selected characters
//! (HubSpot v3) and the with/without default port variants (Twilio).
//!
//! The URL is treated as bytes; nothing is normalised beyond what the scheme asks for.

use std::borrow::Cow;

/// How a [`Part::Url`](crate::Part::Url) is written into the signed content.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UrlPart {
    /// Also accept the URL with its scheme's default port (`:443`/`:80`) added when absent,
    /// and with any port removed — Twilio signs either form, and its SDKs try both.
    pub either_default_port: bool,
    /// ASCII characters whose percent-encodings (`%3A`, either case) are decoded before
    /// signing — HubSpot v3 decodes `:/?@!$'()*,;` in the request URI.
    pub decode: Cow<'static, [u8]>,
}

impl UrlPart {
    /// The URL exactly as given.
    #[must_use]
    pub fn exact() -> Self {
        UrlPart::default()
    }

    /// The URL as given, with the default port, and without a port (Twilio).
    #[must_use]
    pub fn either_default_port() -> Self {
        UrlPart {
            either_default_port: true,
            ..UrlPart::default()
        }
    }

    /// Decodes the percent-encodings of these ASCII characters first.
    #[must_use]
    pub fn decoding(mut self, chars: &'static [u8]) -> Self {
        self.decode = Cow::Borrowed(chars);
        self
    }
}

/// Up to three ways of writing the URL, tried in order.
pub(crate) type Variants<'a> = [Option<Cow<'a, [u8]>>; 3];

/// The URL written every way `part` accepts: as given, then (for
/// [`UrlPart::either_default_port`]) with the scheme's default port and without a port.
pub(crate) fn variants<'a>(url: &'a [u8], part: &UrlPart) -> Variants<'a> {
    let given = decode_selected(url, &part.decode);
    let mut out: Variants<'a> = [None, None, None];
    if part.either_default_port
        && let Some((with, without)) = port_forms(&given)
    {
        out[1] = Some(Cow::Owned(with)).filter(|w| *w != given);
        out[2] = Some(Cow::Owned(without)).filter(|w| *w != given && Some(w) != out[1].as_ref());
    }
    out[0] = Some(given);
    out
}

/// Decodes `%XX` where it encodes one of `chars`; other escapes stay.
pub(crate) fn decode_selected<'a>(url: &'a [u8], chars: &[u8]) -> Cow<'a, [u8]> {
    if chars.is_empty() || !url.contains(&b'%') {
        return Cow::Borrowed(url);
    }
    let mut out = Vec::with_capacity(url.len());
    let mut i = 0usize;
    while let Some(&b) = url.get(i) {
        if b == b'%'
            && let Some(hex) = url.get(i.saturating_add(1)..i.saturating_add(3))
            && hex.iter().all(u8::is_ascii_hexdigit)
            && let Ok(s) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(s, 16)
            && chars.contains(&byte)
        {
            out.push(byte);
            i = i.saturating_add(3);
            continue;
        }
        out.push(b);
        i = i.saturating_add(1);
    }
    Cow::Owned(out)
}

/// `(with default port, without port)` for `http`/`https` URLs; `None` for anything else.
fn port_forms(url: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let sep = url.windows(3).position(|w| w == b"://")?;
    let scheme = url.get(..sep)?;
    let default_port: &[u8] = if scheme.eq_ignore_ascii_case(b"https") {
        b"443"
    } else if scheme.eq_ignore_ascii_case(b"http") {
        b"80"
    } else {
        return None;
    };
    let auth_start = sep.checked_add(3)?;
    let rest = url.get(auth_start..)?;
    let auth_len = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..auth_len)?;
    let host_start = authority
        .iter()
        .rposition(|&b| b == b'@')
        .map_or(0, |i| i.saturating_add(1));
    let host_port = authority.get(host_start..)?;
    // `[v6]:port` or `host:port`; the port is what follows the last `:` after any `]`.
    let after_bracket = host_port
        .iter()
        .rposition(|&b| b == b']')
        .map_or(0, |i| i.saturating_add(1));
    let colon = host_port
        .get(after_bracket..)?
        .iter()
        .position(|&b| b == b':')
        .and_then(|i| i.checked_add(after_bracket));
    let host_end = auth_start
        .checked_add(host_start)?
        .checked_add(colon.unwrap_or(host_port.len()))?;
    let auth_end = auth_start.checked_add(auth_len)?;
    let head = url.get(..host_end)?;
    let tail = url.get(auth_end..)?;
    let port = colon
        .and_then(|c| host_port.get(c.saturating_add(1)..))
        .filter(|p| !p.is_empty());
    let mut with = head.to_vec();
    with.push(b':');
    with.extend_from_slice(port.unwrap_or(default_port));
    with.extend_from_slice(tail);
    let mut without = head.to_vec();
    without.extend_from_slice(tail);
    Some((with, without))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(url: &str, part: &UrlPart) -> Vec<String> {
        variants(url.as_bytes(), part)
            .into_iter()
            .flatten()
            .map(|v| String::from_utf8(v.into_owned()).unwrap())
            .collect()
    }

    #[test]
    fn port_variants() {
        let twilio = UrlPart::either_default_port();
        assert_eq!(
            all("https://a.com/x?y=1", &twilio),
            ["https://a.com/x?y=1", "https://a.com:443/x?y=1"]
        );
        assert_eq!(
            all("https://a.com:443/x", &twilio),
            ["https://a.com:443/x", "https://a.com/x"]
        );
        assert_eq!(
            all("http://u:p@a.com:8080", &twilio),
            ["http://u:p@a.com:8080", "http://u:p@a.com"]
        );
        assert_eq!(
            all("HTTP://[::1]/p", &twilio),
            ["HTTP://[::1]/p", "HTTP://[::1]:80/p"]
        );
        assert_eq!(all("ftp://a.com/x", &twilio), ["ftp://a.com/x"]);
        assert_eq!(all("not a url", &twilio), ["not a url"]);
        assert_eq!(
            all("https://a.com/x", &UrlPart::exact()),
            ["https://a.com/x"]
        );
    }

    proptest::proptest! {
        #[test]
        fn variants_do_not_panic(url in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80), s in "[ -~]{0,60}") {
            for part in [UrlPart::either_default_port(), UrlPart::exact().decoding(b":/?@!$'()*,;")] {
                let _ = variants(&url, &part);
                let v = variants(s.as_bytes(), &part);
                proptest::prop_assert!(v[0].is_some());
            }
        }
    }

    #[test]
    fn selected_decoding() {
        let set = b":/?@!$'()*,;";
        assert_eq!(
            &*decode_selected(b"https://a.com/p%3Aq%2f%20%zz%3b%", set),
            b"https://a.com/p:q/%20%zz;%"
        );
        assert!(matches!(
            decode_selected(b"https://a.com/", set),
            Cow::Borrowed(_)
        ));
    }
}
