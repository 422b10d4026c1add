//! [`KafkaPublisher`]: Apache Kafka (and Kafka-protocol brokers) through `rskafka`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::BackoffError;
use rskafka::chrono::{DateTime, Utc};
use rskafka::client::error::{Error as KafkaError, ProtocolError, RequestError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use tokio::sync::{mpsc, oneshot};

use crate::error::{FailureKind, PublishConfigError, PublishError};
use crate::message::Message;
use crate::publisher::{PublishFuture, Published, Publisher};
use crate::template::Template;

/// Default time to connect to the cluster and find a partition's leader: 5 s.
pub const DEFAULT_KAFKA_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound of one produce request: 35 s — the broker's own 30 s request timeout (fixed
/// by `rskafka`) plus 5 s, so that a produce is reported [`FailureKind::TimedOut`] only once
/// the broker itself would have given up. The answer to the *sender* is bounded separately,
/// and much shorter, by the service's timeout.
pub const DEFAULT_KAFKA_PRODUCE_TIMEOUT: Duration = Duration::from_secs(35);
/// Default linger: how long the first record of a batch waits for more: 1 ms.
pub const DEFAULT_KAFKA_LINGER: Duration = Duration::from_millis(1);
/// Default largest batch, in records: 1000.
pub const DEFAULT_KAFKA_MAX_BATCH_RECORDS: usize = 1000;
/// Default largest batch, in bytes of keys, values and headers: 6 KiB.
///
/// Small on purpose: `rskafka` does not set `TCP_NODELAY` and writes a request through an
/// 8 KiB buffer, so a request larger than the buffer leaves as the 4-byte length and then
/// the rest, and Nagle's algorithm holds the rest until the broker's delayed ACK (~40 ms on
/// Linux). Measured with 64 concurrent 1 KiB deliveries on tansu: 512 KiB batches gave
/// ~1 100 req/s (every request waited ~40 ms); batches that fit the buffer do not wait.
/// A single record larger than this still goes, alone (and pays the wait).
pub const DEFAULT_KAFKA_MAX_BATCH_BYTES: usize = 6 * 1024;

/// Produce requests in flight per partition: records of one partition are not kept in order
/// across requests (webhook deliveries carry no order; a consumer orders by the event).
const MAX_IN_FLIGHT: usize = 4;

/// Kafka's longest topic name.
const MAX_TOPIC_LEN: usize = 249;

/// Publishes to Kafka. Cheap to clone (one `Arc`).
///
/// - Record **key** = the event id, **value** = the raw body bytes, **headers** = those of
///   [`Message::headers`] (UTF-8 values), **timestamp** = the receive time.
/// - **Partition** = Kafka's default partitioner on the key (murmur2, as the Java client):
///   every delivery of one event lands in one partition, in the partition the Java client
///   would have chosen.
/// - A publish resolves on the broker's answer to a produce request with `acks = -1`
///   (all in-sync replicas). No such topic is [`FailureKind::Unroutable`]; an error answer
///   (record too large, not enough replicas, …) is [`FailureKind::Rejected`]; no connection
///   is [`FailureKind::Unreachable`]; a connection lost while the request was out is
///   [`FailureKind::Unconfirmed`]; no answer within the produce timeout (or the broker's own
///   `REQUEST_TIMED_OUT`) is [`FailureKind::TimedOut`].
/// - After a connection error or a timeout the client is rebuilt on the next publish
///   (bootstrap again, fresh metadata).
/// - Topics are [`Template`]s; the publisher never creates one. [`Publisher::check`] (a
///   fixed topic) and [`Publisher::check_preset`] (a topic with `{preset}`) say whether it
///   exists and, when not, the command that creates it.
///
/// TLS and SASL are not built in: the proxy runs beside the broker.
///
/// ```no_run
/// use countersign_publish::{KafkaPublisher, Message, Publisher};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let publisher = KafkaPublisher::from_url("kafka://127.0.0.1:9092?topic=webhooks.{preset}")?;
/// publisher.check_preset("stripe").await?; // the topic webhooks.stripe exists
/// publisher.publish(Message::new("evt_1", "stripe", "billing", &b"{}"[..])).await?;
/// # Ok(()) }
/// ```
///
/// # Why `rskafka`
///
/// `rskafka` 0.6 is a small pure-Rust client (no C library, no build-time `cmake`, MIT/Apache)
/// kept by InfluxData for their own production ingest path. It does what this publisher needs
/// and no more:
///
/// - **acks=all**: every produce request it sends asks for `acks = -1` (`RequiredAcks::All`;
///   the value is fixed by the client, not a setting), so a broker answers only once every
///   in-sync replica has the batch. The broker's own wait is bounded by the request's
///   `timeout_ms`, which `rskafka` fixes at 30 s.
/// - **No idempotent producer**: `rskafka` does not implement `InitProducerId` /
///   producer sequence numbers (`librdkafka`'s `enable.idempotence`). A produce whose answer
///   was lost (the connection died after the request left) reports
///   [`FailureKind::Unconfirmed`]: the record may be in the log, the service releases the
///   claim, and the sender's retry can write a second copy. That is why the **record key is
///   the event id**: every copy of an event lands in the same partition with the same key, and a
///   consumer deduplicates on it (or a compacted topic keeps one). We never answer `503` for a
///   record that may still land *without saying so*: such a failure is `may_still_land()`, and
///   a produce still waiting when the service answers keeps the claim until the broker's
///   answer (see the service's docs).
/// - **Batching** is ours: concurrent publishes to one partition are gathered (up to
///   [`linger`](KafkaPublisherBuilder::linger), a record count and a byte size) into one
///   produce request, with up to 4 requests in flight per partition (so records of one
///   partition are not kept in arrival order), and throughput grows with concurrency
///   instead of paying one round trip per delivery.
///
/// `rdkafka` would bring the idempotent producer but also `librdkafka` (C, a vendored build or
/// a system library) and its 5-minute default delivery timeout; the trade is written down here
/// so that it can be revisited.
///
/// # tansu
///
/// The tests run against [tansu](https://crates.io/crates/tansu), an Apache-licensed
/// Kafka-protocol broker, with its in-memory storage. Differences that matter here: a single
/// tansu node has no replicas, so `acks=all` means "stored by that node"; with the memory
/// engine a restart loses every record and topic (the tests create the topic again).
#[derive(Clone)]
pub struct KafkaPublisher {
    inner: Arc<Inner>,
}

struct Inner {
    brokers: Vec<String>,
    topic: Template,
    batch: BatchConfig,
    connect_timeout: Duration,
    live: Mutex<Option<Arc<Live>>>,
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Clone, Copy)]
struct BatchConfig {
    linger: Duration,
    max_records: usize,
    max_bytes: usize,
    produce_timeout: Duration,
    connect_timeout: Duration,
}

