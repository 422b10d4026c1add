//! Amazon SNS HTTP(S) deliveries: the signature is RSA (PKCS#1 v1.5, SHA1 for
//! `SignatureVersion` 1, SHA256 for 2) over a canonical string of the message's fields,
//! with the certificate named by the message's own `SigningCertURL` — which is not signed,
//! so it is only fetched from an `https` URL on an allowed host (`sns.{region}.amazonaws.com`
//! and `sns.{region}.amazonaws.com.cn` by default, `{region}` being one region-shaped label
//! such as `us-east-1` — not any label: `sns.s3.amazonaws.com` is the S3 bucket `sns`, which
//! anyone may own), at a path `/SimpleNotificationService-….pem`.
//! Certificates are cached (a bounded number, oldest evicted first); a fetch is bounded in
//! size and time like [`HttpsKeys`](crate::keys::HttpsKeys)'s (no redirects).
//!
//! The certificate is trusted because it came over TLS from an allowed host; its own chain
//! and name are not checked (AWS's SDKs do the same). A forged message naming a certificate
//! that does not exist on an allowed host costs one bounded fetch (answered 503); put a rate
//! limit in front of the endpoint if that matters.
//!
//! `SubscriptionConfirmation` is a handshake: verified like any message, then confirmed by
//! fetching its (signed) `SubscribeURL` — from an allowed host too — only when the operator
//! opted in ([`SnsVerifierBuilder::confirm_subscriptions`]); otherwise it is returned for
//! the application to decide.
//!
//! Source: <https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html>.
//!
//! ```no_run
//! use countersign_tower::sns::{SnsMessageType, SnsVerifier};
//!
//! # async fn handler(body: bytes::Bytes) -> Result<(), Box<dyn std::error::Error>> {
//! let sns = SnsVerifier::builder()
//!     .topic_arn("arn:aws:sns:us-west-2:123456789012:MyTopic")
//!     .confirm_subscriptions(true)
//!     .build()?;
//! let message = sns.handle(&body).await?; // 401/400/413/503 via `SnsError::status`
//! if message.kind() == SnsMessageType::Notification {
//!     println!("{}", message.message());
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{StatusCode, Uri};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use serde_json::Value;

use crate::keys::KeySourceError;
use crate::keys::https::{HostPattern, client_config, get, redact};

/// Largest SNS message accepted by [`SnsVerifier::verify`], in bytes (SNS messages are at
/// most 256 KiB; JSON escaping can multiply that).
pub const MAX_SNS_BODY_LEN: usize = 2 * 1024 * 1024;

/// Certificate fetches one verifier runs at once. A message names its own certificate URL,
/// so a forger can ask for as many fetches as it sends messages: beyond this many, a message
/// whose certificate is not cached is answered `503` at once (SNS retries), and a failed
/// fetch is not cached.
pub const MAX_CONCURRENT_CERTIFICATE_FETCHES: usize = 4;

/// The kinds of SNS message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnsMessageType {
    /// A published message.
    Notification,
    /// The handshake sent when a subscription is created.
    SubscriptionConfirmation,
    /// Sent when a subscription is deleted.
    UnsubscribeConfirmation,
}

/// A verified SNS message.
#[derive(Debug, Clone)]
pub struct SnsMessage {
    kind: SnsMessageType,
    message_id: String,
    topic_arn: String,
    subject: Option<String>,
    message: String,
    timestamp: String,
    subscribe_url: Option<String>,
    confirmed: bool,
}

impl SnsMessage {
    /// Its type.
    #[must_use]
    pub fn kind(&self) -> SnsMessageType {
        self.kind
    }
    /// `MessageId` (use it as the event id for deduplication).
    #[must_use]
    pub fn message_id(&self) -> &str {
        &self.message_id
    }
    /// `TopicArn`.
    #[must_use]
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
    /// `Subject`, for notifications that have one.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    /// `Message`.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
    /// `Timestamp` (RFC 3339, as sent).
    #[must_use]
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }
    /// `SubscribeURL` of confirmations.
    #[must_use]
    pub fn subscribe_url(&self) -> Option<&str> {
        self.subscribe_url.as_deref()
    }
    /// Whether [`SnsVerifier::handle`] confirmed this subscription.
    #[must_use]
    pub fn confirmed(&self) -> bool {
        self.confirmed
    }
}

