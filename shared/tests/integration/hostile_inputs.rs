//! Hostile inputs found from outside, each through the real handlers (and, where it matters, the real event
//! entry `shared::handlers::gateway`) against the local DynamoDB-compatible server. Every test here failed
//! on the code before the fix.

use lambda_http::http::StatusCode;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::Status;
use shared::handlers::gateway::{self, Shape};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use testkit::openapi::CheckedApi;
use testkit::*;

const PATH: &str = "/webhooks/inbound";
const KEY: &str = "website-key";

fn webhook(store: shared::adapters::store::Store) -> Webhook {
    Webhook::new(store, WebhookAuth::default())
}

/// The API, every response checked against openapi.yaml.
fn api(store: shared::adapters::store::Store) -> CheckedApi {
    // Never called by these tests: nothing listens on port 9.
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").expect("client");
    CheckedApi::new(WebsiteApi::new(store, vonage, vec![KEY.to_string()]))
}

fn stop_query(digits: &str, id: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("msisdn", digits),
        ("to", "16105553939"),
        ("messageId", id),
        ("text", text),
        ("message-timestamp", "2026-11-20 11:12:01"),
    ])
    .expect("query")
}

/// The event as API Gateway hands it over, through the function's real entry.
async fn through_entry<F, Fut>(event: &serde_json::Value, handler: F) -> serde_json::Value
where
    F: FnOnce(lambda_http::Request) -> Fut,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
{
    let (request, shape) =
        gateway::request_from_event(&event.to_string(), lambda_http::Context::default());
    let response = gateway::into_gateway_response(handler(request).await, shape);
    assert_eq!(shape == Shape::V1, event.get("httpMethod").is_some());
    serde_json::to_value(response).expect("a response")
}

#[tokio::test]
async fn punctuation_between_words_is_an_opt_out() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    for (i, text) in [
        "Stop,please",
        "STOP.Thanks",
        "Stop!No more texts",
        "UNSUBSCRIBE,thank you",
        "STOP.",
        "STOP!!!",
    ]
    .iter()
    .enumerate()
    {
        let digits = format!("1415555{:04}", 2000 + i);
        let query = stop_query(&digits, &format!("P{i}"), text);
        let response = hook
            .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text}");
        assert_eq!(body_json(&response)["status"], "opted_out", "{text}");
        let state = store.state(&msisdn(&digits)).await.expect("read");
        assert_eq!(state.map(|s| s.status), Some(Status::OptedOut), "{text}");
    }
    // And the negatives are no opt-out: no state, no history. (They carry the
    // review cue "stop", so a person reads them: a review item, which never sets the state.)
    for (i, text) in ["Don't stop.", "Non-stop"].iter().enumerate() {
        let digits = format!("1415555{:04}", 2100 + i);
        let query = stop_query(&digits, &format!("N{i}"), text);
        let response = hook
            .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(body_json(&response)["status"], "review", "{text}");
        assert_eq!(
            store.state(&msisdn(&digits)).await.expect("read"),
            None,
            "{text}"
        );
        assert_eq!(history_count(&store, &digits).await, 0, "{text}");
    }
}

#[tokio::test]
async fn an_extra_structured_field_does_not_refuse_a_stop() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let body = serde_json::json!({
        "msisdn": "14155552201", "to": "16105553939", "messageId": "X2201", "text": "STOP",
        "message-timestamp": "2026-11-20 11:12:01",
        "proxy": {"received": "2026-11-20T11:12:02Z", "hops": [1, 2]},
        "tags": ["a", "b"]
    })
    .to_string();
    let response = hook
        .handle(
            HttpCall::post(PATH, "application/json", body.as_bytes())
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    assert_eq!(body_json(&response)["status"], "opted_out");
    assert_eq!(history_count(&store, "14155552201").await, 1);
}