/// One client (one bootstrap) and what was learnt through it. Replaced when `broken`.
struct Live {
    client: Arc<Client>,
    broken: Arc<AtomicBool>,
    topics: Mutex<HashMap<String, Arc<TopicLive>>>,
}

/// A topic's partitions and, per partition in use, the sender of its batching task.
struct TopicLive {
    partitions: Vec<i32>,
    senders: Mutex<HashMap<i32, mpsc::UnboundedSender<Pending>>>,
}

/// One record waiting for its batch, and where its answer goes.
struct Pending {
    record: Record,
    size: usize,
    answer: oneshot::Sender<Result<(), PublishError>>,
}

impl fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("destination", &self.describe())
            .finish_non_exhaustive()
    }
}

/// Builds a [`KafkaPublisher`]; see [`KafkaPublisher::builder`].
#[must_use]
#[derive(Debug)]
pub struct KafkaPublisherBuilder {
    brokers: Vec<String>,
    topic: Option<String>,
    connect_timeout: Duration,
    produce_timeout: Duration,
    linger: Duration,
    max_batch_records: usize,
    max_batch_bytes: usize,
}

impl KafkaPublisherBuilder {
    /// The topic (a [`Template`]: `{preset}`, `{event_type}`); required.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Time to bootstrap and to find a partition's leader (default
    /// [`DEFAULT_KAFKA_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound of one produce request, from sending it to the broker's answer (default
    /// [`DEFAULT_KAFKA_PRODUCE_TIMEOUT`]). Past it a record may still land
    /// ([`FailureKind::TimedOut`]); keep it above the broker's 30 s request timeout to learn
    /// the real outcome in nearly every case.
    pub fn produce_timeout(mut self, timeout: Duration) -> Self {
        self.produce_timeout = timeout;
        self
    }

