//! Configuration (docs/configuration.md): environment variables over the Secrets Manager secrets
//! `SECRET_ARNS` names, so deployed secrets never sit in the template or the function's
//! environment, and an environment variable can still override one for a test.

use crate::domain::program::{Programs, RevokeAll};
use std::collections::HashMap;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("secret {arn} could not be read: {reason}")]
    Secret { arn: String, reason: String },
}

impl Programs {
    /// `PROGRAMS`, or, unset, one program named `PROGRAM_NAME` (docs/decisions/0005-programs.md).
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        match settings.get("PROGRAMS") {
            None => {
                let consent_on_file = match settings.get("CONSENT_ON_FILE") {
                    None => false,
                    Some(v) => parse_switch(v).ok_or(ConfigError::Invalid {
                        name: "CONSENT_ON_FILE",
                        reason: "must be on or off".into(),
                    })?,
                };
                Programs::single_with_consent(
                    settings.get("PROGRAM_NAME").unwrap_or(""),
                    settings.get("JOIN_KEYWORD"),
                    consent_on_file,
                )
                .map_err(|e| ConfigError::Invalid {
                    name: "JOIN_KEYWORD",
                    reason: e.to_string(),
                })
            }
            Some(json) => Programs::parse(json).map_err(|e| ConfigError::Invalid {
                name: "PROGRAMS",
                reason: e.to_string(),
            }),
        }
    }
}

/// `on`/`off` (also true/false, yes/no, 1/0), any case.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

impl RevokeAll {
    /// `REVOKE_ALL_FROM`: a date, `off`, or unset for the rule's date.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        RevokeAll::parse(settings.get("REVOKE_ALL_FROM")).map_err(|e| ConfigError::Invalid {
            name: "REVOKE_ALL_FROM",
            reason: e.to_string(),
        })
    }
}

/// Settings by name. Values may be secrets: this type never prints them.
#[derive(Clone, Default)]
pub struct Settings {
    values: HashMap<String, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.values.keys().collect();
        names.sort();
        f.debug_struct("Settings").field("names", &names).finish()
    }
}

impl Settings {
    /// Tests and tools.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The process environment, plus the secrets named in `SECRET_ARNS`.
    pub async fn load(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let mut values: HashMap<String, String> = HashMap::new();
        let arns: Vec<String> = std::env::var("SECRET_ARNS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect();
        if !arns.is_empty() {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            for arn in arns {
                let secret = client
                    .get_secret_value()
                    .secret_id(&arn)
                    .send()
                    .await
                    .map_err(|e| ConfigError::Secret {
                        arn: arn.clone(),
                        reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                    })?;
                let text = secret.secret_string().unwrap_or("{}");
                let object: HashMap<String, serde_json::Value> = serde_json::from_str(text)
                    .map_err(|_| ConfigError::Secret {
                        arn: arn.clone(),
                        reason: "not a JSON object of setting names to values".into(),
                    })?;
                for (name, value) in object {
                    match value {
                        serde_json::Value::String(text) => {
                            values.insert(name, text);
                        }
                        // A list or an object (PROGRAMS, API_KEY_ROLES) as its JSON text.
                        value @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                            values.insert(name, value.to_string());
                        }
                        _ => {}
                    }
                }
            }
        }
        values.extend(std::env::vars());
        Ok(Self { values })
    }

    /// A non-blank value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }
}

/// JSON-lines logging on stdout, filtered by `RUST_LOG` ([`log_filter`]), `info` when unset.
pub fn init_logging() {
    let _ = log_subscriber(std::io::stdout, log_filter("info")).try_init();
}

/// The JSON-lines subscriber every binary logs through, filtered by `filter` alone
/// (`tracing_subscriber::fmt()` adds a level ceiling of its own, under which `RUST_LOG=debug`
/// showed nothing).
pub fn log_subscriber<W>(writer: W, filter: Targets) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(filter).with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .flatten_event(true)
            .with_target(false)
            .without_time()
            .with_writer(writer),
    )
}

/// `RUST_LOG` as a level (`debug`) or per-module levels (`warn,shared::adapters::store=debug`);
/// `default` when unset or unreadable. Not `EnvFilter`, whose span and field matching (regular
/// expressions) is a quarter of a megabyte of each bootstrap.
pub fn log_filter(default: &str) -> Targets {
    parse_log_filter(std::env::var("RUST_LOG").ok().as_deref(), default)
}

