//! The record's rules against a real DynamoDB-compatible server: idempotency, newest event wins,
//! state and history in step, the opted-out list.

use shared::adapters::store::StoreError;
use shared::domain::event::{Event, EventKind, Outcome, Status};
use testkit::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn event(digits: &str, kind: EventKind, id: &str, at: OffsetDateTime) -> Event {
    Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(digits),
        kind,
        event_id: id.into(),
        occurred_at: at,
        received_at: at + Duration::seconds(1),
        origin: testkit::records::message(id, "STOP", "STOP"),
    }
}

const T0: OffsetDateTime = datetime!(2026-11-01 10:00:00 UTC);

#[tokio::test]
async fn an_opt_out_sets_state_and_appends_history() {
    let store = fresh_store().await;
    let e = event("14155550100", EventKind::OptOut, "sms:A1", T0);
    assert_eq!(store.record(&e).await.unwrap(), Outcome::Applied);
    let state = store.state(&e.msisdn).await.unwrap().unwrap();
    assert_eq!(state.status, Status::OptedOut);
    assert_eq!(
        shared::domain::timestamp::format(state.since),
        "2026-11-01T10:00:00.000Z"
    );
    assert_eq!(state.event_id, "sms:A1");
    let history = store.history(&e.msisdn, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].origin.details()["message_id"], "sms:A1");
    assert!(history[0].applied);
}

#[tokio::test]
async fn redelivery_is_a_no_op() {
    let store = fresh_store().await;
    let e = event("14155550101", EventKind::OptOut, "sms:A2", T0);
    assert_eq!(store.record(&e).await.unwrap(), Outcome::Applied);
    let before = items_for(&store, "14155550101").await;
    for _ in 0..5 {
        assert_eq!(store.record(&e).await.unwrap(), Outcome::Duplicate);
    }
    assert_eq!(items_for(&store, "14155550101").await, before);
}

#[tokio::test]
async fn fifty_concurrent_deliveries_write_once() {
    let store = fresh_store().await;
    let e = event("14155550102", EventKind::OptOut, "sms:A3", T0);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, e) = (store.clone(), e.clone());
            tokio::spawn(async move { store.record(&e).await })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Outcome::Applied => applied += 1,
            Outcome::Duplicate => {}
            other => panic!("a duplicate of the state's own event is not {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(history_count(&store, "14155550102").await, 1);
    assert_eq!(items_for(&store, "14155550102").await.len(), 2);
}

#[tokio::test]
async fn newest_event_wins_and_late_ones_are_still_history() {
    let store = fresh_store().await;
    let n = "14155550103";
    let stop = event(n, EventKind::OptOut, "sms:OLD", T0);
    let resub = event(
        n,
        EventKind::Resubscribe,
        "resub:1",
        T0 + Duration::minutes(5),
    );
    assert_eq!(store.record(&resub).await.unwrap(), Outcome::Applied);
    // The STOP from before the resubscribe arrives late (Vonage redelivers for 24 hours).
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Superseded);
    let state = store.state(&msisdn(n)).await.unwrap().unwrap();
    assert_eq!(state.status, Status::Subscribed);
    assert_eq!(state.event_id, "resub:1");
    let history = store.history(&msisdn(n), 10).await.unwrap();
    let ids: Vec<_> = history
        .iter()
        .map(|h| (h.event_id.as_str(), h.applied))
        .collect();
    // Newest first, by event time rather than arrival.
    assert_eq!(ids, [("resub:1", true), ("sms:OLD", false)]);
    // A later STOP wins again.
    let stop2 = event(n, EventKind::OptOut, "sms:NEW", T0 + Duration::minutes(6));
    assert_eq!(store.record(&stop2).await.unwrap(), Outcome::Applied);
    assert_eq!(
        store.state(&msisdn(n)).await.unwrap().unwrap().status,
        Status::OptedOut
    );
    // And a repeat of the superseded one changes nothing.
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Duplicate);
    assert_eq!(history_count(&store, n).await, 3);
}

#[tokio::test]
async fn at_the_same_instant_the_opt_out_wins() {
    let store = fresh_store().await;
    let n = "14155550104";
    let stop = event(n, EventKind::OptOut, "sms:S", T0);
    let resub = event(n, EventKind::Resubscribe, "resub:R", T0);
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    assert_eq!(store.record(&resub).await.unwrap(), Outcome::Superseded);
    assert_eq!(
        store.state(&msisdn(n)).await.unwrap().unwrap().status,
        Status::OptedOut
    );
}

