//! Publish mode: `--publish URL` (or `publish = "…"` in a `[[route]]`) instead of an
//! upstream. A route then ends in countersign-publish's `PublishService`: verify → claim →
//! publish → the broker confirms → done → `200`; no confirmation → `503` + `Retry-After`.
//!
//! ```text
//! VerifyLayer ─▶ Tag ─▶ PublishService ─────────────────▶ RabbitMQ / NATS JetStream / Kafka
//! ```
//!
//! URLs: `amqp://user:pass@host:port/vhost?exchange=X&routing_key=webhooks.{preset}`,
//! `amqp://…/vhost?queue=NAME`, `nats://host:port?subject=webhooks.{preset}[&stream=NAME]`,
//! `kafka://host:port[,host:port]?topic=webhooks.{preset}`, or `env:NAME` naming a variable
//! that holds one. The password never reaches a log line,
//! `--check` output or an error. The route's upstream timeout bounds the wait for the
//! broker's confirmation; the dedup store, lease and retention are the proxy's.

use std::fmt;
use std::sync::Arc;

use countersign_dedup::DedupStore;
use countersign_publish::{FailureKind, LATENCY_BUCKETS, PublishService, PublishStats, Publisher};

use super::config::{RouteSpec, Settings};
use crate::error::CliError;
use crate::secrets;

/// A broker URL, checked when the configuration is read; shown without its password.
#[derive(Clone)]
pub(crate) struct PublishUrl {
    /// Secret: may hold a password.
    url: String,
    /// `Publisher::describe`: no password.
    shown: String,
}

impl PublishUrl {
    /// Reads `raw` (`env:NAME` expanded) and checks it by building a publisher (which does
    /// not connect).
    pub(crate) fn parse(raw: &str) -> Result<Self, CliError> {
        let url = secrets::expand_env(raw.trim())?;
        let publisher = countersign_publish::from_url(&url)
            .map_err(|e| CliError::Usage(format!("--publish / `publish`: {e}")))?;
        Ok(PublishUrl {
            shown: publisher.describe(),
            url,
        })
    }

    /// A new publisher for the URL (not connected yet).
    pub(crate) fn publisher(&self) -> Result<Arc<dyn Publisher>, CliError> {
        countersign_publish::from_url(&self.url)
            .map_err(|e| CliError::Usage(format!("--publish / `publish`: {e}")))
    }
}

impl fmt::Debug for PublishUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublishUrl").field(&self.shown).finish()
    }
}

impl fmt::Display for PublishUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "publish {}", self.shown)
    }
}

/// The route's terminal service and its counters.
pub(crate) fn service(
    spec: &RouteSpec,
    url: &PublishUrl,
    settings: &Settings,
    store: Arc<dyn DedupStore>,
) -> Result<(PublishService, PublishStats), CliError> {
    if !spec.dedup {
        return Err(CliError::Usage(
            "a publish route always deduplicates (the broker gets each event once): remove `dedup = false` / --no-dedup".into(),
        ));
    }
    let service = PublishService::builder_arc(url.publisher()?, spec.scheme.clone())
        .store_arc(store)
        .route(&spec.name)
        .timeout(spec.upstream_timeout)
        .lease(settings.lease)
        .retention(settings.retention)
        .build()
        .map_err(|e| CliError::Usage(format!("publish: {e}")))?;
    let stats = service.stats();
    Ok((service, stats))
}

/// Connects to every route's broker and checks its destination (the exchange exists; the
/// queue or stream exists or is created; the Kafka topic for the route's preset exists).
pub(crate) async fn check_brokers(settings: &Settings) -> Result<(), CliError> {
    for r in &settings.routes {
        let Some(url) = &r.publish else { continue };
        // The route's own destination: a topic `webhooks.{preset}` is checked for this preset.
        url.publisher()?
            .check_preset(r.scheme.name())
            .await
            .map_err(|e| CliError::Proxy {
                what: format!("route `{}`: broker check failed ({})", r.name, url.shown),
                source: Some(Box::new(e)),
            })?;
        tracing::info!(target: "countersign::proxy", route = %r.name, broker = %url.shown, "broker checked");
    }
    Ok(())
}

/// `--check`: [`check_brokers`] on a runtime of its own.
pub(crate) fn check_brokers_blocking(settings: &Settings) -> Result<(), CliError> {
    if settings.routes.iter().all(|r| r.publish.is_none()) {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Proxy {
            what: "cannot start the async runtime".into(),
            source: Some(e.into()),
        })?;
    runtime.block_on(check_brokers(settings))
}

