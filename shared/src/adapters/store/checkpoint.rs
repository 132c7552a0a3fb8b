//! Checkpoints: one small item per long-running job (`RECONCILE`), saying where an interrupted run
//! resumes. It carries no index attributes, so it is in neither the history index nor the list.

use super::schema::{self, Checkpoint, Key, Keyed};
use super::{unavailable, Store, StoreError, Write};
use crate::domain::timestamp;

impl Store {
    pub async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError> {
        let item: Option<Checkpoint> = self.get(Key::checkpoint(name)).await?;
        Ok(item.map(|c| c.data))
    }

    /// Replaces the checkpoint `name`.
    pub async fn save_checkpoint(&self, name: &str, data: &str) -> Result<(), StoreError> {
        let item = Keyed {
            key: Key::checkpoint(name),
            attrs: Checkpoint {
                data: data.into(),
                updated_at: timestamp::now(),
            },
        };
        let put = schema::put(&self.table, schema::to_item(&item)?, None)?;
        self.write(Write::Put(put)).await.map(|_| ())
    }

    pub async fn clear_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::checkpoint(name).item()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
