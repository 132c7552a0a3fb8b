//! Reading the table's DynamoDB stream from the local server, as the Lambda event source mapping
//! would: the records since the last read, shaped as the notify function receives them.
//!
//! Plain JSON over HTTP (the DynamoDB Streams protocol) rather than another SDK crate: the local
//! server does not check signatures, and these are four small calls.

use serde_json::{json, Value};
use shared::adapters::store::Store;

/// A reader positioned at the start of the stream (TRIM_HORIZON) of one table.
pub struct StreamReader {
    endpoint: String,
    stream_arn: String,
    http: reqwest::Client,
    iterators: Vec<String>,
}

impl StreamReader {
    /// The reader of `store`'s table stream; panics (a test failure) if the table has none.
    pub async fn new(store: &Store) -> Self {
        let table = store
            .client()
            .describe_table()
            .table_name(store.table_name())
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe_table: {e}"));
        let stream_arn = table
            .table()
            .and_then(|t| t.latest_stream_arn())
            .unwrap_or_else(|| panic!("table {} has no stream", store.table_name()))
            .to_string();
        let mut reader = Self {
            endpoint: crate::endpoint(),
            stream_arn,
            // The workspace's reqwest has no TLS provider of its own: take the shared one.
            http: shared::adapters::tls::reqwest_builder()
                .build()
                .unwrap_or_else(|e| panic!("HTTP client: {e}")),
            iterators: Vec::new(),
        };
        let description = reader
            .call("DescribeStream", json!({"StreamArn": reader.stream_arn}))
            .await;
        let shards: Vec<String> = description["StreamDescription"]["Shards"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| s["ShardId"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for shard in shards {
            let out = reader
                .call(
                    "GetShardIterator",
                    json!({"StreamArn": reader.stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
                )
                .await;
            if let Some(it) = out["ShardIterator"].as_str() {
                reader.iterators.push(it.to_string());
            }
        }
        reader
    }

    /// Every record written since the last call, oldest first, with `eventSourceARN` as Lambda
    /// adds it.
    pub async fn next_records(&mut self) -> Vec<Value> {
        let mut records = Vec::new();
        let iterators = std::mem::take(&mut self.iterators);
        for mut iterator in iterators {
            loop {
                let out = self
                    .call(
                        "GetRecords",
                        json!({"ShardIterator": iterator, "Limit": 1000}),
                    )
                    .await;
                let page = out["Records"].as_array().cloned().unwrap_or_default();
                let empty = page.is_empty();
                for mut record in page {
                    record["eventSourceARN"] = self.stream_arn.clone().into();
                    records.push(record);
                }
                match out["NextShardIterator"].as_str() {
                    Some(next) => iterator = next.to_string(),
                    None => break,
                }
                if empty {
                    break;
                }
            }
            self.iterators.push(iterator);
        }
        records
    }

    async fn call(&self, operation: &str, body: Value) -> Value {
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        let text = response.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{operation}: {e}: {text}"))
    }
}

/// A Lambda DynamoDB stream event of these records.
pub fn lambda_event(records: &[Value]) -> Value {
    json!({ "Records": records })
}
