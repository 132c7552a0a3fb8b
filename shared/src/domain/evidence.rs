//! The evidence file for one number: everything we hold under it (items of unknown families
//! too, as stored), oldest first, the current state, and a check ([`CheckResult`]) that the
//! state is set by the state-setting history entry with the greatest order, the one rule every
//! write goes through (`Store::record`). Pure, so the API route and the admin command build the
//! same file from the items the store hands over.

use crate::domain::event::{EventKind, HistoryEntry, State, Status};
use crate::domain::origin::Origin;
use crate::domain::program::Scope;
use crate::domain::replies::{ReplyKind, ReplyStatus};
use crate::domain::review::Review;
use crate::domain::timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use time::OffsetDateTime;

/// One table item as JSON, as stored.
pub type Item = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct Stored {
    pub sk: String,
    pub read: Read,
    pub item: Item,
}

#[derive(Debug, Clone)]
pub enum Read {
    State {
        state: State,
        updated_at: OffsetDateTime,
        /// Which programs it is kept for (`STATE` is every program).
        scope: Scope,
    },
    History(HistoryEntry),
    Reply {
        kind: ReplyKind,
        status: ReplyStatus,
        text: String,
        /// Why it was not sent, skipped or is unknown.
        detail: Option<String>,
    },
    Review(Review),
    /// Bookkeeping of the replies in flight (the number's reply lock): not evidence, left out.
    Bookkeeping,
    /// A family this version does not know, or an item that does not read: kept as stored.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceFile {
    pub msisdn: String,
    pub generated_at: String,
    /// The state kept for every program (the only one without programs).
    pub state: Option<CurrentState>,
    pub check: StateCheck,
    /// With programs: the states kept for narrower scopes (`CONSENT`, a program id), each
    /// with its own check. Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scoped_states: Vec<ScopedState>,
    /// Every other item under the number, oldest first.
    pub timeline: Vec<Entry>,
}

/// As the state item holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentState {
    pub status: String,
    pub since: Option<String>,
    pub event_id: Option<String>,
    pub source: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopedState {
    pub scope: Scope,
    pub state: CurrentState,
    pub check: StateCheck,
}

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

crate::named_enum! {
    #[strum(serialize_all = "snake_case")]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A history entry.
    Event,
    Reply,
    Review,
    Other,
}

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
    pub sk: String,
    pub item: Item,
    /// The history entry's order, for sorting and the check.
    #[serde(skip)]
    order: Option<String>,
    #[serde(skip)]
    sets: Option<(Status, String)>,
    /// For an event kept for some programs only: what it ended or opened (`CONSENT`, program
    /// ids); left out when it concerned every program, as everything before programs did.
    #[serde(skip_serializing_if = "every_program")]
    scopes: Vec<Scope>,
    /// A migration's entry: the event whose state it moved, and the scope it moved it from.
    #[serde(skip)]
    moves: Option<(String, Scope)>,
}

fn every_program(scopes: &[Scope]) -> bool {
    scopes.is_empty() || scopes == [Scope::Every]
}

fn is_time_attribute(name: &str) -> bool {
    name.ends_with("_at") || name == "due"
}

/// The rank `pick_reading` uses for a reading's items: opted out first, then any record.
pub fn record_rank(items: &[Stored]) -> u8 {
    let opted_out = items
        .iter()
        .any(|i| matches!(&i.read, Read::State { state, .. } if state.status == Status::OptedOut));
    match opted_out {
        true => 0,
        false if !items.is_empty() => 1,
        false => 2,
    }
}

/// From every item under `msisdn`, in any order.
pub fn build(msisdn: &str, items: Vec<Stored>, now: OffsetDateTime) -> EvidenceFile {
    let mut current = None;
    let mut scoped = Vec::new();
    let mut timeline = Vec::with_capacity(items.len());
    for stored in items {
        match stored.read {
            Read::State {
                state,
                updated_at,
                scope,
            } => {
                let state = CurrentState {
                    status: state.status.as_str().into(),
                    since: Some(timestamp::format(state.since)),
                    event_id: Some(state.event_id),
                    source: Some(state.source),
                    updated_at: Some(timestamp::format(updated_at)),
                };
                match scope {
                    Scope::Every => current = Some(state),
                    other => scoped.push((other, state)),
                }
            }
            Read::Bookkeeping => {}
            read => timeline.push(entry(stored.sk, read, stored.item)),
        }
    }
    timeline.sort_by(compare);
    scoped.sort_by(|a, b| a.0.cmp(&b.0));
    let scoped_states = scoped
        .into_iter()
        .map(|(scope, state)| ScopedState {
            check: check(Some(&state), &timeline, &scope),
            scope,
            state,
        })
        .collect();
    EvidenceFile {
        msisdn: msisdn.to_owned(),
        generated_at: timestamp::format(now),
        check: check(current.as_ref(), &timeline, &Scope::Every),
        state: current,
        scoped_states,
        timeline,
    }
}

