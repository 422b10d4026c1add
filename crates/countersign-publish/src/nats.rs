//! [`NatsPublisher`]: NATS JetStream through `async-nats`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use async_nats::{Client, ConnectOptions, HeaderMap, connection::State};

use crate::error::{FailureKind, PublishConfigError, PublishError};
use crate::message::Message;
use crate::publisher::{PublishFuture, Published, Publisher};
use crate::template::Template;
use crate::url;

/// Default time to connect: 5 s.
pub const DEFAULT_NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time to wait for a `PubAck`: 30 s (the service answers its sender earlier and
/// keeps waiting in the background).
pub const DEFAULT_NATS_ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Publishes to NATS JetStream. Cheap to clone (one `Arc`).
///
/// - Every message is published with `Nats-Msg-Id` = the event id, so JetStream's duplicate
///   window (2 minutes by default) drops a second copy of an event: a retry of a publish
///   whose answer was lost gets a `PubAck` with `duplicate: true`, which counts as
///   published.
/// - A publish resolves on the `PubAck`. No stream for the subject (`no responders`) is
///   [`FailureKind::Unroutable`]; a JetStream error answer (a full stream with
///   `discard: new`, a message too large) is [`FailureKind::Rejected`]; no answer within the
///   ack timeout is [`FailureKind::TimedOut`] (it may still land).
/// - While the client is disconnected a publish fails at once with
///   [`FailureKind::Unreachable`] instead of queueing in the client's reconnect buffer, where
///   it could land minutes later. The client reconnects by itself.
/// - `stream`: the stream is used as it is when it exists and created (file storage, the
///   subjects of the template) when it does not, on first use and by
///   [`Publisher::check`]. The subjects of a template are the template cut at its first
///   placeholder's token, followed by `>` (`webhooks.{preset}` → `webhooks.>`).
/// - Header values: control characters become `%XX` (NATS headers are line based).
///
/// TLS (`tls://`) is not built in: the proxy runs beside the broker.
///
/// ```no_run
/// use countersign_publish::{Message, NatsPublisher, Publisher};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let publisher =
///     NatsPublisher::from_url("nats://127.0.0.1:4222?subject=webhooks.{preset}&stream=WEBHOOKS")?;
/// publisher.check().await?; // connects, creates the stream if missing
/// publisher.publish(Message::new("evt_1", "stripe", "billing", &b"{}"[..])).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct NatsPublisher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Secret (may hold a password).
    connect_url: String,
    shown: String,
    subject: Template,
    stream: Option<String>,
    connect_timeout: Duration,
    ack_timeout: Duration,
    live: Mutex<Option<Live>>,
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Live {
    client: Client,
    jetstream: jetstream::Context,
}

impl fmt::Debug for NatsPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsPublisher")
            .field("destination", &self.describe())
            .finish_non_exhaustive()
    }
}

/// Builds a [`NatsPublisher`]; see [`NatsPublisher::builder`].
#[must_use]
pub struct NatsPublisherBuilder {
    url: String,
    subject: Option<String>,
    stream: Option<String>,
    connect_timeout: Duration,
    ack_timeout: Duration,
}

