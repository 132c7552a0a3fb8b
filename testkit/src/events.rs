//! API Gateway events as the functions receive them (HTTP API 2.0, REST API 1.0, function URL),
//! turned into `lambda_http::Request`s by lambda_http's own conversion code.

use base64::Engine;

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
        match shape {
            EventShape::HttpApiV2 | EventShape::FunctionUrl => {
                let mut qsp = serde_json::Map::new();
                for (k, v) in &pairs {
                    qsp.insert(k.clone(), v.clone().into());
                }
                let route_key = if shape == EventShape::FunctionUrl {
                    "$default".to_string()
                } else {
                    format!("{} {}", self.method, self.path)
                };
                serde_json::json!({
                    "version": "2.0",
                    "routeKey": route_key,
                    "rawPath": self.path,
                    "rawQueryString": self.query,
                    "headers": headers,
                    "queryStringParameters": if qsp.is_empty() { serde_json::Value::Null } else { qsp.into() },
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "example",
                        "domainName": "example.execute-api.us-east-1.amazonaws.com",
                        "domainPrefix": "example",
                        "http": {
                            "method": self.method,
                            "path": self.path,
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
                serde_json::json!({
                    "resource": self.path,
                    "path": self.path,
                    "httpMethod": self.method,
                    "headers": headers,
                    "multiValueHeaders": multi_headers,
                    "queryStringParameters": if single.is_empty() { serde_json::Value::Null } else { single.into() },
                    "multiValueQueryStringParameters": if multi.is_empty() { serde_json::Value::Null } else { multi.into() },
                    "pathParameters": null,
                    "stageVariables": null,
                    "requestContext": {
                        "accountId": "123456789012",
                        "resourceId": "abc123",
                        "stage": "prod",
                        "requestId": format!("req-{:x}", fastrand::u64(..)),
                        "identity": { "sourceIp": "169.63.86.174" },
                        "resourcePath": self.path,
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

    pub fn request(&self, shape: EventShape) -> lambda_http::Request {
        lambda_http::request::from_str(&self.event(shape).to_string()).expect("a valid event")
    }
}

pub fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null)
}
