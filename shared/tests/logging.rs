//! What reaches the logs. In its own test binary: a scoped tracing subscriber only sees every
//! event when no other test thread races it for the callsites.

use lambda_http::http::StatusCode;
use shared::domain::signature::{sms_signature, SignatureMethod};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use testkit::*;

const PATH: &str = "/webhooks/inbound";
/// An API key that must never reach a log line.
const API_KEY: &str = "k3y-never-logged-5f1c";

fn signed_query(digits: &str, id: &str, secret: &str, method: SignatureMethod, ts: i64) -> String {
    signed_text(digits, id, "STOP", secret, method, ts)
}

fn signed_text(
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
    ];
    let sig = sms_signature(&params, secret, method);
    params.push(("sig", sig.as_str()));
    serde_urlencoded::to_string(&params).unwrap()
}

#[tokio::test]
async fn logs_carry_only_the_masked_number_and_no_secret() {
    use std::io::Write;
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = fresh_store().await;
    let secret = "do-not-log-this-secret";
    let mut hook = Webhook::new(store.clone(), WebhookAuth::default());
    hook.auth.signature = Some((secret.into(), SignatureMethod::HmacSha512));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = signed_query(
        "14155559876",
        "J1",
        secret,
        SignatureMethod::HmacSha512,
        now,
    );
    let bad = signed_query("14155559876", "J2", "x", SignatureMethod::HmacSha512, now);
    assert_eq!(
        hook.handle(HttpCall::get(PATH, &good).request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        hook.handle(HttpCall::get(PATH, &bad).request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A revocation phrase, a review item and its decision, an opt-out by the API.
    for (id, text) in [("J3", "please stop texting me"), ("J4", "is this spam?")] {
        let query = signed_text(
            "14155559876",
            id,
            text,
            secret,
            SignatureMethod::HmacSha512,
            now,
        );
        let response = hook
            .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text}");
    }
    // The website API's read routes answer with full numbers, and log them masked.
    let vonage =
        shared::adapters::vonage::VonageClient::new("http://127.0.0.1:9", "k", "s").unwrap();
    let api =
        shared::handlers::website_api::WebsiteApi::new(store.clone(), vonage, vec![API_KEY.into()]);
    let review = shared::domain::review::review_id(&msisdn("14155559876"), "sms:J4");
    let path = format!("/reviews/{review}");
    let decision = br#"{"decision":"opt_out","by":"agent"}"#;
    let call = HttpCall::post(&path, "application/json", decision).header("x-api-key", API_KEY);
    assert_eq!(
        api.handle(call.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::OK
    );
    let opt_out = br#"{"msisdn":"+14155559877","evidence":{"source":"s","captured_at":"2026-01-01T00:00:00Z","channel":"email"}}"#;
    let call = HttpCall::post("/opt-outs", "application/json", opt_out)
        .header("x-api-key", API_KEY)
        .header("idempotency-key", "log-test");
    assert_eq!(
        api.handle(call.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::OK
    );

    let body = br#"{"numbers":["+1 415 555 9876","14155559877"]}"#;
    let check =
        HttpCall::post("/eligibility", "application/json", body).header("x-api-key", API_KEY);
    let response = api.handle(check.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(String::from_utf8_lossy(response.body().as_ref()).contains("14155559876"));
    let evidence = HttpCall::get("/subscriptions/14155559876/evidence", "format=text")
        .header("x-api-key", API_KEY);
    let response = api.handle(evidence.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("*******9876"), "{logs}");
    assert!(logs.contains("*******9877"), "{logs}");
    assert!(logs.contains(&review), "{logs}");
    assert!(logs.contains("\"numbers\":2"), "{logs}");
    assert!(!logs.contains("14155559876"), "{logs}");
    assert!(!logs.contains("14155559877"), "{logs}");
    assert!(!logs.contains(secret), "{logs}");
    // The caller's key by its name, never the key.
    assert!(logs.contains("\"api_key\":\"api-keys-1\""), "{logs}");
    assert!(!logs.contains(API_KEY), "{logs}");
    assert!(logs
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}
