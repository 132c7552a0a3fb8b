//! `openapi.yaml` cannot drift from the code: its routes equal the code's `ROUTES` and the
//! template's, its error codes equal `ErrorCode::ALL`, its event kinds `EventKind::ALL`, its page
//! sizes and list limits the code's constants. (Every response of the API handler tests is
//! validated against it through `testkit::openapi::CheckedApi`; `scripts/api_fuzz` checks the
//! rest of its request limits against the running API.)

use shared::domain::event::EventKind;
use shared::handlers::http::ErrorCode;
use shared::handlers::website_api::KEYLESS_ROUTES;
use testkit::openapi;
use testkit::template::{http_routes, Routes};

#[test]
fn the_spec_describes_exactly_the_routes_the_code_and_the_template_serve() {
    let code: Routes = shared::handlers::website_api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(openapi::routes(), code, "openapi.yaml vs WebsiteApi ROUTES");
    assert_eq!(
        openapi::routes(),
        http_routes("resubscribe"),
        "openapi.yaml vs template.yaml"
    );
}

#[test]
fn the_error_codes_are_every_error_code() {
    let mut spec = openapi::schema_enum("Error", "/properties/error");
    let mut code: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    spec.sort();
    code.sort();
    assert_eq!(spec, code);
}

#[test]
fn the_event_kinds_are_every_event_kind() {
    let spec = openapi::schema_enum("EventKind", "");
    let code: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(spec, code);
}

#[test]
fn it_is_openapi_3_1_with_the_api_key_scheme_on_every_operation() {
    let spec = openapi::spec();
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        spec["openapi"]
    );
    let scheme = &spec["components"]["securitySchemes"]["ApiKey"];
    assert_eq!(
        (
            scheme["type"].as_str(),
            scheme["in"].as_str(),
            scheme["name"].as_str()
        ),
        (Some("apiKey"), Some("header"), Some("x-api-key"))
    );
    assert_eq!(spec["security"], serde_json::json!([{"ApiKey": []}]));
    for (method, path) in openapi::routes() {
        let operation = &spec["paths"][&path][method.to_ascii_lowercase()];
        if KEYLESS_ROUTES.contains(&(method.as_str(), path.as_str())) {
            assert_eq!(
                operation["security"],
                serde_json::json!([]),
                "{method} {path} needs no key"
            );
            continue;
        }
        assert!(
            operation.get("security").is_none(),
            "{method} {path} overrides the API key"
        );
        for status in ["400", "401", "503"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{method} {path} does not declare {status}"
            );
        }
    }
}

/// A parameter of an operation (`$ref`s followed).
fn parameter<'a>(path: &str, method: &str, name: &str) -> &'a serde_json::Value {
    let spec = openapi::spec();
    let parameters = spec["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"));
    parameters
        .iter()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => spec
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r}")),
            None => p,
        })
        .find(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

#[test]
fn the_page_sizes_and_list_limits_are_the_code_s() {
    use shared::handlers::website_api::*;
    for (path, name, default, max) in [
        ("/opt-outs", "limit", DEFAULT_PAGE, MAX_PAGE),
        ("/reviews", "limit", DEFAULT_REVIEW_PAGE, MAX_REVIEW_PAGE),
        (
            "/subscriptions/{msisdn}",
            "history_limit",
            DEFAULT_HISTORY,
            MAX_HISTORY,
        ),
    ] {
        let schema = &parameter(path, "get", name)["schema"];
        assert_eq!(
            (
                schema["minimum"].as_i64(),
                schema["maximum"].as_i64(),
                schema["default"].as_i64()
            ),
            (Some(1), Some(i64::from(max)), Some(i64::from(default))),
            "{path} {name}"
        );
    }
    let numbers = &openapi::spec()["components"]["schemas"]["EligibilityRequest"]["properties"]
        ["numbers"]["maxItems"];
    assert_eq!(numbers.as_u64(), Some(MAX_NUMBERS as u64));
    let key = parameter("/opt-outs", "post", IDEMPOTENCY_HEADER);
    assert_eq!(key["in"], "header");
    assert_eq!(key["required"], true);
}