impl fmt::Debug for NatsPublisherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsPublisherBuilder")
            .field("url", &url::redact(&self.url))
            .field("subject", &self.subject)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl NatsPublisherBuilder {
    /// The subject (a [`Template`]: `{preset}`, `{event_type}`).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The stream to use, created for the subject when it does not exist.
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = Some(name.into());
        self
    }

    /// Time to connect (default [`DEFAULT_NATS_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time to wait for a `PubAck` (default [`DEFAULT_NATS_ACK_TIMEOUT`]).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Builds the publisher; it connects on first use (or [`Publisher::check`]).
    ///
    /// # Errors
    /// [`PublishConfigError`] for a bad URL, a missing or bad subject, a bad stream name.
    pub fn build(self) -> Result<NatsPublisher, PublishConfigError> {
        let parsed = url::parse(&self.url, "nats", &[])?;
        let bad = |reason: &str| PublishConfigError::Url {
            url: parsed.shown.clone(),
            reason: reason.to_owned(),
        };
        let subject = self.subject.ok_or_else(|| bad("give a `subject`"))?;
        let valid_subject = !subject.is_empty()
            && !subject.contains(|c: char| c.is_whitespace() || c.is_control())
            && subject
                .split('.')
                .all(|t| !t.is_empty() && t != "*" && t != ">");
        if !valid_subject {
            return Err(bad(
                "the subject must be dot-separated tokens without spaces or wildcards",
            ));
        }
        let subject = Template::parse(&subject)?;
        if let Some(stream) = &self.stream {
            let valid = !stream.is_empty()
                && stream.len() <= 255
                && !stream.contains(|c: char| {
                    c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '/' | '\\')
                });
            if !valid {
                return Err(bad(
                    "the stream name must not contain spaces, `.`, `*`, `>`, `/`",
                ));
            }
        }
        for (setting, d) in [
            ("connect_timeout", self.connect_timeout),
            ("ack_timeout", self.ack_timeout),
        ] {
            if d.is_zero() {
                return Err(PublishConfigError::Setting {
                    setting,
                    reason: "must be above zero".into(),
                });
            }
        }
        Ok(NatsPublisher {
            inner: Arc::new(Inner {
                connect_url: parsed.connect,
                shown: parsed.shown,
                subject,
                stream: self.stream,
                connect_timeout: self.connect_timeout,
                ack_timeout: self.ack_timeout,
                live: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

impl NatsPublisher {
    /// A builder for the server at `url` (`nats://[user:pass@]host:port`).
    pub fn builder(url: impl Into<String>) -> NatsPublisherBuilder {
        NatsPublisherBuilder {
            url: url.into(),
            subject: None,
            stream: None,
            connect_timeout: DEFAULT_NATS_CONNECT_TIMEOUT,
            ack_timeout: DEFAULT_NATS_ACK_TIMEOUT,
        }
    }

    /// A publisher from one URL: `nats://host:port?subject=webhooks.{preset}[&stream=NAME]`.
    ///
    /// # Errors
    /// As [`NatsPublisherBuilder::build`].
    pub fn from_url(url: &str) -> Result<Self, PublishConfigError> {
        let parsed = url::parse(url, "nats", &["subject", "stream"])?;
        let mut builder = NatsPublisher::builder(parsed.connect.clone());
        if let Some(subject) = parsed.param("subject") {
            builder = builder.subject(subject);
        }
        if let Some(stream) = parsed.param("stream") {
            builder = builder.stream(stream);
        }
        builder.build()
    }
}

/// The stream subjects for a subject template: fixed → itself; else cut at the token of the
/// first placeholder, then `>`.
fn stream_subject(template: &str) -> String {
    match template.find('{') {
        None => template.to_owned(),
        Some(at) => {
            let head = &template[..at];
            match head.rfind('.') {
                Some(dot) => format!("{}.>", &head[..dot]),
                None => ">".to_owned(),
            }
        }
    }
}

/// A subject without empty tokens (an expanded value may hold `..` or end in `.`).
fn subject_safe(subject: String) -> String {
    if !subject.split('.').any(str::is_empty) {
        return subject;
    }
    subject
        .split('.')
        .map(|t| if t.is_empty() { "_" } else { t })
        .collect::<Vec<_>>()
        .join(".")
}

/// Header values are line based: control characters (and `%`, to stay decodable) as `%XX`.
fn header_safe(value: &str) -> String {
    if !value.contains(|c: char| c.is_control() || c == '%') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_control() || c == '%' {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Inner {
    fn current(&self) -> Option<Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn live(&self) -> Result<Live, PublishError> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live);
        }
        tracing::info!(broker = %self.shown, "nats: connecting");
        let client = ConnectOptions::new()
            .name("countersign")
            .connection_timeout(self.connect_timeout)
            .connect(self.connect_url.as_str())
            .await
            .map_err(|e| {
                PublishError::with_source(FailureKind::Unreachable, e)
                    .detail(format!("cannot connect to {}", self.shown))
            })?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(self.ack_timeout);
        let live = Live { client, jetstream };
        self.ensure_stream(&live).await?;
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        Ok(live)
    }

    async fn ensure_stream(&self, live: &Live) -> Result<(), PublishError> {
        let Some(name) = &self.stream else {
            return Ok(());
        };
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![stream_subject(self.subject.as_str())],
            storage: stream::StorageType::File,
            ..stream::Config::default()
        };
        live.jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|e| {
                PublishError::with_source(FailureKind::Unroutable, e)
                    .detail(format!("cannot use or create stream `{name}`"))
            })?;
        Ok(())
    }
}

fn send_error(e: jetstream::context::PublishError) -> PublishError {
    // Nothing was handed to the connection.
    let kind = match e.kind() {
        PublishErrorKind::MaxPayloadExceeded | PublishErrorKind::Other => FailureKind::Rejected,
        _ => FailureKind::Unreachable,
    };
    PublishError::with_source(kind, e)
}

fn ack_error(e: jetstream::context::PublishError) -> PublishError {
    let kind = match e.kind() {
        PublishErrorKind::StreamNotFound => FailureKind::Unroutable,
        PublishErrorKind::TimedOut => FailureKind::TimedOut,
        PublishErrorKind::BrokenPipe => FailureKind::Unconfirmed,
        // An error answer from JetStream: it did not store the message.
        _ => FailureKind::Rejected,
    };
    PublishError::with_source(kind, e)
}

impl Publisher for NatsPublisher {
    fn publish(&self, message: Message) -> PublishFuture<Published> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let live = inner.live().await?;
            if live.client.connection_state() != State::Connected {
                return Err(PublishError::new(FailureKind::Unreachable)
                    .detail(format!("not connected to {}", inner.shown)));
            }
            let subject = subject_safe(inner.subject.render(&message));
            let mut headers = HeaderMap::new();
            for (name, value) in message.headers() {
                headers.insert(name, header_safe(&value).as_str());
            }
            let publish = jetstream::message::PublishMessage::build()
                .payload(message.body().clone())
                .headers(headers)
                .message_id(header_safe(message.event_id()));
            let ack = live
                .jetstream
                .send_publish(subject, publish)
                .await
                .map_err(send_error)?
                .await
                .map_err(ack_error)?;
            Ok(Published {
                duplicate: ack.duplicate,
            })
        })
    }

    fn check(&self) -> PublishFuture<()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let live = inner.live().await?;
            if inner.stream.is_some() {
                inner.ensure_stream(&live).await?;
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        let mut s = format!("{} subject={}", self.inner.shown, self.inner.subject);
        if let Some(stream) = &self.inner.stream {
            s.push_str(" stream=");
            s.push_str(stream);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_subjects() {
        assert_eq!(stream_subject("webhooks"), "webhooks");
        assert_eq!(stream_subject("webhooks.{preset}"), "webhooks.>");
        assert_eq!(stream_subject("a.b.{preset}.{event_type}"), "a.b.>");
        assert_eq!(stream_subject("a.x{preset}"), "a.>");
        assert_eq!(stream_subject("{preset}"), ">");
    }

    #[test]
    fn subjects_and_headers_are_made_safe() {
        assert_eq!(subject_safe("a.b".into()), "a.b");
        assert_eq!(subject_safe("a..b.".into()), "a._.b._");
        assert_eq!(header_safe("evt_1"), "evt_1");
        assert_eq!(header_safe("a\r\nb%"), "a%0D%0Ab%25");
    }

    #[test]
    fn urls() {
        let p =
            NatsPublisher::from_url("nats://u:s3cret@127.0.0.1:4222?subject=w.{preset}&stream=S")
                .unwrap();
        let d = p.describe();
        assert!(!d.contains("s3cret"), "{d}");
        assert!(d.ends_with("subject=w.{preset} stream=S"), "{d}");
        for bad in [
            "nats://127.0.0.1:4222",
            "nats://127.0.0.1:4222?subject=a..b",
            "nats://127.0.0.1:4222?subject=a.*",
            "nats://127.0.0.1:4222?subject=a.{x}",
            "nats://127.0.0.1:4222?subject=a&stream=a.b",
            "amqp://127.0.0.1:4222?subject=a",
        ] {
            assert!(NatsPublisher::from_url(bad).is_err(), "{bad}");
        }
    }
}
