use std::borrow::Cow;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSource, SignatureSyntax};

pub(super) const NAME: &str = "api-key-query";
pub(super) const DESCRIPTION: &str = "Generic API key in the URL: query parameter api_key equals the configured key (constant time; needs the URL; other names via a scheme file)";

// Documentation: the common `?api_key=` convention for senders that can only put a secret in
// the URL; another parameter name is a scheme file (`algorithm = "token"`,
// `signature_query = "…"`).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_source(
            SignatureSource::QueryParam(Cow::Borrowed("api_key")),
            SignatureSyntax::single(""),
        )
        .content([])
        .unchecked()
}

#[cfg(test)]
mod tests {
    use crate::{Delivery, ErrorKind, Preset, Verifier};

    #[test]
    fn only_the_configured_key_in_the_query_passes() {
        let v = Verifier::new(Preset::ApiKeyQuery, "k3y/with+chars").unwrap();
        let h = http::HeaderMap::new();
        let check = |url: &str| {
            v.verify(&Delivery::new(&h, b"{}").url(url))
                .map_err(|e| e.kind())
        };
        assert!(check("https://example.com/hook?x=1&api_key=k3y%2Fwith%2Bchars").is_ok());
        assert!(check("/hook?api_key=k3y%2Fwith%2Bchars").is_ok());
        for (url, kind) in [
            (
                "/hook?api_key=k3y%2Fwith%2Bchar",
                ErrorKind::SignatureMismatch,
            ),
            // `+` in a query is a space: not the key.
            ("/hook?api_key=k3y/with+chars", ErrorKind::SignatureMismatch),
            ("/hook?api_key=", ErrorKind::SignatureMismatch),
            ("/hook?API_KEY=k3y%2Fwith%2Bchars", ErrorKind::MissingHeader),
            ("/hook", ErrorKind::MissingHeader),
            ("/hook#api_key=k3y%2Fwith%2Bchars", ErrorKind::MissingHeader),
        ] {
            assert_eq!(check(url).unwrap_err(), kind, "{url}");
        }
        // The first occurrence counts.
        assert_eq!(
            check("/hook?api_key=wrong&api_key=k3y%2Fwith%2Bchars").unwrap_err(),
            ErrorKind::SignatureMismatch
        );
        // A key in a header is not a key in the query.
        let mut h2 = http::HeaderMap::new();
        h2.insert("x-api-key", "k3y/with+chars".parse().unwrap());
        let none = v.verify(&Delivery::new(&h2, b"{}").url("/hook"));
        assert_eq!(none.unwrap_err().kind(), ErrorKind::MissingHeader);
        let no_url = v.verify(&Delivery::new(&h, b"{}"));
        assert_eq!(no_url.unwrap_err().kind(), ErrorKind::MissingUrl);
        assert!(Preset::ApiKeyQuery.scheme().needs_url());
    }
}