#[tokio::test]
async fn history_is_bounded_newest_first() {
    let store = fresh_store().await;
    let n = "14155550105";
    for i in 0..7 {
        let e = event(
            n,
            EventKind::OptOut,
            &format!("sms:H{i}"),
            T0 + Duration::minutes(i),
        );
        store.record(&e).await.unwrap();
    }
    let history = store.history(&msisdn(n), 3).await.unwrap();
    let ids: Vec<_> = history.iter().map(|h| h.event_id.as_str()).collect();
    assert_eq!(ids, ["sms:H6", "sms:H5", "sms:H4"]);
}

#[tokio::test]
async fn the_opted_out_list_pages_through_every_number_once() {
    let store = fresh_store().await;
    let mut expected = Vec::new();
    for i in 0..23 {
        let n = format!("1415555{:04}", 2000 + i);
        store
            .record(&event(&n, EventKind::OptOut, &format!("sms:L{i}"), T0))
            .await
            .unwrap();
        expected.push(n);
    }
    // Two of them resubscribed: they leave the list.
    for n in &expected[..2] {
        let e = event(
            n,
            EventKind::Resubscribe,
            &format!("resub:{n}"),
            T0 + Duration::minutes(1),
        );
        assert_eq!(store.record(&e).await.unwrap(), Outcome::Applied);
    }
    let expected = &expected[2..];
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (items, next) = store
            .opted_out_page(
                5,
                cursor.as_deref(),
                &[shared::domain::program::Scope::Every],
            )
            .await
            .unwrap();
        pages += 1;
        seen.extend(items.into_iter().map(|i| i.msisdn));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 20, "pagination does not terminate");
    }
    assert!(pages > 2);
    assert_eq!(seen, expected);
    assert!(matches!(
        store
            .opted_out_page(
                5,
                Some("not-a-cursor"),
                &[shared::domain::program::Scope::Every]
            )
            .await,
        Err(StoreError::BadCursor)
    ));
}

#[tokio::test]
async fn storage_down_fails_loudly_and_a_retry_completes() {
    let store = fresh_store().await;
    let down = unreachable_store(store.table_name());
    let e = event("14155550106", EventKind::OptOut, "sms:D1", T0);
    assert!(matches!(
        down.record(&e).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(item_count(&store).await, 0);
    assert_eq!(store.record(&e).await.unwrap(), Outcome::Applied);
    assert_eq!(history_count(&store, "14155550106").await, 1);
}

#[tokio::test]
async fn the_table_created_locally_is_the_one_template_yaml_defines() {
    use testkit::table::TableSpec;
    let store = fresh_store().await;
    let spec = TableSpec::from_template_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../template.yaml"
    )))
    .unwrap();
    let described = store
        .client()
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let keys = |k: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        k.iter()
            .map(|e| {
                (
                    e.attribute_name().to_string(),
                    e.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let spec_keys = |k: &[testkit::table::KeyDef]| -> Vec<(String, String)> {
        k.iter()
            .map(|e| (e.attribute_name.clone(), e.key_type.clone()))
            .collect()
    };
    assert_eq!(keys(table.key_schema()), spec_keys(&spec.key_schema));
    let mut attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    let mut spec_attrs: Vec<(String, String)> = spec
        .attribute_definitions
        .iter()
        .map(|a| (a.attribute_name.clone(), a.attribute_type.clone()))
        .collect();
    attrs.sort();
    spec_attrs.sort();
    assert_eq!(attrs, spec_attrs);
    let lsis: Vec<(String, Vec<(String, String)>)> = table
        .local_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys(i.key_schema()),
            )
        })
        .collect();
    let spec_lsis: Vec<(String, Vec<(String, String)>)> = spec
        .local_secondary_indexes
        .iter()
        .map(|i| (i.index_name.clone(), spec_keys(&i.key_schema)))
        .collect();
    assert_eq!(lsis, spec_lsis);
    let gsis: Vec<(String, Vec<(String, String)>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                keys(i.key_schema()),
            )
        })
        .collect();
    let spec_gsis: Vec<(String, Vec<(String, String)>)> = spec
        .global_secondary_indexes
        .iter()
        .map(|i| (i.index_name.clone(), spec_keys(&i.key_schema)))
        .collect();
    assert_eq!(gsis, spec_gsis);
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
}

