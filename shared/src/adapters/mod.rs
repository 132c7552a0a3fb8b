//! The adapters: everything that talks to the outside (DynamoDB, Vonage, Secrets Manager, the
//! environment, stdout for metrics), built on the domain.

pub mod config;
pub mod metrics;
pub mod provider;
pub mod sdk_http;
pub mod store;
pub mod tls;
pub mod vonage;
