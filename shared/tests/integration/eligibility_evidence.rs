//! `POST /eligibility` (the send-time check) and `GET /subscriptions/{msisdn}/evidence` (the
//! evidence file) through the real handler, against the local DynamoDB-compatible server. Every
//! response is checked against openapi.yaml.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::store::replies::{OwedReply, ReplyClaim, Settle};
use shared::adapters::store::{schema, Store};
use shared::adapters::vonage::VonageClient;
use shared::domain::event::{Event, EventKind};
use shared::domain::replies::ReplyKind;
use shared::domain::review::{self, Decision, Resolution, Review, ReviewStatus};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use testkit::openapi::CheckedApi;
use testkit::*;
use time::macros::datetime;
use time::OffsetDateTime;

const KEY: &str = "website-key";

fn api(store: Store) -> CheckedApi {
    // Never called by these routes: nothing listens on port 9.
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").expect("client");
    CheckedApi::new(WebsiteApi::new(store, vonage, vec![KEY.to_string()]))
}

fn event(digits: &str, kind: EventKind, id: &str, at: OffsetDateTime, source: &str) -> Event {
    let origin = match source {
        "website" => testkit::records::website_consent(at),
        _ => testkit::records::message(id, "STOP", "STOP"),
    };
    testkit::records::event(&msisdn(digits), kind, id, at, origin)
}

async fn check(api: &CheckedApi, numbers: &[&str]) -> (StatusCode, Value) {
    let body = serde_json::json!({ "numbers": numbers }).to_string();
    post_raw(api, body.as_bytes()).await
}

async fn post_raw(api: &CheckedApi, body: &[u8]) -> (StatusCode, Value) {
    let call = HttpCall::post("/eligibility", "application/json", body).header("x-api-key", KEY);
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    (response.status(), body_json(&response))
}

fn results(json: &Value) -> Vec<Value> {
    json["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn every_input_is_answered_in_order_and_an_opted_out_reading_wins() {
    let store = fresh_store().await;
    let t = datetime!(2026-01-01 10:00 UTC);
    store
        .record(&event(
            "14155550300",
            EventKind::OptOut,
            "sms:A",
            t,
            "webhook",
        ))
        .await
        .expect("record");
    store
        .record(&event(
            "14155550301",
            EventKind::OptOut,
            "sms:B",
            t,
            "webhook",
        ))
        .await
        .expect("record");
    store
        .record(&event(
            "14155550301",
            EventKind::Resubscribe,
            "resub:B",
            t + time::Duration::hours(1),
            "website",
        ))
        .await
        .expect("record");
    // The bare digits 4155550302 (E.164 reading) texted STOP; the US reading is unknown.
    store
        .record(&event(
            "4155550302",
            EventKind::OptOut,
            "sms:C",
            t,
            "webhook",
        ))
        .await
        .expect("record");
    // Vonage's documentation number: refused by the strict reading, recorded by the webhook.
    store
        .record(&event(
            "15559301529",
            EventKind::OptOut,
            "sms:D",
            t,
            "webhook",
        ))
        .await
        .expect("record");
    let api = api(store.clone());
    let inputs = [
        "+1 (415) 555-0300",
        "14155550301",
        "4155550302",
        "+1 415 555 0399",
        "not a number",
        "+1 (415) 555-0300",
        "15559301529",
        "",
    ];
    let (status, json) = check(&api, &inputs).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let got = results(&json);
    assert_eq!(got.len(), inputs.len());
    for (input, result) in inputs.iter().zip(&got) {
        assert_eq!(result["input"], *input);
    }
    let summary: Vec<(Value, bool, &str)> = got
        .iter()
        .map(|r| {
            (
                r["msisdn"].clone(),
                r["may_send"].as_bool().unwrap_or(true),
                r["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("14155550300".into(), false, "opted_out"),
            ("14155550301".into(), true, "subscribed"),
            ("4155550302".into(), false, "opted_out"),
            ("14155550399".into(), true, "unknown"),
            (Value::Null, false, "invalid"),
            ("14155550300".into(), false, "opted_out"),
            ("15559301529".into(), false, "opted_out"),
            (Value::Null, false, "invalid"),
        ]
    );
    assert_eq!(got[0]["event_id"], "sms:A");
    assert_eq!(got[0]["since"], "2026-01-01T10:00:00.000Z");
    assert!(got[0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("webhook")));
    assert_eq!(got[1]["event_id"], "resub:B");
    assert_eq!(got[1]["reason"], Value::Null);
    assert_eq!(got[3]["since"], Value::Null);
    assert_eq!(got[3]["event_id"], Value::Null);
    assert!(got[4]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("not a phone number")));
    assert!(got[7]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("empty")));
    // A read: nothing written.
    assert_eq!(item_count(&store).await, 9);
}

#[tokio::test]
async fn a_thousand_numbers_are_answered_and_one_more_is_refused() {
    let store = fresh_store().await;
    let t = datetime!(2026-01-01 10:00 UTC);
    // Every 7th number opted out (143 of them), written in batch transactions.
    let events: Vec<Event> = (0..1000)
        .filter(|i| i % 7 == 0)
        .map(|i| {
            event(
                &format!("1415556{i:04}"),
                EventKind::OptOut,
                &format!("sms:T{i}"),
                t,
                "webhook",
            )
        })
        .collect();
    for outcome in store.record_many(&events, 4).await {
        outcome.expect("record");
    }
    let api = api(store.clone());
    // Human spellings: one reading each, so 1,000 keys in 10 chunks.
    let inputs: Vec<String> = (0..1000).map(|i| format!("+1 415 556 {i:04}")).collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let (status, json) = check(&api, &refs).await;
    assert_eq!(status, StatusCode::OK);
    let got = results(&json);
    assert_eq!(got.len(), 1000);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["msisdn"], format!("1415556{i:04}"), "{i}");
        assert_eq!(r["may_send"], i % 7 != 0, "{i}: {r}");
    }
    // Bare digits: two readings each, 2,000 keys in 20 chunks, all in flight at once.
    let inputs: Vec<String> = (0..1000).map(|i| format!("415556{i:04}")).collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let (status, json) = check(&api, &refs).await;
    assert_eq!(status, StatusCode::OK);
    let opted_out = results(&json)
        .iter()
        .filter(|r| r["status"] == "opted_out")
        .count();
    assert_eq!(opted_out, 143);

    let too_many: Vec<&str> = (0..1001).map(|_| "+14155550100").collect();
    let (status, json) = check(&api, &too_many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "invalid_parameter");
    assert!(json["message"].as_str().is_some_and(|m| m.contains("1000")));
}

