//! Checkpoints: one small item per long-running job (`RECONCILE`), saying where an interrupted run
//! resumes. It carries no index attributes, so it is in neither the history index nor the list.

use super::items::{s, string};
use super::{unavailable, Store, StoreError};
use crate::domain::timestamp;

/// Sort key of a checkpoint item (partition key: the checkpoint's name, e.g. `RECONCILE`).
pub const CHECKPOINT_SK: &str = "CHECKPOINT";

impl Store {
    /// The checkpoint saved under `name`, if any (item `pk` = `name`, `sk` = `CHECKPOINT`).
    pub async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError> {
        let item = self
            .get_consistent(name.into(), CHECKPOINT_SK.into())
            .await?;
        item.as_ref().map(|item| string(item, "data")).transpose()
    }

    /// Save (replace) the checkpoint `name`. It carries no index attributes, so it is in neither
    /// the history index nor the opted-out list.
    pub async fn save_checkpoint(&self, name: &str, data: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(name))
            .item("sk", s(CHECKPOINT_SK))
            .item("data", s(data))
            .item("updated_at", s(timestamp::format(timestamp::now())))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn clear_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(name))
            .key("sk", s(CHECKPOINT_SK))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
