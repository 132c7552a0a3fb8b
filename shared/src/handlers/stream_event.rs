//! DynamoDB Streams events as Lambda hands them to the notify function, and the batch response
//! it returns (`ReportBatchItemFailures`).
//!
//! A small model of our own rather than a crate's: the notify function reads one thing from a
//! record, its new image, which it turns into the SDK's `AttributeValue`s so the store's own item
//! parsing reads it. Each record is read on its own, so one malformed record fails alone.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An attribute value in the stream's JSON (`{"S": "..."}`, `{"BOOL": true}`, ...).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub enum Attr {
    S(String),
    N(String),
    B(String),
    #[serde(rename = "BOOL")]
    Bool(bool),
    #[serde(rename = "NULL")]
    Null(bool),
    M(HashMap<String, Attr>),
    L(Vec<Attr>),
    #[serde(rename = "SS")]
    Ss(Vec<String>),
    #[serde(rename = "NS")]
    Ns(Vec<String>),
    #[serde(rename = "BS")]
    Bs(Vec<String>),
}

impl Attr {
    /// As the SDK's type. Binary values are kept as their base64 text (we write none).
    pub fn into_sdk(self) -> AttributeValue {
        match self {
            Attr::S(v) | Attr::B(v) => AttributeValue::S(v),
            Attr::N(v) => AttributeValue::N(v),
            Attr::Bool(v) => AttributeValue::Bool(v),
            Attr::Null(v) => AttributeValue::Null(v),
            Attr::M(m) => {
                AttributeValue::M(m.into_iter().map(|(k, v)| (k, v.into_sdk())).collect())
            }
            Attr::L(l) => AttributeValue::L(l.into_iter().map(Attr::into_sdk).collect()),
            Attr::Ss(v) | Attr::Bs(v) => AttributeValue::Ss(v),
            Attr::Ns(v) => AttributeValue::Ns(v),
        }
    }
}

/// The event: its records, each still raw JSON.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<serde_json::Value>,
}

/// One record, read.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamData {
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<HashMap<String, Attr>>,
}

impl StreamRecord {
    /// The new image as SDK attribute values (empty when the record has none).
    pub fn image(&self) -> HashMap<String, AttributeValue> {
        self.dynamodb
            .new_image
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_sdk()))
            .collect()
    }
}

/// The sequence number of a record, when at least that can be read (to report it as failed).
pub fn sequence_number(record: &serde_json::Value) -> Option<String> {
    record
        .pointer("/dynamodb/SequenceNumber")
        .and_then(|v| v.as_str())
        .map(String::from)
}

/// What the function returns: the records to retry (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_into_sdk_values() {
        let json = serde_json::json!({
            "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "SequenceNumber": "111", "StreamViewType": "NEW_IMAGE",
                "Keys": {"pk": {"S": "N#1"}, "sk": {"S": "E#x"}},
                "NewImage": {"pk": {"S": "N#1"}, "applied": {"BOOL": true}, "n": {"N": "3"},
                             "details": {"M": {"a": {"S": "b"}}}, "l": {"L": [{"NULL": true}]}}
            }
        });
        let record: StreamRecord =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.event_name, "INSERT");
        let image = record.image();
        assert_eq!(image["applied"], AttributeValue::Bool(true));
        assert_eq!(image["n"], AttributeValue::N("3".into()));
        assert_eq!(
            image["details"],
            AttributeValue::M(HashMap::from([(
                "a".to_string(),
                AttributeValue::S("b".into())
            )]))
        );
        assert_eq!(sequence_number(&json).as_deref(), Some("111"));
        assert_eq!(sequence_number(&serde_json::json!({"x": 1})), None);
        let response = BatchResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: "111".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(response).unwrap_or_default(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "111"}]})
        );
    }
}
