//! Every file in `events/` replayed through the real handlers against the local DynamoDB server
//! (and a wiremock Vonage), in manifest order, each checked against its documented status, so
//! the samples never rot.
//!
//! With `API_SAMPLES_DIR` set, each website API answer is also written there, one JSON file per
//! event (`{"method", "path", "status", "content_type", "body"}`): real responses of every
//! route, which `scripts/spec_check` reads back through a client generated from openapi.yaml.

use shared::adapters::config::Settings;
use shared::adapters::provider::ProviderMode;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::Status;
use shared::domain::program::Programs;
use shared::domain::signature::SignatureMethod;
use shared::handlers::notify::Notify;
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use testkit::sample_events::{prepare, Manifest};
use testkit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");

/// Vonage's documented manage answer, for whichever number was asked.
struct ManageEcho;

impl Respond for ManageEcho {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
        let msisdn = form
            .iter()
            .find(|(k, _)| k == "msisdn")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
        let mut json: serde_json::Value = serde_json::from_str(&doc).unwrap();
        json["msisdn"] = msisdn.into();
        ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")
    }
}

/// One API answer as `API_SAMPLES_DIR` holds it (see the top of this file).
fn write_sample(
    dir: &std::path::Path,
    file: &str,
    method: &str,
    path: &str,
    response: &lambda_http::Response<lambda_http::Body>,
) {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let sample = serde_json::json!({
        "method": method,
        "path": path,
        "status": response.status().as_u16(),
        "content_type": content_type,
        "body": String::from_utf8_lossy(response.body().as_ref()),
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), sample.to_string()).unwrap();
}

