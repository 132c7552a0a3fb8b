//! The table's schema: one type per item family, whose fields are the item's attributes (their
//! names are the table's attribute names, written here and nowhere else), read and written with
//! `serde_dynamo`; the keys; and every condition, update and key condition that names an
//! attribute. The layout: docs/table-design.md; why: docs/decisions/0004-typed-table-schema.md.

use super::StoreError;
use crate::domain::consent::{ConsentChannel, ConsentRequest};
use crate::domain::event::{Event, EventKind, HistoryEntry, OptedOut, Outcome, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::Origin;
use crate::domain::program::{ProgramId, Scope};
use crate::domain::replies::{ReplyKind, ReplyStatus};
use crate::domain::review::{Decision, Due, Resolution, Review, ReviewStatus};
use crate::domain::timestamp::{self, fixed};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

pub type Item = HashMap<String, AttributeValue>;

pub const HISTORY_INDEX: &str = "history_by_order";
pub const OPTED_OUT_INDEX: &str = "opted_out";
pub const REVIEWS_INDEX: &str = "reviews_by_due";

const STATE_SK: &str = "STATE";
const STATE_SCOPE_PREFIX: &str = "STATE#";
const HISTORY_PREFIX: &str = "E#";
const REPLY_PREFIX: &str = "R#";
const REPLY_LOCK_SK: &str = "REPLY_LOCK";
const REVIEW_PREFIX: &str = "V#";
const REVIEW_POINTER_PREFIX: &str = "REVIEWID#";
const REVIEW_POINTER_SK: &str = "REVIEWID";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
const CHECKPOINT_SK: &str = "CHECKPOINT";
const CONSENT_REQUEST_PREFIX: &str = "JOIN#";
/// The partition of the sparse `opted_out` index: every opted-out state is in it.
const OPTED_OUT_PARTITION: &str = "OPTED_OUT";

pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(format!("unwritable item: {e}")))
}

/// An item as `T`; an item of another shape is [`StoreError::Corrupt`], naming its key.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let key = sort_key(&item);
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("item {key}: {e}")))
}

/// An item's sort key (for messages and the evidence file: the partition key holds the number).
pub fn sort_key(item: &Item) -> String {
    match item.get("sk") {
        Some(AttributeValue::S(sk)) => sk.clone(),
        _ => "(no sort key)".into(),
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// An item: its key and its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyed<T> {
    #[serde(flatten)]
    pub key: Key,
    #[serde(flatten)]
    pub attrs: T,
}

impl Key {
    fn number(msisdn: &Msisdn, sk: String) -> Self {
        Key {
            pk: format!("N#{}", msisdn.as_str()),
            sk,
        }
    }
    /// The state of a number before programs existed, and of "every program" since.
    pub fn state(msisdn: &Msisdn) -> Self {
        Self::scoped_state(msisdn, &Scope::Every)
    }
    /// `STATE` for [`Scope::Every`] (the item a deployment without programs writes), else
    /// `STATE#<scope name>`.
    pub fn scoped_state(msisdn: &Msisdn, scope: &Scope) -> Self {
        match scope {
            Scope::Every => Self::number(msisdn, STATE_SK.into()),
            other => Self::number(msisdn, format!("{STATE_SK}#{}", other.name())),
        }
    }
    pub fn history(msisdn: &Msisdn, event_id: &str) -> Self {
        Self::number(msisdn, format!("{HISTORY_PREFIX}{event_id}"))
    }
    pub fn reply(msisdn: &Msisdn, event_id: &str) -> Self {
        Self::number(msisdn, format!("{REPLY_PREFIX}{event_id}"))
    }
    pub fn reply_lock(msisdn: &Msisdn) -> Self {
        Self::number(msisdn, REPLY_LOCK_SK.into())
    }
    pub fn review(msisdn: &Msisdn, id: &str) -> Self {
        Self::number(msisdn, format!("{REVIEW_PREFIX}{id}"))
    }
    pub fn review_pointer(id: &str) -> Self {
        Key {
            pk: format!("{REVIEW_POINTER_PREFIX}{id}"),
            sk: REVIEW_POINTER_SK.into(),
        }
    }
    pub fn idempotency(key_hash: &str, scope: &str) -> Self {
        Key {
            pk: format!("{IDEMPOTENCY_PREFIX}{key_hash}"),
            sk: scope.into(),
        }
    }
    /// A join by text waiting for its YES, one per program.
    pub fn consent_request(msisdn: &Msisdn, program: &ProgramId) -> Self {
        Self::number(msisdn, format!("{CONSENT_REQUEST_PREFIX}{program}"))
    }
    pub fn checkpoint(name: &str) -> Self {
        Key {
            pk: name.into(),
            sk: CHECKPOINT_SK.into(),
        }
    }
    pub fn item(&self) -> Item {
        Item::from([("pk".into(), s(&self.pk)), ("sk".into(), s(&self.sk))])
    }
}

/// Which family an item under a number belongs to, by its sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFamily {
    State,
    History,
    Reply,
    ReplyLock,
    Review,
    ConsentRequest,
    Other,
}

