//! Domain logic for the SMS opt-out system, shared by every Lambda and tool in the workspace.
//!
//! Module map (named after the words a newcomer would search for):
//! - [`msisdn`]: phone numbers, normalised to E.164 digits, masked in logs.
//! - [`keywords`]: which inbound texts are opt-outs.
//! - [`webhook`]: parsing Vonage's inbound SMS webhook in all its encodings.
//! - [`signature`]: Vonage webhook signatures (SMS API `sig`, Messages API JWT).
//! - [`jwt`]: the HMAC-only cryptography behind `jsonwebtoken`.
//! - [`store`]: the DynamoDB record (state + history) and the "newest event wins" rule.
//! - [`table`]: the table definition, read from `template.yaml`.
//! - [`vonage`]: Vonage's US short code opt-in API (manage and query calls).
//! - [`unsubscribe`]: the `unsubscribe-webhook` Lambda's handler.
//! - [`resubscribe`]: the `resubscribe` Lambda's handler (the website's API).
//! - [`http`]: the error type of the HTTP boundary and its JSON responses.
//! - [`config`]: settings from the environment and Secrets Manager; logging.
//! - [`tls`]: the certificate authorities outbound HTTPS trusts (compiled in).
//! - [`metrics`]: operator metrics as CloudWatch Embedded Metric Format lines.
//! - [`reconcile`]: catching up with Vonage's opt-out list (the `reconcile` Lambda, `optout-admin reconcile`).
//! - [`import`]: opt-outs from a CSV file (migrations); the opt-out list and history as CSV.
//! - [`bulk`]: many opt-outs at once (reconciliation, import): decide from current states, write in batches.
//! - [`sample_events`]: the `events/` manifest, and signing sample events as Vonage would.

pub mod bulk;
pub mod config;
pub mod gateway;
pub mod http;
pub mod import;
pub mod jwt;
pub mod keywords;
pub mod metrics;
pub mod msisdn;
pub mod reconcile;
pub mod resubscribe;
pub mod sample_events;
pub mod signature;
pub mod store;
pub mod table;
pub mod timestamp;
pub mod tls;
pub mod unsubscribe;
pub mod vonage;
pub mod webhook;
