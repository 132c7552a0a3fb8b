//! Everything under one number, for its evidence file: one Query of the number's partition
//! (every item family, paginated, strongly consistent), each item read by its family's type and
//! kept as stored, for the pure [`crate::domain::evidence`] module.

use super::schema::{self, HistoryAttrs, Item, ItemFamily, Keyed, Reply, ReviewAttrs, StateAttrs};
use super::{unavailable, Store, StoreError};
use crate::domain::event::pick_reading;
use crate::domain::evidence::{self, EvidenceFile, Read, Stored};
use crate::domain::msisdn::Msisdn;
use crate::domain::review::Review;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use time::OffsetDateTime;

impl Store {
    /// Every item under `msisdn` (state, history, replies, reviews, anything else), read.
    pub async fn number_items(&self, msisdn: &Msisdn) -> Result<Vec<Stored>, StoreError> {
        let condition = schema::partition_is(msisdn);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&condition.text)
                .set_expression_attribute_values(Some(condition.values.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items().iter().map(stored));
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(items)
    }

    /// The evidence file for the reading of an input that `pick_reading` chooses, each
    /// reading's partition read.
    pub async fn evidence(
        &self,
        readings: &[Msisdn],
        now: OffsetDateTime,
    ) -> Result<Option<EvidenceFile>, StoreError> {
        let mut found = Vec::with_capacity(readings.len());
        for reading in readings {
            found.push((reading.clone(), self.number_items(reading).await?));
        }
        Ok(pick_reading(found, |items| evidence::record_rank(items))
            .map(|(msisdn, items)| evidence::build(msisdn.as_str(), items, now)))
    }
}

/// An item read by its family's type; one that does not read is kept as stored ([`Read::Other`]).
fn stored(item: &Item) -> Stored {
    let sk = schema::sort_key(item);
    let read = match ItemFamily::of(item) {
        ItemFamily::State => schema::from_item::<StateAttrs>(item.clone()).and_then(|s| {
            let key = schema::Key {
                pk: String::new(),
                sk: sk.clone(),
            };
            let scope = schema::scope_of_state(&key)
                .ok_or_else(|| StoreError::Corrupt(format!("state item {sk}")))?;
            Ok(Read::State {
                updated_at: s.updated_at,
                state: s.read.into(),
                scope,
            })
        }),
        ItemFamily::History => schema::from_item::<Keyed<HistoryAttrs>>(item.clone())
            .map(|h| Read::History(h.attrs.into())),
        ItemFamily::Reply => schema::from_item::<Reply>(item.clone()).map(|r| Read::Reply {
            kind: r.kind,
            status: r.status,
            text: r.text,
            detail: r.detail,
        }),
        ItemFamily::Review => schema::from_item::<ReviewAttrs>(item.clone())
            .and_then(Review::try_from)
            .map(Read::Review),
        // A waiting join: its history entry is the evidence.
        ItemFamily::ReplyLock | ItemFamily::ConsentRequest => Ok(Read::Bookkeeping),
        ItemFamily::Other => Ok(Read::Other),
    };
    let read = read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "an item under a number that does not read: shown as stored");
        Read::Other
    });
    Stored {
        sk,
        read,
        item: item_json(item),
    }
}

/// A DynamoDB item as JSON: numbers as JSON numbers when they fit (strings otherwise), sets as
/// arrays, binary as base64.
pub fn item_json(item: &Item) -> evidence::Item {
    item.iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect()
}

fn value_json(v: &AttributeValue) -> Value {
    use base64::Engine;
    let b64 =
        |b: &Blob| Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
    let number = |n: &str| {
        n.parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            })
            .unwrap_or_else(|| Value::String(n.to_owned()))
    };
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::M(m) => Value::Object(item_json(m)),
        AttributeValue::L(l) => Value::Array(l.iter().map(value_json).collect()),
        AttributeValue::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        AttributeValue::B(b) => b64(b),
        AttributeValue::Bs(bs) => Value::Array(bs.iter().map(b64).collect()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_attribute_type_becomes_json() {
        let item = HashMap::from([
            ("s".to_string(), AttributeValue::S("x".into())),
            ("n".to_string(), AttributeValue::N("42".into())),
            ("f".to_string(), AttributeValue::N("1.5".into())),
            ("big".to_string(), AttributeValue::N("1e400".into())),
            ("b".to_string(), AttributeValue::Bool(true)),
            ("null".to_string(), AttributeValue::Null(true)),
            (
                "m".to_string(),
                AttributeValue::M(HashMap::from([(
                    "k".to_string(),
                    AttributeValue::S("v".into()),
                )])),
            ),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::N("1".into())]),
            ),
            ("ss".to_string(), AttributeValue::Ss(vec!["a".into()])),
            (
                "bin".to_string(),
                AttributeValue::B(Blob::new(vec![1u8, 2, 3])),
            ),
        ]);
        let json = Value::Object(item_json(&item));
        assert_eq!(
            json,
            serde_json::json!({
                "s": "x", "n": 42, "f": 1.5, "big": "1e400", "b": true, "null": null,
                "m": {"k": "v"}, "l": [1], "ss": ["a"], "bin": "AQID"
            })
        );
    }
}