impl ItemFamily {
    pub fn of(item: &Item) -> ItemFamily {
        let sk = sort_key(item);
        match sk.as_str() {
            REPLY_LOCK_SK => ItemFamily::ReplyLock,
            _ if sk == STATE_SK || sk.starts_with(STATE_SCOPE_PREFIX) => ItemFamily::State,
            _ if sk.starts_with(HISTORY_PREFIX) => ItemFamily::History,
            _ if sk.starts_with(REPLY_PREFIX) => ItemFamily::Reply,
            _ if sk.starts_with(REVIEW_PREFIX) => ItemFamily::Review,
            _ if sk.starts_with(CONSENT_REQUEST_PREFIX) => ItemFamily::ConsentRequest,
            _ => ItemFamily::Other,
        }
    }
}

/// A stream record's image, if it is a history entry: the number and the entry (or why it does
/// not read).
pub fn history_from_image(
    image: serde_dynamo::Item,
) -> Option<Result<(Msisdn, HistoryEntry), String>> {
    let is_history = matches!(
        image.inner().get("sk"),
        Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with(HISTORY_PREFIX)
    );
    if !is_history {
        return None;
    }
    let entry = serde_dynamo::from_item::<_, Keyed<HistoryAttrs>>(image)
        .map_err(|e| e.to_string())
        .and_then(|h| {
            let msisdn = Msisdn::from_provider(&h.attrs.msisdn).map_err(|e| e.to_string())?;
            Ok((msisdn, h.attrs.into()))
        });
    Some(entry)
}

/// A condition, an update or a filter: the expression and the names and values it uses.
#[derive(Debug, Default, Clone)]
pub struct Expr {
    pub text: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn new(text: &str) -> Self {
        Expr {
            text: text.into(),
            ..Expr::default()
        }
    }
    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }
    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }
    /// `other`'s names and values too (an update and its condition share one set).
    fn with(mut self, other: &Expr) -> Self {
        self.names.extend(other.names.clone());
        self.values.extend(other.values.clone());
        self
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A put of `item`, only if `condition` holds (any, when `None`).
pub fn put(table: &str, item: Item, condition: Option<Expr>) -> Result<Put, StoreError> {
    let condition = condition.unwrap_or_default();
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression((!condition.text.is_empty()).then(|| condition.text.clone()))
        .set_expression_attribute_names(condition.names())
        .set_expression_attribute_values(condition.values())
        .build()
        .map_err(super::unavailable)
}

/// An update of the item at `key` by `update`, only if `condition` holds.
pub fn update(table: &str, key: &Key, update: Expr, condition: Expr) -> Result<Update, StoreError> {
    let update = update.with(&condition);
    Update::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .update_expression(&update.text)
        .condition_expression(condition.text)
        .set_expression_attribute_names(update.names())
        .set_expression_attribute_values(update.values())
        .build()
        .map_err(super::unavailable)
}

/// A check, in a transaction, that the item at `key` meets `condition`.
pub fn condition_check(
    table: &str,
    key: &Key,
    condition: Expr,
) -> Result<ConditionCheck, StoreError> {
    ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(&condition.text)
        .set_expression_attribute_names(condition.names())
        .set_expression_attribute_values(condition.values())
        .build()
        .map_err(super::unavailable)
}

/// Only if no item has this key yet.
pub fn is_new() -> Expr {
    Expr::new("attribute_not_exists(pk)")
}

/// Only if the item is still there.
pub fn exists() -> Expr {
    Expr::new("attribute_exists(pk)")
}

/// The update forgetting personal values: each (attribute path, new value), and `redacted_at`
/// (`store::forget`).
pub fn redaction(values: &[(Vec<&str>, String)], at: OffsetDateTime) -> Expr {
    let mut sets = vec!["#redacted_at = :redacted_at".to_owned()];
    let mut update = Expr::default()
        .name("#redacted_at", "redacted_at")
        .value(":redacted_at", s(timestamp::format(at)));
    for (i, (path, value)) in values.iter().enumerate() {
        let mut names = Vec::new();
        for (j, part) in path.iter().enumerate() {
            let placeholder = format!("#p{i}_{j}");
            update = update.name(&placeholder, part);
            names.push(placeholder);
        }
        sets.push(format!("{} = :v{i}", names.join(".")));
        update = update.value(&format!(":v{i}"), s(value));
    }
    update.text = format!("SET {}", sets.join(", "));
    update
}

/// What every read of a state needs (the send-time check projects these alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRead {
    pub msisdn: String,
    pub status: Status,
    #[serde(with = "fixed")]
    pub event_at: OffsetDateTime,
    pub event_id: String,
    pub source: String,
    pub order: String,
    /// How a consent setting `subscribed` was given (written since the consent ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ConsentChannel>,
}