/// The publish series of `/metrics`, for the routes that publish:
///
/// | series | type | labels |
/// |---|---|---|
/// | `countersign_published_total` | counter | `route` (confirmed by the broker) |
/// | `countersign_publish_failures_total` | counter | `route`, `reason` (`unreachable`, `unroutable`, `rejected`, `unconfirmed`, `timeout`) |
/// | `countersign_publish_confirmed_late_total` | counter | `route` (confirmed after the sender got 503) |
/// | `countersign_publish_confirm_seconds` | histogram | `route` |
///
/// | `countersign_publish_duplicates_total`, `countersign_publish_in_flight_total`, `countersign_publish_store_errors_total`, `countersign_publish_missing_event_id_total` | counter | `route` |
pub(crate) fn render_metrics<'a>(
    out: &mut String,
    routes: impl Iterator<Item = (&'a str, &'a PublishStats)> + Clone,
    family: fn(&mut String, &str, &str, &str),
    sample: fn(&mut String, &str, &[(&str, &str)], u64),
) {
    let snaps: Vec<_> = routes.map(|(name, s)| (name, s.snapshot())).collect();
    if snaps.is_empty() {
        return;
    }
    family(
        out,
        "countersign_published_total",
        "counter",
        "Deliveries the broker confirmed.",
    );
    for (name, s) in &snaps {
        sample(
            out,
            "countersign_published_total",
            &[("route", name)],
            s.published,
        );
    }
    family(
        out,
        "countersign_publish_failures_total",
        "counter",
        "Publishes the broker did not confirm, by reason.",
    );
    for (name, s) in &snaps {
        for kind in FailureKind::ALL {
            sample(
                out,
                "countersign_publish_failures_total",
                &[("route", name), ("reason", kind.as_str())],
                s.failures_of(kind),
            );
        }
    }
    type Field = fn(&countersign_publish::PublishStatsSnapshot) -> u64;
    let counters: [(&str, &str, Field); 4] = [
        (
            "countersign_publish_duplicates_total",
            "Duplicates of published events, answered 200 without publishing.",
            |s| s.duplicates,
        ),
        (
            "countersign_publish_in_flight_total",
            "Duplicates answered 409 while the first delivery was being published.",
            |s| s.in_flight,
        ),
        (
            "countersign_publish_store_errors_total",
            "Dedup store operations of publish routes that failed.",
            |s| s.store_errors,
        ),
        (
            "countersign_publish_missing_event_id_total",
            "Deliveries without an event id (400).",
            |s| s.missing_event_id,
        ),
    ];
    for (metric, help, field) in counters {
        family(out, metric, "counter", help);
        for (name, s) in &snaps {
            sample(out, metric, &[("route", name)], field(s));
        }
    }
    family(
        out,
        "countersign_publish_confirmed_late_total",
        "counter",
        "Confirmations that arrived after the sender was answered 503 (recorded done).",
    );
    for (name, s) in &snaps {
        sample(
            out,
            "countersign_publish_confirmed_late_total",
            &[("route", name)],
            s.confirmed_late,
        );
    }
    let hist = "countersign_publish_confirm_seconds";
    family(
        out,
        hist,
        "histogram",
        "Time from publish to the broker's confirmation.",
    );
    for (name, s) in &snaps {
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&s.latency_buckets) {
            let le = format!("{bound}");
            sample(
                out,
                &format!("{hist}_bucket"),
                &[("route", name), ("le", &le)],
                *count,
            );
        }
        let total = s.latency_buckets.last().copied().unwrap_or(0);
        sample(
            out,
            &format!("{hist}_bucket"),
            &[("route", name), ("le", "+Inf")],
            total,
        );
        out.push_str(&format!(
            "{hist}_sum{{route=\"{name}\"}} {}\n",
            s.latency_sum_seconds
        ));
        sample(out, &format!("{hist}_count"), &[("route", name)], total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_never_shown_with_their_password() {
        let u = PublishUrl::parse(
            "amqp://guest:hunter2@127.0.0.1:5672/%2f?exchange=x&routing_key=w.{preset}",
        )
        .unwrap();
        assert!(!format!("{u:?} {u}").contains("hunter2"));
        for bad in [
            "http://127.0.0.1/",
            "amqp://guest:hunter2@127.0.0.1:5672/%2f",
            "amqp://guest:hunter2@127.0.0.1:5672/%2f?exchange=x&routing_key={secret}",
            "nats://127.0.0.1:4222",
            "kafka://guest:hunter2@127.0.0.1:9092?topic=t",
            "kafka://127.0.0.1:9092",
            "redis://127.0.0.1:6379/",
        ] {
            let e = PublishUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
