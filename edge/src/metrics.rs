//! Prometheus metrics. Handles are cheap clones over atomics, handed to the parts that count;
//! `/metrics` renders the registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Code {
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Scope {
    pub scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Decision {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadResult {
    pub result: &'static str,
}

/// A popup rule's arm: a variant id or `holdout`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleArm {
    pub rule: String,
    pub arm: String,
}

/// What popup rules count. The per-arm results are gauges set from the store's durable totals
/// when scraped, so they survive restarts instead of starting again from zero.
#[derive(Clone, Default)]
pub struct RulesMetrics {
    pub decisions: Family<Decision, Counter>,
    pub reloads: Family<ReloadResult, Counter>,
    pub loaded: Gauge,
    pub eligible: Family<RuleArm, Gauge>,
    pub shown: Family<RuleArm, Gauge>,
    pub dismissed: Family<RuleArm, Gauge>,
    pub submitted: Family<RuleArm, Gauge>,
    pub converted: Family<RuleArm, Gauge>,
}

/// A delivery channel kind (`slack`, `teams`, `email`, `webhooks`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Channel {
    pub channel: &'static str,
}

/// What alert delivery counts. Dead letters and the queue are gauges set from the durable
/// table when scraped.
#[derive(Clone, Default)]
pub struct AlertMetrics {
    pub delivered: Family<Channel, Counter>,
    pub failures: Family<Channel, Counter>,
    pub dead_letters: Gauge,
    pub pending: Gauge,
    pub suppressed: Gauge,
}

/// What the store counts.
#[derive(Clone)]
pub struct StoreMetrics {
    pub events_stored: Counter,
    pub fsync_seconds: Histogram,
    /// Batches per sync: how much group commit is sharing.
    pub group_size: Histogram,
    /// Records written to the local spool while Redis was unreachable.
    pub spooled: Counter,
    /// Spooled records replayed into Redis.
    pub replayed: Counter,
    /// Redis calls answered later than `storage.redis.timeout` by a Redis that was alive.
    pub redis_slow_calls: Counter,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        StoreMetrics {
            events_stored: Counter::default(),
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            group_size: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            spooled: Counter::default(),
            replayed: Counter::default(),
            redis_slow_calls: Counter::default(),
        }
    }
}

/// What the HTTP side counts.
#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: Family<RouteStatus, Counter>,
    pub latency_seconds: Family<Route, Histogram>,
    pub rejected: Family<Code, Counter>,
    pub rate_limited: Family<Scope, Counter>,
    pub bots: Counter,
    pub consent_withheld: Counter,
    pub connections: Gauge,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
            }),
            rejected: Family::default(),
            rate_limited: Family::default(),
            bots: Counter::default(),
            consent_withheld: Counter::default(),
            connections: Gauge::default(),
        }
    }
}

/// Gauges read from the store when scraped.
#[derive(Clone, Default)]
pub struct StoreGauges {
    pub visitors: Gauge,
    pub log_bytes: Gauge,
    pub healthy: Gauge,
    pub expired_visitors: Gauge,
    pub expired_people: Gauge,
    pub expired_events: Gauge,
}

pub struct Metrics {
    registry: Registry,
    pub store: StoreMetrics,
    pub http: HttpMetrics,
    pub gauges: StoreGauges,
    pub rules: RulesMetrics,
    pub alerts: AlertMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mikomi");
        let store = StoreMetrics::default();
        let http = HttpMetrics::default();
        let gauges = StoreGauges::default();
        let rules = RulesMetrics::default();
        let alerts = AlertMetrics::default();
        registry.register(
            "alerts_delivered",
            "Alert and digest messages delivered, by channel",
            alerts.delivered.clone(),
        );
        registry.register(
            "alert_delivery_failures",
            "Failed alert delivery attempts, by channel",
            alerts.failures.clone(),
        );
        registry.register(
            "alert_dead_letters",
            "Alert deliveries given up on and not retried (GET /api/v1/alerts/dead-letters)",
            alerts.dead_letters.clone(),
        );
        registry.register(
            "alerts_pending",
            "Alert and digest messages with a destination still to deliver to",
            alerts.pending.clone(),
        );
        registry.register(
            "alerts_suppressed",
            "Alerts held back by their cooldown since the edge started",
            alerts.suppressed.clone(),
        );
        registry.register(
            "popup_decisions",
            "Popup decisions on page views, by outcome (shown, holdout, preview, none)",
            rules.decisions.clone(),
        );
        registry.register(
            "rules_reloads",
            "Rule reloads, by result (ok, refused)",
            rules.reloads.clone(),
        );
        registry.register(
            "rules_loaded",
            "Popup rules serving now",
            rules.loaded.clone(),
        );
        for (name, help, family) in [
            (
                "popup_eligible",
                "Visitors assigned to a rule's arm when first eligible",
                &rules.eligible,
            ),
            (
                "popup_shown",
                "Popups offered, by rule and arm",
                &rules.shown,
            ),
            (
                "popup_dismissed",
                "Popups dismissed, by rule and arm",
                &rules.dismissed,
            ),
            (
                "popup_submitted",
                "Visitors who submitted a popup, by rule and arm",
                &rules.submitted,
            ),
            (
                "popup_converted",
                "Visitors who converted after first eligible, by rule and arm",
                &rules.converted,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "events_stored",
            "Events durably stored",
            store.events_stored.clone(),
        );
        registry.register(
            "wal_fsync_seconds",
            "Time to write and fdatasync one group of log records",
            store.fsync_seconds.clone(),
        );
        registry.register(
            "wal_group_size",
            "Batches committed by one fdatasync",
            store.group_size.clone(),
        );
        registry.register(
            "store_spooled_records",
            "Records spooled on local disk while redis was unreachable",
            store.spooled.clone(),
        );
        registry.register(
            "store_replayed_records",
            "Spooled records replayed into redis",
            store.replayed.clone(),
        );
        registry.register(
            "store_redis_slow_calls",
            "Redis calls that outlived storage.redis.timeout while redis still answered probes",
            store.redis_slow_calls.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route",
            http.latency_seconds.clone(),
        );
        registry.register(
            "rejected",
            "Requests refused, by error code",
            http.rejected.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by scope (ip, site)",
            http.rate_limited.clone(),
        );
        registry.register(
            "bot_requests",
            "Requests from bot user agents, answered and not stored",
            http.bots.clone(),
        );
        registry.register(
            "consent_withheld",
            "Collect requests not stored because consent was not given",
            http.consent_withheld.clone(),
        );
        registry.register(
            "open_connections",
            "HTTP connections open now",
            http.connections.clone(),
        );
        registry.register(
            "visitors",
            "Visitors held by the store",
            gauges.visitors.clone(),
        );
        registry.register(
            "retention_expired_visitors",
            "Visitors removed by the retention policy since the edge started",
            gauges.expired_visitors.clone(),
        );
        registry.register(
            "retention_expired_people",
            "People removed by the retention policy since the edge started",
            gauges.expired_people.clone(),
        );
        registry.register(
            "retention_expired_events",
            "Events dropped from old visits by the retention policy since the edge started",
            gauges.expired_events.clone(),
        );
        registry.register(
            "log_bytes",
            "Bytes in the write-ahead log since the last snapshot",
            gauges.log_bytes.clone(),
        );
        registry.register(
            "store_healthy",
            "1 when the store accepts writes normally, 0 when degraded or failed",
            gauges.healthy.clone(),
        );
        Metrics {
            registry,
            store,
            http,
            gauges,
            rules,
            alerts,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