/// The state item: set by the newest event ([`state_item`], [`state_is_older_than`]).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateAttrs {
    #[serde(flatten)]
    pub read: StateRead,
    #[serde(with = "fixed")]
    pub updated_at: OffsetDateTime,
    /// The `opted_out` index's keys, only while opted out: the index *is* the opted-out list.
    pub oo_pk: Option<String>,
    pub oo_sk: Option<String>,
}

impl From<StateRead> for State {
    fn from(r: StateRead) -> State {
        State {
            msisdn: r.msisdn,
            status: r.status,
            since: r.event_at,
            event_id: r.event_id,
            channel: r.channel.or_else(|| {
                (r.status == Status::Subscribed)
                    .then(|| ConsentChannel::of_source(&r.source))
                    .flatten()
            }),
            source: r.source,
            order: r.order,
        }
    }
}

/// The state item `event` sets for `scope` (`None` for kinds that set none).
pub fn state_item(event: &Event, scope: &Scope, now: OffsetDateTime) -> Option<Keyed<StateAttrs>> {
    let status = event.kind.status()?;
    let opted_out = status == Status::OptedOut;
    let list = OptedOutPart::of(&event.msisdn, scope).partition();
    Some(Keyed {
        key: Key::scoped_state(&event.msisdn, scope),
        attrs: StateAttrs {
            read: StateRead {
                msisdn: event.msisdn.as_str().into(),
                status,
                event_at: event.occurred_at,
                event_id: event.event_id.clone(),
                source: event.origin.source().into(),
                order: event.order(),
                channel: ConsentChannel::of_origin(event.kind, &event.origin),
            },
            updated_at: now,
            oo_pk: opted_out.then_some(list),
            oo_sk: opted_out.then(|| event.msisdn.as_str().into()),
        },
    })
}

/// Only if no state is stored or `event` is newer than the one that set it.
pub fn state_is_older_than(event: &Event) -> Expr {
    Expr::new("attribute_not_exists(pk) OR #order < :order")
        .name("#order", "order")
        .value(":order", s(event.order()))
}

/// Only if the number's state is `status`.
pub fn state_is(status: Status) -> Expr {
    Expr::new("#status = :status")
        .name("#status", "status")
        .value(":status", s(status.as_str()))
}

/// Only if the state item holds no event newer than `order` that says the opposite of `status`.
pub fn no_newer_opposite(status: Status, order: &str) -> Expr {
    Expr::new("attribute_not_exists(pk) OR #status = :status OR #order < :order")
        .name("#status", "status")
        .name("#order", "order")
        .value(":status", s(status.as_str()))
        .value(":order", s(order))
}

/// [`StateRead`]'s fields (a test holds the two together).
const STATE_READ_FIELDS: [&str; 7] = [
    "msisdn", "status", "event_at", "event_id", "source", "order", "channel",
];

/// A BatchGetItem request for the states at `keys`, projecting what [`StateRead`] holds.
pub fn states_request(keys: Vec<Key>) -> Result<KeysAndAttributes, StoreError> {
    let fields = STATE_READ_FIELDS;
    let placeholders: Vec<String> = (0..fields.len()).map(|i| format!("#a{i}")).collect();
    KeysAndAttributes::builder()
        .set_keys(Some(keys.iter().map(Key::item).collect()))
        .consistent_read(true)
        .projection_expression(placeholders.join(", "))
        .set_expression_attribute_names(Some(
            placeholders
                .into_iter()
                .zip(fields.iter().map(|f| f.to_string()))
                .collect(),
        ))
        .build()
        .map_err(super::unavailable)
}

/// The `opted_out` index's shards per scope: a number's is its last digit, so a burst of STOPs
/// spreads over ten partition keys (docs/table-design.md has the arithmetic).
pub const OPTED_OUT_SHARDS: u8 = 10;

/// A part of the `opted_out` index: one shard of a scope's opted-out states, or (`shard: None`)
/// the scope's one partition written before sharding, read until nothing is left in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptedOutPart {
    pub scope: Scope,
    pub shard: Option<u8>,
}

