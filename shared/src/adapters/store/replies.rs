//! Reply items: one per reply owed, keyed by the inbound event that owes it, so each reply is
//! sent at most once though Vonage has no idempotency key and the stream redelivers.
//!
//! ```text
//!   (none) ──claim──▶ claimed ──▶ sent | not_sent | retryable | unknown
//!   retryable ──claim──▶ claimed          (a send that certainly did not happen may be tried again)
//!   (none) | retryable ──skip──▶ skipped
//! ```
//!
//! A claim holds until its lease ends (the claiming invocation's deadline). One whose lease ran
//! out may or may not have been sent: like `unknown`, it is never sent again blindly but
//! reported ([`Store::unsettled_replies`]). The claim also takes the number's reply lock
//! (docs/decisions/0001-reply-order.md).

use super::schema::{self, Item, Key, Keyed, Reply, ReplyLock};
use super::{unavailable, Store, StoreError, Write, Written};
use crate::domain::event::Status;
use crate::domain::msisdn::Msisdn;
use crate::domain::program::Scope;
use crate::domain::replies::ReplyKind;
use crate::domain::replies::ReplyStatus;
use crate::domain::timestamp;
use time::OffsetDateTime;

/// A reply owed: to whom, from which number, for which inbound event, what text.
#[derive(Debug, Clone)]
pub struct OwedReply {
    pub msisdn: Msisdn,
    /// The inbound event that owes it.
    pub event_id: String,
    pub kind: ReplyKind,
    /// The number or short code the person texted.
    pub from: String,
    pub text: String,
    /// The order of the event that owes it (`Event::order`): confirmations go out in it.
    pub order: String,
    /// A confirmation's checks: the state items the event was kept in, which must still say
    /// what it confirms (`[ALL]` without programs)...
    pub scopes: Vec<Scope>,
    /// ...and the wider ones that reach its programs, which must hold no newer opposite event
    /// (`Programs::wider_scopes`).
    pub wider: Vec<Scope>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyClaim {
    /// Ours to send, and the number's reply lock is ours until the lease ends.
    Claimed,
    /// Already settled (sent, not sent, skipped): nothing to do.
    Settled(Reply),
    /// Claimed by an invocation whose lease still runs: it will settle it.
    InFlight(Reply),
    /// Claimed and abandoned (its lease ran out), or its outcome unknown: a person decides.
    Unsettled(Reply),
    /// Another reply to this number is being sent (or a concurrent write got in first): try
    /// again shortly.
    Busy,
    /// No longer true, or a newer event's confirmation was claimed first: the reason, for the
    /// skipped reply item.
    Stale(&'static str),
}

/// How long a claim made before claims carried a lease counts as in flight: Lambda's longest
/// timeout.
pub const LEGACY_LEASE: time::Duration = time::Duration::minutes(15);

impl Reply {
    /// Whether the claiming invocation may still settle it at `now`.
    pub fn lease_runs(&self, now: OffsetDateTime) -> bool {
        let until = self
            .lease_until
            .or_else(|| self.claimed_at.map(|c| c + LEGACY_LEASE));
        until.is_some_and(|until| now < until)
    }
}

/// How a claimed send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Sent {
        message_ids: Vec<String>,
    },
    /// Refused for good (barred, bad request ...).
    NotSent {
        detail: String,
    },
    /// Certainly not sent; may be claimed again.
    Retryable {
        detail: String,
    },
    /// Maybe sent: never claimed again.
    Unknown {
        detail: String,
    },
}

impl OwedReply {
    fn record(&self, status: ReplyStatus, now: OffsetDateTime) -> Reply {
        Reply {
            msisdn: self.msisdn.as_str().into(),
            event_id: self.event_id.clone(),
            kind: self.kind,
            status,
            from: self.from.clone(),
            text: self.text.clone(),
            attempts: 0,
            claimed_at: None,
            lease_until: None,
            updated_at: now,
            sent_at: None,
            message_ids: Vec::new(),
            detail: None,
        }
    }
}

impl Store {
    /// Claim `reply` until `lease_until`: in one transaction, create its item as `claimed` (or
    /// move a `retryable` one back), take the number's reply lock, and for a confirmation check
    /// that it is still true and no newer event's confirmation was claimed.
    pub async fn claim_reply(
        &self,
        reply: &OwedReply,
        lease_until: OffsetDateTime,
    ) -> Result<ReplyClaim, StoreError> {
        let now = timestamp::now();
        let confirms = reply.kind.confirms();
        let (take, free) = schema::reply_lock_take(
            &reply.event_id,
            lease_until,
            now,
            confirms.map(|_| reply.order.as_str()),
        );
        let record = Reply {
            lease_until: Some(lease_until),
            ..reply.record(ReplyStatus::Claimed, now)
        };
        let (claim, claimable) = schema::reply_claim(&record);
        let mut items = vec![
            schema::update_item(schema::update(
                &self.table,
                &Key::reply_lock(&reply.msisdn),
                take,
                free,
            )?),
            schema::update_item(schema::update(
                &self.table,
                &Key::reply(&reply.msisdn, &reply.event_id),
                claim,
                claimable,
            )?),
        ];
        if let Some(status) = confirms {
            for scope in &reply.scopes {
                items.push(schema::check_item(schema::condition_check(
                    &self.table,
                    &Key::scoped_state(&reply.msisdn, scope),
                    schema::state_is(status),
                )?));
            }
            for scope in &reply.wider {
                items.push(schema::check_item(schema::condition_check(
                    &self.table,
                    &Key::scoped_state(&reply.msisdn, scope),
                    schema::no_newer_opposite(status, &reply.order),
                )?));
            }
        }
        match self.write(Write::Transaction(items)).await {
            Ok(Written::Yes) => Ok(ReplyClaim::Claimed),
            Ok(Written::ConditionFailed(_)) => self.why_not_claimed(reply, confirms).await,
            // Another claim on this number kept winning: its turn, then ours.
            Err(StoreError::Contended(_)) => Ok(ReplyClaim::Busy),
            Err(e) => Err(e),
        }
    }

