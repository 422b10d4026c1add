//! axum extractors for handlers behind [`VerifyLayer`](crate::VerifyLayer) (feature `axum`).
//!
//! - [`VerifiedWebhook`]: the delivery's [`Verified`] metadata (preset, event id, timestamp).
//! - [`Webhook<T>`](Webhook): the metadata plus the body parsed as JSON into `T`.
//!
//! Both answer `500` with a clear message when the layer is missing in front of the handler
//! (a wiring mistake, never a sender's fault), and `Option<…>` of either yields `None` then.

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{
    FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts, Request,
};
use axum::response::{IntoResponse, Response};
use countersign_core::Verified;
use http::StatusCode;
use http::request::Parts;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::rejection::BodyReadError;

const MISSING_LAYER: &str = "webhook not verified: no VerifyLayer in front of this handler \
     (add it with `.route_layer(VerifyLayer::new(..)?)` on the route or router)";

/// The [`Verified`] metadata of the delivery (dereferences to it).
///
/// Rejects with `500` ([`WebhookRejection::MissingLayer`]) when no
/// [`VerifyLayer`](crate::VerifyLayer) ran; `Option<VerifiedWebhook>` is `None` then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook(pub Verified);

impl Deref for VerifiedWebhook {
    type Target = Verified;

    fn deref(&self) -> &Verified {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedWebhook {
    type Rejection = WebhookRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        verified(&parts.extensions).map(VerifiedWebhook)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedWebhook {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Verified>()
            .cloned()
            .map(VerifiedWebhook))
    }
}

/// A verified delivery whose body is JSON of type `T`, with its [`Verified`] metadata.
///
/// Reads the body (already buffered and bounded by the layer), so it must be the last
/// extractor. The `Content-Type` is not checked: providers differ, the signature is what
/// counts. Rejects with `500` when no layer ran and `400` when the body is not JSON that
/// fits `T`. `Option<Webhook<T>>` is `None` without the layer and still rejects bad JSON.
///
/// ```
/// use axum::{Router, routing::post};
/// use countersign_tower::{Preset, VerifiedWebhook, VerifyLayer, Webhook};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Event {
///     id: String,
///     r#type: String,
/// }
///
/// async fn stripe(Webhook { verified, payload }: Webhook<Event>) -> &'static str {
///     assert_eq!(verified.event_id(), Some(payload.id.as_str()));
///     let _ = payload.r#type;
///     "ok"
/// }
///
/// async fn github(hook: VerifiedWebhook, body: axum::body::Bytes) -> String {
///     format!("{} bytes, delivery {:?}", body.len(), hook.event_id())
/// }
///
/// # fn main() -> Result<(), countersign_tower::ConfigError> {
/// let app: Router = Router::new()
///     .route("/webhooks/stripe", post(stripe))
///     .route_layer(VerifyLayer::new(Preset::Stripe, "whsec_test")?)
///     .merge(
///         Router::new()
///             .route("/webhooks/github", post(github))
///             .route_layer(VerifyLayer::new(Preset::Github, "gh-secret")?),
///     );
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook<T> {
    /// Preset, event id, signed timestamp.
    pub verified: Verified,
    /// The parsed body.
    pub payload: T,
}

impl<S, T> FromRequest<S> for Webhook<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let verified = verified(req.extensions())?;
        parse(verified, req).await
    }
}

impl<S, T> OptionalFromRequest<S> for Webhook<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        match req.extensions().get::<Verified>().cloned() {
            Some(verified) => parse(verified, req).await.map(Some),
            None => Ok(None),
        }
    }
}

fn verified(extensions: &http::Extensions) -> Result<Verified, WebhookRejection> {
    extensions.get::<Verified>().cloned().ok_or_else(|| {
        tracing::error!(target: "countersign", "{MISSING_LAYER}");
        WebhookRejection::MissingLayer
    })
}

async fn parse<T: DeserializeOwned>(
    verified: Verified,
    req: Request,
) -> Result<Webhook<T>, WebhookRejection> {
    // Bounded: the body went through the layer's limit before `Verified` was inserted.
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| WebhookRejection::BodyRead(BodyReadError::new(e.into())))?
        .to_bytes();
    let payload = serde_json::from_slice(&bytes).map_err(WebhookRejection::InvalidJson)?;
    Ok(Webhook { verified, payload })
}

/// Why [`VerifiedWebhook`] or [`Webhook`] could not be extracted.
#[non_exhaustive]
#[derive(Debug)]
pub enum WebhookRejection {
    /// No [`VerifyLayer`](crate::VerifyLayer) ran for this request: `500`.
    MissingLayer,
    /// The body could not be read: `400`.
    BodyRead(BodyReadError),
    /// The body is not JSON of the expected shape: `400`, with serde's reason.
    InvalidJson(serde_json::Error),
}

impl WebhookRejection {
    /// `500` for a missing layer, `400` otherwise.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
            WebhookRejection::BodyRead(_) | WebhookRejection::InvalidJson(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookRejection::MissingLayer => f.write_str(MISSING_LAYER),
            WebhookRejection::BodyRead(e) => std::fmt::Display::fmt(e, f),
            WebhookRejection::InvalidJson(e) => {
                write!(f, "webhook body does not match the expected JSON: {e}")
            }
        }
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WebhookRejection::MissingLayer => None,
            WebhookRejection::BodyRead(e) => Some(e),
            WebhookRejection::InvalidJson(e) => Some(e),
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}
