//! [`HttpsKeys`]: a JSON Web Key Set fetched over HTTPS from a pinned host.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use countersign_core::{
    Algorithm, ConfigError, KeyFormat, MAX_SECRET_LABEL_LEN, MAX_SECRETS, Scheme, Secret,
};
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

use super::{KeySource, KeySourceError};

/// Default bound of a key set response, in bytes.
pub const DEFAULT_MAX_RESPONSE_LEN: usize = 64 * 1024;

/// A host name pattern: labels compared case-insensitively, `*` standing for exactly one
/// label (`*.example.com`), `{region}` for one AWS-region-shaped label (`us-east-1`,
/// `us-gov-west-1`: two letters, one or more `-word`s, `-digits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPattern(pub(crate) String);

impl HostPattern {
    pub(crate) fn matches(&self, host: &str) -> bool {
        let mut want = self.0.split('.');
        let mut got = host.split('.');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some("*"), Some(label)) if !label.is_empty() => {}
                (Some("{region}"), Some(label)) if is_region(label) => {}
                (Some(w), Some(g)) if !g.is_empty() && w.eq_ignore_ascii_case(g) => {}
                _ => return false,
            }
        }
    }
}

/// `url` for `Debug`, errors and logs: the query and fragment (where a key server's access
/// token would be) and any user info replaced by `…`, at most 200 characters.
pub(crate) fn redact(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let (mut base, rest) = (url[..cut].to_owned(), &url[cut..]);
    if let Some(scheme_end) = base.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = base[authority_start..]
            .find('/')
            .map_or(base.len(), |i| authority_start + i);
        if let Some(at) = base[authority_start..authority_end].rfind('@') {
            base.replace_range(authority_start..=authority_start + at, "…@");
        }
    }
    if !rest.is_empty() {
        base.push_str(&rest[..1]);
        base.push('…');
    }
    base.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect()
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1` (any case): two letters, one or more `-` and
/// letters, `-` and digits. Not `s3`, `s3-us-west-2` or `s3-external-1`, which are S3 and
/// (in `sns.s3.amazonaws.com`) a bucket anyone may own.
fn is_region(label: &str) -> bool {
    let mut parts = label.split('-');
    let alpha = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic());
    let first_ok = parts.next().is_some_and(|p| p.len() == 2 && alpha(p));
    let rest: Vec<&str> = parts.collect();
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first_ok
        && !middle.is_empty()
        && middle.iter().all(|p| alpha(p))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON Web Key Set (RFC 7517) at an `https` URL, refetched every
/// [`refresh_interval`](HttpsKeysBuilder::refresh_interval) and never more often than
/// [`min_refresh_interval`](HttpsKeysBuilder::min_refresh_interval), however often a refresh
/// is asked for.
///
/// Usable keys: `oct` (`k`, an HMAC secret), `OKP` with `crv: Ed25519` (`x`) and `EC` with
/// `crv: P-256` (`x`, `y`, handed over as an uncompressed SEC1 point); others, and keys
/// whose `use` is not `sig`, are skipped. Keys reach the verifier as raw bytes (use them
/// with schemes whose key format is raw) labelled with their `kid`; at most 16
/// ([`MAX_SECRETS`]) are kept, in the set's order.
///
/// Hostile-network rules: the URL must be `https`, its host must match an allowed pattern
/// (the URL's own host unless [`allow_host`](HttpsKeysBuilder::allow_host) says
/// otherwise), redirects are not followed, the server certificate is checked against the web
/// PKI roots (or the roots given), the response is bounded
/// ([`max_response_len`](HttpsKeysBuilder::max_response_len), checked on `Content-Length`
/// and while reading), and the whole exchange has a timeout (default 5 s).
pub struct HttpsKeys {
    algorithm: Algorithm,
    key_format: KeyFormat,
    uri: Uri,
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    max_len: usize,
    interval: Duration,
    min_interval: Duration,
    state: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_body: Option<Bytes>,
}

impl fmt::Debug for HttpsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsKeys")
            .field("uri", &redact(&self.uri.to_string()))
            .field("algorithm", &self.algorithm)
            .field("timeout", &self.timeout)
            .field("max_response_len", &self.max_len)
            .field("refresh_interval", &self.interval)
            .field("min_refresh_interval", &self.min_interval)
            .finish_non_exhaustive()
    }
}

/// Builds [`HttpsKeys`]; see [`HttpsKeys::builder`].
#[must_use]
pub struct HttpsKeysBuilder {
    url: String,
    algorithm: Algorithm,
    key_format: KeyFormat,
    allowed: Vec<HostPattern>,
    roots_pem: Option<Vec<u8>>,
    timeout: Duration,
    max_len: usize,
    interval: Duration,
    min_interval: Duration,
}

impl fmt::Debug for HttpsKeysBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsKeysBuilder")
            .field("url", &redact(&self.url))
            .field("algorithm", &self.algorithm)
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl HttpsKeys {
    /// Starts a key set at `url` for the verifier of `scheme` (a [`Preset`](crate::Preset)
    /// or a [`Scheme`]): 5 s timeout, 64 KiB bound, refreshed every 5 minutes and at most
    /// every 30 seconds.
    ///
    /// The scheme's algorithm pins the key type: HMAC and token schemes take only `oct`
    /// keys, Ed25519 only `OKP`/`Ed25519`, ECDSA P-256 only `EC`/`P-256`. Other keys in the
    /// set are skipped, so a public key can never become an HMAC secret (anyone holding a
    /// public key could then sign). So are keys whose `alg` names another algorithm (an
    /// `oct` key for `A256GCM` is not a webhook key) and keys whose `key_ops` leave out
    /// `verify`. The keys are handed over written in the scheme's
    /// [`KeyFormat`] (hex for Discord, base64 for Standard Webhooks, …), as its secrets are.
    pub fn builder(url: impl Into<String>, scheme: impl Into<Scheme>) -> HttpsKeysBuilder {
        let scheme = scheme.into();
        HttpsKeysBuilder {
            url: url.into(),
            algorithm: scheme.algorithm(),
            key_format: scheme.key_format().clone(),
            allowed: Vec::new(),
            roots_pem: None,
            timeout: Duration::from_secs(5),
            max_len: DEFAULT_MAX_RESPONSE_LEN,
            interval: Duration::from_secs(300),
            min_interval: Duration::from_secs(30),
        }
    }

    fn fetch_error(&self, reason: &'static str) -> KeySourceError {
        KeySourceError::Fetch {
            url: redact(&self.uri.to_string()),
            reason,
        }
    }

    async fn fetch(&self) -> Result<Bytes, KeySourceError> {
        get(&self.tls, &self.uri, &self.host, self.port, self.max_len).await
    }

    /// Runs [`fetch`](Self::fetch) on its own thread and runtime (the caller may be inside
    /// another runtime), with the timeout around the whole exchange.
    fn fetch_blocking(&self) -> Result<Bytes, KeySourceError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|_| self.fetch_error("cannot start a runtime"))?;
                    let result = runtime.block_on(async {
                        tokio::time::timeout(self.timeout, self.fetch())
                            .await
                            .map_err(|_| self.fetch_error("timed out"))?
                    });
                    // A name lookup still running on a blocking thread (past the timeout)
                    // is not waited for: dropping the runtime would.
                    runtime.shutdown_background();
                    result
                })
                .join()
                .map_err(|_| self.fetch_error("the fetch panicked"))?
        })
    }
}

/// One bounded `GET` over TLS: connect, handshake, 200 only (redirects are not followed),
/// body within `max_len` (on `Content-Length` and while reading). No timeout: the caller
/// puts one around it.
pub(crate) async fn get(
    tls: &Arc<rustls::ClientConfig>,
    uri: &Uri,
    host: &str,
    port: u16,
    max_len: usize,
) -> Result<Bytes, KeySourceError> {
    let fail = |reason| KeySourceError::Fetch {
        url: redact(&uri.to_string()),
        reason,
    };
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|_| fail("cannot connect"))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|_| fail("invalid server name"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|_| fail("TLS handshake failed (certificate not trusted for this host?)"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|_| fail("HTTP handshake failed"))?;
    tokio::spawn(connection);
    let path = uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let request = Request::get(path)
        .header(header::HOST, uri.authority().map_or("", |a| a.as_str()))
        .body(Empty::<Bytes>::new())
        .map_err(|_| fail("cannot build the request"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| fail("request failed"))?;
    if response.status() != StatusCode::OK {
        return Err(KeySourceError::Status(response.status().as_u16()));
    }
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max_len).unwrap_or(u64::MAX)) {
        return Err(KeySourceError::TooLarge { limit: max_len });
    }
    let body = Limited::new(response.into_body(), max_len)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                KeySourceError::TooLarge { limit: max_len }
            } else {
                fail("reading the response failed")
            }
        })?;
    Ok(body.to_bytes())
}

/// TLS for fetching keys: the web PKI roots, or the PEM certificates given.
pub(crate) fn client_config(
    roots_pem: Option<&[u8]>,
) -> Result<Arc<rustls::ClientConfig>, KeySourceError> {
    let mut roots = rustls::RootCertStore::empty();
    match roots_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|_| KeySourceError::Malformed("root certificate PEM"))?;
                roots
                    .add(cert)
                    .map_err(|_| KeySourceError::Malformed("root certificate"))?;
            }
            if roots.is_empty() {
                return Err(KeySourceError::Malformed("no root certificate in the PEM"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| KeySourceError::Malformed("TLS configuration"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

impl HttpsKeysBuilder {
    /// Allows hosts matching `pattern` (labels compared case-insensitively, `*` standing for
    /// exactly one label). Once any pattern is given, the URL's own host is no longer
    /// implied.
    pub fn allow_host(mut self, pattern: impl Into<String>) -> Self {
        self.allowed.push(HostPattern(pattern.into()));
        self
    }

    /// Trusts these PEM certificates instead of the web PKI roots (a private CA; tests).
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots_pem = Some(pem.into());
        self
    }

    /// The timeout of one whole fetch (connect, TLS, request, body; default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound of a response body (default 64 KiB).
    pub fn max_response_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// How often the key set is refetched (default 5 minutes).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The least time between two fetches, however often a refresh is asked for (default
    /// 30 s): a flood of deliveries signed with an unknown key cannot turn into a flood of
    /// requests to the key server.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Checks the URL against the allowed hosts and prepares TLS.
    ///
    /// # Errors
    /// [`KeySourceError::InvalidUrl`] for a URL that is not `https://host[:port]/…`,
    /// [`KeySourceError::HostNotAllowed`] when its host matches no allowed pattern,
    /// [`KeySourceError::Malformed`] for root certificates that cannot be used,
    /// [`KeySourceError::Config`] for a scheme whose secrets are HTTP Basic credentials
    /// (they are not keys a key set holds).
    pub fn build(self) -> Result<HttpsKeys, KeySourceError> {
        if matches!(self.key_format, KeyFormat::BasicAuth) {
            return Err(KeySourceError::Config(ConfigError::InvalidScheme(
                "a scheme checking HTTP Basic credentials cannot take its keys from a key set",
            )));
        }
        let invalid = || KeySourceError::InvalidUrl(redact(&self.url));
        let uri: Uri = self.url.parse().map_err(|_| invalid())?;
        if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
            return Err(invalid());
        }
        let authority = uri.authority().ok_or_else(invalid)?;
        if authority.as_str().contains('@') {
            return Err(invalid());
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(invalid());
        }
        let allowed = if self.allowed.is_empty() {
            vec![HostPattern(host.clone())]
        } else {
            self.allowed
        };
        if !allowed.iter().any(|p| p.matches(&host)) {
            return Err(KeySourceError::HostNotAllowed(host));
        }
        let tls = client_config(self.roots_pem.as_deref())?;
        Ok(HttpsKeys {
            algorithm: self.algorithm,
            key_format: self.key_format,
            port: uri.port_u16().unwrap_or(443),
            uri,
            host,
            tls,
            timeout: self.timeout,
            max_len: self.max_len,
            interval: self.interval,
            min_interval: self.min_interval,
            state: Mutex::new(FetchState::default()),
        })
    }
}