    /// How long the first record of a batch waits for more (default
    /// [`DEFAULT_KAFKA_LINGER`]; zero: send what is queued at once). Records that arrive
    /// while a batch is out go into the next one whatever the linger.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Largest batch in records (default [`DEFAULT_KAFKA_MAX_BATCH_RECORDS`]).
    pub fn max_batch_records(mut self, records: usize) -> Self {
        self.max_batch_records = records;
        self
    }

    /// Largest batch in bytes (default [`DEFAULT_KAFKA_MAX_BATCH_BYTES`]); a single larger
    /// record still goes, alone.
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }

    /// Builds the publisher; it connects on first use (or [`Publisher::check`]).
    ///
    /// # Errors
    /// [`PublishConfigError`] for no broker, a bad `host:port`, a missing or bad topic, a
    /// zero timeout or batch limit.
    pub fn build(self) -> Result<KafkaPublisher, PublishConfigError> {
        let shown = self.brokers.join(",");
        let bad = |reason: &str| PublishConfigError::Url {
            url: format!("kafka://{shown}"),
            reason: reason.to_owned(),
        };
        if self.brokers.is_empty() {
            return Err(bad("give at least one broker host:port"));
        }
        for b in &self.brokers {
            let valid = b.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
                    && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                return Err(bad("every broker must be host:port"));
            }
        }
        let topic = self.topic.ok_or_else(|| bad("give a `topic`"))?;
        let literal_ok = topic_literals(&topic)
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '{' | '}'));
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN || !literal_ok {
            return Err(bad(
                "the topic must be 1 to 249 of `A-Z a-z 0-9 . _ -` (and {preset}, {event_type})",
            ));
        }
        if topic == "." || topic == ".." {
            return Err(bad("`.` and `..` are not topic names"));
        }
        let topic = Template::parse(&topic)?;
        for (setting, d) in [
            ("connect_timeout", self.connect_timeout),
            ("produce_timeout", self.produce_timeout),
        ] {
            if d.is_zero() {
                return Err(PublishConfigError::Setting {
                    setting,
                    reason: "must be above zero".into(),
                });
            }
        }
        for (setting, n) in [
            ("max_batch_records", self.max_batch_records),
            ("max_batch_bytes", self.max_batch_bytes),
        ] {
            if n == 0 {
                return Err(PublishConfigError::Setting {
                    setting,
                    reason: "must be above zero".into(),
                });
            }
        }
        Ok(KafkaPublisher {
            inner: Arc::new(Inner {
                brokers: self.brokers,
                topic,
                batch: BatchConfig {
                    linger: self.linger,
                    max_records: self.max_batch_records,
                    max_bytes: self.max_batch_bytes,
                    produce_timeout: self.produce_timeout,
                    connect_timeout: self.connect_timeout,
                },
                connect_timeout: self.connect_timeout,
                live: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// The characters of a topic template outside its placeholders (checked for Kafka's
/// alphabet; the placeholders themselves are checked by [`Template::parse`]).
fn topic_literals(topic: &str) -> impl Iterator<Item = char> + '_ {
    let mut inside = false;
    topic.chars().filter(move |&c| {
        match c {
            '{' => inside = true,
            '}' => {
                inside = false;
                return false;
            }
            _ => {}
        }
        !inside
    })
}

impl KafkaPublisher {
    /// A builder for the cluster reached through `brokers` (`host:port` each; one is
    /// enough, the others are fallbacks for the bootstrap).
    pub fn builder<I, S>(brokers: I) -> KafkaPublisherBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KafkaPublisherBuilder {
            brokers: brokers.into_iter().map(Into::into).collect(),
            topic: None,
            connect_timeout: DEFAULT_KAFKA_CONNECT_TIMEOUT,
            produce_timeout: DEFAULT_KAFKA_PRODUCE_TIMEOUT,
            linger: DEFAULT_KAFKA_LINGER,
            max_batch_records: DEFAULT_KAFKA_MAX_BATCH_RECORDS,
            max_batch_bytes: DEFAULT_KAFKA_MAX_BATCH_BYTES,
        }
    }

    /// A publisher from one URL: `kafka://host:port[,host:port…]?topic=webhooks.{preset}`.
    ///
    /// # Errors
    /// As [`KafkaPublisherBuilder::build`]; also for credentials, a path, a fragment or an
    /// unknown parameter (none is silently ignored).
    pub fn from_url(url: &str) -> Result<Self, PublishConfigError> {
        let raw = url.trim();
        let bad = |reason: &str| PublishConfigError::Url {
            url: crate::url::redact(raw),
            reason: reason.to_owned(),
        };
        let rest = raw
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("the scheme must be kafka://"))?;
        if rest.contains('#') {
            return Err(bad("a fragment (#…) is not allowed"));
        }
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains('@') {
            return Err(PublishConfigError::Url {
                url: "kafka://…".into(),
                reason: "credentials are not supported (no SASL)".into(),
            });
        }
        if authority.contains('/') {
            return Err(bad("a kafka:// URL has no path"));
        }
        let brokers: Vec<String> = authority.split(',').map(str::to_owned).collect();
        let mut builder = KafkaPublisher::builder(brokers);
        let mut seen_topic = false;
        for (k, v) in ::url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "topic" if !seen_topic => {
                    seen_topic = true;
                    builder = builder.topic(v.into_owned());
                }
                "topic" => return Err(bad("`topic` is given twice")),
                other => {
                    return Err(bad(&format!(
                        "unknown parameter `{other}` (the only one is `topic`)"
                    )));
                }
            }
        }
        builder.build()
    }
}

