use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{KeyFormat, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "basic-auth";
pub(super) const DESCRIPTION: &str = "Generic HTTP Basic auth: Authorization `Basic <base64(user:password)>` equals the configured `user:password` (constant time)";

// Documentation: https://www.rfc-editor.org/rfc/rfc7617 (the Basic authentication scheme)

pub(super) fn scheme() -> Scheme {
    with_name(NAME)
}

/// Basic-auth credentials under another preset name (senders that offer nothing else).
pub(super) fn with_name(name: &'static str) -> Scheme {
    Scheme::builder(name)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Base64)
        .signature_header("authorization", SignatureSyntax::single("Basic "))
        .content([])
        .key_format(KeyFormat::BasicAuth)
        .unchecked()
}

#[cfg(test)]
mod tests {
    use crate::{ConfigError, Delivery, ErrorKind, Preset, Verifier};

    #[test]
    fn only_the_configured_credentials_pass() {
        let v = Verifier::new(Preset::BasicAuth, "user:pa:ss").unwrap();
        let check = |value: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("authorization", value.parse().unwrap());
            v.verify(&Delivery::new(&h, b"{}")).map_err(|e| e.kind())
        };
        assert!(check("Basic dXNlcjpwYTpzcw==").is_ok());
        for (value, kind) in [
            ("Basic dXNlcjpwYTpzeA==", ErrorKind::SignatureMismatch), // wrong password
            ("Basic dXNleDpwYTpzcw==", ErrorKind::SignatureMismatch), // wrong user
            ("Basic dXNlcjpwYTpzcw", ErrorKind::SignatureMismatch),   // unpadded: not the same text
            ("Basic ", ErrorKind::NoSupportedSignature),              // trimmed: no credentials
            ("Bearer dXNlcjpwYTpzcw==", ErrorKind::NoSupportedSignature),
            ("user:pa:ss", ErrorKind::NoSupportedSignature),
        ] {
            assert_eq!(check(value).unwrap_err(), kind, "{value}");
        }
        let none = v.verify(&Delivery::new(&http::HeaderMap::new(), b"{}"));
        assert_eq!(none.unwrap_err().kind(), ErrorKind::MissingHeader);
    }

    #[test]
    fn credentials_need_a_colon() {
        assert!(matches!(
            Verifier::new(Preset::BasicAuth, "no-colon"),
            Err(ConfigError::SecretEncoding { .. })
        ));
        assert!(matches!(
            Verifier::new(Preset::Postmark, ""),
            Err(ConfigError::EmptySecret { .. })
        ));
    }
}
