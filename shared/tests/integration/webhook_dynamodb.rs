//! The unsubscribe webhook through its real handler (synthetic API Gateway / function URL events
//! converted by lambda_http) against the local DynamoDB-compatible server.

use lambda_http::http::StatusCode;
use shared::adapters::store::Store;
use shared::domain::event::{Event, EventKind, Status};
use shared::domain::keywords::KeywordRules;
use shared::domain::signature::{sms_signature, SignatureMethod};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use std::collections::BTreeMap;
use testkit::*;

const PATH: &str = "/webhooks/inbound";
const SHAPES: [EventShape; 3] = [
    EventShape::HttpApiV2,
    EventShape::RestApiV1,
    EventShape::FunctionUrl,
];

fn webhook(store: Store) -> Webhook {
    Webhook::new(store, WebhookAuth::default())
}

fn sms_query(digits: &str, id: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("msisdn", digits),
        ("to", "16105553939"),
        ("messageId", id),
        ("text", text),
        ("type", "text"),
        ("keyword", text.split(' ').next().unwrap_or("")),
        ("message-timestamp", "2026-11-20 11:12:01"),
    ])
    .unwrap()
}

fn sms_json(digits: &str, id: &str, text: &str) -> String {
    serde_json::json!({
        "msisdn": digits, "to": "16105553939", "messageId": id, "text": text,
        "type": "text", "keyword": "STOP", "message-timestamp": "2026-11-20 11:12:01"
    })
    .to_string()
}

fn messages_json(digits: &str, id: &str, text: &str) -> String {
    serde_json::json!({
        "channel": "sms", "message_uuid": id, "to": "16105553939", "from": digits,
        "timestamp": "2026-11-20T11:12:01Z", "text": text,
        "sms": {"num_messages": "1", "keyword": "STOP"}
    })
    .to_string()
}

async fn history_details(store: &Store, digits: &str) -> BTreeMap<String, String> {
    let history = store.history(&msisdn(digits), 10).await.unwrap();
    assert_eq!(history.len(), 1, "one history entry for {digits}");
    serde_json::from_value(history[0].origin.details()).unwrap_or_default()
}

#[tokio::test]
async fn every_encoding_and_event_shape_records_a_stop() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let mut i = 0;
    for shape in SHAPES {
        for encoding in [
            "get-query",
            "post-form",
            "post-json",
            "messages-api",
            "post-form-b64",
            "messages-api-b64",
        ] {
            i += 1;
            let digits = format!("1415555{:04}", 1000 + i);
            let id = format!("0A0000{i:04}");
            let query = sms_query(&digits, &id, "STOP");
            let json = sms_json(&digits, &id, "Stop");
            let messages =
                messages_json(&digits, &format!("aaaaaaaa-bbbb-cccc-dddd-{i:012}"), "stop");
            let call = match encoding {
                "get-query" => HttpCall::get(PATH, &query),
                "post-form" => {
                    HttpCall::post(PATH, "application/x-www-form-urlencoded", query.as_bytes())
                }
                "post-form-b64" => {
                    HttpCall::post(PATH, "application/x-www-form-urlencoded", query.as_bytes())
                        .base64()
                }
                "post-json" => HttpCall::post(PATH, "application/json", json.as_bytes()),
                "messages-api" => HttpCall::post(PATH, "application/json", messages.as_bytes()),
                _ => HttpCall::post(PATH, "application/json", messages.as_bytes()).base64(),
            };
            let response = hook.handle(call.request(shape)).await;
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{shape:?} {encoding}: {:?}",
                body_json(&response)
            );
            assert_eq!(
                body_json(&response)["status"],
                "opted_out",
                "{shape:?} {encoding}"
            );
            let state = store.state(&msisdn(&digits)).await.unwrap().unwrap();
            assert_eq!(state.status, Status::OptedOut, "{shape:?} {encoding}");
            assert_eq!(
                shared::domain::timestamp::format(state.since),
                "2026-11-20T11:12:01.000Z",
                "{shape:?} {encoding}"
            );
            let details = history_details(&store, &digits).await;
            assert_eq!(details["short_code"], "16105553939");
            assert_eq!(details["keyword"], "STOP");
            let (api, enc) = match encoding {
                "get-query" => ("sms-api", "get-query"),
                "post-form" | "post-form-b64" => ("sms-api", "post-form"),
                "post-json" => ("sms-api", "post-json"),
                _ => ("messages-api", "post-json"),
            };
            assert_eq!(
                (details["api"].as_str(), details["encoding"].as_str()),
                (api, enc),
                "{shape:?} {encoding}"
            );
        }
    }
}