/// Kafka's default partitioner (`Utils.murmur2` of the Java client, seed `0x9747b28c`),
/// made positive as `toPositive` does.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    #[expect(clippy::cast_possible_truncation, reason = "Java's int length")]
    let mut h: u32 = 0x9747_b28c ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h & 0x7fff_ffff
}

/// The partition of `key` among `partitions` (sorted ids), as the Java client picks it.
fn partition_for(key: &[u8], partitions: &[i32]) -> Option<i32> {
    if partitions.is_empty() {
        return None;
    }
    let at = usize::try_from(murmur2(key)).unwrap_or(0) % partitions.len();
    partitions.get(at).copied()
}

/// A `PublishError` for a client error; `sent` says whether the request may have left.
fn error_from(e: &KafkaError, sent: bool) -> PublishError {
    let kind = if sent {
        classify(e)
    } else {
        match classify(e) {
            FailureKind::Unroutable => FailureKind::Unroutable,
            _ => FailureKind::Unreachable,
        }
    };
    PublishError::with_source(kind, SharedError(e.to_string()))
}

/// What a produce's client error means for the record.
fn classify(e: &KafkaError) -> FailureKind {
    match e {
        // No connection to the leader: nothing went out.
        KafkaError::Connection(_) => FailureKind::Unreachable,
        // The connection broke, possibly after the request left.
        KafkaError::Request(RequestError::IO(_) | RequestError::Poisoned(_))
        | KafkaError::Request(_)
        | KafkaError::InvalidResponse(_) => FailureKind::Unconfirmed,
        KafkaError::ServerError { protocol_error, .. } => match protocol_error {
            ProtocolError::UnknownTopicOrPartition | ProtocolError::InvalidTopicException => {
                FailureKind::Unroutable
            }
            // The broker may have appended it and only timed out waiting for replicas.
            ProtocolError::RequestTimedOut => FailureKind::TimedOut,
            ProtocolError::NotEnoughReplicasAfterAppend => FailureKind::Unconfirmed,
            // Any other error answer: the batch was not appended.
            _ => FailureKind::Rejected,
        },
        KafkaError::RetryFailed(BackoffError::DeadlineExceded { source, .. }) => source
            .downcast_ref::<KafkaError>()
            .map_or(FailureKind::Unconfirmed, classify),
        KafkaError::Timeout => FailureKind::TimedOut,
        _ => FailureKind::Unconfirmed,
    }
}

/// A client error as a `source()`: its text (the client's errors are not `Clone`, and one
/// failure answers every record of a batch). Broker addresses only, never credentials.
#[derive(Debug)]
struct SharedError(String);

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SharedError {}

fn create_hint(topic: &str, brokers: &[String]) -> String {
    let first = brokers.first().map_or("127.0.0.1:9092", String::as_str);
    format!(
        "topic `{topic}` does not exist; create it (the publisher never does): `kafka-topics.sh --bootstrap-server {first} --create --topic {topic}`, or with tansu `tansu topic create {topic} --broker tcp://{first}`"
    )
}