/// Why an SNS message was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    /// The body is larger than [`MAX_SNS_BODY_LEN`].
    #[error("SNS message larger than {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: usize,
    },
    /// The body is not an SNS message (not JSON, a field missing or of the wrong type, an
    /// unknown `Type`).
    #[error("malformed SNS message: {0}")]
    Malformed(&'static str),
    /// `SignatureVersion` is neither 1 nor 2.
    #[error("unsupported SNS SignatureVersion")]
    UnsupportedSignatureVersion,
    /// `SigningCertURL` or `SubscribeURL` is not `https` on an allowed host (or the
    /// certificate path is not `/SimpleNotificationService-….pem`).
    #[error("SNS URL not allowed: {0}")]
    UrlNotAllowed(String),
    /// The signing certificate could not be fetched (fail closed: answer 503, SNS retries).
    #[error("cannot fetch the SNS signing certificate")]
    Certificate(#[source] KeySourceError),
    /// The fetched certificate is not a usable RSA certificate.
    #[error("the SNS signing certificate is unusable")]
    BadCertificate,
    /// The signature does not match the message.
    #[error("SNS signature mismatch")]
    SignatureMismatch,
    /// The topic is not one of the configured ones.
    #[error("SNS topic `{0}` not allowed")]
    TopicNotAllowed(String),
    /// Fetching `SubscribeURL` failed.
    #[error("confirming the SNS subscription failed")]
    Confirmation(#[source] KeySourceError),
    /// [`SnsVerifier::confirm`] without [`SnsVerifierBuilder::confirm_subscriptions`].
    #[error("confirming SNS subscriptions is not enabled")]
    ConfirmationDisabled,
}

impl SnsError {
    /// The status to answer SNS with: 400 malformed, 401 forged or not allowed, 413 too
    /// large, 503 when the certificate or the confirmation could not be fetched (SNS
    /// retries).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            SnsError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SnsError::Malformed(_) | SnsError::UnsupportedSignatureVersion => {
                StatusCode::BAD_REQUEST
            }
            SnsError::Certificate(_) | SnsError::Confirmation(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Verifies SNS messages; see the [module docs](self). Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct SnsVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    allowed: Vec<HostPattern>,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    max_cert_len: usize,
    cache_len: usize,
    cache: Mutex<VecDeque<(String, Arc<CertificateDer<'static>>)>>,
    fetching: tokio::sync::Semaphore,
    topics: Vec<String>,
    confirm: bool,
}

impl fmt::Debug for SnsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsVerifier")
            .field("allowed", &self.inner.allowed)
            .field("topics", &self.inner.topics)
            .field("confirm_subscriptions", &self.inner.confirm)
            .finish_non_exhaustive()
    }
}

/// Builds an [`SnsVerifier`]; see [`SnsVerifier::builder`].
#[must_use]
pub struct SnsVerifierBuilder {
    allowed: Vec<HostPattern>,
    roots_pem: Option<Vec<u8>>,
    timeout: Duration,
    max_cert_len: usize,
    cache_len: usize,
    topics: Vec<String>,
    confirm: bool,
}

impl fmt::Debug for SnsVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsVerifierBuilder")
            .field("allowed", &self.allowed)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl SnsVerifier {
    /// Starts a verifier: hosts `sns.{region}.amazonaws.com` and
    /// `sns.{region}.amazonaws.com.cn`, web PKI roots, 5 s timeout, certificates up to
    /// 16 KiB, 16 cached, no automatic confirmation. At least one [`topic_arn`](SnsVerifierBuilder::topic_arn) is required.
    pub fn builder() -> SnsVerifierBuilder {
        SnsVerifierBuilder {
            allowed: Vec::new(),
            roots_pem: None,
            timeout: Duration::from_secs(5),
            max_cert_len: 16 * 1024,
            cache_len: 16,
            topics: Vec::new(),
            confirm: false,
        }
    }

    fn check_url(&self, url: &str, certificate: bool) -> Result<Uri, SnsError> {
        let refuse = || SnsError::UrlNotAllowed(echo(url));
        let uri: Uri = url.parse().map_err(|_| refuse())?;
        if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
            return Err(refuse());
        }
        let authority = uri.authority().ok_or_else(refuse)?;
        if authority.as_str().contains('@') {
            return Err(refuse());
        }
        let host = authority.host();
        if !self.inner.allowed.iter().any(|p| p.matches(host)) {
            return Err(refuse());
        }
        if certificate {
            let path = uri.path();
            let ok = path
                .strip_prefix("/SimpleNotificationService-")
                .and_then(|rest| rest.strip_suffix(".pem"))
                .is_some_and(|name| {
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            if !ok || uri.query().is_some() {
                return Err(refuse());
            }
        }
        Ok(uri)
    }

    async fn certificate(&self, url: &str) -> Result<Arc<CertificateDer<'static>>, SnsError> {
        let uri = self.check_url(url, true)?;
        {
            let cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, cert)) = cache.iter().find(|(u, _)| u == url) {
                return Ok(Arc::clone(cert));
            }
        }
        let Ok(_fetching) = self.inner.fetching.try_acquire() else {
            return Err(SnsError::Certificate(KeySourceError::Fetch {
                url: redact(&uri.to_string()),
                reason: "too many certificate fetches at once",
            }));
        };
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let pem = tokio::time::timeout(
            self.inner.timeout,
            get(&self.inner.tls, &uri, &host, port, self.inner.max_cert_len),
        )
        .await
        .map_err(|_| {
            SnsError::Certificate(KeySourceError::Fetch {
                url: uri.to_string(),
                reason: "timed out",
            })
        })?
        .map_err(SnsError::Certificate)?;
        let cert = CertificateDer::from_pem_slice(&pem).map_err(|_| SnsError::BadCertificate)?;
        webpki::EndEntityCert::try_from(&cert).map_err(|_| SnsError::BadCertificate)?;
        let cert = Arc::new(cert.into_owned());
        let mut cache = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !cache.iter().any(|(u, _)| u == url) {
            while cache.len() >= self.inner.cache_len {
                cache.pop_front();
            }
            cache.push_back((url.to_owned(), Arc::clone(&cert)));
        }
        Ok(cert)
    }

    /// How many certificates are cached.
    #[must_use]
    pub fn cached_certificates(&self) -> usize {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Verifies one SNS message (the raw POST body). Fetches the signing certificate on a
    /// cache miss.
    ///
    /// # Errors
    /// An [`SnsError`]; [`SnsError::status`] is the answer for SNS.
    pub async fn verify(&self, body: &[u8]) -> Result<SnsMessage, SnsError> {
        if body.len() > MAX_SNS_BODY_LEN {
            return Err(SnsError::TooLarge {
                limit: MAX_SNS_BODY_LEN,
            });
        }
        let parsed = Parsed::new(body)?;
        let signature = STANDARD
            .decode(parsed.signature.as_bytes())
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= 1024)
            .ok_or(SnsError::SignatureMismatch)?;
        // The URL is checked before anything is fetched; the canonical string is built
        // before the certificate is used.
        self.check_url(&parsed.cert_url, true)?;
        let canonical = parsed.canonical();
        let cert = self.certificate(&parsed.cert_url).await?;
        let end_entity =
            webpki::EndEntityCert::try_from(cert.as_ref()).map_err(|_| SnsError::BadCertificate)?;
        let algorithm: &dyn SignatureVerificationAlgorithm = match parsed.version {
            1 => &RsaPkcs1Sha1,
            _ => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        };
        end_entity
            .verify_signature(algorithm, &canonical, &signature)
            .map_err(|_| SnsError::SignatureMismatch)?;
        // Only an authentic message's topic is worth checking.
        if !self.inner.topics.is_empty() && !self.inner.topics.contains(&parsed.topic_arn) {
            return Err(SnsError::TopicNotAllowed(echo(&parsed.topic_arn)));
        }
        Ok(SnsMessage {
            kind: parsed.kind,
            message_id: parsed.message_id,
            topic_arn: parsed.topic_arn,
            subject: parsed.subject,
            message: parsed.message,
            timestamp: parsed.timestamp,
            subscribe_url: parsed.subscribe_url,
            confirmed: false,
        })
    }

    /// Confirms a verified `SubscriptionConfirmation` by fetching its `SubscribeURL`
    /// (`https`, allowed host, bounded, no redirects).
    ///
    /// # Errors
    /// [`SnsError::ConfirmationDisabled`] unless the builder opted in;
    /// [`SnsError::Malformed`] for another message type; [`SnsError::UrlNotAllowed`];
    /// [`SnsError::Confirmation`] when the fetch fails.
    pub async fn confirm(&self, message: &SnsMessage) -> Result<(), SnsError> {
        if !self.inner.confirm {
            return Err(SnsError::ConfirmationDisabled);
        }
        let url = match (message.kind, message.subscribe_url.as_deref()) {
            (SnsMessageType::SubscriptionConfirmation, Some(url)) => url,
            _ => return Err(SnsError::Malformed("not a subscription confirmation")),
        };
        let uri = self.check_url(url, false)?;
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(443);
        tokio::time::timeout(
            self.inner.timeout,
            get(&self.inner.tls, &uri, &host, port, 64 * 1024),
        )
        .await
        .map_err(|_| {
            SnsError::Confirmation(KeySourceError::Fetch {
                url: uri.to_string(),
                reason: "timed out",
            })
        })?
        .map_err(SnsError::Confirmation)?;
        Ok(())
    }

    /// [`verify`](Self::verify), then, for a `SubscriptionConfirmation` when the builder
    /// opted in, [`confirm`](Self::confirm) ([`SnsMessage::confirmed`] says so).
    ///
    /// # Errors
    /// As [`verify`](Self::verify) and [`confirm`](Self::confirm).
    pub async fn handle(&self, body: &[u8]) -> Result<SnsMessage, SnsError> {
        let mut message = self.verify(body).await?;
        if self.inner.confirm && message.kind == SnsMessageType::SubscriptionConfirmation {
            self.confirm(&message).await?;
            message.confirmed = true;
        }
        Ok(message)
    }
}

