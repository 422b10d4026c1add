//! The [`Publisher`] trait: the contract every broker backend follows.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::PublishError;
use crate::message::Message;

/// The future of [`Publisher::publish`] and [`Publisher::check`]: boxed, `Send` and
/// `'static`, so the service can keep awaiting a confirmation after it answered the sender.
pub type PublishFuture<T> = Pin<Box<dyn Future<Output = Result<T, PublishError>> + Send>>;

/// The broker's confirmation of one message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Published {
    /// The broker recognised the message as a duplicate of one it already holds (JetStream
    /// `duplicate: true` within the stream's duplicate window) and did not store it again.
    /// It still counts as published: the first copy is there.
    pub duplicate: bool,
}

/// Puts messages onto a broker and reports the broker's answer.
///
/// The trait's contract, which every implementation follows and the conformance suite
/// (`tests/conformance.rs`, one macro run per backend on a real broker) checks:
///
/// | result | means | the service then |
/// |---|---|---|
/// | `Ok(Published)` | the broker **confirmed** that it took responsibility for the message (AMQP: `basic.ack` without a `basic.return`; JetStream: a `PubAck`, `duplicate: true` included; Kafka: a produce response without error, `acks=all`) | records done, answers `200` |
/// | `Err(e)`, `!e.may_still_land()` | the message is certainly **not** on the broker (no connection, `basic.return`, `basic.nack`, no stream, a JetStream error answer) | releases the claim, answers `503` |
/// | `Err(e)`, `e.may_still_land()` | sent, but the answer never came (connection lost, timed out): it may be on the broker | answers `503`; see the service's docs for the claim |
///
/// And:
///
/// - **Raw bytes**: the body is published unchanged, with the headers of
///   [`Message::headers`] (AMQP: a headers table plus the `content_type`, `message_id`,
///   `timestamp` and persistent `delivery_mode` properties; NATS: message headers).
/// - **Bounded**: the future resolves on its own — with `Unreachable` when no connection can
///   be made within the publisher's connect timeout, with `Unconfirmed` when the connection
///   is lost while waiting. The service bounds the answer to the sender separately.
/// - **Recovers**: after a broker restart the next publish reconnects; nothing needs to be
///   rebuilt.
/// - **Same message twice**: both calls return `Ok`. Whether the broker then holds one copy
///   (JetStream, within its duplicate window, thanks to `Nats-Msg-Id`) or two (AMQP) is the
///   backend's; consumers can deduplicate on the event id header.
/// - **No secrets**: errors, `Debug` and [`describe`](Self::describe) never contain
///   credentials.
///
/// `Publisher` is dyn-compatible: the service holds an `Arc<dyn Publisher>`. A new broker
/// is one more implementation and one more line in the conformance suite.
pub trait Publisher: Send + Sync + fmt::Debug {
    /// Publishes `message` and waits for the broker's confirmation.
    ///
    /// # Errors
    /// [`PublishError`], whose [`kind`](PublishError::kind) says whether the message may
    /// still land.
    fn publish(&self, message: Message) -> PublishFuture<Published>;

    /// Connects (when not connected) and checks the destination: the exchange exists, the
    /// queue or stream exists or could be created.
    ///
    /// # Errors
    /// [`PublishError`] naming what is missing or unreachable.
    fn check(&self) -> PublishFuture<()>;

    /// As [`check`](Self::check), for the deliveries of `preset`: a backend whose
    /// destination depends on the preset (a Kafka topic `webhooks.{preset}`) checks that
    /// one. The default is [`check`](Self::check).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    fn check_preset(&self, preset: &str) -> PublishFuture<()> {
        let _ = preset;
        self.check()
    }

    /// The destination for logs and `--check`, without credentials, e.g.
    /// `amqp://127.0.0.1:5672/%2f exchange=webhooks routing_key=webhooks.{preset}`.
    fn describe(&self) -> String;
}

impl<P: Publisher + ?Sized> Publisher for Arc<P> {
    fn publish(&self, message: Message) -> PublishFuture<Published> {
        (**self).publish(message)
    }

    fn check(&self) -> PublishFuture<()> {
        (**self).check()
    }

    fn check_preset(&self, preset: &str) -> PublishFuture<()> {
        (**self).check_preset(preset)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
