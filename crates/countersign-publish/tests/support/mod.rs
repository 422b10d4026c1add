//! Real brokers for the suites: a destination per test on the machine's RabbitMQ and NATS
//! (unique names, deleted afterwards), and a way to read back what was published.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support shared by several test binaries"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use countersign_publish::{AmqpPublisher, KafkaPublisher, NatsPublisher, Publisher};
use countersign_testkit::{TansuServer, nats_url, rabbitmq_url, unique_name};
use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties, ExchangeKind};

/// What a consumer read back.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Vec<u8>,
    /// Message headers (AMQP headers table; NATS headers).
    pub headers: BTreeMap<String, String>,
    /// Routing key (AMQP) or subject (NATS).
    pub routed_as: String,
    /// AMQP properties (`message_id`, `content_type`, `delivery_mode`, `timestamp`); Kafka:
    /// `key`, `partition`, `timestamp` (ms); empty for NATS.
    pub properties: BTreeMap<String, String>,
}

/// Which broker a backend is (for the few checks of broker-specific message fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Amqp,
    Nats,
    Kafka,
}

/// A broker backend of the conformance suite.
pub trait Backend: Sized {
    /// Whether the broker itself drops a republished event (JetStream `Nats-Msg-Id`).
    const DEDUPS_BY_EVENT_ID: bool;
    /// Which broker.
    const FLAVOUR: Flavour;
    /// A fresh destination named after `test`.
    async fn new(test: &str) -> Self;
    /// A publisher to it whose routing key / subject is `<prefix>.{preset}.{event_type}`.
    fn publisher(&self) -> Arc<dyn Publisher>;
    /// The routing key / subject prefix.
    fn prefix(&self) -> String;
    /// A publisher to a destination no queue / stream takes.
    async fn unroutable(&mut self) -> Arc<dyn Publisher>;
    /// A publisher to a destination that takes one message, then refuses.
    async fn full(&mut self) -> Arc<dyn Publisher>;
    /// A publisher to a port nothing listens on.
    fn unreachable() -> Arc<dyn Publisher>;
    /// Everything published so far, cumulative (waits up to `wait` for at least
    /// `at_least`).
    async fn received(&self, at_least: usize, wait: Duration) -> Vec<Received>;
    /// Deletes what `new` and the other methods created.
    async fn cleanup(self);
}

fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---- RabbitMQ ----

pub struct Amqp {
    url: String,
    conn: Connection,
    exchange: String,
    queue: String,
    extra_exchanges: Vec<String>,
    extra_queues: Vec<String>,
    /// Everything drained from the queue so far.
    seen: std::sync::Mutex<Vec<Received>>,
}

