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
//! A claim is a conditional write: only one invocation can hold it. A `claimed` item found by a
//! later invocation means an earlier one stopped between claiming and recording the answer (a
//! crash, a timeout): whether Vonage sent the text is unknown, so it is never sent again blindly;
//! like `unknown`, it is reported ([`Store::unsettled_replies`], `optout-admin replies stuck`) for
//! a person to decide.

use super::items::{partition_key, s};
use super::{unavailable, Store, StoreError};
use crate::domain::msisdn::Msisdn;
use crate::domain::replies::ReplyKind;
use crate::domain::timestamp;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use std::collections::HashMap;

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
    pub updated_at: String,
    pub sent_at: Option<String>,
    pub message_ids: Vec<String>,
    /// Why it was not sent, skipped or is unknown (Vonage's status and text; never a secret).
    pub detail: Option<String>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Ours to send: this is attempt number `attempt` (1 for a new reply).
    Claimed { attempt: u32 },
    /// Already settled (sent, not sent, skipped): nothing to do.
    Settled(ReplyRecord),
    /// Claimed earlier and never settled, or its outcome unknown: a person decides.
    Unsettled(ReplyRecord),
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

impl Store {
    /// Claim `reply` for sending: create its item as `claimed`, or move a `retryable` one back to
    /// `claimed` (counting the attempt). Anything else is returned as found.
    pub async fn claim_reply(&self, reply: &OwedReply) -> Result<Claim, StoreError> {
        let now = timestamp::format(timestamp::now());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(reply_key(&reply.msisdn, &reply.event_id)))
            .update_expression(
                "SET #status = :claimed, msisdn = :msisdn, event_id = :event_id, kind = :kind, \
                 #from = :from, #text = :text, claimed_at = :now, updated_at = :now, \
                 attempts = if_not_exists(attempts, :zero) + :one",
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
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let attempt = out
                    .attributes()
                    .and_then(|a| a.get("attempts"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Claim::Claimed { attempt })
            }
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    let Some(found) = self.reply(&reply.msisdn, &reply.event_id).await? else {
                        return Err(StoreError::Unavailable(
                            "reply claim failed but no reply item exists".into(),
                        ));
                    };
                    Ok(match found.status {
                        ReplyStatus::Claimed | ReplyStatus::Unknown => Claim::Unsettled(found),
                        _ => Claim::Settled(found),
                    })
                }
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
        Ok(())
    }

    /// Record that `reply` is not sent, and why, unless its item exists already. `true` when
    /// written.
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
            .condition_expression("attribute_not_exists(pk)")
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
