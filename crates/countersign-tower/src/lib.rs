//! # countersign-tower
//!
//! [`VerifyLayer`]: tower middleware that checks a webhook delivery's signature before the
//! service behind it runs. Works with any `Service<http::Request<B>>` — axum (as a
//! `route_layer`), `tower::ServiceBuilder`, a plain hyper server.
//!
//! ```
//! use bytes::Bytes;
//! use countersign_tower::{Preset, Signer, SignRequest, Verified, VerifiedBody, VerifyLayer};
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(VerifyLayer::new(Preset::Github, "It's a Secret to Everybody")?)
//!     .service_fn(|req: Request<VerifiedBody>| async move {
//!         // Only verified deliveries get here, with their metadata and exact bytes.
//!         let event_id = req.extensions().get::<Verified>().and_then(|v| v.event_id());
//!         assert_eq!(event_id, Some("d-1"));
//!         assert_eq!(req.body().as_bytes(), b"Hello, World!");
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//!     });
//!
//! // A delivery signed with the secret is accepted...
//! let signer = Signer::new(Preset::Github, "It's a Secret to Everybody")?;
//! let mut request = Request::post("/webhooks/github").body(Full::new(Bytes::from("Hello, World!")))?;
//! *request.headers_mut() = signer.sign(&SignRequest::new(b"Hello, World!").id("d-1"))?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // ...a forged one is answered 401 and never reaches the handler.
//! let forged = Request::post("/webhooks/github")
//!     .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
//!     .body(Full::new(Bytes::from("Hello, World!")))?;
//! let response = service.oneshot(forged).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "webhook signature invalid");
//! # Ok(())
//! # }
//! ```
//!
//! ## What happens to a request
//!
//! Each step is cheaper than the next, so junk is turned away early:
//!
//! 1. `Content-Length` above the body limit → `413`, the body is never read.
//! 2. Signature headers missing or malformed → `400`; timestamp outside the tolerance or no
//!    decodable signature → `401`. Still without reading the body.
//! 3. With a [`BodyBudget`] ([`VerifyLayerBuilder::body_budget`]): the declared length is
//!    reserved against it, or `503` + `Retry-After` while it is used up — still without
//!    reading the body. Then the body is buffered up to the limit (chunked bodies too, each
//!    chunk counted against the budget) → `413` when it is larger.
//! 4. The signature is checked over the exact bytes (constant time, every configured secret)
//!    → `401` on mismatch.
//! 5. Success: [`Verified`] is inserted into the request extensions and the byte-identical
//!    body is passed on as a [`VerifiedBody`]. When the layer answers handshakes
//!    ([`VerifyLayerBuilder::handshakes`]), a handshake is answered here instead.
//!
//! Rejections are responses with a short, vague body; the precise reason rides in the
//! response extensions as a [`VerifyRejection`], goes to `tracing` (target `countersign`,
//! one `WARN` event per rejection), and can shape a custom response through
//! [`VerifyLayerBuilder::on_rejection`].
//!
//! ## With axum
//!
//! Use it as a route layer, with no `HandleErrorLayer` (`Error` is the inner service's):
//! `post(handler).route_layer(layer)` (axum's `MethodRouter::route_layer`) guards that
//! handler only, so other methods keep their `405` and unknown paths their `404`.
//! `Router::route_layer(layer)` guards every route of the router; axum then also runs the
//! layer in front of its `405` answer for a matched path, so a `GET` on a POST-only webhook
//! route is answered `400`. With the `axum` feature, handlers take `VerifiedWebhook` or
//! `Webhook<T>`.
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `axum` | no | axum 0.8 extractors `VerifiedWebhook` and `Webhook<T>` |
//! | `sns` | no | [`sns`]`::SnsVerifier`: AWS SNS messages, certificates from pinned hosts (implies `https-keys`) |
//! | `https-keys` | no | [`keys`]`::HttpsKeys`: a JSON Web Key Set over HTTPS from a pinned host (tokio, hyper, rustls with ring) |
//!
//! ## The public interface is:
//!
//! - [`VerifyLayer`], [`VerifyLayerBuilder`], [`Verify`], [`VerifyResponseFuture`]
//! - memory: [`BodyBudget`] (bytes buffered by every layer together),
//!   [`DEFAULT_BUDGET_RETRY_AFTER`]
//! - bodies: [`VerifiedBody`] (what the inner service gets), [`VerifyResponseBody`]
//! - rejections: [`VerifyRejection`], [`BodyReadError`]
//! - keys that change without a restart: [`keys`] ([`keys::KeySource`],
//!   [`keys::StaticKeys`], [`keys::FileKeys`], [`keys::RotatingVerifier`],
//!   [`VerifyLayer::rotating`]; `keys::HttpsKeys` with `https-keys`)
//! - with `axum`: `VerifiedWebhook`, `Webhook`, `WebhookRejection`
//! - re-exported from `countersign-core` for convenience: [`Preset`], [`Scheme`],
//!   [`Verifier`], [`Verified`], [`VerifyError`], [`ErrorKind`], [`ConfigError`], [`Secret`],
//!   [`Tolerance`], [`Signer`], [`SignRequest`], the clocks
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod budget;
#[cfg(feature = "axum")]
mod extract;
pub mod keys;
mod rejection;
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub mod sns;
mod verify;

pub use body::{VerifiedBody, VerifyResponseBody};
pub use budget::{BodyBudget, DEFAULT_BUDGET_RETRY_AFTER};
#[cfg(feature = "axum")]
pub use extract::{VerifiedWebhook, Webhook, WebhookRejection};
pub use rejection::{BodyReadError, VerifyRejection};
pub use verify::{Verify, VerifyLayer, VerifyLayerBuilder, VerifyResponseFuture};

pub use countersign_core::{
    Clock, ConfigError, ErrorKind, FixedClock, Preset, Scheme, Secret, SignRequest, Signer,
    SystemClock, Tolerance, Verified, Verifier, VerifyError,
};