#[tokio::test]
async fn every_sample_event_gets_its_documented_status() {
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(format!("{EVENTS}/manifest.json")).unwrap())
            .unwrap();

    // Every file is in the manifest and every manifest entry is a file.
    let mut files: Vec<String> = std::fs::read_dir(EVENTS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".json") && f != "manifest.json")
        .collect();
    files.sort();
    let mut listed: Vec<String> = manifest.events.iter().map(|e| e.file.clone()).collect();
    listed.sort();
    assert_eq!(files, listed, "events/ and events/manifest.json disagree");

    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sc/us/alert/opt-in/manage/json"))
        .respond_with(ManageEcho)
        .mount(&vonage)
        .await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                r#"{"message-count":"1","messages":[{"to":"14155550106","message-id":"0A00000000000001","status":"0"}]}"#,
                "application/json",
            ),
        )
        .mount(&vonage)
        .await;
    let secret = "local-signature-secret";
    // The local configuration (scripts/local): self-managed, replies on, joins by JOIN.
    let local = [
        ("PROVIDER_MODE", "self-managed"),
        ("PROGRAM_NAME", "Acme Alerts"),
        ("HELP_CONTACT", "help@acme.example"),
        ("JOIN_KEYWORD", "JOIN"),
        ("VONAGE_API_KEY", "local"),
        ("VONAGE_API_SECRET", "local-secret"),
        ("VONAGE_API_BASE_URL", &vonage.uri()),
    ];
    let settings = Settings::from_pairs(local.map(|(k, v)| (k.to_owned(), v.to_owned())));
    let programs = Programs::from_settings(&settings).unwrap_or_else(|e| panic!("{e}"));
    let webhook = Webhook {
        mode: ProviderMode::SelfManaged,
        programs: programs.clone(),
        ..Webhook::new(
            store.clone(),
            WebhookAuth {
                signature: Some((secret.into(), SignatureMethod::HmacSha256)),
                token: None,
            },
        )
    };
    let client = VonageClient::new(&vonage.uri(), "local", "local-secret").unwrap();
    // Every answer checked against openapi.yaml.
    let mut api = WebsiteApi::new(store.clone(), client, vec!["local-api-key".into()]);
    api.programs = programs;
    let api = testkit::openapi::CheckedApi::new(api);
    let notify = Notify::from_settings(store.clone(), &settings).unwrap_or_else(|e| panic!("{e}"));

    let samples = std::env::var_os("API_SAMPLES_DIR").map(std::path::PathBuf::from);
    for entry in &manifest.events {
        let text = std::fs::read_to_string(format!("{EVENTS}/{}", entry.file)).unwrap();
        let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
        prepare(
            &mut event,
            entry.prepare.as_deref(),
            secret,
            SignatureMethod::HmacSha256,
            shared::domain::timestamp::now(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", entry.file));
        if entry.function == "notify" {
            let response = notify.handle(event, None).await;
            let status = if response.batch_item_failures.is_empty() {
                200
            } else {
                500
            };
            assert_eq!(
                status, entry.status,
                "{} ({}): {response:?}",
                entry.file, entry.note
            );
            continue;
        }
        lambda_http::request::from_str(&event.to_string())
            .unwrap_or_else(|e| panic!("{} is not a valid Lambda HTTP event: {e}", entry.file));
        // Through the functions' own entry, as deployed.
        let (request, _) = shared::handlers::gateway::request_from_event(
            &event.to_string(),
            lambda_http::Context::default(),
        );
        let (method, path) = (
            request.method().to_string(),
            request.uri().path().to_owned(),
        );
        let response = match entry.function.as_str() {
            "unsubscribe-webhook" => webhook.handle(request).await,
            "resubscribe" => api.handle(request).await,
            other => panic!("{}: unknown function {other}", entry.file),
        };
        if let (Some(dir), "resubscribe") = (&samples, entry.function.as_str()) {
            write_sample(dir, &entry.file, &method, &path, &response);
        }
        assert_eq!(
            response.status().as_u16(),
            entry.status,
            "{} ({}): {:?}",
            entry.file,
            entry.note,
            body_json(&response)
        );
        if entry.status == 405 {
            assert!(
                response.headers().contains_key("allow"),
                "{}: a 405 without Allow",
                entry.file
            );
        }
        if entry.status >= 400 {
            let json = body_json(&response);
            assert!(
                json["error"].is_string() && json["message"].is_string(),
                "{}",
                entry.file
            );
        }
    }

    // What the sample traffic leaves behind.
    let state = |n: &'static str| {
        let store = store.clone();
        async move { store.state(&msisdn(n)).await.unwrap().map(|s| s.status) }
    };
    assert_eq!(state("14155550100").await, Some(Status::OptedOut));
    assert_eq!(
        history_count(&store, "14155550100").await,
        1,
        "the duplicate was recorded once"
    );
    assert_eq!(
        state("14155550101").await,
        Some(Status::Subscribed),
        "STOP then resubscribe"
    );
    for n in ["14155550102", "14155550103", "14155550104", "14155550109"] {
        assert_eq!(state(n).await, Some(Status::OptedOut), "{n}");
    }
    assert_eq!(
        state("14155550105").await,
        Some(Status::Subscribed),
        "STOP, then START by text"
    );
    assert_eq!(state("14155550106").await, None, "HELP never sets a state");
    // The stream sample's HELP reply went out once, from the number texted.
    let sends: Vec<_> = vonage
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/sms/json")
        .collect();
    assert_eq!(sends.len(), 1);
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&sends[0].body).unwrap_or_default();
    assert!(form.contains(&("to".to_string(), "14155550106".to_string())));
    assert!(form.contains(&("from".to_string(), "16105553939".to_string())));
    // A revocation phrase, a review decided as a revocation, an opt-out by the API.
    for (n, source) in [
        ("14155550110", "webhook"),
        ("14155550111", "review"),
        ("14155550112", "api"),
    ] {
        assert_eq!(state(n).await, Some(Status::OptedOut), "{n}");
        let history = store.history(&msisdn(n), 5).await.unwrap();
        assert_eq!(
            history.len(),
            1,
            "{n}: the conflicting request wrote nothing"
        );
        assert_eq!(history[0].origin.source(), source, "{n}");
    }
    let phrase = store.history(&msisdn("14155550110"), 1).await.unwrap();
    assert_eq!(phrase[0].origin.details()["phrase"], "stop texting me");
    assert_eq!(state("14155550107").await, None, "unsigned is refused");
    assert_eq!(state("14155550108").await, None, "PUT is refused");
    // Spanish and French: keywords and phrases honoured, with their language; a cue queued.
    for (n, language) in [
        ("14155550170", "es"),
        ("14155550171", "es"),
        ("14155550172", "fr"),
        ("14155550173", "fr"),
    ] {
        assert_eq!(state(n).await, Some(Status::OptedOut), "{n}");
        let entry = store.history(&msisdn(n), 1).await.unwrap();
        assert_eq!(entry[0].origin.details()["language"], language, "{n}");
    }
    assert_eq!(
        state("14155550174").await,
        None,
        "a review cue changes nothing"
    );
    let (open, _) = store
        .reviews_page(shared::domain::review::ReviewStatus::Open, None, 50, None)
        .await
        .unwrap();
    assert!(
        open.iter().any(|r| r.msisdn.as_str() == "14155550174"),
        "the Spanish question is a review item"
    );
    // The double opt-in: the JOIN and its YES, one consent.
    assert_eq!(state("14155550161").await, Some(Status::Subscribed));
}