impl OptedOutPart {
    /// Where `msisdn`'s opted-out state for `scope` is listed.
    pub fn of(msisdn: &Msisdn, scope: &Scope) -> Self {
        let last = msisdn.as_str().bytes().last().unwrap_or(b'0');
        Self {
            scope: scope.clone(),
            shard: Some(last.wrapping_sub(b'0') % OPTED_OUT_SHARDS),
        }
    }

    /// Every part a listing of `scope` reads.
    pub fn all(scope: &Scope) -> Vec<Self> {
        std::iter::once(None)
            .chain((0..OPTED_OUT_SHARDS).map(Some))
            .map(|shard| Self {
                scope: scope.clone(),
                shard,
            })
            .collect()
    }

    /// `OPTED_OUT` (every program) or `OPTED_OUT#<scope>`, then `#<shard>` (every program's
    /// shards under `OPTED_OUT#ALL#`, so that no program id can be read as a shard).
    fn partition(&self) -> String {
        match (&self.scope, self.shard) {
            (Scope::Every, None) => OPTED_OUT_PARTITION.to_owned(),
            (scope, None) => format!("{OPTED_OUT_PARTITION}#{}", scope.name()),
            (scope, Some(shard)) => format!("{OPTED_OUT_PARTITION}#{}#{shard}", scope.name()),
        }
    }
}

/// The `opted_out` index: the key condition of a part, and the start key after `msisdn` in it.
pub fn opted_out_query(part: &OptedOutPart) -> Expr {
    Expr::new("oo_pk = :p").value(":p", s(part.partition()))
}

pub fn opted_out_start(msisdn: &Msisdn, part: &OptedOutPart) -> Item {
    let mut item = Key::scoped_state(msisdn, &part.scope).item();
    item.insert("oo_pk".into(), s(part.partition()));
    item.insert("oo_sk".into(), s(msisdn.as_str()));
    item
}

/// An entry of the opted-out list, as the index projects it.
#[derive(Debug, Deserialize)]
pub struct OptedOutRead {
    msisdn: String,
    #[serde(with = "fixed")]
    event_at: OffsetDateTime,
}

impl From<OptedOutRead> for OptedOut {
    fn from(r: OptedOutRead) -> OptedOut {
        OptedOut {
            msisdn: r.msisdn,
            since: r.event_at,
        }
    }
}

/// A history entry: one per event id, never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryAttrs {
    pub msisdn: String,
    pub kind: EventKind,
    pub event_id: String,
    #[serde(with = "fixed")]
    pub event_at: OffsetDateTime,
    #[serde(with = "fixed")]
    pub received_at: OffsetDateTime,
    /// `source` and `details`.
    #[serde(flatten)]
    pub origin: Origin,
    /// Whether it set the state when it was recorded.
    pub applied: bool,
    /// [`Event::order`]; only history entries carry it, so the index holds them alone.
    pub h_order: String,
    /// What it opted out of or resubscribed to; absent means every program (all that entries
    /// written before programs existed can mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
}

pub fn history_item(event: &Event, applied: bool) -> Keyed<HistoryAttrs> {
    Keyed {
        key: Key::history(&event.msisdn, &event.event_id),
        attrs: HistoryAttrs {
            msisdn: event.msisdn.as_str().into(),
            kind: event.kind,
            event_id: event.event_id.clone(),
            event_at: event.occurred_at,
            received_at: event.received_at,
            origin: event.origin.clone(),
            applied,
            h_order: event.order(),
            scopes: (event.scopes != [Scope::Every]).then(|| event.scopes.clone()),
        },
    }
}

impl From<HistoryAttrs> for HistoryEntry {
    fn from(h: HistoryAttrs) -> HistoryEntry {
        HistoryEntry {
            event_id: h.event_id,
            kind: h.kind,
            occurred_at: h.event_at,
            received_at: h.received_at,
            origin: h.origin,
            applied: h.applied,
            order: h.h_order,
            scopes: h.scopes.unwrap_or_else(|| vec![Scope::Every]),
        }
    }
}

/// The key condition of a number's state items, one per scope.
pub fn states_of(msisdn: &Msisdn) -> Expr {
    Expr::new("pk = :pk AND begins_with(sk, :state)")
        .value(":pk", s(Key::state(msisdn).pk))
        .value(":state", s(STATE_SK))
}

/// The scan filter of every state item (every number, every scope).
pub fn state_items() -> Expr {
    Expr::new("begins_with(sk, :state)").value(":state", s(STATE_SK))
}

