//! The opt-out record in DynamoDB: one current state per phone number plus an immutable history,
//! and the items that serve them ([`schema`]; the layout and its reasons: docs/table-design.md).
//!
//! Every change goes through [`Store::record`], the one implementation of "newest event wins":
//! the history entry (keyed by the event id, so a redelivery is a no-op) and the state (written
//! only if this event's order is greater than the stored one) in one transaction, so state and
//! history never disagree whatever step is interrupted. Every conditional write goes through
//! [`Store::write`]: one retry policy for conflicts, one reading of why a write was refused.

pub mod bulk;
pub mod checkpoint;
pub mod consents;
pub mod cursor;

pub mod evidence;
pub mod forget;
pub mod idempotency;
pub mod lists;
pub mod migrate;
pub mod replies;
pub mod reviews;
pub mod schema;

use crate::domain::event::{Event, HistoryEntry, Outcome, State};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::{newest_in, Scope};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use schema::{Key, Keyed, StateRead};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Attempts at one write while DynamoDB reports a conflicting concurrent transaction.
const CONFLICT_ATTEMPTS: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or refused the call: the caller answers 5xx and is retried.
    #[error("dynamodb call failed: {0}")]
    Unavailable(String),
    /// Concurrent transactions on the same items outlasted [`Store::write`]'s retries: the caller
    /// retries, as for `Unavailable`; one that waits its turn anyway (a reply claim) waits.
    #[error("dynamodb write kept conflicting: {0}")]
    Contended(String),
    #[error("unexpected item in table: {0}")]
    Corrupt(String),
    #[error("invalid cursor")]
    BadCursor,
}

pub(crate) fn unavailable<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

#[derive(Debug, Clone)]
pub enum Write {
    Put(Put),
    Update(Update),
    Transaction(Vec<TransactWriteItem>),
}

/// How a conditional write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// Nothing was written: which items' conditions failed (in the transaction's order).
    ConditionFailed(Vec<bool>),
}

/// Why one try of a write did not go through.
enum Refused {
    Condition(Vec<bool>),
    /// A concurrent transaction or throttling: worth another try.
    Conflict(String),
    Failed(StoreError),
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
    /// request, ...) are appended to history only ([`Outcome::Noted`]). Safe to call any number of
    /// times, concurrently, for the same event.
    pub async fn record(&self, event: &Event) -> Result<Outcome, StoreError> {
        if event.kind.status().is_some() {
            // One state item per scope, each under the rule on its own: a scope holding a newer
            // event is left out and the rest tried again, so an event applies wherever it is
            // the newest (docs/decisions/0005-programs.md).
            let mut scopes: Vec<&Scope> = event.scopes.iter().collect();
            while !scopes.is_empty() {
                let writes = self.record_writes_for(event, &scopes)?;
                let failed = match self.write(Write::Transaction(writes)).await? {
                    Written::Yes => return Ok(Outcome::Applied),
                    Written::ConditionFailed(failed) => failed,
                };
                // The history entry exists (a duplicate), or the reasons do not say which
                // state held a newer event: the history entry alone decides, as below.
                if failed.first() != Some(&false) || failed.len() != scopes.len() + 1 {
                    break;
                }
                let newer: Vec<&Scope> = scopes
                    .iter()
                    .zip(&failed[1..])
                    .filter(|(_, failed)| !**failed)
                    .map(|(scope, _)| *scope)
                    .collect();
                if newer.len() == scopes.len() {
                    break;
                }
                scopes = newer;
            }
        }
        // A condition failed (this event id is in history already, or every state it sets
        // holds a newer event), or the kind sets no state: the history entry alone, unapplied.
        // If it exists, it was a duplicate. A state only ever moves forward, so "older" stays
        // true.
        let history = schema::put(
            &self.table,
            schema::to_item(&schema::history_item(event, false))?,
            Some(schema::is_new()),
        )?;
        Ok(match self.write(Write::Put(history)).await? {
            Written::Yes if event.kind.status().is_none() => Outcome::Noted,
            Written::Yes => Outcome::Superseded,
            Written::ConditionFailed(_) => Outcome::Duplicate,
        })
    }

    /// The conditional writes of a state-setting event (its history entry, then one state per
    /// scope), for [`Store::record`] and the transactions of batches and review decisions.
    pub(crate) fn record_writes(
        &self,
        event: &Event,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        self.record_writes_for(event, &event.scopes.iter().collect::<Vec<_>>())
    }

    fn record_writes_for(
        &self,
        event: &Event,
        scopes: &[&Scope],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let history = schema::to_item(&schema::history_item(event, true))?;
        let mut writes = vec![schema::put_item(schema::put(
            &self.table,
            history,
            Some(schema::is_new()),
        )?)];
        let now = crate::domain::timestamp::now();
        for scope in scopes {
            let state = schema::state_item(event, scope, now)
                .ok_or_else(|| StoreError::Corrupt(format!("{:?} sets no state", event.kind)))?;
            writes.push(schema::put_item(schema::put(
                &self.table,
                schema::to_item(&state)?,
                Some(schema::state_is_older_than(event)),
            )?));
        }
        Ok(writes)
    }

