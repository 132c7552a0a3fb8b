//! The SDK's HTTP client (`shared::adapters::sdk_http`, reqwest underneath) driven by the
//! DynamoDB client itself, against wiremock: what goes out and comes back, the SDK's timeouts
//! applied, and failures classified so that the SDK retries what it should. Every store test
//! (`store_dynamodb.rs` and the handlers') runs on it against the local DynamoDB server too.

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(
    endpoint: &str,
    attempts: u32,
    read_timeout: Option<Duration>,
) -> aws_sdk_dynamodb::Client {
    let mut timeouts = TimeoutConfig::builder().connect_timeout(Duration::from_secs(2));
    if let Some(read) = read_timeout {
        timeouts = timeouts.read_timeout(read);
    }
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(shared::adapters::sdk_http::sdk_http_client())
        .timeout_config(timeouts.build())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

async fn get_item(
    client: &aws_sdk_dynamodb::Client,
) -> Result<
    aws_sdk_dynamodb::operation::get_item::GetItemOutput,
    SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
> {
    client
        .get_item()
        .table_name("optout")
        .key("pk", AttributeValue::S("MSISDN#14155550100".into()))
        .send()
        .await
}

#[tokio::test]
async fn a_request_goes_out_signed_and_its_answer_comes_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
        .and(header_exists("authorization"))
        .and(body_string_contains("MSISDN#14155550100"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .insert_header("x-amzn-requestid", "REQ123")
                .set_body_string(
                    r#"{"Item":{"pk":{"S":"MSISDN#14155550100"},"state":{"S":"opted_out"}}}"#,
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let output = get_item(&client(&server.uri(), 1, None))
        .await
        .expect("the item");
    let item = output.item().expect("an item");
    assert_eq!(
        item.get("state"),
        Some(&AttributeValue::S("opted_out".into()))
    );
}

#[tokio::test]
async fn an_error_answer_reaches_the_sdk_which_retries_a_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string(r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}"#),
        )
        .expect(3)
        .mount(&server)
        .await;
    let error = get_item(&client(&server.uri(), 3, None))
        .await
        .expect_err("a 500");
    let service = error.into_service_error();
    assert!(service.is_internal_server_error(), "{service:?}");
}

#[tokio::test]
async fn a_redirect_is_answered_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://127.0.0.1:9/elsewhere"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = get_item(&client(&server.uri(), 1, None))
        .await
        .expect_err("a 307");
    let raw = error
        .raw_response()
        .expect("the 307 itself reached the SDK");
    assert_eq!(raw.status().as_u16(), 307);
}

#[tokio::test]
async fn the_sdks_read_timeout_applies_and_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let error = get_item(&client(&server.uri(), 1, Some(Duration::from_millis(200))))
        .await
        .expect_err("timed out");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the read timeout was not applied"
    );
    match &error {
        // The client's own timeout: no operation or attempt timeout is configured.
        SdkError::DispatchFailure(failure) => assert!(failure.is_timeout(), "{failure:?}"),
        other => panic!("expected the client's timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_io() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = std::time::Instant::now();
    let error = get_item(&client(&format!("http://127.0.0.1:{port}"), 2, None))
        .await
        .expect_err("nothing listens");
    match &error {
        SdkError::DispatchFailure(failure) => assert!(failure.is_io(), "{failure:?}"),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_retried() {
    // A server that reads the request and closes the connection without answering: the
    // failure a stale pooled connection gives after Lambda thaws a container.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
            drop(socket);
        }
    });
    let error = get_item(&client(&format!("http://127.0.0.1:{port}"), 3, None))
        .await
        .expect_err("no answer");
    match &error {
        SdkError::DispatchFailure(failure) => assert!(failure.is_io(), "{failure:?}"),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "every attempt made"
    );
}
