//! Many opt-outs at once, the part reconciliation ([`crate::reconcile`]) and import
//! ([`crate::import`]) share: decide from the numbers' current states which opt-outs to write,
//! then write those through [`Store::record_many`] (the same conditional writes as
//! [`Store::record`], so "newest event wins" still has one implementation).
//!
//! The decision, for an opt-out dated D (an undated one counts as the UNIX epoch):
//! - we hold nothing for the number → write it;
//! - we hold it as opted out → nothing to do (`AlreadyOptedOut`), whatever the dates;
//! - we hold it as subscribed by an event older than D → write it (it becomes the state);
//! - we hold it as subscribed by an event at or after D (a person's later resubscribe) → do
//!   **not** write it (`OursIsNewer`): only a person's request changes that, and the caller
//!   reports it. ("Older" and "newer" are [`Event::order`], the order `record` itself uses; at the
//!   same instant an opt-out would win, so that case is written.)

use crate::store::{Event, Outcome, State, Status, Store, StoreError};
use std::collections::HashMap;

/// What to do with one opt-out, given what we hold for its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Write,
    AlreadyOptedOut,
    OursIsNewer,
}

/// See the module documentation.
pub fn decide(event: &Event, state: Option<&State>) -> Decision {
    match state {
        None => Decision::Write,
        Some(s) if s.status == Status::OptedOut => Decision::AlreadyOptedOut,
        Some(s) if s.order < event.order() => Decision::Write,
        Some(_) => Decision::OursIsNewer,
    }
}

/// What happened to one opt-out.
#[derive(Debug)]
pub enum BulkResult {
    /// Written, and it is now the number's state.
    Added,
    /// We already hold the number as opted out (or this very event was recorded meanwhile).
    AlreadyOptedOut,
    /// Not written: we hold the number as subscribed by a newer event (see [`Decision`]).
    OursIsNewer(State),
    /// Written as history only: a newer event reached the number between our read and our write.
    Superseded,
    /// The write failed; nothing is known to be written for this event.
    Failed(StoreError),
}

/// Decide each event against `states` (keyed by digits, as [`Store::states`] returns them) and
/// write those to be written. Results are in the order of `events`.
pub async fn apply(
    store: &Store,
    events: &[Event],
    states: &HashMap<String, State>,
    concurrency: usize,
) -> Vec<BulkResult> {
    let mut results: Vec<Option<BulkResult>> = Vec::with_capacity(events.len());
    let mut to_write = Vec::new();
    let mut positions = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let state = states.get(event.msisdn.as_str());
        match decide(event, state) {
            Decision::Write => {
                results.push(None);
                to_write.push(event.clone());
                positions.push(i);
            }
            Decision::AlreadyOptedOut => results.push(Some(BulkResult::AlreadyOptedOut)),
            Decision::OursIsNewer => results.push(state.cloned().map(BulkResult::OursIsNewer)),
        }
    }
    let written = store.record_many(&to_write, concurrency).await;
    for (i, outcome) in positions.into_iter().zip(written) {
        results[i] = Some(match outcome {
            Ok(Outcome::Applied) => BulkResult::Added,
            Ok(Outcome::Superseded) => BulkResult::Superseded,
            Ok(Outcome::Duplicate) => BulkResult::AlreadyOptedOut,
            Err(e) => BulkResult::Failed(e),
        });
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| BulkResult::Failed(StoreError::Unavailable("not written".into())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msisdn::Msisdn;
    use crate::store::EventKind;
    use std::collections::BTreeMap;
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn event(at: OffsetDateTime) -> Event {
        Event {
            msisdn: Msisdn::from_provider("14155550100").expect("valid"),
            kind: EventKind::OptOut,
            event_id: "vonage-sync:x".into(),
            occurred_at: at,
            received_at: at,
            source: "vonage-sync".into(),
            details: BTreeMap::new(),
        }
    }

    fn state(status: Status, e: &Event) -> State {
        State {
            msisdn: e.msisdn.as_str().into(),
            status,
            since: crate::timestamp::format(e.occurred_at),
            event_id: e.event_id.clone(),
            source: e.source.clone(),
            order: e.order(),
        }
    }

    #[test]
    fn decisions() {
        let t = datetime!(2026-01-01 10:00:00 UTC);
        let sync = event(t);
        assert_eq!(decide(&sync, None), Decision::Write);
        let mut older = event(t - time::Duration::days(1));
        older.kind = EventKind::Resubscribe;
        assert_eq!(
            decide(&sync, Some(&state(Status::Subscribed, &older))),
            Decision::Write
        );
        let mut newer = event(t + time::Duration::seconds(1));
        newer.kind = EventKind::Resubscribe;
        assert_eq!(
            decide(&sync, Some(&state(Status::Subscribed, &newer))),
            Decision::OursIsNewer
        );
        // Same instant: the opt-out wins, as in `record`.
        let mut same = event(t);
        same.kind = EventKind::Resubscribe;
        same.event_id = "resub:zzz".into();
        assert_eq!(
            decide(&sync, Some(&state(Status::Subscribed, &same))),
            Decision::Write
        );
        assert_eq!(
            decide(&sync, Some(&state(Status::OptedOut, &newer))),
            Decision::AlreadyOptedOut
        );
        // An undated opt-out never beats a resubscribe, but creates one where we hold nothing.
        let undated = event(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            decide(&undated, Some(&state(Status::Subscribed, &older))),
            Decision::OursIsNewer
        );
        assert_eq!(decide(&undated, None), Decision::Write);
    }
}
