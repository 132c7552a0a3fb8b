//! The opt-out record in DynamoDB: one current state per phone number plus an immutable history.
//!
//! Table design (README "Table design"; `template.yaml` is its one definition):
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | state | `N#<digits>` | `STATE` | `msisdn`, `status`, `event_at`, `event_id`, `order`, `source`, `updated_at`; `oo_pk`/`oo_sk` only while opted out |
//! | history | `N#<digits>` | `E#<event id>` | `msisdn`, `kind`, `event_id`, `event_at`, `received_at`, `source`, `applied`, `details` (map), `h_order` |
//! | checkpoint | `RECONCILE` | `CHECKPOINT` | `data` (JSON), `updated_at`: where an interrupted reconciliation resumes |
//!
//! - Index `history_by_order` (LSI, sort key `h_order`): a number's history newest first.
//! - Index `opted_out` (sparse GSI, `oo_pk` = `OPTED_OUT`, `oo_sk` = digits): the opted-out list
//!   in number order, read by a query, never a scan.
//!
//! Every change goes through [`Store::record`], the one implementation of "newest event wins":
//! the history entry (keyed by the event id, so a redelivery is a no-op) and the state (written
//! only if this event's `order` is greater than the stored one) are written in one transaction,
//! so state and history never disagree whatever step is interrupted. [`Store::record_many`]
//! (reconciliation, import) puts the same conditional writes for up to 50 numbers into one
//! transaction and falls back to `record` for every event of a transaction that is cancelled.

use crate::msisdn::Msisdn;
use crate::timestamp;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use time::OffsetDateTime;

pub const STATE_SK: &str = "STATE";
pub const HISTORY_INDEX: &str = "history_by_order";
pub const OPTED_OUT_INDEX: &str = "opted_out";
const OPTED_OUT_PARTITION: &str = "OPTED_OUT";
/// Attempts at one write when DynamoDB reports a conflicting concurrent transaction.
const CONFLICT_ATTEMPTS: u32 = 6;

/// Opted out, or (again) allowed to receive messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OptedOut,
    Subscribed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OptedOut => "opted_out",
            Status::Subscribed => "subscribed",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "opted_out" => Some(Status::OptedOut),
            "subscribed" => Some(Status::Subscribed),
            _ => None,
        }
    }
}

/// What happened to a number, from any source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    OptOut,
    Resubscribe,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OptOut => "opt_out",
            EventKind::Resubscribe => "resubscribe",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "opt_out" => Some(EventKind::OptOut),
            "resubscribe" => Some(EventKind::Resubscribe),
            _ => None,
        }
    }
    fn status(self) -> Status {
        match self {
            EventKind::OptOut => Status::OptedOut,
            EventKind::Resubscribe => Status::Subscribed,
        }
    }
    /// Tie-break between events stamped with the same instant: the opt-out wins, because texting
    /// someone who said stop is the worse mistake.
    fn rank(self) -> char {
        match self {
            EventKind::Resubscribe => '0',
            EventKind::OptOut => '1',
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
    /// When the event happened (the person's message, their consent): decides which event is newest.
    pub occurred_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    /// `webhook`, `website`, `vonage-sync`, `import`.
    pub source: String,
    /// Evidence kept in the history entry (message id, short code, keyword, API, consent ...).
    pub details: BTreeMap<String, String>,
}

impl Event {
    /// The ordering key: time first, then kind (opt-out wins a tie), then id (deterministic).
    /// Fixed-width timestamps make string order equal event order.
    pub fn order(&self) -> String {
        format!(
            "{}#{}#{}",
            timestamp::format(self.occurred_at),
            self.kind.rank(),
            self.event_id
        )
    }
}

/// What [`Store::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// History appended and state set by this event.
    Applied,
    /// History appended; the state already reflects a newer event and was left alone.
    Superseded,
    /// This event id was recorded before; nothing changed.
    Duplicate,
}

