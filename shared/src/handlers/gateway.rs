//! API Gateway (HTTP API payload 2.0, REST API 1.0) and function URL events in, responses out:
//! ours rather than `lambda_http::run`, whose conversion of an event panics on inputs a caller
//! controls (a raw `"`, `<`, `>`, space or control character in the query; a bad Host or
//! `x-forwarded-proto`) and refuses header values with control characters: API Gateway then
//! answers 500 and no line of ours is logged. Here an event we cannot convert becomes a
//! stand-in request carrying [`Unreadable`], which the handler answers 400 through its normal
//! error path (its one log line, its metric).
//!
//! An HTTP API hands over its path percent-decoded, so a decoded `#` or `?` would start a
//! fragment or query in the URI: every character that cannot stand for itself in a path is
//! escaped first ([`escape_path`]). Handlers never route on the URI's path (`super::routing`).

use lambda_http::request::{LambdaRequest, RequestOrigin};
use lambda_http::{Body, Context, LambdaEvent, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Marks a stand-in request: the event could not be read as an HTTP request, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// The response shape the event's source expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// HTTP API payload 2.0 and function URLs: `headers`.
    V2,
    /// REST API payload 1.0: `multiValueHeaders`.
    V1,
}

/// The JSON a Lambda behind API Gateway or a function URL returns.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponse {
    pub status_code: u16,
    pub headers: Option<BTreeMap<String, String>>,
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// Payload 2.0 and function URLs only, always there (empty): `aws_lambda_events`'
    /// `ApiGatewayV2httpResponse` requires it, so without it `cargo lambda watch` answers every
    /// `/lambda-url/...` call 500.
    pub cookies: Option<Vec<String>>,
    pub body: String,
    pub is_base64_encoded: bool,
}

/// One invocation: the event as a request, the handler, its response in the shape the source
/// expects. Never fails.
pub async fn serve<F, Fut>(
    event: LambdaEvent<Box<RawValue>>,
    handler: F,
) -> Result<GatewayResponse, std::convert::Infallible>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    let (request, shape) = request_from_event(event.payload.get(), event.context);
    Ok(into_gateway_response(handler(request).await, shape))
}

/// The event as a request; never panics. `lambda_http`'s own conversion runs only on events
/// whose URI parts it can build.
pub fn request_from_event(event: &str, context: Context) -> (Request, Shape) {
    let (request, shape) = match serde_json::from_str::<LambdaRequest>(event) {
        Ok(mut parsed) => {
            match &mut parsed {
                LambdaRequest::ApiGatewayV2(r) => escape_path(&mut r.raw_path),
                LambdaRequest::ApiGatewayV1(r) => escape_path(&mut r.path),
                _ => {}
            }
            let shape = match parsed.request_origin() {
                RequestOrigin::ApiGatewayV1 => Shape::V1,
                _ => Shape::V2,
            };
            match unbuildable_uri(&parsed) {
                None => {
                    match std::panic::catch_unwind(move || Request::from(parsed)) {
                        Ok(request) => (request, shape),
                        // Not reached for the inputs `unbuildable_uri` knows; kept so that a
                        // future lambda_http with a new panic still gets a 400, not a 500.
                        Err(_) => (stand_in(event, "the request could not be read"), shape),
                    }
                }
                Some(reason) => (stand_in(event, reason), shape),
            }
        }
        Err(_) => (
            stand_in(
                event,
                "the request could not be read: a header or another part is malformed",
            ),
            shape_of(event),
        ),
    };
    (request.with_lambda_context(context), shape)
}

/// What cannot stand for itself in a URI's path (RFC 3986, 3.3); non-ASCII is always escaped.
/// `%` is left alone: in an encoded path it starts an escape, and a decoded one cannot be told
/// from it.
const NOT_IN_A_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes what cannot appear in a URI's path (a no-op on an encoded path), so each
/// segment keeps its characters.
fn escape_path(path: &mut Option<String>) {
    if let Some(p) = path.as_mut() {
        if let std::borrow::Cow::Owned(escaped) =
            percent_encoding::utf8_percent_encode(p, NOT_IN_A_PATH).into()
        {
            *p = escaped;
        }
    }
}

