//! What `optout-admin migrate` reads and changes: every state item, page by page, and a state
//! item deleted only while it still holds the event it was read with.

use super::schema::{self, Item, Key, Keyed, StateAttrs};
use super::{unavailable, Store, StoreError, Write, Written};
use crate::domain::event::State;
use crate::domain::msisdn::Msisdn;
use crate::domain::program::Scope;

/// A state item as a scan finds it.
#[derive(Debug, Clone)]
pub struct ScopedState {
    pub msisdn: Msisdn,
    pub scope: Scope,
    pub state: State,
    /// When the item was last written (not the event's time, which a late message can carry
    /// from before).
    pub written_at: time::OffsetDateTime,
}

/// Where a scan of the state items goes on: the last key read, `<pk>` and `<sk>`, as the
/// cursor codec writes them (so a checkpoint can hold it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateScanCursor(pub String);

impl Store {
    /// One page of every number's state items, in no particular order (a Scan: an operator's
    /// job, not a hot path); `limit` items read.
    pub async fn state_items_page(
        &self,
        start: Option<&StateScanCursor>,
        limit: i32,
    ) -> Result<(Vec<ScopedState>, Option<StateScanCursor>), StoreError> {
        let start = match start {
            Some(cursor) => {
                let [pk, sk] = super::cursor::decode::<2>(&cursor.0)?;
                Some(Key { pk, sk }.item())
            }
            None => None,
        };
        let filter = schema::state_items();
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter.text)
            .set_expression_attribute_values(Some(filter.values))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        let mut states = Vec::with_capacity(out.items().len());
        for item in out.items() {
            let read: Keyed<StateAttrs> = schema::from_item(item.clone())?;
            let scope = schema::scope_of_state(&read.key)
                .ok_or_else(|| StoreError::Corrupt(format!("state item {}", read.key.sk)))?;
            let msisdn = Msisdn::from_provider(&read.attrs.read.msisdn)
                .map_err(|e| StoreError::Corrupt(format!("state item's number: {e}")))?;
            states.push(ScopedState {
                msisdn,
                scope,
                written_at: read.attrs.updated_at,
                state: read.attrs.read.into(),
            });
        }
        let next = match out.last_evaluated_key() {
            Some(last) => Some(StateScanCursor(cursor_of(last)?)),
            None => None,
        };
        Ok((states, next))
    }

    /// Delete the state item kept for `scope` if it still holds the event of `order`; `false`
    /// when a newer event has replaced it since it was read.
    pub async fn delete_state_if_unchanged(
        &self,
        msisdn: &Msisdn,
        scope: &Scope,
        order: &str,
    ) -> Result<bool, StoreError> {
        let delete = schema::delete_item(
            &self.table,
            &Key::scoped_state(msisdn, scope),
            schema::state_holds(order),
        )?;
        match self.write(Write::Transaction(vec![delete])).await? {
            Written::Yes => Ok(true),
            Written::ConditionFailed(_) => Ok(false),
        }
    }
}

fn cursor_of(
    last: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Result<String, StoreError> {
    let key: Key = schema::from_item(Item::from(last.clone()))?;
    Ok(super::cursor::encode(&[&key.pk, &key.sk]))
}
