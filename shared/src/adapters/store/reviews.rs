//! Review items: opened by the webhook, listed oldest due first from the `reviews_by_due` index
//! (never a scan), resolved by a person. A resolution is one transaction: the review's update
//! (only while open, so two concurrent resolves are one decision), the history entry, and for an
//! opt-out the state, as [`Store::record`] writes them: they never disagree.

use super::schema::{self, Key, Keyed, ReviewAttrs, ReviewListKey, ReviewPointer};
use super::{cursor, unavailable, Store, StoreError, Write, Written};
use crate::domain::event::{Event, Outcome};
use crate::domain::msisdn::Msisdn;
use crate::domain::review::{is_review_id, Resolution, Review, ReviewStatus};
use crate::domain::timestamp;

/// What resolving did.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveOutcome {
    /// What recording this call's decision did.
    Resolved(Outcome),
    /// Resolved by an earlier or a concurrent call: as it is now.
    AlreadyResolved(Box<Review>),
}

impl Store {
    /// The review item and its pointer, once: `false` when this review id exists (a redelivery).
    pub async fn open_review(&self, review: &Review) -> Result<bool, StoreError> {
        let item = schema::to_item(&schema::review_item(review, timestamp::now()))?;
        let pointer = schema::to_item(&Keyed {
            key: Key::review_pointer(&review.id),
            attrs: ReviewPointer {
                msisdn: review.msisdn.as_str().into(),
            },
        })?;
        let items = vec![
            schema::put_item(schema::put(&self.table, item, Some(schema::is_new()))?),
            schema::put_item(schema::put(&self.table, pointer, Some(schema::is_new()))?),
        ];
        Ok(self.write(Write::Transaction(items)).await? == Written::Yes)
    }

    pub async fn review(&self, id: &str) -> Result<Option<Review>, StoreError> {
        if !is_review_id(id) {
            return Ok(None);
        }
        let Some(pointer) = self.get::<ReviewPointer>(Key::review_pointer(id)).await? else {
            return Ok(None);
        };
        let msisdn = Msisdn::from_provider(&pointer.msisdn)
            .map_err(|e| StoreError::Corrupt(format!("review pointer: {e}")))?;
        self.review_of(&msisdn, id).await
    }

    async fn review_of(&self, msisdn: &Msisdn, id: &str) -> Result<Option<Review>, StoreError> {
        let item: Option<ReviewAttrs> = self.get(Key::review(msisdn, id)).await?;
        item.map(Review::try_from).transpose()
    }

