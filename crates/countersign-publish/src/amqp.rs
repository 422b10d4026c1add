//! [`AmqpPublisher`]: RabbitMQ (AMQP 0-9-1) through `lapin`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueDeclareOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind,
    ExchangeKind,
};

use crate::error::{FailureKind, PublishConfigError, PublishError};
use crate::message::Message;
use crate::publisher::{PublishFuture, Published, Publisher};
use crate::template::Template;
use crate::url;

/// Default time to open a connection and channel: 5 s.
pub const DEFAULT_AMQP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where messages go.
#[derive(Debug, Clone)]
enum Target {
    Exchange {
        exchange: String,
        routing_key: Template,
    },
    Queue(String),
}

/// Publishes to RabbitMQ. Cheap to clone (one `Arc`).
///
/// - **Publisher confirms** on the channel; a publish resolves on the broker's `basic.ack`
///   (confirms of concurrent publishes share one channel, and RabbitMQ acknowledges them in
///   batches with `multiple`).
/// - **`mandatory`**: an unroutable message comes back as `basic.return` *followed by an ack*;
///   that is [`FailureKind::Unroutable`], never a success. A `basic.nack` (a full queue with
///   `x-overflow: reject-publish`, an internal error) is [`FailureKind::Rejected`].
/// - **Persistent**: `delivery_mode` 2; the message's `content_type`, `message_id` (the event
///   id, when it fits the 255-byte short string), `timestamp` (the receive time, seconds) and a
///   headers table with every [`Message::headers`] entry.
/// - **Destination**: an exchange and a routing key template, or a queue (published through
///   the default exchange, declared durable when it does not exist; an existing queue is
///   used as it is, whatever its arguments).
/// - **Reconnects**: the connection and channel are made on first use and made again by the
///   first publish after they broke (a broker restart, a deleted vhost, a channel closed by
///   an error); a publish that finds no connection fails at once with
///   [`FailureKind::Unreachable`] after at most the connect timeout.
///
/// TLS (`amqps://`) is not built in: the proxy runs beside the broker.
///
/// ```no_run
/// use countersign_publish::{AmqpPublisher, Message, Publisher};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let publisher = AmqpPublisher::from_url(
///     "amqp://guest:guest@127.0.0.1:5672/%2f?exchange=webhooks&routing_key=webhooks.{preset}",
/// )?;
/// publisher.check().await?; // the exchange exists
/// publisher.publish(Message::new("evt_1", "stripe", "billing", &b"{}"[..])).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AmqpPublisher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Secret (may hold a password).
    connect_url: String,
    shown: String,
    target: Target,
    connect_timeout: Duration,
    live: Mutex<Option<Live>>,
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Live {
    connection: Arc<Connection>,
    channel: Channel,
}

