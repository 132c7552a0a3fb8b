//! The resubscribe API through its real handler, against the local DynamoDB-compatible server
//! and a wiremock stand-in for Vonage answering in the documented shapes. Every response is
//! checked against openapi.yaml (`testkit::openapi::CheckedApi`).

use lambda_http::http::StatusCode;
use shared::adapters::store::Store;
use shared::adapters::vonage::{RetryPolicy, VonageClient};
use shared::domain::event::{Event, EventKind, Outcome, Status};
use shared::handlers::website_api::WebsiteApi;
use std::time::Duration;
use testkit::openapi::CheckedApi;
use testkit::*;
use time::OffsetDateTime;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const MANAGE: &str = "/sc/us/alert/opt-in/manage/json";
const KEY: &str = "website-key-2026";
const OLD_KEY: &str = "website-key-2025";

/// The documented manage response, for the number under test.
fn manage_ok(digits: &str) -> ResponseTemplate {
    let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
    let mut json: serde_json::Value = serde_json::from_str(&doc).unwrap();
    json["msisdn"] = digits.into();
    ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        attempt_timeout: Duration::from_millis(500),
    }
}

/// The API, every response checked against openapi.yaml.
fn api(store: Store, vonage: &MockServer) -> CheckedApi {
    let client = VonageClient::new(&vonage.uri(), "vonage-key", "vonage-secret-value")
        .unwrap()
        .with_retry_policy(fast_retries());
    CheckedApi::new(WebsiteApi::new(store, client, vec![KEY.to_string()]))
}

fn rfc3339(t: OffsetDateTime) -> String {
    shared::domain::timestamp::format(t)
}

fn resubscribe_body(number: &str, captured_at: OffsetDateTime) -> Vec<u8> {
    serde_json::json!({
        "msisdn": number,
        "consent": {
            "source": "preferences-page",
            "captured_at": rfc3339(captured_at),
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
            "wording": "Yes, text me offers again"
        }
    })
    .to_string()
    .into_bytes()
}

fn post(body: &[u8]) -> HttpCall<'_> {
    HttpCall::post("/resubscribe", "application/json", body).header("x-api-key", KEY)
}

async fn stop(store: &Store, digits: &str, id: &str, at: OffsetDateTime) {
    let e = Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(digits),
        kind: EventKind::OptOut,
        event_id: id.into(),
        occurred_at: at,
        received_at: at,
        origin: testkit::records::message("M1", "STOP", "STOP"),
    };
    store.record(&e).await.unwrap();
}

fn now() -> OffsetDateTime {
    shared::domain::timestamp::now()
}

#[tokio::test]
async fn resubscribe_lifts_vonage_block_then_clears_the_opt_out() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let n = "14155550120";
    stop(&store, n, "sms:S1", now() - time::Duration::hours(2)).await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .and(body_string_contains(format!("msisdn={n}")))
        .and(body_string_contains("api_secret=vonage-secret-value"))
        .respond_with(manage_ok(n))
        .expect(1)
        .mount(&vonage)
        .await;
    let api = api(store.clone(), &vonage);
    let body = resubscribe_body("+1 (415) 555-0120", now() - time::Duration::minutes(1));
    let response = api.handle(post(&body).request(EventShape::HttpApiV2)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    let json = body_json(&response);
    assert_eq!(json["msisdn"], n);
    assert_eq!(json["status"], "subscribed");
    let state = store.state(&msisdn(n)).await.unwrap().unwrap();
    assert_eq!(state.status, Status::Subscribed);
    let history = store.history(&msisdn(n), 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kind, EventKind::Resubscribe);
    assert_eq!(
        history[0].origin.details()["consent_source"],
        "preferences-page"
    );
    assert_eq!(history[0].origin.details()["consent_ip"], "203.0.113.7");
    assert!(history[0].origin.details()["provider_response"]
        .as_str()
        .is_some_and(|r| r.contains("\"opt_in\":true")));
    // The secret went in the body, never in the URL.
    for r in vonage.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains("vonage-secret-value"));
    }

    // The website reads the result.
    let get = HttpCall::get("/subscriptions/%2B14155550120", "").header("x-api-key", KEY);
    let response = api.handle(get.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(&response);
    assert_eq!(json["status"], "subscribed");
    assert_eq!(json["history"][0]["kind"], "resubscribe");
    assert_eq!(json["history"][1]["kind"], "opt_out");
}

#[tokio::test]
async fn repeating_the_same_request_is_safe() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let n = "14155550121";
    stop(&store, n, "sms:S2", now() - time::Duration::hours(1)).await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(manage_ok(n))
        .mount(&vonage)
        .await;
    let api = api(store.clone(), &vonage);
    let body = resubscribe_body(n, now() - time::Duration::minutes(1));
    let first = api.handle(post(&body).request(EventShape::HttpApiV2)).await;
    let second = api.handle(post(&body).request(EventShape::HttpApiV2)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(body_json(&first)["outcome"], "applied");
    assert_eq!(body_json(&second)["outcome"], "duplicate");
    assert_eq!(history_count(&store, n).await, 2);
}

