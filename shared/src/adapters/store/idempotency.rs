//! Idempotency keys of API writes (`POST /opt-outs`): the same key with the same body is one
//! event; the same key with another body is refused.
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | idempotency key | `IDEMPOTENCY#<sha256 of the key, hex>` | the route's scope (`OPT_OUT`) | `body_hash` (sha256 of the canonical body), `event_id`, `created_at` |
//!
//! The key itself is never stored (only its hash): a caller may put anything in it.

use super::items::s;
use super::{unavailable, Store, StoreError};
use crate::domain::timestamp;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// First use of the key: it now belongs to this body and event.
    New,
    /// The key was used before with the same body: the event it recorded.
    Same { event_id: String },
    /// The key was used before with another body.
    Conflict,
}

impl Store {
    /// KeyClaim `key_hash` in `scope` for a request whose canonical body hashes to `body_hash`
    /// and which records `event_id`. A conditional put: concurrent first uses of one key get one
    /// `New` and otherwise `Same`/`Conflict`.
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key_hash: &str,
        body_hash: &str,
        event_id: &str,
    ) -> Result<KeyClaim, StoreError> {
        let pk = format!("IDEMPOTENCY#{key_hash}");
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk.as_str()))
            .item("sk", s(scope))
            .item("body_hash", s(body_hash))
            .item("event_id", s(event_id))
            .item("created_at", s(timestamp::format(timestamp::now())))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => return Ok(KeyClaim::New),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {}
                Some(e) if e.code() == Some("TransactionConflictException") => {
                    return Err(StoreError::Unavailable(e.to_string()))
                }
                _ => return Err(unavailable(err)),
            },
        }
        let existing = self.get_consistent(pk, scope.into()).await?;
        let Some(item) = existing.as_ref() else {
            return Err(StoreError::Unavailable(
                "idempotency key neither new nor found".into(),
            ));
        };
        let stored_body = super::items::string(item, "body_hash")?;
        let stored_event = super::items::string(item, "event_id")?;
        Ok(if stored_body == body_hash {
            KeyClaim::Same {
                event_id: stored_event,
            }
        } else {
            KeyClaim::Conflict
        })
    }
}
