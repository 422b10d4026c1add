//! [`VerifyLayer`] (configuration only) and its builder.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use countersign_core::{ConfigError, Scheme, Secret, Verifier};
use http::{HeaderMap, HeaderName, Response};
use tower_layer::Layer;

use super::url::UrlConfig;
use crate::budget::BodyBudget;
use crate::keys::RotatingVerifier;
use crate::rejection::VerifyRejection;
use crate::verify::Verify;

/// A user hook producing the rejection response.
pub(crate) type RejectionHook = Arc<dyn Fn(&VerifyRejection) -> Response<Bytes> + Send + Sync>;

/// Everything a [`Verify`] service needs, shared by all its clones.
pub(crate) struct Config {
    /// The verifier the layer was built with: its scheme and body limit hold for every
    /// verifier a rotation swaps in.
    pub(crate) verifier: Verifier,
    /// Where the verifier of each request comes from when its keys rotate.
    pub(crate) rotating: Option<RotatingVerifier>,
    /// Signature headers, marked sensitive on every request.
    pub(crate) sensitive: Vec<HeaderName>,
    pub(crate) handshakes: bool,
    pub(crate) url: UrlConfig,
    /// Whether the scheme (or one of its alternatives) signs the URL: only then is the URL
    /// rebuilt per request.
    pub(crate) needs_url: bool,
    pub(crate) on_rejection: Option<RejectionHook>,
    pub(crate) budget: Option<BodyBudget>,
}

impl Config {
    /// The verifier for the request at hand (a reference-count bump).
    pub(crate) fn current_verifier(&self) -> Verifier {
        match &self.rotating {
            Some(r) => r.current(),
            None => self.verifier.clone(),
        }
    }

    pub(crate) fn mark_sensitive(&self, headers: &mut HeaderMap) {
        for name in &self.sensitive {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (None, _) => {}
                (Some(_), None) => {
                    if let Some(value) = headers.get_mut(name) {
                        value.set_sensitive(true);
                    }
                }
                // Repeated (the verifier rejects it). `entry` may grow the map, so only here.
                (Some(_), Some(_)) => {
                    if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
                        for value in entry.iter_mut() {
                            value.set_sensitive(true);
                        }
                    }
                }
            }
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("verifier", &self.verifier)
            .field("rotating", &self.rotating.is_some())
            .field("handshakes", &self.handshakes)
            .field("url", &self.url)
            .field(
                "on_rejection",
                &self.on_rejection.as_ref().map(|_| "<hook>"),
            )
            .field("budget", &self.budget)
            .finish()
    }
}

/// A [`tower_layer::Layer`] that verifies webhook signatures; see the [crate docs](crate).
///
/// Configuration only, cheap to clone (one `Arc`). Two steps, one builder each: the
/// [`Verifier`] (scheme, secrets, tolerance, body limit, clock: [`Verifier::builder`]), then
/// the layer around it (handshakes, URL reconstruction, body budget, rejection response:
/// [`VerifyLayer::builder`]). [`VerifyLayer::new`] does both with every default.
/// Configuration errors surface when building, never per request.
///
/// ```
/// use countersign_tower::{Preset, VerifyLayer, ConfigError};
///
/// let layer = VerifyLayer::new(Preset::Stripe, "whsec_test_secret")?;
/// # let _ = layer;
/// // An empty secret is refused when the layer is built:
/// assert_eq!(VerifyLayer::new(Preset::Stripe, "").unwrap_err(), ConfigError::EmptySecret { index: 0 });
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct VerifyLayer {
    config: Arc<Config>,
}

impl VerifyLayer {
    /// A layer for `scheme` (a [`Preset`](countersign_core::Preset) or a [`Scheme`]) with
    /// one secret and every default: the scheme's tolerance and body limit, the system
    /// clock, no handshakes, URL from the `Host` header over `https`. The same as
    /// `VerifyLayer::builder(Verifier::new(scheme, secret)?).build()`.
    ///
    /// # Errors
    /// A [`ConfigError`] when the secret is empty or cannot be decoded.
    pub fn new(scheme: impl Into<Scheme>, secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        VerifyLayer::builder(Verifier::new(scheme, secret)?).build()
    }

