//! The integration tests of `optout-shared`, one test binary (one link, one local DynamoDB
//! server when testkit starts its own) with a module per subject. Run one subject with a filter:
//! `cargo test -p optout-shared --test integration events_replay::`.
//!
//! Two suites stay binaries of their own, because they need a process to themselves:
//! `config_secrets` sets environment variables, and `logging` reads what a scoped tracing
//! subscriber sees (each file says why).

mod api_keys;
mod consents;
mod console;
mod eligibility_evidence;
mod events_replay;
mod hostile_inputs;
mod languages;
mod load_webhook;
mod notify_replies;
mod openapi_spec;
mod opt_outs_api;
mod previous_version;
mod programs_replies;
mod programs_store;
mod prop_msisdn;
mod prop_signature;
mod prop_vonage;
mod prop_webhook;
mod reconcile_dynamodb;
mod resubscribe_api;
mod reviews_api;
mod revocation_corpus;
mod routing;
mod sdk_http;
mod signature_vectors;
mod store_dynamodb;
mod template_routes;
mod texting;
mod vonage_client;
mod webhook_dynamodb;