impl SnsVerifierBuilder {
    /// Allows certificate and subscribe URLs on hosts matching `pattern` (`*` is one label,
    /// `{region}` one AWS-region-shaped label), replacing the default AWS patterns.
    pub fn allow_host(mut self, pattern: impl Into<String>) -> Self {
        self.allowed.push(HostPattern(pattern.into()));
        self
    }

    /// Trusts these PEM certificates instead of the web PKI roots for the HTTPS fetches.
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots_pem = Some(pem.into());
        self
    }

    /// Timeout of one fetch (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many certificates are cached (default 16; at least 1).
    pub fn certificate_cache(mut self, entries: usize) -> Self {
        self.cache_len = entries.max(1);
        self
    }

    /// Accepts messages of this topic; once one is given, other topics are refused.
    pub fn topic_arn(mut self, arn: impl Into<String>) -> Self {
        self.topics.push(arn.into());
        self
    }

    /// Whether [`SnsVerifier::handle`] confirms subscriptions by fetching `SubscribeURL`
    /// (default no).
    pub fn confirm_subscriptions(mut self, confirm: bool) -> Self {
        self.confirm = confirm;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`KeySourceError::Malformed`] without a topic ARN, or for root certificates that
    /// cannot be used.
    pub fn build(self) -> Result<SnsVerifier, KeySourceError> {
        if self.topics.is_empty() {
            // AWS signs every account's messages with the same key: without a topic, a
            // message from anyone's topic verifies.
            return Err(KeySourceError::Malformed(
                "an SNS verifier needs at least one topic ARN (AWS signs every account's topics alike)",
            ));
        }
        let allowed = if self.allowed.is_empty() {
            vec![
                HostPattern("sns.{region}.amazonaws.com".to_owned()),
                HostPattern("sns.{region}.amazonaws.com.cn".to_owned()),
            ]
        } else {
            self.allowed
        };
        Ok(SnsVerifier {
            inner: Arc::new(Inner {
                allowed,
                tls: client_config(self.roots_pem.as_deref())?,
                timeout: self.timeout,
                max_cert_len: self.max_cert_len,
                cache_len: self.cache_len,
                cache: Mutex::new(VecDeque::new()),
                fetching: tokio::sync::Semaphore::new(MAX_CONCURRENT_CERTIFICATE_FETCHES),
                topics: self.topics,
                confirm: self.confirm,
            }),
        })
    }
}

