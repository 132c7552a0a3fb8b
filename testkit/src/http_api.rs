//! The website API served over plain HTTP on 127.0.0.1, as `local-api` serves it and as the
//! console's browser test reaches it: each request becomes the API Gateway event the deployed
//! function would receive (see the top of `src/bin/local-api.rs`), goes through the function's
//! own entry (`shared::handlers::gateway`) and the handler, and the event response goes back.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use shared::handlers::gateway;
use shared::handlers::website_api::WebsiteApi;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `api` on `listener` until the task is dropped or accepting fails.
pub async fn serve(api: Arc<WebsiteApi>, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&api, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The HTTP request as API Gateway would hand it to the function (payload 2.0).
fn event(method: &str, uri: &hyper::Uri, headers: &hyper::HeaderMap, body: &[u8]) -> String {
    use base64::Engine;
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let entry = map
            .entry(name.as_str().to_owned())
            .or_insert_with(|| serde_json::Value::String(String::new()));
        if let serde_json::Value::String(s) = entry {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(&value);
        }
    }
    let (body, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (serde_json::Value::Null, false),
        Ok(text) => (text.into(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD
                .encode(body)
                .into(),
            true,
        ),
    };
    let (route_key, raw_path, path_parameters) = match crate::gateway_route(method, uri.path()) {
        Some(route) => (
            format!("{method} {}", route.template),
            crate::decoded(uri.path()),
            route
                .params
                .iter()
                .map(|(k, v)| (k.clone(), crate::decoded(v).into()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        ),
        None => (
            "$default".to_string(),
            uri.path().to_string(),
            serde_json::Value::Null,
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": uri.query().unwrap_or(""),
        "headers": map,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("")
            },
            "requestId": format!("local-{:016x}", fastrand::u64(..)),
            "routeKey": route_key,
            "stage": "$default",
            "time": "26/Nov/2026:10:00:00 +0000",
            "timeEpoch": now
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

async fn answer(api: &WebsiteApi, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let event = event(parts.method.as_str(), &parts.uri, &parts.headers, &body);
    let (request, shape) = gateway::request_from_event(&event, lambda_http::Context::default());
    let out = gateway::into_gateway_response(api.handle(request).await, shape);
    let bytes = if out.is_base64_encoded {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&out.body)
            .unwrap_or_default()
    } else {
        out.body.into_bytes()
    };
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() =
        StatusCode::from_u16(out.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in out.headers.unwrap_or_default() {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