    /// Starts a layer around `verifier`, which holds everything about checking a delivery
    /// (secrets, tolerance, body limit, clock); the builder takes only what the layer does
    /// around it.
    pub fn builder(verifier: Verifier) -> VerifyLayerBuilder {
        VerifyLayerBuilder {
            verifier,
            rotating: None,
            handshakes: false,
            public_url: None,
            url_scheme: None,
            trust_forwarded: false,
            on_rejection: None,
            budget: None,
        }
    }

    /// Starts a layer whose verifier's keys change without a restart (see
    /// [`keys`](crate::keys)): each request is verified by the rotating verifier's
    /// [`current`](RotatingVerifier::current) one. Rotations keep the scheme and the body
    /// limit of the verifier in use when the layer is built.
    ///
    /// ```
    /// use countersign_tower::keys::{RotatingVerifier, StaticKeys};
    /// use countersign_tower::{Preset, Verifier, VerifyLayer};
    ///
    /// let rotating = RotatingVerifier::new(StaticKeys::new(["s1", "s2"]), |keys| {
    ///     Verifier::builder(Preset::Github).secrets(keys).build()
    /// })?;
    /// let layer = VerifyLayer::rotating(rotating).build()?;
    /// assert_eq!(layer.verifier().scheme().name(), "github");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rotating(verifier: RotatingVerifier) -> VerifyLayerBuilder {
        let mut builder = VerifyLayer::builder(verifier.current());
        builder.rotating = Some(verifier);
        builder
    }

    /// The verifier in use (for a [rotating](Self::rotating) layer, the current one).
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        self.config.current_verifier()
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = Verify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify::from_parts(inner, Arc::clone(&self.config))
    }
}

/// Builds a [`VerifyLayer`] around a [`Verifier`]; see [`VerifyLayer::builder`].
///
/// ```
/// use countersign_tower::{Preset, Tolerance, Verifier, VerifyLayer};
/// use std::time::Duration;
///
/// let verifier = Verifier::builder(Preset::Slack)
///     .secret("current-signing-secret")
///     .secret("previous-signing-secret") // rotation: either may sign
///     .tolerance(Tolerance::symmetric(Duration::from_secs(120)))
///     .body_limit(256 * 1024)
///     .build()?;
/// let layer = VerifyLayer::builder(verifier)
///     .handshakes(true) // answer Slack's url_verification
///     .public_url("https://hooks.example.com")
///     .build()?;
/// assert_eq!(layer.verifier().body_limit(), 256 * 1024);
///
/// // Invalid configuration fails here, not per request:
/// let verifier = Verifier::new(Preset::Slack, "s")?;
/// assert!(VerifyLayer::builder(verifier).public_url("ftp://x").build().is_err());
/// # Ok::<(), countersign_tower::ConfigError>(())
/// ```
#[must_use]
pub struct VerifyLayerBuilder {
    verifier: Verifier,
    rotating: Option<RotatingVerifier>,
    handshakes: bool,
    public_url: Option<String>,
    url_scheme: Option<String>,
    trust_forwarded: bool,
    on_rejection: Option<RejectionHook>,
    budget: Option<BodyBudget>,
}

impl fmt::Debug for VerifyLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayerBuilder")
            .field("verifier", &self.verifier)
            .field("handshakes", &self.handshakes)
            .field("public_url", &self.public_url)
            .field("url_scheme", &self.url_scheme)
            .field("trust_forwarded", &self.trust_forwarded)
            .field(
                "on_rejection",
                &self.on_rejection.as_ref().map(|_| "<hook>"),
            )
            .field("budget", &self.budget)
            .finish()
    }
}