#[tokio::test]
async fn the_captured_vonage_request_parses_through_the_handler() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let raw = vonage_reference("sdk-fixtures/php_SMS_requests_inbound.txt");
    let target = raw.lines().next().unwrap().split(' ').nth(1).unwrap();
    let (_, query) = target.split_once('?').unwrap();
    // A signed capture from 2016: without a secret configured it is an ordinary "Test this." message.
    let response = hook
        .handle(HttpCall::get(PATH, query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response)["status"], "ignored");
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn non_keywords_are_acknowledged_and_not_stored() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    for (i, text) in ["Hello there", "", "WEEKEND", "The end", "help me"]
        .iter()
        .enumerate()
    {
        let q = sms_query("14155550140", &format!("B{i}"), text);
        let response = hook
            .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text:?}");
        assert_eq!(body_json(&response)["status"], "ignored", "{text:?}");
    }
    // "Don't stop" is no opt-out either; it carries the review cue "stop", so it is
    // a review item for a person, and the number's state and history stay empty.
    let q = sms_query("14155550148", "B-dont-stop", "Don't stop");
    let response = hook
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(body_json(&response)["status"], "review");
    assert_eq!(store.state(&msisdn("14155550148")).await.unwrap(), None);
    assert_eq!(history_count(&store, "14155550148").await, 0);
    for (i, text) in ["Stop texting me", "STOP please", "opt-out", "Unsubscribe"]
        .iter()
        .enumerate()
    {
        let q = sms_query(&format!("1415555015{i}"), &format!("C{i}"), text);
        let response = hook
            .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(body_json(&response)["status"], "opted_out", "{text:?}");
    }
    assert_eq!(items_for(&store, "14155550140").await.len(), 0);
}

#[tokio::test]
async fn help_is_noted_in_history_and_never_changes_the_state() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    for (i, text) in ["HELP", "info", "Help!"].iter().enumerate() {
        let q = sms_query("14155550141", &format!("H{i}"), text);
        let response = hook
            .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text:?}");
        let body = body_json(&response);
        assert_eq!(
            (body["status"].as_str(), body["outcome"].as_str()),
            (Some("help"), Some("noted")),
            "{text:?}"
        );
    }
    // Its redelivery is a duplicate.
    let q = sms_query("14155550141", "H0", "HELP");
    let response = hook
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(body_json(&response)["outcome"], "duplicate");
    assert_eq!(store.state(&msisdn("14155550141")).await.unwrap(), None);
    let history = store.history(&msisdn("14155550141"), 10).await.unwrap();
    assert_eq!(history.len(), 3);
    assert!(history
        .iter()
        .all(|h| h.kind == EventKind::Help && !h.applied));
    // A HELP from an opted-out number leaves it opted out.
    let q = sms_query("14155550142", "H9", "STOP");
    hook.handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    let q = sms_query("14155550142", "H10", "HELP");
    hook.handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    let state = store.state(&msisdn("14155550142")).await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.event_id.as_str()),
        (Status::OptedOut, "sms:H9")
    );
}

#[tokio::test]
async fn configured_extra_words_opt_out() {
    let store = fresh_store().await;
    let mut hook = webhook(store.clone());
    hook.intents = shared::domain::intent::IntentRules::new(
        KeywordRules::from_config("ARRET, TD"),
        shared::domain::intent::DEFAULT_OPT_IN_WORDS,
    );
    let q = sms_query("15145550100", "D1", "Arrêt");
    let response = hook
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(body_json(&response)["status"], "opted_out");
    assert_eq!(
        history_details(&store, "15145550100").await["keyword"],
        "ARRET"
    );
}

