//! API Gateway events as the functions receive them (HTTP API 2.0, REST API 1.0, function URL),
//! turned into `lambda_http::Request`s by the functions' own entry
//! (`shared::handlers::gateway::request_from_event`, which runs lambda_http's conversion).
//!
//! The events carry what API Gateway reports of its route selection ([`gateway_route`] over the
//! stack's routes): an HTTP API its `routeKey` (`GET /subscriptions/{msisdn}`), its
//! `pathParameters` and its path percent-decoded; a REST API its `resource`, its
//! `pathParameters` and its path as sent (both still percent-encoded); a function URL only its
//! raw path (`routeKey` `$default`). A request no route matches is sent as an HTTP API with a
//! `$default` route, and a REST API with a `/{proxy+}` resource, would send it.

use base64::Engine;

/// Every route of the stack's HTTP API, as template.yaml declares them
/// (`shared/tests/integration/template_routes.rs` holds the functions' lists to it).
pub fn stack_routes() -> impl Iterator<Item = (&'static str, &'static str)> {
    shared::handlers::website_api::ROUTES
        .iter()
        .chain(shared::handlers::webhook::ROUTES)
        .copied()
}

/// The route API Gateway selects for a request, as it names it to the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The route's path, e.g. `/subscriptions/{msisdn}`.
    pub template: &'static str,
    /// Each parameter's name and its segment of the path, still percent-encoded.
    pub params: Vec<(String, String)>,
}

/// The stack's route for `method` and `raw_path` (as sent, without the query): each `{name}`
/// stands for one non-empty segment, the others must equal theirs once decoded. `None`: no
/// route has them (API Gateway answers such a request itself unless a catch-all route takes it).
pub fn gateway_route(method: &str, raw_path: &str) -> Option<GatewayRoute> {
    let segments: Vec<&str> = raw_path.strip_prefix('/')?.split('/').collect();
    stack_routes().find_map(|(m, template)| {
        if m != method {
            return None;
        }
        let pattern: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, s) in pattern.iter().zip(&segments) {
            if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if s.is_empty() {
                    return None;
                }
                params.push((name.to_string(), s.to_string()));
            } else if decoded(s) != *p {
                return None;
            }
        }
        Some(GatewayRoute { template, params })
    })
}

/// Percent-decoded, as an HTTP API hands over paths and path parameters (bytes that are not
/// UTF-8 as U+FFFD).
pub fn decoded(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// How an API Gateway / Lambda event carries the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// HTTP API, payload format 2.0.
    HttpApiV2,
    /// REST API, payload format 1.0.
    RestApiV1,
    /// Lambda function URL (payload 2.0 without a route).
    FunctionUrl,
}

pub struct HttpCall<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Raw, URL-encoded query string without '?'.
    pub query: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: &'a [u8],
    pub base64: bool,
}

