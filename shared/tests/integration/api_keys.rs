//! Named keys with roles (docs/decisions/0018-named-keys-and-roles.md) through the real
//! website API against the local server: every route for every role (allowed, or 403 before
//! anything is read or written), no or an unknown key 401, the old `API_KEYS` still admin keys,
//! the key's name (never the key) in every history entry a call writes, and the reviewer's
//! identity in the evidence file.

use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::config::Settings;
use shared::adapters::store::Store;
use shared::domain::access::{key_hash, role_grants, Role};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::{WebsiteApi, KEYLESS_ROUTES, ROUTES};
use testkit::openapi::CheckedApi;
use testkit::*;

/// One key per role, and an old plain key.
const KEYS: [(&str, Role, &str); 4] = [
    ("website", Role::Website, "key-website-1f0a"),
    ("braze-sender", Role::Sender, "key-sender-77c2"),
    ("jane.doe", Role::Reviewer, "key-reviewer-9d41"),
    ("ops", Role::Admin, "key-admin-3e88"),
];
const OLD_KEY: &str = "old-plain-key-2025";

fn api(store: Store) -> CheckedApi {
    let roles: Vec<Value> = KEYS
        .iter()
        .map(|(name, role, key)| {
            serde_json::json!({"name": name, "role": role.as_str(), "sha256": key_hash(key)})
        })
        .collect();
    let roles = Value::Array(roles).to_string();
    let settings = Settings::from_pairs([
        ("API_KEY_ROLES", roles.as_str()),
        ("API_KEYS", OLD_KEY),
        ("PROVIDER_MODE", "self-managed"),
    ]);
    CheckedApi::new(WebsiteApi::from_settings(store, &settings).expect("api"))
}

/// A request to `route` (its path parameters filled) with `key`.
fn call(route: (&str, &str), key: Option<&str>) -> lambda_http::Request {
    let (method, template) = route;
    let path = template
        .replace("{msisdn}", "14155550190")
        .replace("{id}", "rv_0123456789abcdef0123456789abcdef")
        .replace("{file}", "console.js");
    let body: &[u8] = match template {
        "/eligibility" => br#"{"numbers": ["+14155550190"]}"#,
        _ => b"{}",
    };
    let mut call = match method {
        "GET" => HttpCall::get(&path, ""),
        _ => HttpCall::post(&path, "application/json", body),
    };
    call = call.header("idempotency-key", "roles-test");
    if let Some(key) = key {
        call = call.header("x-api-key", key);
    }
    call.request(EventShape::HttpApiV2)
}

async fn item_count(store: &Store) -> usize {
    store
        .client()
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .expect("scan")
        .items()
        .len()
}

#[tokio::test]
async fn every_route_for_every_role_is_allowed_or_403_before_anything_is_read_or_written() {
    let store = fresh_store().await;
    let api = api(store.clone());
    for &route in ROUTES {
        let name = format!("{} {}", route.0, route.1);
        if KEYLESS_ROUTES.contains(&route) {
            // The console's page and files: served to anyone, never a 401 or 403.
            for key in [None, Some("not-a-key"), Some(KEYS[0].2)] {
                let status = api.handle(call(route, key)).await.status();
                assert_eq!(status, StatusCode::OK, "{name} with {key:?}");
            }
            continue;
        }
        for (key_name, role, key) in KEYS {
            let response = api.handle(call(route, Some(key))).await;
            let status = response.status();
            if role_grants(role, &name) {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{key_name} ({}) on {name}: {status}",
                    role.as_str()
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{key_name} on {name}");
                let body = body_json(&response);
                assert_eq!(body["error"], "forbidden");
                assert!(body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(key_name)));
            }
        }
        for key in [None, Some("not-a-key")] {
            let status = api.handle(call(route, key)).await.status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?} on {name}");
        }
        let status = api.handle(call(route, Some(OLD_KEY))).await.status();
        assert_ne!(
            status,
            StatusCode::FORBIDDEN,
            "the old API_KEYS are admin keys: {name}"
        );
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    // The requests above were all refused for their bodies or read nothing: nothing written,
    // and (checked on a fresh table) a refused caller writes nothing either.
    let fresh = fresh_store().await;
    let refused = api_for(&fresh);
    let opt_out = serde_json::json!({"msisdn": "+14155550191", "evidence": {"source": "s",
        "captured_at": "2026-01-01T00:00:00Z", "channel": "email"}})
    .to_string();
    let response = refused
        .handle(
            HttpCall::post("/opt-outs", "application/json", opt_out.as_bytes())
                .header("x-api-key", "key-sender-77c2")
                .header("idempotency-key", "refused-1")
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(item_count(&fresh).await, 0);
}

fn api_for(store: &Store) -> CheckedApi {
    api(store.clone())
}

#[tokio::test]
async fn history_names_the_key_never_holds_it_and_the_reviewer_is_the_key_that_decided() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155550192";
    let opt_out = serde_json::json!({"msisdn": format!("+{n}"), "evidence": {"source": "desk",
        "captured_at": "2026-01-01T00:00:00Z", "channel": "phone"}})
    .to_string();
    let response = api
        .handle(
            HttpCall::post("/opt-outs", "application/json", opt_out.as_bytes())
                .header("x-api-key", "key-website-1f0a")
                .header("idempotency-key", "names-1")
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let history = store.history(&msisdn(n), 5).await.expect("history");
    assert_eq!(history[0].origin.details()["api_key"], "website");

    // A review item from a text, decided by the reviewer's key with someone else in `by`.
    let webhook = Webhook::new(store.clone(), WebhookAuth::default());
    let query = "msisdn=14155550193&to=16105553939&messageId=0E0193&text=is+this+spam%3F&type=text";
    let response = webhook
        .handle(HttpCall::get("/webhooks/inbound", query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(body_json(&response)["status"], "review");
    let id = shared::domain::review::review_id(&msisdn("14155550193"), "sms:0E0193");
    let decision = br#"{"decision": "opt_out", "by": "the boss", "note": "spam means stop"}"#;
    let path = format!("/reviews/{id}");
    let response = api
        .handle(
            HttpCall::post(&path, "application/json", decision)
                .header("x-api-key", "key-reviewer-9d41")
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    assert_eq!(body_json(&response)["resolution"]["by"], "jane.doe");
    let evidence = api
        .handle(
            HttpCall::get("/subscriptions/14155550193/evidence", "")
                .header("x-api-key", "key-reviewer-9d41")
                .request(EventShape::HttpApiV2),
        )
        .await;
    let file = body_json(&evidence);
    let decided = file["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == "opt_out")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        decided["item"]["details"]["decided_by"], "jane.doe",
        "{file}"
    );
    assert_eq!(decided["item"]["details"]["decided_by_claim"], "the boss");
    assert_eq!(decided["item"]["details"]["api_key"], "jane.doe");

    // No item anywhere holds a key itself.
    let items = store
        .client()
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .expect("scan");
    let all = format!("{:?}", items.items());
    for (_, _, key) in KEYS {
        assert!(!all.contains(key), "{key} stored");
        assert!(!all.contains(&key_hash(key)), "a key's hash stored");
    }
}