fn entry(sk: String, read: Read, item: Item) -> Entry {
    let times: BTreeMap<String, String> = item
        .iter()
        .filter(|(k, _)| is_time_attribute(k))
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect();
    let earliest = times
        .iter()
        .filter(|(k, _)| k.ends_with("_at"))
        .filter_map(|(_, v)| timestamp::parse_rfc3339(v).map(|t| (t, v)))
        .min_by_key(|(t, _)| *t)
        .map(|(_, v)| v.clone());
    let mut e = Entry {
        at: earliest,
        family: Family::Other,
        kind: sk.split('#').next().unwrap_or_default().to_owned(),
        category: "other".into(),
        source: None,
        summary: format!("{sk} (an item this version does not know; shown as stored)"),
        times,
        sk,
        item,
        order: None,
        sets: None,
        scopes: Vec::new(),
        moves: None,
    };
    match read {
        Read::History(h) => {
            e.family = Family::Event;
            e.kind = h.kind.as_str().into();
            e.category = match &h.origin {
                Origin::Message(_) => "inbound_message",
                Origin::Website(_) | Origin::OptInAnswer(_) | Origin::Consent(_) => "consent",
                Origin::VonageSync(_) => "sync",
                Origin::Import(_) => "import",
                Origin::Api(_) => "opt_out_by_other_means",
                Origin::Review(_) => "review_decision",
                Origin::Migration(_) => "migration",
                Origin::Other { source, .. } => source,
            }
            .to_owned();
            e.source = Some(h.origin.source().to_owned());
            e.summary = event_summary(&h);
            if !every_program(&h.scopes) {
                let names: Vec<&str> = h.scopes.iter().map(Scope::name).collect();
                e.summary.push_str(&format!(" [for {}]", names.join(", ")));
            }
            e.at = Some(timestamp::format(h.occurred_at));
            e.sets = h.kind.status().map(|s| (s, h.event_id.clone()));
            e.scopes = h.scopes.clone();
            if let Origin::Migration(moved) = &h.origin {
                e.moves = Scope::parse(&moved.from_scope)
                    .ok()
                    .map(|from| (moved.moved_event_id.clone(), from));
            }
            e.order = Some(h.order);
        }
        Read::Reply {
            kind,
            status,
            text,
            detail,
        } => {
            (e.family, e.kind, e.category) = (Family::Reply, "reply".into(), "reply".into());
            e.summary = format!(
                "reply ({}): {}, text {text:?}",
                kind.as_str(),
                status.as_str()
            );
            if let Some(detail) = detail {
                let _ = write!(e.summary, ", detail {detail:?}");
            }
        }
        Read::Review(r) => {
            (e.family, e.kind, e.category) = (Family::Review, "review".into(), "review".into());
            e.summary = format!(
                "review: {}, cue {:?}, due {}",
                r.status.as_str(),
                r.cue,
                r.due
            );
            if let Some(res) = &r.resolution {
                let _ = write!(
                    e.summary,
                    ", decision {} by {}",
                    res.decision.as_str(),
                    res.by
                );
                if let Some(note) = &res.note {
                    let _ = write!(e.summary, ", note {note:?}");
                }
            }
        }
        Read::State { .. } | Read::Bookkeeping | Read::Other => {
            e.source = e
                .item
                .get("source")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(source) = &e.source {
                e.category = source.clone();
            }
        }
    }
    e
}

