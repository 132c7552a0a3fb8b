//! A local stand-in for Vonage's opt-in API ("manage" and "query"), so the resubscribe and
//! reconcile functions' benchmarks include their real HTTP calls without leaving the machine.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Entries the query stand-in lists (numbers the reconcile function then finds opted out).
pub const QUERY_ENTRIES: usize = 5;

/// Starts the stand-in on 127.0.0.1 and returns its base URL (`VONAGE_API_BASE_URL`).
pub async fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let path = req.uri().path().to_string();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let form: Vec<(String, String)> =
                        serde_urlencoded::from_bytes(&body).unwrap_or_default();
                    let msisdn = form
                        .iter()
                        .find(|(k, _)| k == "msisdn")
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    let (status, text) = if path == "/sc/us/alert/opt-in/manage/json" {
                        (
                            StatusCode::OK,
                            serde_json::json!({
                                "msisdn": msisdn,
                                "opt-in": "true",
                                "opt-in-date": "2026-11-26 10:00:00",
                                "opt-out": "false",
                                "opt-out-date": "2026-11-20 11:12:01"
                            })
                            .to_string(),
                        )
                    } else if path == "/sc/us/alert/opt-in/query/json" {
                        // One page with a few entries, as a small account's list would be.
                        let entries: Vec<serde_json::Value> = (0..QUERY_ENTRIES)
                            .map(|i| {
                                serde_json::json!({
                                    "msisdn": format!("1303556{i:04}"),
                                    "opt-in": "false",
                                    "opt-out": "true",
                                    "opt-out-date": "2026-11-20 11:12:01"
                                })
                            })
                            .collect();
                        let page: u64 = form
                            .iter()
                            .find(|(k, _)| k == "page")
                            .and_then(|(_, v)| v.parse().ok())
                            .unwrap_or(1);
                        let list = if page <= 1 { entries } else { Vec::new() };
                        (
                            StatusCode::OK,
                            serde_json::json!({
                                "opt-in-count": QUERY_ENTRIES.to_string(),
                                "opt-in-list": list
                            })
                            .to_string(),
                        )
                    } else {
                        (StatusCode::NOT_FOUND, String::from("{}"))
                    };
                    let mut response = Response::new(Full::new(Bytes::from(text)));
                    *response.status_mut() = status;
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, hyper::Error>(response)
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}
