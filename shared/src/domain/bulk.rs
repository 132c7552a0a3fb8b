//! Many opt-outs at once (reconciliation, import): which to write, decided from the numbers'
//! current states ([`decide`]). The writing is `Store::record_many`, the same conditional writes
//! as `Store::record`, so "newest event wins" has one implementation.

use crate::domain::event::{Event, State, Status};

/// What to do with one opt-out, given what we hold for its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Write,
    /// Whatever the dates.
    AlreadyOptedOut,
    /// Subscribed by a newer event ([`Event::order`], what `record` uses): a person's later
    /// resubscribe, which only a person's request changes; the caller reports it.
    OursIsNewer,
}

/// Write unless the number is opted out already or [`Decision::OursIsNewer`].
pub fn decide(event: &Event, state: Option<&State>) -> Decision {
    match state {
        None => Decision::Write,
        Some(s) if s.status == Status::OptedOut => Decision::AlreadyOptedOut,
        Some(s) if s.order < event.order() => Decision::Write,
        Some(_) => Decision::OursIsNewer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventKind;
    use crate::domain::msisdn::Msisdn;
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn event(at: OffsetDateTime) -> Event {
        Event {
            scopes: vec![crate::domain::program::Scope::Every],
            msisdn: Msisdn::from_provider("14155550100").expect("valid"),
            kind: EventKind::OptOut,
            event_id: "vonage-sync:x".into(),
            occurred_at: at,
            received_at: at,
            origin: crate::domain::origin::Origin::VonageSync(
                crate::domain::origin::VonageListEntry {
                    vonage_opt_out_date: None,
                    vonage_opt_in: "false".into(),
                    vonage_opt_in_date: None,
                    extra: Default::default(),
                },
            ),
        }
    }

    fn state(status: Status, e: &Event) -> State {
        State {
            msisdn: e.msisdn.as_str().into(),
            status,
            since: e.occurred_at,
            event_id: e.event_id.clone(),
            source: e.origin.source().into(),
            channel: None,
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