/// Oldest first (by parsed time: items written by other code may format times differently);
/// undated items last; then history before replies and reviews, then by order or sort key.
fn compare(a: &Entry, b: &Entry) -> Ordering {
    let time = |e: &Entry| e.at.as_deref().and_then(timestamp::parse_rfc3339);
    let by_time = match (time(a), time(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_time
        .then(a.family.cmp(&b.family))
        .then_with(|| a.order.cmp(&b.order))
        .then_with(|| a.sk.cmp(&b.sk))
}

fn event_summary(h: &HistoryEntry) -> String {
    let mut line = match h.kind {
        EventKind::OptOut => "opt-out",
        EventKind::Resubscribe => "resubscribe",
        EventKind::Help => "HELP request",
        EventKind::OptInRequest => "opt-in request by text",
        EventKind::OptInRefused => "opt-in refused by Vonage",
        EventKind::ReviewDecision => "review decided: not a revocation",
        EventKind::Consent => "consent",
        EventKind::ConsentRequest => "join by text, waiting for YES",
    }
    .to_owned();
    let message = |line: &mut String, m: &crate::domain::origin::InboundMessage| {
        let _ = write!(
            line,
            ": inbound SMS {:?}, message {}, to {}",
            m.text, m.message_id, m.short_code
        );
        if let Some(request) = &m.confirms {
            let _ = write!(line, ", confirming the join {request}");
        }
    };
    match &h.origin {
        Origin::Message(m) => message(&mut line, m),
        Origin::Website(c) => {
            let _ = write!(
                line,
                ": consent on the website ({}), captured {}",
                c.consent_source, c.consent_captured_at
            );
            if let Some(provider) = &c.provider {
                let _ = write!(line, ", provider {provider}");
            }
        }
        Origin::Api(r) => {
            let _ = write!(line, ": reported to the company by {}", r.channel);
            if let Some(agent) = &r.agent {
                let _ = write!(line, ", recorded by {agent}");
            }
        }
        Origin::Review(d) => {
            let _ = write!(
                line,
                ": a person's decision on a review item, review_id {}, decided_by {}",
                d.review_id, d.decided_by
            );
            if let Some(note) = &d.note {
                let _ = write!(line, ", note {note:?}");
            }
        }
        Origin::OptInAnswer(a) => {
            let _ = write!(line, ": opt-in by text, after Vonage's answer");
            if let Some(provider) = &a.provider {
                let _ = write!(line, " (provider {provider})");
            }
            if let Some(refusal) = &a.provider_refusal {
                let _ = write!(line, ", refused: {refusal}");
            }
        }
        Origin::VonageSync(_) => line.push_str(": found on Vonage's opt-out list"),
        Origin::Import(i) => {
            let _ = write!(line, ": imported from {} line {}", i.file, i.line);
        }
        Origin::Migration(m) => {
            let _ = write!(
                line,
                ": event {} moved from {} to {} when programs were declared",
                m.moved_event_id, m.from_scope, m.to_scope
            );
        }
        Origin::Consent(c) => {
            let _ = write!(
                line,
                ": by {}, captured {}",
                c.channel.as_str(),
                c.captured_at
            );
            for (what, value) in [
                ("url", &c.url),
                ("ip", &c.ip),
                ("agent", &c.agent_id),
                ("wording version", &c.wording_version),
                ("imported from", &c.imported_from),
                ("provider", &c.provider),
            ] {
                if let Some(value) = value {
                    let _ = write!(line, ", {what} {value}");
                }
            }
        }
        Origin::Other { source, .. } => {
            let _ = write!(line, " (source {source})");
        }
    }
    if h.kind.status().is_some() && !h.applied {
        line.push_str("; did not change the state (a newer event had set it)");
    }
    line
}

/// The state kept for `scope` against its history: the newest entry that set that scope.
fn check(state: Option<&CurrentState>, timeline: &[Entry], scope: &Scope) -> StateCheck {
    // Entries up to an event whose state a migration moved out of this scope set it no more.
    let moved_up_to = timeline
        .iter()
        .filter_map(|e| e.moves.as_ref())
        .filter(|(_, from)| from == scope)
        .filter_map(|(id, _)| {
            timeline
                .iter()
                .find(|e| e.sets.as_ref().is_some_and(|(_, set)| set == id))
                .and_then(|e| e.order.clone())
        })
        .max();
    // The state-setting history entry with the greatest order: what `Store::record` keeps.
    let implied = timeline
        .iter()
        .filter(|e| e.scopes.contains(scope))
        .filter(|e| {
            moved_up_to
                .as_ref()
                .is_none_or(|up_to| e.order.as_ref().is_some_and(|o| o > up_to))
        })
        .filter_map(|e| {
            let (status, id) = e.sets.clone()?;
            Some((e.order.clone().unwrap_or_default(), status, Some(id)))
        })
        .max_by(|a, b| a.0.cmp(&b.0));
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
    for scoped in &evidence.scoped_states {
        let s = &scoped.state;
        let flag = if scoped.check.ok {
            "OK"
        } else {
            "NEEDS ATTENTION"
        };
        let _ = writeln!(
            out,
            "State for {}: {} since {} (event {}); check {flag}: {}",
            scoped.scope.name(),
            s.status,
            s.since.as_deref().unwrap_or("?"),
            s.event_id.as_deref().unwrap_or("?"),
            scoped.check.message
        );
    }
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
    use crate::domain::inbound::{Api, Encoding};
    use crate::domain::msisdn::Msisdn;
    use crate::domain::origin::{InboundMessage, WebsiteConsent};
    use crate::domain::review::{Decision, Due, Resolution, ReviewStatus};
    use serde_json::json;
    use time::macros::{date, datetime};

    fn t(at: &str) -> OffsetDateTime {
        timestamp::parse_rfc3339(at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn origin(source: &str, at: &str) -> Origin {
        match source {
            "webhook" => Origin::Message(InboundMessage {
                message_id: "M1".into(),
                short_code: "16105553939".into(),
                keyword: Some("STOP".into()),
                phrase: None,
                clarifies: None,
                confirms: None,
                language: None,
                text: "STOP".into(),
                api: Api::Sms,
                encoding: Encoding::GetQuery,
                message_timestamp: None,
                extra: Default::default(),
            }),
            _ => Origin::Website(WebsiteConsent {
                consent_source: "prefs".into(),
                consent_captured_at: at.into(),
                consent_ip: None,
                consent_user_agent: None,
                consent_wording: None,
                provider: None,
                provider_response: None,
                extra: Default::default(),
            }),
        }
    }

    fn history(id: &str, kind: EventKind, at: &str, source: &str) -> Stored {
        let rank = if kind == EventKind::OptOut { '1' } else { '0' };
        let entry = HistoryEntry {
            scopes: vec![crate::domain::program::Scope::Every],
            event_id: id.into(),
            kind,
            occurred_at: t(at),
            received_at: t(at),
            origin: origin(source, at),
            applied: true,
            order: format!("{at}#{rank}#{id}"),
        };
        Stored {
            sk: format!("E#{id}"),
            item: Map::from_iter([("received_at".to_string(), json!(at))]),
            read: Read::History(entry),
        }
    }

    fn state(id: &str, status: Status, at: &str) -> Stored {
        Stored {
            sk: "STATE".into(),
            item: Map::new(),
            read: Read::State {
                scope: Scope::Every,
                state: State {
                    msisdn: "14155550100".into(),
                    status,
                    since: t(at),
                    event_id: id.into(),
                    source: "webhook".into(),
                    channel: None,
                    order: "x".into(),
                },
                updated_at: t(at),
            },
        }
    }

    fn raw(sk: &str, item: Value) -> Stored {
        Stored {
            sk: sk.into(),
            item: item.as_object().cloned().unwrap_or_default(),
            read: Read::Other,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

    #[test]
    fn timeline_is_oldest_first_across_families_and_keeps_unknown_items() {
        let review = Review {
            id: "rv_1".into(),
            msisdn: Msisdn::from_provider("14155550100").unwrap_or_else(|e| panic!("{e}")),
            status: ReviewStatus::Resolved,
            due: Due::Day(date!(2026 - 03 - 05)),
            cue: "unsubscribe?".into(),
            text: "unsubscribe?".into(),
            message_id: "M2".into(),
            message_event_id: "sms:M2".into(),
            short_code: "16105553939".into(),
            message_at: t("2026-03-01T00:00:00.000Z"),
            received_at: t("2026-03-01T00:00:00.000Z"),
            resolution: Some(Resolution {
                decision: Decision::NotRevocation,
                by: "ops@example.com".into(),
                note: None,
                resolved_at: t("2026-03-02T00:00:00.000Z"),
                event_id: "review:rv_1".into(),
                outcome: "noted".into(),
            }),
        };
        let items = vec![
            Stored {
                sk: "V#rv_1".into(),
                item: json!({"created_at": "2026-03-01T00:00:00.000Z", "resolved_at": "2026-03-02T00:00:00.000Z", "due": "2026-03-05"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                read: Read::Review(review),
            },
            history("resub:a", EventKind::Resubscribe, "2026-02-01T00:00:00.000Z", "website"),
            Stored {
                sk: "R#sms:A".into(),
                item: json!({"claimed_at": "2026-01-01T00:00:01.000Z", "sent_at": "2026-01-01T00:00:02.000Z"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                read: Read::Reply {
                    kind: ReplyKind::StopConfirmation,
                    status: ReplyStatus::Sent,
                    text: "You are unsubscribed".into(),
                    detail: None,
                },
            },
            history("sms:A", EventKind::OptOut, "2026-01-01T00:00:00.000Z", "webhook"),
            raw("X#future", json!({"note": "new family", "created_at": "2026-04-01T00:00:00+00:00"})),
            raw("Z#undated", json!({})),
            Stored {
                sk: "REPLY_LOCK".into(),
                item: Map::new(),
                read: Read::Bookkeeping,
            },
            state("resub:a", Status::Subscribed, "2026-02-01T00:00:00.000Z"),
        ];
        let e = build("14155550100", items, NOW);
        let order: Vec<&str> = e.timeline.iter().map(|e| e.sk.as_str()).collect();
        assert_eq!(
            order,
            [
                "E#sms:A",
                "R#sms:A",
                "E#resub:a",
                "V#rv_1",
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
            "decision not_revocation by ops@example.com",
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
                EventKind::OptOut,
                "2026-01-01T00:00:00.000Z",
                "webhook",
            )
        };
        let resub = || {
            history(
                "resub:b",
                EventKind::Resubscribe,
                "2026-01-02T00:00:00.000Z",
                "website",
            )
        };
        let help = || {
            history(
                "sms:H",
                EventKind::Help,
                "2026-01-03T00:00:00.000Z",
                "webhook",
            )
        };
        let result = |items: Vec<Stored>| build("14155550100", items, NOW).check;

        let c = result(vec![]);
        assert_eq!((c.result, c.ok), (CheckResult::NoRecord, true));
        let c = result(vec![help()]);
        assert_eq!((c.result, c.ok), (CheckResult::Consistent, true));
        // The newest state-setting event wins; HELP (newer still) never sets a state.
        let c = result(vec![
            stop(),
            resub(),
            help(),
            state("resub:b", Status::Subscribed, "2026-01-02T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::Consistent, true));
        assert_eq!(c.implied_event_id.as_deref(), Some("resub:b"));
        assert_eq!(c.implied_status, Some(Status::Subscribed));
        // The state names an older event.
        let c = result(vec![
            stop(),
            resub(),
            state("sms:A", Status::OptedOut, "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::Mismatch, false));
        assert!(c.message.contains("resub:b"), "{}", c.message);
        // The right event, the wrong status.
        let c = result(vec![
            stop(),
            state("sms:A", Status::Subscribed, "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!(c.result, CheckResult::Mismatch);
        let c = result(vec![stop()]);
        assert_eq!((c.result, c.ok), (CheckResult::HistoryWithoutState, false));
        let c = result(vec![
            help(),
            state("sms:A", Status::OptedOut, "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!((c.result, c.ok), (CheckResult::StateWithoutHistory, false));
        // Same instant: the opt-out's rank wins the order, as in `Store::record`.
        let tie_resub = history(
            "resub:t",
            EventKind::Resubscribe,
            "2026-01-01T00:00:00.000Z",
            "website",
        );
        let c = result(vec![
            stop(),
            tie_resub,
            state("sms:A", Status::OptedOut, "2026-01-01T00:00:00.000Z"),
        ]);
        assert_eq!(c.result, CheckResult::Consistent);
        let text = render_text(&build(
            "14155550100",
            vec![
                stop(),
                state("sms:A", Status::Subscribed, "2026-01-01T00:00:00.000Z"),
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
        let help = history(
            "sms:H",
            EventKind::Help,
            "2026-01-03T00:00:00.000Z",
            "webhook",
        );
        assert_eq!(record_rank(&[help]), 1);
        let opted_out = state("sms:A", Status::OptedOut, "2026-01-01T00:00:00.000Z");
        assert_eq!(record_rank(&[opted_out]), 0);
    }

    #[test]
    fn text_rendering_escapes_control_characters() {
        let mut stop = history(
            "sms:A",
            EventKind::OptOut,
            "2026-01-01T00:00:00.000Z",
            "webhook",
        );
        stop.item
            .insert("note".into(), json!("line one\nline two\u{1b}[31m"));
        let text = render_text(&build("14155550100", vec![stop], NOW));
        assert!(
            text.contains("note: line one\\nline two\\u{1b}[31m"),
            "{text}"
        );
    }
}
