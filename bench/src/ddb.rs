//! The DynamoDB side of the benchmarks: the local server's own round trip, measured from this
//! process with the same SDK and configuration chain as the functions.

use crate::stats::Summary;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::Serialize;
use shared::adapters::store::schema::Key;
use shared::adapters::store::Store;
use shared::domain::event::{Event, EventKind};
use shared::domain::inbound::{Api, Encoding};
use shared::domain::msisdn::Msisdn;
use shared::domain::origin::{InboundMessage, Origin};
use std::time::Instant;

/// The SDK configuration exactly as the functions load it (environment chain).
pub async fn sdk_config() -> aws_config::SdkConfig {
    shared::adapters::config::aws_sdk_config().await
}

/// Round trips of the operations the functions make, against the same local server.
#[derive(Debug, Serialize)]
pub struct RoundTrips {
    /// `Store::record` of a new opt-out: one TransactWriteItems of two puts, exactly the write a
    /// STOP webhook makes (same item shapes and conditions).
    pub record_new_opt_out: Summary,
    /// `Store::state`: one consistent GetItem.
    pub get_state: Summary,
    /// A plain PutItem of a small item (for comparison).
    pub put_item: Summary,
}

/// An opt-out event shaped like the webhook's (same details, so the same item size).
pub fn opt_out_event(digits: &str, message_id: &str) -> Result<Event, String> {
    let msisdn = Msisdn::from_provider(digits).map_err(|e| e.to_string())?;
    let now = shared::domain::timestamp::now();
    Ok(Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn,
        kind: EventKind::OptOut,
        event_id: format!("sms:{message_id}"),
        occurred_at: now - time::Duration::days(6),
        received_at: now,
        origin: stop_message(message_id),
    })
}

/// The evidence of a STOP as the webhook records it.
pub fn stop_message(message_id: &str) -> Origin {
    Origin::Message(InboundMessage {
        message_id: message_id.into(),
        short_code: "16105553939".into(),
        keyword: Some("STOP".into()),
        phrase: None,
        clarifies: None,
        confirms: None,
        language: None,
        text: "STOP".into(),
        api: Api::Sms,
        encoding: Encoding::PostForm,
        message_timestamp: Some("2026-11-20T11:12:01.000Z".into()),
        extra: Default::default(),
    })
}

/// `n` of each operation, sequentially, on numbers with the prefix `prefix` (4 more digits).
pub async fn round_trips(store: &Store, prefix: &str, n: usize) -> Result<RoundTrips, String> {
    let mut record = Vec::with_capacity(n);
    let mut get = Vec::with_capacity(n);
    let mut put = Vec::with_capacity(n);
    for i in 0..n {
        let digits = format!("{prefix}{:04}", i % 10_000);
        let event = opt_out_event(&digits, &format!("RT{prefix}{i:08}"))?;
        let started = Instant::now();
        store.record(&event).await.map_err(|e| e.to_string())?;
        record.push(started.elapsed());

        let started = Instant::now();
        store
            .state(&event.msisdn)
            .await
            .map_err(|e| e.to_string())?;
        get.push(started.elapsed());

        let started = Instant::now();
        store
            .client()
            .put_item()
            .table_name(store.table_name())
            .set_item(Some(
                Key::checkpoint(&format!("BENCH#{i}"))
                    .item()
                    .into_iter()
                    .chain([("v".to_string(), AttributeValue::S("x".repeat(64)))])
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        put.push(started.elapsed());
    }
    Ok(RoundTrips {
        record_new_opt_out: Summary::of(&record),
        get_state: Summary::of(&get),
        put_item: Summary::of(&put),
    })
}

/// A new table from template.yaml's definition.
pub async fn create_table(
    client: &Client,
    template: &std::path::Path,
    name: &str,
) -> Result<(), String> {
    let spec =
        testkit::table::TableSpec::from_template_file(template).map_err(|e| e.to_string())?;
    spec.create(client, name).await.map_err(|e| e.to_string())
}