    /// One page of the reviews with `status`, oldest due first, due before `due_before`
    /// (`YYYY-MM-DD`) if given; the next cursor, `None` on the last page. An item that does not
    /// read is left out and logged, never a failure of the whole list.
    pub async fn reviews_page(
        &self,
        status: ReviewStatus,
        due_before: Option<&str>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Review>, Option<String>), StoreError> {
        let condition = schema::review_list_query(status, due_before);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::REVIEWS_INDEX)
            .key_condition_expression(condition.text)
            .set_expression_attribute_values(Some(condition.values))
            .scan_index_forward(true)
            .limit(limit);
        if let Some(cursor) = cursor {
            let start = decode_position(cursor, status)?;
            query = query.set_exclusive_start_key(Some(schema::to_item(&start)?));
        }
        let out = query.send().await.map_err(unavailable)?;
        let mut reviews = Vec::with_capacity(out.items().len());
        for item in out.items() {
            match schema::from_item::<ReviewAttrs>(item.clone()).and_then(Review::try_from) {
                Ok(review) => reviews.push(review),
                Err(e) => {
                    tracing::error!(error = %e, "a review item that does not read: left out of the list")
                }
            }
        }
        let next = match out.last_evaluated_key() {
            Some(key) => {
                let p: ReviewListKey = schema::from_item(key.clone())?;
                Some(cursor::encode(&[&p.pk, &p.sk, &p.rv_sk]))
            }
            None => None,
        };
        Ok((reviews, next))
    }

    /// Every open review, oldest due first (the daily check).
    pub async fn open_reviews(&self) -> Result<Vec<Review>, StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .reviews_page(ReviewStatus::Open, None, 500, cursor.as_deref())
                .await?;
            all.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Resolve an open review, recording `event` in the same transaction; when it is no longer
    /// open, nothing is written and it is returned as it is now.
    pub async fn resolve_review(
        &self,
        review: &Review,
        resolution: &Resolution,
        event: &Event,
    ) -> Result<ResolveOutcome, StoreError> {
        // Each step is tried in turn: the full write; when only the state condition failed (a
        // newer event holds the state), the history entry unapplied; when the history entry
        // exists already, the review alone.
        let steps: &[Outcome] = match event.kind.status() {
            Some(_) => &[Outcome::Applied, Outcome::Superseded, Outcome::Duplicate],
            None => &[Outcome::Noted, Outcome::Duplicate],
        };
        for &outcome in steps {
            let (set, open) = schema::review_resolve(resolution, outcome);
            let mut items = vec![schema::update_item(schema::update(
                &self.table,
                &Key::review(&review.msisdn, &review.id),
                set,
                open,
            )?)];
            match outcome {
                Outcome::Applied => items.extend(self.record_writes(event)?),
                Outcome::Superseded | Outcome::Noted => items.push(schema::put_item(schema::put(
                    &self.table,
                    schema::to_item(&schema::history_item(event, false))?,
                    Some(schema::is_new()),
                )?)),
                Outcome::Duplicate => {}
            }
            if self.write(Write::Transaction(items)).await? == Written::Yes {
                return Ok(ResolveOutcome::Resolved(outcome));
            }
            // A condition failed. If the review is no longer open, someone else decided.
            match self.review_of(&review.msisdn, &review.id).await? {
                Some(now) if now.status == ReviewStatus::Resolved => {
                    return Ok(ResolveOutcome::AlreadyResolved(Box::new(now)))
                }
                Some(_) => continue,
                None => return Err(StoreError::Corrupt("review vanished".into())),
            }
        }
        Err(StoreError::Corrupt(
            "review could not be resolved although it is open".into(),
        ))
    }
}

/// A cursor back into a start key, only for the list it was issued for.
fn decode_position(cursor: &str, status: ReviewStatus) -> Result<ReviewListKey, StoreError> {
    let [pk, sk, rv_sk] = cursor::decode(cursor)?;
    let digits = pk.strip_prefix("N#").ok_or(StoreError::BadCursor)?;
    let msisdn = Msisdn::from_provider(digits).map_err(|_| StoreError::BadCursor)?;
    let id = rv_sk.rsplit('#').next().unwrap_or_default();
    if !is_review_id(id)
        || Key::review(&msisdn, id)
            != (Key {
                pk: pk.clone(),
                sk: sk.clone(),
            })
    {
        return Err(StoreError::BadCursor);
    }
    Ok(ReviewListKey {
        pk,
        sk,
        rv_pk: schema::review_list(status),
        rv_sk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_garbage_is_refused() {
        let id = format!("rv_{}", "a".repeat(32));
        let msisdn = Msisdn::from_provider("14155550100").unwrap_or_else(|e| panic!("{e}"));
        let key = Key::review(&msisdn, &id);
        let rv_sk = format!("2026-12-01#2026-11-16T10:00:00.000Z#{id}");
        let cursor = cursor::encode(&[&key.pk, &key.sk, &rv_sk]);
        let position = decode_position(&cursor, ReviewStatus::Open);
        assert_eq!(
            position.ok(),
            Some(ReviewListKey {
                pk: key.pk.clone(),
                sk: key.sk.clone(),
                rv_pk: "REVIEW#open".into(),
                rv_sk: rv_sk.clone(),
            })
        );
        let other_id = cursor::encode(&[&key.pk, "V#rv_0000", &rv_sk]);
        for bad in ["", "!!", "djE6W10", "djI6W10", other_id.as_str()] {
            assert!(
                matches!(
                    decode_position(bad, ReviewStatus::Open),
                    Err(StoreError::BadCursor)
                ),
                "{bad}"
            );
        }
    }
}
