//! Header names and lookups: names given to builders or at run time, and the rule that a
//! header a scheme reads appears at most once.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{ConfigError, VerifyError};

/// Accepts `HeaderName` or a `'static` string for builder methods.
pub trait IntoHeaderName {
    /// Converts. Static strings must be valid lowercase header names.
    fn into_header_name(self) -> HeaderName;
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> HeaderName {
        self
    }
}

impl IntoHeaderName for &'static str {
    /// # Panics
    /// When the string is not a valid lowercase header name, exactly like
    /// [`HeaderName::from_static`] (a programming error in a static scheme definition; use
    /// [`HeaderName::from_bytes`] for run-time input).
    fn into_header_name(self) -> HeaderName {
        HeaderName::from_static(self)
    }
}

/// Parses a header name given at run time (case-insensitive).
pub(crate) fn parse_header_name(s: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(s.trim().as_bytes()).map_err(|_| ConfigError::InvalidValue {
        what: "header name",
        value: s.to_owned(),
    })
}

/// The first present header of `names`; present more than once is malformed.
pub(crate) fn find<'h, 'n>(
    headers: &'h HeaderMap,
    names: &'n [HeaderName],
) -> Result<Option<(&'n HeaderName, &'h HeaderValue)>, VerifyError> {
    for name in names {
        let mut values = headers.get_all(name).iter();
        if let Some(value) = values.next() {
            if values.next().is_some() {
                return Err(VerifyError::MalformedHeader {
                    name: name.clone(),
                    reason: "appears more than once",
                });
            }
            return Ok(Some((name, value)));
        }
    }
    Ok(None)
}

/// Like [`find`], but absent is `missing_header` (naming the preferred header).
pub(crate) fn require<'h, 'n>(
    headers: &'h HeaderMap,
    names: &'n [HeaderName],
) -> Result<(&'n HeaderName, &'h HeaderValue), VerifyError> {
    find(headers, names)?.ok_or_else(|| VerifyError::MissingHeader {
        name: names
            .first()
            .cloned()
            .unwrap_or(HeaderName::from_static("signature")),
    })
}