    /// Tries again (jittered backoff) while DynamoDB reports a conflicting concurrent
    /// transaction or throttles a transaction's item.
    pub async fn write(&self, write: Write) -> Result<Written, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_write(&write).await {
                Ok(()) => return Ok(Written::Yes),
                Err(Refused::Condition(failed)) => return Ok(Written::ConditionFailed(failed)),
                Err(Refused::Conflict(detail)) if attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(attempt, detail, "write conflict, retrying");
                    let cap = 25u64 << attempt.min(5);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(5..=cap))).await;
                }
                Err(Refused::Conflict(detail)) => return Err(StoreError::Contended(detail)),
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
    }

    async fn try_write(&self, write: &Write) -> Result<(), Refused> {
        match write {
            Write::Put(put) => self
                .client
                .put_item()
                .table_name(put.table_name())
                .set_item(Some(put.item().clone()))
                .set_condition_expression(put.condition_expression().map(str::to_owned))
                .set_expression_attribute_names(put.expression_attribute_names().cloned())
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| single_refusal(e, |e| e.is_conditional_check_failed_exception())),
            Write::Update(update) => self
                .client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .set_condition_expression(update.condition_expression().map(str::to_owned))
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| single_refusal(e, |e| e.is_conditional_check_failed_exception())),
            Write::Transaction(items) => self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(transaction_refusal),
        }
    }

    /// The item at `key` as `T`, read consistently: every read here decides a write or answers
    /// "may we text this number", so none may miss a write that was acknowledged.
    pub(crate) async fn get<T: DeserializeOwned>(&self, key: Key) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(schema::from_item).transpose()
    }

    pub async fn state(&self, msisdn: &Msisdn) -> Result<Option<State>, StoreError> {
        let state: Option<StateRead> = self.get(Key::state(msisdn)).await?;
        Ok(state.map(State::from))
    }

    /// The state that decides a program's status: the newest of the items kept for `scopes`
    /// (its `Programs::scopes_reaching`). One GetItem without programs, else one Query.
    pub async fn state_in(
        &self,
        msisdn: &Msisdn,
        scopes: &[Scope],
    ) -> Result<Option<State>, StoreError> {
        if scopes == [Scope::Every] {
            return self.state(msisdn).await;
        }
        let states = self.scoped_states(msisdn).await?;
        Ok(newest_in(&states, scopes).cloned())
    }

    /// Every state item of a number, each with its scope (one Query).
    pub async fn scoped_states(&self, msisdn: &Msisdn) -> Result<Vec<(Scope, State)>, StoreError> {
        let condition = schema::states_of(msisdn);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition.text)
            .set_expression_attribute_values(Some(condition.values))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let mut states = Vec::with_capacity(out.items().len());
        for item in out.items() {
            let state: Keyed<StateRead> = schema::from_item(item.clone())?;
            match schema::scope_of_state(&state.key) {
                Some(scope) => states.push((scope, state.attrs.into())),
                // A scope this version cannot name is a newer version's: its opt-out must
                // still not be lost, so the read fails rather than answer without it.
                None => return Err(StoreError::Corrupt(format!("state item {}", state.key.sk))),
            }
        }
        Ok(states)
    }

    /// A number's history, newest first, at most `limit` entries.
    pub async fn history(
        &self,
        msisdn: &Msisdn,
        limit: i32,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let condition = schema::partition_is(msisdn);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::HISTORY_INDEX)
            .key_condition_expression(condition.text)
            .set_expression_attribute_values(Some(condition.values))
            .scan_index_forward(false)
            .limit(limit)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.items()
            .iter()
            .map(|item| {
                schema::from_item::<Keyed<schema::HistoryAttrs>>(item.clone())
                    .map(|h| h.attrs.into())
            })
            .collect()
    }
}

fn single_refusal<E, R>(err: SdkError<E, R>, is_condition: impl Fn(&E) -> bool) -> Refused
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(e) if is_condition(e) => Refused::Condition(vec![true]),
        Some(e) if e.code() == Some("TransactionConflictException") => {
            Refused::Conflict(e.to_string())
        }
        _ => Refused::Failed(unavailable(err)),
    }
}

fn transaction_refusal<R>(err: SdkError<TransactWriteItemsError, R>) -> Refused
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let codes: Vec<String> = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_owned())
            .collect(),
        Some(other) if other.code() == Some("TransactionConflictException") => {
            return Refused::Conflict(other.to_string())
        }
        _ => return Refused::Failed(unavailable(err)),
    };
    if codes
        .iter()
        .any(|c| c == "TransactionConflict" || c == "ThrottlingError")
    {
        return Refused::Conflict(codes.join(","));
    }
    if codes.iter().any(|c| c == "ConditionalCheckFailed") {
        return Refused::Condition(
            codes
                .iter()
                .map(|c| c == "ConditionalCheckFailed")
                .collect(),
        );
    }
    Refused::Failed(StoreError::Unavailable(format!(
        "transaction cancelled: {}",
        codes.join(",")
    )))
}
