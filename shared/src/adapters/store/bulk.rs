//! Many states and many events at once (reconciliation, import, the send-time check):
//! `BatchGetItem` reads, and batch transactions made of exactly [`Store::record`]'s conditional
//! writes, so "newest event wins" still has one implementation.

use super::schema::{self, Key, StateRead};
use super::{unavailable, Store, StoreError, Write, Written};
use crate::domain::bulk::Decision;
use crate::domain::event::{Event, Outcome, State};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::Scope;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;
use std::time::Duration;

/// Events written per transaction by [`Store::record_many`]: two writes each, and a DynamoDB
/// transaction holds at most 100.
pub const EVENTS_PER_TRANSACTION: usize = 50;
/// DynamoDB's limit.
pub const BATCH_GET_KEYS: usize = 100;
/// Requests per chunk while DynamoDB keeps returning unprocessed keys.
const BATCH_GET_ATTEMPTS: u32 = 8;

impl Store {
    /// The current states of many numbers, keyed by their digits (absent: none held), one
    /// strongly consistent BatchGetItem at a time.
    pub async fn states(&self, numbers: &[Msisdn]) -> Result<HashMap<String, State>, StoreError> {
        self.states_parallel(numbers, &[Scope::Every], 1).await
    }

    /// [`Store::states`] for a program (`scopes`: those reaching it; each number's newest item
    /// of them), with up to `concurrency` requests in flight: the send-time check reads 1,000
    /// numbers in about the time of one chunk.
    pub async fn states_parallel(
        &self,
        numbers: &[Msisdn],
        scopes: &[Scope],
        concurrency: usize,
    ) -> Result<HashMap<String, State>, StoreError> {
        use futures::StreamExt;
        let mut unique: Vec<&Msisdn> = Vec::with_capacity(numbers.len());
        let mut seen = std::collections::HashSet::new();
        for n in numbers {
            if seen.insert(n.as_str()) {
                unique.push(n);
            }
        }
        let keys: Vec<Key> = unique
            .iter()
            .flat_map(|n| scopes.iter().map(|scope| Key::scoped_state(n, scope)))
            .collect();
        let mut states: HashMap<String, State> = HashMap::with_capacity(unique.len());
        // The futures are made first: a stream over a borrowing closure is not `Send` (the
        // handler's future must be).
        let requests: Vec<_> = keys
            .chunks(BATCH_GET_KEYS)
            .map(|chunk| self.states_chunk(chunk))
            .collect();
        let mut chunks = futures::stream::iter(requests).buffer_unordered(concurrency.max(1));
        while let Some(found) = chunks.next().await {
            for state in found? {
                match states.get(&state.msisdn) {
                    Some(newer) if newer.order >= state.order => {}
                    _ => {
                        states.insert(state.msisdn.clone(), state);
                    }
                }
            }
        }
        Ok(states)
    }

    /// One chunk; its unprocessed keys asked again with backoff.
    async fn states_chunk(&self, chunk: &[Key]) -> Result<Vec<State>, StoreError> {
        // Only what `State` needs: smaller answers (a local server spends its time on them).
        let items = self
            .batch_get(schema::states_request(chunk.to_vec())?)
            .await?;
        items
            .into_iter()
            .map(|item| schema::from_item::<StateRead>(item).map(State::from))
            .collect()
    }

    /// One BatchGetItem request (at most [`BATCH_GET_KEYS`] keys) to the end: its unprocessed
    /// keys asked again with backoff.
    pub(super) async fn batch_get(
        &self,
        request: KeysAndAttributes,
    ) -> Result<Vec<schema::Item>, StoreError> {
        let mut pending = Some(request);
        let mut items = Vec::new();
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
            if let Some(found) = out.responses().and_then(|r| r.get(&self.table)) {
                items.extend(found.iter().cloned());
            }
            pending = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .filter(|k| !k.keys().is_empty())
                .cloned();
        }
        Ok(items)
    }

    /// Record many events, with the same outcome per event as [`Store::record`]: each number's
    /// first event goes into a transaction of [`EVENTS_PER_TRANSACTION`] made of `record`'s
    /// writes (success: every one `Applied`); a transaction that fails, and further events of a
    /// number, are recorded one by one by `record`. Results are in the order of `events`.
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
        let mut items = Vec::with_capacity(chunk.len() * 2);
        for &i in chunk {
            items.extend(self.record_writes(&events[i]).map_err(|e| e.to_string())?);
        }
        match self.write(Write::Transaction(items)).await {
            Ok(Written::Yes) => Ok(()),
            Ok(Written::ConditionFailed(_)) => Err("a condition failed".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What happened to one opt-out.
#[derive(Debug)]
pub enum BulkResult {
    /// Written, and it is now the number's state.
    Added,
    /// Or this very event was recorded meanwhile.
    AlreadyOptedOut,
    /// Not written ([`Decision::OursIsNewer`]).
    OursIsNewer(State),
    /// Written as history only: a newer event reached the number between our read and our write.
    Superseded,
    /// The write failed; nothing is known to be written for this event.
    Failed(StoreError),
}

/// Decide each event against `states` ([`crate::domain::bulk::decide`]) and write those to be
/// written. Results are in the order of `events`.
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
        match crate::domain::bulk::decide(event, state) {
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
            Ok(Outcome::Duplicate | Outcome::Noted) => BulkResult::AlreadyOptedOut,
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
