//! Lists: the opted-out numbers a page at a time (the API's `/opt-outs`, the list export) and every
//! history entry between two instants (the history export).

use super::items::{
    decode_cursor, encode_cursor, parse_history, partition_key, s, string, OPTED_OUT_PARTITION,
};
use super::{unavailable, Store, StoreError, OPTED_OUT_INDEX, STATE_SK};
use crate::domain::event::{HistoryEntry, OptedOut};
use crate::domain::sort_keys::HISTORY_PREFIX;
use crate::domain::timestamp;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

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

impl Store {
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
            .expression_attribute_values(":e", s(HISTORY_PREFIX))
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
}
