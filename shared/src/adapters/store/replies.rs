//! Reply items: one per reply owed, keyed by the inbound event that owes it, so that each reply is
//! sent at most once even though Vonage has no idempotency key and the stream delivers records
//! at least once.
//!
//! Item `pk` = `N#<digits>`, `sk` = `R#<inbound event id>`. Its `status` moves:
//!
//! ```text
//!   (none) ──claim──▶ claimed ──▶ sent | not_sent | retryable | unknown
//!   retryable ──claim──▶ claimed          (a send that certainly did not happen may be tried again)
//!   (none) ──skip──▶ skipped
//! ```
//!
//! A claim is a conditional write: only one invocation can hold it, until its lease ends (the
//! claiming invocation's own deadline). A `claimed` item found by a later invocation is either
//! in flight (its lease runs: wait for it to settle) or abandoned (the lease ran out: the earlier
//! invocation stopped between claiming and recording the answer, so whether Vonage sent the text
//! is unknown). An abandoned claim is never sent again blindly; like `unknown`, it is reported
//! ([`Store::unsettled_replies`], `optout-admin replies stuck`) for a person to decide.
//!
//! Order: one reply to a number at a time. The claim takes the number's reply lock (`pk` =
//! `N#<digits>`, `sk` = `REPLY_LOCK`: the event holding it, until when, and the order of the
//! newest event whose confirmation was claimed) in the same transaction, with, for a
//! confirmation, a check that the number is still in the state it confirms. So a confirmation is
//! never sent after a newer one, nor when it is no longer true (docs/decisions/0001-reply-order.md).

use super::items::{partition_key, s};
use super::{unavailable, Store, StoreError, STATE_SK};
use crate::domain::event::Status;
use crate::domain::msisdn::Msisdn;
use crate::domain::replies::ReplyKind;
use crate::domain::{sort_keys, timestamp};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Sort key prefix of reply items.
pub const REPLY_PREFIX: &str = crate::domain::sort_keys::REPLY_PREFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyStatus {
    Claimed,
    Sent,
    NotSent,
    Retryable,
    Unknown,
    Skipped,
}

impl ReplyStatus {
    pub const ALL: [ReplyStatus; 6] = [
        ReplyStatus::Claimed,
        ReplyStatus::Sent,
        ReplyStatus::NotSent,
        ReplyStatus::Retryable,
        ReplyStatus::Unknown,
        ReplyStatus::Skipped,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyStatus::Claimed => "claimed",
            ReplyStatus::Sent => "sent",
            ReplyStatus::NotSent => "not_sent",
            ReplyStatus::Retryable => "retryable",
            ReplyStatus::Unknown => "unknown",
            ReplyStatus::Skipped => "skipped",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A reply owed: to whom, from which number, for which inbound event, what text.
#[derive(Debug, Clone)]
pub struct OwedReply {
    pub msisdn: Msisdn,
    /// The inbound event that owes it (its history entry's event id).
    pub event_id: String,
    pub kind: ReplyKind,
    /// The number or short code the person texted.
    pub from: String,
    pub text: String,
    /// The order of the event that owes it (`Event::order`): confirmations go out in it.
    pub order: String,
}

/// A reply item as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyRecord {
    pub msisdn: String,
    pub event_id: String,
    pub kind: String,
    pub status: ReplyStatus,
    pub from: String,
    pub text: String,
    pub attempts: u32,
    pub claimed_at: Option<String>,
    /// Until when the claiming invocation may still settle it (absent on items claimed before
    /// leases existed: [`LEGACY_LEASE`] after `claimed_at`).
    pub lease_until: Option<String>,
    pub updated_at: String,
    pub sent_at: Option<String>,
    pub message_ids: Vec<String>,
    /// Why it was not sent, skipped or is unknown (Vonage's status and text; never a secret).
    pub detail: Option<String>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyClaim {
    /// Ours to send, and the number's reply lock is ours until the lease ends.
    Claimed,
    /// Already settled (sent, not sent, skipped): nothing to do.
    Settled(ReplyRecord),
    /// Claimed by an invocation whose lease still runs: it will settle it.
    InFlight(ReplyRecord),
    /// Claimed and abandoned (its lease ran out), or its outcome unknown: a person decides.
    Unsettled(ReplyRecord),
    /// Another reply to this number is being sent (or a concurrent write got in first): try
    /// again shortly, so that replies to one number go out one at a time, in order.
    Busy,
    /// No longer to be sent: the number is not in the state this reply confirms, or a newer
    /// event's confirmation was claimed first. The reason, for the skipped reply item.
    Stale(&'static str),
}

/// How long a claim made before claims carried a lease counts as in flight: Lambda's longest
/// timeout.
pub const LEGACY_LEASE: time::Duration = time::Duration::minutes(15);

impl ReplyRecord {
    /// Whether the claiming invocation may still settle it at `now`.
    pub fn lease_runs(&self, now: OffsetDateTime) -> bool {
        let until = match (&self.lease_until, &self.claimed_at) {
            (Some(until), _) => timestamp::parse_rfc3339(until),
            (None, Some(claimed)) => timestamp::parse_rfc3339(claimed).map(|c| c + LEGACY_LEASE),
            (None, None) => None,
        };
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

fn reply_key(msisdn: &Msisdn, event_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_string(), s(partition_key(msisdn))),
        ("sk".to_string(), s(reply_sk(event_id))),
    ])
}

fn reply_sk(event_id: &str) -> String {
    format!("{REPLY_PREFIX}{event_id}")
}

fn lock_key(msisdn: &Msisdn) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_string(), s(partition_key(msisdn))),
        ("sk".to_string(), s(sort_keys::REPLY_LOCK)),
    ])
}