impl KeySource for HttpsKeys {
    fn poll(&self) -> Result<Option<Vec<Secret>>, KeySourceError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.min_interval)
        {
            return Ok(None);
        }
        state.last_attempt = Some(Instant::now());
        let body = self.fetch_blocking()?;
        if state.last_body.as_ref() == Some(&body) {
            return Ok(None);
        }
        let keys = parse_jwks(&body, self.algorithm, &self.key_format)?;
        state.last_body = Some(body);
        Ok(Some(keys))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(self.interval.max(self.min_interval))
    }
}

/// The JWK key type (`kty`, and `crv` for key pairs) whose keys verify `algorithm`.
fn key_type(algorithm: Algorithm) -> (&'static str, Option<&'static str>) {
    match algorithm {
        Algorithm::Ed25519 => ("OKP", Some("Ed25519")),
        Algorithm::EcdsaP256Sha256 => ("EC", Some("P-256")),
        _ => ("oct", None),
    }
}

/// The JOSE `alg` names of `algorithm` (RFC 7518, RFC 8037); empty for algorithms JOSE does
/// not name (a key declaring any `alg` is then meant for something else).
fn jose_names(algorithm: Algorithm) -> &'static [&'static str] {
    match algorithm {
        Algorithm::HmacSha256 => &["HS256"],
        Algorithm::HmacSha512 => &["HS512"],
        Algorithm::Ed25519 => &["EdDSA", "Ed25519"],
        Algorithm::EcdsaP256Sha256 => &["ES256"],
        _ => &[],
    }
}