/// Message text echoed in an error: at most 200 characters, control characters replaced
/// (an authentic message's fields can still hold anything a canonical-string shift put
/// there).
fn echo(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The fields of a message, read before anything is verified.
struct Parsed {
    kind: SnsMessageType,
    version: u8,
    message_id: String,
    topic_arn: String,
    subject: Option<String>,
    message: String,
    timestamp: String,
    subscribe_url: Option<String>,
    token: Option<String>,
    signature: String,
    cert_url: String,
}

impl Parsed {
    fn new(body: &[u8]) -> Result<Self, SnsError> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err(SnsError::Malformed("not a JSON object"));
        };
        let text = |name: &'static str| -> Result<Option<String>, SnsError> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(SnsError::Malformed("a field is not a string")),
            }
        };
        let required = |name: &'static str| -> Result<String, SnsError> {
            text(name)?.ok_or(SnsError::Malformed("a required field is missing"))
        };
        let kind = match required("Type")?.as_str() {
            "Notification" => SnsMessageType::Notification,
            "SubscriptionConfirmation" => SnsMessageType::SubscriptionConfirmation,
            "UnsubscribeConfirmation" => SnsMessageType::UnsubscribeConfirmation,
            _ => return Err(SnsError::Malformed("unknown Type")),
        };
        let version = match required("SignatureVersion")?.as_str() {
            "1" => 1,
            "2" => 2,
            _ => return Err(SnsError::UnsupportedSignatureVersion),
        };
        let confirmation = kind != SnsMessageType::Notification;
        Ok(Parsed {
            kind,
            version,
            message_id: required("MessageId")?,
            topic_arn: required("TopicArn")?,
            subject: if confirmation { None } else { text("Subject")? },
            message: required("Message")?,
            timestamp: required("Timestamp")?,
            subscribe_url: if confirmation {
                Some(required("SubscribeURL")?)
            } else {
                None
            },
            token: if confirmation {
                Some(required("Token")?)
            } else {
                None
            },
            signature: required("Signature")?,
            cert_url: required("SigningCertURL")?,
        })
    }

    /// `Name\nvalue\n` for each signed field, in the documented order.
    fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        };
        let kind = match self.kind {
            SnsMessageType::Notification => "Notification",
            SnsMessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            SnsMessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        };
        put("Message", &self.message);
        put("MessageId", &self.message_id);
        match (&self.subscribe_url, &self.token) {
            (Some(url), Some(token)) => {
                put("SubscribeURL", url);
                put("Timestamp", &self.timestamp);
                put("Token", token);
            }
            _ => {
                if let Some(subject) = &self.subject {
                    put("Subject", subject);
                }
                put("Timestamp", &self.timestamp);
            }
        }
        put("TopicArn", &self.topic_arn);
        put("Type", kind);
        out
    }
}

/// RSA PKCS#1 v1.5 with SHA-1 (`SignatureVersion` 1), which webpki does not offer: ring's
/// legacy verifier on the certificate's RSA key.
#[derive(Debug)]
struct RsaPkcs1Sha1;

impl SignatureVerificationAlgorithm for RsaPkcs1Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        // Not used for a signature made directly with the certificate's key.
        alg_id::RSA_PKCS1_SHA256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_strict_and_never_panics() {
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"Type":"Notification"}"#,
            br#"{"Type":"Other","SignatureVersion":"1"}"#,
            br#"{"Type":"Notification","SignatureVersion":"3"}"#,
            br#"{"Type":1}"#,
        ] {
            assert!(
                Parsed::new(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_does_not_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            if let Ok(p) = Parsed::new(&body) {
                let _ = p.canonical();
            }
        }
    }
}
