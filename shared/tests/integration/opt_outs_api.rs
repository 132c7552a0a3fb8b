//! `POST /opt-outs`: an opt-out that reached the company another way, through the
//! real handler against the local DynamoDB-compatible server. Vonage is never called (nothing
//! listens on its port here).

use lambda_http::http::StatusCode;
use shared::adapters::store::Store;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::{Event, EventKind, Status};
use shared::domain::timestamp;
use shared::handlers::website_api::WebsiteApi;
use testkit::*;

const KEY: &str = "website-key";

/// Every answer checked against openapi.yaml.
fn api(store: Store) -> testkit::openapi::CheckedApi {
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").expect("client");
    testkit::openapi::CheckedApi::new(WebsiteApi::new(store, vonage, vec![KEY.to_string()]))
}

fn body(number: &str, captured_at: &str) -> String {
    serde_json::json!({
        "msisdn": number,
        "evidence": {
            "source": "support-desk",
            "captured_at": captured_at,
            "channel": "phone",
            "agent": "agent-42",
            "note": "caller asked for no more texts"
        }
    })
    .to_string()
}

async fn post(api: &WebsiteApi, key: Option<&str>, body: &str) -> (StatusCode, serde_json::Value) {
    let mut call =
        HttpCall::post("/opt-outs", "application/json", body.as_bytes()).header("x-api-key", KEY);
    if let Some(key) = key {
        call = call.header("idempotency-key", key);
    }
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    (response.status(), body_json(&response))
}

fn minutes_ago(n: i64) -> String {
    timestamp::format(timestamp::now() - time::Duration::minutes(n))
}

#[tokio::test]
async fn an_opt_out_from_another_channel_is_recorded_at_once_with_its_evidence() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let captured = minutes_ago(30);
    let (status, reply) = post(
        &api,
        Some("ticket-1001"),
        &body("+1 (415) 555-3900", &captured),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["msisdn"], "14155553900");
    assert_eq!(reply["status"], "opted_out");
    assert_eq!(reply["outcome"], "applied");
    assert_eq!(reply["since"], captured.as_str());
    assert!(reply["event_id"]
        .as_str()
        .is_some_and(|e| e.starts_with("api:")));

    let state = store.state(&msisdn("14155553900")).await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.source.as_str()),
        (Status::OptedOut, "api")
    );
    let history = store.history(&msisdn("14155553900"), 5).await.unwrap();
    assert_eq!(history.len(), 1);
    let entry = &history[0];
    assert_eq!(
        (entry.kind, entry.origin.source(), entry.applied),
        (EventKind::OptOut, "api", true)
    );
    assert_eq!(timestamp::format(entry.occurred_at), captured);
    for (k, v) in [
        ("channel", "phone"),
        ("agent", "agent-42"),
        ("note", "caller asked for no more texts"),
        ("evidence_source", "support-desk"),
        ("captured_at", captured.as_str()),
    ] {
        assert_eq!(entry.origin.details()[k], v, "{k}");
    }
    // The opted-out list and the status route show it.
    let list = HttpCall::get("/opt-outs", "").header("x-api-key", KEY);
    let listed = body_json(&api.handle(list.request(EventShape::HttpApiV2)).await);
    assert_eq!(listed["items"][0]["msisdn"], "14155553900");
}

#[tokio::test]
async fn the_same_key_and_body_is_one_event_and_another_body_is_a_conflict() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155553901";
    let captured = minutes_ago(10);
    let first_body = body(n, &captured);
    let (status, first) = post(&api, Some("link-abc"), &first_body).await;
    assert_eq!(
        (status, first["outcome"].as_str()),
        (StatusCode::OK, Some("applied"))
    );

    // The same body, spaced and ordered differently: the same request.
    let same: serde_json::Value = serde_json::from_str(&first_body).unwrap();
    let reordered = format!(
        "{{ \"evidence\": {} ,\n \"msisdn\": \"{n}\" }}",
        serde_json::to_string_pretty(&same["evidence"]).unwrap()
    );
    let (status, again) = post(&api, Some("link-abc"), &reordered).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(history_count(&store, n).await, 1);

    // The same key with another body: 409, nothing written.
    let before = item_count(&store).await;
    let (status, conflict) = post(&api, Some("link-abc"), &body(n, &minutes_ago(5))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["error"], "idempotency_conflict");
    let (status, _) = post(&api, Some("link-abc"), &body("14155553999", &captured)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(item_count(&store).await, before);

    // Another key is another event, even with the same body (the key names the event).
    let (status, other) = post(&api, Some("link-abd"), &first_body).await;
    assert_eq!(
        (status, other["outcome"].as_str()),
        (StatusCode::OK, Some("applied"))
    );
    assert_ne!(other["event_id"], first["event_id"]);
    assert_eq!(history_count(&store, n).await, 2);
}

