//! Review items (`shared::domain::review`): opened by the webhook, listed by due date, resolved
//! by a person through the API.
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | review | `N#<digits>` | `V#<review id>` | `review_id`, `msisdn`, `status`, `due`, `cue`, `text`, `message_id`, `message_event_id`, `short_code`, `message_at`, `received_at`, `created_at`, `rv_pk`, `rv_sk`; once resolved `decision`, `decided_by`, `note`, `resolved_at`, `decision_event_id`, `decision_outcome` |
//! | review pointer | `REVIEWID#<review id>` | `REVIEWID` | `msisdn`: finds a review from its id alone (ids hold no number) |
//!
//! Index `reviews_by_due` (sparse GSI): `rv_pk` = `REVIEW#open` or `REVIEW#resolved`, `rv_sk` =
//! `<due>#<received_at>#<review id>`: each list oldest due first, read by a query, never a scan.
//!
//! A resolution is one transaction: the review's conditional update (only while open, so two
//! concurrent resolves are one decision) together with the history entry, and for an opt-out the
//! state, exactly as [`Store::record`] writes them. Review, history and state never disagree.

use super::items::{history_item, partition_key, s, string};
use super::{unavailable, Retry, Store, StoreError, CONFLICT_ATTEMPTS};
use crate::domain::event::{Event, Outcome};
use crate::domain::msisdn::Msisdn;
use crate::domain::review::{is_review_id, Decision, Resolution, Review, ReviewStatus};
use crate::domain::sort_keys::REVIEW_PREFIX;
use crate::domain::timestamp;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::HashMap;
use std::time::Duration;

pub const REVIEWS_INDEX: &str = "reviews_by_due";
const POINTER_PREFIX: &str = "REVIEWID#";
const POINTER_SK: &str = "REVIEWID";

/// The `rv_pk` of a status's list.
pub fn review_partition(status: ReviewStatus) -> String {
    format!("REVIEW#{}", status.as_str())
}

fn review_sk(id: &str) -> String {
    format!("{REVIEW_PREFIX}{id}")
}

fn list_sk(review: &Review) -> String {
    format!("{}#{}#{}", review.due, review.received_at, review.id)
}

/// What resolving did.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveOutcome {
    /// This call made the decision; what recording its event did.
    Resolved(Outcome),
    /// The review was already resolved (by an earlier or a concurrent call): as it is now.
    AlreadyResolved(Box<Review>),
}