impl<'a> HttpCall<'a> {
    pub fn get(path: &'a str, query: &'a str) -> Self {
        Self {
            method: "GET",
            path,
            query,
            headers: vec![],
            body: b"",
            base64: false,
        }
    }
    pub fn post(path: &'a str, content_type: &str, body: &'a [u8]) -> Self {
        Self {
            method: "POST",
            path,
            query: "",
            headers: vec![("content-type", content_type.to_string())],
            body,
            base64: false,
        }
    }
    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn base64(mut self) -> Self {
        self.base64 = true;
        self
    }
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// The event JSON API Gateway (or a function URL) would hand to Lambda.
    pub fn event(&self, shape: EventShape) -> serde_json::Value {
        let body = if self.body.is_empty() {
            serde_json::Value::Null
        } else if self.base64 {
            base64::engine::general_purpose::STANDARD
                .encode(self.body)
                .into()
        } else {
            String::from_utf8_lossy(self.body).into_owned().into()
        };
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone().into()))
            .chain([(
                "host".to_string(),
                "example.execute-api.us-east-1.amazonaws.com".into(),
            )])
            .collect();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(self.query).unwrap_or_default();
        let route = gateway_route(self.method, self.path);
        match shape {
            EventShape::HttpApiV2 | EventShape::FunctionUrl => {
                let mut qsp = serde_json::Map::new();
                for (k, v) in &pairs {
                    qsp.insert(k.clone(), v.clone().into());
                }
                let (route_key, path, path_parameters) = match (shape, &route) {
                    (EventShape::HttpApiV2, Some(route)) => (
                        format!("{} {}", self.method, route.template),
                        decoded(self.path),
                        route
                            .params
                            .iter()
                            .map(|(k, v)| (k.clone(), decoded(v).into()))
                            .collect::<serde_json::Map<_, _>>()
                            .into(),
                    ),
                    (EventShape::HttpApiV2, None) => (
                        "$default".to_string(),
                        decoded(self.path),
                        serde_json::Value::Null,
                    ),
                    _ => (
                        "$default".to_string(),
                        self.path.to_string(),
                        serde_json::Value::Null,
                    ),
                };
                serde_json::json!({
                    "version": "2.0",
                    "routeKey": route_key,
                    "rawPath": path,
                    "rawQueryString": self.query,
                    "headers": headers,
                    "queryStringParameters": if qsp.is_empty() { serde_json::Value::Null } else { qsp.into() },
                    "pathParameters": path_parameters,
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "example",
                        "domainName": "example.execute-api.us-east-1.amazonaws.com",
                        "domainPrefix": "example",
                        "http": {
                            "method": self.method,
                            "path": path,
                            "protocol": "HTTP/1.1",
                            "sourceIp": "169.63.86.174",
                            "userAgent": "Apache-HttpAsyncClient/4.1 (Java/1.8.0_66)"
                        },
                        "requestId": format!("req-{:x}", fastrand::u64(..)),
                        "routeKey": route_key,
                        "stage": "$default",
                        "time": "26/Nov/2026:10:00:00 +0000",
                        "timeEpoch": 1_795_000_000_000u64
                    },
                    "body": body,
                    "isBase64Encoded": self.base64
                })
            }
            EventShape::RestApiV1 => {
                let mut single = serde_json::Map::new();
                let mut multi = serde_json::Map::new();
                for (k, v) in &pairs {
                    single.insert(k.clone(), v.clone().into());
                    let entry = multi
                        .entry(k.clone())
                        .or_insert_with(|| serde_json::json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.push(v.clone().into());
                    }
                }
                let multi_headers: serde_json::Map<String, serde_json::Value> = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!([v])))
                    .collect();
                let (resource, path_parameters): (&str, serde_json::Map<_, _>) = match &route {
                    Some(route) => (
                        route.template,
                        route
                            .params
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone().into()))
                            .collect(),
                    ),
                    None => (
                        "/{proxy+}",
                        [(
                            "proxy".to_string(),
                            self.path.trim_start_matches('/').into(),
                        )]
                        .into_iter()
                        .collect(),
                    ),
                };
                serde_json::json!({
                    "resource": resource,
                    "path": self.path,
                    "httpMethod": self.method,
                    "headers": headers,
                    "multiValueHeaders": multi_headers,
                    "queryStringParameters": if single.is_empty() { serde_json::Value::Null } else { single.into() },
                    "multiValueQueryStringParameters": if multi.is_empty() { serde_json::Value::Null } else { multi.into() },
                    "pathParameters": if path_parameters.is_empty() { serde_json::Value::Null } else { path_parameters.into() },
                    "stageVariables": null,
                    "requestContext": {
                        "accountId": "123456789012",
                        "resourceId": "abc123",
                        "stage": "prod",
                        "requestId": format!("req-{:x}", fastrand::u64(..)),
                        "identity": { "sourceIp": "169.63.86.174" },
                        "resourcePath": resource,
                        "httpMethod": self.method,
                        "apiId": "example",
                        "path": format!("/prod{}", self.path)
                    },
                    "body": body,
                    "isBase64Encoded": self.base64
                })
            }
        }
    }

    /// The event as the function's entry turns it into a request.
    pub fn request(&self, shape: EventShape) -> lambda_http::Request {
        shared::handlers::gateway::request_from_event(
            &self.event(shape).to_string(),
            lambda_http::Context::default(),
        )
        .0
    }
}

pub fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null)
}
