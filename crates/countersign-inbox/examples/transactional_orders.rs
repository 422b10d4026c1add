//! The transactional inbox: a Stripe event pays an order **exactly once**, even when the
//! receiver crashes in the middle of the handler.
//!
//! ```text
//! cargo run -p countersign-inbox --features postgres --example transactional_orders
//! ```
//!
//! Needs a PostgreSQL server: `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). It creates two schemas of its own
//! (`orders_demo_<pid>`, `inbox_demo_<pid>`) and drops them at the end.
//!
//! 1. A signed `payment_intent.succeeded` delivery is verified and stored (`200` at once).
//! 2. A worker process runs the handler: `UPDATE orders SET status = 'paid'` in the
//!    transaction that will mark the event done — and the process aborts right after the
//!    update, before the done mark. The transaction dies with it: the order is still open.
//! 3. Another worker gets the event again once the crashed worker's lease has ended, runs the
//!    handler, and the update and the done mark commit together.
//! 4. Stripe retries the delivery: `200` duplicate, nothing runs. The order was paid once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use countersign_inbox::tokio_postgres::{self, NoTls, Transaction};
use countersign_inbox::{Accept, Delivery, Failure, Inbox, PostgresInbox, State, TxFuture, Worker};
use countersign_tower::{Preset, SignRequest, Signer, VerifyLayer};
use http::Request;
use http_body_util::Full;
use tower::{Layer, ServiceExt};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LEASE: Duration = Duration::from_secs(2);

/// Pays the order named in the event's metadata, in the inbox's transaction. With
/// `crash`, the process aborts after the update — before the done mark could commit.
fn pay<'t>(d: Delivery, tx: &'t Transaction<'t>, schema: &'t str, crash: bool) -> TxFuture<'t> {
    Box::pin(async move {
        let event: serde_json::Value = d.json()?;
        let order = event["data"]["object"]["metadata"]["order"]
            .as_str()
            .ok_or_else(|| Failure::dead("no order in the event"))?
            .to_owned();
        let n = tx
            .execute(
                &format!(
                    "UPDATE {schema}.orders SET status = 'paid', payments = payments + 1, paid_by = $2
                     WHERE id = $1"
                ),
                &[&order, &d.id()],
            )
            .await?;
        println!(
            "  handler: attempt {} updated order {order} ({n} row)",
            d.attempt()
        );
        if crash {
            println!("  handler: crashing before the done mark (process abort)");
            std::process::abort();
        }
        Ok(())
    })
}

fn worker(
    inbox: &Arc<PostgresInbox>,
    schema: String,
    crash: bool,
) -> Result<Worker, countersign_inbox::InboxConfigError> {
    let schema: &'static str = Box::leak(schema.into_boxed_str());
    let handler = inbox.transactional(move |d, tx| pay(d, tx, schema, crash));
    Worker::builder(inbox.clone(), handler)
        .lease(LEASE)
        .poll_interval(Duration::from_millis(50))
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, schema] = &args[..]
        && flag == "--crash-mid-handler"
    {
        // The worker process of step 2.
        let inbox = Arc::new(
            PostgresInbox::builder(&url)
                .schema(format!("inbox_{schema}"))
                .open()
                .await?,
        );
        worker(&inbox, schema.clone(), true)?
            .run(std::future::pending())
            .await;
        return Ok(());
    }

    let demo = format!("demo_{}", std::process::id());
    let orders = format!("orders_{demo}");
    let (db, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    db.batch_execute(&format!(
        "CREATE SCHEMA {orders};
         CREATE TABLE {orders}.orders (id text PRIMARY KEY, status text NOT NULL,
                                       payments integer NOT NULL DEFAULT 0, paid_by text);
         INSERT INTO {orders}.orders (id, status) VALUES ('ord_42', 'open');"
    ))
    .await?;
    let result = run(&url, &db, &demo, &orders).await;
    db.batch_execute(&format!(
        "DROP SCHEMA {orders} CASCADE; DROP SCHEMA IF EXISTS inbox_{orders} CASCADE;"
    ))
    .await?;
    result
}

async fn run(
    url: &str,
    db: &tokio_postgres::Client,
    demo: &str,
    orders: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let order = async || -> Result<String, tokio_postgres::Error> {
        let row = db
            .query_one(
                &format!("SELECT status, payments FROM {orders}.orders WHERE id = 'ord_42'"),
                &[],
            )
            .await?;
        Ok(format!(
            "status {}, payments {}",
            row.get::<_, String>(0),
            row.get::<_, i32>(1)
        ))
    };
    let inbox = Arc::new(
        PostgresInbox::builder(url)
            .schema(format!("inbox_{orders}"))
            .open()
            .await?,
    );
    println!("inbox: {}", inbox.describe());

    // 1. Stripe delivers: verified, stored, answered.
    let app = VerifyLayer::new(Preset::Stripe, SECRET)?
        .layer(Accept::builder(inbox.clone(), Preset::Stripe).build()?);
    let body = format!(
        r#"{{"id":"evt_{demo}","type":"payment_intent.succeeded","data":{{"object":{{"metadata":{{"order":"ord_42"}}}}}}}}"#
    );
    let deliver = async || -> Result<http::Response<_>, Box<dyn std::error::Error>> {
        let mut req =
            Request::post("/webhooks/stripe").body(Full::new(Bytes::from(body.clone())))?;
        *req.headers_mut() =
            Signer::new(Preset::Stripe, SECRET)?.sign(&SignRequest::new(body.as_bytes()))?;
        Ok(app.clone().oneshot(req).await?)
    };
    let res = deliver().await?;
    println!(
        "1. Stripe delivery answered {} (stored); order: {}",
        res.status(),
        order().await?
    );

    // 2. A worker process pays the order and crashes before the done mark.
    println!("2. worker process with a handler that crashes after its update:");
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["--crash-mid-handler", orders])
        .env("DATABASE_URL", url)
        .status()?;
    let key = countersign_inbox::EventKey::new("stripe", format!("evt_{demo}"));
    let held = inbox.show(&key).await?.ok_or("event missing")?;
    println!(
        "   worker died ({status}); event {} (attempt {}), order: {}",
        held.state(),
        held.attempts(),
        order().await?
    );
    assert_eq!(
        order().await?,
        "status open, payments 0",
        "the crashed update was rolled back"
    );

    // 3. Another worker gets it again after the lease, and commits update + done together.
    println!("3. another worker, once the {LEASE:?} lease has ended:");
    let w = worker(&inbox, orders.to_owned(), false)?;
    let stats = w.stats();
    w.run(async {
        while stats.snapshot().done == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let done = inbox.show(&key).await?.ok_or("event missing")?;
    assert_eq!(done.state(), State::Done);
    println!(
        "   event {} after {} attempts; order: {}",
        done.state(),
        done.attempts(),
        order().await?
    );

    // 4. Stripe retries the delivery: a duplicate, nothing runs.
    let res = deliver().await?;
    println!(
        "4. Stripe retry answered {} (duplicate: {}); order: {}",
        res.status(),
        res.headers().contains_key("countersign-duplicate"),
        order().await?
    );
    assert_eq!(
        order().await?,
        "status paid, payments 1",
        "paid exactly once"
    );
    println!("paid exactly once.");
    Ok(())
}
