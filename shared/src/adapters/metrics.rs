//! Operator metrics as CloudWatch Embedded Metric Format (EMF) log lines: no API call and no
//! extra latency in the request path. Handlers derive them from their typed outcomes, and
//! `template.yaml`'s dashboard and alarms are tested against [`Metric::ALL`].

use std::io::Write;

pub const NAMESPACE: &str = "SmsOptOut";

crate::named_enum! {
    pub enum Metric {
        /// Webhook: an opt-out recorded (new state).
        OptOutsRecorded,
        /// Webhook: a redelivery of a message already recorded.
        OptOutDuplicates,
        /// Webhook: an opt-out older than the current state, kept in history only.
        OptOutsSuperseded,
        /// Webhook: a message we do not act on.
        MessagesIgnored,
        /// Webhook: HELP or INFO (a HELP reply is owed).
        HelpRequests,
        /// Webhook: an opt-in by text (START, ...), recorded or requested.
        OptInsByText,
        /// Webhook: a missing or wrong signature or URL token.
        SignatureFailures,
        /// Any HTTP function: a request refused as wrong (4xx).
        InvalidRequests,
        /// Any function: the table could not be read or written.
        StorageErrors,
        /// Website API: `POST /resubscribe`, by `Outcome`.
        Resubscribes,
        /// Time of a Vonage call (milliseconds).
        VonageLatency,
        /// Notify: a reply Vonage accepted.
        RepliesSent,
        /// Notify: a reply Vonage refused for good (barred, refused).
        RepliesFailed,
        /// Notify: a reply not sent yet (throttled, Vonage's error, no connection): its record is
        /// retried.
        RepliesDeferred,
        /// Notify: a reply claimed and never settled, or whose outcome is unknown: a person decides.
        RepliesUnsettled,
        /// Notify: from the inbound message's receipt to Vonage accepting the reply (milliseconds).
        ReplyLatency,
        /// Notify: Vonage lifted its block for an opt-in by text; the resubscribe was recorded.
        OptInsConfirmed,
        /// Notify: Vonage refused to lift its block for an opt-in by text.
        OptInsRefused,
        /// Vonage gave no usable answer (an opt-in by text, the website's resubscribe).
        ProviderUnavailable,
        /// Notify: a stream record that does not have our shape.
        StreamRecordsMalformed,
        /// Website API: `POST /opt-outs`, by `Outcome`.
        ApiOptOuts,
        /// Website API: `POST /consents`, by `Outcome`.
        ApiConsents,
        /// Webhook: a message with a revocation cue became a review item.
        ReviewItemsOpened,
        /// Website API: a person decided a review item (`POST /reviews/{id}`), by `Decision`.
        ReviewItemsResolved,
        /// Daily check (gauge): review items open.
        ReviewItemsOpen,
        /// Daily check (gauge): open review items due within 2 business days (not yet overdue).
        ReviewItemsDueSoon,
        /// Daily check (gauge): open review items past their due date (the FCC's 10 business days).
        ReviewItemsOverdue,
    }
}

/// One EMF document: a set of values sharing the same dimensions.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    dimensions: Vec<(&'static str, String)>,
    values: Vec<(&'static str, f64, &'static str)>,
}

impl Metrics {
    pub fn new(function: &str) -> Self {
        Self {
            dimensions: vec![("Function", function.to_string())],
            values: Vec::new(),
        }
    }

    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    pub fn count(mut self, metric: Metric) -> Self {
        self.values.push((metric.as_str(), 1.0, "Count"));
        self
    }

    /// A count of `n` (a gauge-like value, such as how many items are open).
    pub fn value(mut self, metric: Metric, n: f64) -> Self {
        self.values.push((metric.as_str(), n, "Count"));
        self
    }

    pub fn milliseconds(mut self, metric: Metric, value: f64) -> Self {
        self.values.push((metric.as_str(), value, "Milliseconds"));
        self
    }

    pub fn to_line(&self, timestamp_ms: i64) -> String {
        let mut root = serde_json::Map::new();
        for (name, value) in &self.dimensions {
            root.insert((*name).into(), value.clone().into());
        }
        for (name, value, _) in &self.values {
            root.insert((*name).into(), (*value).into());
        }
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| *n).collect();
        let metrics: Vec<serde_json::Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| serde_json::json!({ "Name": name, "Unit": unit }))
            .collect();
        root.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimension_names],
                    "Metrics": metrics,
                }],
            }),
        );
        serde_json::Value::Object(root).to_string()
    }

    /// To stdout, where Lambda collects logs; nothing when there are no values.
    pub fn emit(&self) {
        if self.values.is_empty() {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        let ms = now.unix_timestamp() * 1000 + i64::from(now.millisecond());
        let line = self.to_line(ms);
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_listed_once_with_its_own_name() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        for m in Metric::ALL {
            assert_eq!(format!("{m:?}"), m.as_str());
        }
    }

    #[test]
    fn emf_line_declares_what_it_carries() {
        let line = Metrics::new("resubscribe")
            .dimension("Outcome", "applied")
            .count(Metric::Resubscribes)
            .milliseconds(Metric::VonageLatency, 12.5)
            .to_line(1_795_000_000_000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["Function"], "resubscribe");
        assert_eq!(v["Outcome"], "applied");
        assert_eq!(v["Resubscribes"], 1.0);
        assert_eq!(v["VonageLatency"], 12.5);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_795_000_000_000i64);
        assert_eq!(cw["Namespace"], NAMESPACE);
        assert_eq!(
            cw["Dimensions"],
            serde_json::json!([["Function", "Outcome"]])
        );
        assert_eq!(
            cw["Metrics"][0],
            serde_json::json!({"Name": "Resubscribes", "Unit": "Count"})
        );
        assert_eq!(
            cw["Metrics"][1],
            serde_json::json!({"Name": "VonageLatency", "Unit": "Milliseconds"})
        );
    }
}
