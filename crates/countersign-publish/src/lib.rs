//! # countersign-publish
//!
//! Hand verified, deduplicated webhook deliveries to the message broker you already run —
//! RabbitMQ, NATS JetStream or Kafka — and acknowledge the sender **only after the broker
//! confirmed** that it took responsibility for the message.
//!
//! ```text
//! provider ─▶ VerifyLayer ─▶ PublishService ──────────────────────────────────▶ broker
//!             400/401/413    claim (dedup store) → publish → broker confirms → done → 200
//!                            in flight → 409 · duplicate → 200, nothing published
//!                            unreachable / unroutable / nack → claim released → 503
//!                            no confirmation in time → 503, claim kept until known
//! ```
//!
//! ```no_run
//! use countersign_publish::{NatsPublisher, PublishService};
//! use countersign_tower::{Preset, VerifyLayer};
//! use tower::ServiceBuilder;
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let publisher =
//!     NatsPublisher::from_url("nats://127.0.0.1:4222?subject=webhooks.{preset}&stream=WEBHOOKS")?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifyLayer::new(Preset::Stripe, "whsec_…")?)
//!     .service(PublishService::builder(publisher, Preset::Stripe).route("billing").build()?);
//! // serve `service` with hyper, or nest it into axum with `Router::route_service`.
//! # drop(service);
//! # Ok(()) }
//! ```
//!
//! ## The message
//!
//! The raw body bytes, unchanged, and always the headers `Content-Type`,
//! `Countersign-Event-Id`, `Countersign-Preset`, `Countersign-Route`,
//! `Countersign-Received-At` (RFC 3339), plus `Countersign-Event-Type` when known. AMQP
//! carries them in the headers table and sets the `content_type`, `message_id` (the event
//! id), `timestamp` and persistent `delivery_mode` properties; NATS as message headers, with
//! `Nats-Msg-Id` = the event id; Kafka as record headers, with the record key = the event id
//! (so all deliveries of one event share a partition). Routing keys, subjects and topics are
//! [`Template`]s with
//! `{preset}` and `{event_type}`.
//!
//! ## Why a crate of its own
//!
//! The design puts the broker publishers beside the durable inbox (`countersign-inbox`).
//! Publishing needs none of the inbox's queue, workers or storage — the broker *is* the
//! queue — so it lives here, one job per crate, and depends only on the dedup store and the
//! tower layer. The [`Publisher`] trait is the seam for more brokers.
//!
//! ## Features
//!
//! | feature | what |
//! |---|---|
//! | `amqp` | [`AmqpPublisher`]: RabbitMQ through `lapin` (publisher confirms, `mandatory`) |
//! | `nats` | [`NatsPublisher`]: NATS JetStream through `async-nats` (`PubAck`, `Nats-Msg-Id`) |
//! | `kafka` | [`KafkaPublisher`]: Kafka through `rskafka` (pure Rust; acks=all, key = event id, batched produce requests; no idempotent producer — see its docs) |
//!
//! ## The public interface is:
//!
//! - the contract: [`Publisher`], [`PublishFuture`], [`Published`], [`Message`] and its
//!   header names, [`Template`]
//! - backends: `AmqpPublisher`, `NatsPublisher`, `KafkaPublisher` and their builders,
//!   [`from_url`]
//! - the service: [`PublishService`], [`PublishServiceBuilder`], [`PublishResponseFuture`],
//!   [`PublishOutcome`], [`DUPLICATE_HEADER`], [`PublishStats`], [`PublishStatsSnapshot`]
//! - errors: [`PublishError`] ([`FailureKind`]), [`PublishConfigError`]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "amqp")]
mod amqp;
mod error;
#[cfg(feature = "kafka")]
mod kafka;
mod message;
#[cfg(feature = "nats")]
mod nats;
mod publisher;
mod service;
mod stats;
mod template;
#[cfg(any(feature = "amqp", feature = "nats", feature = "kafka"))]
mod url;

