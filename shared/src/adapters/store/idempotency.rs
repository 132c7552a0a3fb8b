//! Idempotency keys of API writes (`POST /opt-outs`): the same key with the same body is one
//! event; the same key with another body is refused. Only the key's hash is stored: a caller may
//! put anything in it.

use super::schema::{self, IdempotencyKey, Key, Keyed};
use super::{Store, StoreError, Write, Written};
use crate::domain::timestamp;

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
    /// Claim `key_hash` in `scope` for this body and event: a conditional put, so concurrent
    /// first uses of one key get one `New`.
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key_hash: &str,
        body_hash: &str,
        event_id: &str,
    ) -> Result<KeyClaim, StoreError> {
        let key = Key::idempotency(key_hash, scope);
        let item = Keyed {
            key: key.clone(),
            attrs: IdempotencyKey {
                body_hash: body_hash.into(),
                event_id: event_id.into(),
                created_at: timestamp::now(),
            },
        };
        let put = schema::put(&self.table, schema::to_item(&item)?, Some(schema::is_new()))?;
        if self.write(Write::Put(put)).await? == Written::Yes {
            return Ok(KeyClaim::New);
        }
        let Some(stored) = self.get::<IdempotencyKey>(key).await? else {
            return Err(StoreError::Unavailable(
                "idempotency key neither new nor found".into(),
            ));
        };
        Ok(if stored.body_hash == body_hash {
            KeyClaim::Same {
                event_id: stored.event_id,
            }
        } else {
            KeyClaim::Conflict
        })
    }
}