#[tokio::test]
async fn a_number_we_never_saw_is_still_sent_to_vonage_and_recorded() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let n = "14155550122";
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(manage_ok(n))
        .expect(1)
        .mount(&vonage)
        .await;
    let api = api(store.clone(), &vonage);
    let response = api
        .handle(post(&resubscribe_body(n, now())).request(EventShape::RestApiV1))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store.state(&msisdn(n)).await.unwrap().unwrap().status,
        Status::Subscribed
    );
}

/// Every way Vonage can fail leaves our record exactly as it was.
#[tokio::test]
async fn vonage_failures_give_502_and_leave_the_record_untouched() {
    let n = "14155550123";
    let cases: Vec<(&str, ResponseTemplate, &str, u64)> = vec![
        ("400", ResponseTemplate::new(400), "provider_rejected", 1),
        (
            "401 json",
            ResponseTemplate::new(401).set_body_string(
                r#"{"error-code":"401","error-code-label":"authentication failed"}"#,
            ),
            "provider_rejected",
            1,
        ),
        ("500", ResponseTemplate::new(500), "provider_unavailable", 3),
        ("429", ResponseTemplate::new(429), "provider_unavailable", 3),
        (
            "html",
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Bad gateway</body></html>", "text/html"),
            "provider_unavailable",
            1,
        ),
        (
            "empty",
            ResponseTemplate::new(200),
            "provider_unavailable",
            1,
        ),
        (
            "opt-in false",
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"msisdn":"{n}","opt-in":"false","opt-out":"true"}}"#),
                "application/json",
            ),
            "provider_rejected",
            1,
        ),
        (
            "timeout",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
            "provider_unavailable",
            3,
        ),
    ];
    for (name, template, code, expected_requests) in cases {
        let store = fresh_store().await;
        stop(&store, n, "sms:S3", now() - time::Duration::hours(1)).await;
        let before = items_for(&store, n).await;
        let vonage = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(MANAGE))
            .respond_with(template)
            .mount(&vonage)
            .await;
        let api = api(store.clone(), &vonage);
        let started = std::time::Instant::now();
        let response = api
            .handle(post(&resubscribe_body(n, now())).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{name}");
        let json = body_json(&response);
        assert_eq!(json["error"], code, "{name}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
        let requests = vonage.received_requests().await.unwrap().len() as u64;
        assert_eq!(
            requests, expected_requests,
            "{name}: retries only on network errors, 429 and 5xx"
        );
        assert_eq!(
            items_for(&store, n).await,
            before,
            "{name}: the record changed"
        );
        // Three 500 ms attempts plus short backoffs: bounded well under the Lambda's budget.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{name}: took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_stop_newer_than_the_consent_is_not_undone() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let n = "14155550124";
    let consent_at = now() - time::Duration::minutes(10);
    stop(
        &store,
        n,
        "sms:NEWER",
        consent_at + time::Duration::minutes(5),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(manage_ok(n))
        .expect(0)
        .mount(&vonage)
        .await;
    let before = items_for(&store, n).await;
    let response = api(store.clone(), &vonage)
        .handle(post(&resubscribe_body(n, consent_at)).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(&response)["error"], "newer_opt_out");
    assert_eq!(items_for(&store, n).await, before);
}

/// Pulls the plug on storage the moment Vonage is asked, then answers success.
struct ConfirmThenStorageDies {
    switch: StorageSwitchHandle,
    ok: ResponseTemplate,
}

impl Respond for ConfirmThenStorageDies {
    fn respond(&self, _: &MockRequest) -> ResponseTemplate {
        self.switch.set_down();
        self.ok.clone()
    }
}

#[tokio::test]
async fn storage_down_after_vonage_success_gives_503_and_a_retry_completes() {
    let real = fresh_store().await;
    let n = "14155550125";
    stop(&real, n, "sms:S4", now() - time::Duration::hours(1)).await;
    let before = items_for(&real, n).await;
    let switch = StorageSwitch::start().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ConfirmThenStorageDies {
            switch: switch.handle(),
            ok: manage_ok(n),
        })
        .mount(&vonage)
        .await;
    let api = api(switch.store(real.table_name()), &vonage);
    let body = resubscribe_body(n, now() - time::Duration::minutes(1));
    let response = api.handle(post(&body).request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(&response)["error"], "storage_unavailable");
    assert_eq!(items_for(&real, n).await, before, "nothing half-written");

    // Storage is back; the website backend retries the same request.
    switch.set_down(false);
    vonage.reset().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(manage_ok(n))
        .expect(1)
        .mount(&vonage)
        .await;
    let response = api.handle(post(&body).request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        real.state(&msisdn(n)).await.unwrap().unwrap().status,
        Status::Subscribed
    );
    assert_eq!(history_count(&real, n).await, 2);
}

#[tokio::test]
async fn auth_is_required_on_every_route() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(manage_ok("14155550126"))
        .expect(0)
        .mount(&vonage)
        .await;
    let api = api(store.clone(), &vonage);
    let body = resubscribe_body("14155550126", now());
    for key in [
        None,
        Some("wrong"),
        Some(OLD_KEY),
        Some(""),
        Some("website-key-2026 "),
    ] {
        let mut calls = vec![
            HttpCall::post("/resubscribe", "application/json", &body),
            HttpCall::get("/subscriptions/14155550126", ""),
            HttpCall::get("/opt-outs", ""),
        ];
        for call in calls.drain(..) {
            let call = match key {
                Some(k) => call.header("x-api-key", k),
                None => call,
            };
            let response = api.handle(call.request(EventShape::HttpApiV2)).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{key:?} {}",
                call.path
            );
            assert_eq!(body_json(&response)["error"], "unauthorized");
        }
    }
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn rotated_keys_both_work_until_the_old_one_is_removed() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let client = VonageClient::new(&vonage.uri(), "k", "s").unwrap();
    let both = CheckedApi::new(WebsiteApi::new(
        store.clone(),
        client.clone(),
        vec![OLD_KEY.into(), KEY.into()],
    ));
    let new_only = CheckedApi::new(WebsiteApi::new(store.clone(), client, vec![KEY.into()]));
    for (api, key, expected) in [
        (&both, OLD_KEY, StatusCode::OK),
        (&both, KEY, StatusCode::OK),
        (&new_only, KEY, StatusCode::OK),
        (&new_only, OLD_KEY, StatusCode::UNAUTHORIZED),
    ] {
        let call = HttpCall::get("/opt-outs", "").header("x-api-key", key);
        assert_eq!(
            api.handle(call.request(EventShape::HttpApiV2))
                .await
                .status(),
            expected
        );
    }
}

