//! Rebuilding the public URL a provider sent a delivery to, for schemes that sign it.
//!
//! Order: a configured public base URL; else (when trusted) `Forwarded` /
//! `X-Forwarded-Proto` / `X-Forwarded-Host`; else the `Host` header (or the request URI's
//! authority, as in HTTP/2) with the configured scheme.
//!
//! Of a forwarding header, the *last* entry counts: the one the proxy in front of the app
//! wrote. Earlier entries may come from the client (a proxy that appends instead of
//! overwriting keeps them), and a client must not choose the URL a signature is checked
//! against — a delivery signed for another endpoint of the same account would verify.

use countersign_core::ConfigError;
use http::request::Parts;
use http::{HeaderMap, Uri, header};

#[derive(Debug)]
pub(crate) struct UrlConfig {
    /// `scheme://authority[/prefix]` without a trailing slash.
    base: Option<String>,
    scheme: &'static str,
    trust_forwarded: bool,
}

impl UrlConfig {
    pub(crate) fn new(
        base: Option<&str>,
        scheme: Option<&str>,
        trust_forwarded: bool,
    ) -> Result<Self, ConfigError> {
        let scheme = match scheme.map(str::to_ascii_lowercase).as_deref() {
            None | Some("https") => "https",
            Some("http") => "http",
            Some(_) => {
                return Err(ConfigError::InvalidValue {
                    what: "URL scheme (http or https)",
                    value: scheme.unwrap_or_default().to_owned(),
                });
            }
        };
        let base = base.map(parse_base).transpose()?;
        Ok(UrlConfig {
            base,
            scheme,
            trust_forwarded,
        })
    }

    /// The URL of this request, or `None` when no host is known.
    pub(crate) fn build(&self, parts: &Parts) -> Option<String> {
        let uri = original_uri(parts);
        let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
        if let Some(base) = &self.base {
            return Some(join(base, "", path));
        }
        let (mut scheme, mut host) = (None, None);
        if self.trust_forwarded {
            (scheme, host) = forwarded(&parts.headers);
        }
        let host = host
            .or_else(|| header_str(&parts.headers, &header::HOST))
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| valid_host(h))?;
        let scheme = scheme.unwrap_or(self.scheme);
        Some(join(scheme, host, path))
    }
}

fn join(first: &str, host: &str, path: &str) -> String {
    let mut url = String::with_capacity(first.len() + 3 + host.len() + path.len());
    url.push_str(first);
    if !host.is_empty() {
        url.push_str("://");
        url.push_str(host);
    }
    url.push_str(path);
    url
}

/// Under axum, a nested router sees its path with the prefix removed; the provider signed
/// the full one.
fn original_uri(parts: &Parts) -> &Uri {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = parts.extensions.get() {
        return uri;
    }
    &parts.uri
}

fn parse_base(base: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidValue {
        what: "public URL (absolute http(s) URL without query)",
        value: base.to_owned(),
    };
    let uri: Uri = base.trim().parse().map_err(|_| invalid())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.authority().is_none() || uri.query().is_some() {
        return Err(invalid());
    }
    let text = uri.to_string();
    Ok(text.trim_end_matches('/').to_owned())
}

/// The value of a header sent once; `None` when it is missing or repeated (two `Host`
/// headers are ambiguous: servers disagree on which one counts).
fn header_str<'h>(headers: &'h HeaderMap, name: &header::HeaderName) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok().map(str::trim)
}

/// The last entry of a (possibly repeated) list header.
fn last_entry<'h>(headers: &'h HeaderMap, name: &header::HeaderName) -> Option<&'h str> {
    let value = headers.get_all(name).iter().next_back()?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
}

/// The scheme and host from `Forwarded`, else `X-Forwarded-Proto` / `X-Forwarded-Host`.
/// The last entry of each list: the one the nearest proxy wrote (see the module docs).
fn forwarded(headers: &HeaderMap) -> (Option<&'static str>, Option<&str>) {
    let mut scheme = None;
    let mut host = None;
    if let Some(last) = last_entry(headers, &header::FORWARDED) {
        for pair in last.split(';') {
            let Some((key, val)) = pair.split_once('=') else {
                continue;
            };
            let val = val.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "proto" => scheme = scheme.or_else(|| known_scheme(val)),
                "host" => host = host.or(Some(val)),
                _ => {}
            }
        }
    }
    let last = |name: &'static str| last_entry(headers, &header::HeaderName::from_static(name));
    scheme = scheme.or_else(|| last("x-forwarded-proto").and_then(known_scheme));
    host = host.or_else(|| last("x-forwarded-host"));
    (scheme, host)
}

