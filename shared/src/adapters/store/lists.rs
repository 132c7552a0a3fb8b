//! Lists: the opted-out numbers a page at a time (the API's `/opt-outs`, the list export) and every
//! history entry between two instants (the history export).

use super::schema::{self, HistoryAttrs, Item, Keyed, OptedOutPart, OptedOutRead};
use super::{cursor, unavailable, Store, StoreError};
use crate::domain::event::{HistoryEntry, OptedOut};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::Scope;
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
    /// One page of a program's opted-out list in number order (`scopes`: those reaching it);
    /// the next cursor, `None` on the last page. Each scope's part of the index is read from
    /// the cursor on and the parts merged; with several scopes, a number a newer event opened
    /// for this program (a resubscribe after a STOP ALL) is left out, so a page may be short.
    pub async fn opted_out_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
        scopes: &[Scope],
    ) -> Result<(Vec<OptedOut>, Option<String>), StoreError> {
        let after = match cursor {
            Some(cursor) => {
                let [digits] = cursor::decode(cursor)?;
                Some(Msisdn::from_provider(&digits).map_err(|_| StoreError::BadCursor)?)
            }
            None => None,
        };
        let mut merged: std::collections::BTreeMap<String, OptedOut> = Default::default();
        // The last number of a part that has more: nothing after the smallest of these is
        // known yet, so the page ends there.
        let mut known_until: Option<String> = None;
        // Every shard of every scope (and each scope's part from before sharding), at once.
        let parts: Vec<OptedOutPart> = scopes.iter().flat_map(OptedOutPart::all).collect();
        let reads = parts
            .iter()
            .map(|part| self.opted_out_part(part, limit, after.as_ref()));
        for (items, more) in futures::future::try_join_all(reads).await? {
            if more {
                if let Some(last) = items.last() {
                    if known_until.as_ref().is_none_or(|k| last.msisdn < *k) {
                        known_until = Some(last.msisdn.clone());
                    }
                }
            }
            for item in items {
                merged.entry(item.msisdn.clone()).or_insert(item);
            }
        }
        let mut page: Vec<OptedOut> = merged
            .into_values()
            .filter(|o| known_until.as_ref().is_none_or(|k| o.msisdn <= *k))
            .take(usize::try_from(limit).unwrap_or(0))
            .collect();
        let truncated = page.last().map(|o| o.msisdn.clone());
        let next = if known_until.is_some() || page.len() == usize::try_from(limit).unwrap_or(0) {
            truncated.as_deref().map(|last| cursor::encode(&[last]))
        } else {
            None
        };
        if scopes.len() > 1 {
            let numbers: Vec<Msisdn> = page
                .iter()
                .filter_map(|o| Msisdn::from_provider(&o.msisdn).ok())
                .collect();
            let states = self.states_parallel(&numbers, scopes, 4).await?;
            page.retain(|o| {
                states
                    .get(&o.msisdn)
                    .is_some_and(|s| s.status == crate::domain::event::Status::OptedOut)
            });
            for o in &mut page {
                if let Some(state) = states.get(&o.msisdn) {
                    o.since = state.since;
                }
            }
        }
        Ok((page, next))
    }

    /// Up to `limit` entries of one part of the opted-out index after `after`, and whether it
    /// has more.
    async fn opted_out_part(
        &self,
        part: &OptedOutPart,
        limit: i32,
        after: Option<&Msisdn>,
    ) -> Result<(Vec<OptedOut>, bool), StoreError> {
        let condition = schema::opted_out_query(part);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::OPTED_OUT_INDEX)
            .key_condition_expression(condition.text)
            .set_expression_attribute_values(Some(condition.values))
            .set_exclusive_start_key(after.map(|m| schema::opted_out_start(m, part)))
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        let items = out
            .items()
            .iter()
            .map(|item| schema::from_item::<OptedOutRead>(item.clone()).map(OptedOut::from))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((items, out.last_evaluated_key().is_some()))
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