impl Inner {
    fn current(&self) -> Option<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|l| !l.broken.load(Ordering::Relaxed))
    }

    async fn live(&self) -> Result<Arc<Live>, PublishError> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let shown = self.brokers.join(",");
        tracing::info!(broker = %shown, "kafka: connecting");
        let client = ClientBuilder::new(self.brokers.clone())
            .client_id("countersign")
            // One attempt per call: the sender's retry is the retry, and a request the client
            // re-sent on its own could land twice (no idempotent producer).
            .backoff_config(BackoffConfig {
                deadline: Some(Duration::ZERO),
                ..BackoffConfig::default()
            })
            .build();
        let client = match tokio::time::timeout(self.connect_timeout, client).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(error_from(&e, false).detail(format!("cannot connect to {shown}")));
            }
            Err(_) => {
                return Err(PublishError::new(FailureKind::Unreachable).detail(format!(
                    "no connection to {shown} within {:?}",
                    self.connect_timeout
                )));
            }
        };
        let live = Arc::new(Live {
            client: Arc::new(client),
            broken: Arc::new(AtomicBool::new(false)),
            topics: Mutex::new(HashMap::new()),
        });
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&live));
        Ok(live)
    }

    /// The topic's partitions (metadata asked once per client); `Unroutable` when it does
    /// not exist.
    async fn topic(&self, live: &Live, name: &str) -> Result<Arc<TopicLive>, PublishError> {
        if let Some(t) = live
            .topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(Arc::clone(t));
        }
        let topics =
            match tokio::time::timeout(self.connect_timeout, live.client.list_topics()).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    live.broken.store(true, Ordering::Relaxed);
                    return Err(error_from(&e, false).detail("cannot read the topic metadata"));
                }
                Err(_) => {
                    live.broken.store(true, Ordering::Relaxed);
                    return Err(PublishError::new(FailureKind::Unreachable)
                        .detail("no topic metadata within the connect timeout"));
                }
            };
        let Some(found) = topics.into_iter().find(|t| t.name == name) else {
            return Err(
                PublishError::new(FailureKind::Unroutable).detail(create_hint(name, &self.brokers))
            );
        };
        if found.partitions.is_empty() {
            return Err(PublishError::new(FailureKind::Unroutable)
                .detail(format!("topic `{name}` has no partitions")));
        }
        let topic = Arc::new(TopicLive {
            partitions: found.partitions.into_iter().collect(),
            senders: Mutex::new(HashMap::new()),
        });
        Ok(Arc::clone(
            live.topics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(name.to_owned())
                .or_insert(topic),
        ))
    }

    /// Hands `pending` to the batching task of `topic`/`partition`, starting it if needed.
    fn enqueue(
        &self,
        live: &Live,
        topic_name: &str,
        topic: &TopicLive,
        partition: i32,
        pending: Pending,
    ) -> Result<(), PublishError> {
        let mut senders = topic.senders.lock().unwrap_or_else(|e| e.into_inner());
        let tx = senders.entry(partition).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_partition(
                Arc::clone(&live.client),
                topic_name.to_owned(),
                partition,
                rx,
                self.batch,
                Arc::clone(&live.broken),
            ));
            tx
        });
        tx.send(pending).map_err(|_| {
            // The task ended (its connection failed): nothing of this record went out.
            senders.remove(&partition);
            live.broken.store(true, Ordering::Relaxed);
            PublishError::new(FailureKind::Unreachable).detail(format!(
                "no connection to the leader of {topic_name}/{partition}"
            ))
        })
    }
}

