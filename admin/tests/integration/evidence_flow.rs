//! The evidence file tells the whole story: one number through a real flow of the handlers and
//! the admin tool (an import; a STOP; its confirmation refused by Vonage; a message reviewed and
//! decided by a person with a note; a resubscribe with the person's consent, Vonage lifting its
//! block), then every fact of it in the evidence file, as JSON and as text. Here because the
//! import is the admin tool's.

use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::config::Settings;
use shared::adapters::provider::{ProviderMode, Providers, SelfManaged};
use shared::adapters::vonage::VonageClient;
use shared::domain::access::{key_hash, Keys};
use shared::domain::program::Programs;
use shared::handlers::notify::{texts_from_settings, Notify, Replies};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use std::sync::Arc;
use testkit::streams::{lambda_event, StreamReader};
use testkit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const N: &str = "14155550501";
const KEY: &str = "flow-key";
const REVIEWER: &str = "jane.doe@acme.example";
const REVIEWER_KEY: &str = "flow-reviewer-key";
const NOTE: &str = "she asked to stop every text from us";

/// Vonage's documented answers: every send refused (status 7, barred), the opt-in confirmed.
async fn vonage() -> MockServer {
    let server = MockServer::start().await;
    let doc = vonage_reference("us-short-codes/alerts_send_response-format.json");
    let mut send: Value = serde_json::from_str(&doc).unwrap_or_default();
    send["messages"][0]["status"] = "7".into();
    send["messages"][0]["to"] = N.into();
    send["messages"][0]["error-text"] = "Number barred".into();
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(send.to_string(), "application/json"))
        .mount(&server)
        .await;
    let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
    let mut manage: Value = serde_json::from_str(&doc).unwrap_or_default();
    manage["msisdn"] = N.into();
    manage["opt-in"] = "true".into();
    Mock::given(method("POST"))
        .and(path("/sc/us/alert/opt-in/manage/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(manage.to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

async fn text(webhook: &Webhook, id: &str, body: &str) -> Value {
    let query = format!(
        "msisdn={N}&to=16105553939&messageId={id}&text={}",
        body.replace(' ', "%20").replace('?', "%3F")
    );
    let response = webhook
        .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(&response)
}

/// A call with `key`: the website's for its routes, the reviewer's for reviews and evidence.
async fn call(api: &WebsiteApi, key: &str, call: HttpCall<'_>) -> (StatusCode, Value) {
    let response = api
        .handle(call.header("x-api-key", key).request(EventShape::HttpApiV2))
        .await;
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(response.body()).into()));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evidence_file_shows_every_fact_of_a_real_flow() {
    let store = fresh_store().await;
    let vonage = vonage().await;
    let client = VonageClient::new(&vonage.uri(), "vonage-key", "vonage-secret-value")
        .unwrap_or_else(|e| panic!("{e}"));
    let webhook = Webhook {
        mode: ProviderMode::SelfManaged,
        ..Webhook::new(store.clone(), WebhookAuth::default())
    };
    let settings = Settings::from_pairs([
        ("PROGRAM_NAME", "Acme Alerts"),
        ("HELP_CONTACT", "help@acme.example"),
        ("MESSAGE_FREQUENCY", "Up to 4 msgs/month"),
    ]);
    let programs = Programs::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"));
    let notify = Notify {
        store: store.clone(),
        replies: Some(Replies::to_every_program(
            texts_from_settings(&settings, &programs).unwrap_or_else(|e| panic!("{e}")),
            client.clone(),
        )),
        programs,
        providers: Providers::single(Arc::new(SelfManaged)),
    };
    // The website's key, and the reviewer's own: who decided is the key that called.
    let roles = serde_json::json!([
        {"name": "website", "role": "website", "sha256": key_hash(KEY)},
        {"name": REVIEWER, "role": "reviewer", "sha256": key_hash(REVIEWER_KEY)},
    ])
    .to_string();
    let api = WebsiteApi::new(store.clone(), client, Vec::new())
        .with_keys(Keys::new(Some(&roles), &[]).unwrap_or_else(|e| panic!("{e}")));
    let mut stream = StreamReader::new(&store).await;

    // First an import from another provider (an import never overrides what we hold).
    let file = std::env::temp_dir().join(format!("flow-{:016x}.csv", fastrand::u64(..)));
    std::fs::write(
        &file,
        format!("msisdn,opt_out_date,source\n{N},2024-05-01,oldco\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let import = tokio::process::Command::new(env!("CARGO_BIN_EXE_optout-admin"))
        .args(["import", file.to_str().unwrap_or_default()])
        .env("TABLE_NAME", store.table_name())
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("SECRET_ARNS")
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(import.status.code(), Some(0), "{import:?}");
    let _ = std::fs::remove_file(&file);

    // A STOP; its confirmation is refused by Vonage (barred).
    assert_eq!(text(&webhook, "F1", "STOP").await["status"], "opted_out");
    let response = notify
        .handle(lambda_event(&stream.next_records().await), None)
        .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    // A message that may be a revocation, decided by a person with a note.
    assert_eq!(
        text(&webhook, "F2", "Why do I keep getting this spam?").await["status"],
        "review"
    );
    let (status, page) = call(&api, REVIEWER_KEY, HttpCall::get("/reviews", "")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let decision =
        serde_json::json!({"decision": "opt_out", "by": REVIEWER, "note": NOTE}).to_string();
    let (status, decided) = call(
        &api,
        REVIEWER_KEY,
        HttpCall::post(
            &format!("/reviews/{id}"),
            "application/json",
            decision.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    // The person resubscribes on the website; Vonage lifts its block.
    let consent = serde_json::json!({"msisdn": format!("+{N}"), "consent": {
        "source": "preferences-page",
        "captured_at": shared::domain::timestamp::format(shared::domain::timestamp::now()),
        "ip": "203.0.113.7"}})
    .to_string();
    let (status, resubscribed) = call(
        &api,
        KEY,
        HttpCall::post("/resubscribe", "application/json", consent.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resubscribed}");
    // The file, as JSON: every fact, under one name each.
    let (status, file) = call(
        &api,
        REVIEWER_KEY,
        HttpCall::get(&format!("/subscriptions/{N}/evidence"), ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["check"]["result"], "consistent", "{file}");
    let timeline = file["timeline"].as_array().cloned().unwrap_or_default();
    let entry = |pred: &dyn Fn(&Value) -> bool| -> Value {
        timeline
            .iter()
            .find(|e| pred(e))
            .cloned()
            .unwrap_or_else(|| panic!("no such entry in {file:#}"))
    };
    let reply = entry(&|e| e["family"] == "reply");
    assert_eq!(reply["item"]["status"], "not_sent");
    let summary = reply["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("not_sent") && summary.contains("status 7"),
        "the reply failure: {summary}"
    );
    let review = entry(&|e| e["family"] == "review");
    let summary = review["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&format!("decision opt_out by {REVIEWER}")) && summary.contains(NOTE),
        "the reviewer and the note: {summary}"
    );
    let decision = entry(&|e| e["source"] == "review");
    assert_eq!(decision["item"]["details"]["decided_by"], REVIEWER);
    assert!(decision["summary"]
        .as_str()
        .is_some_and(|s| s.contains(REVIEWER)));
    let consent = entry(&|e| e["source"] == "website");
    assert_eq!(consent["item"]["details"]["provider"], "short-code-api");
    assert_eq!(consent["item"]["details"]["consent_ip"], "203.0.113.7");
    let summary = consent["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("consent on the website (preferences-page)")
            && summary.contains("provider short-code-api"),
        "the consent and the provider: {summary}"
    );
    let import = entry(&|e| e["source"] == "import");
    assert!(
        import["summary"]
            .as_str()
            .is_some_and(|s| s.contains("imported from") && s.contains("line 2")),
        "{import}"
    );
    assert_eq!(import["item"]["details"]["original_source"], "oldco");

    // The same facts for a person, as text.
    let (status, text) = call(
        &api,
        REVIEWER_KEY,
        HttpCall::get(&format!("/subscriptions/{N}/evidence"), "format=text"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap_or_default();
    for fact in [
        "opt-out: inbound SMS \"STOP\", message F1",
        "reply (stop_confirmation): not_sent",
        "status 7",
        &format!("decision opt_out by {REVIEWER}"),
        NOTE,
        "decided_by: jane.doe@acme.example",
        "consent on the website (preferences-page)",
        "provider short-code-api",
        "imported from",
        "original_source: oldco",
    ] {
        assert!(text.contains(fact), "{fact:?} not in\n{text}");
    }
}
