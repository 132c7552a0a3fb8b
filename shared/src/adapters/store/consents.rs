//! Joins by text waiting for their YES (double opt-in): one item per number and program beside
//! the number's state, written with the join's history entry. The consent a YES confirms goes
//! through [`Store::record`] like every event.

use super::schema::{self, ConsentRequestAttrs, Key};
use super::{unavailable, Store, StoreError, Write, Written};
use crate::domain::consent::ConsentRequest;
use crate::domain::event::{Event, Outcome};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::ProgramId;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;

impl Store {
    /// Record a join's history entry (`event`, a `consent_request`) and make it the number's
    /// waiting join for the program, in one transaction. A redelivery is a duplicate; a join
    /// older than the one waiting is history only ([`Outcome::Noted`] either way when new).
    pub async fn open_consent_request(
        &self,
        event: &Event,
        request: &ConsentRequest,
    ) -> Result<Outcome, StoreError> {
        let history = schema::put_item(schema::put(
            &self.table,
            schema::to_item(&schema::history_item(event, false))?,
            Some(schema::is_new()),
        )?);
        let waiting = schema::put_item(schema::put(
            &self.table,
            schema::to_item(&schema::consent_request_item(&event.msisdn, request))?,
            Some(schema::consent_request_is_older(request.requested_at)),
        )?);
        match self
            .write(Write::Transaction(vec![history, waiting]))
            .await?
        {
            Written::Yes => Ok(Outcome::Noted),
            Written::ConditionFailed(failed) if failed.first() == Some(&false) => {
                // Only a newer join is waiting: this one is kept in history alone.
                self.record(event).await
            }
            Written::ConditionFailed(_) => Ok(Outcome::Duplicate),
        }
    }

    /// The join waiting for the number's YES in `program`, expired or not.
    pub async fn consent_request(
        &self,
        msisdn: &Msisdn,
        program: &ProgramId,
    ) -> Result<Option<ConsentRequest>, StoreError> {
        let waiting: Option<ConsentRequestAttrs> =
            self.get(Key::consent_request(msisdn, program)).await?;
        Ok(waiting.map(ConsentRequest::from))
    }

    /// Remove the waiting join once its consent is recorded (only if it is still that one).
    pub async fn close_consent_request(
        &self,
        msisdn: &Msisdn,
        request: &ConsentRequest,
    ) -> Result<(), StoreError> {
        let delete = schema::delete_item(
            &self.table,
            &Key::consent_request(msisdn, &request.program),
            schema::consent_request_is(&request.request_event_id),
        )?;
        self.write(Write::Transaction(vec![delete])).await?;
        Ok(())
    }

    /// The joins waiting in `program` for many numbers, keyed by their digits, `concurrency`
    /// BatchGetItem requests at a time (the send-time check).
    pub async fn consent_requests(
        &self,
        numbers: &[&Msisdn],
        program: &ProgramId,
        concurrency: usize,
    ) -> Result<HashMap<String, ConsentRequest>, StoreError> {
        use futures::StreamExt;
        let keys: Vec<Key> = numbers
            .iter()
            .map(|n| Key::consent_request(n, program))
            .collect();
        let requests: Vec<_> = keys
            .chunks(super::bulk::BATCH_GET_KEYS)
            .map(|chunk| async move {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(Key::item).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(unavailable)?;
                self.batch_get(request).await
            })
            .collect();
        let mut chunks = futures::stream::iter(requests).buffer_unordered(concurrency.max(1));
        let mut found = HashMap::new();
        while let Some(items) = chunks.next().await {
            for item in items? {
                let attrs: ConsentRequestAttrs = schema::from_item(item)?;
                found.insert(attrs.msisdn.clone(), attrs.into());
            }
        }
        Ok(found)
    }
}
