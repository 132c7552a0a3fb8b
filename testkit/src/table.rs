//! The table's one definition is `template.yaml` (resource `OptOutTable`). Local runs and tests
//! create their table from it through this module, so the local table cannot drift from the
//! deployed one.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;

/// Logical id of the table in `template.yaml`.
pub const TABLE_RESOURCE: &str = "OptOutTable";

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("template.yaml could not be read: {0}")]
    Template(String),
    #[error("dynamodb: {0}")]
    Dynamo(String),
}

/// The parts of `AWS::DynamoDB::Table` properties that shape the table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    /// The stream that drives the notify function (`NEW_IMAGE`).
    #[serde(default)]
    pub stream_specification: Option<StreamDef>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDef {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

impl TableSpec {
    /// Read the table definition out of the SAM template text.
    pub fn from_template(template: &str) -> Result<Self, TableError> {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(template).map_err(|e| TableError::Template(e.to_string()))?;
        let properties = doc
            .get("Resources")
            .and_then(|r| r.get(TABLE_RESOURCE))
            .and_then(|t| t.get("Properties"))
            .ok_or_else(|| {
                TableError::Template(format!("no Resources.{TABLE_RESOURCE}.Properties"))
            })?;
        serde_yaml_ng::from_value(properties.clone())
            .map_err(|e| TableError::Template(format!("{TABLE_RESOURCE}: {e}")))
    }

    /// Read `template.yaml` from a path.
    pub fn from_template_file(path: &std::path::Path) -> Result<Self, TableError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TableError::Template(format!("{}: {e}", path.display())))?;
        Self::from_template(&text)
    }

    /// Create the table (on-demand billing, as deployed) and wait until it is ACTIVE.
    pub async fn create(&self, client: &Client, table_name: &str) -> Result<(), TableError> {
        let dynamo = |e: String| TableError::Dynamo(e);
        let mut request = client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest);
        for a in &self.attribute_definitions {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        for k in key_schema(&self.key_schema)? {
            request = request.key_schema(k);
        }
        for index in &self.local_secondary_indexes {
            request = request.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(key_schema(&index.key_schema)?))
                    .projection(projection(&index.projection))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        for index in &self.global_secondary_indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(key_schema(&index.key_schema)?))
                    .projection(projection(&index.projection))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        if let Some(stream) = &self.stream_specification {
            request = request.stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(
                        stream.stream_view_type.as_str(),
                    ))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        request
            .send()
            .await
            .map_err(|e| dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        // Some local servers keep a new table CREATING for a moment.
        for _ in 0..100 {
            let status = client
                .describe_table()
                .table_name(table_name)
                .send()
                .await
                .map_err(|e| dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?
                .table()
                .and_then(|t| t.table_status().cloned());
            if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(dynamo(format!("table {table_name} did not become ACTIVE")))
    }
}

fn key_schema(keys: &[KeyDef]) -> Result<Vec<KeySchemaElement>, TableError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| TableError::Dynamo(e.to_string()))
        })
        .collect()
}

fn projection(p: &ProjectionDef) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(p.projection_type.as_str()))
        .set_non_key_attributes(if p.non_key_attributes.is_empty() {
            None
        } else {
            Some(p.non_key_attributes.clone())
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_defines_the_keys_and_indexes_the_store_uses() {
        let spec = TableSpec::from_template_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../template.yaml"
        )))
        .unwrap();
        let keys: Vec<_> = spec
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect();
        assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
        let lsi: Vec<_> = spec
            .local_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(lsi, [shared::adapters::store::schema::HISTORY_INDEX]);
        let gsi: Vec<_> = spec
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(
            gsi,
            [
                shared::adapters::store::schema::OPTED_OUT_INDEX,
                shared::adapters::store::schema::REVIEWS_INDEX
            ]
        );
    }
}
