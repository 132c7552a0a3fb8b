//! The evidence file for one number: everything we hold under it, oldest first, the current
//! state, and a check that the state is the one the history implies. Pure: it works on the
//! number's items as JSON objects (the store adapter reads them, one Query of the number's
//! partition, and converts them), so the API route and the admin command build the same file.
//!
//! Items are recognised by their sort key: `STATE` (the current state), `E#<event id>` (history:
//! an inbound message, a consent, a sync, an import, a HELP ...), `R#<inbound event id>`
//! (a reply) and `V#<review id>` (a review). Any other family is kept too, raw, with whatever
//! `*_at` times it carries, so the file stays complete when new item families are added.
//!
//! **The check.** The state must be set by the history entry with the greatest `h_order` among
//! those whose kind sets a state ([`EventKind::status`]): that is the one rule every write goes
//! through (`Store::record`). Anything else is flagged: a state naming another event or status
//! (`mismatch`), a state-setting history with no state (`history_without_state`), a state with
//! no state-setting history (`state_without_history`).

use crate::domain::event::{EventKind, Status};
use crate::domain::sort_keys;
use crate::domain::timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use time::OffsetDateTime;

/// One table item as JSON (attribute name to value).
pub type Item = Map<String, Value>;

/// The evidence file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceFile {
    /// E.164 digits.
    pub msisdn: String,
    pub generated_at: String,
    /// The `STATE` item as stored, if any.
    pub state: Option<CurrentState>,
    pub check: StateCheck,
    /// Every other item under the number, oldest first.
    pub timeline: Vec<Entry>,
}

/// The current state, as the `STATE` item holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentState {
    /// `opted_out` or `subscribed` (as stored: an unreadable value is shown and flagged).
    pub status: String,
    pub since: Option<String>,
    pub event_id: Option<String>,
    pub source: Option<String>,
    pub updated_at: Option<String>,
}

/// Whether the state is the one the history implies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCheck {
    pub result: CheckResult,
    /// `false` when the record needs an operator's attention.
    pub ok: bool,
    /// The state-setting history entry with the greatest order, if any.
    pub implied_event_id: Option<String>,
    pub implied_status: Option<Status>,
    /// One sentence for a person.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// The state is set by the newest state-setting event (or neither exists).
    Consistent,
    /// The state names another event, or another status, than the history implies.
    Mismatch,
    /// History holds state-setting events, but there is no state item.
    HistoryWithoutState,
    /// A state item, but no history entry that could have set it.
    StateWithoutHistory,
    /// Nothing at all under the number.
    NoRecord,
}

impl CheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Consistent => "consistent",
            CheckResult::Mismatch => "mismatch",
            CheckResult::HistoryWithoutState => "history_without_state",
            CheckResult::StateWithoutHistory => "state_without_history",
            CheckResult::NoRecord => "no_record",
        }
    }
}

/// The item families under a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `E#...`: a history entry.
    Event,
    /// `R#...`: a reply to an inbound message.
    Reply,
    /// `V#...`: a review.
    Review,
    /// Anything else (kept raw).
    Other,
}

/// One item of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The time it is ordered by: the event time for history, else the earliest `*_at` time.
    pub at: Option<String>,
    pub family: Family,
    /// What it is: an event kind (`opt_out`, `resubscribe`, `help` ...), `reply`, `review`, or
    /// the sort key's prefix for other families.
    pub kind: String,
    /// Where it came from: `inbound_message` (the webhook), `consent` (the website), `sync`
    /// (Vonage's list), `import`, `reply`, `review`, or the item's own source.
    pub category: String,
    pub source: Option<String>,
    /// One line for a person.
    pub summary: String,
    /// Every time the item carries (`event_at`, `received_at`, `claimed_at`, `sent_at`, `due` ...).
    pub times: BTreeMap<String, String>,
    /// The sort key (`E#sms:...`, `R#...`).
    pub sk: String,
    /// The item as stored, every attribute.
    pub item: Item,
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

