//! Counters and a latency histogram over atomics, rendered as Prometheus text (exposition
//! format 0.0.4) at `GET /metrics`. Hand-rolled: a dozen series do not need a metrics crate
//! and its dependencies.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `countersign_verified_total` | counter | `route` |
//! | `countersign_rejected_total` | counter | `route`, `reason` (error kind, `body_read`, `body_budget`, `body_timeout`) |
//! | `countersign_forwarded_total` | counter | `route`, `result` (`2xx`…`5xx`, `error`, `timeout`, `cancelled`) |
//! | `countersign_events_total` | counter | `route`, `event_type` (forwarded deliveries; the first 32 distinct types of a route, later ones `other`, none `none`) |
//! | `countersign_handshakes_total` | counter | `route` |
//! | `countersign_secret_matches_total` | counter | `route`, `secret` (the label of the secret that verified a delivery; `unlabelled` without one — bounded by the route's secrets, at most 16) |
//! | `countersign_key_reloads_total`, `countersign_key_refresh_failures_total` | counter | `route` — routes whose keys change (`secret_file`, `keys_url`): new keys taken into use; refreshes that failed (the last good keys stay) |
//! | `countersign_duplicates_total` | counter | `route` (processed already: 200, not forwarded) |
//! | `countersign_in_flight_conflicts_total` | counter | `route` (409) |
//! | `countersign_store_errors_total` | counter | `route` |
//! | `countersign_dedup_{claimed,completed,released,lease_lost,unreleased,missing_event_id}_total` | counter | `route` |
//! | `countersign_published_total`, `countersign_publish_failures_total` (`reason`), `countersign_publish_confirmed_late_total`, `countersign_publish_confirm_seconds` (histogram) | | `route` — publish routes, see [`super::publish`] |
//! | `countersign_request_duration_seconds` | histogram | `route` |
//! | `countersign_unrouted_total` | counter | — (404) |
//! | `countersign_connections_open`, `countersign_requests_in_flight` | gauge | — |
//! | `countersign_connections_total` | counter | — |

use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use countersign_dedup::DedupStats;
use countersign_publish::PublishStats;
use countersign_tower::keys::RotatingVerifier;

use super::forward::Upstreamed;

/// Rejection reasons with a series of their own (others count as `other`).
const REASONS: [&str; 15] = [
    "missing_header",
    "malformed_header",
    "malformed_timestamp",
    "no_supported_signature",
    "signature_mismatch",
    "timestamp_too_old",
    "timestamp_too_new",
    "body_too_large",
    "malformed_body",
    "missing_url",
    "secret_expired",
    "body_read",
    "body_budget",
    "body_timeout",
    "other",
];

/// Why a request was refused before any route work.
const REFUSED: [&str; 4] = ["draining", "bad_path", "bad_host", "method"];

const RESULTS: [&str; 7] = ["2xx", "3xx", "4xx", "5xx", "error", "timeout", "cancelled"];

/// Distinct event types counted per route; later ones count as `other`. Bounds the series
/// a sender can create (header-borne event types are not signed by most providers).
pub(crate) const MAX_EVENT_TYPES: usize = 32;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// All of the proxy's counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    routes: Vec<RouteMetrics>,
    unrouted: AtomicU64,
    refused: [AtomicU64; REFUSED.len()],
    connections_open: AtomicI64,
    connections_total: AtomicU64,
    requests_in_flight: AtomicI64,
}

