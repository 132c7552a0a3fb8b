//! `local-api`: the website API (`WebsiteApi::handle`, the real handler) served over plain
//! HTTP on 127.0.0.1, for tools that speak HTTP rather than Lambda events (the OpenAPI fuzzer in
//! `scripts/test`). Each HTTP request becomes an API Gateway HTTP API (payload 2.0) event, goes
//! through the function's own entry (`shared::handlers::gateway`) and the handler, and the
//! event response goes back as the HTTP response: what the deployed function does behind API
//! Gateway, minus API Gateway itself.
//!
//! The event is the one API Gateway would send: for a request one of the stack's routes matches
//! (`testkit::gateway_route`), its `routeKey` (`GET /subscriptions/{msisdn}`), its
//! `pathParameters` and its path, all percent-decoded as an HTTP API hands them over. A request
//! no route matches, which the HTTP API would answer itself (404), goes to the function as a
//! function URL sends it instead (`routeKey` `$default`, the path as sent), so that the
//! function's own 404, and 405 with `Allow`, answer it as they do behind a function URL.
//!
//! ```text
//! local-api --port 8126 --table optout-api --vonage http://127.0.0.1:8090 --api-key local-api-key
//! ```
//! Storage: the local DynamoDB server (`AWS_ENDPOINT_URL_DYNAMODB`); the table is created from
//! template.yaml unless it exists. Prints `listening on http://127.0.0.1:<port>` when ready.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use shared::adapters::vonage::VonageClient;
use shared::handlers::gateway;
use shared::handlers::website_api::WebsiteApi;
use std::sync::Arc;
use tokio::net::TcpListener;

struct Args {
    port: u16,
    table: String,
    vonage: String,
    api_key: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        table: "optout-api".into(),
        vonage: "http://127.0.0.1:9".into(),
        api_key: "local-api-key".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--table" => args.table = value()?,
            "--vonage" => args.vonage = value()?,
            "--api-key" => args.api_key = value()?,
            other => {
                return Err(format!(
                    "unknown argument {other} (see the top of local-api.rs)"
                ))
            }
        }
    }
    Ok(args)
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
    let (route_key, raw_path, path_parameters) = match testkit::gateway_route(method, uri.path()) {
        Some(route) => (
            format!("{method} {}", route.template),
            testkit::decoded(uri.path()),
            route
                .params
                .iter()
                .map(|(k, v)| (k.clone(), testkit::decoded(v).into()))
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

async fn serve(api: &WebsiteApi, req: Request<Incoming>) -> Response<Full<Bytes>> {
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

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let client = testkit::client_for(&testkit::endpoint());
    let exists = client
        .describe_table()
        .table_name(&args.table)
        .send()
        .await
        .is_ok();
    if !exists {
        let spec =
            testkit::table::TableSpec::from_template_file(&testkit::repo_path("template.yaml"))
                .map_err(|e| e.to_string())?;
        spec.create(&client, &args.table)
            .await
            .map_err(|e| e.to_string())?;
    }
    let store = shared::adapters::store::Store::new(client, args.table.clone());
    let vonage = VonageClient::new(&args.vonage, "local", "local-vonage-secret")
        .map_err(|e| e.to_string())?;
    let api = Arc::new(WebsiteApi::new(store, vonage, vec![args.api_key]));
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, std::convert::Infallible>(serve(&api, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    testkit::exit_code(run().await)
}