impl Store {
    /// Store a new review item and its pointer, once: `false` when this review id exists (a
    /// redelivery of the same message).
    pub async fn open_review(&self, review: &Review) -> Result<bool, StoreError> {
        let item = review_item(review);
        let pointer = HashMap::from([
            (
                "pk".to_string(),
                s(format!("{POINTER_PREFIX}{}", review.id)),
            ),
            ("sk".to_string(), s(POINTER_SK)),
            ("msisdn".to_string(), s(review.msisdn.as_str())),
        ]);
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(unavailable)
        };
        let (item, pointer) = (put(item)?, put(pointer)?);
        self.transact_if_conditions_hold(vec![
            TransactWriteItem::builder().put(item).build(),
            TransactWriteItem::builder().put(pointer).build(),
        ])
        .await
    }

    /// Write `items` in one transaction: `Ok(true)` when written, `Ok(false)` when a condition
    /// failed (nothing written), retried on a transaction conflict or throttling.
    async fn transact_if_conditions_hold(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        self.with_conflict_retries(|| async {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Ok(_) => Ok(true),
                Err(err) => match cancellation(&err) {
                    Cancelled::Condition => Ok(false),
                    Cancelled::Conflict(detail) => Err(Retry::Conflict(detail)),
                    Cancelled::Other => Err(Retry::Fail(unavailable(err))),
                },
            }
        })
        .await
    }

    /// The review with this id, if there is one (consistent reads).
    pub async fn review(&self, id: &str) -> Result<Option<Review>, StoreError> {
        if !is_review_id(id) {
            return Ok(None);
        }
        let pointer = self
            .get_consistent(format!("{POINTER_PREFIX}{id}"), POINTER_SK.into())
            .await?;
        let Some(pointer) = pointer.as_ref() else {
            return Ok(None);
        };
        let msisdn = Msisdn::from_provider(&string(pointer, "msisdn")?)
            .map_err(|e| StoreError::Corrupt(format!("review pointer: {e}")))?;
        self.review_of(&msisdn, id).await
    }

    async fn review_of(&self, msisdn: &Msisdn, id: &str) -> Result<Option<Review>, StoreError> {
        let item = self
            .get_consistent(partition_key(msisdn), review_sk(id))
            .await?;
        item.as_ref().map(parse_review).transpose()
    }

    /// One page of the reviews with `status`, oldest due first, only those due before
    /// `due_before` (`YYYY-MM-DD`, exclusive) when given. `cursor` is what the previous page
    /// returned; the returned cursor is `None` on the last page.
    pub async fn reviews_page(
        &self,
        status: ReviewStatus,
        due_before: Option<&str>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Review>, Option<String>), StoreError> {
        let partition = review_partition(status);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(REVIEWS_INDEX)
            .expression_attribute_values(":p", s(partition.as_str()))
            .scan_index_forward(true)
            .limit(limit);
        query = match due_before {
            // `rv_sk` starts with the due date, so "< date" is "due before that day".
            Some(day) => query
                .key_condition_expression("rv_pk = :p AND rv_sk < :before")
                .expression_attribute_values(":before", s(day)),
            None => query.key_condition_expression("rv_pk = :p"),
        };
        if let Some(cursor) = cursor {
            query = query.set_exclusive_start_key(Some(decode_cursor(cursor, &partition)?));
        }
        let out = query.send().await.map_err(unavailable)?;
        let reviews = out
            .items()
            .iter()
            .map(parse_review)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key() {
            Some(key) => Some(encode_cursor(key)?),
            None => None,
        };
        Ok((reviews, next))
    }

    /// Every open review, oldest due first (the daily check; a query on the index, page by page).
    pub async fn open_reviews(&self) -> Result<Vec<Review>, StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .reviews_page(ReviewStatus::Open, None, 500, cursor.as_deref())
                .await?;
            all.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Resolve an open review with `resolution`, recording `event` (the decision's history entry;
    /// for an opt-out also the state, newest event wins) in the same transaction. When the review
    /// is no longer open, nothing is written and it is returned as it is now.
    pub async fn resolve_review(
        &self,
        review: &Review,
        resolution: &Resolution,
        event: &Event,
    ) -> Result<ResolveOutcome, StoreError> {
        let order = event.order();
        // Each step is tried in turn: the full write; when only the state condition failed (a
        // newer event holds the state), the history entry unapplied; when the history entry
        // exists already, the review alone.
        let stateful = event.kind.status().is_some();
        let mut steps: Vec<Outcome> = Vec::new();
        if stateful {
            steps.push(Outcome::Applied);
            steps.push(Outcome::Superseded);
        } else {
            steps.push(Outcome::Noted);
        }
        steps.push(Outcome::Duplicate);
        for outcome in steps {
            let mut items = vec![TransactWriteItem::builder()
                .update(self.resolve_update(review, resolution, outcome)?)
                .build()];
            match outcome {
                Outcome::Applied => {
                    let (history, state) = self.record_puts(event, &order)?;
                    items.push(TransactWriteItem::builder().put(history).build());
                    items.push(TransactWriteItem::builder().put(state).build());
                }
                Outcome::Superseded | Outcome::Noted => {
                    let history = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(history_item(event, &order, false)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(unavailable)?;
                    items.push(TransactWriteItem::builder().put(history).build());
                }
                Outcome::Duplicate => {}
            }
            let written = self.transact_if_conditions_hold(items).await?;
            if written {
                return Ok(ResolveOutcome::Resolved(outcome));
            }
            // A condition failed. If the review is no longer open, someone else decided.
            match self.review_of(&review.msisdn, &review.id).await? {
                Some(now) if now.status == ReviewStatus::Resolved => {
                    return Ok(ResolveOutcome::AlreadyResolved(Box::new(now)))
                }
                Some(_) => continue,
                None => return Err(StoreError::Corrupt("review vanished".into())),
            }
        }
        Err(StoreError::Corrupt(
            "review could not be resolved although it is open".into(),
        ))
    }

    fn resolve_update(
        &self,
        review: &Review,
        resolution: &Resolution,
        outcome: Outcome,
    ) -> Result<Update, StoreError> {
        let mut set = vec![
            "#status = :resolved",
            "rv_pk = :rv_pk",
            "decision = :decision",
            "decided_by = :by",
            "resolved_at = :at",
            "decision_event_id = :event_id",
            "decision_outcome = :outcome",
        ];
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key("pk", s(partition_key(&review.msisdn)))
            .key("sk", s(review_sk(&review.id)))
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s(ReviewStatus::Open.as_str()))
            .expression_attribute_values(":resolved", s(ReviewStatus::Resolved.as_str()))
            .expression_attribute_values(":rv_pk", s(review_partition(ReviewStatus::Resolved)))
            .expression_attribute_values(":decision", s(resolution.decision.as_str()))
            .expression_attribute_values(":by", s(resolution.by.as_str()))
            .expression_attribute_values(":at", s(resolution.resolved_at.as_str()))
            .expression_attribute_values(":event_id", s(resolution.event_id.as_str()))
            .expression_attribute_values(":outcome", s(outcome.as_str()));
        if let Some(note) = &resolution.note {
            set.push("note = :note");
            builder = builder.expression_attribute_values(":note", s(note.as_str()));
        }
        builder
            .update_expression(format!("SET {}", set.join(", ")))
            .build()
            .map_err(unavailable)
    }

    /// Runs `attempt` again (with jittered backoff) while DynamoDB reports a conflicting
    /// concurrent transaction, as [`Store::record`] does.
    async fn with_conflict_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Retry>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Retry::Conflict(detail)) if tries < CONFLICT_ATTEMPTS => {
                    tracing::debug!(tries, detail, "transaction conflict, retrying");
                    let cap = 25u64 << tries.min(5);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(5..=cap))).await;
                }
                Err(Retry::Conflict(detail)) => return Err(StoreError::Unavailable(detail)),
                Err(Retry::Fail(err)) => return Err(err),
            }
        }
    }
}

