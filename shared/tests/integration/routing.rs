//! Routing on the event's route, not on its path re-parsed as a URI. Every
//! request goes through the functions' real entry (`shared::handlers::gateway`) and handler,
//! as API Gateway HTTP API (payload 2.0), REST API (1.0) and function URL events
//! (`testkit::HttpCall`: an HTTP API hands over its path and parameters percent-decoded, a REST
//! API and a function URL as sent). The API's answers are checked against openapi.yaml.
//!
//! The decisions: docs/decisions/0002-routing-on-the-events-route.md.

use lambda_http::http::StatusCode;
use shared::adapters::store::Store;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::Status;
use shared::handlers::gateway;
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::{WebsiteApi, ROUTES};
use testkit::openapi::CheckedApi;
use testkit::*;

const KEY: &str = "website-key";
const SHAPES: [EventShape; 3] = [
    EventShape::HttpApiV2,
    EventShape::RestApiV1,
    EventShape::FunctionUrl,
];

/// The API, every response checked against openapi.yaml.
fn api(store: Store) -> CheckedApi {
    // Never called by these tests: nothing listens on port 9.
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").expect("client");
    CheckedApi::new(WebsiteApi::new(store, vonage, vec![KEY.to_string()]))
}

/// What a caller sees: status, the `Allow` header, the body's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: u16,
    allow: Option<String>,
    error: Option<String>,
}

/// The event through the function's entry, the answer in the event's own response shape.
async fn through_entry<F, Fut>(event: &serde_json::Value, handler: F) -> Seen
where
    F: FnOnce(lambda_http::Request) -> Fut,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
{
    let (request, shape) =
        gateway::request_from_event(&event.to_string(), lambda_http::Context::default());
    let out = serde_json::to_value(gateway::into_gateway_response(
        handler(request).await,
        shape,
    ))
    .expect("a response");
    let allow = out["headers"]["allow"]
        .as_str()
        .or(out["multiValueHeaders"]["allow"][0].as_str())
        .map(str::to_owned);
    let body: serde_json::Value =
        serde_json::from_str(out["body"].as_str().unwrap_or_default()).unwrap_or_default();
    Seen {
        status: out["statusCode"].as_u64().unwrap_or_default() as u16,
        allow,
        error: body["error"].as_str().map(str::to_owned),
    }
}

async fn ask(api: &CheckedApi, call: &HttpCall<'_>, shape: EventShape) -> Seen {
    through_entry(&call.event(shape), |req| api.handle(req)).await
}

fn decision() -> Vec<u8> {
    serde_json::json!({"decision": "opt_out", "by": "agent-7"})
        .to_string()
        .into_bytes()
}

