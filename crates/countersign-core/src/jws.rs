//! Compact JWS signature headers (RFC 7515) whose payload binds the body by its hash
//! (Netlify's `X-Webhook-Signature`).
//!
//! The algorithm is the scheme's, never the token's: the protected header's `alg` must name
//! exactly the scheme's algorithm (`HS256` for HMAC-SHA256), so `alg: none`, `RS256` with
//! the secret misused as an HMAC key, or any other substitution is refused before any
//! cryptography runs. Header parameters that point elsewhere for a key (`jku`, `jwk`,
//! `x5u`, `kid`) are ignored — keys come from the configuration only — and a `crit` list
//! (extensions countersign does not implement, such as unencoded payloads) is refused.
//!
//! The token is bounded ([`MAX_JWS_LEN`]) before any segment is decoded. The claims are
//! read only after the signature matched: an unauthenticated payload decides nothing.

use std::borrow::Cow;

use http::HeaderName;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::algorithm::{Algorithm, Encoding, MacKey};
use crate::keys;

/// Longest JWS signature header accepted, in bytes (checked before decoding).
pub const MAX_JWS_LEN: usize = 4096;

/// What the payload of a JWS signature header must claim, checked once the signature
/// matched.
///
/// ```
/// use countersign_core::JwsClaims;
///
/// let netlify = JwsClaims::new("sha256").issuer("netlify");
/// assert_eq!(netlify.body_sha256_claim(), "sha256");
/// assert_eq!(netlify.required_issuer(), Some("netlify"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwsClaims {
    issuer: Option<Cow<'static, str>>,
    body_sha256: Cow<'static, str>,
}

impl JwsClaims {
    /// Claims whose member `body_sha256_claim` holds the lowercase hex SHA-256 of the body.
    #[must_use]
    pub fn new(body_sha256_claim: impl Into<Cow<'static, str>>) -> Self {
        JwsClaims {
            issuer: None,
            body_sha256: body_sha256_claim.into(),
        }
    }

    /// Requires the `iss` claim to equal `issuer`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<Cow<'static, str>>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The claim holding the body's hex SHA-256.
    #[must_use]
    pub fn body_sha256_claim(&self) -> &str {
        &self.body_sha256
    }

    /// The `iss` the token must carry, if any.
    #[must_use]
    pub fn required_issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

/// The JWS `alg` name of the algorithms a JWS scheme may pin.
pub(crate) fn alg_name(algorithm: Algorithm) -> Option<&'static str> {
    match algorithm {
        Algorithm::HmacSha256 => Some("HS256"),
        Algorithm::HmacSha512 => Some("HS512"),
        _ => None,
    }
}

/// The three segments of a compact JWS, borrowed from the header value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Token<'h> {
    /// `<header>.<payload>`, what the MAC covers.
    pub(crate) signing_input: &'h [u8],
    /// The base64url payload.
    pub(crate) payload: &'h [u8],
    /// The base64url signature.
    pub(crate) signature: &'h [u8],
}

fn malformed(name: &HeaderName, reason: &'static str) -> crate::error::VerifyError {
    crate::error::VerifyError::MalformedHeader {
        name: name.clone(),
        reason,
    }
}

/// Splits a compact JWS and checks its protected header against the pinned algorithm.
pub(crate) fn parse<'h>(
    name: &HeaderName,
    value: &'h [u8],
    algorithm: Algorithm,
) -> Result<Token<'h>, crate::error::VerifyError> {
    if value.len() > MAX_JWS_LEN {
        return Err(malformed(name, "JWS longer than 4096 bytes"));
    }
    let mut dots = value
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'.')
        .map(|(i, _)| i);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(malformed(
            name,
            "not a compact JWS (three dot-separated segments)",
        ));
    };
    let (Some(header), Some(payload), Some(signing_input), Some(signature)) = (
        value.get(..first),
        value.get(first.saturating_add(1)..second),
        value.get(..second),
        value.get(second.saturating_add(1)..),
    ) else {
        return Err(malformed(name, "not a compact JWS"));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(malformed(name, "empty JWS segment"));
    }
    let pinned = alg_name(algorithm).ok_or(malformed(name, "scheme has no JWS algorithm"))?;
    let header = decode_json(header).ok_or(malformed(
        name,
        "JWS protected header is not base64url JSON object",
    ))?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == pinned => {}
        _ => {
            return Err(malformed(
                name,
                "JWS `alg` is not the algorithm the scheme pins",
            ));
        }
    }
    if header.contains_key("crit") {
        return Err(malformed(name, "JWS `crit` extensions are not supported"));
    }
    Ok(Token {
        signing_input,
        payload,
        signature,
    })
}

