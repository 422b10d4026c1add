//! Header names and lookups: names given to builders or at run time, and the rule that a
//! header a scheme reads appears at most once.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{ConfigError, VerifyError};

/// Accepts a [`HeaderName`] or a string for [`SchemeBuilder`](crate::SchemeBuilder) methods.
///
/// A string that is not a valid header name is a [`ConfigError::InvalidValue`], reported by
/// [`SchemeBuilder::build`](crate::SchemeBuilder::build).
pub trait IntoHeaderName {
    /// Converts (case-insensitively for strings).
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for a string that is not a header name.
    fn into_header_name(self) -> Result<HeaderName, ConfigError>;
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> Result<HeaderName, ConfigError> {
        Ok(self)
    }
}

impl IntoHeaderName for &str {
    fn into_header_name(self) -> Result<HeaderName, ConfigError> {
        parse_header_name(self)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, SignatureSyntax};

    #[test]
    fn invalid_names_are_config_errors_when_the_scheme_is_built() {
        for bad in ["bad name", "", "x:sig"] {
            let built = Scheme::builder("acme")
                .signature_header(bad, SignatureSyntax::single(""))
                .build();
            assert!(
                matches!(
                    built,
                    Err(ConfigError::InvalidValue {
                        what: "header name",
                        ..
                    })
                ),
                "{bad:?}"
            );
            let built = Scheme::builder("acme")
                .signature_header("x-sig", SignatureSyntax::single(""))
                .signature_header_fallback(bad)
                .build();
            assert!(
                matches!(built, Err(ConfigError::InvalidValue { .. })),
                "{bad:?}"
            );
        }
        // Any case is accepted for run-time strings.
        let scheme = Scheme::builder("acme")
            .signature_header("X-Sig", SignatureSyntax::single(""))
            .build()
            .unwrap();
        assert_eq!(
            scheme.signature_header(),
            [HeaderName::from_static("x-sig")]
        );
    }
}