/// The paths of the issue, and others like them: a `#`, `?`, `/`, space or control character
/// inside a segment; paths we do not have; known paths with another method.
fn hostile_calls(body: &[u8]) -> Vec<HttpCall<'_>> {
    let post = |path| HttpCall::post(path, "application/json", body);
    vec![
        HttpCall::get("/subscriptions/14155550100%23x", ""),
        HttpCall::get("/subscriptions/14155550100%3Fx", "history_limit=5"),
        HttpCall::get("/subscriptions/14155550100%2Fevidence", ""),
        HttpCall::get("/subscriptions/%20", ""),
        HttpCall::get("/subscriptions/%20/evidence", ""),
        HttpCall::get("/subscriptions/..%2F..%2Fopt-outs", ""),
        post("/reviews/%20"),
        post("/reviews/%0D"),
        post("/reviews/%1A"),
        post("/reviews/%23x"),
        post("/reviews/rv_0%2F1"),
        HttpCall::get("/reviews/%20", ""),
        HttpCall::get("/nowhere", ""),
        HttpCall::get("/prod/opt-outs", ""),
        HttpCall::get("/opt-outs/x", ""),
        HttpCall::get("/opt-outs%23", ""),
        HttpCall::get("/resubscribe", ""),
        HttpCall::get("/opt-outs", "").method("DELETE"),
        HttpCall::get("/subscriptions/14155550100", "").method("POST"),
    ]
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401_whatever_the_path() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let body = decision();
    for call in hostile_calls(&body) {
        for shape in SHAPES {
            for key in [None, Some("wrong-key"), Some("website-key ")] {
                let call = HttpCall {
                    headers: call.headers.clone(),
                    ..call
                };
                let call = match key {
                    Some(key) => call.header("x-api-key", key),
                    None => call,
                };
                let seen = ask(&api, &call, shape).await;
                assert_eq!(
                    (seen.status, seen.error.as_deref(), seen.allow.as_deref()),
                    (401, Some("unauthorized"), None),
                    "{} {} {shape:?} key {key:?}",
                    call.method,
                    call.path
                );
            }
        }
    }
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn a_segment_keeps_its_hash_question_mark_slash_and_control_characters() {
    let store = fresh_store().await;
    let api = api(store.clone());
    // 14155550100 has opted out: no answer below may be about it.
    let hook = Webhook::new(store.clone(), WebhookAuth::default());
    let query = serde_urlencoded::to_string([
        ("msisdn", "14155550100"),
        ("to", "16105553939"),
        ("messageId", "R1"),
        ("text", "STOP"),
    ])
    .expect("query");
    let response = hook
        .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let state = store.state(&msisdn("14155550100")).await.expect("read");
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
    let items = item_count(&store).await;

    let body = decision();
    let post = |path| HttpCall::post(path, "application/json", &body).header("x-api-key", KEY);
    let get = |path| HttpCall::get(path, "").header("x-api-key", KEY);
    let expected: Vec<(HttpCall<'_>, u16, &str)> = vec![
        // Not a number (the `#x`, `?x`, `/evidence` are part of it): the route's usual 400.
        (get("/subscriptions/14155550100%23x"), 400, "invalid_msisdn"),
        (get("/subscriptions/14155550100%3Fx"), 400, "invalid_msisdn"),
        (
            get("/subscriptions/14155550100%2Fevidence"),
            400,
            "invalid_msisdn",
        ),
        (
            get("/subscriptions/14155550100%23x/evidence"),
            400,
            "invalid_msisdn",
        ),
        (
            get("/subscriptions/..%2F..%2Fopt-outs"),
            400,
            "invalid_msisdn",
        ),
        // A blank parameter (whitespace or control characters only) is no path of ours.
        (get("/subscriptions/%20"), 404, "not_found"),
        (get("/subscriptions/%20/evidence"), 404, "not_found"),
        (get("/subscriptions/%1A"), 404, "not_found"),
        (post("/reviews/%20"), 404, "not_found"),
        (post("/reviews/%0D"), 404, "not_found"),
        (post("/reviews/%1A"), 404, "not_found"),
        (post("/reviews/%09%0A"), 404, "not_found"),
        // Not blank, and no review's id.
        (post("/reviews/%23x"), 404, "not_found"),
        (post("/reviews/x%1A"), 404, "not_found"),
        (post("/reviews/rv_0%2F1"), 404, "not_found"),
        // Whole paths only.
        (get("/prod/opt-outs"), 404, "not_found"),
        (get("/opt-outs/x"), 404, "not_found"),
        (get("/opt-outs%23"), 404, "not_found"),
        (get("/x/subscriptions/14155550100"), 404, "not_found"),
    ];
    for (call, status, error) in &expected {
        for shape in SHAPES {
            let seen = ask(&api, call, shape).await;
            assert_eq!(
                (seen.status, seen.error.as_deref()),
                (*status, Some(*error)),
                "{} {} {shape:?}",
                call.method,
                call.path
            );
        }
    }
    // The body is checked before the id, as before: `%23x` without a decision is a 400.
    let empty = HttpCall::post("/reviews/%23x", "application/json", b"").header("x-api-key", KEY);
    for shape in SHAPES {
        let seen = ask(&api, &empty, shape).await;
        assert_eq!(
            (seen.status, seen.error.as_deref()),
            (400, Some("invalid_json")),
            "{shape:?}"
        );
    }
    // And the number itself, `+` spelled either way, still answers for it.
    for path in [
        "/subscriptions/%2B14155550100",
        "/subscriptions/+14155550100",
        "/subscriptions/14155550100",
    ] {
        for shape in SHAPES {
            let call = get(path);
            let response = api.handle(call.request(shape)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} {shape:?}");
            assert_eq!(body_json(&response)["status"], "opted_out", "{path}");
        }
    }
    assert_eq!(item_count(&store).await, items, "nothing written");
}