/// A base64url (unpadded) segment holding a JSON object.
fn decode_json(segment: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let bytes = Encoding::Base64Url.decode_vec_canonical(segment)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Why the claims of an authentic token do not fit this delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimsRefusal {
    /// The payload is not a JSON object, or a required claim is absent or of the wrong type.
    Malformed(&'static str),
    /// The body is not the one the token was issued for.
    BodyMismatch,
    /// `exp` has passed.
    Expired {
        /// Seconds since `exp` (saturating).
        age: u64,
    },
}

/// Checks the payload's claims against the body, once the signature matched. `now` and
/// `leeway` are seconds; a token with an `exp` claim is refused after `exp + leeway`.
pub(crate) fn check_claims(
    claims: &JwsClaims,
    payload: &[u8],
    body: &[u8],
    now: u64,
    leeway: u64,
) -> Result<(), ClaimsRefusal> {
    let map = decode_json(payload).ok_or(ClaimsRefusal::Malformed(
        "JWS payload is not a base64url JSON object",
    ))?;
    if let Some(issuer) = &claims.issuer {
        match map.get("iss") {
            Some(Value::String(iss)) if iss == issuer => {}
            _ => {
                return Err(ClaimsRefusal::Malformed(
                    "JWS `iss` is not the expected issuer",
                ));
            }
        }
    }
    if let Some(exp) = map.get("exp") {
        let exp = exp.as_u64().ok_or(ClaimsRefusal::Malformed(
            "JWS `exp` is not a number of seconds",
        ))?;
        if now > exp.saturating_add(leeway) {
            return Err(ClaimsRefusal::Expired {
                age: now.saturating_sub(exp),
            });
        }
    }
    let Some(Value::String(hash)) = map.get(claims.body_sha256.as_ref()) else {
        return Err(ClaimsRefusal::Malformed("JWS body-hash claim missing"));
    };
    let mut expected = [0u8; 32];
    match Encoding::Hex.decode_into(hash.as_bytes(), &mut expected) {
        Some(32) if bool::from(keys::sha256(body).ct_eq(&expected)) => Ok(()),
        _ => Err(ClaimsRefusal::BodyMismatch),
    }
}

/// A compact JWS over `body` as the sender makes it: header `{"alg":…,"typ":"JWT"}`,
/// payload with the issuer and the body hash.
pub(crate) fn sign(algorithm: Algorithm, claims: &JwsClaims, key: &MacKey, body: &[u8]) -> String {
    let alg = alg_name(algorithm).unwrap_or("HS256");
    let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
    let mut payload = serde_json::Map::new();
    if let Some(iss) = &claims.issuer {
        payload.insert("iss".to_owned(), Value::String(iss.to_string()));
    }
    payload.insert(
        claims.body_sha256.to_string(),
        Value::String(hex::encode(keys::sha256(body))),
    );
    let mut token = Encoding::Base64Url.encode(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&Encoding::Base64Url.encode(Value::Object(payload).to_string().as_bytes()));
    let mut mac = key.start();
    crate::algorithm::Sink::update(&mut mac, token.as_bytes());
    let sig = Encoding::Base64Url.encode(mac.finalize().as_bytes());
    token.push('.');
    token.push_str(&sig);
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        Encoding::Base64Url.encode(s.as_bytes())
    }

    fn name() -> HeaderName {
        HeaderName::from_static("x-webhook-signature")
    }

    #[test]
    fn the_algorithm_is_pinned_by_the_scheme() {
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"HS512"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"alg":"HS256 "}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            r#"["HS256"]"#,
            "not json",
        ] {
            let token = format!("{}.{}.c2ln", b64(header), b64("{}"));
            let err = parse(&name(), token.as_bytes(), Algorithm::HmacSha256).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::MalformedHeader, "{header}");
        }
        let ok = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64("{}")
        );
        assert!(parse(&name(), ok.as_bytes(), Algorithm::HmacSha256).is_ok());
        assert!(parse(&name(), ok.as_bytes(), Algorithm::HmacSha512).is_err());
    }

    #[test]
    fn malformed_shapes_are_refused_before_decoding() {
        let h = b64(r#"{"alg":"HS256"}"#);
        let long = format!("{h}.{}.sig", "A".repeat(MAX_JWS_LEN));
        for bad in [
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            format!("{h}..sig"),
            format!("{h}.e30."),
            ".e30.sig".to_owned(),
            format!("{h}=.e30.sig"),
            long,
        ] {
            assert!(
                parse(&name(), bad.as_bytes(), Algorithm::HmacSha256).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn claims_bind_issuer_body_and_expiry() {
        let claims = JwsClaims::new("sha256").issuer("netlify");
        let body = b"{}";
        let hash = hex::encode(keys::sha256(body));
        let payload = |json: String| b64(&json).into_bytes();
        let good = payload(format!(r#"{{"iss":"netlify","sha256":"{hash}"}}"#));
        assert_eq!(check_claims(&claims, &good, body, 0, 0), Ok(()));
        assert_eq!(
            check_claims(&claims, &good, b"{ }", 0, 0),
            Err(ClaimsRefusal::BodyMismatch)
        );
        let wrong_iss = payload(format!(r#"{{"iss":"netlifx","sha256":"{hash}"}}"#));
        assert!(matches!(
            check_claims(&claims, &wrong_iss, body, 0, 0),
            Err(ClaimsRefusal::Malformed(_))
        ));
        let upper = payload(format!(
            r#"{{"iss":"netlify","sha256":"{}"}}"#,
            hash.to_uppercase()
        ));
        assert_eq!(
            check_claims(&claims, &upper, body, 0, 0),
            Err(ClaimsRefusal::BodyMismatch)
        );
        let expiring = payload(format!(
            r#"{{"iss":"netlify","sha256":"{hash}","exp":100}}"#
        ));
        assert_eq!(check_claims(&claims, &expiring, body, 100, 0), Ok(()));
        assert_eq!(check_claims(&claims, &expiring, body, 130, 30), Ok(()));
        assert_eq!(
            check_claims(&claims, &expiring, body, 131, 30),
            Err(ClaimsRefusal::Expired { age: 31 })
        );
        let no_hash = payload(r#"{"iss":"netlify"}"#.to_owned());
        assert!(check_claims(&claims, &no_hash, body, 0, 0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_does_not_panic(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse(&name(), &value, Algorithm::HmacSha256);
            let claims = JwsClaims::new("sha256").issuer("netlify");
            let _ = check_claims(&claims, &value, b"", u64::MAX, u64::MAX);
        }
    }
}
