//! What happens to a number, and which event wins: the record's domain types and the one
//! ordering rule every write uses.
//!
//! **Newest event wins.** Each event has an [`Event::order`]: its time (fixed-width UTC,
//! milliseconds), then its kind's rank (an opt-out above a resubscribe, so a tie keeps the
//! opt-out: texting someone who said stop is the worse mistake), then its id (deterministic). A
//! number's state is the event with the greatest order; `Store::record` writes a state only if its
//! order is greater than the stored one, and appends every event to history once per event id.

use crate::domain::msisdn::Msisdn;
use crate::domain::origin::Origin;
use crate::domain::program::Scope;
use crate::domain::timestamp;
use serde::Serialize;
use time::OffsetDateTime;

crate::named_enum! {
    /// Opted out, or allowed to receive messages (a consent or a resubscribe).
    #[strum(serialize_all = "snake_case")]
    pub enum Status {
        OptedOut,
        Subscribed,
    }
}

crate::named_enum! {
    /// What happened to a number, from any source. Three kinds set the number's state (an
    /// opt-out, a resubscribe, a consent); the others are history only, kept for the audit and for
    /// the replies the stream drives (they never change the state).
    #[strum(serialize_all = "snake_case")]
    pub enum EventKind {
        OptOut,
        Resubscribe,
        /// The person texted HELP or INFO.
        Help,
        /// The person texted an opt-in word (START, ...) where Vonage's block must be lifted first
        /// (`short-code-api` mode): the notify function asks Vonage, then records the resubscribe.
        OptInRequest,
        /// Vonage refused to lift its block for an opt-in request: the opt-out stands.
        OptInRefused,
        /// A person decided a review item was not a revocation (a decision to opt out is an
        /// [`EventKind::OptOut`] with source `review`): the audit shows every decision.
        ReviewDecision,
        /// Consent given to be texted, with its evidence (`POST /consents`, an import, a join
        /// by text): sets `subscribed` like a resubscribe (docs/decisions/0016-consent-ledger.md).
        Consent,
        /// A join by text to a program that asks for confirmation: waits for the person's YES
        /// (history only; the prompt is sent from it).
        ConsentRequest,
    }
}

impl EventKind {
    /// The state an event of this kind sets, if it sets one.
    pub fn status(self) -> Option<Status> {
        match self {
            EventKind::OptOut => Some(Status::OptedOut),
            EventKind::Resubscribe | EventKind::Consent => Some(Status::Subscribed),
            EventKind::Help
            | EventKind::OptInRequest
            | EventKind::OptInRefused
            | EventKind::ReviewDecision
            | EventKind::ConsentRequest => None,
        }
    }
    /// Tie-break between events of the same instant (module docs).
    fn rank(self) -> char {
        match self {
            EventKind::OptOut => '1',
            _ => '0',
        }
    }
}

/// One event to record. `event_id` is unique per real-world event and stable across
/// redeliveries (e.g. `sms:<messageId>`): it is the idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub msisdn: Msisdn,
    pub kind: EventKind,
    pub event_id: String,
    /// When it happened (the person's message, their consent): decides which event is newest.
    pub occurred_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    /// Where it came from, with its evidence.
    pub origin: Origin,
    /// What it opts out of or resubscribes to: one state item each (`Store::record`). Never
    /// empty; `[Scope::Every]` in a deployment without programs.
    pub scopes: Vec<Scope>,
}

impl Event {
    pub fn from_history(msisdn: Msisdn, entry: &HistoryEntry) -> Event {
        Event {
            msisdn,
            kind: entry.kind,
            event_id: entry.event_id.clone(),
            occurred_at: entry.occurred_at,
            received_at: entry.received_at,
            origin: entry.origin.clone(),
            scopes: entry.scopes.clone(),
        }
    }

    /// The ordering key (module docs); fixed-width timestamps make string order event order.
    pub fn order(&self) -> String {
        format!(
            "{}#{}#{}",
            timestamp::format(self.occurred_at),
            self.kind.rank(),
            self.event_id
        )
    }
}