/// The current state of one number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub msisdn: String,
    pub status: Status,
    /// Time of the event that set the state.
    pub since: String,
    pub event_id: String,
    pub source: String,
    #[serde(skip)]
    pub order: String,
}

/// One history entry as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub event_id: String,
    pub kind: EventKind,
    pub occurred_at: String,
    pub received_at: String,
    pub source: String,
    /// Whether this event set the state when it was recorded (false: a newer event already had).
    pub applied: bool,
    pub details: BTreeMap<String, String>,
}

/// One entry of the opted-out list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptedOut {
    pub msisdn: String,
    pub since: String,
}

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

fn unavailable<E: std::error::Error + 'static>(err: E) -> StoreError {
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
    /// what set the current state, make it the state. Safe to call any number of times,
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
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(history_item(event, &order, false)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Outcome::Superseded),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(Outcome::Duplicate),
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
    fn record_puts(&self, event: &Event, order: &str) -> Result<(Put, Put), StoreError> {
        let history = Put::builder()
            .table_name(&self.table)
            .set_item(Some(history_item(event, order, true)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable)?;
        let state = Put::builder()
            .table_name(&self.table)
            .set_item(Some(state_item(event, order)))
            .condition_expression("attribute_not_exists(pk) OR #order < :order")
            .expression_attribute_names("#order", "order")
            .expression_attribute_values(":order", AttributeValue::S(order.to_owned()))
            .build()
            .map_err(unavailable)?;
        Ok((history, state))
    }

    /// The current state of a number, if we hold any record of it.
    pub async fn state(&self, msisdn: &Msisdn) -> Result<Option<State>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(partition_key(msisdn)))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(parse_state).transpose()
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

    /// One page of the opted-out list in number order. `cursor` is what the previous page
    /// returned; the returned cursor is `None` on the last page.
    pub async fn opted_out_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<OptedOut>, Option<String>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPTED_OUT_INDEX)
            .key_condition_expression("oo_pk = :p")
            .expression_attribute_values(":p", AttributeValue::S(OPTED_OUT_PARTITION.into()))
            .limit(limit);
        if let Some(cursor) = cursor {
            let msisdn = decode_cursor(cursor)?;
            let mut start = HashMap::new();
            start.insert("pk".into(), AttributeValue::S(partition_key(&msisdn)));
            start.insert("sk".into(), AttributeValue::S(STATE_SK.into()));
            start.insert(
                "oo_pk".into(),
                AttributeValue::S(OPTED_OUT_PARTITION.into()),
            );
            start.insert("oo_sk".into(), AttributeValue::S(msisdn.as_str().into()));
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query.send().await.map_err(unavailable)?;
        let items = out
            .items()
            .iter()
            .map(|item| {
                Ok(OptedOut {
                    msisdn: string(item, "msisdn")?,
                    since: string(item, "event_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = match out.last_evaluated_key() {
            Some(key) => Some(encode_cursor(&string(key, "oo_sk")?)),
            None => None,
        };
        Ok((items, next))
    }
}

/// Events written per transaction by [`Store::record_many`]: two writes each, and a DynamoDB
/// transaction holds at most 100.
pub const EVENTS_PER_TRANSACTION: usize = 50;
/// Keys per BatchGetItem request (DynamoDB's limit).
const BATCH_GET_KEYS: usize = 100;
/// Requests per BatchGetItem chunk while DynamoDB keeps returning unprocessed keys.
const BATCH_GET_ATTEMPTS: u32 = 8;
/// Sort key of a checkpoint item (partition key: the checkpoint's name, e.g. `RECONCILE`).
pub const CHECKPOINT_SK: &str = "CHECKPOINT";

/// One history entry with the number it belongs to (the history export).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumberHistoryEntry {
    pub msisdn: String,
    #[serde(flatten)]
    pub entry: HistoryEntry,
}

/// Where [`Store::history_between`] goes on; opaque to callers.
#[derive(Debug, Clone)]
pub struct ScanCursor(HashMap<String, AttributeValue>);

/// Bulk reads and writes for reconciliation and import, and the checkpoint item. The writes go
/// through the same conditional puts as [`Store::record`]: there is still one rule.
impl Store {
    /// The current states of many numbers, keyed by their digits; numbers we hold nothing for are
    /// absent. BatchGetItem, 100 keys a request, strongly consistent; repeated numbers are read once.
    pub async fn states(&self, numbers: &[Msisdn]) -> Result<HashMap<String, State>, StoreError> {
        let mut unique: Vec<&Msisdn> = Vec::with_capacity(numbers.len());
        let mut seen = std::collections::HashSet::new();
        for n in numbers {
            if seen.insert(n.as_str()) {
                unique.push(n);
            }
        }
        let mut states = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_KEYS) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|n| {
                    HashMap::from([
                        ("pk".to_string(), s(partition_key(n))),
                        ("sk".to_string(), s(STATE_SK)),
                    ])
                })
                .collect();
            // Only what `State` needs: smaller answers (a local server spends its time on them).
            let mut pending = Some(
                aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .projection_expression("#m, #st, #at, #id, #src, #o")
                    .expression_attribute_names("#m", "msisdn")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_names("#at", "event_at")
                    .expression_attribute_names("#id", "event_id")
                    .expression_attribute_names("#src", "source")
                    .expression_attribute_names("#o", "order")
                    .build()
                    .map_err(unavailable)?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                attempt += 1;
                if attempt > BATCH_GET_ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "BatchGetItem kept returning unprocessed keys".into(),
                    ));
                }
                if attempt > 1 {
                    let cap = 25u64 << attempt.min(6);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(5..=cap))).await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    for item in items {
                        let state = parse_state(item)?;
                        states.insert(state.msisdn.clone(), state);
                    }
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
        }
        Ok(states)
    }

    /// Record many events, with the same outcome per event as calling [`Store::record`] for each:
    /// the first event of each number goes, with up to [`EVENTS_PER_TRANSACTION`] - 1 others, into
    /// one transaction made of exactly the conditional writes `record` makes, and that
    /// transaction succeeding means every event in it was `Applied`. When a transaction is
    /// cancelled (a condition failed: a duplicate, a newer state; a conflict) or fails, each of its
    /// events is recorded alone by `record`, which sorts out which it was. Further events for a
    /// number already in the batch are recorded by `record` afterwards. Up to `concurrency`
    /// transactions run at once. Results are in the order of `events`.
    pub async fn record_many(
        &self,
        events: &[Event],
        concurrency: usize,
    ) -> Vec<Result<Outcome, StoreError>> {
        use futures::StreamExt;
        let mut seen = std::collections::HashSet::new();
        let (mut batched, mut later) = (Vec::new(), Vec::new());
        for (i, e) in events.iter().enumerate() {
            if seen.insert(e.msisdn.as_str()) {
                batched.push(i);
            } else {
                later.push(i);
            }
        }
        let mut results: Vec<Option<Result<Outcome, StoreError>>> =
            events.iter().map(|_| None).collect();
        let chunks: Vec<&[usize]> = batched.chunks(EVENTS_PER_TRANSACTION).collect();
        let mut done = futures::stream::iter(
            chunks
                .into_iter()
                .map(|chunk| async move { (chunk, self.record_chunk(events, chunk).await) }),
        )
        .buffer_unordered(concurrency.max(1));
        while let Some((chunk, outcomes)) = done.next().await {
            for (&i, outcome) in chunk.iter().zip(outcomes) {
                results[i] = Some(outcome);
            }
        }
        for i in later {
            results[i] = Some(self.record(&events[i]).await);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Unavailable("not attempted".into()))))
            .collect()
    }

    /// One transaction for the events at `chunk` (distinct numbers), or `record` one by one.
    async fn record_chunk(
        &self,
        events: &[Event],
        chunk: &[usize],
    ) -> Vec<Result<Outcome, StoreError>> {
        if chunk.len() > 1 {
            match self.record_transaction(events, chunk).await {
                Ok(()) => return chunk.iter().map(|_| Ok(Outcome::Applied)).collect(),
                Err(reason) => tracing::debug!(
                    events = chunk.len(),
                    reason = %reason,
                    "batch transaction not applied; recording its events one by one"
                ),
            }
        }
        let mut outcomes = Vec::with_capacity(chunk.len());
        for &i in chunk {
            outcomes.push(self.record(&events[i]).await);
        }
        outcomes
    }

    async fn record_transaction(&self, events: &[Event], chunk: &[usize]) -> Result<(), String> {
        let mut request = self.client.transact_write_items();
        for &i in chunk {
            let event = &events[i];
            let (history, state) = self
                .record_puts(event, &event.order())
                .map_err(|e| e.to_string())?;
            request = request
                .transact_items(TransactWriteItem::builder().put(history).build())
                .transact_items(TransactWriteItem::builder().put(state).build());
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(service) => service.code().unwrap_or("service error").to_string(),
                None => DisplayErrorContext(e).to_string(),
            })
    }

    /// One page of every number's history entries whose event time is in `[from, to)`, in no
    /// particular order (a filtered Scan: an operator's export, not a hot path). `start` is the
    /// cursor the previous page returned; `limit` bounds the items read per page.
    pub async fn history_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        start: Option<ScanCursor>,
        limit: i32,
    ) -> Result<(Vec<NumberHistoryEntry>, Option<ScanCursor>), StoreError> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(sk, :e) AND event_at >= :from AND event_at < :to")
            .expression_attribute_values(":e", s("E#"))
            .expression_attribute_values(":from", s(timestamp::format(from)))
            .expression_attribute_values(":to", s(timestamp::format(to)))
            .set_exclusive_start_key(start.map(|c| c.0))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        let entries = out
            .items()
            .iter()
            .map(|item| {
                Ok(NumberHistoryEntry {
                    msisdn: string(item, "msisdn")?,
                    entry: parse_history(item)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = out.last_evaluated_key().cloned().map(ScanCursor);
        Ok((entries, next))
    }

    /// The checkpoint saved under `name`, if any (item `pk` = `name`, `sk` = `CHECKPOINT`).
    pub async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(name))
            .key("sk", s(CHECKPOINT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(|item| string(item, "data")).transpose()
    }

    /// Save (replace) the checkpoint `name`. It carries no index attributes, so it is in neither
    /// the history index nor the opted-out list.
    pub async fn save_checkpoint(&self, name: &str, data: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(name))
            .item("sk", s(CHECKPOINT_SK))
            .item("data", s(data))
            .item("updated_at", s(timestamp::format(timestamp::now())))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn clear_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(name))
            .key("sk", s(CHECKPOINT_SK))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

enum Retry {
    Conflict(String),
    Fail(StoreError),
}

pub fn partition_key(msisdn: &Msisdn) -> String {
    format!("N#{}", msisdn.as_str())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn history_item(event: &Event, order: &str, applied: bool) -> HashMap<String, AttributeValue> {
    let details = event
        .details
        .iter()
        .map(|(k, v)| (k.clone(), s(v.as_str())))
        .collect();
    HashMap::from([
        ("pk".into(), s(partition_key(&event.msisdn))),
        ("sk".into(), s(format!("E#{}", event.event_id))),
        ("msisdn".into(), s(event.msisdn.as_str())),
        ("kind".into(), s(event.kind.as_str())),
        ("event_id".into(), s(event.event_id.as_str())),
        ("event_at".into(), s(timestamp::format(event.occurred_at))),
        (
            "received_at".into(),
            s(timestamp::format(event.received_at)),
        ),
        ("source".into(), s(event.source.as_str())),
        ("applied".into(), AttributeValue::Bool(applied)),
        // Only history items carry `h_order`, so the index holds history and nothing else.
        ("h_order".into(), s(order)),
        ("details".into(), AttributeValue::M(details)),
    ])
}

fn state_item(event: &Event, order: &str) -> HashMap<String, AttributeValue> {
    let status = event.kind.status();
    let mut item = HashMap::from([
        ("pk".into(), s(partition_key(&event.msisdn))),
        ("sk".into(), s(STATE_SK)),
        ("msisdn".into(), s(event.msisdn.as_str())),
        ("status".into(), s(status.as_str())),
        ("event_at".into(), s(timestamp::format(event.occurred_at))),
        ("event_id".into(), s(event.event_id.as_str())),
        ("source".into(), s(event.source.as_str())),
        ("order".into(), s(order)),
        ("updated_at".into(), s(timestamp::format(timestamp::now()))),
    ]);
    // Only opted-out numbers carry the sparse index keys: the index *is* the opted-out list.
    if status == Status::OptedOut {
        item.insert("oo_pk".into(), s(OPTED_OUT_PARTITION));
        item.insert("oo_sk".into(), s(event.msisdn.as_str()));
    }
    item
}

fn string(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute `{name}` missing or not a string"
        ))),
    }
}