    async fn why_not_claimed(
        &self,
        reply: &OwedReply,
        confirms: Option<Status>,
    ) -> Result<ReplyClaim, StoreError> {
        let now = timestamp::now();
        if let Some(found) = self.reply(&reply.msisdn, &reply.event_id).await? {
            match found.status {
                ReplyStatus::Retryable => {}
                ReplyStatus::Claimed if found.lease_runs(now) => {
                    return Ok(ReplyClaim::InFlight(found))
                }
                ReplyStatus::Claimed | ReplyStatus::Unknown => {
                    return Ok(ReplyClaim::Unsettled(found))
                }
                ReplyStatus::Sent | ReplyStatus::NotSent | ReplyStatus::Skipped => {
                    return Ok(ReplyClaim::Settled(found))
                }
            }
        }
        if let Some(confirmed) = confirms {
            let states = if reply.scopes == [Scope::Every] && reply.wider.is_empty() {
                let state = self.state(&reply.msisdn).await?;
                state.map(|s| vec![(Scope::Every, s)]).unwrap_or_default()
            } else {
                self.scoped_states(&reply.msisdn).await?
            };
            let still_true = reply.scopes.iter().all(|scope| {
                states
                    .iter()
                    .any(|(s, state)| s == scope && state.status == confirmed)
            }) && !states.iter().any(|(s, state)| {
                reply.wider.contains(s)
                    && state.status != confirmed
                    && state.order.as_str() > reply.order.as_str()
            });
            if !still_true {
                return Ok(ReplyClaim::Stale(match confirmed {
                    Status::OptedOut => "resubscribed since",
                    Status::Subscribed => "opted out since",
                }));
            }
        }
        let lock: ReplyLock = self
            .get(Key::reply_lock(&reply.msisdn))
            .await?
            .unwrap_or_default();
        if confirms.is_some()
            && lock
                .last_order
                .as_deref()
                .is_some_and(|last| last > reply.order.as_str())
        {
            return Ok(ReplyClaim::Stale(
                "a newer message's confirmation was sent first",
            ));
        }
        // Held by another reply in flight, or changed between the claim and these reads.
        Ok(ReplyClaim::Busy)
    }

    /// Record how a claimed send ended (only a `claimed` item moves), then give the number's
    /// reply lock back if this reply still holds it (one taken over after its lease ran out is
    /// someone else's).
    pub async fn settle_reply(
        &self,
        msisdn: &Msisdn,
        event_id: &str,
        settle: &Settle,
    ) -> Result<(), StoreError> {
        let (status, detail, ids) = match settle {
            Settle::Sent { message_ids } => (ReplyStatus::Sent, None, Some(message_ids.as_slice())),
            Settle::NotSent { detail } => (ReplyStatus::NotSent, Some(detail.as_str()), None),
            Settle::Retryable { detail } => (ReplyStatus::Retryable, Some(detail.as_str()), None),
            Settle::Unknown { detail } => (ReplyStatus::Unknown, Some(detail.as_str()), None),
        };
        let (set, claimed) = schema::reply_settle(status, detail, ids, timestamp::now());
        let settle = schema::update(&self.table, &Key::reply(msisdn, event_id), set, claimed)?;
        if let Written::ConditionFailed(_) = self.write(Write::Update(settle)).await? {
            return Err(StoreError::Corrupt(format!(
                "reply {event_id} settled but not claimed"
            )));
        }
        let (release, held) = schema::reply_lock_release(event_id);
        let release = schema::update(&self.table, &Key::reply_lock(msisdn), release, held)?;
        self.write(Write::Update(release)).await.map(|_| ())
    }

    /// Record that `reply` is not sent, and why, unless its item exists already (but for a
    /// `retryable` one: a send that never happened and now never will). `true` when written.
    pub async fn skip_reply(&self, reply: &OwedReply, reason: &str) -> Result<bool, StoreError> {
        let item = Keyed {
            key: Key::reply(&reply.msisdn, &reply.event_id),
            attrs: Reply {
                detail: Some(reason.into()),
                ..reply.record(ReplyStatus::Skipped, timestamp::now())
            },
        };
        let put = schema::put(
            &self.table,
            schema::to_item(&item)?,
            Some(schema::reply_is_new_or_retryable()),
        )?;
        Ok(self.write(Write::Put(put)).await? == Written::Yes)
    }

    pub async fn reply(
        &self,
        msisdn: &Msisdn,
        event_id: &str,
    ) -> Result<Option<Reply>, StoreError> {
        self.get(Key::reply(msisdn, event_id)).await
    }

    /// Replies no invocation will settle: `claimed` before `claimed_before`, or `unknown`. A Scan:
    /// an operator's check, not a hot path.
    pub async fn unsettled_replies(
        &self,
        claimed_before: OffsetDateTime,
    ) -> Result<Vec<Reply>, StoreError> {
        let filter = schema::replies_unsettled(claimed_before);
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(&filter.text)
                .set_expression_attribute_names(Some(filter.names.clone()))
                .set_expression_attribute_values(Some(filter.values.clone()))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                found.push(schema::from_item(item.clone())?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        found.sort_by_key(|r: &Reply| r.updated_at);
        Ok(found)
    }
}