/// [`log_filter`] without the environment.
pub fn parse_log_filter(value: Option<&str>, default: &str) -> Targets {
    value
        .and_then(|value| value.parse().ok())
        .or_else(|| default.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// What every function does once per container before serving.
pub async fn start_function() -> Result<(Settings, crate::adapters::store::Store), ConfigError> {
    init_logging();
    let sdk = function_sdk_config()?;
    let settings = Settings::load(&sdk).await?;
    let store = crate::adapters::store::Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings.require("TABLE_NAME")?,
    );
    Ok((settings, store))
}

/// A function's SDK configuration, from what Lambda sets in every function's environment: the
/// region, the execution role's credentials, and `AWS_ENDPOINT_URL[_<SERVICE>]` for a local
/// server. Not the standard chain of [`aws_sdk_config`]: profiles, SSO, IMDS and STS never answer
/// inside Lambda, and linking them costs each bootstrap ~0.3 MB
/// (docs/decisions/0015-function-sdk-config-from-the-environment.md).
pub fn function_sdk_config() -> Result<aws_config::SdkConfig, ConfigError> {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .ok_or(ConfigError::Missing("AWS_REGION"))?;
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    Ok(aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .http_client(crate::adapters::sdk_http::sdk_http_client())
        .service_config(EndpointFromEnvironment)
        .build())
}

/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, as the standard chain reads them.
#[derive(Debug)]
struct EndpointFromEnvironment;

impl aws_types::service_config::LoadServiceConfig for EndpointFromEnvironment {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace([' ', '-'], "_");
        [format!("{}_{service}", key.env()), key.env().to_owned()]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }
}

/// The SDK configuration from the standard chain (region, credentials, `AWS_ENDPOINT_URL_*`),
/// with our HTTP client ([`crate::adapters::sdk_http`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::adapters::sdk_http::sdk_http_client())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a filter lets through: the log lines written while `emit` runs under it.
    fn lines_under(filter: &str, emit: impl FnOnce()) -> Vec<serde_json::Value> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = log_subscriber(
            move || writer.clone(),
            parse_log_filter(Some(filter), "info"),
        );
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::Null))
            .collect()
    }

    fn messages(lines: &[serde_json::Value]) -> Vec<&str> {
        lines.iter().filter_map(|l| l["message"].as_str()).collect()
    }

    #[test]
    fn rust_log_levels_and_module_filters_work() {
        // With `RUST_LOG=debug` a debug line must appear; at `info` it must not.
        let emit = || {
            tracing::debug!(target: "shared::store", "store debug");
            tracing::debug!(target: "shared::vonage", "vonage debug");
            tracing::info!(target: "shared::vonage", "vonage info");
            tracing::warn!(target: "shared::store", "store warn");
        };
        assert_eq!(
            messages(&lines_under("debug", emit)),
            ["store debug", "vonage debug", "vonage info", "store warn"]
        );
        assert_eq!(
            messages(&lines_under("info", emit)),
            ["vonage info", "store warn"]
        );
        // A per-module filter selects one module.
        assert_eq!(
            messages(&lines_under("warn,shared::store=debug", emit)),
            ["store debug", "store warn"]
        );
        assert_eq!(
            messages(&lines_under("shared::vonage=debug", emit)),
            ["vonage debug", "vonage info"]
        );
        // Unreadable: the default.
        assert_eq!(
            messages(&lines_under("=nonsense=", emit)),
            ["vonage info", "store warn"]
        );
        // Lines are JSON objects with the fields flattened.
        let lines = lines_under("info", || tracing::info!(status = 200u16, "done"));
        assert_eq!(lines[0]["status"], 200);
        assert_eq!(lines[0]["level"], "INFO");
    }

    #[test]
    fn blank_is_unset_and_debug_hides_values() {
        let s = Settings::from_pairs([("A", " x "), ("B", "  "), ("SECRET", "hunter2")]);
        assert_eq!(s.get("A"), Some("x"));
        assert_eq!(s.get("B"), None);
        assert!(matches!(s.require("B"), Err(ConfigError::Missing("B"))));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
