//! `openapi.yaml` (the website API's description) held to the code: every response a handler
//! test produces goes through [`validate_response`] (most simply by calling the API through
//! [`CheckedApi`], which validates every answer it gives), and the spec's routes are compared
//! with the code's and the template's (`shared/tests/integration/openapi_spec.rs`).
//!
//! Rules: a missing or wrong key may get 401 on any path (the key is checked before the path);
//! otherwise a path the spec does not describe must get 404, and a method it does not describe
//! for a path 405 with an `Allow` header naming exactly the path's methods, each with an `Error`
//! body; otherwise the status must be one the operation declares, the content type one that
//! status declares, and a JSON body must validate against its schema (JSON Schema 2020-12, the
//! dialect of OpenAPI 3.1, by the `jsonschema` crate).

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::handlers::website_api::WebsiteApi;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The parsed `openapi.yaml` as JSON. Panics (a test failure) when it cannot be read.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = crate::repo_path("openapi.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// (METHOD, path template) of every operation in the spec.
pub fn routes() -> crate::template::Routes {
    let mut routes = crate::template::Routes::new();
    if let Some(paths) = spec()["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if item.get(method).is_some() {
                    routes.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    routes
}

/// The values of an `enum` in `components.schemas` (at `pointer` below the schema).
pub fn schema_enum(schema: &str, pointer: &str) -> Vec<String> {
    spec()["components"]["schemas"][schema]
        .pointer(pointer)
        .and_then(|v| v.get("enum"))
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The spec path template a path is an instance of: the whole path (trailing `/`s ignored),
/// segment by segment, a `{x}` standing for one segment that is not blank once decoded, the
/// others equal to theirs once decoded (as the router matches: `shared::handlers::routing`).
/// A template itself is an instance of itself.
pub fn template_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path
        .strip_prefix('/')?
        .trim_end_matches('/')
        .split('/')
        .collect();
    let paths = spec()["paths"].as_object()?;
    paths
        .keys()
        .find(|template| {
            let pattern: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            pattern.len() == segments.len()
                && pattern.iter().zip(&segments).all(|(p, s)| {
                    let value = crate::events::decoded(s);
                    if p.starts_with('{') && p.ends_with('}') {
                        !value.chars().all(|c| c.is_whitespace() || c.is_control())
                    } else {
                        value == *p
                    }
                })
        })
        .cloned()
}

/// The methods the spec gives `template`, upper case.
fn methods_of(template: &str) -> Vec<String> {
    METHODS
        .iter()
        .filter(|m| spec()["paths"][template].get(**m).is_some())
        .map(|m| m.to_uppercase())
        .collect()
}

fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => pointer
            .strip_prefix('#')
            .and_then(|p| spec().pointer(p))
            .unwrap_or(&Value::Null),
        None => value,
    }
}

/// A validator per schema, compiled once: the schema is checked inside a document holding the
/// spec's `components`, so `#/components/schemas/...` references resolve.
fn validate_json(schema: &Value, instance: &Value) -> Result<(), String> {
    type Cache = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = schema.to_string();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache.lock().ok().and_then(|c| c.get(&key).cloned());
    let validator = match cached {
        Some(v) => v,
        None => {
            let mut document = serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": spec()["components"].clone(),
            });
            if let (Some(doc), Some(own)) = (document.as_object_mut(), schema.as_object()) {
                for (k, v) in own {
                    doc.insert(k.clone(), v.clone());
                }
            }
            let validator = Arc::new(
                jsonschema::draft202012::new(&document)
                    .map_err(|e| format!("the spec's schema does not compile: {e}"))?,
            );
            if let Ok(mut c) = cache.lock() {
                c.insert(key, validator.clone());
            }
            validator
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn error_body(status: u16, body: &[u8]) -> Result<(), String> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| format!("{status}: body is not JSON: {e}"))?;
    validate_json(
        &serde_json::json!({"$ref": "#/components/schemas/Error"}),
        &json,
    )
}

/// The parts of a response the spec speaks of.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    /// The `Allow` header (a 405 must have it).
    pub allow: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> Answer<'a> {
    /// A JSON answer without `Allow`.
    pub fn json(status: u16, body: &'a [u8]) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            allow: None,
            body,
        }
    }
}