/// Why `lambda_http` could not build this event's URI (it would panic), if it could not: its
/// construction step for step (lambda_http 1.3, `build_request_uri`); REST API query strings
/// are re-encoded from their parameters and always valid. The `gateway` fuzz target holds the
/// two to each other.
fn unbuildable_uri(parsed: &LambdaRequest) -> Option<&'static str> {
    let (headers, domain, stage, raw_path, raw_query) = match parsed {
        LambdaRequest::ApiGatewayV2(r) => (
            &r.headers,
            r.request_context.domain_name.as_deref(),
            &r.request_context.stage,
            r.raw_path.as_deref().unwrap_or_default(),
            r.raw_query_string.as_deref(),
        ),
        LambdaRequest::ApiGatewayV1(r) => (
            &r.headers,
            r.request_context.domain_name.as_deref(),
            &r.request_context.stage,
            r.path.as_deref().unwrap_or_default(),
            None,
        ),
        _ => return None,
    };
    let path = path_with_stage(stage, raw_path);
    let host = headers
        .get(lambda_http::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(domain);
    let url = match host {
        None => url::Url::parse(&format!("http://localhost{path}")).map(|u| u.path().to_string()),
        Some(host) => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map(|u| u.to_string())
        }
    };
    let Ok(mut uri) = url else {
        return Some(
            "the Host, X-Forwarded-Proto or path do not make a URL (a path must start with /)",
        );
    };
    if let Some(query) = raw_query.filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    if lambda_http::http::Uri::try_from(uri).is_err() {
        return Some(
            "the query string holds characters a URL may not (raw quotes, <, >, spaces or \
             control characters); percent-encode them",
        );
    }
    None
}

/// lambda_http's `apigw_path_with_stage`: a stage other than `$default` in front of the path,
/// unless the path already starts with it (or `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set).
fn path_with_stage(stage: &Option<String>, path: &str) -> String {
    match stage {
        Some(stage)
            if stage != "$default"
                && std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none()
                && !path.starts_with(&format!("/{stage}/")) =>
        {
            format!("/{stage}{path}")
        }
        _ => path.to_string(),
    }
}