impl Amqp {
    pub async fn connect(url: &str) -> Connection {
        Connection::connect(url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ")
    }

    /// The destination on another broker URL (a test-owned vhost).
    pub async fn on(url: String, test: &str) -> Self {
        let conn = Self::connect(&url).await;
        let name = unique_name(test);
        let exchange = format!("{name}_x");
        let queue = format!("{name}_q");
        declare(&conn, &exchange, &queue).await;
        Amqp {
            url,
            conn,
            exchange,
            queue,
            extra_exchanges: vec![],
            extra_queues: vec![],
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Declares the exchange, queue and binding again on a new connection (after the vhost
    /// was deleted and created again).
    pub async fn redeclare(&mut self) {
        self.conn = Self::connect(&self.url).await;
        declare(&self.conn, &self.exchange, &self.queue).await;
    }
}

async fn declare(conn: &Connection, exchange: &str, queue: &str) {
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
}

impl Amqp {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Messages currently in `queue` (read and acknowledged).
    pub async fn drain(&self, queue: &str) -> Vec<Received> {
        let ch = self.conn.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let d = m.delivery;
            let p = &d.properties;
            let mut headers = BTreeMap::new();
            if let Some(table) = p.headers() {
                for (k, v) in table.inner() {
                    let value = match v {
                        AMQPValue::LongString(s) => {
                            String::from_utf8_lossy(s.as_bytes()).into_owned()
                        }
                        other => format!("{other:?}"),
                    };
                    headers.insert(k.as_str().to_owned(), value);
                }
            }
            let mut properties = BTreeMap::new();
            if let Some(id) = p.message_id() {
                properties.insert("message_id".to_owned(), id.as_str().to_owned());
            }
            if let Some(ct) = p.content_type() {
                properties.insert("content_type".to_owned(), ct.as_str().to_owned());
            }
            if let Some(mode) = p.delivery_mode() {
                properties.insert("delivery_mode".to_owned(), mode.to_string());
            }
            if let Some(ts) = p.timestamp() {
                properties.insert("timestamp".to_owned(), ts.to_string());
            }
            out.push(Received {
                body: d.data.clone(),
                headers,
                routed_as: d.routing_key.as_str().to_owned(),
                properties,
            });
        }
        let _ = ch.close(200, "ok".into()).await;
        out
    }
}

impl Backend for Amqp {
    const DEDUPS_BY_EVENT_ID: bool = false;
    const FLAVOUR: Flavour = Flavour::Amqp;

    async fn new(test: &str) -> Self {
        Amqp::on(rabbitmq_url(), test).await
    }

    fn publisher(&self) -> Arc<dyn Publisher> {
        Arc::new(
            AmqpPublisher::builder(self.url.clone())
                .exchange(
                    &self.exchange,
                    format!("{}.{{preset}}.{{event_type}}", self.prefix()),
                )
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    fn prefix(&self) -> String {
        "cs".to_owned()
    }

    async fn unroutable(&mut self) -> Arc<dyn Publisher> {
        let lonely = format!("{}_lonely", self.exchange);
        let ch = self.conn.create_channel().await.unwrap();
        ch.exchange_declare(
            lonely.as_str().into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        self.extra_exchanges.push(lonely.clone());
        Arc::new(
            AmqpPublisher::builder(self.url.clone())
                .exchange(lonely, "nowhere")
                .build()
                .unwrap(),
        )
    }

    async fn full(&mut self) -> Arc<dyn Publisher> {
        let queue = format!("{}_full", self.queue);
        let ch = self.conn.create_channel().await.unwrap();
        let mut args = FieldTable::default();
        args.insert("x-max-length".into(), AMQPValue::LongLongInt(1));
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
        ch.queue_declare(queue.as_str().into(), QueueDeclareOptions::default(), args)
            .await
            .unwrap();
        self.extra_queues.push(queue.clone());
        // Through `?queue=`: an existing queue is used as it is, arguments and all.
        Arc::new(AmqpPublisher::from_url(&format!("{}?queue={queue}", self.url)).unwrap())
    }

    fn unreachable() -> Arc<dyn Publisher> {
        Arc::new(
            AmqpPublisher::builder(format!("amqp://guest:guest@127.0.0.1:{}/%2f", dead_port()))
                .queue("never")
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    async fn received(&self, at_least: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let new = self.drain(&self.queue).await;
            let all = {
                let mut seen = self.seen.lock().unwrap();
                seen.extend(new);
                seen.clone()
            };
            if all.len() >= at_least || tokio::time::Instant::now() >= deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn cleanup(self) {
        let ch = self.conn.create_channel().await.unwrap();
        for q in std::iter::once(&self.queue).chain(&self.extra_queues) {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for x in std::iter::once(&self.exchange).chain(&self.extra_exchanges) {
            let _ = ch
                .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = self.conn.close(200, "bye".into()).await;
    }
}

// ---- NATS JetStream ----

pub struct Nats {
    url: String,
    js: jetstream::Context,
    name: String,
    streams: Vec<String>,
}

impl Nats {
    /// The destination on another server (a test-owned one).
    pub async fn on(url: String, test: &str) -> Self {
        let client = async_nats::connect(url.as_str())
            .await
            .expect("connect to NATS");
        let js = jetstream::new(client);
        let name = unique_name(test);
        js.create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
        Nats {
            url,
            js,
            streams: vec![name.clone()],
            name,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn stream_name(&self) -> &str {
        &self.name
    }

    /// Every message of `stream`, in order.
    pub async fn read(&self, stream: &str) -> Vec<Received> {
        let mut s = self.js.get_stream(stream).await.unwrap();
        let info = s.info().await.unwrap().clone();
        let mut out = Vec::new();
        for seq in info.state.first_sequence..=info.state.last_sequence {
            if info.state.messages == 0 {
                break;
            }
            let Ok(m) = s.get_raw_message(seq).await else {
                continue;
            };
            let mut headers = BTreeMap::new();
            for (k, vs) in m.headers.iter() {
                if let Some(v) = vs.first() {
                    headers.insert(k.to_string(), v.as_str().to_owned());
                }
            }
            out.push(Received {
                body: m.payload.to_vec(),
                headers,
                routed_as: m.subject.to_string(),
                properties: BTreeMap::new(),
            });
        }
        out
    }

    pub fn js(&self) -> &jetstream::Context {
        &self.js
    }

    /// Deletes `stream` at cleanup.
    pub fn owns(&mut self, stream: String) {
        self.streams.push(stream);
    }
}

impl Backend for Nats {
    const DEDUPS_BY_EVENT_ID: bool = true;
    const FLAVOUR: Flavour = Flavour::Nats;

    async fn new(test: &str) -> Self {
        Nats::on(nats_url(), test).await
    }

    fn publisher(&self) -> Arc<dyn Publisher> {
        Arc::new(
            NatsPublisher::builder(self.url.clone())
                .subject(format!("{}.{{preset}}.{{event_type}}", self.prefix()))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    fn prefix(&self) -> String {
        self.name.clone()
    }

    async fn unroutable(&mut self) -> Arc<dyn Publisher> {
        Arc::new(
            NatsPublisher::builder(self.url.clone())
                .subject(format!("{}_nostream.x", self.name))
                .build()
                .unwrap(),
        )
    }

    async fn full(&mut self) -> Arc<dyn Publisher> {
        let name = format!("{}_full", self.name);
        self.js
            .create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![format!("{name}.>")],
                max_messages: 1,
                discard: stream::DiscardPolicy::New,
                ..Default::default()
            })
            .await
            .unwrap();
        self.streams.push(name.clone());
        Arc::new(
            NatsPublisher::builder(self.url.clone())
                .subject(format!("{name}.{{preset}}"))
                .build()
                .unwrap(),
        )
    }

    fn unreachable() -> Arc<dyn Publisher> {
        Arc::new(
            NatsPublisher::builder(format!("nats://127.0.0.1:{}", dead_port()))
                .subject("never")
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    async fn received(&self, at_least: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let all = self.read(&self.name).await;
            if all.len() >= at_least || tokio::time::Instant::now() >= deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn cleanup(self) {
        for s in &self.streams {
            let _ = self.js.delete_stream(s).await;
        }
    }
}

// ---- Kafka (a tansu broker per destination) ----

pub struct Kafka {
    server: TansuServer,
    prefix: String,
    /// Topics created for this destination (read back by `received`).
    topics: Vec<String>,
}

/// Every record of `topic` on the broker at `addr`, all partitions, in partition order.
pub async fn read_topic(addr: &str, topic: &str) -> Vec<Received> {
    use rskafka::client::ClientBuilder;
    use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
    let client = ClientBuilder::new(vec![addr.to_owned()])
        .build()
        .await
        .expect("connect to tansu");
    let topics = client.list_topics().await.expect("list topics");
    let Some(t) = topics.into_iter().find(|t| t.name == topic) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in t.partitions {
        let pc = client
            .partition_client(topic, p, UnknownTopicHandling::Retry)
            .await
            .expect("partition client");
        let end = pc
            .get_offset(OffsetAt::Latest)
            .await
            .expect("latest offset");
        let mut offset = pc
            .get_offset(OffsetAt::Earliest)
            .await
            .expect("earliest offset");
        while offset < end {
            let (records, _high) = pc
                .fetch_records(offset, 1..50_000_000, 1_000)
                .await
                .expect("fetch");
            if records.is_empty() {
                break;
            }
            for r in records {
                offset = r.offset + 1;
                let rec = r.record;
                let headers = rec
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                    .collect();
                let mut properties = BTreeMap::new();
                properties.insert(
                    "key".to_owned(),
                    String::from_utf8_lossy(rec.key.as_deref().unwrap_or_default()).into_owned(),
                );
                properties.insert("partition".to_owned(), p.to_string());
                properties.insert(
                    "timestamp".to_owned(),
                    rec.timestamp.timestamp_millis().to_string(),
                );
                out.push(Received {
                    body: rec.value.unwrap_or_default(),
                    headers,
                    routed_as: topic.to_owned(),
                    properties,
                });
            }
        }
    }
    out
}

impl Kafka {
    pub fn server(&self) -> &TansuServer {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut TansuServer {
        &mut self.server
    }

    /// Creates `topic` (3 partitions) and reads it back in `received`.
    pub fn owns(&mut self, topic: String) {
        self.server.create_topic(&topic, 3);
        self.topics.push(topic);
    }
}

impl Backend for Kafka {
    const DEDUPS_BY_EVENT_ID: bool = false;
    const FLAVOUR: Flavour = Flavour::Kafka;

    async fn new(test: &str) -> Self {
        let server = tokio::task::spawn_blocking(TansuServer::start)
            .await
            .unwrap();
        let prefix = unique_name(test);
        let mut k = Kafka {
            server,
            prefix,
            topics: Vec::new(),
        };
        // The topics the suite's messages go to (the publisher never creates one).
        for t in ["shopify.orders_create", "stripe.unknown"] {
            let topic = format!("{}.{t}", k.prefix);
            k.owns(topic);
        }
        k
    }

    fn publisher(&self) -> Arc<dyn Publisher> {
        Arc::new(
            KafkaPublisher::builder([self.server.addr()])
                .topic(format!("{}.{{preset}}.{{event_type}}", self.prefix))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    fn prefix(&self) -> String {
        self.prefix.clone()
    }

    async fn unroutable(&mut self) -> Arc<dyn Publisher> {
        Arc::new(
            KafkaPublisher::builder([self.server.addr()])
                .topic(format!("{}_notopic", self.prefix))
                .build()
                .unwrap(),
        )
    }

    async fn full(&mut self) -> Arc<dyn Publisher> {
        unreachable!("Kafka has no bounded topic that refuses; see the Kafka-only tests")
    }

    fn unreachable() -> Arc<dyn Publisher> {
        Arc::new(
            KafkaPublisher::builder([format!("127.0.0.1:{}", dead_port())])
                .topic("never")
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
    }

    async fn received(&self, at_least: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut all = Vec::new();
            for t in &self.topics {
                all.extend(read_topic(&self.server.addr(), t).await);
            }
            if all.len() >= at_least || tokio::time::Instant::now() >= deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn cleanup(self) {
        // The broker (memory storage) goes with its process.
        drop(self.server);
    }
}