enum Cancelled {
    /// A condition failed (and nothing else went wrong).
    Condition,
    /// A concurrent transaction or throttling: worth retrying.
    Conflict(String),
    Other,
}

fn cancellation<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Cancelled {
    let Some(service) = err.as_service_error() else {
        return Cancelled::Other;
    };
    match service {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .collect();
            if codes
                .iter()
                .any(|c| *c == "TransactionConflict" || *c == "ThrottlingError")
            {
                Cancelled::Conflict(codes.join(","))
            } else if codes.contains(&"ConditionalCheckFailed") || codes.is_empty() {
                Cancelled::Condition
            } else {
                Cancelled::Other
            }
        }
        other if other.code() == Some("TransactionConflictException") => {
            Cancelled::Conflict(other.to_string())
        }
        _ => Cancelled::Other,
    }
}

fn review_item(review: &Review) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".into(), s(partition_key(&review.msisdn))),
        ("sk".into(), s(review_sk(&review.id))),
        ("review_id".into(), s(review.id.as_str())),
        ("msisdn".into(), s(review.msisdn.as_str())),
        ("status".into(), s(review.status.as_str())),
        ("due".into(), s(review.due.as_str())),
        ("cue".into(), s(review.cue.as_str())),
        ("text".into(), s(review.text.as_str())),
        ("message_id".into(), s(review.message_id.as_str())),
        (
            "message_event_id".into(),
            s(review.message_event_id.as_str()),
        ),
        ("short_code".into(), s(review.short_code.as_str())),
        ("message_at".into(), s(review.message_at.as_str())),
        ("received_at".into(), s(review.received_at.as_str())),
        ("created_at".into(), s(timestamp::format(timestamp::now()))),
        ("rv_pk".into(), s(review_partition(review.status))),
        ("rv_sk".into(), s(list_sk(review))),
    ])
}

