//! Lists: the opted-out numbers a page at a time (the API's `/opt-outs`, the list export) and every
//! history entry between two instants (the history export).

use super::schema::{self, HistoryAttrs, Item, Keyed, OptedOutRead};
use super::{cursor, unavailable, Store, StoreError};
use crate::domain::event::{HistoryEntry, OptedOut};
use crate::domain::msisdn::Msisdn;
use serde::Serialize;
use time::OffsetDateTime;

/// One history entry with the number it belongs to (the history export).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumberHistoryEntry {
    pub msisdn: String,
    #[serde(flatten)]
    pub entry: HistoryEntry,
}

/// Where [`Store::history_between`] goes on.
#[derive(Debug, Clone)]
pub struct ScanCursor(Item);

impl Store {
    /// One page of the opted-out list in number order; the next cursor, `None` on the last page.
    pub async fn opted_out_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<OptedOut>, Option<String>), StoreError> {
        let condition = schema::opted_out_query();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::OPTED_OUT_INDEX)
            .key_condition_expression(condition.text)
            .set_expression_attribute_values(Some(condition.values))
            .limit(limit);
        if let Some(cursor) = cursor {
            let [digits] = cursor::decode(cursor)?;
            let msisdn = Msisdn::from_provider(&digits).map_err(|_| StoreError::BadCursor)?;
            query = query.set_exclusive_start_key(Some(schema::opted_out_start(&msisdn)));
        }
        let out = query.send().await.map_err(unavailable)?;
        let items = out
            .items()
            .iter()
            .map(|item| schema::from_item::<OptedOutRead>(item.clone()).map(OptedOut::from))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = match out.last_evaluated_key() {
            Some(key) => Some(cursor::encode(&[schema::opted_out_position(key)?.as_str()])),
            None => None,
        };
        Ok((items, next))
    }

    /// One page of every number's history entries whose event time is in `[from, to)`, in no
    /// particular order (a Scan: an operator's export, not a hot path); `limit` items read.
    pub async fn history_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        start: Option<ScanCursor>,
        limit: i32,
    ) -> Result<(Vec<NumberHistoryEntry>, Option<ScanCursor>), StoreError> {
        let filter = schema::history_between(from, to);
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter.text)
            .set_expression_attribute_values(Some(filter.values))
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
                let history: Keyed<HistoryAttrs> = schema::from_item(item.clone())?;
                Ok(NumberHistoryEntry {
                    msisdn: history.attrs.msisdn.clone(),
                    entry: history.attrs.into(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = out.last_evaluated_key().cloned().map(ScanCursor);
        Ok((entries, next))
    }
}