#[tokio::test]
async fn an_opt_out_older_than_a_resubscribe_is_kept_in_history_only() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155553902";
    let resubscribe = Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(n),
        kind: EventKind::Resubscribe,
        event_id: "resub:newer".into(),
        occurred_at: timestamp::now() - time::Duration::minutes(5),
        received_at: timestamp::now(),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    store.record(&resubscribe).await.unwrap();
    let (status, reply) = post(&api, Some("late-email"), &body(n, &minutes_ago(60))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["outcome"], "superseded");
    assert_eq!(reply["status"], "subscribed");
    assert_eq!(history_count(&store, n).await, 2);
}

#[tokio::test]
async fn any_number_the_webhook_could_record_can_be_opted_out() {
    let store = fresh_store().await;
    let api = api(store.clone());
    // Vonage's documentation example: libphonenumber calls it invalid, the webhook records it.
    let (status, reply) = post(&api, Some("k-1"), &body("15559301529", &minutes_ago(1))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["msisdn"], "15559301529");
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let good = body("14155553903", &minutes_ago(1));
    let evidence = |patch: serde_json::Value| {
        let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            json["evidence"][k] = v.clone();
        }
        json.to_string()
    };
    let mut no_channel: serde_json::Value = serde_json::from_str(&good).unwrap();
    no_channel["evidence"]
        .as_object_mut()
        .unwrap()
        .remove("channel");
    let cases: Vec<(&str, Option<String>, String, &str)> = vec![
        ("no key", None, good.clone(), "invalid_parameter"),
        (
            "blank key",
            Some(String::new()),
            good.clone(),
            "invalid_parameter",
        ),
        (
            "long key",
            Some("k".repeat(256)),
            good.clone(),
            "invalid_parameter",
        ),
        (
            "key with space",
            Some("a b".into()),
            good.clone(),
            "invalid_parameter",
        ),
        (
            "not json",
            Some("k".into()),
            "msisdn=1".into(),
            "invalid_json",
        ),
        ("empty", Some("k".into()), String::new(), "invalid_json"),
        (
            "unknown field",
            Some("k".into()),
            good.replace("\"msisdn\"", "\"extra\":1,\"msisdn\""),
            "invalid_json",
        ),
        (
            "repeated field",
            Some("k".into()),
            good.replace("\"msisdn\"", "\"msisdn\":\"14155553904\",\"msisdn\""),
            "invalid_json",
        ),
        (
            "no evidence",
            Some("k".into()),
            r#"{"msisdn":"14155553903"}"#.into(),
            "invalid_json",
        ),
        (
            "no channel",
            Some("k".into()),
            no_channel.to_string(),
            "invalid_json",
        ),
        (
            "bad number",
            Some("k".into()),
            body("call me", &minutes_ago(1)),
            "invalid_msisdn",
        ),
        (
            "short number",
            Some("k".into()),
            body("123", &minutes_ago(1)),
            "invalid_msisdn",
        ),
        (
            "future",
            Some("k".into()),
            body(
                "14155553903",
                &timestamp::format(timestamp::now() + time::Duration::hours(1)),
            ),
            "invalid_evidence",
        ),
        (
            "not a time",
            Some("k".into()),
            evidence(serde_json::json!({"captured_at": "yesterday"})),
            "invalid_evidence",
        ),
        (
            "blank source",
            Some("k".into()),
            evidence(serde_json::json!({"source": " "})),
            "invalid_evidence",
        ),
        (
            "bad channel",
            Some("k".into()),
            evidence(serde_json::json!({"channel": "carrier pigeon!"})),
            "invalid_evidence",
        ),
        (
            "long note",
            Some("k".into()),
            evidence(serde_json::json!({"note": "x".repeat(2001)})),
            "invalid_evidence",
        ),
        (
            "channel a number",
            Some("k".into()),
            evidence(serde_json::json!({"channel": 7})),
            "invalid_json",
        ),
    ];
    for (name, key, payload, want) in cases {
        let (status, reply) = post(&api, key.as_deref(), &payload).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {reply}");
        assert_eq!(reply["error"], want, "{name}");
        assert!(
            reply["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    assert_eq!(item_count(&store).await, 0, "nothing written");
    // A refused request does not claim its key: the corrected request goes through with it.
    let (status, reply) = post(&api, Some("k"), &good).await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (StatusCode::OK, Some("applied"))
    );

    // Wrong method and no API key.
    let put = HttpCall::post("/opt-outs", "application/json", good.as_bytes())
        .method("PUT")
        .header("x-api-key", KEY);
    assert_eq!(
        api.handle(put.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let anonymous = HttpCall::post("/opt-outs", "application/json", good.as_bytes())
        .header("idempotency-key", "z");
    assert_eq!(
        api.handle(anonymous.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn storage_down_is_503_and_a_retry_completes_the_same_event() {
    let store = fresh_store().await;
    let switch = StorageSwitch::start().await;
    let through = api(switch.store(store.table_name()));
    let payload = body("14155553905", &minutes_ago(2));
    switch.set_down(true);
    let (status, reply) = post(&through, Some("retry-me"), &payload).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert_eq!(reply["error"], "storage_unavailable");
    switch.set_down(false);
    let (status, reply) = post(&through, Some("retry-me"), &payload).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(history_count(&store, "14155553905").await, 1);
}
