//! The `review-check` function: once a day, how the open review items stand against the FCC's
//! 10-business-day window (`due_soon`: within 2 business days; `overdue`: past the due date, in
//! US Eastern time), as metrics the overdue alarm watches and one report (also
//! `optout-admin reviews check`). It only reads; deciding stays a person's job.

use crate::adapters::metrics::{Metric, Metrics};
use crate::adapters::store::{Store, StoreError};
use crate::domain::business_days::{add_business_days, receipt_day};
use crate::domain::review::{format_date, Due, Review};
use serde::Serialize;
use time::OffsetDateTime;

pub const FUNCTION: &str = "review-check";
pub const DUE_SOON_BUSINESS_DAYS: u32 = 2;
/// Overdue items named in the report (all are counted).
const MAX_LISTED: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewReport {
    /// Today, as the business-day clock reads it (US Eastern).
    pub today: String,
    pub open: u64,
    pub due_soon: u64,
    pub overdue: u64,
    /// The oldest due date among open items.
    pub oldest_due: Option<String>,
    /// The first overdue items, oldest due first.
    pub overdue_items: Vec<OverdueItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueItem {
    pub id: String,
    pub due: String,
    /// Masked: the report goes to logs.
    pub msisdn: String,
}

/// Count `open` (open review items, oldest due first) at `now`.
pub fn report(open: &[Review], now: OffsetDateTime) -> ReviewReport {
    let today = receipt_day(now);
    let soon = add_business_days(today, DUE_SOON_BUSINESS_DAYS);
    let mut report = ReviewReport {
        today: format_date(today),
        open: open.len() as u64,
        due_soon: 0,
        overdue: 0,
        oldest_due: open.iter().map(|r| &r.due).min().map(Due::to_string),
        overdue_items: Vec::new(),
    };
    for review in open {
        // An unreadable due date counts as overdue (look at it rather than miss it).
        let due = match &review.due {
            Due::Day(day) => Some(*day),
            Due::Unreadable(_) => None,
        };
        if due.is_none_or(|day| day < today) {
            report.overdue += 1;
            if report.overdue_items.len() < MAX_LISTED {
                report.overdue_items.push(OverdueItem {
                    id: review.id.clone(),
                    due: review.due.to_string(),
                    msisdn: review.msisdn.masked(),
                });
            }
        } else if due.zip(soon).is_some_and(|(day, soon)| day <= soon) {
            report.due_soon += 1;
        }
    }
    report
}

/// Read every open review item and report (no metrics: `optout-admin reviews check`).
pub async fn check(store: &Store, now: OffsetDateTime) -> Result<ReviewReport, StoreError> {
    let open = store.open_reviews().await?;
    Ok(report(&open, now))
}

/// The scheduled run: [`check`], then the three gauges and a warning when any item is overdue.
pub async fn run(store: &Store, now: OffsetDateTime) -> Result<ReviewReport, StoreError> {
    let report = check(store, now).await?;
    Metrics::new(FUNCTION)
        .value(Metric::ReviewItemsOpen, report.open as f64)
        .value(Metric::ReviewItemsDueSoon, report.due_soon as f64)
        .value(Metric::ReviewItemsOverdue, report.overdue as f64)
        .emit();
    if report.overdue > 0 {
        tracing::warn!(
            overdue = report.overdue,
            oldest_due = report.oldest_due,
            "review items are past their due date"
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::msisdn::Msisdn;
    use crate::domain::review::ReviewStatus;
    use time::macros::datetime;

    fn open(id: &str, due: &str) -> Review {
        let at = datetime!(2026-11-01 10:00 UTC);
        Review {
            id: id.into(),
            msisdn: Msisdn::from_provider("14155550100").unwrap(),
            status: ReviewStatus::Open,
            due: serde_json::from_value(serde_json::json!(due))
                .unwrap_or(Due::Unreadable(due.into())),
            cue: "spam".into(),
            text: "spam".into(),
            message_id: "M".into(),
            message_event_id: "sms:M".into(),
            short_code: "16105553939".into(),
            message_at: at,
            received_at: at,
            resolution: None,
        }
    }

    #[test]
    fn counts_overdue_and_due_within_two_business_days() {
        // Friday 4 December 2026, 15:00 UTC: two business days on is Tuesday 8 December.
        let now = datetime!(2026-12-04 15:00 UTC);
        let items = [
            open("a", "2026-12-03"), // overdue
            open("b", "2026-12-04"), // due today: soon, not overdue
            open("c", "2026-12-07"), // Monday: soon
            open("d", "2026-12-08"), // Tuesday: soon
            open("e", "2026-12-09"), // later
            open("f", "garbage"),    // unreadable: overdue
        ];
        let r = report(&items, now);
        assert_eq!(r.today, "2026-12-04");
        assert_eq!((r.open, r.due_soon, r.overdue), (6, 3, 2));
        assert_eq!(r.overdue_items.len(), 2);
        assert_eq!(r.overdue_items[0].msisdn, "*******0100");
        assert_eq!(r.oldest_due.as_deref(), Some("2026-12-03"));
        let empty = report(&[], now);
        assert_eq!((empty.open, empty.due_soon, empty.overdue), (0, 0, 0));
        assert_eq!(empty.oldest_due, None);
    }
}