#[tokio::test]
async fn duplicates_sequential_and_fifty_concurrent_write_one_entry() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let q = sms_query("14155550160", "E1", "STOP");
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let response = hook
            .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        outcomes.push(
            body_json(&response)["outcome"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(outcomes, ["applied", "duplicate", "duplicate"]);
    assert_eq!(history_count(&store, "14155550160").await, 1);

    let hook = std::sync::Arc::new(webhook(store.clone()));
    let body = sms_json("14155550161", "E2", "STOP");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let hook = hook.clone();
            let request =
                HttpCall::post(PATH, "application/json", body.as_bytes()).request(SHAPES[i % 3]);
            tokio::spawn(async move { hook.handle(request).await.status() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(history_count(&store, "14155550161").await, 1);
    assert_eq!(items_for(&store, "14155550161").await.len(), 2);
}

#[tokio::test]
async fn a_late_redelivery_does_not_undo_a_newer_resubscribe() {
    let store = fresh_store().await;
    let digits = "14155550170";
    let resub = Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(digits),
        kind: EventKind::Resubscribe,
        event_id: "resub:test".into(),
        occurred_at: time::macros::datetime!(2026-11-20 12:00:00 UTC),
        received_at: time::macros::datetime!(2026-11-20 12:00:01 UTC),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    store.record(&resub).await.unwrap();
    // The STOP was sent at 11:12:01, before the resubscribe; Vonage redelivers it late.
    let q = sms_query(digits, "F1", "STOP");
    let response = webhook(store.clone())
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response)["outcome"], "superseded");
    assert_eq!(
        store.state(&msisdn(digits)).await.unwrap().unwrap().status,
        Status::Subscribed
    );
    let history = store.history(&msisdn(digits), 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[1].event_id.as_str(), history[1].applied),
        ("sms:F1", false)
    );
}

fn signed_query(
    digits: &str,
    id: &str,
    text: &str,
    secret: &str,
    method: SignatureMethod,
    ts: i64,
) -> String {
    let ts = ts.to_string();
    let mut params = vec![
        ("msisdn", digits),
        ("to", "16105553939"),
        ("messageId", id),
        ("text", text),
        ("type", "text"),
        ("message-timestamp", "2026-11-20 11:12:01"),
        ("timestamp", ts.as_str()),
        ("nonce", "51a87f47-476f-447c-bffe-c18600fd12ad"),
    ];
    let sig = sms_signature(&params, secret, method);
    params.push(("sig", sig.as_str()));
    serde_urlencoded::to_string(&params).unwrap()
}