#[cfg(feature = "amqp")]
#[cfg_attr(docsrs, doc(cfg(feature = "amqp")))]
pub use amqp::{AmqpPublisher, AmqpPublisherBuilder, DEFAULT_AMQP_CONNECT_TIMEOUT};
pub use error::{FailureKind, PublishConfigError, PublishError};
#[cfg(feature = "kafka")]
#[cfg_attr(docsrs, doc(cfg(feature = "kafka")))]
pub use kafka::{
    DEFAULT_KAFKA_CONNECT_TIMEOUT, DEFAULT_KAFKA_LINGER, DEFAULT_KAFKA_MAX_BATCH_BYTES,
    DEFAULT_KAFKA_MAX_BATCH_RECORDS, DEFAULT_KAFKA_PRODUCE_TIMEOUT, KafkaPublisher,
    KafkaPublisherBuilder,
};
pub use message::{
    CONTENT_TYPE_HEADER, DEFAULT_CONTENT_TYPE, EVENT_ID_HEADER, EVENT_TYPE_HEADER, Message,
    PRESET_HEADER, RECEIVED_AT_HEADER, ROUTE_HEADER,
};
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub use nats::{
    DEFAULT_NATS_ACK_TIMEOUT, DEFAULT_NATS_CONNECT_TIMEOUT, NatsPublisher, NatsPublisherBuilder,
};
pub use publisher::{PublishFuture, Published, Publisher};
pub use service::{
    DEFAULT_LEASE, DEFAULT_PUBLISH_TIMEOUT, DEFAULT_RETENTION, DEFAULT_RETRY_AFTER, DEFAULT_ROUTE,
    DUPLICATE_HEADER, PublishOutcome, PublishResponseFuture, PublishService, PublishServiceBuilder,
};
pub use stats::{LATENCY_BUCKETS, PublishStats, PublishStatsSnapshot};
pub use template::{MAX_TEMPLATE_LEN, Template, UNKNOWN_EVENT_TYPE};

/// A publisher for a broker URL, by its scheme:
///
/// - `amqp://user:pass@host:port/vhost?exchange=X&routing_key=webhooks.{preset}` or
///   `…?queue=NAME` (feature `amqp`);
/// - `nats://host:port?subject=webhooks.{preset}[&stream=NAME]` (feature `nats`);
/// - `kafka://host:port[,host:port…]?topic=webhooks.{preset}` (feature `kafka`).
///
/// It does not connect; [`Publisher::check`] does.
///
/// # Errors
/// [`PublishConfigError::Url`] for an unknown scheme (or one whose feature is off) and the
/// backends' own URL errors. Never contains the password.
pub fn from_url(url: &str) -> Result<std::sync::Arc<dyn Publisher>, PublishConfigError> {
    let scheme = url.trim().split_once("://").map(|(s, _)| s);
    match scheme {
        #[cfg(feature = "amqp")]
        Some("amqp") => Ok(std::sync::Arc::new(AmqpPublisher::from_url(url)?)),
        #[cfg(feature = "nats")]
        Some("nats") => Ok(std::sync::Arc::new(NatsPublisher::from_url(url)?)),
        #[cfg(feature = "kafka")]
        Some("kafka") => Ok(std::sync::Arc::new(KafkaPublisher::from_url(url)?)),
        _ => Err(PublishConfigError::Url {
            url: scheme.map_or_else(|| "<not a URL>".to_owned(), |s| format!("{s}://…")),
            reason: format!(
                "the scheme must be one of: {}",
                <[&str]>::join(
                    &[
                        #[cfg(feature = "amqp")]
                        "amqp://",
                        #[cfg(feature = "nats")]
                        "nats://",
                        #[cfg(feature = "kafka")]
                        "kafka://",
                    ],
                    ", "
                )
            ),
        }),
    }
}