impl VerifyLayerBuilder {
    /// Counts the bodies this layer buffers against a shared [`BodyBudget`] (default: none,
    /// each request is bounded by the body limit alone). A request that does not fit is
    /// answered `503` + `Retry-After`, before its body is read when it declares its length.
    /// The budget must hold at least one body of the body limit.
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Answers the scheme's handshakes in the layer, after verifying their signature, instead
    /// of passing them to the service: Slack `url_verification` (the challenge as JSON),
    /// Twitch `webhook_callback_verification` (the challenge as text), Zoom
    /// `endpoint.url_validation` (`plainToken` and its HMAC) and Discord `PING` (`{"type":1}`),
    /// or a scheme's own ([`Handshake`](countersign_core::Handshake)). Default: off — a
    /// handshake is then an ordinary verified delivery. An unsigned or forged handshake is
    /// rejected like any delivery and never answered; an answered handshake never reaches the
    /// service (nor a `DedupLayer` inside it).
    ///
    /// Unsigned **request** handshakes are answered too, before any signature is looked for,
    /// recognised by method and query: Meta's `GET ?hub.mode=subscribe…` (only with the
    /// [handshake token](countersign_core::VerifierBuilder::handshake_token)), X's `GET ?crc_token=…` (an HMAC under the
    /// secret) and Microsoft Graph's `POST ?validationToken=…` (echoed). Echoed values are
    /// bounded and limited to printable ASCII without markup characters, and sent with
    /// `X-Content-Type-Options: nosniff`; a refused one is a rejection like any other.
    pub fn handshakes(mut self, answer: bool) -> Self {
        self.handshakes = answer;
        self
    }

    /// The public base URL the provider sends to, e.g. `https://hooks.example.com` (a path
    /// prefix is allowed: `https://example.com/api`). The URL of a delivery is this base
    /// followed by the request's path and query.
    ///
    /// Only schemes that sign the URL use it (Twilio, Square, HubSpot v3, …). Recommended
    /// whenever the app is behind a proxy or load balancer: without it the URL is rebuilt
    /// from the `Host` header, which a proxy may rewrite (and a request without a usable
    /// `Host` is then refused with `400 missing_header`). Wins over
    /// [`trust_forwarded_headers`](Self::trust_forwarded_headers).
    pub fn public_url(mut self, base: impl Into<String>) -> Self {
        self.public_url = Some(base.into());
        self
    }