fn owned(item: &Item, name: &str) -> Option<String> {
    text(item, name).map(str::to_owned)
}

/// A detail of a history entry (`details.<name>`).
fn detail<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get("details")
        .and_then(Value::as_object)
        .and_then(|d| d.get(name))
        .and_then(Value::as_str)
}

fn is_time_attribute(name: &str) -> bool {
    name.ends_with("_at") || name == "due"
}

/// The rank `pick_reading` uses for a reading's items: opted out first, then any record.
pub fn record_rank(items: &[Item]) -> u8 {
    let state = items
        .iter()
        .find(|i| text(i, "sk") == Some(sort_keys::STATE));
    match state.and_then(|s| text(s, "status")) {
        Some("opted_out") => 0,
        _ if !items.is_empty() => 1,
        _ => 2,
    }
}

/// Build the evidence file of `msisdn` from every item under it (any order).
pub fn build(msisdn: &str, items: Vec<Item>, now: OffsetDateTime) -> EvidenceFile {
    let mut state_item = None;
    let mut timeline = Vec::with_capacity(items.len());
    for item in items {
        let sk = text(&item, "sk").unwrap_or_default().to_owned();
        if sk == sort_keys::STATE {
            state_item = Some(item);
        } else if sk == sort_keys::REPLY_LOCK {
            // Bookkeeping of the replies in flight, not evidence: the replies are.
        } else {
            timeline.push(entry(sk, item));
        }
    }
    timeline.sort_by(compare);
    let state = state_item.as_ref().map(|s| CurrentState {
        status: owned(s, "status").unwrap_or_default(),
        since: owned(s, "event_at"),
        event_id: owned(s, "event_id"),
        source: owned(s, "source"),
        updated_at: owned(s, "updated_at"),
    });
    let check = check(state.as_ref(), &timeline);
    EvidenceFile {
        msisdn: msisdn.to_owned(),
        generated_at: timestamp::format(now),
        state,
        check,
        timeline,
    }
}

fn entry(sk: String, item: Item) -> Entry {
    let times: BTreeMap<String, String> = item
        .iter()
        .filter(|(k, _)| is_time_attribute(k))
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect();
    let earliest = || {
        times
            .iter()
            .filter(|(k, _)| k.ends_with("_at"))
            .filter_map(|(_, v)| timestamp::parse_rfc3339(v).map(|t| (t, v)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, v)| v.clone())
    };
    let source = owned(&item, "source");
    let (family, kind, category, summary, at) = if sk.starts_with(sort_keys::HISTORY_PREFIX) {
        let kind = owned(&item, "kind").unwrap_or_else(|| "unknown".into());
        let category = match source.as_deref() {
            Some("webhook") => "inbound_message",
            Some("website") => "consent",
            Some("vonage-sync") => "sync",
            Some("import") => "import",
            Some("api") => "opt_out_by_other_means",
            Some("review") => "review_decision",
            Some("sms-opt-in") => "consent",
            Some(other) => other,
            None => "unknown",
        }
        .to_owned();
        let summary = event_summary(&item, &kind);
        let at = owned(&item, "event_at").or_else(earliest);
        (Family::Event, kind, category, summary, at)
    } else if sk.starts_with(sort_keys::REPLY_PREFIX) {
        let summary = reply_summary(&item);
        (
            Family::Reply,
            "reply".into(),
            "reply".into(),
            summary,
            earliest(),
        )
    } else if sk.starts_with(sort_keys::REVIEW_PREFIX) {
        let summary = review_summary(&item);
        (
            Family::Review,
            "review".into(),
            "review".into(),
            summary,
            earliest(),
        )
    } else {
        let prefix = sk.split('#').next().unwrap_or_default().to_owned();
        let summary = format!("{sk} (an item this version does not know; shown as stored)");
        let category = source.clone().unwrap_or_else(|| "other".into());
        (Family::Other, prefix, category, summary, earliest())
    };
    Entry {
        at,
        family,
        kind,
        category,
        source,
        summary,
        times,
        sk,
        item,
    }
}