/// One partition's batching loop: up to `MAX_IN_FLIGHT` produce requests at a time;
/// whatever queues meanwhile (up to the limits) goes in the next one.
async fn run_partition(
    client: Arc<Client>,
    topic: String,
    partition: i32,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    config: BatchConfig,
    broken: Arc<AtomicBool>,
) {
    let leader = tokio::time::timeout(
        config.connect_timeout,
        client.partition_client(topic.clone(), partition, UnknownTopicHandling::Error),
    )
    .await;
    let leader: Arc<PartitionClient> = match leader {
        Ok(Ok(p)) => Arc::new(p),
        outcome => {
            broken.store(true, Ordering::Relaxed);
            let why = match outcome {
                Ok(Err(e)) => error_from(&e, false),
                _ => PublishError::new(FailureKind::Unreachable),
            };
            let (kind, text) = (why.kind(), why.to_string());
            fail_all(
                &mut rx,
                None,
                kind,
                &format!("leader of {topic}/{partition}: {text}"),
            );
            return;
        }
    };
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut carry: Option<Pending> = None;
    loop {
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut bytes = first.size;
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + config.linger;
        'fill: while batch.len() < config.max_records && bytes < config.max_bytes {
            let next = match rx.try_recv() {
                Ok(p) => p,
                Err(mpsc::error::TryRecvError::Disconnected) => break 'fill,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if config.linger.is_zero() {
                        break 'fill;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(p)) => p,
                        Ok(None) | Err(_) => break 'fill,
                    }
                }
            };
            if bytes + next.size > config.max_bytes {
                carry = Some(next);
                break 'fill;
            }
            bytes += next.size;
            batch.push(next);
        }
        if broken.load(Ordering::Relaxed) {
            // A produce of this partition failed on the connection: a new client on the next
            // publish; what is queued here was never sent.
            let mut rest = batch;
            rest.extend(carry.take());
            fail_pending(
                rest,
                FailureKind::Unreachable,
                &format!("{topic}/{partition}: the connection failed before it was sent"),
            );
            fail_all(
                &mut rx,
                None,
                FailureKind::Unreachable,
                &format!("{topic}/{partition}: the connection failed before it was sent"),
            );
            return;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let (records, answers): (Vec<Record>, Vec<_>) =
            batch.into_iter().map(|p| (p.record, p.answer)).unzip();
        let (leader, topic, broken) = (Arc::clone(&leader), topic.clone(), Arc::clone(&broken));
        tokio::spawn(async move {
            let _permit = permit;
            produce(
                &leader, &topic, partition, records, answers, config, &broken,
            )
            .await;
        });
    }
}

/// One produce request and its answers; a connection failure marks the client broken.
async fn produce(
    leader: &PartitionClient,
    topic: &str,
    partition: i32,
    records: Vec<Record>,
    answers: Vec<oneshot::Sender<Result<(), PublishError>>>,
    config: BatchConfig,
    broken: &AtomicBool,
) {
    let n = records.len();
    let produced = tokio::time::timeout(
        config.produce_timeout,
        leader.produce(records, Compression::NoCompression),
    )
    .await;
    let failure = match produced {
        Ok(Ok(_offsets)) => {
            for a in answers {
                let _ = a.send(Ok(()));
            }
            return;
        }
        Ok(Err(e)) => error_from(&e, true),
        Err(_) => PublishError::new(FailureKind::TimedOut).detail(format!(
            "no answer to the produce request within {:?}",
            config.produce_timeout
        )),
    };
    let (kind, text) = (failure.kind(), failure.to_string());
    tracing::warn!(%topic, partition, records = n, error = %text, "kafka: produce failed");
    if matches!(
        kind,
        FailureKind::Unreachable | FailureKind::Unconfirmed | FailureKind::TimedOut
    ) {
        broken.store(true, Ordering::Relaxed);
    }
    for a in answers {
        let _ = a.send(Err(
            PublishError::new(kind).detail(format!("{topic}/{partition}: {text}"))
        ));
    }
}

fn fail_pending(pending: Vec<Pending>, kind: FailureKind, detail: &str) {
    for p in pending {
        let _ = p
            .answer
            .send(Err(PublishError::new(kind).detail(detail.to_owned())));
    }
}

/// Closes the queue and answers everything in it (never sent) with `kind`.
fn fail_all(
    rx: &mut mpsc::UnboundedReceiver<Pending>,
    carry: Option<Pending>,
    kind: FailureKind,
    detail: &str,
) {
    rx.close();
    let mut rest = carry.into_iter().collect::<Vec<_>>();
    while let Ok(p) = rx.try_recv() {
        rest.push(p);
    }
    for p in rest {
        let _ = p
            .answer
            .send(Err(PublishError::new(kind).detail(detail.to_owned())));
    }
}

fn record(message: &Message) -> Record {
    let headers: BTreeMap<String, Vec<u8>> = message
        .headers()
        .map(|(k, v)| (k.to_owned(), v.into_bytes()))
        .collect();
    let millis = message
        .received_at()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Record {
        key: Some(message.event_id().as_bytes().to_vec()),
        value: Some(message.body().to_vec()),
        headers,
        timestamp: DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default(),
    }
}

