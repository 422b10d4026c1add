//! Reads back what the Kafka publisher produced: every record of a topic, every partition.
//!
//! ```text
//! cargo run -q -p countersign-publish --features kafka --example kafka_read -- 127.0.0.1:9092 webhooks.stripe
//! webhooks.stripe 0 0 evt_1 {"id":"evt_1","type":"invoice.paid"}
//! cargo run -q -p countersign-publish --features kafka --example kafka_read -- 127.0.0.1:9092 webhooks.stripe --count
//! 1 records, 1 distinct keys
//! ```
//!
//! One line per record: topic, partition, offset, key, then the value (lossy UTF-8) and, with
//! `--headers`, the headers. `--count` prints the number of records and of distinct keys only.
#![allow(clippy::print_stdout, reason = "an example's output")]

use std::collections::BTreeSet;
use std::process::ExitCode;

use rskafka::client::ClientBuilder;
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(broker), Some(topic)) = (args.first(), args.get(1)) else {
        eprintln!("usage: kafka_read HOST:PORT TOPIC [--count] [--headers]");
        return ExitCode::from(2);
    };
    let count = args.iter().any(|a| a == "--count");
    let show_headers = args.iter().any(|a| a == "--headers");
    match read(broker, topic, count, show_headers).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafka_read: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn read(
    broker: &str,
    topic: &str,
    count: bool,
    show_headers: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = ClientBuilder::new(vec![broker.to_owned()]).build().await?;
    let partitions = client
        .list_topics()
        .await?
        .into_iter()
        .find(|t| t.name == topic)
        .ok_or_else(|| format!("no topic `{topic}`"))?
        .partitions;
    let (mut records, mut keys) = (0_u64, BTreeSet::new());
    for p in partitions {
        let pc = client
            .partition_client(topic, p, UnknownTopicHandling::Retry)
            .await?;
        let end = pc.get_offset(OffsetAt::Latest).await?;
        let mut offset = pc.get_offset(OffsetAt::Earliest).await?;
        while offset < end {
            let (batch, _) = pc.fetch_records(offset, 1..50_000_000, 1_000).await?;
            if batch.is_empty() {
                break;
            }
            for r in batch {
                offset = r.offset + 1;
                let key = String::from_utf8_lossy(r.record.key.as_deref().unwrap_or_default())
                    .into_owned();
                records += 1;
                if count {
                    keys.insert(key);
                    continue;
                }
                let value = r.record.value.unwrap_or_default();
                println!(
                    "{topic} {p} {} {key} {}",
                    r.offset,
                    String::from_utf8_lossy(&value)
                );
                if show_headers {
                    for (k, v) in &r.record.headers {
                        println!("  {k}: {}", String::from_utf8_lossy(v));
                    }
                }
            }
        }
    }
    if count {
        println!("{records} records, {} distinct keys", keys.len());
    }
    Ok(())
}