/// Oldest first (by parsed time: items written by other code may format times differently);
/// undated items last; then history before replies and reviews, then by order or sort key.
fn compare(a: &Entry, b: &Entry) -> Ordering {
    let time = |e: &Entry| e.at.as_deref().and_then(timestamp::parse_rfc3339);
    let (ta, tb) = (time(a), time(b));
    let by_time = match (ta, tb) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let order = |e: &Entry| text(&e.item, "h_order").unwrap_or_default().to_owned();
    by_time
        .then(a.family.cmp(&b.family))
        .then_with(|| order(a).cmp(&order(b)))
        .then_with(|| a.sk.cmp(&b.sk))
}

fn event_summary(item: &Item, kind: &str) -> String {
    let parsed = EventKind::parse(kind);
    let mut line = match parsed {
        Some(EventKind::OptOut) => "opt-out".to_owned(),
        Some(EventKind::Resubscribe) => "resubscribe".to_owned(),
        Some(EventKind::Help) => "HELP request".to_owned(),
        Some(EventKind::OptInRequest) => "opt-in request by text".to_owned(),
        Some(EventKind::OptInRefused) => "opt-in refused by Vonage".to_owned(),
        Some(EventKind::ReviewDecision) => "review decided: not a revocation".to_owned(),
        None => format!("event of kind {kind:?}"),
    };
    match text(item, "source") {
        Some("webhook") => {
            let _ = write!(line, ": inbound SMS");
            if let Some(t) = detail(item, "text") {
                let _ = write!(line, " {t:?}");
            }
            if let Some(id) = detail(item, "message_id") {
                let _ = write!(line, ", message {id}");
            }
            if let Some(to) = detail(item, "short_code") {
                let _ = write!(line, ", to {to}");
            }
        }
        Some("website") => {
            let _ = write!(line, ": consent on the website");
            if let Some(s) = detail(item, "consent_source") {
                let _ = write!(line, " ({s})");
            }
            if let Some(at) = detail(item, "consent_captured_at") {
                let _ = write!(line, ", captured {at}");
            }
        }
        Some("api") => {
            let _ = write!(line, ": reported to the company");
            if let Some(c) = detail(item, "channel") {
                let _ = write!(line, " by {c}");
            }
            if let Some(a) = detail(item, "agent") {
                let _ = write!(line, ", recorded by {a}");
            }
        }
        Some("review") => {
            let _ = write!(line, ": a person's decision on a review item");
            for key in ["review_id", "decided_by", "by"] {
                if let Some(v) = detail(item, key) {
                    let _ = write!(line, ", {key} {v}");
                }
            }
        }
        Some("sms-opt-in") => {
            let _ = write!(line, ": opt-in by text, after Vonage's answer");
        }
        Some("vonage-sync") => {
            let _ = write!(line, ": found on Vonage's opt-out list");
        }
        Some("import") => {
            let _ = write!(line, ": imported");
            if let Some(f) = detail(item, "file") {
                let _ = write!(line, " from {f}");
            }
            if let Some(l) = detail(item, "line") {
                let _ = write!(line, " line {l}");
            }
        }
        Some(other) => {
            let _ = write!(line, " (source {other})");
        }
        None => {}
    }
    let sets_state = parsed.and_then(EventKind::status).is_some();
    if sets_state && item.get("applied") == Some(&Value::Bool(false)) {
        let _ = write!(
            line,
            "; did not change the state (a newer event had set it)"
        );
    }
    line
}

fn reply_summary(item: &Item) -> String {
    let mut line = String::from("reply");
    if let Some(kind) = text(item, "kind") {
        let _ = write!(line, " ({kind})");
    }
    if let Some(status) = text(item, "status") {
        let _ = write!(line, ": {status}");
    }
    if let Some(t) = text(item, "text") {
        let _ = write!(line, ", text {t:?}");
    }
    if let Some(e) = text(item, "error") {
        let _ = write!(line, ", error {e:?}");
    }
    line
}