/// Check one response against the spec: `method` and the `path` of the request (concrete, or
/// the route template API Gateway named), and the response.
pub fn validate_response(method: &str, path: &str, answer: Answer<'_>) -> Result<(), String> {
    let Answer {
        status,
        content_type,
        allow,
        body,
    } = answer;
    let context = |e: String| format!("{method} {path} -> {status}: {e}");
    let Some(template) = template_of(path) else {
        return if status == 404 || status == 401 {
            error_body(status, body).map_err(context)
        } else {
            Err(context(
                "a path the spec does not describe must get 404 (401 without a valid key)".into(),
            ))
        };
    };
    let item = &spec()["paths"][&template];
    let Some(operation) = item.get(method.to_ascii_lowercase()) else {
        return match status {
            401 => error_body(status, body).map_err(context),
            405 => {
                let mut expected = methods_of(&template);
                let mut given: Vec<String> = allow
                    .unwrap_or_default()
                    .split(',')
                    .map(|m| m.trim().to_uppercase())
                    .filter(|m| !m.is_empty())
                    .collect();
                expected.sort();
                given.sort();
                if given != expected {
                    return Err(context(format!(
                        "a 405's Allow header must name {expected:?}, not {allow:?}"
                    )));
                }
                error_body(status, body).map_err(context)
            }
            _ => Err(context(format!(
                "{method} is not an operation of {template}: it must get 405 (401 without a valid key)"
            ))),
        };
    };
    let responses = &operation["responses"];
    let declared = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
        .map(resolve)
        .ok_or_else(|| context(format!("status {status} is not declared for {template}")))?;
    let Some(content) = declared.get("content").and_then(Value::as_object) else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(context("the spec declares no body for this status".into()))
        };
    };
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .ok_or_else(|| context("no Content-Type".into()))?;
    let declared_media = content.get(&media).ok_or_else(|| {
        context(format!(
            "Content-Type {media} is not one of {:?}",
            content.keys().collect::<Vec<_>>()
        ))
    })?;
    let schema = &declared_media["schema"];
    if media == "application/json" || media.ends_with("+json") {
        let json: Value =
            serde_json::from_slice(body).map_err(|e| context(format!("body is not JSON: {e}")))?;
        validate_json(schema, &json).map_err(context)
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| context("a text body that is not UTF-8".into()))?;
        validate_json(schema, &Value::String(text.to_owned())).map_err(context)
    }
}

/// [`validate_response`] on a handler's response; panics (a test failure) when it does not
/// conform.
pub fn assert_conforms(method: &str, path: &str, response: &Response<Body>) {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &lambda_http::http::HeaderValue| v.to_str().ok())
    };
    let answer = Answer {
        status: response.status().as_u16(),
        content_type: header(lambda_http::http::header::CONTENT_TYPE),
        allow: header(lambda_http::http::header::ALLOW),
        body: response.body().as_ref(),
    };
    if let Err(e) = validate_response(method, path, answer) {
        panic!(
            "response outside openapi.yaml: {e}\nbody: {}",
            String::from_utf8_lossy(response.body().as_ref())
        );
    }
}

/// The website API with every response checked against `openapi.yaml` ([`assert_conforms`]).
/// Derefs to the API, so tests use it as they would the API itself.
#[derive(Debug, Clone)]
pub struct CheckedApi(pub WebsiteApi);

impl CheckedApi {
    pub fn new(api: WebsiteApi) -> Self {
        Self(api)
    }

    /// `WebsiteApi::handle`, then the response checked against the spec.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let method = req.method().as_str().to_owned();
        let path = spec_path(&req);
        let response = self.0.handle(req).await;
        assert_conforms(&method, &path, &response);
        response
    }
}

/// The path a request is checked as: the route API Gateway named when it is one of the spec's
/// paths (its values may be past recognising in the path: an HTTP API decodes `%2F`), else
/// the event's raw path (no stage in front).
pub fn spec_path(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let named = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .route_key
            .as_deref()
            .and_then(|k| k.split_once(' '))
            .map(|(_, path)| path),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.resource_path.as_deref(),
        _ => None,
    };
    match named {
        Some(path) if spec()["paths"].get(path).is_some() => path.to_owned(),
        _ => match req.raw_http_path() {
            "" => req.uri().path().to_owned(),
            raw => raw.to_owned(),
        },
    }
}