impl Publisher for KafkaPublisher {
    fn publish(&self, message: Message) -> PublishFuture<Published> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let topic_name = inner.topic.render(&message);
            if topic_name.len() > MAX_TOPIC_LEN || topic_name == "." || topic_name == ".." {
                return Err(PublishError::new(FailureKind::Unroutable)
                    .detail(format!("`{topic_name}` is not a valid topic name")));
            }
            let live = inner.live().await?;
            let topic = inner.topic(&live, &topic_name).await?;
            let key = message.event_id().as_bytes();
            let partition = partition_for(key, &topic.partitions).ok_or_else(|| {
                PublishError::new(FailureKind::Unroutable).detail("no partitions")
            })?;
            let record = record(&message);
            let (answer, rx) = oneshot::channel();
            let pending = Pending {
                size: record.approximate_size(),
                record,
                answer,
            };
            inner.enqueue(&live, &topic_name, &topic, partition, pending)?;
            match rx.await {
                Ok(Ok(())) => Ok(Published::default()),
                Ok(Err(e)) => Err(e),
                // The task is gone without an answer: it may have sent the record.
                Err(_) => Err(PublishError::new(FailureKind::Unconfirmed)
                    .detail("the produce task ended without an answer")),
            }
        })
    }

    fn check(&self) -> PublishFuture<()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let live = inner.live().await?;
            if inner.topic.as_str().contains('{') {
                // A template: the topics are known per delivery; connect and read the
                // metadata only (check_preset checks a route's topic).
                return match tokio::time::timeout(inner.connect_timeout, live.client.list_topics())
                    .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(error_from(&e, false)),
                    Err(_) => Err(PublishError::new(FailureKind::Unreachable)
                        .detail("no topic metadata within the connect timeout")),
                };
            }
            inner.topic(&live, inner.topic.as_str()).await.map(drop)
        })
    }

    fn check_preset(&self, preset: &str) -> PublishFuture<()> {
        if self.inner.topic.as_str().contains("{event_type}") {
            return self.check();
        }
        let inner = Arc::clone(&self.inner);
        let name = inner
            .topic
            .render(&Message::new("check", preset, "check", bytes::Bytes::new()));
        Box::pin(async move {
            let live = inner.live().await?;
            inner.topic(&live, &name).await.map(drop)
        })
    }

    fn describe(&self) -> String {
        format!(
            "kafka://{} topic={}",
            self.inner.brokers.join(","),
            self.inner.topic
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Kafka's own UtilsTest.testMurmur2 vectors (before toPositive), masked.
        let cases: [(&[u8], i32); 5] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
        ];
        for (key, java) in cases {
            assert_eq!(murmur2(key), (java as u32) & 0x7fff_ffff, "{key:?}");
        }
        assert_eq!(partition_for(b"evt", &[]), None);
        assert_eq!(partition_for(b"evt", &[7]), Some(7));
    }

    #[test]
    fn urls() {
        let p = KafkaPublisher::from_url("kafka://127.0.0.1:9092,10.0.0.2:9093?topic=w.{preset}")
            .unwrap();
        assert_eq!(
            p.describe(),
            "kafka://127.0.0.1:9092,10.0.0.2:9093 topic=w.{preset}"
        );
        for bad in [
            "kafka://127.0.0.1:9092",
            "kafka://127.0.0.1:9092?topic=a/b",
            "kafka://127.0.0.1:9092?topic=a b",
            "kafka://127.0.0.1:9092?topic=a.{x}",
            "kafka://127.0.0.1:9092?topic=a&topic=b",
            "kafka://127.0.0.1:9092?topic=a&acks=1",
            "kafka://127.0.0.1?topic=a",
            "kafka://127.0.0.1:0?topic=a",
            "kafka://?topic=a",
            "kafka://127.0.0.1:9092/path?topic=a",
            "kafka://127.0.0.1:9092?topic=..",
            "amqp://127.0.0.1:9092?topic=a",
        ] {
            assert!(KafkaPublisher::from_url(bad).is_err(), "{bad}");
        }
        let err = KafkaPublisher::from_url("kafka://user:s3cret@127.0.0.1:9092?topic=a")
            .err()
            .unwrap();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let long = format!("kafka://h:1?topic={}", "a".repeat(250));
        assert!(KafkaPublisher::from_url(&long).is_err());
    }

    #[test]
    fn records_carry_key_value_and_headers() {
        let m = Message::new("evt_9", "stripe", "billing", &b"\x00body"[..])
            .with_event_type(Some("invoice.paid".into()));
        let r = record(&m);
        assert_eq!(r.key.as_deref(), Some(&b"evt_9"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"\x00body"[..]));
        assert_eq!(r.headers["Countersign-Event-Type"], b"invoice.paid");
        assert_eq!(r.headers.len(), 6);
    }
}