/// Whether `kid` may label a secret (what the verifier accepts as a label: 1 to 64 of
/// `A-Z a-z 0-9 . _ -`). Another `kid` leaves its key unlabelled rather than failing the
/// whole set.
fn usable_label(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_SECRET_LABEL_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `raw` written as the scheme's secrets are, for the verifier to decode again.
fn encoded(raw: &[u8], format: &KeyFormat) -> Vec<u8> {
    match format {
        KeyFormat::Hex => hex::encode(raw).into_bytes(),
        KeyFormat::Base64 { prefix } => {
            let mut text = prefix.as_deref().unwrap_or_default().to_owned();
            text.push_str(&STANDARD.encode(raw));
            text.into_bytes()
        }
        // `Raw`; `BasicAuth` is refused when the source is built.
        _ => raw.to_vec(),
    }
}

/// The keys of a JWK Set usable for `algorithm`, at most [`MAX_SECRETS`] (a set with more
/// is refused: keeping some would drop keys the provider may sign with), labelled with
/// their `kid` where it makes a valid label, written in `format`.
fn parse_jwks(
    body: &[u8],
    algorithm: Algorithm,
    format: &KeyFormat,
) -> Result<Vec<Secret>, KeySourceError> {
    let wanted = key_type(algorithm);
    let set: Value =
        serde_json::from_slice(body).map_err(|_| KeySourceError::Malformed("not JSON"))?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(KeySourceError::Malformed("no `keys` array"))?;
    let field = |key: &Value, name: &str| -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(key.get(name)?.as_str()?.as_bytes())
            .ok()
    };
    let mut out = Vec::new();
    for key in keys {
        if key.get("use").is_some_and(|u| u != "sig") {
            continue;
        }
        if key
            .get("alg")
            .is_some_and(|alg| !jose_names(algorithm).iter().any(|name| alg == *name))
        {
            continue;
        }
        if key.get("key_ops").is_some_and(|ops| {
            !ops.as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
        }) {
            continue;
        }
        let kty = key.get("kty").and_then(Value::as_str);
        let crv = key.get("crv").and_then(Value::as_str);
        if kty != Some(wanted.0) || wanted.1.is_some_and(|c| crv != Some(c)) {
            continue;
        }
        let bytes = match (kty, crv) {
            (Some("oct"), _) => field(key, "k"),
            (Some("OKP"), Some("Ed25519")) => field(key, "x").filter(|x| x.len() == 32),
            (Some("EC"), Some("P-256")) => match (field(key, "x"), field(key, "y")) {
                (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                    Some([&[4u8][..], &x, &y].concat())
                }
                _ => None,
            },
            _ => continue,
        };
        let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
            return Err(KeySourceError::Malformed(
                "a usable key has no valid key material",
            ));
        };
        if out.len() >= MAX_SECRETS {
            return Err(KeySourceError::Malformed(
                "the key set has more than 16 usable keys",
            ));
        }
        let mut secret = Secret::new(encoded(&bytes, format));
        if let Some(kid) = key.get("kid").and_then(Value::as_str)
            && usable_label(kid)
        {
            secret = secret.with_label(kid);
        }
        out.push(secret);
    }
    if out.is_empty() {
        return Err(KeySourceError::NoUsableKey {
            kty: wanted.0,
            algorithm,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_core::{Delivery, Preset, SignRequest, Signer, Verifier};

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn parse(set: &Value, scheme: impl Into<Scheme>) -> Result<Vec<Secret>, KeySourceError> {
        let scheme = scheme.into();
        parse_jwks(
            &serde_json::to_vec(set).unwrap(),
            scheme.algorithm(),
            scheme.key_format(),
        )
    }

    /// Keys meant for something else are skipped: another `alg`, `key_ops` without `verify`,
    /// another `use`; an odd `kid` leaves its key unlabelled instead of failing the set.
    #[test]
    fn keys_for_other_uses_are_skipped() {
        let set = serde_json::json!({"keys": [
            {"kty": "oct", "alg": "A256GCM", "k": b64(b"an encryption key")},
            {"kty": "oct", "alg": "HS512", "k": b64(b"another algorithm")},
            {"kty": "oct", "key_ops": ["sign"], "k": b64(b"signing only")},
            {"kty": "oct", "key_ops": "verify", "k": b64(b"malformed key_ops")},
            {"kty": "oct", "use": "enc", "k": b64(b"encryption use")},
            {"kty": "oct", "alg": "HS256", "key_ops": ["sign", "verify"], "kid": "k:2/x", "k": b64(b"the webhook key")},
        ]});
        let keys = parse(&set, Preset::Github).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].expose(), b"the webhook key");
        assert_eq!(
            keys[0].label(),
            None,
            "`k:2/x` is not a label the verifier takes"
        );
        let verifier = Verifier::builder(Preset::Github).secrets(keys).build();
        assert!(verifier.is_ok());

        let only_other = serde_json::json!({"keys": [
            {"kty": "oct", "alg": "A256GCM", "k": b64(b"an encryption key")},
        ]});
        assert!(matches!(
            parse(&only_other, Preset::Github),
            Err(KeySourceError::NoUsableKey { kty: "oct", .. })
        ));
    }

    /// More usable keys than a verifier holds: refused, not cut (the cut could drop the key
    /// the provider signs with).
    #[test]
    fn too_many_usable_keys_are_refused() {
        let keys: Vec<Value> = (0..=MAX_SECRETS)
            .map(|i| serde_json::json!({"kty": "oct", "k": b64(format!("key {i}").as_bytes())}))
            .collect();
        let err = parse(&serde_json::json!({ "keys": keys }), Preset::Github).unwrap_err();
        assert!(matches!(err, KeySourceError::Malformed(_)), "{err}");
    }

    /// The keys come written as the scheme's secrets are: hex for Discord's Ed25519 keys,
    /// `whsec_` + base64 for Standard Webhooks; the verifiers built from them verify.
    #[test]
    fn keys_are_written_in_the_schemes_key_format() {
        let public = ed25519_public();
        let set = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "discord-1", "x": b64(&public)},
        ]});
        let keys = parse(&set, Preset::Discord).unwrap();
        assert_eq!(keys[0].expose(), hex::encode(public).as_bytes());
        assert_eq!(keys[0].label(), Some("discord-1"));
        Verifier::builder(Preset::Discord)
            .secrets(keys)
            .build()
            .expect("a hex Ed25519 key");

        let raw = b"0123456789abcdef0123456789abcdef";
        let set = serde_json::json!({"keys": [{"kty": "oct", "k": b64(raw)}]});
        let keys = parse(&set, Preset::StandardWebhooks).unwrap();
        let expected = format!("whsec_{}", STANDARD.encode(raw));
        assert_eq!(keys[0].expose(), expected.as_bytes());
        let verifier = Verifier::builder(Preset::StandardWebhooks)
            .secrets(keys)
            .build()
            .unwrap();
        let body = br#"{"type":"ping"}"#;
        let headers = Signer::new(Preset::StandardWebhooks, expected.as_str())
            .unwrap()
            .sign(&SignRequest::new(body).id("msg_1"))
            .unwrap();
        assert!(verifier.verify(&Delivery::new(&headers, body)).is_ok());

        let basic = HttpsKeys::builder("https://keys.example.com/jwks", Preset::BasicAuth).build();
        assert!(matches!(basic, Err(KeySourceError::Config(_))));
    }

    /// RFC 8032 test 1's public key.
    fn ed25519_public() -> [u8; 32] {
        let mut key = [0u8; 32];
        hex::decode_to_slice(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            &mut key,
        )
        .unwrap();
        key
    }

    #[test]
    fn host_patterns() {
        let p = |s: &str| HostPattern(s.to_owned());
        assert!(p("sns.*.amazonaws.com").matches("sns.eu-west-1.amazonaws.com"));
        assert!(p("sns.*.amazonaws.com").matches("SNS.us-east-1.AmazonAWS.com"));
        assert!(!p("sns.*.amazonaws.com").matches("sns.amazonaws.com"));
        assert!(!p("sns.*.amazonaws.com").matches("sns.a.b.amazonaws.com"));
        assert!(!p("sns.*.amazonaws.com").matches("sns.x.amazonaws.com.evil.test"));
        assert!(!p("sns.*.amazonaws.com").matches("evilsns.x.amazonaws.com"));
        assert_eq!(
            redact("https://keys.test/jwks.json?token=s3cret#x"),
            "https://keys.test/jwks.json?…"
        );
        assert_eq!(redact("https://u:pw@keys.test/k"), "https://…@keys.test/k");
        assert_eq!(redact("http://keys.test/k#frag"), "http://keys.test/k#…");
        assert_eq!(redact("not a url\n"), "not a url?");
        let builder =
            HttpsKeys::builder("https://keys.test/jwks.json?token=s3cret", Preset::Github);
        assert!(!format!("{builder:?}").contains("s3cret"));
        let err = HttpsKeys::builder("http://keys.test/jwks.json?token=s3cret", Preset::Github)
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let r = p("sns.{region}.amazonaws.com");
        assert!(r.matches("sns.us-east-1.amazonaws.com"));
        assert!(r.matches("SNS.US-GOV-WEST-1.amazonaws.com"));
        for bad in [
            "sns.s3.amazonaws.com",
            "sns.s3-us-west-2.amazonaws.com",
            "sns.us-east.amazonaws.com",
            "sns.useast-1.amazonaws.com",
            "sns.us--1.amazonaws.com",
            "sns.us-east-.amazonaws.com",
            "sns.-east-1.amazonaws.com",
            "sns..amazonaws.com",
        ] {
            assert!(!r.matches(bad), "{bad}");
        }
        assert!(!p("*.example.com").matches(".example.com"));
        assert!(p("keys.example.com").matches("keys.example.com"));
        assert!(!p("keys.example.com").matches("keys.example.com."));
    }

    #[test]
    fn urls_and_pins_are_checked_when_built() {
        for bad in [
            "http://keys.example.com/jwks",
            "keys.example.com/jwks",
            "https://user@keys.example.com/jwks",
            "https:///jwks",
            "",
        ] {
            assert!(
                matches!(
                    HttpsKeys::builder(bad, Preset::Github).build(),
                    Err(KeySourceError::InvalidUrl(_))
                ),
                "{bad}"
            );
        }
        assert!(
            HttpsKeys::builder("https://keys.example.com/jwks", Preset::Github)
                .build()
                .is_ok()
        );
        let err = HttpsKeys::builder("https://keys.evil.test/jwks", Preset::Github)
            .allow_host("*.example.com")
            .build()
            .unwrap_err();
        assert!(matches!(err, KeySourceError::HostNotAllowed(h) if h == "keys.evil.test"));
        assert!(matches!(
            HttpsKeys::builder("https://keys.example.com/", Preset::Github)
                .root_certificates_pem("not pem")
                .build(),
            Err(KeySourceError::Malformed(_))
        ));
    }

    #[test]
    fn jwks_keys() {
        let k = URL_SAFE_NO_PAD.encode(b"hmac-key");
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let set = format!(
            r#"{{"keys":[{{"kty":"oct","kid":"a","k":"{k}"}},{{"kty":"RSA","n":"x","e":"AQAB"}},
            {{"kty":"oct","use":"enc","k":"{k}"}},{{"kty":"OKP","crv":"Ed25519","kid":"b","x":"{x}"}},
            {{"kty":"EC","crv":"P-256","x":"{x}","y":"{x}"}}]}}"#
        );
        // Each algorithm takes only its own key type: a public key never becomes an HMAC
        // secret, an HMAC secret never an Ed25519 key.
        let keys = parse_jwks(set.as_bytes(), Algorithm::HmacSha256, &KeyFormat::Raw).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].expose(), b"hmac-key");
        assert_eq!(keys[0].label(), Some("a"));
        let keys = parse_jwks(set.as_bytes(), Algorithm::Ed25519, &KeyFormat::Raw).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].expose(), &[7u8; 32]);
        assert_eq!(keys[0].label(), Some("b"));
        let keys = parse_jwks(set.as_bytes(), Algorithm::EcdsaP256Sha256, &KeyFormat::Raw).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].expose().len(), 65);
        let public_only = format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}"}},{{"kty":"EC","crv":"P-256","x":"{x}","y":"{x}"}}]}}"#
        );
        for hmac in [Algorithm::HmacSha256, Algorithm::HmacSha1, Algorithm::Token] {
            let err = parse_jwks(public_only.as_bytes(), hmac, &KeyFormat::Raw).unwrap_err();
            assert!(
                matches!(err, KeySourceError::NoUsableKey { kty: "oct", .. }),
                "{err:?}"
            );
        }
        assert_eq!(
            parse_jwks(
                public_only.as_bytes(),
                Algorithm::HmacSha256,
                &KeyFormat::Raw
            )
            .unwrap_err()
            .to_string(),
            "the key set has no `oct` key for HMAC-SHA256"
        );
        let oct_only = format!(r#"{{"keys":[{{"kty":"oct","k":"{k}"}}]}}"#);
        assert!(parse_jwks(oct_only.as_bytes(), Algorithm::Ed25519, &KeyFormat::Raw).is_err());
        // An Ed25519 key does not verify P-256.
        let ed_only = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}]}}"#);
        assert!(
            parse_jwks(
                ed_only.as_bytes(),
                Algorithm::EcdsaP256Sha256,
                &KeyFormat::Raw
            )
            .is_err()
        );
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"keys":{}}"#,
            br#"{"keys":[]}"#,
            br#"{"keys":[{"kty":"oct"}]}"#,
            br#"{"keys":[{"kty":"oct","k":"!!"}]}"#,
        ] {
            assert!(
                parse_jwks(bad, Algorithm::HmacSha256, &KeyFormat::Raw).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let short = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#;
        assert!(parse_jwks(short, Algorithm::Ed25519, &KeyFormat::Raw).is_err());
        let many: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"kty":"oct","kid":"k{i}","k":"{k}"}}"#))
            .collect();
        let err = parse_jwks(
            format!(r#"{{"keys":[{}]}}"#, many.join(",")).as_bytes(),
            Algorithm::HmacSha256,
            &KeyFormat::Raw,
        )
        .unwrap_err();
        assert!(matches!(err, KeySourceError::Malformed(_)), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn jwks_parsing_does_not_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            for algorithm in Algorithm::ALL {
                for format in [KeyFormat::Raw, KeyFormat::Hex, KeyFormat::Base64 { prefix: None }] {
                    let _ = parse_jwks(&body, *algorithm, &format);
                }
            }
        }
    }
}
