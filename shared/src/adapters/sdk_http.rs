//! The AWS SDK's HTTP client: its requests sent through reqwest, the client the Vonage calls use,
//! so that a bootstrap links one HTTP client stack (HTTP/1.1 on [`super::tls`]) and not also the
//! SDK's own, which brings HTTP/2, which neither DynamoDB nor Secrets Manager needs
//! (docs/decisions/0021-one-http-client-and-trust-anchors.md).
//!
//! What the SDK asks of a client, kept: its connect and read timeouts applied, connections pooled,
//! no redirect followed, no retry of its own (the SDK's retry strategy decides), and failures
//! classified as the SDK's own client classifies them (a timeout; an I/O failure, which the SDK
//! retries as transient; a request it could not send).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The SDK's client for every AWS service this project calls.
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttpClient::default())
}

/// Connect and read timeouts, as the SDK asks for them.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One reqwest client (one connection pool) per set of timeouts the SDK asks for: in practice
/// one, since every client here takes the SDK's defaults.
#[derive(Debug, Default)]
struct SdkHttpClient {
    clients: Mutex<Vec<(Timeouts, reqwest::Client)>>,
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let client = match clients.iter().find(|(t, _)| *t == timeouts) {
            Some((_, client)) => Ok(client.clone()),
            None => build(timeouts).inspect(|client| clients.push((timeouts, client.clone()))),
        };
        SharedHttpConnector::new(Connector(client.map_err(|e| e.to_string())))
    }
}

fn build((connect, read): Timeouts) -> reqwest::Result<reqwest::Client> {
    let mut builder = super::tls::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        // The SDK's endpoint and `AWS_ENDPOINT_URL_*` decide where a request goes, not proxy
        // variables, as with the SDK's own client.
        .no_proxy();
    if let Some(connect) = connect {
        builder = builder.connect_timeout(connect);
    }
    if let Some(read) = read {
        builder = builder.read_timeout(read);
    }
    builder.build()
}

/// A client, or why it could not be built (reported by every request, never retried).
#[derive(Debug)]
struct Connector(Result<reqwest::Client, String>);

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match &self.0 {
            Ok(client) => HttpConnectorFuture::new(send(client.clone(), request)),
            Err(reason) => HttpConnectorFuture::ready(Err(ConnectorError::user(
                format!("the HTTP client could not be built: {reason}").into(),
            ))),
        }
    }
}

async fn send(
    client: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let (parts, body) = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?
        .into_parts();
    // Every DynamoDB and Secrets Manager request body is JSON in memory.
    let body = body
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body is not supported".into()))?
        .to_vec();
    let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::user(e.into()))?;
    let response = client.execute(request).await.map_err(classify)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(classify)?;
    let mut response = http::Response::new(SdkBody::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
}

/// As the SDK's own client classifies hyper's errors: a timeout; a request that could not be
/// built; everything that failed on the wire (connecting, a connection closed or reset, a
/// response cut short) as I/O, which the SDK retries.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_builder() {
        ConnectorError::user(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