/// A request with the event's method and path when they can be read (`GET /` otherwise), no
/// query, headers or body, marked [`Unreadable`].
fn stand_in(event: &str, reason: &'static str) -> Request {
    let value: serde_json::Value = serde_json::from_str(event).unwrap_or_default();
    let text = |pointer: &str| value.pointer(pointer).and_then(|v| v.as_str());
    let method = text("/requestContext/http/method")
        .or_else(|| text("/httpMethod"))
        .and_then(|m| lambda_http::http::Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(lambda_http::http::Method::GET);
    let path = text("/rawPath")
        .or_else(|| text("/path"))
        .and_then(|p| lambda_http::http::uri::PathAndQuery::try_from(p).ok())
        .map(|p| p.path().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = method;
    if let Ok(uri) = lambda_http::http::Uri::try_from(path) {
        *request.uri_mut() = uri;
    }
    request.extensions_mut().insert(Unreadable(reason));
    request
}

/// Payload 1.0 events have `httpMethod` at the top; everything else answers in the 2.0 shape.
fn shape_of(event: &str) -> Shape {
    match serde_json::from_str::<serde_json::Value>(event) {
        Ok(v)
            if v.get("httpMethod").is_some()
                && v.get("version").and_then(|v| v.as_str()) != Some("2.0") =>
        {
            Shape::V1
        }
        _ => Shape::V2,
    }
}

/// Text bodies as they are, binary ones base64.
pub fn into_gateway_response(response: Response<Body>, shape: Shape) -> GatewayResponse {
    use base64::Engine;
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match body {
        Body::Empty => (String::new(), false),
        Body::Text(text) => (text, false),
        Body::Binary(bytes) => (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        ),
        _ => (String::new(), false),
    };
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    let (headers, multi_value_headers, cookies) = match shape {
        Shape::V2 => (
            Some(
                headers
                    .into_iter()
                    .map(|(name, values)| (name, values.join(",")))
                    .collect(),
            ),
            None,
            Some(Vec::new()),
        ),
        Shape::V1 => (None, Some(headers), None),
    };
    GatewayResponse {
        status_code: parts.status.as_u16(),
        headers,
        multi_value_headers,
        cookies,
        body,
        is_base64_encoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(raw_query: &str, headers: serde_json::Value) -> String {
        serde_json::json!({
            "version": "2.0", "routeKey": "GET /webhooks/inbound", "rawPath": "/webhooks/inbound",
            "rawQueryString": raw_query, "headers": headers,
            "requestContext": {
                "accountId": "1", "apiId": "a", "domainName": "api.example.com",
                "http": {"method": "GET", "path": "/webhooks/inbound", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /webhooks/inbound", "stage": "$default",
                "time": "t", "timeEpoch": 0
            },
            "isBase64Encoded": false
        })
        .to_string()
    }

    fn unreadable(event: &str) -> Option<Unreadable> {
        let (request, _) = request_from_event(event, Context::default());
        request.extensions().get::<Unreadable>().copied()
    }

    #[test]
    fn readable_events_convert_as_lambda_http_does() {
        let event = v2(
            "msisdn=14155550100&text=STOP%21",
            serde_json::json!({"host": "api.example.com"}),
        );
        let (request, shape) = request_from_event(&event, Context::default());
        assert_eq!(shape, Shape::V2);
        assert!(request.extensions().get::<Unreadable>().is_none());
        assert_eq!(request.uri().path(), "/webhooks/inbound");
        assert_eq!(
            request.uri().query(),
            Some("msisdn=14155550100&text=STOP%21")
        );
        assert_eq!(request.method(), "GET");
    }

    #[test]
    fn every_input_that_panicked_lambda_http_is_unreadable_instead() {
        // Found by trying every byte: these characters in a raw query string made the
        // conversion panic; so did these Host and X-Forwarded-Proto values.
        let host = serde_json::json!({"host": "api.example.com"});
        let mut bad_query_chars: Vec<char> = (0u8..0x20).map(char::from).collect();
        bad_query_chars.extend([' ', '"', '<', '>', '\u{7f}']);
        for c in bad_query_chars {
            let event = v2(&format!("msisdn=1{c}2"), host.clone());
            assert!(unreadable(&event).is_some(), "{c:?}");
        }
        for bad_host in ["a b", "[", "ex<ample", "h:99999", "h:abc", "@", "%"] {
            let event = v2("a=1", serde_json::json!({"host": bad_host}));
            assert!(unreadable(&event).is_some(), "host {bad_host:?}");
        }
        for bad_proto in ["ht tp", "1x", ""] {
            let event = v2(
                "a=1",
                serde_json::json!({"host": "h", "x-forwarded-proto": bad_proto}),
            );
            assert!(unreadable(&event).is_some(), "proto {bad_proto:?}");
        }
        // A path that does not start with `/` runs into the host (found by the fuzzer).
        let mut event: serde_json::Value =
            serde_json::from_str(&v2("a=1", host.clone())).unwrap_or_default();
        event["rawPath"] = "1=edtsvxt=\"\u{1}&text=\"STOP\"".into();
        assert!(unreadable(&event.to_string()).is_some());
        event["rawPath"] = "/a b\"<>".into();
        assert!(
            unreadable(&event.to_string()).is_none(),
            "url encodes a path's spaces and quotes"
        );
        // Header values lambda_http refuses to deserialize at all.
        for bad_value in ["\u{7f}", "a\nb", "\u{0}"] {
            let event = v2(
                "a=1",
                serde_json::json!({"host": "h", "x-thing": bad_value}),
            );
            assert!(unreadable(&event).is_some(), "header {bad_value:?}");
        }
        // Not an event at all.
        for junk in ["[1,2]", "null", "{}", "\"x\""] {
            assert!(unreadable(junk).is_some(), "{junk}");
        }
        // What stays readable: percent signs, non-ASCII, `#`, and other printable characters.
        for fine in ["a=%", "a=%zz", "a=é", "a=#x", "a={}|^`\\"] {
            assert!(unreadable(&v2(fine, host.clone())).is_none(), "{fine}");
        }
    }

    #[test]
    fn a_decoded_path_keeps_its_characters_in_the_path() {
        // What an HTTP API hands over for `/subscriptions/14155550100%23x?history_limit=5`,
        // and for other escapes of characters a path cannot hold.
        for (raw, path) in [
            (
                "/subscriptions/14155550100#x",
                "/subscriptions/14155550100%23x",
            ),
            ("/reviews/a?b", "/reviews/a%3Fb"),
            ("/reviews/ \r\u{1a}", "/reviews/%20%0D%1A"),
            ("/reviews/a\\b", "/reviews/a%5Cb"),
            ("/reviews/\u{e9}", "/reviews/%C3%A9"),
            ("/subscriptions/%2B1", "/subscriptions/%2B1"),
            ("/a/b:c@d!$&'()*+,;=-._~", "/a/b:c@d!$&'()*+,;=-._~"),
        ] {
            let mut event: serde_json::Value =
                serde_json::from_str(&v2("history_limit=5", serde_json::json!({"host": "h"})))
                    .unwrap_or_default();
            event["rawPath"] = raw.into();
            let (request, _) = request_from_event(&event.to_string(), Context::default());
            assert!(
                request.extensions().get::<Unreadable>().is_none(),
                "{raw:?}"
            );
            assert_eq!(request.uri().path(), path, "{raw:?}");
            assert_eq!(request.raw_http_path(), path, "{raw:?}");
            assert_eq!(request.uri().query(), Some("history_limit=5"), "{raw:?}");
        }
    }

    #[test]
    fn a_stand_in_keeps_method_and_path() {
        let event = v2("a=\"", serde_json::json!({"host": "h"}));
        let (request, _) = request_from_event(&event, Context::default());
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().path(), "/webhooks/inbound");
        assert_eq!(request.uri().query(), None);
        let (request, shape) = request_from_event(
            r#"{"httpMethod":"P O S T","path":"/opt-outs"}"#,
            Context::default(),
        );
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().path(), "/opt-outs");
        assert_eq!(shape, Shape::V1);
    }

    #[test]
    fn responses_take_the_shape_of_their_source() {
        let response = crate::handlers::http::json_response(
            lambda_http::http::StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "x"}),
        );
        let v2 =
            serde_json::to_value(into_gateway_response(response, Shape::V2)).unwrap_or_default();
        assert_eq!(v2["statusCode"], 400);
        assert_eq!(v2["headers"]["content-type"], "application/json");
        assert_eq!(v2["body"], r#"{"error":"x"}"#);
        assert_eq!(v2["isBase64Encoded"], false);
        let response = crate::handlers::http::json_response(
            lambda_http::http::StatusCode::OK,
            &serde_json::json!({}),
        );
        let v1 =
            serde_json::to_value(into_gateway_response(response, Shape::V1)).unwrap_or_default();
        assert_eq!(
            v1["multiValueHeaders"]["content-type"][0],
            "application/json"
        );
        assert!(v1.get("headers").is_none());
        assert!(v1.get("cookies").is_none(), "no such field in payload 1.0");
    }

    /// What `cargo lambda watch` sends for `curl http://127.0.0.1:9000/lambda-url/<fn>/<path>`
    /// (cargo-lambda 1.9.2, `trigger_router.rs`, `furls_handler`): a payload 2.0 event with the
    /// function's name cut from the path, `localhost` as the domain, the caller's headers.
    fn cargo_lambda_url_event(method: &str, path: &str, query: &str, body: &str) -> String {
        serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "127.0.0.1:9000", "user-agent": "curl/8.5.0", "accept": "*/*",
                        "x-api-key": "k", "content-type": "application/json",
                        "lambda-runtime-aws-request-id": "4c5d"},
            "queryStringParameters": {"limit": "10"},
            "requestContext": {
                "routeKey": "$default", "stage": "$default", "requestId": "4c5d",
                "domainName": "localhost", "domainPrefix": "resubscribe",
                "http": {"method": method, "path": path, "protocol": "http",
                         "sourceIp": "127.0.0.1", "userAgent": "cargo-lambda"},
                "time": "03/Dec/2026:08:34:25 +0000", "timeEpoch": 1796286865
            },
            "pathParameters": {}, "body": body, "isBase64Encoded": false
        })
        .to_string()
    }

    /// The answer as `cargo lambda watch` reads it before answering the curl (and as lambda_http
    /// would have written it): `aws_lambda_events`' `ApiGatewayV2httpResponse`. Before `cookies`
    /// was there this failed, and every printed `scripts/local` curl line got a 500.
    #[tokio::test]
    async fn a_function_url_call_under_cargo_lambda_watch_gets_the_handlers_answer() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
        use lambda_http::aws_lambda_events::encodings::Body as EventBody;
        let event = cargo_lambda_url_event("POST", "/opt-outs", "limit=10", r#"{"a":1}"#);
        let payload = RawValue::from_string(event).unwrap_or_else(|e| panic!("{e}"));
        let seen = std::sync::Mutex::new(String::new());
        let answer = serve(LambdaEvent::new(payload, Context::default()), |req| {
            let body = match req.body() {
                Body::Text(t) => t.clone(),
                _ => String::new(),
            };
            if let Ok(mut seen) = seen.lock() {
                *seen = format!(
                    "{} {} {:?} {:?} {body}",
                    req.method(),
                    req.uri().path(),
                    req.uri().query(),
                    req.headers().get("x-api-key"),
                );
            }
            async {
                crate::handlers::http::json_response(
                    lambda_http::http::StatusCode::UNAUTHORIZED,
                    &serde_json::json!({"error": "unauthorized"}),
                )
            }
        })
        .await
        .unwrap_or_else(|e| match e {});
        assert_eq!(
            *seen.lock().unwrap_or_else(|e| e.into_inner()),
            r#"POST /opt-outs Some("limit=10") Some("k") {"a":1}"#
        );
        let wire = serde_json::to_vec(&answer).unwrap_or_default();
        let read: ApiGatewayV2httpResponse =
            serde_json::from_slice(&wire).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
        assert_eq!(read.status_code, 401);
        assert_eq!(read.headers["content-type"], "application/json");
        assert!(read.cookies.is_empty());
        assert!(!read.is_base64_encoded);
        assert_eq!(
            read.body,
            Some(EventBody::Text(r#"{"error":"unauthorized"}"#.into()))
        );
    }

    /// The same for a REST API (payload 1.0) answer: `ApiGatewayProxyResponse` reads it.
    #[test]
    fn a_rest_api_answer_reads_as_aws_lambda_events_reads_it() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayProxyResponse;
        let response = crate::handlers::http::json_response(
            lambda_http::http::StatusCode::CONFLICT,
            &serde_json::json!({"error": "x"}),
        );
        let wire =
            serde_json::to_vec(&into_gateway_response(response, Shape::V1)).unwrap_or_default();
        let read: ApiGatewayProxyResponse =
            serde_json::from_slice(&wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.status_code, 409);
        assert_eq!(read.multi_value_headers["content-type"], "application/json");
    }
}
