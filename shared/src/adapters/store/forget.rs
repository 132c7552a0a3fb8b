//! A person's request to be forgotten (`optout-admin forget`; docs/operations.md "Retention and
//! requests to be forgotten"). What proves they asked not to be texted stays: the number, every
//! state, every event's kind, time, id, source and matched keyword, so the opt-out is honoured and
//! provable. What they wrote or what identifies their device goes: each such value is replaced
//! by its SHA-256 (`sha256:<hex>`), which still proves, against a copy they produce, what the
//! record held. A waiting join is deleted. Running it again changes nothing.

use super::schema::{self, Key};
use super::{Store, StoreError, Write, Written};
use crate::domain::evidence::Read;
use crate::domain::msisdn::Msisdn;
use crate::domain::timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// History details holding what the person wrote or what identifies them or their device.
pub const PERSONAL_DETAILS: [&str; 8] = [
    "text",
    "consent_wording",
    "consent_ip",
    "consent_user_agent",
    "wording",
    "ip",
    "user_agent",
    "note",
];

const HASHED: &str = "sha256:";

/// What a request to be forgotten changed (or, in a dry run, would change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    /// History entries and review items whose personal values were replaced by their hash.
    pub items_redacted: u64,
    pub values_hashed: u64,
    /// Waiting joins deleted.
    pub joins_deleted: u64,
    /// Items kept unchanged (states, replies, entries with nothing personal).
    pub items_kept: u64,
    pub dry_run: bool,
}

/// `value` as the record keeps it once forgotten.
pub fn hashed(value: &str) -> String {
    if value.starts_with(HASHED) {
        return value.to_owned();
    }
    format!("{HASHED}{}", hex::encode(Sha256::digest(value.as_bytes())))
}

impl Store {
    /// Replace the personal values under `msisdn` by their hashes (module docs).
    pub async fn forget(&self, msisdn: &Msisdn, dry_run: bool) -> Result<Forgotten, StoreError> {
        let now = timestamp::now();
        let pk = Key::state(msisdn).pk;
        let mut done = Forgotten {
            dry_run,
            ..Forgotten::default()
        };
        for stored in self.number_items(msisdn).await? {
            let key = Key {
                pk: pk.clone(),
                sk: stored.sk.clone(),
            };
            if schema::ItemFamily::of(&key.item()) == schema::ItemFamily::ConsentRequest {
                done.joins_deleted += 1;
                if !dry_run {
                    let delete = schema::delete_item(&self.table, &key, schema::exists())?;
                    self.write(Write::Transaction(vec![delete])).await?;
                }
                continue;
            }
            // (path in the item, original value) of each personal value not yet hashed.
            let personal: Vec<(Vec<&str>, String)> = match &stored.read {
                Read::History(entry) => {
                    let details = entry.origin.details();
                    PERSONAL_DETAILS
                        .iter()
                        .filter_map(|name| {
                            let value = details.get(*name)?.as_str()?;
                            (!value.starts_with(HASHED))
                                .then(|| (vec!["details", *name], value.to_owned()))
                        })
                        .collect()
                }
                Read::Review(review) if !review.text.starts_with(HASHED) => {
                    vec![(vec!["text"], review.text.clone())]
                }
                _ => Vec::new(),
            };
            if personal.is_empty() {
                done.items_kept += 1;
                continue;
            }
            done.items_redacted += 1;
            done.values_hashed += personal.len() as u64;
            if dry_run {
                continue;
            }
            let hashed: Vec<(Vec<&str>, String)> = personal
                .into_iter()
                .map(|(path, value)| (path, hashed(&value)))
                .collect();
            let update = schema::redaction(&hashed, now);
            let write = schema::update(&self.table, &key, update, schema::exists())?;
            if self.write(Write::Update(write)).await? != Written::Yes {
                return Err(StoreError::Unavailable(format!(
                    "item {} vanished while being redacted",
                    stored.sk
                )));
            }
        }
        Ok(done)
    }
}