impl fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpPublisher")
            .field("destination", &self.describe())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AmqpPublisher`]; see [`AmqpPublisher::builder`].
#[must_use]
pub struct AmqpPublisherBuilder {
    url: String,
    exchange: Option<(String, String)>,
    queue: Option<String>,
    connect_timeout: Duration,
}

impl fmt::Debug for AmqpPublisherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpPublisherBuilder")
            .field("url", &url::redact(&self.url))
            .field("exchange", &self.exchange)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl AmqpPublisherBuilder {
    /// Publish to `exchange` with `routing_key` (a [`Template`]: `{preset}`, `{event_type}`).
    pub fn exchange(mut self, exchange: impl Into<String>, routing_key: impl Into<String>) -> Self {
        self.exchange = Some((exchange.into(), routing_key.into()));
        self
    }

    /// Publish to queue `name` (through the default exchange), declared durable when missing.
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queue = Some(name.into());
        self
    }

    /// Time to open a connection and its channel (default [`DEFAULT_AMQP_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the publisher; it connects on first use (or [`Publisher::check`]).
    ///
    /// # Errors
    /// [`PublishConfigError`] for a bad URL, a bad template, neither or both of exchange and
    /// queue, names longer than 255 bytes.
    pub fn build(self) -> Result<AmqpPublisher, PublishConfigError> {
        let parsed = url::parse(&self.url, "amqp", &[])?;
        let bad = |reason: &str| PublishConfigError::Url {
            url: parsed.shown.clone(),
            reason: reason.to_owned(),
        };
        let target = match (self.exchange, self.queue) {
            (Some((exchange, key)), None) => {
                if exchange.is_empty() || exchange.len() > 255 {
                    return Err(bad(
                        "the exchange name must be 1 to 255 bytes (use `queue` for the default exchange)",
                    ));
                }
                Target::Exchange {
                    exchange,
                    routing_key: Template::parse(&key)?,
                }
            }
            (None, Some(queue)) => {
                if queue.is_empty() || queue.len() > 255 {
                    return Err(bad("the queue name must be 1 to 255 bytes"));
                }
                Target::Queue(queue)
            }
            (None, None) => return Err(bad("give `exchange` (with `routing_key`) or `queue`")),
            (Some(_), Some(_)) => return Err(bad("give `exchange` or `queue`, not both")),
        };
        if self.connect_timeout.is_zero() {
            return Err(PublishConfigError::Setting {
                setting: "connect_timeout",
                reason: "must be above zero".into(),
            });
        }
        Ok(AmqpPublisher {
            inner: Arc::new(Inner {
                connect_url: parsed.connect,
                shown: parsed.shown,
                target,
                connect_timeout: self.connect_timeout,
                live: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

impl AmqpPublisher {
    /// A builder for the broker at `url` (`amqp://user:pass@host:port/vhost`, lapin's query
    /// parameters such as `heartbeat` allowed).
    pub fn builder(url: impl Into<String>) -> AmqpPublisherBuilder {
        AmqpPublisherBuilder {
            url: url.into(),
            exchange: None,
            queue: None,
            connect_timeout: DEFAULT_AMQP_CONNECT_TIMEOUT,
        }
    }

    /// A publisher from one URL:
    /// `amqp://user:pass@host:port/vhost?exchange=X&routing_key=webhooks.{preset}` or
    /// `amqp://user:pass@host:port/vhost?queue=NAME`.
    ///
    /// # Errors
    /// As [`AmqpPublisherBuilder::build`].
    pub fn from_url(url: &str) -> Result<Self, PublishConfigError> {
        let parsed = url::parse(url, "amqp", &["exchange", "routing_key", "queue"])?;
        let mut builder = AmqpPublisher::builder(parsed.connect.clone());
        if let Some(exchange) = parsed.param("exchange") {
            builder = builder.exchange(exchange, parsed.param("routing_key").unwrap_or(""));
        } else if parsed.param("routing_key").is_some() {
            return Err(PublishConfigError::Url {
                url: parsed.shown,
                reason: "`routing_key` needs `exchange`".into(),
            });
        }
        if let Some(queue) = parsed.param("queue") {
            builder = builder.queue(queue);
        }
        builder.build()
    }
}

impl Inner {
    fn current(&self) -> Option<Live> {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.as_ref()
            .filter(|l| l.connection.status().connected() && l.channel.status().connected())
            .cloned()
    }

    /// The live channel, (re)connecting when there is none.
    async fn channel(&self) -> Result<Channel, PublishError> {
        if let Some(live) = self.current() {
            return Ok(live.channel);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live.channel);
        }
        let previous = self.live.lock().unwrap_or_else(|e| e.into_inner()).take();
        let live = tokio::time::timeout(self.connect_timeout, self.open(previous))
            .await
            .map_err(|_| {
                PublishError::new(FailureKind::Unreachable).detail(format!(
                    "no connection within {:?} to {}",
                    self.connect_timeout, self.shown
                ))
            })??;
        let channel = live.channel.clone();
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live);
        Ok(channel)
    }

    async fn open(&self, previous: Option<Live>) -> Result<Live, PublishError> {
        let unreachable = |e: lapin::Error| PublishError::with_source(FailureKind::Unreachable, e);
        // A channel closed by an error on a healthy connection: a new channel suffices.
        let connection = match previous {
            Some(l) if l.connection.status().connected() => l.connection,
            _ => {
                tracing::info!(broker = %self.shown, "amqp: connecting");
                Arc::new(
                    Connection::connect(
                        &self.connect_url,
                        ConnectionProperties::default().with_connection_name("countersign".into()),
                    )
                    .await
                    .map_err(unreachable)?,
                )
            }
        };
        let channel = connection.create_channel().await.map_err(unreachable)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unreachable)?;
        if let Target::Queue(queue) = &self.target {
            ensure_queue(&connection, queue).await?;
        }
        Ok(Live {
            connection,
            channel,
        })
    }
}

/// Uses the queue as it is, or declares it durable when it does not exist. (A plain declare
/// of an existing queue with other arguments would close the channel.)
async fn ensure_queue(connection: &Connection, queue: &str) -> Result<(), PublishError> {
    let unreachable = |e: lapin::Error| PublishError::with_source(FailureKind::Unreachable, e);
    let probe = connection.create_channel().await.map_err(unreachable)?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    match probe
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
    {
        Ok(_) => {
            let _ = probe.close(200, "ok".into()).await;
            Ok(())
        }
        Err(e) if is_not_found(&e) => {
            // The failed passive declare closed the probe channel.
            let declare = connection.create_channel().await.map_err(unreachable)?;
            declare
                .queue_declare(
                    queue.into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    PublishError::with_source(FailureKind::Unroutable, e)
                        .detail(format!("cannot declare queue `{queue}`"))
                })?;
            tracing::info!(queue, "amqp: declared durable queue");
            let _ = declare.close(200, "ok".into()).await;
            Ok(())
        }
        Err(e) => Err(unreachable(e)),
    }
}

fn is_not_found(e: &lapin::Error) -> bool {
    matches!(e.kind(), ErrorKind::ProtocolError(amqp)
        if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

fn short(s: &str) -> ShortString {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    ShortString::from(&s[..end])
}

fn properties(m: &Message) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (name, value) in m.headers() {
        headers.insert(
            ShortString::from(name),
            AMQPValue::LongString(LongString::from(value)),
        );
    }
    let seconds = m
        .received_at()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut props = BasicProperties::default()
        .with_content_type(short(m.content_type()))
        .with_delivery_mode(2)
        .with_timestamp(seconds)
        .with_headers(headers);
    if m.event_id().len() <= 255 {
        props = props.with_message_id(ShortString::from(m.event_id()));
    }
    props
}

/// An error of `basic_publish` itself: not sent when the channel was not open.
fn send_error(e: lapin::Error) -> PublishError {
    let kind = match e.kind() {
        ErrorKind::InvalidChannelState(..) | ErrorKind::InvalidConnectionState(_) => {
            FailureKind::Unreachable
        }
        _ => FailureKind::Unconfirmed,
    };
    PublishError::with_source(kind, e)
}

/// An error instead of a confirmation: the channel or connection closed.
fn confirm_error(e: lapin::Error) -> PublishError {
    // A publish to a missing exchange closes the channel with 404: certainly not routed.
    let kind = if is_not_found(&e) {
        FailureKind::Unroutable
    } else {
        FailureKind::Unconfirmed
    };
    PublishError::with_source(kind, e)
}

impl Publisher for AmqpPublisher {
    fn publish(&self, message: Message) -> PublishFuture<Published> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let channel = inner.channel().await?;
            let (exchange, routing_key) = match &inner.target {
                Target::Exchange {
                    exchange,
                    routing_key,
                } => (exchange.as_str(), routing_key.render(&message)),
                Target::Queue(queue) => ("", queue.clone()),
            };
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    ShortString::from(routing_key.as_str()),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    message.body(),
                    properties(&message),
                )
                .await
                .map_err(send_error)?;
            match confirm.await.map_err(confirm_error)? {
                Confirmation::Ack(None) => Ok(Published::default()),
                Confirmation::Ack(Some(returned)) => {
                    Err(PublishError::new(FailureKind::Unroutable).detail(format!(
                        "basic.return {} {} for exchange `{exchange}`, routing key `{routing_key}`",
                        returned.reply_code,
                        returned.reply_text.as_str()
                    )))
                }
                Confirmation::Nack(_) => Err(PublishError::new(FailureKind::Rejected).detail(
                    format!("basic.nack for exchange `{exchange}`, routing key `{routing_key}`"),
                )),
                Confirmation::NotRequested => Err(PublishError::new(FailureKind::Unconfirmed)
                    .detail("publisher confirms are off on the channel")),
            }
        })
    }

    fn check(&self) -> PublishFuture<()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let channel = inner.channel().await?;
            if let Target::Exchange { exchange, .. } = &inner.target {
                // A throwaway channel: a failed passive declare closes it.
                let live = inner.current().ok_or_else(|| {
                    PublishError::new(FailureKind::Unreachable).detail("connection lost")
                })?;
                let probe = live
                    .connection
                    .create_channel()
                    .await
                    .map_err(|e| PublishError::with_source(FailureKind::Unreachable, e))?;
                let passive = ExchangeDeclareOptions {
                    passive: true,
                    ..ExchangeDeclareOptions::default()
                };
                match probe
                    .exchange_declare(
                        exchange.as_str().into(),
                        ExchangeKind::Direct,
                        passive,
                        FieldTable::default(),
                    )
                    .await
                {
                    Ok(()) => {
                        let _ = probe.close(200, "ok".into()).await;
                    }
                    Err(e) if is_not_found(&e) => {
                        return Err(PublishError::with_source(FailureKind::Unroutable, e)
                            .detail(format!("exchange `{exchange}` does not exist")));
                    }
                    Err(e) => return Err(PublishError::with_source(FailureKind::Unreachable, e)),
                }
            }
            drop(channel);
            Ok(())
        })
    }

    fn describe(&self) -> String {
        match &self.inner.target {
            Target::Exchange {
                exchange,
                routing_key,
            } => format!(
                "{} exchange={exchange} routing_key={routing_key}",
                self.inner.shown
            ),
            Target::Queue(queue) => format!("{} queue={queue}", self.inner.shown),
        }
    }
}