/// One route's counters.
#[derive(Debug)]
pub(crate) struct RouteMetrics {
    name: String,
    dedup: Option<DedupStats>,
    publish: Option<PublishStats>,
    verified: AtomicU64,
    handshakes: AtomicU64,
    rejected: [AtomicU64; REASONS.len()],
    forwarded: [AtomicU64; RESULTS.len()],
    /// `(event type, count)`, first seen first; `none` and `other` are kept apart.
    event_types: RwLock<Vec<(Box<str>, AtomicU64)>>,
    events_without_type: AtomicU64,
    events_other_type: AtomicU64,
    /// `(secret label, matches)`, the route's labels in configuration order.
    secret_labels: Vec<(Box<str>, AtomicU64)>,
    unlabelled_matches: AtomicU64,
    /// The route's rotating verifier (secret files, a key set), for its counters.
    rotating: Option<RotatingVerifier>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl RouteMetrics {
    /// Counters for route `name`; `dedup` are its dedup layer's stats, when it has one.
    pub(crate) fn new(name: &str, dedup: Option<DedupStats>) -> Self {
        RouteMetrics {
            name: name.to_owned(),
            dedup,
            publish: None,
            verified: AtomicU64::new(0),
            handshakes: AtomicU64::new(0),
            rejected: Default::default(),
            forwarded: Default::default(),
            event_types: RwLock::new(Vec::new()),
            events_without_type: AtomicU64::new(0),
            events_other_type: AtomicU64::new(0),
            secret_labels: Vec::new(),
            unlabelled_matches: AtomicU64::new(0),
            rotating: None,
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Reports the reloads and failed refreshes of the route's rotating verifier.
    pub(crate) fn with_rotating_keys(mut self, rotating: Option<RotatingVerifier>) -> Self {
        self.rotating = rotating;
        self
    }

    /// The counters of a publish route's service (see [`super::publish::render_metrics`]).
    pub(crate) fn with_publish(mut self, publish: Option<PublishStats>) -> Self {
        self.publish = publish;
        self
    }

    /// Counts matches for these secret labels (the route's, known at start: bounded).
    pub(crate) fn with_secret_labels<'a>(
        mut self,
        labels: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        for label in labels {
            if !self.secret_labels.iter().any(|(l, _)| &**l == label) {
                self.secret_labels.push((label.into(), AtomicU64::new(0)));
            }
        }
        self
    }

    /// A delivery verified by the secret labelled `label` (`None`: an unlabelled one).
    pub(crate) fn secret_matched(&self, label: Option<&str>) {
        let counter = label
            .and_then(|l| self.secret_labels.iter().find(|(name, _)| &**name == l))
            .map_or(&self.unlabelled_matches, |(_, c)| c);
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivery that verified.
    pub(crate) fn verified(&self) {
        self.verified.fetch_add(1, Ordering::Relaxed);
    }

    /// A handshake answered by the proxy.
    pub(crate) fn handshake(&self) {
        self.handshakes.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivery rejected for `reason`.
    pub(crate) fn rejected(&self, reason: &str) {
        let i = REASONS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(REASONS.len() - 1);
        if let Some(c) = self.rejected.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What the upstream did with a forwarded delivery.
    pub(crate) fn forwarded(&self, what: Upstreamed) {
        let label = what.label();
        if let Some(c) = RESULTS
            .iter()
            .position(|r| *r == label)
            .and_then(|i| self.forwarded.get(i))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A forwarded delivery of this event type (`None`: it has none). The type is already
    /// bounded in length and character set by the core.
    pub(crate) fn event(&self, event_type: Option<&str>) {
        let Some(t) = event_type else {
            self.events_without_type.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let bump = |list: &[(Box<str>, AtomicU64)]| {
            list.iter()
                .find(|(name, _)| &**name == t)
                .map(|(_, c)| c.fetch_add(1, Ordering::Relaxed))
                .is_some()
        };
        // A poisoned lock only means a panic elsewhere mid-push; the list is still sound.
        if bump(&self.event_types.read().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        let mut list = self.event_types.write().unwrap_or_else(|e| e.into_inner());
        if bump(&list) {
            return;
        }
        if list.len() < MAX_EVENT_TYPES && t != "none" && t != "other" {
            list.push((t.into(), AtomicU64::new(1)));
        } else {
            self.events_other_type.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One request's time in the proxy (head read → response ready).
    pub(crate) fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b)
            && let Some(c) = self.buckets.get(i)
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Claims whose outcome is not written yet (0 without dedup): forwards still running,
    /// completions and releases on their way. Failed releases are not pending.
    pub(crate) fn claims_pending(&self) -> u64 {
        self.dedup.as_ref().map_or(0, |d| d.snapshot().pending())
    }
}

impl Metrics {
    /// Metrics for these routes (in route order).
    pub(crate) fn new(routes: Vec<RouteMetrics>) -> Self {
        Metrics {
            routes,
            unrouted: AtomicU64::new(0),
            refused: Default::default(),
            connections_open: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
            requests_in_flight: AtomicI64::new(0),
        }
    }

    /// Route `index`'s counters.
    pub(crate) fn route(&self, index: usize) -> Option<&RouteMetrics> {
        self.routes.get(index)
    }

    /// A request that matched no route.
    pub(crate) fn unrouted(&self) {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
    }

    /// A request refused before any route work: `draining`, `bad_path`, `bad_host` or `method`.
    pub(crate) fn refused(&self, reason: &str) {
        if let Some(c) = REFUSED
            .iter()
            .position(|r| *r == reason)
            .and_then(|i| self.refused.get(i))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A connection was accepted (`+1`) or closed (`-1`).
    pub(crate) fn connection(&self, delta: i64) {
        if delta > 0 {
            self.connections_total.fetch_add(1, Ordering::Relaxed);
        }
        self.connections_open.fetch_add(delta, Ordering::Relaxed);
    }

    /// A request started (`+1`) or was answered or dropped (`-1`).
    pub(crate) fn request(&self, delta: i64) {
        self.requests_in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Requests being handled now.
    pub(crate) fn requests_in_flight(&self) -> i64 {
        self.requests_in_flight.load(Ordering::Relaxed)
    }

    /// Claims taken but neither completed nor released, over all routes.
    pub(crate) fn claims_pending(&self) -> u64 {
        self.routes.iter().map(RouteMetrics::claims_pending).sum()
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);

        family(
            &mut out,
            "countersign_verified_total",
            "counter",
            "Deliveries whose signature verified.",
        );
        for r in &self.routes {
            sample(
                &mut out,
                "countersign_verified_total",
                &[("route", &r.name)],
                get(&r.verified),
            );
        }
        family(
            &mut out,
            "countersign_rejected_total",
            "counter",
            "Deliveries rejected before forwarding, by reason.",
        );
        for r in &self.routes {
            for (reason, c) in REASONS.iter().zip(&r.rejected) {
                sample(
                    &mut out,
                    "countersign_rejected_total",
                    &[("route", &r.name), ("reason", reason)],
                    get(c),
                );
            }
        }
        family(
            &mut out,
            "countersign_forwarded_total",
            "counter",
            "Deliveries forwarded upstream, by result.",
        );
        for r in &self.routes {
            for (result, c) in RESULTS.iter().zip(&r.forwarded) {
                sample(
                    &mut out,
                    "countersign_forwarded_total",
                    &[("route", &r.name), ("result", result)],
                    get(c),
                );
            }
        }
        family(
            &mut out,
            "countersign_events_total",
            "counter",
            "Deliveries forwarded upstream, by event type (bounded: later types count as other).",
        );
        for r in &self.routes {
            let name = "countersign_events_total";
            let list = r.event_types.read().unwrap_or_else(|e| e.into_inner());
            for (t, c) in list.iter() {
                sample(
                    &mut out,
                    name,
                    &[("route", &r.name), ("event_type", t)],
                    get(c),
                );
            }
            for (t, c) in [
                ("none", &r.events_without_type),
                ("other", &r.events_other_type),
            ] {
                sample(
                    &mut out,
                    name,
                    &[("route", &r.name), ("event_type", t)],
                    get(c),
                );
            }
        }
        family(
            &mut out,
            "countersign_secret_matches_total",
            "counter",
            "Verified deliveries by the label of the secret that matched (unlabelled: none).",
        );
        for r in &self.routes {
            for (label, c) in &r.secret_labels {
                sample(
                    &mut out,
                    "countersign_secret_matches_total",
                    &[("route", &r.name), ("secret", label)],
                    get(c),
                );
            }
            sample(
                &mut out,
                "countersign_secret_matches_total",
                &[("route", &r.name), ("secret", "unlabelled")],
                get(&r.unlabelled_matches),
            );
        }
        for (name, help, value) in [
            (
                "countersign_key_reloads_total",
                "Times a route's changed keys (secret files, key set) were taken into use.",
                RotatingVerifier::reloads as fn(&RotatingVerifier) -> u64,
            ),
            (
                "countersign_key_refresh_failures_total",
                "Key refreshes that failed; the last good keys stayed in use.",
                RotatingVerifier::failed_refreshes,
            ),
        ] {
            family(&mut out, name, "counter", help);
            for r in &self.routes {
                if let Some(rotating) = &r.rotating {
                    sample(&mut out, name, &[("route", &r.name)], value(rotating));
                }
            }
        }
        family(
            &mut out,
            "countersign_handshakes_total",
            "counter",
            "Handshakes answered by the proxy.",
        );
        for r in &self.routes {
            sample(
                &mut out,
                "countersign_handshakes_total",
                &[("route", &r.name)],
                get(&r.handshakes),
            );
        }

        type Field = fn(&countersign_dedup::StatsSnapshot) -> u64;
        let dedup: [(&str, &str, Field); 9] = [
            (
                "countersign_duplicates_total",
                "Duplicates of processed events, answered 200 without forwarding.",
                |s| s.duplicates,
            ),
            (
                "countersign_in_flight_conflicts_total",
                "Duplicates answered 409 while the first delivery was in flight.",
                |s| s.in_flight,
            ),
            (
                "countersign_store_errors_total",
                "Dedup store operations that failed.",
                |s| s.store_errors,
            ),
            (
                "countersign_dedup_claimed_total",
                "Claims won (the delivery was forwarded under a claim).",
                |s| s.claimed,
            ),
            (
                "countersign_dedup_completed_total",
                "Upstream successes recorded as done.",
                |s| s.completed,
            ),
            (
                "countersign_dedup_released_total",
                "Claims released after a failure, timeout or abort.",
                |s| s.released,
            ),
            (
                "countersign_dedup_lease_lost_total",
                "Claims that outlived their lease.",
                |s| s.lease_lost,
            ),
            (
                "countersign_dedup_unreleased_total",
                "Claims whose release failed (store down): they expire with their lease.",
                |s| s.unreleased,
            ),
            (
                "countersign_dedup_missing_event_id_total",
                "Deliveries without an event id (400).",
                |s| s.missing_event_id,
            ),
        ];
        for (name, help, field) in dedup {
            family(&mut out, name, "counter", help);
            for r in &self.routes {
                if let Some(stats) = &r.dedup {
                    sample(
                        &mut out,
                        name,
                        &[("route", &r.name)],
                        field(&stats.snapshot()),
                    );
                }
            }
        }

        super::publish::render_metrics(
            &mut out,
            self.routes
                .iter()
                .filter_map(|r| r.publish.as_ref().map(|p| (r.name.as_str(), p))),
            family,
            sample,
        );

        let name = "countersign_request_duration_seconds";
        family(
            &mut out,
            name,
            "histogram",
            "Time from the request head to the response, per route.",
        );
        for r in &self.routes {
            let mut cumulative = 0u64;
            for (bound, c) in BUCKETS.iter().zip(&r.buckets) {
                cumulative = cumulative.saturating_add(get(c));
                let le = format!("{bound}");
                sample(
                    &mut out,
                    &format!("{name}_bucket"),
                    &[("route", &r.name), ("le", &le)],
                    cumulative,
                );
            }
            let count = get(&r.count);
            sample(
                &mut out,
                &format!("{name}_bucket"),
                &[("route", &r.name), ("le", "+Inf")],
                count,
            );
            let _ = writeln!(
                out,
                "{name}_sum{{route=\"{}\"}} {}",
                escape(&r.name),
                Duration::from_micros(get(&r.sum_micros)).as_secs_f64()
            );
            sample(
                &mut out,
                &format!("{name}_count"),
                &[("route", &r.name)],
                count,
            );
        }

        family(
            &mut out,
            "countersign_unrouted_total",
            "counter",
            "Requests that matched no route (404).",
        );
        sample(
            &mut out,
            "countersign_unrouted_total",
            &[],
            get(&self.unrouted),
        );
        family(
            &mut out,
            "countersign_refused_total",
            "counter",
            "Requests refused before verification: draining (503), bad_path (400), bad_host (400), method (405).",
        );
        for (reason, c) in REFUSED.iter().zip(&self.refused) {
            sample(
                &mut out,
                "countersign_refused_total",
                &[("reason", reason)],
                get(c),
            );
        }
        family(
            &mut out,
            "countersign_connections_total",
            "counter",
            "Connections accepted.",
        );
        sample(
            &mut out,
            "countersign_connections_total",
            &[],
            get(&self.connections_total),
        );
        for (name, help, value) in [
            (
                "countersign_connections_open",
                "Connections open now.",
                &self.connections_open,
            ),
            (
                "countersign_requests_in_flight",
                "Requests being handled now.",
                &self.requests_in_flight,
            ),
        ] {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn renders_every_family_with_route_labels() {
        let stats = DedupStats::default();
        let m = Metrics::new(vec![
            RouteMetrics::new("stripe", Some(stats)),
            RouteMetrics::new("zoom", None),
        ]);
        let r = m.route(0).unwrap();
        r.verified();
        r.rejected("signature_mismatch");
        r.rejected("something_new");
        r.forwarded(Upstreamed::Answered(StatusCode::OK));
        r.forwarded(Upstreamed::TimedOut);
        r.observe(Duration::from_micros(1500));
        r.observe(Duration::from_secs(60));
        m.unrouted();
        m.refused("method");
        m.connection(1);
        let text = m.render();
        for line in [
            "countersign_verified_total{route=\"stripe\"} 1",
            "countersign_verified_total{route=\"zoom\"} 0",
            "countersign_rejected_total{route=\"stripe\",reason=\"signature_mismatch\"} 1",
            "countersign_rejected_total{route=\"stripe\",reason=\"other\"} 1",
            "countersign_forwarded_total{route=\"stripe\",result=\"2xx\"} 1",
            "countersign_forwarded_total{route=\"stripe\",result=\"timeout\"} 1",
            "countersign_duplicates_total{route=\"stripe\"} 0",
            "countersign_request_duration_seconds_bucket{route=\"stripe\",le=\"0.001\"} 0",
            "countersign_request_duration_seconds_bucket{route=\"stripe\",le=\"0.0025\"} 1",
            "countersign_request_duration_seconds_bucket{route=\"stripe\",le=\"10\"} 1",
            "countersign_request_duration_seconds_bucket{route=\"stripe\",le=\"+Inf\"} 2",
            "countersign_request_duration_seconds_sum{route=\"stripe\"} 60.0015",
            "countersign_request_duration_seconds_count{route=\"stripe\"} 2",
            "countersign_unrouted_total 1",
            "countersign_refused_total{reason=\"method\"} 1",
            "countersign_refused_total{reason=\"bad_path\"} 0",
            "countersign_connections_open 1",
            "# TYPE countersign_request_duration_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // A route without dedup has no dedup series.
        assert!(!text.contains("countersign_duplicates_total{route=\"zoom\"}"));
        // Every sample line is `name{labels} value` or `name value`.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{l}");
        }
    }

    #[test]
    fn event_types_are_bounded() {
        let m = Metrics::new(vec![RouteMetrics::new("gh", None)]);
        let r = m.route(0).unwrap();
        r.event(Some("push"));
        r.event(Some("push"));
        r.event(None);
        // A sender cycling through types fills the table, then lands in `other`.
        for i in 0..100 {
            r.event(Some(&format!("t{i}")));
        }
        r.event(Some("other"));
        let text = m.render();
        let events: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("countersign_events_total{"))
            .collect();
        assert_eq!(events.len(), MAX_EVENT_TYPES + 2, "{text}");
        for line in [
            "countersign_events_total{route=\"gh\",event_type=\"push\"} 2",
            "countersign_events_total{route=\"gh\",event_type=\"t30\"} 1",
            "countersign_events_total{route=\"gh\",event_type=\"none\"} 1",
            "countersign_events_total{route=\"gh\",event_type=\"other\"} 70",
        ] {
            assert!(events.contains(&line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("t31\""));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