/// Only if the state item still holds the event of `order`.
pub fn state_holds(order: &str) -> Expr {
    Expr::new("#order = :order")
        .name("#order", "order")
        .value(":order", s(order))
}

/// The scope a state item is kept for, from its sort key.
pub fn scope_of_state(key: &Key) -> Option<Scope> {
    match key.sk.strip_prefix(STATE_SCOPE_PREFIX) {
        None if key.sk == STATE_SK => Some(Scope::Every),
        None => None,
        Some(name) => Scope::parse(name).ok(),
    }
}

/// The key condition of a number's partition (on the table or the history index).
pub fn partition_is(msisdn: &Msisdn) -> Expr {
    Expr::new("pk = :pk").value(":pk", s(Key::state(msisdn).pk))
}

/// The scan filter of history entries whose event time is in `[from, to)`.
pub fn history_between(from: OffsetDateTime, to: OffsetDateTime) -> Expr {
    Expr::new("begins_with(sk, :e) AND event_at >= :from AND event_at < :to")
        .value(":e", s(HISTORY_PREFIX))
        .value(":from", s(timestamp::format(from)))
        .value(":to", s(timestamp::format(to)))
}

/// A join by text waiting for its YES ([`Key::consent_request`]): replaced by a newer join,
/// deleted once confirmed; an expired one answers nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRequestAttrs {
    pub msisdn: String,
    pub program: ProgramId,
    pub request_event_id: String,
    #[serde(with = "fixed")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "fixed")]
    pub expires_at: OffsetDateTime,
}

impl From<ConsentRequestAttrs> for ConsentRequest {
    fn from(a: ConsentRequestAttrs) -> ConsentRequest {
        ConsentRequest {
            program: a.program,
            request_event_id: a.request_event_id,
            requested_at: a.requested_at,
            expires_at: a.expires_at,
        }
    }
}

pub fn consent_request_item(
    msisdn: &Msisdn,
    request: &ConsentRequest,
) -> Keyed<ConsentRequestAttrs> {
    Keyed {
        key: Key::consent_request(msisdn, &request.program),
        attrs: ConsentRequestAttrs {
            msisdn: msisdn.as_str().into(),
            program: request.program.clone(),
            request_event_id: request.request_event_id.clone(),
            requested_at: request.requested_at,
            expires_at: request.expires_at,
        },
    }
}

/// Only if no join is waiting or the waiting one is older (a redelivered older join does not
/// replace a newer one).
pub fn consent_request_is_older(requested_at: OffsetDateTime) -> Expr {
    Expr::new("attribute_not_exists(pk) OR requested_at < :at")
        .value(":at", s(timestamp::format(requested_at)))
}

/// Only if the waiting join is this one.
pub fn consent_request_is(request_event_id: &str) -> Expr {
    Expr::new("request_event_id = :id").value(":id", s(request_event_id))
}

/// A reply item: one per reply owed, keyed by the inbound event that owes it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub msisdn: String,
    /// The inbound event that owes it.
    pub event_id: String,
    pub kind: ReplyKind,
    pub status: ReplyStatus,
    /// The number the person texted, which the reply is sent from.
    pub from: String,
    pub text: String,
    pub attempts: u32,
    #[serde(default, with = "fixed::option")]
    pub claimed_at: Option<OffsetDateTime>,
    /// Until when the claiming invocation may still settle it.
    #[serde(default, with = "fixed::option")]
    pub lease_until: Option<OffsetDateTime>,
    #[serde(with = "fixed")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "fixed::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_ids: Vec<String>,
    /// Why it was not sent, skipped or is unknown (Vonage's status and text; never a secret).
    pub detail: Option<String>,
}

/// The number's reply lock: one reply to a number at a time, in order.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyLock {
    /// The event whose reply is being sent.
    #[serde(default)]
    pub holder: Option<String>,
    #[serde(default, with = "fixed::option")]
    pub held_until: Option<OffsetDateTime>,
    /// The order of the newest event whose confirmation was claimed.
    #[serde(default)]
    pub last_order: Option<String>,
}

