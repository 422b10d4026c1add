#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

//! ## The public interface is:
//!
//! The everyday names at the root, everything else in one module per concern (the way
//! tower-http exposes `limit::{RequestBodyLimitLayer, ResponseBody}`):
//!
//! - [`verify`]: verifying deliveries — the verifier, the tower layer, its bodies and
//!   rejections, the axum extractors, rotating keys (`verify::keys`), signing, clocks, errors
//! - [`dedup`]: exactly-once processing — `DedupLayer`, the stores, keys, stats (feature
//!   `dedup`)
//! - [`scheme`]: describing how a provider signs — `Scheme` and its parts, handshakes,
//!   scheme files
//! - [`presets`]: the provider catalogue
//! - `inbox`: the durable inbox (feature `inbox`: SQLite; `inbox-redis`: Redis;
//!   `inbox-postgres`: PostgreSQL)
//! - `publish`: verified events onto RabbitMQ / NATS JetStream (feature `publish`)

/// Verifying deliveries: the [`Verifier`] (sync, no I/O), the tower layer
/// (feature `tower`), the axum extractors (feature `axum`), signing for tests, clocks and
/// errors.
pub mod verify {
    pub use countersign_core::{
        Clock, ConfigError, DEFAULT_TOLERANCE, Delivery, ErrorKind, EventType, EventTypePart,
        FixedClock, MAX_EVENT_ID_LEN, MAX_EVENT_TYPE_LEN, MAX_SECRETS, Outcome, Prepared, Secret,
        SignError, SignRequest, Signer, SystemClock, Tolerance, Verified, Verifier,
        VerifierBuilder, VerifyError,
    };
    /// Keys that change without a restart: key sources (a file; a JWKS over HTTPS with
    /// feature `https-keys`) and the rotating verifier a `VerifyLayer` can take.
    #[cfg(feature = "tower")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
    pub use countersign_tower::keys;
    /// AWS SNS messages: RSA over the canonical string, certificates from pinned hosts.
    #[cfg(feature = "sns")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
    pub use countersign_tower::sns;
    #[cfg(feature = "tower")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
    pub use countersign_tower::{
        BodyBudget, BodyReadError, DEFAULT_BUDGET_RETRY_AFTER, VerifiedBody, Verify, VerifyLayer,
        VerifyLayerBuilder, VerifyRejection, VerifyResponseBody, VerifyResponseFuture,
    };
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub use countersign_tower::{VerifiedWebhook, Webhook, WebhookRejection};
}

/// Exactly-once processing behind the verifier: `DedupLayer`, the stores (memory; Redis
/// with feature `redis`; Redis Cluster with feature `cluster`), keys and stats.
#[cfg(feature = "dedup")]
#[cfg_attr(docsrs, doc(cfg(feature = "dedup")))]
pub mod dedup {
    pub use countersign_dedup::*;
}

/// How a provider signs, as data: [`Scheme`], its builder and parts,
/// handshakes, and scheme files (JSON; TOML with feature `toml`).
pub mod scheme {
    pub use countersign_core::{
        Algorithm, DEFAULT_BODY_LIMIT, Encoding, EventIdSource, EventTypeSource, FormParams,
        Handshake, HandshakeAnswer, HandshakeReply, HandshakeTrigger, IntoHeaderName, JwsClaims,
        KeyFormat, MAX_CHALLENGE_LEN, MAX_JWS_LEN, Part, Scheme, SchemeBuilder, SchemeFileError,
        SenderChoices, SignatureSource, SignatureSyntax, TimestampSource, TimestampSpec,
        TimestampUnit, UrlPart,
    };
}

/// The provider catalogue: [`Preset`] names a ready-made scheme.
pub mod presets {
    pub use countersign_core::Preset;
}

pub use countersign_core::{
    ConfigError, Delivery, ErrorKind, Preset, Scheme, Secret, SignRequest, Signer, Verified,
    Verifier, VerifyError,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use countersign_dedup::RedisStore;
#[cfg(feature = "dedup")]
#[cfg_attr(docsrs, doc(cfg(feature = "dedup")))]
pub use countersign_dedup::{DedupLayer, MemoryStore};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use countersign_tower::{VerifiedBody, VerifyLayer};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use countersign_tower::{VerifiedWebhook, Webhook};
/// Verified, deduplicated deliveries published onto a message broker (RabbitMQ, NATS
/// JetStream), acknowledged to the sender only once the broker confirmed: see
/// [`countersign_publish`](https://docs.rs/countersign-publish).
#[cfg(feature = "publish")]
#[cfg_attr(docsrs, doc(cfg(feature = "publish")))]
pub mod publish {
    pub use countersign_publish::*;
}
/// The durable inbox: accept a verified delivery once it is stored, deliver it later
/// (see [`countersign_inbox`]).
#[cfg(feature = "inbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "inbox")))]
pub mod inbox {
    pub use countersign_inbox::*;
}
