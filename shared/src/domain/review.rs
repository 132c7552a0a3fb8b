//! Review items: inbound messages that may be a revocation (a review cue, no keyword or clear
//! phrase), kept for a person to decide within the FCC's 10 business days. Only the decision
//! changes anything ([`decision_event`]): an opt-out dated at the message (the person revoked
//! then), or a note in history that it was not a revocation, so the audit shows every decision.

use crate::domain::business_days::{add_business_days, receipt_day};
use crate::domain::event::{Event, EventKind};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::{Origin, ReviewDecision};
use crate::domain::program::Scope;
use crate::domain::timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

/// Business days a person has to decide (FCC 24-24: honour a revocation within 10).
pub const REVIEW_BUSINESS_DAYS: u32 = 10;
/// History `source` of the events a decision records.
pub const SOURCE: &str = "review";
/// Followed by 32 lower-case hex digits.
const ID_PREFIX: &str = "rv_";

crate::named_enum! {
    #[strum(serialize_all = "snake_case")]
    pub enum ReviewStatus {
        Open,
        Resolved,
    }
}

crate::named_enum! {
    #[strum(serialize_all = "snake_case")]
    pub enum Decision {
        /// The message was a revocation: record the opt-out, dated at the message.
        OptOut,
        /// It was not: nothing changes but the audit trail.
        NotRevocation,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub id: String,
    pub msisdn: Msisdn,
    pub status: ReviewStatus,
    /// The last day (a US business day) to decide.
    pub due: Due,
    /// The cue that sent the message here.
    pub cue: String,
    /// The first 160 characters.
    pub text: String,
    /// Vonage's message id, and the event id a keyword in it would have had (`sms:<id>`).
    pub message_id: String,
    pub message_event_id: String,
    /// The short code or number the person texted.
    pub short_code: String,
    /// The message's own time, never later than our receipt: what an opt-out decision is dated at.
    #[serde(with = "timestamp::fixed")]
    pub message_at: OffsetDateTime,
    /// When our webhook received it: the business-day clock starts here.
    #[serde(with = "timestamp::fixed")]
    pub received_at: OffsetDateTime,
    pub resolution: Option<Resolution>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub decision: Decision,
    /// Who decided (an operator's name or id).
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(with = "timestamp::fixed")]
    pub resolved_at: OffsetDateTime,
    /// The history entry the decision recorded (`review:<id>`).
    pub event_id: String,
    /// What recording it did (`applied`, `superseded`, `noted`, `duplicate`).
    pub outcome: String,
}

/// The last day to decide: a date (`YYYY-MM-DD`), or text stored by something else that is not
/// one, kept as it is (listed, and counted overdue: looked at rather than missed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    Day(Date),
    Unreadable(String),
}

impl std::fmt::Display for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Due::Day(day) => f.write_str(&format_date(*day)),
            Due::Unreadable(text) => f.write_str(text),
        }
    }
}

impl Serialize for Due {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Due {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(parse_date(&text).map_or(Due::Unreadable(text), Due::Day))
    }
}

/// Stable across Vonage's redeliveries (built on the message's event id), and free of the phone
/// number (it goes into URLs and logs).
pub fn review_id(msisdn: &Msisdn, message_event_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(msisdn.as_str().as_bytes());
    hasher.update([0u8]);
    hasher.update(message_event_id.as_bytes());
    format!("{ID_PREFIX}{}", hex::encode(&hasher.finalize()[..16]))
}

/// Whether `id` has the shape of a review id (checked before any read).
pub fn is_review_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The 10th business day after the US receipt day ([`receipt_day`]); `None` past the year 9999.
pub fn due_date(received_at: OffsetDateTime) -> Option<Date> {
    add_business_days(receipt_day(received_at), REVIEW_BUSINESS_DAYS)
}

pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &format).ok()
}

/// The history event a decision records: an opt-out dated at the message (newest event wins
/// decides whether it becomes the state), or a note. One decision per review (`review:<id>`).
pub fn decision_event(
    review: &Review,
    decision: Decision,
    by: &str,
    note: Option<&str>,
    scopes: Vec<Scope>,
    now: OffsetDateTime,
) -> Event {
    let (kind, occurred_at) = match decision {
        Decision::OptOut => (EventKind::OptOut, review.message_at),
        Decision::NotRevocation => (EventKind::ReviewDecision, now),
    };
    Event {
        scopes,
        msisdn: review.msisdn.clone(),
        kind,
        event_id: format!("review:{}", review.id),
        occurred_at,
        received_at: now,
        origin: Origin::Review(ReviewDecision {
            review_id: review.id.clone(),
            decision,
            decided_by: by.to_owned(),
            note: note.map(str::to_owned),
            cue: review.cue.clone(),
            message_id: review.message_id.clone(),
            message_event_id: review.message_event_id.clone(),
            short_code: review.short_code.clone(),
            text: review.text.clone(),
            message_received_at: timestamp::format(review.received_at),
            extra: Default::default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn ids_are_stable_hash_shaped_and_hold_no_number() {
        let n = Msisdn::from_provider("14155550100").unwrap();
        let a = review_id(&n, "sms:ABC");
        assert_eq!(a, review_id(&n, "sms:ABC"));
        assert_ne!(a, review_id(&n, "sms:ABD"));
        assert!(is_review_id(&a), "{a}");
        assert!(!a.contains("0100"));
        for bad in [
            "",
            "rv_",
            "rv_XYZ",
            "sms:ABC",
            &a.to_uppercase(),
            &format!("{a}0"),
        ] {
            assert!(!is_review_id(bad), "{bad}");
        }
    }

    #[test]
    fn due_is_ten_business_days_after_the_us_receipt_day() {
        // Tuesday 22 December 2026, 15:00 UTC: Christmas and New Year's Day are skipped.
        assert_eq!(
            due_date(datetime!(2026-12-22 15:00 UTC)),
            Some(date!(2027 - 01 - 07))
        );
        // 02:00 UTC on Wednesday 23 December is still Tuesday in the US.
        assert_eq!(
            due_date(datetime!(2026-12-23 02:00 UTC)),
            Some(date!(2027 - 01 - 07))
        );
        assert_eq!(format_date(date!(2027 - 01 - 07)), "2027-01-07");
        assert_eq!(parse_date("2027-01-07"), Some(date!(2027 - 01 - 07)));
        assert_eq!(parse_date("2027-1-7"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }

    #[test]
    fn decisions_round_trip() {
        for d in [Decision::OptOut, Decision::NotRevocation] {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        for s in [ReviewStatus::Open, ReviewStatus::Resolved] {
            assert_eq!(ReviewStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Decision::parse("OPT_OUT"), None);
    }
}
