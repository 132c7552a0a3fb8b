//! DynamoDB items to and from the domain's types: keys, the state and history items, cursors.

use super::{StoreError, STATE_SK};
use crate::domain::event::{Event, EventKind, HistoryEntry, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::sort_keys::HISTORY_PREFIX;
use crate::domain::timestamp;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashMap};

/// Partition of the sparse `opted_out` index: every opted-out state item is in it.
pub const OPTED_OUT_PARTITION: &str = "OPTED_OUT";

pub fn partition_key(msisdn: &Msisdn) -> String {
    format!("N#{}", msisdn.as_str())
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn history_item(event: &Event, order: &str, applied: bool) -> HashMap<String, AttributeValue> {
    let details = event
        .details
        .iter()
        .map(|(k, v)| (k.clone(), s(v.as_str())))
        .collect();
    HashMap::from([
        ("pk".into(), s(partition_key(&event.msisdn))),
        (
            "sk".into(),
            s(format!("{HISTORY_PREFIX}{}", event.event_id)),
        ),
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

/// The state item an event sets; `None` for kinds that never set one.
pub fn state_item(event: &Event, order: &str) -> Option<HashMap<String, AttributeValue>> {
    let status = event.kind.status()?;
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
    Some(item)
}

pub fn string(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute `{name}` missing or not a string"
        ))),
    }
}

pub fn parse_state(item: &HashMap<String, AttributeValue>) -> Result<State, StoreError> {
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

pub fn parse_history(item: &HashMap<String, AttributeValue>) -> Result<HistoryEntry, StoreError> {
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
pub fn encode_cursor(msisdn_digits: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{msisdn_digits}"))
}

pub fn decode_cursor(cursor: &str) -> Result<Msisdn, StoreError> {
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
    use time::OffsetDateTime;

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
        let item = state_item(&event(EventKind::OptOut, t, "a"), "o").unwrap_or_default();
        assert!(item.contains_key("oo_pk"));
        let item = state_item(&event(EventKind::Resubscribe, t, "a"), "o").unwrap_or_default();
        assert!(!item.is_empty() && !item.contains_key("oo_pk") && !item.contains_key("oo_sk"));
        assert!(state_item(&event(EventKind::Help, t, "a"), "o").is_none());
    }
}
