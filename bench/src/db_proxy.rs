//! A timing proxy between a bootstrap and the local DynamoDB-compatible server.
//!
//! The local server is far slower and noisier than DynamoDB (a single-threaded Python process),
//! so subtracting one latency distribution from another would bury a sub-millisecond handler
//! overhead in the server's jitter. Instead every DynamoDB request of an invocation goes through
//! this proxy, which adds up the time each spent upstream (full request received -> full
//! response received from the server); the driver subtracts that from the same invocation's
//! latency. What remains is the function's own time, including the loopback hop to the proxy.
//! It also counts requests by operation (`x-amz-target`), so the report's "DynamoDB requests
//! per STOP" comes from the real bootstrap.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Time spent upstream, summed over the requests since the last [`DbProxy::take`].
    pub upstream: Duration,
    /// Requests by DynamoDB operation.
    pub requests: BTreeMap<String, u64>,
}

pub struct DbProxy {
    endpoint: String,
    tally: Arc<Mutex<Tally>>,
}

impl DbProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let uri: hyper::Uri = upstream
            .parse()
            .map_err(|e| std::io::Error::other(format!("upstream {upstream}: {e}")))?;
        let upstream = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| std::io::Error::other(format!("upstream {upstream} has no host")))?;
        let client: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let server_tally = tally.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let client = client.clone();
                let tally = server_tally.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let client = client.clone();
                        let tally = tally.clone();
                        let upstream = upstream.clone();
                        async move {
                            Ok::<_, hyper::Error>(forward(req, &client, &upstream, &tally).await)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { endpoint, tally })
    }

    /// `AWS_ENDPOINT_URL_DYNAMODB` for the bootstrap.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The tally since the last call, and reset.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn forward(
    req: Request<hyper::body::Incoming>,
    client: &HttpClient,
    upstream: &str,
    tally: &Mutex<Tally>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return error("could not read the request body");
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| "unknown".into());
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(uri) = format!("http://{upstream}{path}").parse() else {
        return error("bad upstream URI");
    };
    parts.uri = uri;
    let started = Instant::now();
    let response = match client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(response) => response,
        Err(e) => return error(&format!("upstream: {e}")),
    };
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return error("could not read the upstream body");
    };
    let spent = started.elapsed();
    {
        let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.upstream += spent;
        *tally.requests.entry(operation).or_default() += 1;
    }
    Response::from_parts(parts, Full::new(body))
}

fn error(message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_string())));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}
