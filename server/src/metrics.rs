//! What `/metrics` tells Prometheus: counters and histograms kept as things
//! happen, and the queue's gauges read from the store at each scrape.
//!
//! One registry per running server (no global recorder), so that several
//! servers in one process — the tests — count apart.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::{Next, QueueDepth};

/// Upper bounds of the attempt duration buckets, in seconds: 5 ms to 30 s.
const ATTEMPT_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    /// `success`, or the attempt's error class (`timeout`, `http-status`, ...).
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route's template (`/api/webhooks/{id}`), never the raw path.
    route: String,
    status: u16,
}

/// Every metric hookhub exports, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    deliveries: Family<OutcomeLabels, Counter>,
    attempt_duration: Family<ClassLabels, Histogram>,
    queue_depth: Family<StatusLabels, Gauge>,
    oldest_due_age: Gauge<f64, AtomicU64>,
    api_requests: Family<RequestLabels, Counter>,
    trigger_calls: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("hookhub"),
            deliveries: Family::default(),
            attempt_duration: Family::new_with_constructor(|| Histogram::new(ATTEMPT_BUCKETS)),
            queue_depth: Family::default(),
            oldest_due_age: Gauge::default(),
            api_requests: Family::default(),
            trigger_calls: Family::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "deliveries",
            "Delivery attempts made (Tests left out), by what came of them: succeeded, retrying (a retry is scheduled) or failed (no retry left)",
            metrics.deliveries.clone(),
        );
        registry.register(
            "delivery_attempt_duration_seconds",
            "How long delivery attempts took, by class: success or the error class",
            metrics.attempt_duration.clone(),
        );
        registry.register(
            "queue_depth",
            "Deliveries waiting to be sent, by status",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "oldest_due_delivery_age_seconds",
            "How long the delivery that has been due the longest has waited (0 when none is due)",
            metrics.oldest_due_age.clone(),
        );
        registry.register(
            "api_requests",
            "HTTP requests answered, by method, route template and status",
            metrics.api_requests.clone(),
        );
        registry.register(
            "trigger_calls",
            "Calls of trigger URLs, by outcome: accepted, or why they were refused",
            metrics.trigger_calls.clone(),
        );
        metrics
    }
}

impl Metrics {
    /// An attempt made (not a Test): what came of it, its error class
    /// (`None` for a success) and how long it took.
    pub fn attempt(&self, next: &Next, error_class: Option<&'static str>, duration: Duration) {
        let outcome = next.as_str();
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        let class = error_class.unwrap_or("success");
        self.attempt_duration
            .get_or_create(&ClassLabels { class })
            .observe(duration.as_secs_f64());
    }

    /// A request answered: `method` one of HTTP's registered ones or
    /// `other`, `route` the router's template or `unmatched`.
    pub fn request(&self, method: &'static str, route: String, status: u16) {
        let labels = RequestLabels {
            method,
            route,
            status,
        };
        self.api_requests.get_or_create(&labels).inc();
    }

    pub fn trigger_call(&self, outcome: &'static str) {
        self.trigger_calls
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The exposition text, with the queue as `depth` says it is now.
    pub fn render(&self, depth: &QueueDepth, now_ms: i64) -> String {
        for (status, count) in [
            ("pending", depth.pending),
            ("retrying", depth.retrying),
            ("paused", depth.paused),
        ] {
            self.queue_depth
                .get_or_create(&StatusLabels { status })
                .set(count as i64);
        }
        let waited_ms = depth.oldest_due_at.map_or(0, |due| (now_ms - due).max(0));
        self.oldest_due_age.set(waited_ms as f64 / 1000.0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_family_with_its_type() {
        let metrics = Metrics::default();
        metrics.attempt(&Next::Succeeded, None, Duration::from_millis(12));
        metrics.attempt(&Next::RetryAt(0), Some("timeout"), Duration::from_secs(15));
        metrics.request("GET", "/api/webhooks/{id}".into(), 200);
        metrics.trigger_call("accepted");
        let depth = QueueDepth {
            pending: 3,
            retrying: 1,
            paused: 0,
            oldest_due_at: Some(1_000),
        };
        let text = metrics.render(&depth, 3_500);
        for line in [
            "# TYPE hookhub_deliveries counter",
            "hookhub_deliveries_total{outcome=\"succeeded\"} 1",
            "hookhub_deliveries_total{outcome=\"retrying\"} 1",
            "# TYPE hookhub_delivery_attempt_duration_seconds histogram",
            "hookhub_delivery_attempt_duration_seconds_bucket{le=\"0.025\",class=\"success\"} 1",
            "hookhub_delivery_attempt_duration_seconds_count{class=\"timeout\"} 1",
            "hookhub_queue_depth{status=\"pending\"} 3",
            "hookhub_queue_depth{status=\"paused\"} 0",
            "hookhub_oldest_due_delivery_age_seconds 2.5",
            "hookhub_api_requests_total{method=\"GET\",route=\"/api/webhooks/{id}\",status=\"200\"} 1",
            "hookhub_trigger_calls_total{outcome=\"accepted\"} 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