impl std::ops::Deref for CheckedApi {
    type Target = WebsiteApi;
    fn deref(&self) -> &WebsiteApi {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concrete_paths_find_their_template() {
        assert_eq!(
            template_of("/subscriptions/%2B14155550100").as_deref(),
            Some("/subscriptions/{msisdn}")
        );
        assert_eq!(
            template_of("/subscriptions/a%2Fb/evidence").as_deref(),
            Some("/subscriptions/{msisdn}/evidence")
        );
        assert_eq!(
            template_of("/subscriptions/{msisdn}").as_deref(),
            Some("/subscriptions/{msisdn}")
        );
        assert_eq!(template_of("/opt-outs").as_deref(), Some("/opt-outs"));
        assert_eq!(template_of("/opt-outs/").as_deref(), Some("/opt-outs"));
        // The whole path; a blank parameter is no path of the spec's.
        for path in [
            "/nowhere",
            "/prod/subscriptions/1/evidence",
            "/subscriptions/1/x",
            "/reviews/%20",
            "/reviews/%0D",
            "opt-outs",
        ] {
            assert_eq!(template_of(path), None, "{path}");
        }
    }

    #[test]
    fn the_validator_catches_what_the_spec_forbids() {
        let ok = br#"{"error":"not_found","message":"no such route"}"#;
        let json = Answer::json;
        assert!(validate_response("GET", "/nowhere", json(404, ok)).is_ok());
        assert!(validate_response("GET", "/nowhere", json(401, ok)).is_ok());
        assert!(validate_response("GET", "/nowhere", json(200, ok)).is_err());
        assert!(validate_response("GET", "/nowhere", json(405, ok)).is_err());
        // A 405 names exactly the path's methods in `Allow`.
        let allow = |allow| Answer {
            allow,
            ..json(405, ok)
        };
        assert!(validate_response("PUT", "/opt-outs", allow(Some("GET, POST"))).is_ok());
        assert!(validate_response("PUT", "/opt-outs", allow(Some("POST,GET"))).is_ok());
        assert!(validate_response("PUT", "/opt-outs", allow(None)).is_err());
        assert!(validate_response("PUT", "/opt-outs", allow(Some("GET"))).is_err());
        assert!(validate_response("PUT", "/opt-outs", allow(Some("GET, POST, PUT"))).is_err());
        assert!(validate_response("PUT", "/opt-outs", json(401, ok)).is_ok());
        assert!(validate_response("PUT", "/opt-outs", json(404, ok)).is_err());
        let page = br#"{"program":"default","items":[{"msisdn":"14155550100","since":"2026-01-01T00:00:00.000Z"}],"next_cursor":null}"#;
        assert!(validate_response("GET", "/opt-outs", json(200, page)).is_ok());
        for bad in [
            &br#"{"program":"default","items":[{"msisdn":"+1","since":"x"}],"next_cursor":null}"#[..],
            br#"{"program":"default","items":[],"next_cursor":null,"extra":1}"#,
            br#"{"program":"default","items":[]}"#,
            br#"{"items":[],"next_cursor":null}"#,
            b"not json",
        ] {
            assert!(
                validate_response("GET", "/opt-outs", json(200, bad)).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Undeclared status, wrong content type, an error code that does not exist.
        assert!(validate_response("GET", "/opt-outs", json(409, ok)).is_err());
        let html = Answer {
            content_type: Some("text/html"),
            ..json(200, page)
        };
        assert!(validate_response("GET", "/opt-outs", html).is_err());
        let unknown = br#"{"error":"teapot","message":"x"}"#;
        assert!(validate_response("GET", "/opt-outs", json(400, unknown)).is_err());
        let text = Answer {
            content_type: Some("text/plain; charset=utf-8"),
            ..json(200, b"Evidence file")
        };
        assert!(validate_response("GET", "/subscriptions/1/evidence", text).is_ok());
    }
}