#[tokio::test]
async fn repeated_json_keys_are_refused_and_nothing_is_written() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let body = br#"{"msisdn":"14155552301","to":"16105553939","messageId":"X2301","text":"STOP","msisdn":"14155552302"}"#;
    let response = hook
        .handle(HttpCall::post(PATH, "application/json", body).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&response)["error"], "invalid_message");
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn every_number_the_webhook_records_can_be_looked_up() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    // Vonage's own example (refused by the strict reading), a number whose bare digits are also
    // a valid US national number, and ordinary ones.
    for (i, digits) in ["15559301529", "4155550142", "447700900123", "14155550142"]
        .iter()
        .enumerate()
    {
        let query = stop_query(digits, &format!("L{i}"), "STOP");
        let response = hook
            .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(body_json(&response)["status"], "opted_out", "{digits}");
        for form in [
            digits.to_string(),
            format!("+{digits}"),
            format!("%2B{digits}"),
        ] {
            let path = format!("/subscriptions/{form}");
            for shape in [EventShape::HttpApiV2, EventShape::RestApiV1] {
                let response = api
                    .handle(
                        HttpCall::get(&path, "")
                            .header("x-api-key", KEY)
                            .request(shape),
                    )
                    .await;
                let body = body_json(&response);
                assert_eq!(response.status(), StatusCode::OK, "{form}: {body}");
                assert_eq!(body["status"], "opted_out", "{form}: {body}");
                assert_eq!(body["msisdn"], *digits, "{form}: {body}");
                assert_eq!(body["known"], true, "{form}");
            }
        }
    }
    // The opt-out list shows the same numbers.
    let response = api
        .handle(
            HttpCall::get("/opt-outs", "limit=10")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    let listed: Vec<String> = body_json(&response)["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["msisdn"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed.len(), 4, "{listed:?}");
    // 14155550142 is opted out, so its national spelling reads it even though the bare digits
    // 4155550142 are also on record.
    let response = api
        .handle(
            HttpCall::get("/subscriptions/415%20555%200142", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(body_json(&response)["msisdn"], "14155550142");
    // A number with no record under either reading: not opted out, the strict reading echoed.
    let response = api
        .handle(
            HttpCall::get("/subscriptions/4155550177", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    let body = body_json(&response);
    assert_eq!(
        (body["msisdn"].as_str(), body["known"].as_bool()),
        (Some("14155550177"), Some(false))
    );
}

#[tokio::test]
async fn an_opted_out_reading_wins_over_a_subscribed_one() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    // 14155550150 was resubscribed long ago; the bare digits 4155550150 texted STOP.
    let resub = shared::domain::event::Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn("14155550150"),
        kind: shared::domain::event::EventKind::Resubscribe,
        event_id: "resub:old".into(),
        occurred_at: time::macros::datetime!(2026-01-01 00:00 UTC),
        received_at: time::macros::datetime!(2026-01-01 00:00 UTC),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    store.record(&resub).await.expect("record");
    let query = stop_query("4155550150", "W1", "STOP");
    hook.handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
        .await;
    let response = api
        .handle(
            HttpCall::get("/subscriptions/4155550150", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    let body = body_json(&response);
    assert_eq!(
        (body["msisdn"].as_str(), body["status"].as_str()),
        (Some("4155550150"), Some("opted_out"))
    );
}

#[tokio::test]
async fn a_query_string_a_uri_may_not_hold_is_a_400_from_both_functions() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    for raw in [
        "msisdn=14155552401&to=1&messageId=Q1&text=\"STOP\"",
        "msisdn=14155552401&to=1&messageId=Q1&text=<STOP>",
        "msisdn=14155552401&to=1&messageId=Q1&text=STOP now",
    ] {
        let call = HttpCall::get(PATH, raw);
        for shape in [EventShape::HttpApiV2, EventShape::FunctionUrl] {
            let out = through_entry(&call.event(shape), |req| hook.handle(req)).await;
            assert_eq!(out["statusCode"], 400, "{raw}: {out}");
            let body: serde_json::Value =
                serde_json::from_str(out["body"].as_str().unwrap_or("")).unwrap_or_default();
            assert_eq!(body["error"], "invalid_request", "{raw}");
            assert_eq!(out["headers"]["content-type"], "application/json");
        }
        let call = HttpCall::get("/opt-outs", raw).header("x-api-key", KEY);
        let out = through_entry(&call.event(EventShape::HttpApiV2), |req| api.handle(req)).await;
        assert_eq!(out["statusCode"], 400, "{out}");
    }
    // A Host header the URL parser refuses, and a header value lambda_http cannot deserialize.
    let call = HttpCall::get(PATH, "msisdn=14155552401").header("host", "a b");
    let mut event = call.event(EventShape::HttpApiV2);
    event["headers"]["host"] = "a b".into();
    let out = through_entry(&event, |req| hook.handle(req)).await;
    assert_eq!(out["statusCode"], 400, "{out}");
    let mut event = HttpCall::get(PATH, "msisdn=1").event(EventShape::RestApiV1);
    event["headers"]["x-bad"] = "a\u{7f}b".into();
    let out = through_entry(&event, |req| hook.handle(req)).await;
    assert_eq!(out["statusCode"], 400, "{out}");
    assert!(out["multiValueHeaders"]["content-type"].is_array(), "{out}");
    assert_eq!(item_count(&store).await, 0);
    // A well-formed event through the same entry still records its STOP.
    let query = stop_query("14155552401", "Q2", "STOP");
    let out = through_entry(
        &HttpCall::get(PATH, &query).event(EventShape::HttpApiV2),
        |req| hook.handle(req),
    )
    .await;
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(history_count(&store, "14155552401").await, 1);
}