/// Claim a reply: create it as `claimed`, or move a `retryable` one back, counting the attempt.
pub fn reply_claim(reply: &Reply) -> (Expr, Expr) {
    let set = Expr::new(
        "SET #status = :claimed, msisdn = :msisdn, event_id = :event_id, kind = :kind, \
         #from = :from, #text = :text, claimed_at = :now, lease_until = :lease, \
         updated_at = :now, attempts = if_not_exists(attempts, :zero) + :one",
    )
    .name("#from", "from")
    .name("#text", "text")
    .value(":claimed", s(ReplyStatus::Claimed.as_str()))
    .value(":msisdn", s(&reply.msisdn))
    .value(":event_id", s(&reply.event_id))
    .value(":kind", s(reply.kind.as_str()))
    .value(":from", s(&reply.from))
    .value(":text", s(&reply.text))
    .value(":now", s(timestamp::format(reply.updated_at)))
    .value(
        ":lease",
        s(reply.lease_until.map(timestamp::format).unwrap_or_default()),
    )
    .value(":zero", AttributeValue::N("0".into()))
    .value(":one", AttributeValue::N("1".into()));
    (set.name("#status", "status"), reply_is_new_or_retryable())
}

/// Only a new reply or a `retryable` one (a send that certainly did not happen).
pub fn reply_is_new_or_retryable() -> Expr {
    Expr::new("attribute_not_exists(pk) OR #status = :retryable")
        .name("#status", "status")
        .value(":retryable", s(ReplyStatus::Retryable.as_str()))
}

/// Record how a claimed send ended (only a `claimed` reply moves).
pub fn reply_settle(
    status: ReplyStatus,
    detail: Option<&str>,
    message_ids: Option<&[String]>,
    now: OffsetDateTime,
) -> (Expr, Expr) {
    let mut text = "SET #status = :status, updated_at = :now".to_string();
    let mut set = Expr::default()
        .name("#status", "status")
        .value(":status", s(status.as_str()))
        .value(":now", s(timestamp::format(now)));
    if let Some(detail) = detail {
        text.push_str(", detail = :detail");
        set = set.value(":detail", s(detail));
    }
    if let Some(ids) = message_ids {
        text.push_str(", sent_at = :now, message_ids = :ids");
        set = set.value(":ids", AttributeValue::L(ids.iter().map(s).collect()));
    }
    set.text = text;
    let condition = Expr::new("#status = :claimed")
        .name("#status", "status")
        .value(":claimed", s(ReplyStatus::Claimed.as_str()));
    (set, condition)
}

/// Take the number's reply lock for `event_id` until `lease`: free, ours already, or its holder's
/// lease ran out; for a confirmation also record its order, which must not be older than the
/// newest claimed.
pub fn reply_lock_take(
    event_id: &str,
    lease: OffsetDateTime,
    now: OffsetDateTime,
    confirmation_order: Option<&str>,
) -> (Expr, Expr) {
    let mut set = Expr::new("SET holder = :event, held_until = :lease")
        .value(":event", s(event_id))
        .value(":lease", s(timestamp::format(lease)));
    let mut condition =
        Expr::new("(attribute_not_exists(holder) OR holder = :event OR held_until < :now)")
            .value(":event", s(event_id))
            .value(":now", s(timestamp::format(now)));
    if let Some(order) = confirmation_order {
        set.text.push_str(", last_order = :order");
        set = set.value(":order", s(order));
        condition
            .text
            .push_str(" AND (attribute_not_exists(last_order) OR last_order <= :order)");
        condition = condition.value(":order", s(order));
    }
    (set, condition)
}

/// Give the lock back, if `event_id` still holds it.
pub fn reply_lock_release(event_id: &str) -> (Expr, Expr) {
    (
        Expr::new("REMOVE holder, held_until"),
        Expr::new("holder = :event").value(":event", s(event_id)),
    )
}

/// The scan filter of replies no invocation will settle: `unknown`, or `claimed` before
/// `claimed_before`.
pub fn replies_unsettled(claimed_before: OffsetDateTime) -> Expr {
    Expr::new(
        "begins_with(sk, :r) AND (#status = :unknown OR (#status = :claimed AND claimed_at < :before))",
    )
    .name("#status", "status")
    .value(":r", s(REPLY_PREFIX))
    .value(":unknown", s(ReplyStatus::Unknown.as_str()))
    .value(":claimed", s(ReplyStatus::Claimed.as_str()))
    .value(":before", s(timestamp::format(claimed_before)))
}

/// A review item, and the index keys that list it (`rv_pk`: `REVIEW#open` or
/// `REVIEW#resolved`; `rv_sk`: `<due>#<received_at>#<id>`, so each list reads oldest due first).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewAttrs {
    pub review_id: String,
    pub msisdn: String,
    pub status: ReviewStatus,
    pub due: Due,
    pub cue: String,
    pub text: String,
    pub message_id: String,
    pub message_event_id: String,
    pub short_code: String,
    #[serde(with = "fixed")]
    pub message_at: OffsetDateTime,
    #[serde(with = "fixed")]
    pub received_at: OffsetDateTime,
    #[serde(with = "fixed")]
    pub created_at: OffsetDateTime,
    pub rv_pk: String,
    pub rv_sk: String,
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    #[serde(default, with = "fixed::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub decision_event_id: Option<String>,
    pub decision_outcome: Option<String>,
}