fn parse_review(item: &HashMap<String, AttributeValue>) -> Result<Review, StoreError> {
    let status = string(item, "status")?;
    let status = ReviewStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown review status `{status}`")))?;
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let resolution = match status {
        ReviewStatus::Open => None,
        ReviewStatus::Resolved => {
            let decision = string(item, "decision")?;
            Some(Resolution {
                decision: Decision::parse(&decision)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown decision `{decision}`")))?,
                by: string(item, "decided_by")?,
                note: optional("note"),
                resolved_at: string(item, "resolved_at")?,
                event_id: string(item, "decision_event_id")?,
                outcome: string(item, "decision_outcome")?,
            })
        }
    };
    Ok(Review {
        id: string(item, "review_id")?,
        msisdn: Msisdn::from_provider(&string(item, "msisdn")?)
            .map_err(|e| StoreError::Corrupt(format!("review msisdn: {e}")))?,
        status,
        due: string(item, "due")?,
        cue: string(item, "cue")?,
        text: string(item, "text")?,
        message_id: string(item, "message_id")?,
        message_event_id: string(item, "message_event_id")?,
        short_code: string(item, "short_code")?,
        message_at: string(item, "message_at")?,
        received_at: string(item, "received_at")?,
        resolution,
    })
}

/// The position after a page: base64url of `v1:` and the JSON of the index and table keys.
fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
    use base64::Engine;
    let keys = [
        string(key, "pk")?,
        string(key, "sk")?,
        string(key, "rv_sk")?,
    ];
    let json = serde_json::to_string(&keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{json}")))
}

/// A cursor back into a start key, for the list it was issued for; anything else is refused.
fn decode_cursor(
    cursor: &str,
    partition: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::BadCursor)?;
    let json = text.strip_prefix("v1:").ok_or(StoreError::BadCursor)?;
    let [pk, sk, rv_sk]: [String; 3] =
        serde_json::from_str(json).map_err(|_| StoreError::BadCursor)?;
    let id = sk
        .strip_prefix(REVIEW_PREFIX)
        .ok_or(StoreError::BadCursor)?;
    let digits = pk.strip_prefix("N#").ok_or(StoreError::BadCursor)?;
    if !is_review_id(id) || Msisdn::from_provider(digits).is_err() || !rv_sk.ends_with(id) {
        return Err(StoreError::BadCursor);
    }
    Ok(HashMap::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(sk)),
        ("rv_pk".to_string(), s(partition)),
        ("rv_sk".to_string(), s(rv_sk)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = format!("rv_{}", "a".repeat(32));
        let key = HashMap::from([
            ("pk".to_string(), s("N#14155550100")),
            ("sk".to_string(), s(format!("V#{id}"))),
            ("rv_pk".to_string(), s("REVIEW#open")),
            (
                "rv_sk".to_string(),
                s(format!("2026-12-01#2026-11-16T10:00:00.000Z#{id}")),
            ),
        ]);
        let cursor = encode_cursor(&key).unwrap();
        assert_eq!(decode_cursor(&cursor, "REVIEW#open").unwrap(), key);
        for bad in ["", "!!", "djE6W10", "djI6W10"] {
            assert!(
                matches!(
                    decode_cursor(bad, "REVIEW#open"),
                    Err(StoreError::BadCursor)
                ),
                "{bad}"
            );
        }
    }
}
