//! The opt-out record in DynamoDB: one current state per phone number plus an immutable history.
//!
//! Table design (docs/table-design.md; `template.yaml` is its one definition):
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | state | `N#<digits>` | `STATE` | `msisdn`, `status`, `event_at`, `event_id`, `order`, `source`, `updated_at`; `oo_pk`/`oo_sk` only while opted out |
//! | history | `N#<digits>` | `E#<event id>` | `msisdn`, `kind`, `event_id`, `event_at`, `received_at`, `source`, `applied`, `details` (map), `h_order` |
//! | checkpoint | `RECONCILE` | `CHECKPOINT` | `data` (JSON), `updated_at`: where an interrupted reconciliation resumes |
//! | review | `N#<digits>` | `V#<review id>` | the message, its cue and due date, the decision: see [`reviews`] |
//! | review pointer | `REVIEWID#<review id>` | `REVIEWID` | `msisdn` |
//! | idempotency key | `IDEMPOTENCY#<hash>` | `OPT_OUT` | `body_hash`, `event_id`: see [`idempotency`] |
//!
//! - Index `history_by_order` (LSI, sort key `h_order`): a number's history newest first.
//! - Index `opted_out` (sparse GSI, `oo_pk` = `OPTED_OUT`, `oo_sk` = digits): the opted-out list
//!   in number order, read by a query, never a scan.
//! - Index `reviews_by_due` (sparse GSI, `rv_pk` = `REVIEW#open`/`REVIEW#resolved`, `rv_sk` =
//!   `<due>#<received_at>#<id>`): review items oldest due first.
//!
//! Every change goes through [`Store::record`], the one implementation of "newest event wins":
//! the history entry (keyed by the event id, so a redelivery is a no-op) and the state (written
//! only if this event's `order` is greater than the stored one) are written in one transaction,
//! so state and history never disagree whatever step is interrupted. [`Store::record_many`]
//! (reconciliation, import) puts the same conditional writes for up to 50 numbers into one
//! transaction and falls back to `record` for every event of a transaction that is cancelled.
//!
//! Files: this one (the store, [`Store::record`] and the reads of one number), [`items`] (items
//! to and from domain types, keys, cursors), [`bulk`] (many states and many events at once:
//! reconciliation and import), [`lists`] (the opted-out list, history between dates),
//! [`checkpoint`] (where an interrupted run resumes), [`reviews`] (review items),
//! [`idempotency`] (idempotency keys of API writes), [`evidence`] (everything under one number,
//! for its evidence file).

pub mod bulk;
pub mod checkpoint;
pub mod evidence;
pub mod idempotency;
pub mod items;
pub mod lists;
pub mod replies;
pub mod reviews;

use crate::domain::event::{Event, HistoryEntry, Outcome, State};
use crate::domain::msisdn::Msisdn;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use items::{history_item, parse_history, parse_state, partition_key, state_item};
use std::collections::HashMap;
use std::time::Duration;

pub const STATE_SK: &str = crate::domain::sort_keys::STATE;
pub const HISTORY_INDEX: &str = "history_by_order";
pub const OPTED_OUT_INDEX: &str = "opted_out";
pub use reviews::REVIEWS_INDEX;
/// Attempts at one write when DynamoDB reports a conflicting concurrent transaction.
const CONFLICT_ATTEMPTS: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or refused the call: the caller answers 5xx and is retried.
    #[error("dynamodb call failed: {0}")]
    Unavailable(String),
    /// An item that does not have the shape this code writes.
    #[error("unexpected item in table: {0}")]
    Corrupt(String),
    /// A pagination cursor we did not issue.
    #[error("invalid cursor")]
    BadCursor,
}