/// API Gateway's route (HTTP API `routeKey`, REST API `resource`, with `pathParameters`) and
/// the raw path (function URL; a REST API `{proxy+}` resource) give the same answer.
#[tokio::test]
async fn the_gateways_route_and_the_raw_path_give_the_same_answer() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let body = decision();
    let mut calls = hostile_calls(&body);
    calls.extend([
        HttpCall::get("/opt-outs", "limit=2"),
        HttpCall::get("/subscriptions/%2B14155550100", ""),
        HttpCall::get("/subscriptions/415%20555%200100/evidence", ""),
        HttpCall::get("/reviews", ""),
        HttpCall::post("/resubscribe", "application/json", b"{}"),
        HttpCall::post("/eligibility", "application/json", b"{\"numbers\":[]}"),
    ]);
    for call in calls {
        let call = call.header("x-api-key", KEY);
        let by_route_key = ask(&api, &call, EventShape::HttpApiV2).await;
        let by_resource = ask(&api, &call, EventShape::RestApiV1).await;
        let by_raw_path = ask(&api, &call, EventShape::FunctionUrl).await;
        // The REST API event again, its route forgotten: a `{proxy+}` resource.
        let mut proxied = call.event(EventShape::RestApiV1);
        proxied["resource"] = "/{proxy+}".into();
        proxied["requestContext"]["resourcePath"] = "/{proxy+}".into();
        proxied["pathParameters"] = serde_json::json!({"proxy": call.path.trim_start_matches('/')});
        let by_proxy = through_entry(&proxied, |req| api.handle(req)).await;
        let what = format!("{} {}", call.method, call.path);
        assert_eq!(by_route_key, by_raw_path, "{what}");
        assert_eq!(by_resource, by_raw_path, "{what}");
        assert_eq!(by_proxy, by_raw_path, "{what}");
        assert!(by_raw_path.status < 500, "{what}: {by_raw_path:?}");
    }
    // The HTTP API event names its route: that, not its path, is what it is routed on.
    let call = HttpCall::get("/subscriptions/14155550100%23x", "").header("x-api-key", KEY);
    let event = call.event(EventShape::HttpApiV2);
    assert_eq!(event["routeKey"], "GET /subscriptions/{msisdn}");
    assert_eq!(event["rawPath"], "/subscriptions/14155550100#x");
    assert_eq!(event["pathParameters"]["msisdn"], "14155550100#x");
}

#[tokio::test]
async fn every_405_names_the_paths_methods_in_allow() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    let mut paths: Vec<&str> = ROUTES.iter().map(|&(_, p)| p).collect();
    paths.dedup();
    for template in paths {
        let path = template
            .replace("{msisdn}", "%2B14155550100")
            .replace("{id}", "rv_619e8e4678e68809753e1e345e23770f");
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|&&(_, p)| p == template)
            .map(|&(m, _)| m)
            .collect();
        for method in methods.iter().filter(|m| !allowed.contains(m)) {
            for shape in SHAPES {
                let call = HttpCall::get(&path, "")
                    .method(method)
                    .header("x-api-key", KEY);
                let seen = ask(&api, &call, shape).await;
                assert_eq!(seen.status, 405, "{method} {path} {shape:?}");
                assert_eq!(seen.error.as_deref(), Some("method_not_allowed"));
                assert_eq!(
                    seen.allow.as_deref(),
                    Some(allowed.join(", ").as_str()),
                    "{method} {path} {shape:?}"
                );
            }
        }
    }
    // The webhook's too, with or without its token segment.
    let hook = Webhook::new(store.clone(), WebhookAuth::default());
    for path in ["/webhooks/inbound", "/webhooks/inbound/3f9c2a7e5b1d4c8e"] {
        for method in ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            for shape in SHAPES {
                let call = HttpCall::get(path, "").method(method);
                let seen = through_entry(&call.event(shape), |req| hook.handle(req)).await;
                assert_eq!(
                    (seen.status, seen.allow.as_deref()),
                    (405, Some("GET, POST")),
                    "{method} {path} {shape:?}"
                );
            }
        }
    }
    assert_eq!(item_count(&store).await, 0);
}

/// The webhook's token is one whole segment: what follows a `#` or `?` in it is part of it.
#[tokio::test]
async fn a_webhook_token_is_its_whole_segment() {
    let store = fresh_store().await;
    let hook = Webhook::new(
        store.clone(),
        WebhookAuth {
            signature: None,
            token: Some("3f9c2a7e5b1d4c8e".into()),
        },
    );
    let query = serde_urlencoded::to_string([
        ("msisdn", "14155550177"),
        ("to", "16105553939"),
        ("messageId", "T1"),
        ("text", "STOP"),
    ])
    .expect("query");
    for path in [
        "/webhooks/inbound/3f9c2a7e5b1d4c8e%23x",
        "/webhooks/inbound/3f9c2a7e5b1d4c8e%3Fx",
        "/webhooks/inbound/3f9c2a7e5b1d4c8e%20",
    ] {
        for shape in SHAPES {
            let call = HttpCall::get(path, &query);
            let seen = through_entry(&call.event(shape), |req| hook.handle(req)).await;
            assert_eq!(
                (seen.status, seen.error.as_deref()),
                (401, Some("invalid_token")),
                "{path} {shape:?}"
            );
        }
    }
    assert_eq!(item_count(&store).await, 0);
    let call = HttpCall::get("/webhooks/inbound/3f9c2a7e5b1d4c8e", &query);
    for shape in SHAPES {
        let seen = through_entry(&call.event(shape), |req| hook.handle(req)).await;
        assert_eq!(seen.status, 200, "{shape:?}");
    }
}