fn known_scheme(s: &str) -> Option<&'static str> {
    if s.eq_ignore_ascii_case("https") {
        Some("https")
    } else if s.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A host[:port] or [IPv6]:port: no path, userinfo, spaces or other surprises.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::post(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn url(cfg: &UrlConfig, uri: &str, headers: &[(&str, &str)]) -> Option<String> {
        cfg.build(&parts(uri, headers))
    }

    #[test]
    fn default_is_host_over_https() {
        let cfg = UrlConfig::new(None, None, false).unwrap();
        assert_eq!(
            url(
                &cfg,
                "/hooks/twilio?a=1&b=2",
                &[("host", "example.com:8443")]
            )
            .as_deref(),
            Some("https://example.com:8443/hooks/twilio?a=1&b=2")
        );
        // HTTP/2 carries the authority in the URI.
        assert_eq!(
            url(&cfg, "https://h2.example.com/x", &[]).as_deref(),
            Some("https://h2.example.com/x")
        );
        assert_eq!(url(&cfg, "/x", &[]), None);
        assert_eq!(url(&cfg, "/x", &[("host", "evil.com/path")]), None);
        let mut two = parts("/x", &[("host", "a.com")]);
        two.headers.append("host", "b.com".parse().unwrap());
        assert_eq!(cfg.build(&two), None, "two Host headers are ambiguous");
        // Forwarded headers are ignored unless trusted.
        assert_eq!(
            url(
                &cfg,
                "/x",
                &[("host", "a.com"), ("x-forwarded-host", "b.com")]
            )
            .as_deref(),
            Some("https://a.com/x")
        );
        let http = UrlConfig::new(None, Some("HTTP"), false).unwrap();
        assert_eq!(
            url(&http, "/", &[("host", "a.com")]).as_deref(),
            Some("http://a.com/")
        );
    }

    #[cfg(feature = "axum")]
    #[test]
    fn nested_axum_routers_use_the_original_uri() {
        let cfg = UrlConfig::new(Some("https://hooks.example.com"), None, false).unwrap();
        let mut p = parts("/twilio?x=1", &[]);
        p.extensions.insert(axum::extract::OriginalUri(
            "/api/twilio?x=1".parse().unwrap(),
        ));
        assert_eq!(
            cfg.build(&p).as_deref(),
            Some("https://hooks.example.com/api/twilio?x=1")
        );
    }

    #[test]
    fn public_url_wins() {
        let cfg = UrlConfig::new(Some("https://hooks.example.com/api/"), None, true).unwrap();
        assert_eq!(
            url(
                &cfg,
                "/twilio?x=1",
                &[("host", "internal:3000"), ("x-forwarded-host", "b.com")]
            )
            .as_deref(),
            Some("https://hooks.example.com/api/twilio?x=1")
        );
        let bare = UrlConfig::new(Some("https://hooks.example.com"), None, false).unwrap();
        assert_eq!(
            url(&bare, "/a", &[]).as_deref(),
            Some("https://hooks.example.com/a")
        );
    }

    #[test]
    fn trusted_forwarded_headers() {
        let cfg = UrlConfig::new(None, Some("http"), true).unwrap();
        assert_eq!(
            url(
                &cfg,
                "/x",
                &[
                    ("host", "internal:3000"),
                    (
                        "forwarded",
                        r#"for=1.2.3.4;Proto=https;host="pub.example.com""#
                    )
                ]
            )
            .as_deref(),
            Some("https://pub.example.com/x")
        );
        // The last entry is the trusted proxy's; earlier ones may be the client's.
        assert_eq!(
            url(
                &cfg,
                "/x",
                &[
                    ("host", "internal:3000"),
                    ("forwarded", r#"for=6.6.6.6;proto=http;host=evil.example, for=1.2.3.4;Proto=https;host="pub.example.com""#)
                ]
            )
            .as_deref(),
            Some("https://pub.example.com/x")
        );
        assert_eq!(
            url(
                &cfg,
                "/x",
                &[
                    ("host", "internal:3000"),
                    ("x-forwarded-proto", "http, https"),
                    ("x-forwarded-host", "evil.example, pub.example.com"),
                ]
            )
            .as_deref(),
            Some("https://pub.example.com/x")
        );
        let mut p = parts("/x", &[("host", "internal:3000")]);
        p.headers
            .append("x-forwarded-host", "evil.example".parse().unwrap());
        p.headers
            .append("x-forwarded-host", "pub.example.com".parse().unwrap());
        assert_eq!(cfg.build(&p).as_deref(), Some("http://pub.example.com/x"));
        // Unknown protocols fall back to the configured scheme.
        assert_eq!(
            url(
                &cfg,
                "/x",
                &[("host", "a.com"), ("x-forwarded-proto", "gopher")]
            )
            .as_deref(),
            Some("http://a.com/x")
        );
    }
}