pub(crate) fn unavailable<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Record one event: append it to history (once per event id) and, if it is newer than
    /// what set the current state, make it the state. Kinds that set no state (HELP, an opt-in
    /// request, ...) are appended to history only ([`Outcome::Noted`]). Safe to call any number of times,
    /// concurrently, for the same event.
    pub async fn record(&self, event: &Event) -> Result<Outcome, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_record(event).await {
                Err(Retry::Conflict(detail)) if attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(attempt, detail, "transaction conflict, retrying");
                    let cap = 25u64 << attempt.min(5);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(5..=cap))).await;
                }
                Err(Retry::Conflict(detail)) => return Err(StoreError::Unavailable(detail)),
                Err(Retry::Fail(err)) => return Err(err),
                Ok(outcome) => return Ok(outcome),
            }
        }
    }

    async fn try_record(&self, event: &Event) -> Result<Outcome, Retry> {
        let order = event.order();
        if event.kind.status().is_none() {
            // History only: this kind never changes the state.
            return Ok(match self.append_history(event, &order).await? {
                true => Outcome::Noted,
                false => Outcome::Duplicate,
            });
        }
        let (history, state) = self.record_puts(event, &order).map_err(Retry::Fail)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(history).build())
            .transact_items(TransactWriteItem::builder().put(state).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Outcome::Applied),
            Err(err) => err,
        };
        let Some(service) = err.as_service_error() else {
            return Err(Retry::Fail(unavailable(err)));
        };
        let codes: Vec<&str> = match service {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                c.cancellation_reasons().iter().filter_map(|r| r.code()).collect()
            }
            other if other.code() == Some("TransactionConflictException") => {
                return Err(Retry::Conflict(other.to_string()))
            }
            _ => return Err(Retry::Fail(unavailable(err))),
        };
        if codes
            .iter()
            .any(|c| *c == "TransactionConflict" || *c == "ThrottlingError")
        {
            return Err(Retry::Conflict(codes.join(",")));
        }
        if !codes.contains(&"ConditionalCheckFailed") && !codes.is_empty() {
            return Err(Retry::Fail(StoreError::Unavailable(format!(
                "transaction cancelled: {}",
                codes.join(",")
            ))));
        }
        // A condition failed: either this event id is already in history (a redelivery), or the
        // state holds a newer event. Append the history entry alone; if it exists, it was a
        // duplicate. The state only ever moves forward, so "older than the state" stays true.
        Ok(match self.append_history(event, &order).await? {
            true => Outcome::Superseded,
            false => Outcome::Duplicate,
        })
    }

    /// The history entry alone (`applied: false`), only if its event id is new: `true` when it
    /// was written, `false` when it already existed.
    async fn append_history(&self, event: &Event, order: &str) -> Result<bool, Retry> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(history_item(event, order, false)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(false),
                Some(e) if e.code() == Some("TransactionConflictException") => {
                    Err(Retry::Conflict(e.to_string()))
                }
                _ => Err(Retry::Fail(unavailable(err))),
            },
        }
    }

    /// The two conditional writes of one event, as [`Store::record`] makes them: the history entry
    /// (only if this event id is new) and the state (only if this event is newer than the stored
    /// one). [`Store::record_many`] puts the same writes into its batch transactions.
    pub(crate) fn record_puts(&self, event: &Event, order: &str) -> Result<(Put, Put), StoreError> {
        let history = Put::builder()
            .table_name(&self.table)
            .set_item(Some(history_item(event, order, true)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable)?;
        let Some(state_item) = state_item(event, order) else {
            return Err(StoreError::Corrupt(format!(
                "a {} event sets no state",
                event.kind.as_str()
            )));
        };
        let state = Put::builder()
            .table_name(&self.table)
            .set_item(Some(state_item))
            .condition_expression("attribute_not_exists(pk) OR #order < :order")
            .expression_attribute_names("#order", "order")
            .expression_attribute_values(":order", AttributeValue::S(order.to_owned()))
            .build()
            .map_err(unavailable)?;
        Ok((history, state))
    }

    /// The current state of a number, if we hold any record of it.
    pub async fn state(&self, msisdn: &Msisdn) -> Result<Option<State>, StoreError> {
        let item = self
            .get_consistent(partition_key(msisdn), STATE_SK.into())
            .await?;
        item.as_ref().map(parse_state).transpose()
    }

    /// The item with this key, read consistently: every read here decides a write or answers
    /// "may we text this number", so none may miss a write that was acknowledged.
    async fn get_consistent(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// A number's history, newest first, at most `limit` entries.
    pub async fn history(
        &self,
        msisdn: &Msisdn,
        limit: i32,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(HISTORY_INDEX)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition_key(msisdn)))
            .scan_index_forward(false)
            .limit(limit)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.items().iter().map(parse_history).collect()
    }
}

enum Retry {
    Conflict(String),
    Fail(StoreError),
}
