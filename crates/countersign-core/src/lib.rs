//! # countersign-core
//!
//! The verification engine of [countersign](https://docs.rs/countersign): webhook signature
//! schemes as data, provider presets, secrets, signing and typed errors. Synchronous, no I/O,
//! no async runtime; the tower layer and the CLI are built on it.
//!
//! ```
//! use countersign_core::{Delivery, ErrorKind, FixedClock, Preset, Signer, SignRequest, Verifier};
//! use std::time::Duration;
//!
//! let now = FixedClock::from_unix_secs(1_700_000_000);
//! let verifier = Verifier::builder(Preset::StandardWebhooks)
//!     .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
//!     .clock(now)
//!     .build()?;
//!
//! // A sender signs...
//! let signer = Signer::new(Preset::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let body = br#"{"type":"invoice.paid"}"#;
//! let headers = signer.sign(
//!     &SignRequest::new(body).id("msg_1").timestamp(Duration::from_secs(1_700_000_000)),
//! )?;
//!
//! // ...the receiver verifies the exact bytes:
//! let verified = verifier.verify(&Delivery::new(&headers, body))?;
//! assert_eq!(verified.event_id(), Some("msg_1"));
//! assert_eq!(verified.timestamp(), Some(1_700_000_000));
//!
//! // A tampered body is rejected with a typed reason.
//! let err = verifier.verify(&Delivery::new(&headers, b"{}")).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Guarantees
//!
//! - A delivery is accepted iff at least one signature entry of a supported version matches
//!   at least one configured secret; signatures are decoded and compared as bytes in
//!   constant time.
//! - No input panics: malformed headers, timestamps and bodies are [`VerifyError`]s.
//! - Timestamps are digits only and checked against a past and a future tolerance with
//!   checked arithmetic.
//! - Secrets are zeroized on drop and never appear in `Debug` output or errors.
//! - Verifying a Standard Webhooks, GitHub or Stripe delivery allocates nothing: event ids
//!   up to 62 bytes (every preset's) are kept inline in [`Verified`].
//! - Key-pair schemes (Ed25519, ECDSA P-256) verify with `ed25519-dalek` and RustCrypto's
//!   `p256`; malformed keys are [`ConfigError`]s when the verifier is built, malformed
//!   signatures ordinary rejections. Each is a default-on feature (`ed25519`, `p256`): an
//!   HMAC-only user can turn them off, and a verifier for a scheme whose feature is off fails
//!   when it is built with [`ConfigError::FeatureDisabled`] naming it.
//!
//! ## Providers
//!
//! [`Preset::ALL`] lists every provider; a scheme countersign lacks can be described as data
//! ([`Scheme::builder`]) or in a configuration file ([`Scheme::from_json`]; `Scheme` is
//! `serde::Deserialize`).
//!
//! ## Features
//!
//! | feature | enables |
//! |---|---|
//! | `toml` | `Scheme::from_toml` for TOML scheme files |
//!
//! ## The public interface is:
//!
//! - [`Verifier`] / [`VerifierBuilder`], [`Delivery`], [`Prepared`], [`Outcome`], [`Verified`],
//!   [`EventType`] ([`EventTypePart`])
//! - [`Signer`], [`SignRequest`]
//! - [`Preset`], [`Scheme`] and its parts ([`SchemeBuilder`], [`SignatureSource`],
//!   [`SignatureSyntax`] ([`JwsClaims`]), [`Part`], [`UrlPart`], [`FormParams`], [`TimestampSpec`],
//!   [`EventIdSource`], [`EventTypeSource`], [`KeyFormat`], [`SenderChoices`], [`Tolerance`])
//! - scheme files: [`Scheme::from_json`], `Scheme::from_toml`, `Scheme`'s `Deserialize` impl (the
//!   format), [`SchemeFileError`]
//! - handshakes: [`Handshake`], [`HandshakeTrigger`], [`HandshakeAnswer`], [`HandshakeReply`]
//! - [`Algorithm`], [`Encoding`], [`Secret`], [`Clock`], [`SystemClock`], [`FixedClock`]
//! - errors: [`VerifyError`] with its [`ErrorKind`], [`ConfigError`], [`SignError`]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic
    )
)]

// Each module depends only on the ones above it (checked by `.ci/run` with cargo-modules):
// leaves first, then the parts of a scheme, the scheme, and what is built from it.
mod algorithm;
mod clock;
mod config;
mod content;
mod delivery;
mod error;
mod event_id;
mod event_type;
mod form;
mod handshake;
mod header;
mod json_path;
mod jws;
mod keys;
mod presets;
mod scheme;
mod secret;
mod signature;
mod signer;
mod timestamp;
mod url;
mod verifier;

pub use algorithm::{Algorithm, Encoding};
pub use clock::{Clock, FixedClock, SystemClock};
pub use config::SchemeFileError;
pub use content::Part;
pub use delivery::{Delivery, Verified};
pub use error::{ConfigError, ErrorKind, SignError, VerifyError};
pub use event_id::{EventIdSource, MAX_EVENT_ID_LEN};
pub use event_type::{EventType, EventTypePart, EventTypeSource, MAX_EVENT_TYPE_LEN};
pub use form::FormParams;
pub use handshake::{
    Handshake, HandshakeAnswer, HandshakeReply, HandshakeTrigger, MAX_CHALLENGE_LEN,
};
pub use header::IntoHeaderName;
pub use jws::{JwsClaims, MAX_JWS_LEN};
pub use presets::Preset;
pub use scheme::{DEFAULT_BODY_LIMIT, Scheme, SchemeBuilder, SenderChoices};
pub use secret::{KeyFormat, MAX_SECRET_LABEL_LEN, Secret};
pub use signature::{SignatureSource, SignatureSyntax};
pub use signer::{SignRequest, Signer};
pub use timestamp::{DEFAULT_TOLERANCE, TimestampSource, TimestampSpec, TimestampUnit, Tolerance};
pub use url::UrlPart;
pub use verifier::{MAX_SECRETS, Outcome, Prepared, Verifier, VerifierBuilder};