#[tokio::test]
async fn bad_bodies_are_refused_and_an_empty_list_is_fine() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (b"{}".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            br#"{"numbers": "14155550100"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            br#"{"numbers": [14155550100]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            br#"{"numbers": [null]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            br#"{"numbers": [], "limit": 5}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            vec![b' '; shared::handlers::website_api::ELIGIBILITY_BODY_LIMIT + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let (got, json) = post_raw(&api, &body).await;
        assert_eq!(
            (got, json["error"].as_str()),
            (status, Some(code)),
            "{json}"
        );
    }
    // 1,000 inputs of 64 characters each fit in the limit.
    let long: Vec<String> = (0..1000)
        .map(|_| format!("{:>64}", "+14155550100"))
        .collect();
    let refs: Vec<&str> = long.iter().map(String::as_str).collect();
    let (status, json) = check(&api, &refs).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let (status, json) = check(&api, &[]).await;
    assert_eq!(
        (status, json),
        (
            StatusCode::OK,
            serde_json::json!({"program": "default", "results": []})
        )
    );
    // Wrong method, no key.
    let response = api
        .handle(
            HttpCall::get("/eligibility", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    for call in [
        HttpCall::post("/eligibility", "application/json", br#"{"numbers":[]}"#),
        HttpCall::get("/subscriptions/14155550100/evidence", ""),
    ] {
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn storage_down_is_a_503() {
    let api = api(unreachable_store("nowhere"));
    let (status, json) = check(&api, &["+14155550100"]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"], "storage_unavailable");
    let response = api
        .handle(
            HttpCall::get("/subscriptions/14155550100/evidence", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// The parallel read answers exactly what the sequential one does.
#[tokio::test]
async fn parallel_chunks_read_the_same_states() {
    let store = fresh_store().await;
    let t = datetime!(2026-01-01 10:00 UTC);
    let events: Vec<Event> = (0..120)
        .map(|i| {
            event(
                &format!("1415557{i:04}"),
                EventKind::OptOut,
                &format!("sms:P{i}"),
                t,
                "webhook",
            )
        })
        .collect();
    for outcome in store.record_many(&events, 4).await {
        outcome.expect("record");
    }
    let numbers: Vec<_> = (0..350)
        .map(|i| msisdn(&format!("1415557{:04}", i % 300)))
        .collect();
    let sequential = store.states(&numbers).await.expect("read");
    let parallel = store
        .states_parallel(&numbers, &[shared::domain::program::Scope::Every], 8)
        .await
        .expect("read");
    assert_eq!(sequential.len(), 120);
    assert_eq!(sequential, parallel);
}

async fn evidence(
    api: &CheckedApi,
    number: &str,
    query: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let path = format!("/subscriptions/{number}/evidence");
    api.handle(
        HttpCall::get(&path, query)
            .header("x-api-key", KEY)
            .request(EventShape::HttpApiV2),
    )
    .await
}

async fn put_raw(store: &Store, item: &[(&str, AttributeValue)]) {
    let mut put = store.client().put_item().table_name(store.table_name());
    for (k, v) in item {
        put = put.item(*k, v.clone());
    }
    put.send().await.expect("put");
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::test]
async fn the_evidence_file_holds_everything_oldest_first_and_checks_the_state() {
    let store = fresh_store().await;
    let digits = "14155550310";
    // A real STOP through the webhook, a HELP, then a resubscribe on the website.
    let hook = Webhook::new(store.clone(), WebhookAuth::default());
    for (id, text, at) in [
        ("EV1", "STOP", "2026-01-01 10:00:00"),
        ("EV2", "HELP", "2026-01-02 10:00:00"),
    ] {
        let query = serde_urlencoded::to_string([
            ("msisdn", digits),
            ("to", "16105553939"),
            ("messageId", id),
            ("text", text),
            ("message-timestamp", at),
        ])
        .expect("query");
        let response = hook
            .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The STOP's confirmation, sent (through the store's own claim and settle).
    let n = msisdn(digits);
    let stop = store.history(&n, 10).await.expect("history");
    let stop = stop
        .iter()
        .find(|h| h.event_id == "sms:EV1")
        .expect("the STOP");
    let owed = OwedReply {
        msisdn: n.clone(),
        event_id: stop.event_id.clone(),
        kind: ReplyKind::StopConfirmation,
        from: "16105553939".into(),
        text: "You will get no more messages".into(),
        order: stop.order.clone(),
        scopes: vec![shared::domain::program::Scope::Every],
        wider: Vec::new(),
    };
    let lease = datetime!(2026-01-01 10:01 UTC) + time::Duration::days(3650);
    assert_eq!(
        store.claim_reply(&owed, lease).await.ok(),
        Some(ReplyClaim::Claimed)
    );
    let sent = Settle::Sent {
        message_ids: vec!["m-1".into()],
    };
    store
        .settle_reply(&n, "sms:EV1", &sent)
        .await
        .expect("settle");
    // A review item, decided by a person.
    let review = Review {
        id: review::review_id(&n, "sms:EVR"),
        msisdn: n.clone(),
        status: ReviewStatus::Open,
        due: review::Due::Day(time::macros::date!(2026 - 01 - 16)),
        cue: "unsubscribe me?".into(),
        text: "unsubscribe me?".into(),
        message_id: "EVR".into(),
        message_event_id: "sms:EVR".into(),
        short_code: "16105553939".into(),
        message_at: datetime!(2026-01-02 12:00 UTC),
        received_at: datetime!(2026-01-02 12:00 UTC),
        resolution: None,
    };
    assert!(store.open_review(&review).await.expect("open"));
    let decided_at = datetime!(2026-01-02 13:00 UTC);
    let decision = review::decision_event(
        &review,
        Decision::NotRevocation,
        "ops@example.com",
        Some("asked a question"),
        vec![shared::domain::program::Scope::Every],
        decided_at,
    );
    let resolution = Resolution {
        decision: Decision::NotRevocation,
        by: "ops@example.com".into(),
        note: Some("asked a question".into()),
        resolved_at: decided_at,
        event_id: decision.event_id.clone(),
        outcome: String::new(),
    };
    store
        .resolve_review(&review, &resolution, &decision)
        .await
        .expect("resolve");
    let resub = event(
        digits,
        EventKind::Resubscribe,
        "resub:E",
        datetime!(2026-01-03 10:00 UTC),
        "website",
    );
    store.record(&resub).await.expect("record");
    // An item family no version writes yet: kept raw (no writer exists to make it).
    put_raw(
        &store,
        &[
            ("pk", s(&format!("N#{digits}"))),
            ("sk", s("Q#later")),
            ("count", AttributeValue::N("3".into())),
            ("created_at", s("2026-01-04T00:00:00.000Z")),
        ],
    )
    .await;
    let api = api(store.clone());

    let response = evidence(&api, "%2B1%20415%20555%200310", "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(&response);
    assert_eq!(json["msisdn"], digits);
    assert_eq!(json["state"]["status"], "subscribed");
    assert_eq!(json["state"]["event_id"], "resub:E");
    assert_eq!(json["check"]["result"], "consistent");
    assert_eq!(json["check"]["ok"], true);
    let timeline: Vec<(String, String)> = json["timeline"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|e| {
                    (
                        e["sk"].as_str().unwrap_or("").to_owned(),
                        e["category"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // The reply was claimed and sent today (by the store's own clock): it comes last.
    let expected: Vec<(String, String)> = [
        ("E#sms:EV1".to_string(), "inbound_message"),
        ("E#sms:EV2".to_string(), "inbound_message"),
        (format!("V#{}", review.id), "review"),
        (format!("E#review:{}", review.id), "review_decision"),
        ("E#resub:E".to_string(), "consent"),
        ("Q#later".to_string(), "other"),
        ("R#sms:EV1".to_string(), "reply"),
    ]
    .into_iter()
    .map(|(a, b)| (a, b.to_string()))
    .collect();
    assert_eq!(timeline, expected);
    let first = &json["timeline"][0];
    assert_eq!(first["kind"], "opt_out");
    assert_eq!(first["item"]["details"]["message_id"], "EV1");
    assert!(first["times"]["received_at"].is_string());
    assert_eq!(
        json["timeline"][6]["item"]["message_ids"],
        serde_json::json!(["m-1"])
    );
    assert_eq!(json["timeline"][5]["item"]["count"], 3);

    // The same file for a person.
    for (query, accept) in [("format=text", None), ("", Some("text/plain"))] {
        let path = format!("/subscriptions/{digits}/evidence");
        let mut call = HttpCall::get(&path, query).header("x-api-key", KEY);
        if let Some(accept) = accept {
            call = call.header("accept", accept);
        }
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        for needle in [
            "Evidence file for +14155550310",
            "Current state: subscribed",
            "State check: OK (consistent)",
            "opt-out: inbound SMS \"STOP\", message EV1",
            "HELP request",
            "decision not_revocation by ops@example.com, note \"asked a question\"",
            "decided_by ops@example.com",
            "consent on the website (preferences-page)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
    }
    let response = evidence(&api, digits, "format=xml").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&response)["error"], "invalid_parameter");
    let response = evidence(&api, "not-a-number", "").await;
    assert_eq!(body_json(&response)["error"], "invalid_msisdn");

    // A state that disagrees with the history is flagged.
    let older = event(
        digits,
        EventKind::OptOut,
        "sms:EV1",
        datetime!(2026-01-01 10:00 UTC),
        "webhook",
    );
    let damaged = schema::state_item(
        &older,
        &shared::domain::program::Scope::Every,
        datetime!(2026-01-05 00:00 UTC),
    )
    .expect("a state");
    store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(schema::to_item(&damaged).expect("item")))
        .send()
        .await
        .expect("put");
    let json = body_json(&evidence(&api, digits, "").await);
    assert_eq!(json["check"]["result"], "mismatch");
    assert_eq!(json["check"]["ok"], false);
    assert_eq!(json["check"]["implied_event_id"], "resub:E");
    // ...and so is history without a state.
    store
        .client()
        .delete_item()
        .table_name(store.table_name())
        .key("pk", s(&format!("N#{digits}")))
        .key("sk", s("STATE"))
        .send()
        .await
        .expect("delete");
    let json = body_json(&evidence(&api, digits, "").await);
    assert_eq!(json["check"]["result"], "history_without_state");
}

#[tokio::test]
async fn a_number_we_never_saw_has_an_empty_file_and_bare_digits_find_the_opt_out() {
    let store = fresh_store().await;
    let t = datetime!(2026-01-01 10:00 UTC);
    store
        .record(&event(
            "4155550320",
            EventKind::OptOut,
            "sms:F",
            t,
            "webhook",
        ))
        .await
        .expect("record");
    let api = api(store);
    let json = body_json(&evidence(&api, "4155550399", "").await);
    assert_eq!(json["msisdn"], "14155550399");
    assert_eq!(json["state"], Value::Null);
    assert_eq!(json["check"]["result"], "no_record");
    assert_eq!(json["timeline"], serde_json::json!([]));
    // Bare digits: the US reading is unknown, the E.164 reading opted out; the file is for it.
    let json = body_json(&evidence(&api, "4155550320", "").await);
    assert_eq!(json["msisdn"], "4155550320");
    assert_eq!(json["state"]["status"], "opted_out");
    assert_eq!(json["check"]["result"], "consistent");
}