/// The `rv_pk` of a status's list.
pub fn review_list(status: ReviewStatus) -> String {
    format!("REVIEW#{}", status.as_str())
}

pub fn review_item(review: &Review, now: OffsetDateTime) -> Keyed<ReviewAttrs> {
    let resolution = review.resolution.as_ref();
    Keyed {
        key: Key::review(&review.msisdn, &review.id),
        attrs: ReviewAttrs {
            review_id: review.id.clone(),
            msisdn: review.msisdn.as_str().into(),
            status: review.status,
            due: review.due.clone(),
            cue: review.cue.clone(),
            text: review.text.clone(),
            message_id: review.message_id.clone(),
            message_event_id: review.message_event_id.clone(),
            short_code: review.short_code.clone(),
            message_at: review.message_at,
            received_at: review.received_at,
            created_at: now,
            rv_pk: review_list(review.status),
            rv_sk: format!(
                "{}#{}#{}",
                review.due,
                timestamp::format(review.received_at),
                review.id
            ),
            decision: resolution.map(|r| r.decision),
            decided_by: resolution.map(|r| r.by.clone()),
            note: resolution.and_then(|r| r.note.clone()),
            resolved_at: resolution.map(|r| r.resolved_at),
            decision_event_id: resolution.map(|r| r.event_id.clone()),
            decision_outcome: resolution.map(|r| r.outcome.clone()),
        },
    }
}

impl TryFrom<ReviewAttrs> for Review {
    type Error = StoreError;
    fn try_from(r: ReviewAttrs) -> Result<Review, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("review {}: {what}", r.review_id));
        let resolution = match r.status {
            ReviewStatus::Open => None,
            ReviewStatus::Resolved => Some(Resolution {
                decision: r
                    .decision
                    .ok_or_else(|| corrupt("resolved without a decision"))?,
                by: r.decided_by.clone().unwrap_or_default(),
                note: r.note.clone(),
                resolved_at: r
                    .resolved_at
                    .ok_or_else(|| corrupt("resolved without a time"))?,
                event_id: r.decision_event_id.clone().unwrap_or_default(),
                outcome: r.decision_outcome.clone().unwrap_or_default(),
            }),
        };
        Ok(Review {
            msisdn: Msisdn::from_provider(&r.msisdn).map_err(|e| corrupt(&e.to_string()))?,
            id: r.review_id,
            status: r.status,
            due: r.due,
            cue: r.cue,
            text: r.text,
            message_id: r.message_id,
            message_event_id: r.message_event_id,
            short_code: r.short_code,
            message_at: r.message_at,
            received_at: r.received_at,
            resolution,
        })
    }
}

/// Resolve a review with `resolution` (whose recording did `outcome`), only while it is open
/// (two concurrent decisions are one); it moves to the resolved list.
pub fn review_resolve(resolution: &Resolution, outcome: Outcome) -> (Expr, Expr) {
    let mut set = Expr::new(
        "SET #status = :resolved, rv_pk = :rv_pk, decision = :decision, decided_by = :by, \
         resolved_at = :at, decision_event_id = :event_id, decision_outcome = :outcome",
    )
    .name("#status", "status")
    .value(":resolved", s(ReviewStatus::Resolved.as_str()))
    .value(":rv_pk", s(review_list(ReviewStatus::Resolved)))
    .value(":decision", s(resolution.decision.as_str()))
    .value(":by", s(&resolution.by))
    .value(":at", s(timestamp::format(resolution.resolved_at)))
    .value(":event_id", s(&resolution.event_id))
    .value(":outcome", s(outcome.as_str()));
    if let Some(note) = &resolution.note {
        set.text.push_str(", note = :note");
        set = set.value(":note", s(note));
    }
    let open = Expr::new("#status = :open")
        .name("#status", "status")
        .value(":open", s(ReviewStatus::Open.as_str()));
    (set, open)
}

/// The key condition of a review list, due before `due_before` (`YYYY-MM-DD`) when given.
pub fn review_list_query(status: ReviewStatus, due_before: Option<&str>) -> Expr {
    let expr = Expr::new("rv_pk = :p").value(":p", s(review_list(status)));
    match due_before {
        // `rv_sk` starts with the due date, so "< date" is "due before that day".
        Some(day) => Expr {
            text: "rv_pk = :p AND rv_sk < :before".into(),
            ..expr
        }
        .value(":before", s(day)),
        None => expr,
    }
}