crate::named_enum! {
    /// What recording an event did (`Store::record`).
    #[strum(serialize_all = "snake_case")]
    pub enum Outcome {
        /// History appended and state set by this event.
        Applied,
        /// History appended; the state already reflects a newer event and was left alone.
        Superseded,
        /// This event id was recorded before; nothing changed.
        Duplicate,
        /// History appended for a kind that never changes the state.
        Noted,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub msisdn: String,
    pub status: Status,
    /// Time of the event that set the state.
    #[serde(with = "timestamp::fixed")]
    pub since: OffsetDateTime,
    pub event_id: String,
    /// The `source` of that event.
    pub source: String,
    /// How the consent that set a `subscribed` state was given, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::domain::consent::ConsentChannel>,
    #[serde(skip)]
    pub order: String,
}

/// One history entry as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub event_id: String,
    pub kind: EventKind,
    #[serde(with = "timestamp::fixed")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "timestamp::fixed")]
    pub received_at: OffsetDateTime,
    /// `source` and `details`.
    #[serde(flatten)]
    pub origin: Origin,
    /// Whether this event set the state when recorded.
    pub applied: bool,
    /// What it opted out of or resubscribed to (not in the API's answers yet: the campaigns
    /// work adds it to openapi.yaml with the routes that take a program).
    #[serde(skip)]
    pub scopes: Vec<Scope>,
    /// Its [`Event::order`] as recorded.
    #[serde(skip)]
    pub order: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptedOut {
    pub msisdn: String,
    #[serde(with = "timestamp::fixed")]
    pub since: OffsetDateTime,
}

/// Of the readings of an input (`Msisdn::readings`), each with what we found for it, the one to
/// answer for: the lowest `rank`, the first (strict) of equals. Every read route answers this
/// way, so none says "may send" while another reading of the same input is opted out.
pub fn pick_reading<T>(found: Vec<(Msisdn, T)>, rank: impl Fn(&T) -> u8) -> Option<(Msisdn, T)> {
    // `min_by_key` keeps the first of equals.
    let best = (0..found.len()).min_by_key(|&i| rank(&found[i].1))?;
    found.into_iter().nth(best)
}

/// The rank [`pick_reading`] uses for a state: opted out first, then any record, then none.
pub fn state_rank(state: Option<&State>) -> u8 {
    match state {
        Some(s) if s.status == Status::OptedOut => 0,
        Some(_) => 1,
        None => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(kind: EventKind, at: OffsetDateTime, id: &str) -> Event {
        Event {
            scopes: vec![crate::domain::program::Scope::Every],
            msisdn: Msisdn::from_provider("14155550100").unwrap(),
            kind,
            event_id: id.into(),
            occurred_at: at,
            received_at: at,
            origin: Origin::Other {
                source: "test".into(),
                details: Default::default(),
            },
        }
    }

    #[test]
    fn kinds_round_trip_and_only_opt_outs_and_consents_set_a_state() {
        for &kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        let stateful: Vec<_> = EventKind::ALL
            .iter()
            .copied()
            .filter(|k| k.status().is_some())
            .collect();
        assert_eq!(
            stateful,
            [
                EventKind::OptOut,
                EventKind::Resubscribe,
                EventKind::Consent
            ]
        );
    }

    #[test]
    fn order_is_time_then_opt_out_wins_ties() {
        let t = datetime!(2026-01-01 10:00:00 UTC);
        let stop = event(EventKind::OptOut, t, "sms:A");
        let resub = event(EventKind::Resubscribe, t, "resub:Z");
        let later = event(
            EventKind::Resubscribe,
            t + time::Duration::milliseconds(1),
            "resub:A",
        );
        assert!(resub.order() < stop.order());
        assert!(stop.order() < later.order());
    }

    fn state(status: Status) -> State {
        State {
            msisdn: "14155550100".into(),
            status,
            since: datetime!(2026-01-01 00:00:00 UTC),
            event_id: "e".into(),
            source: "test".into(),
            channel: None,
            order: "o".into(),
        }
    }

    #[test]
    fn an_opted_out_reading_wins_then_a_known_one_then_the_first() {
        let n = |d: &str| Msisdn::from_provider(d).unwrap();
        let pick = |found: Vec<(Msisdn, Option<State>)>| {
            pick_reading(found, |s| state_rank(s.as_ref())).map(|(m, _)| m.as_str().to_owned())
        };
        let (a, b) = (n("14155550100"), n("4155550100"));
        assert_eq!(pick(vec![]), None);
        assert_eq!(
            pick(vec![(a.clone(), None), (b.clone(), None)]).as_deref(),
            Some("14155550100")
        );
        assert_eq!(
            pick(vec![
                (a.clone(), None),
                (b.clone(), Some(state(Status::Subscribed)))
            ])
            .as_deref(),
            Some("4155550100")
        );
        assert_eq!(
            pick(vec![
                (a.clone(), Some(state(Status::Subscribed))),
                (b.clone(), Some(state(Status::OptedOut)))
            ])
            .as_deref(),
            Some("4155550100")
        );
        assert_eq!(
            pick(vec![
                (a, Some(state(Status::OptedOut))),
                (b, Some(state(Status::OptedOut)))
            ])
            .as_deref(),
            Some("14155550100")
        );
    }
}
