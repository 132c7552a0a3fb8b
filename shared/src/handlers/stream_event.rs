//! DynamoDB Streams events as Lambda hands them to the notify function, and its batch response
//! (`ReportBatchItemFailures`). Our own small model rather than aws_lambda_events' (a large crate
//! for three fields); each record is read on its own, so one malformed record fails alone.

use serde::{Deserialize, Serialize};

/// The event: its records, each still raw JSON.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<serde_json::Value>,
}

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
    pub new_image: Option<serde_dynamo::Item>,
}

/// The sequence number of a record, when at least that can be read (to report it as failed).
pub fn sequence_number(record: &serde_json::Value) -> Option<String> {
    record
        .pointer("/dynamodb/SequenceNumber")
        .and_then(|v| v.as_str())
        .map(String::from)
}

/// The records to retry.
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
    fn a_record_reads_with_its_image() {
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
        let image = record.dynamodb.new_image.unwrap_or_default().into_inner();
        assert_eq!(image.len(), 5);
        assert_eq!(
            image.get("applied"),
            Some(&serde_dynamo::AttributeValue::Bool(true))
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