/// A review's pointer: finds a review from its id alone (ids hold no number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPointer {
    pub msisdn: String,
}

/// The position after a page of a review list (the index's keys and the table's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewListKey {
    pub pk: String,
    pub sk: String,
    pub rv_pk: String,
    pub rv_sk: String,
}

/// An idempotency key of an API write (only the key's hash is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyKey {
    /// sha256 of the canonical body.
    pub body_hash: String,
    pub event_id: String,
    #[serde(with = "fixed")]
    pub created_at: OffsetDateTime,
}

/// Where an interrupted job resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub data: String,
    #[serde(with = "fixed")]
    pub updated_at: OffsetDateTime,
}

pub fn put_item(put: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(put).build()
}

pub fn update_item(update: Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(update).build()
}

pub fn check_item(check: ConditionCheck) -> TransactWriteItem {
    TransactWriteItem::builder().condition_check(check).build()
}

/// A delete of the item at `key`, only if `condition` holds.
pub fn delete_item(
    table: &str,
    key: &Key,
    condition: Expr,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(&condition.text)
        .set_expression_attribute_names(condition.names())
        .set_expression_attribute_values(condition.values())
        .build()
        .map_err(super::unavailable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inbound::{Api, Encoding};
    use crate::domain::origin::{Extra, InboundMessage};
    use time::macros::datetime;

    fn event(kind: EventKind) -> Event {
        let at = datetime!(2026-01-01 10:00:00 UTC);
        Event {
            scopes: vec![crate::domain::program::Scope::Every],
            msisdn: Msisdn::from_provider("14155550100").unwrap_or_else(|e| panic!("{e}")),
            kind,
            event_id: "sms:A1".into(),
            occurred_at: at,
            received_at: at,
            origin: Origin::Message(InboundMessage {
                message_id: "A1".into(),
                short_code: "16105553939".into(),
                keyword: Some("STOP".into()),
                phrase: None,
                clarifies: None,
                confirms: None,
                language: None,
                text: "stop".into(),
                api: Api::Sms,
                encoding: Encoding::GetQuery,
                message_timestamp: None,
                extra: Extra::new(),
            }),
        }
    }

    #[test]
    fn a_history_entry_round_trips_with_its_evidence_in_details() {
        let item = history_item(&event(EventKind::OptOut), true);
        let stored = to_item(&item).unwrap_or_default();
        assert_eq!(stored.get("source"), Some(&s("webhook")));
        let details = stored.get("details").and_then(|d| d.as_m().ok());
        assert_eq!(details.and_then(|d| d.get("keyword")), Some(&s("STOP")));
        assert_eq!(stored.get("event_at"), Some(&s("2026-01-01T10:00:00.000Z")));
        let back: Result<Keyed<HistoryAttrs>, _> = from_item(stored);
        assert_eq!(back.ok(), Some(item));
    }

    #[test]
    fn only_opted_out_states_carry_the_list_index_keys() {
        let now = datetime!(2026-01-02 00:00:00 UTC);
        let opted_out =
            state_item(&event(EventKind::OptOut), &Scope::Every, now).map(|i| to_item(&i));
        let stored = opted_out.and_then(Result::ok).unwrap_or_default();
        assert!(stored.contains_key("oo_pk") && stored.contains_key("oo_sk"));
        let subscribed =
            state_item(&event(EventKind::Resubscribe), &Scope::Every, now).map(|i| to_item(&i));
        let stored = subscribed.and_then(Result::ok).unwrap_or_default();
        assert!(!stored.is_empty() && !stored.contains_key("oo_pk"));
        assert!(state_item(&event(EventKind::Help), &Scope::Every, now).is_none());
    }

    #[test]
    fn the_state_projection_is_what_a_state_read_holds() {
        assert_eq!(field_names::<StateRead>(), STATE_READ_FIELDS);
    }

    /// The field names of a struct `T` derives `Deserialize` for (its attribute names), read from
    /// what serde's derive hands a deserializer.
    fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
        struct Names;
        #[derive(Debug)]
        struct Found(&'static [&'static str]);
        impl std::fmt::Display for Found {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "fields")
            }
        }
        impl std::error::Error for Found {}
        impl serde::de::Error for Found {
            fn custom<M: std::fmt::Display>(_: M) -> Self {
                Found(&[])
            }
        }
        impl<'de> serde::Deserializer<'de> for Names {
            type Error = Found;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
                Err(Found(&[]))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Found> {
                Err(Found(fields))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
                ignored_any
            }
        }
        match T::deserialize(Names) {
            Err(Found(fields)) => fields,
            Ok(_) => &[],
        }
    }
}
