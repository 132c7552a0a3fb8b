//! API Gateway HTTP API (payload 2.0) events, as API Gateway hands them to Lambda, and the
//! requests the benchmarks send: signed Vonage inbound SMS webhooks and the website's API calls.

use shared::domain::signature::{sms_signature, SignatureMethod};

/// Secret and method the benchmarked webhook is configured with (signed webhooks on, as in
/// production).
pub const SIGNATURE_SECRET: &str = "bench-signature-secret";
pub const SIGNATURE_METHOD: SignatureMethod = SignatureMethod::HmacSha256;
/// `x-api-key` of the benchmarked resubscribe API.
pub const API_KEY: &str = "bench-api-key";
pub const WEBHOOK_PATH: &str = "/webhooks/inbound";

/// One HTTP request as an API Gateway v2 event (JSON bytes): the tests' own event builder
/// (`testkit::HttpCall`), so the benchmark sends what the tests check.
pub fn http_api_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut call = testkit::HttpCall {
        method,
        path,
        query,
        headers: Vec::new(),
        body: body.map(str::as_bytes).unwrap_or_default(),
        base64: false,
    };
    for (name, value) in headers {
        call = call.header(name, *value);
    }
    call.event(testkit::EventShape::HttpApiV2)
        .to_string()
        .into_bytes()
}

/// A Vonage SMS API inbound webhook, POST form-urlencoded, signed with HMAC-SHA256 and a fresh
/// timestamp, as Vonage sends it with signed webhooks on.
pub fn signed_inbound_sms(msisdn: &str, message_id: &str, text: &str) -> Vec<u8> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let nonce = format!("{:016x}", fastrand::u64(..));
    let keyword = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
    let mut params: Vec<(&str, &str)> = vec![
        ("msisdn", msisdn),
        ("to", "16105553939"),
        ("messageId", message_id),
        ("text", text),
        ("type", "text"),
        ("keyword", &keyword),
        ("api-key", "abcd1234"),
        ("message-timestamp", "2026-11-20 11:12:01"),
        ("timestamp", &timestamp),
        ("nonce", &nonce),
    ];
    let sig = sms_signature(&params, SIGNATURE_SECRET, SIGNATURE_METHOD);
    params.push(("sig", &sig));
    let body = serde_urlencoded::to_string(&params).unwrap_or_default();
    http_api_event(
        "POST",
        WEBHOOK_PATH,
        "",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
}

/// `GET /subscriptions/{msisdn}` of the resubscribe API.
pub fn subscription_status(msisdn: &str) -> Vec<u8> {
    http_api_event(
        "GET",
        &format!("/subscriptions/{msisdn}"),
        "",
        &[("x-api-key", API_KEY)],
        None,
    )
}

/// `GET /opt-outs?limit=…` of the resubscribe API: one page of the opted-out list.
pub fn opt_outs(limit: u32) -> Vec<u8> {
    http_api_event(
        "GET",
        "/opt-outs",
        &format!("limit={limit}"),
        &[("x-api-key", API_KEY)],
        None,
    )
}

/// `POST /resubscribe` with consent captured now.
pub fn resubscribe(msisdn: &str) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    let captured_at = shared::domain::timestamp::format(now - time::Duration::seconds(5));
    let body = serde_json::json!({
        "msisdn": format!("+{msisdn}"),
        "consent": {
            "source": "website:preferences",
            "captured_at": captured_at,
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (bench)",
            "wording": "Yes, text me offers again."
        }
    })
    .to_string();
    http_api_event(
        "POST",
        "/resubscribe",
        "",
        &[("x-api-key", API_KEY), ("content-type", "application/json")],
        Some(&body),
    )
}

/// The HTTP status inside a lambda_http response document (`{"statusCode": 200, ...}`).
pub fn status_of(response: &[u8]) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_slice(response).ok()?;
    value
        .get("statusCode")
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
}