#[tokio::test]
async fn bad_input_is_a_400_and_nothing_happens() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(manage_ok("1"))
        .expect(0)
        .mount(&vonage)
        .await;
    let api = api(store.clone(), &vonage);
    let t = rfc3339(now());
    let future = rfc3339(now() + time::Duration::hours(1));
    let old = rfc3339(now() - time::Duration::days(30));
    let bodies: Vec<(String, &str)> = vec![
        ("not json".into(), "invalid_json"),
        ("{}".into(), "invalid_json"),
        (r#"{"msisdn":"14155550127"}"#.into(), "invalid_json"),
        (
            format!(r#"{{"msisdn":"hello","consent":{{"source":"web","captured_at":"{t}"}}}}"#),
            "invalid_msisdn",
        ),
        (
            format!(r#"{{"msisdn":"123","consent":{{"source":"web","captured_at":"{t}"}}}}"#),
            "invalid_msisdn",
        ),
        (
            format!(
                r#"{{"msisdn":"+1 415 123 4567","consent":{{"source":"web","captured_at":"{t}"}}}}"#
            ),
            "invalid_msisdn",
        ),
        (
            format!(r#"{{"msisdn":"14155550127","consent":{{"source":"","captured_at":"{t}"}}}}"#),
            "invalid_consent",
        ),
        (
            r#"{"msisdn":"14155550127","consent":{"source":"web","captured_at":"yesterday"}}"#
                .into(),
            "invalid_consent",
        ),
        (
            format!(
                r#"{{"msisdn":"14155550127","consent":{{"source":"web","captured_at":"{future}"}}}}"#
            ),
            "invalid_consent",
        ),
        (
            format!(
                r#"{{"msisdn":"14155550127","consent":{{"source":"web","captured_at":"{old}"}}}}"#
            ),
            "invalid_consent",
        ),
        (
            format!(
                r#"{{"msisdn":"14155550127","consent":{{"source":"web","captured_at":"{t}","extra":1}}}}"#
            ),
            "invalid_json",
        ),
    ];
    for (body, code) in &bodies {
        let response = api
            .handle(post(body.as_bytes()).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body_json(&response)["error"], *code, "{body}");
    }
    for (call, code) in [
        (
            HttpCall::get("/subscriptions/not-a-number", ""),
            "invalid_msisdn",
        ),
        (HttpCall::get("/opt-outs", "limit=0"), "invalid_parameter"),
        (
            HttpCall::get("/opt-outs", "limit=100000"),
            "invalid_parameter",
        ),
        (
            HttpCall::get("/opt-outs", "cursor=garbage"),
            "invalid_cursor",
        ),
    ] {
        let response = api
            .handle(call.header("x-api-key", KEY).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(&response)["error"], code);
    }
    let response = api
        .handle(
            HttpCall::get("/resubscribe", "")
                .header("x-api-key", KEY)
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let big = vec![b' '; 20_000];
    let response = api.handle(post(&big).request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn opt_outs_pages_return_every_number_once() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let mut expected = Vec::new();
    for i in 0..17 {
        let n = format!("1415555{:04}", 3000 + i);
        stop(
            &store,
            &n,
            &format!("sms:P{i}"),
            now() - time::Duration::hours(1),
        )
        .await;
        expected.push(n);
    }
    let api = api(store, &vonage);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=5&cursor={c}"),
            None => "limit=5".to_string(),
        };
        let call = HttpCall::get("/opt-outs", &query).header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let json = body_json(&response);
        for item in json["items"].as_array().unwrap() {
            seen.push(item["msisdn"].as_str().unwrap().to_string());
            assert!(item["since"].is_string());
        }
        pages += 1;
        match json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn unknown_number_reads_as_subscribed_with_no_history() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let api = api(store, &vonage);
    let call = HttpCall::get("/subscriptions/4155550128", "").header("x-api-key", KEY);
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(&response);
    assert_eq!(json["msisdn"], "14155550128");
    assert_eq!(json["status"], "subscribed");
    assert_eq!(json["known"], false);
    assert_eq!(json["history"], serde_json::json!([]));
}

#[tokio::test]
async fn outcome_enum_is_what_the_api_reports() {
    // Guard the API's vocabulary: openapi.yaml and docs/api.md document these strings.
    assert_eq!(serde_json::to_value(Outcome::Applied).unwrap(), "applied");
    assert_eq!(
        serde_json::to_value(Outcome::Duplicate).unwrap(),
        "duplicate"
    );
    assert_eq!(serde_json::to_value(Status::OptedOut).unwrap(), "opted_out");
}

/// A STOP arriving through the webhook at the same moment as a resubscribe for the same number:
/// whichever order they are processed in, the record ends in the state of the newest event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_stop_and_resubscribe_end_in_the_newest_events_state() {
    use shared::handlers::webhook::{Webhook, WebhookAuth};
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ManageEchoForTest)
        .mount(&vonage)
        .await;
    let api = std::sync::Arc::new(api(store.clone(), &vonage));
    let webhook = std::sync::Arc::new(Webhook::new(store.clone(), WebhookAuth::default()));
    let vonage_time =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    for round in 0..12u32 {
        let n = format!("1415555{:04}", 4000 + round);
        stop(&store, &n, "sms:OLD", now() - time::Duration::hours(2)).await;
        let stop_is_newer = round % 2 == 0;
        let (stop_at, consent_at) = if stop_is_newer {
            (
                now() - time::Duration::minutes(1),
                now() - time::Duration::minutes(5),
            )
        } else {
            (
                now() - time::Duration::minutes(10),
                now() - time::Duration::minutes(1),
            )
        };
        let query = serde_urlencoded::to_string([
            ("msisdn", n.as_str()),
            ("to", "16105553939"),
            ("messageId", &format!("RACE{round}")),
            ("text", "STOP"),
            ("message-timestamp", &stop_at.format(&vonage_time).unwrap()),
        ])
        .unwrap();
        let stop_request =
            HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2);
        let body = resubscribe_body(&n, consent_at);
        let resub_request = post(&body).request(EventShape::HttpApiV2);
        let (w, a) = (webhook.clone(), api.clone());
        let first_stop = round % 4 < 2;
        let stop_task = tokio::spawn(async move {
            if !first_stop {
                tokio::task::yield_now().await;
            }
            w.handle(stop_request).await.status()
        });
        let resub_task = tokio::spawn(async move { a.handle(resub_request).await.status() });
        assert_eq!(stop_task.await.unwrap(), StatusCode::OK);
        let resub_status = resub_task.await.unwrap();
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&resub_status),
            "round {round}: {resub_status}"
        );
        let state = store.state(&msisdn(&n)).await.unwrap().unwrap();
        let expected = if stop_is_newer {
            Status::OptedOut
        } else {
            Status::Subscribed
        };
        assert_eq!(
            state.status, expected,
            "round {round} (stop newer: {stop_is_newer})"
        );
        // The STOP is always in history, applied or not.
        let history = store.history(&msisdn(&n), 10).await.unwrap();
        assert!(history
            .iter()
            .any(|h| h.event_id == format!("sms:RACE{round}")));
    }
}

/// The documented manage answer for whichever number was asked.
struct ManageEchoForTest;

impl Respond for ManageEchoForTest {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
        let n = form
            .iter()
            .find(|(k, _)| k == "msisdn")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        manage_ok(n)
    }
}