fn review_summary(item: &Item) -> String {
    let mut line = String::from("review");
    if let Some(status) = text(item, "status") {
        let _ = write!(line, ": {status}");
    }
    if let Some(decision) = text(item, "decision") {
        let _ = write!(line, ", decision {decision}");
    }
    if let Some(by) = text(item, "by") {
        let _ = write!(line, " by {by}");
    }
    if let Some(note) = text(item, "note") {
        let _ = write!(line, ", note {note:?}");
    }
    line
}

fn check(state: Option<&CurrentState>, timeline: &[Entry]) -> StateCheck {
    // The state-setting history entry with the greatest order: what `Store::record` keeps.
    let implied = timeline
        .iter()
        .filter(|e| e.family == Family::Event)
        .filter_map(|e| {
            let status = EventKind::parse(&e.kind).and_then(EventKind::status)?;
            let order = text(&e.item, "h_order").unwrap_or_default();
            Some((order, status, owned(&e.item, "event_id")))
        })
        .max_by(|a, b| a.0.cmp(b.0));
    let (implied_status, implied_event_id) = match &implied {
        Some((_, status, id)) => (Some(*status), id.clone()),
        None => (None, None),
    };
    let (result, message) = match (state, &implied) {
        (None, None) if timeline.is_empty() => (
            CheckResult::NoRecord,
            "we hold no record of this number: no opt-out on file".to_owned(),
        ),
        (None, None) => (
            CheckResult::Consistent,
            "no state, and no history entry sets one (only messages that never change it)"
                .to_owned(),
        ),
        (None, Some((_, status, id))) => (
            CheckResult::HistoryWithoutState,
            format!(
                "no state item, but the history implies {} (event {})",
                status.as_str(),
                id.as_deref().unwrap_or("?")
            ),
        ),
        (Some(s), None) => (
            CheckResult::StateWithoutHistory,
            format!(
                "the state says {} (event {}), but no history entry could have set it",
                s.status,
                s.event_id.as_deref().unwrap_or("?")
            ),
        ),
        (Some(s), Some((_, status, id))) => {
            if s.event_id == *id && s.status == status.as_str() {
                (
                    CheckResult::Consistent,
                    format!(
                        "the state is set by the newest state-setting event ({})",
                        id.as_deref().unwrap_or("?")
                    ),
                )
            } else {
                (
                    CheckResult::Mismatch,
                    format!(
                        "the state says {} (event {}), but the history implies {} (event {})",
                        s.status,
                        s.event_id.as_deref().unwrap_or("?"),
                        status.as_str(),
                        id.as_deref().unwrap_or("?")
                    ),
                )
            }
        }
    };
    StateCheck {
        ok: matches!(result, CheckResult::Consistent | CheckResult::NoRecord),
        result,
        implied_event_id,
        implied_status,
        message,
    }
}

/// The file for a person: plain text, oldest first, every attribute of every item.
pub fn render_text(evidence: &EvidenceFile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Evidence file for +{}", evidence.msisdn);
    let _ = writeln!(out, "Generated {}", evidence.generated_at);
    let _ = writeln!(out);
    match &evidence.state {
        Some(s) => {
            let _ = writeln!(
                out,
                "Current state: {} since {} (event {}, source {}; updated {})",
                s.status,
                s.since.as_deref().unwrap_or("?"),
                s.event_id.as_deref().unwrap_or("?"),
                s.source.as_deref().unwrap_or("?"),
                s.updated_at.as_deref().unwrap_or("?")
            );
        }
        None => {
            let _ = writeln!(out, "Current state: none on record (no opt-out on file)");
        }
    }
    let flag = if evidence.check.ok {
        "OK"
    } else {
        "NEEDS ATTENTION"
    };
    let _ = writeln!(
        out,
        "State check: {flag} ({}): {}",
        evidence.check.result.as_str(),
        evidence.check.message
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Timeline, oldest first ({} {}):",
        evidence.timeline.len(),
        if evidence.timeline.len() == 1 {
            "entry"
        } else {
            "entries"
        }
    );
    for (i, e) in evidence.timeline.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}. {}  [{}] {}",
            i + 1,
            e.at.as_deref().unwrap_or("(no time)"),
            e.category,
            e.summary
        );
        for (name, value) in &e.item {
            if matches!(name.as_str(), "pk" | "sk" | "msisdn") {
                continue;
            }
            match value {
                Value::Object(map) => {
                    let _ = writeln!(out, "     {name}:");
                    for (k, v) in map {
                        let _ = writeln!(out, "       {k}: {}", plain(v));
                    }
                }
                other => {
                    let _ = writeln!(out, "     {name}: {}", plain(other));
                }
            }
        }
        let _ = writeln!(out, "     (item {})", e.sk);
    }
    out
}