    /// The URL scheme (`https` or `http`) used to rebuild a delivery's URL when no
    /// [`public_url`](Self::public_url) is set. Default: `https`, since providers deliver to
    /// HTTPS endpoints and TLS usually ends at a proxy in front of the app.
    pub fn url_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.url_scheme = Some(scheme.into());
        self
    }

    /// Rebuilds a delivery's URL from `Forwarded` (RFC 7239: `proto=`, `host=`) or
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` when present (the last entry of each: the
    /// one the proxy in front of the app wrote; earlier entries may be the client's),
    /// falling back to `Host` and [`url_scheme`](Self::url_scheme). Default: off.
    ///
    /// Turn it on only when every request comes through a proxy you control that sets or
    /// appends these headers: otherwise any client can choose the URL that URL-bound schemes
    /// check the signature against (and replay a delivery signed for another endpoint). A
    /// fixed [`public_url`](Self::public_url) is simpler and safer.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
        self
    }

    /// Replaces the default rejection response (status from the error kind, a short vague
    /// `text/plain` body). The hook receives the precise reason; the layer still inserts the
    /// [`VerifyRejection`] into the extensions of the response it returns.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use countersign_tower::{Preset, Verifier, VerifyLayer};
    /// use http::{header, Response};
    ///
    /// let layer = VerifyLayer::builder(Verifier::new(Preset::Github, "s3cret")?)
    ///     .on_rejection(|rejection| {
    ///         let body = format!(r#"{{"error":"{}"}}"#, rejection.label());
    ///         let mut response = Response::new(Bytes::from(body));
    ///         *response.status_mut() = rejection.status();
    ///         response.headers_mut().insert(
    ///             header::CONTENT_TYPE,
    ///             header::HeaderValue::from_static("application/json"),
    ///         );
    ///         response
    ///     })
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok::<(), countersign_tower::ConfigError>(())
    /// ```
    pub fn on_rejection<F>(mut self, hook: F) -> Self
    where
        F: Fn(&VerifyRejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(hook));
        self
    }

    /// Builds the layer.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for a `public_url` that is not an absolute `http(s)` URL
    /// without query, a `url_scheme` other than `http`/`https`, or a
    /// [`body_budget`](Self::body_budget) smaller than the verifier's body limit.
    pub fn build(self) -> Result<VerifyLayer, ConfigError> {
        let verifier = self.verifier;
        let url = UrlConfig::new(
            self.public_url.as_deref(),
            self.url_scheme.as_deref(),
            self.trust_forwarded,
        )?;
        if let Some(budget) = &self.budget
            && budget.capacity() < verifier.body_limit()
        {
            return Err(ConfigError::InvalidValue {
                what: "body budget (must hold one body of the body limit)",
                value: format!(
                    "{} bytes, body limit {} bytes",
                    budget.capacity(),
                    verifier.body_limit()
                ),
            });
        }
        let sensitive = verifier.scheme().signature_header().to_vec();
        let needs_url = verifier.scheme().needs_url();
        Ok(VerifyLayer {
            config: Arc::new(Config {
                verifier,
                rotating: self.rotating,
                sensitive,
                handshakes: self.handshakes,
                url,
                needs_url,
                on_rejection: self.on_rejection,
                budget: self.budget,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_core::Preset;

    #[test]
    fn config_errors_at_build_time() {
        assert_eq!(
            VerifyLayer::new(Preset::Github, "").unwrap_err(),
            ConfigError::EmptySecret { index: 0 }
        );
        let verifier = || Verifier::new(Preset::Github, "s").unwrap();
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://example.com/?q=1",
            "/path",
        ] {
            assert!(
                matches!(
                    VerifyLayer::builder(verifier()).public_url(bad).build(),
                    Err(ConfigError::InvalidValue { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            VerifyLayer::builder(verifier()).url_scheme("ws").build(),
            Err(ConfigError::InvalidValue { .. })
        ));
        let small = Verifier::builder(Preset::Github)
            .secret("s")
            .body_limit(10)
            .build()
            .unwrap();
        assert!(matches!(
            VerifyLayer::builder(verifier())
                .body_budget(BodyBudget::new(10))
                .build(),
            Err(ConfigError::InvalidValue { .. })
        ));
        let layer = VerifyLayer::builder(small)
            .body_budget(BodyBudget::new(10))
            .handshakes(true)
            .build()
            .unwrap();
        assert_eq!(layer.verifier().scheme().name(), "github");
        assert_eq!(layer.verifier().body_limit(), 10);
    }

    #[test]
    fn debug_shows_no_secret() {
        let verifier = Verifier::new(Preset::Stripe, "whsec_topsecret").unwrap();
        let builder = VerifyLayer::builder(verifier);
        assert!(!format!("{builder:?}").contains("topsecret"));
        let layer = builder
            .on_rejection(|_| Response::new(Bytes::new()))
            .build()
            .unwrap();
        let debug = format!("{layer:?}");
        assert!(!debug.contains("topsecret"), "{debug}");
        assert!(debug.contains("<hook>"), "{debug}");
    }

    #[test]
    fn marks_every_signature_header_value_sensitive() {
        let layer = VerifyLayer::new(Preset::Github, "s").unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-hub-signature-256", "sha256=aa".parse().unwrap());
        headers.append("x-hub-signature-256", "sha256=bb".parse().unwrap());
        headers.append("x-github-delivery", "d-1".parse().unwrap());
        layer.config.mark_sensitive(&mut headers);
        assert!(
            headers
                .get_all("x-hub-signature-256")
                .iter()
                .all(|v| v.is_sensitive())
        );
        assert!(!headers["x-github-delivery"].is_sensitive());
        assert!(format!("{headers:?}").contains("Sensitive"));
        assert!(!format!("{headers:?}").contains("sha256=aa"));
    }
}