/// The number's reply lock as read back.
#[derive(Debug, Clone, Default, PartialEq)]
struct ReplyLock {
    holder: Option<String>,
    held_until: Option<String>,
    last_order: Option<String>,
}

impl Store {
    /// ReplyClaim `reply` for sending until `lease_until` (the claiming invocation's deadline): in one
    /// transaction, create its item as `claimed` (or move a `retryable` one back, counting the
    /// attempt), take the number's reply lock, and for a confirmation check that the number is
    /// still in the state it confirms and that no newer event's confirmation was claimed.
    pub async fn claim_reply(
        &self,
        reply: &OwedReply,
        lease_until: OffsetDateTime,
    ) -> Result<ReplyClaim, StoreError> {
        let now = timestamp::format(timestamp::now());
        let lease = timestamp::format(lease_until);
        let confirms = reply.kind.confirms();
        let mut lock = Update::builder()
            .table_name(&self.table)
            .set_key(Some(lock_key(&reply.msisdn)))
            .expression_attribute_values(":event", s(reply.event_id.as_str()))
            .expression_attribute_values(":lease", s(lease.as_str()))
            .expression_attribute_values(":now", s(now.as_str()));
        let (set, condition) = match confirms {
            None => (
                "SET holder = :event, held_until = :lease",
                "attribute_not_exists(holder) OR holder = :event OR held_until < :now",
            ),
            Some(_) => {
                lock = lock.expression_attribute_values(":order", s(reply.order.as_str()));
                (
                    "SET holder = :event, held_until = :lease, last_order = :order",
                    "(attribute_not_exists(holder) OR holder = :event OR held_until < :now) \
                     AND (attribute_not_exists(last_order) OR last_order <= :order)",
                )
            }
        };
        let lock = lock
            .update_expression(set)
            .condition_expression(condition)
            .build()
            .map_err(unavailable)?;
        let claim = Update::builder()
            .table_name(&self.table)
            .set_key(Some(reply_key(&reply.msisdn, &reply.event_id)))
            .update_expression(
                "SET #status = :claimed, msisdn = :msisdn, event_id = :event_id, kind = :kind, \
                 #from = :from, #text = :text, claimed_at = :now, lease_until = :lease, \
                 updated_at = :now, attempts = if_not_exists(attempts, :zero) + :one",
            )
            .condition_expression("attribute_not_exists(pk) OR #status = :retryable")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#from", "from")
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":claimed", s(ReplyStatus::Claimed.as_str()))
            .expression_attribute_values(":retryable", s(ReplyStatus::Retryable.as_str()))
            .expression_attribute_values(":msisdn", s(reply.msisdn.as_str()))
            .expression_attribute_values(":event_id", s(reply.event_id.as_str()))
            .expression_attribute_values(":kind", s(reply.kind.as_str()))
            .expression_attribute_values(":from", s(reply.from.as_str()))
            .expression_attribute_values(":text", s(reply.text.as_str()))
            .expression_attribute_values(":now", s(now.as_str()))
            .expression_attribute_values(":lease", s(lease.as_str()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(unavailable)?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(lock).build())
            .transact_items(TransactWriteItem::builder().update(claim).build());
        if let Some(status) = confirms {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(partition_key(&reply.msisdn)))
                .key("sk", s(STATE_SK))
                .condition_expression("#status = :confirmed")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":confirmed", s(status.as_str()))
                .build()
                .map_err(unavailable)?;
            request =
                request.transact_items(TransactWriteItem::builder().condition_check(check).build());
        }
        let err = match request.send().await {
            Ok(_) => return Ok(ReplyClaim::Claimed),
            Err(err) => err,
        };
        let reasons: Vec<String> = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code().map(String::from))
                .collect(),
            Some(other) if other.code() == Some("TransactionConflictException") => {
                return Ok(ReplyClaim::Busy)
            }
            _ => return Err(unavailable(err)),
        };
        // A concurrent transaction on one of the items: as if the lock were held.
        if reasons
            .iter()
            .any(|c| c == "TransactionConflict" || c == "ThrottlingError")
        {
            return Ok(ReplyClaim::Busy);
        }
        if !reasons.iter().any(|c| c == "ConditionalCheckFailed") {
            return Err(StoreError::Unavailable(format!(
                "reply claim cancelled: {}",
                reasons.join(",")
            )));
        }
        self.why_not_claimed(reply, confirms).await
    }

    /// After a claim's condition failed: which one, read back consistently.
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
            let state = self.state(&reply.msisdn).await?.map(|s| s.status);
            if state != Some(confirmed) {
                return Ok(ReplyClaim::Stale(match confirmed {
                    Status::OptedOut => "resubscribed since",
                    Status::Subscribed => "opted out since",
                }));
            }
        }
        let lock = self.reply_lock(&reply.msisdn).await?;
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

    async fn reply_lock(&self, msisdn: &Msisdn) -> Result<ReplyLock, StoreError> {
        let item = self
            .get_consistent(partition_key(msisdn), sort_keys::REPLY_LOCK.into())
            .await?
            .unwrap_or_default();
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        Ok(ReplyLock {
            holder: text("holder"),
            held_until: text("held_until"),
            last_order: text("last_order"),
        })
    }

    /// Give the number's reply lock back, if `event_id` still holds it (a lock taken over after
    /// its lease ran out is someone else's).
    async fn release_reply_lock(&self, msisdn: &Msisdn, event_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(msisdn)))
            .update_expression("REMOVE holder, held_until")
            .condition_expression("holder = :event")
            .expression_attribute_values(":event", s(event_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(()),
                _ => Err(unavailable(err)),
            },
        }
    }

    /// Record how a claimed send ended (only a `claimed` item moves).
    pub async fn settle_reply(
        &self,
        msisdn: &Msisdn,
        event_id: &str,
        settle: &Settle,
    ) -> Result<(), StoreError> {
        let now = timestamp::format(timestamp::now());
        let (status, detail, ids) = match settle {
            Settle::Sent { message_ids } => (ReplyStatus::Sent, None, Some(message_ids)),
            Settle::NotSent { detail } => (ReplyStatus::NotSent, Some(detail), None),
            Settle::Retryable { detail } => (ReplyStatus::Retryable, Some(detail), None),
            Settle::Unknown { detail } => (ReplyStatus::Unknown, Some(detail), None),
        };
        let mut update = "SET #status = :status, updated_at = :now".to_string();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(reply_key(msisdn, event_id)))
            .condition_expression("#status = :claimed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":claimed", s(ReplyStatus::Claimed.as_str()))
            .expression_attribute_values(":now", s(now.as_str()));
        if let Some(detail) = detail {
            update.push_str(", detail = :detail");
            request = request.expression_attribute_values(":detail", s(detail.as_str()));
        }
        if let Some(ids) = ids {
            update.push_str(", sent_at = :now, message_ids = :ids");
            let list = ids.iter().map(|id| s(id.as_str())).collect();
            request = request.expression_attribute_values(":ids", AttributeValue::L(list));
        }
        request
            .update_expression(update)
            .send()
            .await
            .map_err(unavailable)?;
        self.release_reply_lock(msisdn, event_id).await
    }

    /// Record that `reply` is not sent, and why, unless its item exists already (but for a
    /// `retryable` one: a send that never happened and now never will). `true` when written.
    pub async fn skip_reply(&self, reply: &OwedReply, reason: &str) -> Result<bool, StoreError> {
        let now = timestamp::format(timestamp::now());
        let mut item = reply_key(&reply.msisdn, &reply.event_id);
        for (name, value) in [
            ("status", ReplyStatus::Skipped.as_str()),
            ("msisdn", reply.msisdn.as_str()),
            ("event_id", reply.event_id.as_str()),
            ("kind", reply.kind.as_str()),
            ("from", reply.from.as_str()),
            ("text", reply.text.as_str()),
            ("updated_at", now.as_str()),
            ("detail", reason),
        ] {
            item.insert(name.to_string(), s(value));
        }
        item.insert("attempts".into(), AttributeValue::N("0".into()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #status = :retryable")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":retryable", s(ReplyStatus::Retryable.as_str()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(false),
                _ => Err(unavailable(err)),
            },
        }
    }

    /// The reply item for `event_id`, if any.
    pub async fn reply(
        &self,
        msisdn: &Msisdn,
        event_id: &str,
    ) -> Result<Option<ReplyRecord>, StoreError> {
        let item = self
            .get_consistent(partition_key(msisdn), reply_sk(event_id))
            .await?;
        item.as_ref().map(parse_reply).transpose()
    }

    /// Replies no invocation will settle: `claimed` longer ago than `claimed_before`
    /// (RFC 3339), or `unknown`. A filtered Scan: an operator's check, not a hot path.
    pub async fn unsettled_replies(
        &self,
        claimed_before: &str,
    ) -> Result<Vec<ReplyRecord>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(sk, :r) AND (#status = :unknown OR (#status = :claimed AND claimed_at < :before))",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":r", s(REPLY_PREFIX))
                .expression_attribute_values(":unknown", s(ReplyStatus::Unknown.as_str()))
                .expression_attribute_values(":claimed", s(ReplyStatus::Claimed.as_str()))
                .expression_attribute_values(":before", s(claimed_before))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                found.push(parse_reply(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        found.sort_by(|a, b| a.updated_at.cmp(&b.updated_at));
        Ok(found)
    }
}

pub fn parse_reply(item: &HashMap<String, AttributeValue>) -> Result<ReplyRecord, StoreError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let required = |name: &str| {
        text(name).ok_or_else(|| StoreError::Corrupt(format!("reply item without `{name}`")))
    };
    let status = required("status")?;
    Ok(ReplyRecord {
        msisdn: required("msisdn")?,
        event_id: required("event_id")?,
        kind: required("kind")?,
        status: ReplyStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown reply status `{status}`")))?,
        from: text("from").unwrap_or_default(),
        text: text("text").unwrap_or_default(),
        attempts: item
            .get("attempts")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        claimed_at: text("claimed_at"),
        lease_until: text("lease_until"),
        updated_at: text("updated_at").unwrap_or_default(),
        sent_at: text("sent_at"),
        message_ids: item
            .get("message_ids")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        detail: text("detail"),
    })
}