/// A value on one line: strings as they are (control characters escaped), the rest as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.escape_default().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn item(v: Value) -> Item {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn history(id: &str, kind: &str, at: &str, source: &str, rank: char) -> Item {
        item(json!({
            "pk": "N#14155550100", "sk": format!("E#{id}"), "msisdn": "14155550100",
            "kind": kind, "event_id": id, "event_at": at, "received_at": at, "source": source,
            "applied": true, "h_order": format!("{at}#{rank}#{id}"), "details": {"text": "STOP"}
        }))
    }

    fn state(id: &str, status: &str, at: &str) -> Item {
        item(json!({
            "pk": "N#14155550100", "sk": "STATE", "msisdn": "14155550100", "status": status,
            "event_id": id, "event_at": at, "source": "webhook", "order": "x",
            "updated_at": at
        }))
    }

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

    #[test]
    fn timeline_is_oldest_first_across_families_and_keeps_unknown_items() {
        let items = vec![
            item(
                json!({"pk": "N#1", "sk": "V#r1", "status": "decided", "decision": "keep_opt_out",
                        "by": "ops@example.com", "created_at": "2026-03-01T00:00:00.000Z",
                        "decided_at": "2026-03-02T00:00:00.000Z", "due": "2026-03-05T00:00:00.000Z"}),
            ),
            history(
                "resub:a",
                "resubscribe",
                "2026-02-01T00:00:00.000Z",
                "website",
                '0',
            ),
            item(
                json!({"pk": "N#1", "sk": "R#sms:A", "status": "sent", "kind": "stop_confirmation",
                        "text": "You are unsubscribed", "claimed_at": "2026-01-01T00:00:01.000Z",
                        "sent_at": "2026-01-01T00:00:02.000Z"}),
            ),
            history(
                "sms:A",
                "opt_out",
                "2026-01-01T00:00:00.000Z",
                "webhook",
                '1',
            ),
            item(json!({"pk": "N#1", "sk": "X#future", "note": "new family",
                        "created_at": "2026-04-01T00:00:00+00:00"})),
            item(json!({"pk": "N#1", "sk": "Z#undated"})),
            state("resub:a", "subscribed", "2026-02-01T00:00:00.000Z"),
        ];
        let e = build("14155550100", items, NOW);
        let order: Vec<&str> = e.timeline.iter().map(|e| e.sk.as_str()).collect();
        assert_eq!(
            order,
            [
                "E#sms:A",
                "R#sms:A",
                "E#resub:a",
                "V#r1",
                "X#future",
                "Z#undated"
            ]
        );
        assert_eq!(e.timeline[0].category, "inbound_message");
        assert_eq!(e.timeline[2].category, "consent");
        assert_eq!(
            e.timeline[1].at.as_deref(),
            Some("2026-01-01T00:00:01.000Z")
        );
        assert_eq!(
            e.timeline[3].at.as_deref(),
            Some("2026-03-01T00:00:00.000Z")
        );
        assert_eq!(e.timeline[3].times.len(), 3);
        assert_eq!(e.timeline[4].family, Family::Other);
        assert_eq!(e.timeline[4].kind, "X");
        assert_eq!(e.timeline[4].item["note"], "new family");
        assert_eq!(e.check.result, CheckResult::Consistent);
        assert!(e.check.ok);
        let text = render_text(&e);
        for needle in [
            "Evidence file for +14155550100",
            "Current state: subscribed",
            "State check: OK (consistent)",
            "6 entries",
            "[inbound_message] opt-out: inbound SMS \"STOP\"",
            "[reply] reply (stop_confirmation): sent",
            "decision keep_opt_out by ops@example.com",
            "note: new family",
            "(item Z#undated)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
    }

    #[test]
    fn the_check_flags_every_disagreement() {
        let stop = || {
            history(
                "sms:A",
                "opt_out",
                "2026-01-01T00:00:00.000Z",
                "webhook",
                '1',
            )
        };
        let resub = || {
            history(
                "resub:b",
                "resubscribe",
                "2026-01-02T00:00:00.000Z",
                "website",
                '0',
            )
        };
        let help = || history("sms:H", "help", "2026-01-03T00:00:00.000Z", "webhook", '0');
        let result = |items: Vec<Item>| build("14155550100", items, NOW).check;

        let c = result(vec![]);
        assert_eq!((c.result, c.ok), (CheckResult::NoRecord, true));
        let c = result(vec![help()]);
        assert_eq!((c.result, c.ok), (CheckResult::Consistent, true));
        // The newest state-setting event wins; HELP (newer still) never sets a state.
        let c = result(vec![
            stop(),
            resub(),
            help(),
            state("resub:b", "subscribed", "2026-01-02T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::Consistent, true));
        assert_eq!(c.implied_event_id.as_deref(), Some("resub:b"));
        assert_eq!(c.implied_status, Some(Status::Subscribed));
        // The state names an older event.
        let c = result(vec![
            stop(),
            resub(),
            state("sms:A", "opted_out", "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::Mismatch, false));
        assert!(c.message.contains("resub:b"), "{}", c.message);
        // The right event, the wrong status.
        let c = result(vec![
            stop(),
            state("sms:A", "subscribed", "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!(c.result, CheckResult::Mismatch);
        let c = result(vec![stop()]);
        assert_eq!((c.result, c.ok), (CheckResult::HistoryWithoutState, false));
        let c = result(vec![
            help(),
            state("sms:A", "opted_out", "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::StateWithoutHistory, false));
        // Same instant: the opt-out's rank wins the order, as in `Store::record`.
        let tie_resub = history(
            "resub:t",
            "resubscribe",
            "2026-01-01T00:00:00.000Z",
            "website",
            '0',
        );
        let c = result(vec![
            stop(),
            tie_resub,
            state("sms:A", "opted_out", "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!(c.result, CheckResult::Consistent);
        let text = render_text(&build(
            "14155550100",
            vec![
                stop(),
                state("sms:A", "subscribed", "2026-01-01T00:00:00.000Z"),
            ],
            NOW,
        ));
        assert!(
            text.contains("State check: NEEDS ATTENTION (mismatch)"),
            "{text}"
        );
    }

    #[test]
    fn rank_prefers_an_opted_out_record_then_any_record() {
        assert_eq!(record_rank(&[]), 2);
        assert_eq!(
            record_rank(&[history(
                "sms:H",
                "help",
                "2026-01-03T00:00:00.000Z",
                "webhook",
                '0'
            )]),
            1
        );
        assert_eq!(
            record_rank(&[state("sms:A", "opted_out", "2026-01-01T00:00:00.000Z")]),
            0
        );
    }

    #[test]
    fn text_rendering_escapes_control_characters() {
        let mut stop = history(
            "sms:A",
            "opt_out",
            "2026-01-01T00:00:00.000Z",
            "webhook",
            '1',
        );
        stop.insert("note".into(), json!("line one\nline two\u{1b}[31m"));
        let text = render_text(&build("14155550100", vec![stop], NOW));
        assert!(
            text.contains("note: line one\\nline two\\u{1b}[31m"),
            "{text}"
        );
    }
}
