//! `--publish kafka://…`: the proxy hands verified deliveries to a real Kafka-protocol broker
//! (a `tansu` the test starts on a free port, memory storage) and answers 200 only after the
//! broker acknowledged the produce request (acks=all); 503 + Retry-After while it is away.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use countersign_testkit::{TansuServer, unique_name};
use http::StatusCode;
use rskafka::client::ClientBuilder;
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

use super::harness::{Proxy, SECRET, delivery, get, post, unique_id};

/// One record read back: key, partition, headers, value.
#[derive(Debug)]
struct Rec {
    key: String,
    partition: i32,
    headers: BTreeMap<String, String>,
    value: Vec<u8>,
}

/// Every record of `topic`, every partition.
async fn records(addr: &str, topic: &str) -> Vec<Rec> {
    let client = ClientBuilder::new(vec![addr.to_owned()])
        .build()
        .await
        .unwrap();
    let Some(t) = client
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == topic)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in t.partitions {
        let pc = client
            .partition_client(topic, p, UnknownTopicHandling::Retry)
            .await
            .unwrap();
        let end = pc.get_offset(OffsetAt::Latest).await.unwrap();
        let mut offset = pc.get_offset(OffsetAt::Earliest).await.unwrap();
        while offset < end {
            let (batch, _) = pc
                .fetch_records(offset, 1..50_000_000, 1_000)
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            for r in batch {
                offset = r.offset + 1;
                out.push(Rec {
                    key: String::from_utf8_lossy(r.record.key.as_deref().unwrap_or_default())
                        .into_owned(),
                    partition: p,
                    headers: r
                        .record
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                        .collect(),
                    value: r.record.value.unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// A tansu, a topic `<name>.standard-webhooks` (3 partitions) and a proxy publishing to
/// `<name>.{preset}`.
fn setup(test: &str, extra: &[&str]) -> (TansuServer, String, Proxy) {
    let tansu = TansuServer::start();
    let base = unique_name(test);
    let topic = format!("{base}.standard-webhooks");
    tansu.create_topic(&topic, 3);
    let url = tansu.kafka_url(&format!("{base}.{{preset}}"));
    let mut args = vec![
        "--preset",
        "standard-webhooks",
        "--secret",
        SECRET,
        "--publish",
        &url,
        "--upstream-timeout",
        "3s",
    ];
    args.extend_from_slice(extra);
    let proxy = Proxy::start(&args);
    (tansu, topic, proxy)
}

/// Valid JSON (the preset reads the event type from it) with escapes and raw UTF-8 bytes.
const BODY: &[u8] = b"{\"type\":\"invoice.paid\",\"raw\":\"\\u00e9\",\"utf8\":\"\xc3\xa9\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_one_record_with_its_exact_bytes_key_and_headers_and_tampered_is_401() {
    let (tansu, topic, proxy) = setup("kafka_exact", &[]);
    let id = unique_id("kafka");
    let headers = delivery(&id, BODY);

    let mut tampered = BODY.to_vec();
    tampered[3] ^= 1;
    let forged = post(&proxy.url("/hook"), &headers, &tampered).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(
        records(&tansu.addr(), &topic).await.is_empty(),
        "nothing produced for a forged delivery"
    );

    let first = post(&proxy.url("/hook"), &headers, BODY).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}\n{}", proxy.logs());
    let dup = post(&proxy.url("/hook"), &headers, BODY).await;
    assert_eq!(dup.status, StatusCode::OK);
    assert_eq!(dup.headers["countersign-duplicate"], "true");

    let got = records(&tansu.addr(), &topic).await;
    assert_eq!(got.len(), 1, "one record: {got:?}");
    let r = &got[0];
    assert_eq!(r.value, BODY, "exact bytes");
    assert_eq!(r.key, id, "key = event id");
    assert_eq!(r.headers["Countersign-Event-Id"], id);
    assert_eq!(r.headers["Countersign-Preset"], "standard-webhooks");
    assert_eq!(r.headers["Countersign-Route"], "standard-webhooks");
    assert_eq!(r.headers["Countersign-Event-Type"], "invoice.paid");
    assert!(r.headers.contains_key("Countersign-Received-At"));
    assert!(r.headers.contains_key("Content-Type"));

    let metrics = get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains("countersign_published_total{route=\"standard-webhooks\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_duplicates_make_one_record() {
    let (tansu, topic, proxy) = setup("kafka_dups", &[]);
    let id = unique_id("kafka_dup");
    let headers = delivery(&id, BODY);
    let url = proxy.url("/hook");
    let answers = futures_util::future::join_all((0..64).map(|_| {
        let (url, headers) = (url.clone(), headers.clone());
        async move { post(&url, &headers, BODY).await.status }
    }))
    .await;
    // 200 (published or duplicate) or 409 (the first is still in flight): never 5xx.
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{answers:?}"
    );
    assert!(answers.contains(&StatusCode::OK));
    let got = records(&tansu.addr(), &topic).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].key, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_distinct_events_make_five_hundred_records() {
    let (tansu, topic, proxy) = setup("kafka_500", &[]);
    let url = proxy.url("/hook");
    let ids: Vec<String> = (0..500).map(|i| unique_id(&format!("k500_{i}"))).collect();
    // 50 at a time: concurrent publishes share produce requests.
    for chunk in ids.chunks(50) {
        let answers = futures_util::future::join_all(chunk.iter().map(|id| {
            let url = url.clone();
            let headers = delivery(id, BODY);
            async move { post(&url, &headers, BODY).await.status }
        }))
        .await;
        assert!(
            answers.iter().all(|s| *s == StatusCode::OK),
            "{answers:?}\n{}",
            proxy.logs()
        );
    }
    let got = records(&tansu.addr(), &topic).await;
    assert_eq!(got.len(), 500);
    let mut keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 500, "no duplicates");
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(keys, want);
    let mut partitions: Vec<i32> = got.iter().map(|r| r.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    assert_eq!(partitions, [0, 1, 2], "keys spread by the partitioner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_stopped_mid_run_is_503_and_the_retry_after_restart_is_produced_once() {
    let (mut tansu, topic, proxy) = setup("kafka_down", &[]);
    let url = proxy.url("/hook");
    let before = unique_id("kafka_before");
    let ok = post(&url, &delivery(&before, BODY), BODY).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}\n{}", proxy.logs());

    tansu.kill();
    let id = unique_id("kafka_down");
    let headers = delivery(&id, BODY);
    for _ in 0..3 {
        let started = Instant::now();
        let down = post(&url, &headers, BODY).await;
        assert_eq!(
            down.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{down:?}\n{}",
            proxy.logs()
        );
        assert!(down.headers.contains_key("retry-after"), "{down:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }

    // Back (empty: memory storage), the topic created again; the sender retries.
    tansu.restart();
    tansu.create_topic(&topic, 3);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = post(&url, &headers, BODY).await;
    while last.status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = post(&url, &headers, BODY).await;
    }
    assert_eq!(
        last.status,
        StatusCode::OK,
        "the retry lands after the restart: {last:?}\n{}",
        proxy.logs()
    );
    // And a later retry of the same event is a duplicate, not a second record.
    let again = post(&url, &headers, BODY).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["countersign-duplicate"], "true");
    let got = records(&tansu.addr(), &topic).await;
    let keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, [id.as_str()], "produced once");

    let metrics = get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains("countersign_published_total{route=\"standard-webhooks\"} 2"),
        "{metrics}"
    );
}

#[test]
fn check_says_whether_the_topic_exists_and_how_to_create_it() {
    let tansu = TansuServer::start();
    let base = unique_name("kafka_check");
    let check = |preset: &str| {
        Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args(["proxy", "--check", "--preset", preset, "--secret", "s"])
            .args(["--publish", &tansu.kafka_url(&format!("{base}.{{preset}}"))])
            .output()
            .unwrap()
    };
    let out = check("github");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let topic = format!("{base}.github");
    assert!(
        stderr.contains(&format!(
            "tansu topic create {topic} --broker tcp://127.0.0.1:"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("kafka-topics.sh"), "{stderr}");

    tansu.create_topic(&topic, 1);
    let out = check("github");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains(&format!("publish kafka://{}", tansu.addr())),
        "{stdout}"
    );

    for bad in [
        "kafka://127.0.0.1:9092",
        "kafka://u:hunter2@127.0.0.1:9092?topic=a",
        "kafka://127.0.0.1:9092?topic=a/b",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args(["proxy", "--check", "--preset", "github", "--secret", "s"])
            .args(["--publish", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// The README's Kafka commands, run as written — the built binary and tansu first on `PATH`,
/// free ports for tansu and the proxy.
#[test]
fn the_readme_kafka_demo_works_as_written() {
    use super::readme::{DemoOutput, block, free_port, path_with_binary, run_demo};

    let script = block("kafka-demo");
    assert!(script.contains("--publish 'kafka://") && script.contains("countersign send"));
    let (kafka, proxy) = (free_port(), free_port());
    let script = script
        .replace("9092", &kafka.to_string())
        .replace("8083", &proxy.to_string());
    let tansu = std::path::PathBuf::from(countersign_testkit::tansu_bin());
    let path = match tansu.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => format!("{}:{}", path_with_binary(), dir.display()),
        None => path_with_binary(),
    };
    let DemoOutput { stdout, all } = run_demo(
        "the README Kafka demo",
        &script,
        path,
        Duration::from_secs(90),
    );
    let statuses: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK"; 2], "{all}");
    assert_eq!(stdout.matches("published\n").count(), 1, "{all}");
    assert!(stdout.contains("duplicate\n"), "{all}");
    assert!(
        stdout.contains(r#"[{"key":null,"value":{"id":"evt_1","type":"invoice.paid"}}]"#),
        "{all}"
    );
}

/// A frozen broker (SIGSTOP) has the produce request in its socket: the sender gets 503 at
/// the publish timeout, but the claim is kept (a retry meanwhile is 409, never a second
/// produce); once the broker wakes up and acknowledges, the event is done and the retry is
/// a duplicate — one record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_broker_is_503_without_a_second_record_after_it_wakes_up() {
    let (tansu, topic, proxy) = setup("kafka_frozen", &[]);
    let url = proxy.url("/hook");
    let warm = post(&url, &delivery(&unique_id("kafka_warm"), BODY), BODY).await;
    assert_eq!(warm.status, StatusCode::OK, "{warm:?}\n{}", proxy.logs());

    tansu.pause();
    let id = unique_id("kafka_frozen");
    let headers = delivery(&id, BODY);
    let started = Instant::now();
    let frozen = post(&url, &headers, BODY).await;
    assert_eq!(frozen.status, StatusCode::SERVICE_UNAVAILABLE, "{frozen:?}");
    assert!(frozen.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "bounded by --upstream-timeout 3s: {:?}",
        started.elapsed()
    );
    let meanwhile = post(&url, &headers, BODY).await;
    assert_eq!(
        meanwhile.status,
        StatusCode::CONFLICT,
        "the record may still land: the claim is kept, no second produce"
    );

    tansu.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = post(&url, &headers, BODY).await;
    while last.status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = post(&url, &headers, BODY).await;
    }
    assert_eq!(last.status, StatusCode::OK, "{last:?}\n{}", proxy.logs());
    assert_eq!(
        last.headers["countersign-duplicate"], "true",
        "the late acknowledgement was recorded"
    );
    let got = records(&tansu.addr(), &topic).await;
    assert_eq!(
        got.iter().filter(|r| r.key == id).count(),
        1,
        "one record: {got:?}"
    );
    let metrics = get(&proxy.url("/metrics")).await.text();
    assert!(
        metrics.contains("countersign_publish_confirmed_late_total{route=\"standard-webhooks\"} 1"),
        "{metrics}"
    );
}