fn parse_state(item: &HashMap<String, AttributeValue>) -> Result<State, StoreError> {
    let status = string(item, "status")?;
    Ok(State {
        msisdn: string(item, "msisdn")?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status `{status}`")))?,
        since: string(item, "event_at")?,
        event_id: string(item, "event_id")?,
        source: string(item, "source")?,
        order: string(item, "order")?,
    })
}

fn parse_history(item: &HashMap<String, AttributeValue>) -> Result<HistoryEntry, StoreError> {
    let kind = string(item, "kind")?;
    let details = match item.get("details") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(HistoryEntry {
        event_id: string(item, "event_id")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown kind `{kind}`")))?,
        occurred_at: string(item, "event_at")?,
        received_at: string(item, "received_at")?,
        source: string(item, "source")?,
        applied: matches!(item.get("applied"), Some(AttributeValue::Bool(true))),
        details,
    })
}

/// Cursors are opaque to callers: a versioned, base64url-encoded position in the list.
fn encode_cursor(msisdn_digits: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{msisdn_digits}"))
}

fn decode_cursor(cursor: &str) -> Result<Msisdn, StoreError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::BadCursor)?;
    let digits = text.strip_prefix("v1:").ok_or(StoreError::BadCursor)?;
    Msisdn::from_provider(digits).map_err(|_| StoreError::BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(kind: EventKind, at: OffsetDateTime, id: &str) -> Event {
        Event {
            msisdn: Msisdn::from_provider("14155550100").unwrap(),
            kind,
            event_id: id.into(),
            occurred_at: at,
            received_at: at,
            source: "test".into(),
            details: BTreeMap::new(),
        }
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

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = encode_cursor("14155550100");
        assert_eq!(decode_cursor(&c).unwrap().as_str(), "14155550100");
        assert!(matches!(decode_cursor("!!"), Err(StoreError::BadCursor)));
        assert!(matches!(
            decode_cursor("djI6MTIz"),
            Err(StoreError::BadCursor)
        ));
    }

    #[test]
    fn only_opted_out_state_is_in_the_list_index() {
        let t = datetime!(2026-01-01 10:00:00 UTC);
        let item = state_item(&event(EventKind::OptOut, t, "a"), "o");
        assert!(item.contains_key("oo_pk"));
        let item = state_item(&event(EventKind::Resubscribe, t, "a"), "o");
        assert!(!item.contains_key("oo_pk") && !item.contains_key("oo_sk"));
    }
}