/// The local server's own TransactWriteItems (scripts/dynamodb_local.py) must keep the stream
/// right, as DynamoDB does: one record per committed write, none for a cancelled transaction.
#[tokio::test]
async fn the_stream_carries_committed_writes_only() {
    use testkit::streams::StreamReader;
    let store = fresh_store().await;
    let mut reader = StreamReader::new(&store).await;
    let at = time::macros::datetime!(2026-11-20 10:00 UTC);
    let stop = Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn("14155550401"),
        kind: EventKind::OptOut,
        event_id: "sms:S".into(),
        occurred_at: at,
        received_at: at,
        origin: testkit::records::message("M1", "STOP", "STOP"),
    };
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    let keys = |records: &[serde_json::Value]| -> Vec<(String, String)> {
        records
            .iter()
            .map(|r| {
                (
                    r["eventName"].as_str().unwrap_or("").to_string(),
                    r["dynamodb"]["Keys"]["sk"]["S"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    };
    let first = reader.next_records().await;
    assert_eq!(
        keys(&first),
        [
            ("INSERT".into(), "E#sms:S".into()),
            ("INSERT".into(), "STATE".into())
        ]
    );
    assert_eq!(first[0]["dynamodb"]["NewImage"]["kind"]["S"], "opt_out");
    // A redelivery: the transaction is cancelled and the history put fails: nothing.
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Duplicate);
    assert!(reader.next_records().await.is_empty());
    // An older event: cancelled transaction, then the history entry alone.
    let older = Event {
        event_id: "sms:O".into(),
        occurred_at: at - time::Duration::hours(1),
        ..stop.clone()
    };
    assert_eq!(store.record(&older).await.unwrap(), Outcome::Superseded);
    assert_eq!(
        keys(&reader.next_records().await),
        [("INSERT".into(), "E#sms:O".into())]
    );
    // A newer one modifies the state.
    let newer = Event {
        event_id: "sms:N".into(),
        occurred_at: at + time::Duration::hours(1),
        ..stop
    };
    store.record(&newer).await.unwrap();
    assert_eq!(
        keys(&reader.next_records().await),
        [
            ("INSERT".into(), "E#sms:N".into()),
            ("MODIFY".into(), "STATE".into())
        ]
    );
}

/// The opted-out list is sharded by the number's last digit (no single partition key takes a
/// burst of STOPs), and still reads in number order, whatever the page size; a resubscribe takes
/// a number out of its shard.
#[tokio::test]
async fn the_opted_out_list_is_sharded_and_reads_in_number_order() {
    use shared::adapters::store::schema::{self, OptedOutPart, OPTED_OUT_SHARDS};
    use shared::domain::program::Scope;
    let store = fresh_store().await;
    let at = datetime!(2026-11-01 10:00 UTC);
    let numbers: Vec<String> = (0..23)
        .map(|i| format!("1415555{:04}", 7300 + i * 7))
        .collect();
    for (i, n) in numbers.iter().enumerate() {
        let stop = records::stop(&msisdn(n), &format!("sms:SH{i}"), at);
        assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    }
    store
        .record(&records::resubscribe(
            &msisdn(&numbers[4]),
            "web:SH4",
            at + Duration::minutes(1),
        ))
        .await
        .unwrap();
    let mut expected: Vec<String> = numbers.clone();
    expected.remove(4);
    expected.sort();

    // Each shard holds the numbers ending in its digit, and only those.
    let mut listed = 0;
    for shard in 0..OPTED_OUT_SHARDS {
        let part = OptedOutPart {
            scope: Scope::Every,
            shard: Some(shard),
        };
        let query = schema::opted_out_query(&part);
        let out = store
            .client()
            .query()
            .table_name(store.table_name())
            .index_name(schema::OPTED_OUT_INDEX)
            .key_condition_expression(query.text)
            .set_expression_attribute_values(Some(query.values))
            .send()
            .await
            .unwrap();
        for item in out.items() {
            let entry: schema::OptedOutRead = schema::from_item(item.clone()).unwrap();
            let digits = &shared::domain::event::OptedOut::from(entry).msisdn;
            assert!(
                digits.ends_with(&shard.to_string()),
                "{digits} in shard {shard}"
            );
            assert_eq!(OptedOutPart::of(&msisdn(digits), &Scope::Every), part);
            listed += 1;
        }
    }
    assert_eq!(listed, expected.len());

    for limit in [1, 4, 7, 100] {
        let mut cursor = None;
        let mut got = Vec::new();
        loop {
            let (page, next) = store
                .opted_out_page(limit, cursor.as_deref(), &[Scope::Every])
                .await
                .unwrap();
            assert!(page.len() <= usize::try_from(limit).unwrap());
            got.extend(page.into_iter().map(|o| o.msisdn));
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "pages of {limit}");
    }
}
