//! The API Gateway entry (`shared::handlers::gateway`): no event panics its conversion into a
//! request, and a stand-in for an unreadable event keeps a valid method and path. Input: byte 0
//! picks where the rest goes (the whole event, the raw query string, the Host header,
//! X-Forwarded-Proto, another header's value, the raw path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::handlers::gateway::{request_from_event, Unreadable};

fn v2(query: &str, path: &str, headers: serde_json::Value) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "GET /webhooks/inbound", "rawPath": path,
        "rawQueryString": query, "headers": headers,
        "requestContext": {
            "accountId": "1", "apiId": "a", "domainName": "api.example.com",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "f"},
            "requestId": "r", "routeKey": "GET /webhooks/inbound", "stage": "$default",
            "time": "t", "timeEpoch": 0
        },
        "isBase64Encoded": false
    })
    .to_string()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let host = serde_json::json!({"host": "api.example.com"});
    let event = match pick % 6 {
        0 => text,
        1 => v2(&text, "/webhooks/inbound", host),
        2 => v2("a=1", "/webhooks/inbound", serde_json::json!({ "host": text })),
        3 => v2("a=1", "/webhooks/inbound", serde_json::json!({"host": "h", "x-forwarded-proto": text})),
        4 => v2("a=1", "/webhooks/inbound", serde_json::json!({"host": "h", "x-fuzz": text})),
        _ => v2("a=1", &text, host),
    };
    let (request, _) = request_from_event(&event, Default::default());
    if request.extensions().get::<Unreadable>().is_some() {
        assert!(request.uri().query().is_none());
        assert!(request.uri().path().starts_with('/'));
    }
});
