//! A person texting the real webhook and the replies the real notify function sends, for the
//! tests that follow a conversation (consents, languages): Vonage a wiremock server that
//! accepts every send in the documented shape.

use lambda_http::http::StatusCode;
use shared::handlers::notify::Notify;
use shared::handlers::stream_event::BatchResponse;
use shared::handlers::webhook::Webhook;
use testkit::streams::{lambda_event, StreamReader};
use testkit::*;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SEND: &str = "/sms/json";

/// A Vonage stand-in whose SMS API accepts every send.
pub async fn vonage_accepting_sends() -> MockServer {
    let vonage = MockServer::start().await;
    let accepted = serde_json::json!({"message-count": "1", "messages": [{"to": "1",
        "message-id": "M-1", "status": "0", "remaining-balance": "10.0",
        "message-price": "0.01", "network": "310004"}]});
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(accepted.to_string(), "application/json"),
        )
        .mount(&vonage)
        .await;
    vonage
}

/// A text from `from` to `to`, sent `minutes` ago (Vonage's `message-timestamp`): the webhook's
/// `status`.
pub async fn text(
    webhook: &Webhook,
    from: &str,
    to: &str,
    id: &str,
    text: &str,
    minutes: i64,
) -> String {
    let sent = OffsetDateTime::now_utc() - time::Duration::minutes(minutes);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let query = serde_urlencoded::to_string([
        ("msisdn", from),
        ("to", to),
        ("messageId", id),
        ("text", text),
        ("type", "unicode"),
        ("message-timestamp", &sent.format(format).expect("format")),
    ])
    .expect("query");
    let response = webhook
        .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(&response)["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The stream's new records through notify; every record must succeed.
pub async fn drain(notify: &Notify, reader: &mut StreamReader) {
    let records = reader.next_records().await;
    let response = notify.handle(lambda_event(&records), None).await;
    assert_eq!(response, BatchResponse::default());
}

/// Every text sent to `to`, in order.
pub async fn sent_to(vonage: &MockServer, to: &str) -> Vec<String> {
    vonage
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == SEND)
        .map(|r| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body).unwrap_or_default())
        .filter(|f| f.iter().any(|(k, v)| k == "to" && v == to))
        .filter_map(|f| f.into_iter().find(|(k, _)| k == "text").map(|(_, v)| v))
        .collect()
}