#[tokio::test]
async fn signed_sms_webhooks_are_checked_before_anything_is_written() {
    let store = fresh_store().await;
    let secret = "signature-secret-123";
    let mut hook = webhook(store.clone());
    hook.auth.signature = Some((secret.into(), SignatureMethod::HmacSha256));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let digits = "14155550180";

    let good = signed_query(
        digits,
        "G1",
        "STOP",
        secret,
        SignatureMethod::HmacSha256,
        now,
    );
    let unsigned = sms_query(digits, "G2", "STOP");
    let wrong_secret = signed_query(
        digits,
        "G3",
        "STOP",
        "other",
        SignatureMethod::HmacSha256,
        now,
    );
    let wrong_method = signed_query(digits, "G4", "STOP", secret, SignatureMethod::Md5Hash, now);
    let stale = signed_query(
        digits,
        "G5",
        "STOP",
        secret,
        SignatureMethod::HmacSha256,
        now - 600,
    );
    let tampered = signed_query(
        digits,
        "G6",
        "HELP",
        secret,
        SignatureMethod::HmacSha256,
        now,
    )
    .replace("text=HELP", "text=STOP");
    for (name, q) in [
        ("unsigned", &unsigned),
        ("wrong secret", &wrong_secret),
        ("wrong method", &wrong_method),
        ("stale", &stale),
        ("tampered", &tampered),
    ] {
        let response = hook
            .handle(HttpCall::get(PATH, q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(body_json(&response)["error"], "invalid_signature", "{name}");
    }
    assert_eq!(item_count(&store).await, 0);
    // The same signed params as a POST form are accepted too.
    let response = hook
        .handle(
            HttpCall::post(PATH, "application/x-www-form-urlencoded", good.as_bytes())
                .request(EventShape::RestApiV1),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    assert_eq!(
        store.state(&msisdn(digits)).await.unwrap().unwrap().status,
        Status::OptedOut
    );
}

fn jwt(secret: &str, body: &[u8], iat: i64) -> String {
    use sha2::Digest;
    let claims = serde_json::json!({
        "iat": iat, "jti": "a1b2c3", "iss": "Vonage", "api_key": "abcd1234",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "payload_hash": hex::encode(sha2::Sha256::digest(body)),
    });
    shared::domain::jwt::install();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn signed_messages_api_webhooks_need_a_valid_jwt() {
    let store = fresh_store().await;
    let secret = "signature-secret-456";
    let mut hook = webhook(store.clone());
    hook.auth.signature = Some((secret.into(), SignatureMethod::Md5Hash));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = messages_json(
        "14155550190",
        "aaaaaaaa-bbbb-cccc-dddd-000000000190",
        "STOP",
    );
    let other = messages_json(
        "14155550190",
        "aaaaaaaa-bbbb-cccc-dddd-000000000191",
        "STOP",
    );
    let cases = [
        ("no token", None),
        ("other body", Some(jwt(secret, other.as_bytes(), now))),
        ("wrong secret", Some(jwt("nope", body.as_bytes(), now))),
        ("old", Some(jwt(secret, body.as_bytes(), now - 3600))),
    ];
    for (name, token) in cases {
        let mut call = HttpCall::post(PATH, "application/json", body.as_bytes());
        if let Some(token) = token {
            call = call.header("authorization", format!("Bearer {token}"));
        }
        let response = hook.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(item_count(&store).await, 0);
    let call = HttpCall::post(PATH, "application/json", body.as_bytes()).header(
        "authorization",
        format!("Bearer {}", jwt(secret, body.as_bytes(), now)),
    );
    let response = hook.handle(call.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response)["status"], "opted_out");
}

#[tokio::test]
async fn the_url_token_guard_refuses_requests_without_it() {
    let store = fresh_store().await;
    let mut hook = webhook(store.clone());
    hook.auth.token = Some("k7Qx9v2LmP4s".into());
    let q = sms_query("14155550200", "H1", "STOP");
    for path in [
        PATH,
        "/webhooks/inbound/wrong",
        "/webhooks/inbound/k7Qx9v2LmP4",
    ] {
        let response = hook
            .handle(HttpCall::get(path, &q).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body_json(&response)["error"], "invalid_token");
    }
    assert_eq!(item_count(&store).await, 0);
    let response = hook
        .handle(HttpCall::get("/webhooks/inbound/k7Qx9v2LmP4s", &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_nothing_is_written() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let big = vec![b'a'; shared::handlers::webhook::BODY_LIMIT + 1];
    let cases: Vec<(HttpCall, StatusCode, &str)> = vec![
        (
            HttpCall::get(PATH, ""),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::get(PATH, "to=1&messageId=X&text=STOP"),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::get(PATH, "msisdn=abc&to=1&messageId=X&text=STOP"),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::get(
                PATH,
                "msisdn=14155550210&msisdn=14155550211&to=1&messageId=X&text=STOP",
            ),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::post(PATH, "application/json", b"{\"msisdn\": "),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::post(PATH, "application/json", b"[\"STOP\"]"),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::post(
                PATH,
                "application/json",
                br#"{"msisdn":"14155550210","to":"1","messageId":"X","text":{"a":1}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::post(PATH, "application/json", b""),
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            HttpCall::post(PATH, "application/json", &big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            HttpCall::get(PATH, "msisdn=14155550210&to=1&messageId=X&text=STOP").method("PUT"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            HttpCall::get(PATH, "msisdn=14155550210&to=1&messageId=X&text=STOP").method("DELETE"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            HttpCall::get(
                "/webhooks/other",
                "msisdn=14155550210&to=1&messageId=X&text=STOP",
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (call, status, code) in cases {
        for shape in SHAPES {
            let response = hook.handle(call.request(shape)).await;
            assert_eq!(
                response.status(),
                status,
                "{} {} {shape:?}",
                call.method,
                call.query
            );
            let json = body_json(&response);
            assert_eq!(json["error"], code);
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn storage_down_is_a_503_and_the_redelivery_is_recorded() {
    let real = fresh_store().await;
    let switch = StorageSwitch::start().await;
    let hook = webhook(switch.store(real.table_name()));
    let q = sms_query("14155550220", "I1", "STOP");
    switch.set_down(true);
    let response = hook
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(&response)["error"], "storage_unavailable");
    assert_eq!(item_count(&real).await, 0);
    // Vonage resends; storage is back.
    switch.set_down(false);
    let response = hook
        .handle(HttpCall::get(PATH, &q).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        real.state(&msisdn("14155550220"))
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::OptedOut
    );
    assert_eq!(history_count(&real, "14155550220").await, 1);
}
