//! Test support: a fresh table on the local DynamoDB-compatible server, and API Gateway events
//! turned into `lambda_http::Request`s by lambda_http's own conversion code.
#![allow(dead_code)]

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use shared::msisdn::Msisdn;
use shared::store::Store;
use shared::table::TableSpec;
use std::time::Duration;

/// The local server, as `.ci/run` / `scripts/test` start it.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(shared::tls::sdk_http_client())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A new, empty table made from template.yaml's definition, with a unique name.
pub async fn fresh_store() -> Store {
    let client = client_for(&endpoint());
    let name = format!("test-{:016x}", fastrand::u64(..));
    let spec = TableSpec::from_template_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../template.yaml"
    )))
    .expect("template.yaml has the table");
    spec.create(&client, &name).await.unwrap_or_else(|e| {
        panic!(
            "cannot create a table on the local DynamoDB server at {} ({e}); start it with scripts/test or scripts/dynamodb_local.py",
            endpoint()
        )
    });
    Store::new(client, name)
}

/// A store whose server is down (nothing listens on that port).
pub fn unreachable_store(table: &str) -> Store {
    Store::new(client_for("http://127.0.0.1:9"), table)
}

pub fn msisdn(digits: &str) -> Msisdn {
    Msisdn::from_provider(digits).unwrap()
}

/// Every item under a number, straight from the table.
pub async fn items_for(
    store: &Store,
    digits: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let out = store
        .client()
        .query()
        .table_name(store.table_name())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("N#{digits}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items().to_vec()
}

pub async fn history_count(store: &Store, digits: &str) -> usize {
    items_for(store, digits)
        .await
        .iter()
        .filter(|i| matches!(i.get("sk"), Some(AttributeValue::S(s)) if s.starts_with("E#")))
        .count()
}

/// Number of items in the whole table.
pub async fn item_count(store: &Store) -> usize {
    let out = store
        .client()
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .unwrap();
    out.items().len()
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

/// A TCP forwarder in front of the local DynamoDB server that a test can switch off, to make
/// storage fail at an exact moment (e.g. right after Vonage confirmed).
pub struct StorageSwitch {
    pub endpoint: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    kill: tokio::sync::broadcast::Sender<()>,
}

impl StorageSwitch {
    pub async fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let upstream = endpoint().trim_start_matches("http://").to_string();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (kill, _) = tokio::sync::broadcast::channel::<()>(4);
        let (down2, kill2) = (down.clone(), kill.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut killed = kill2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = killed.recv() => {}
                    }
                });
            }
        });
        Self {
            endpoint: format!("http://{local}"),
            down,
            kill,
        }
    }

    pub fn store(&self, table: &str) -> Store {
        Store::new(client_for(&self.endpoint), table)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            let _ = self.kill.send(());
        }
    }

    pub fn handle(&self) -> StorageSwitchHandle {
        StorageSwitchHandle {
            down: self.down.clone(),
            kill: self.kill.clone(),
        }
    }
}

/// A cloneable way to pull the plug from inside another task (e.g. a wiremock responder).
#[derive(Clone)]
pub struct StorageSwitchHandle {
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    kill: tokio::sync::broadcast::Sender<()>,
}

impl StorageSwitchHandle {
    pub fn set_down(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.kill.send(());
    }
}

/// The reference folder beside the repository (never copied into it).
pub fn vonage_reference(path: &str) -> String {
    let dir = std::env::var("VONAGE_REFERENCE_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vonage").to_string()
    });
    std::fs::read_to_string(format!("{dir}/{path}"))
        .unwrap_or_else(|e| panic!("reference file {dir}/{path}: {e}"))
}
