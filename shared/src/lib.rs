//! Domain logic for the SMS opt-out system, shared by every Lambda and tool in the workspace.
//!
//! Three layers, and dependencies point one way: [`handlers`] use [`adapters`] and [`domain`];
//! [`adapters`] use [`domain`]; [`domain`] uses neither (pure: no AWS, no I/O).
//!
//! - [`domain`]: [`domain::msisdn`] (phone numbers), [`domain::keywords`] (which texts are
//!   opt-outs), [`domain::inbound`] (Vonage's inbound SMS in every encoding),
//!   [`domain::signature`] and [`domain::jwt`] (Vonage signatures), [`domain::event`] (events,
//!   states and the newest-event-wins order), [`domain::evidence`] (the evidence file of one
//!   number and its state check), [`domain::bulk`] (what a bulk opt-out writes),
//!   [`domain::timestamp`].
//! - [`adapters`]: [`adapters::store`] (the DynamoDB record), [`adapters::vonage`] (Vonage's REST
//!   API), [`adapters::config`] (settings, secrets, logging), [`adapters::tls`],
//!   [`adapters::metrics`].
//! - [`handlers`], one per function: [`handlers::webhook`] (`unsubscribe-webhook`),
//!   [`handlers::website_api`] (`resubscribe`, the website's API), [`handlers::reconcile`]
//!   (`reconcile`); and what the HTTP ones share: [`handlers::gateway`] (API Gateway events in
//!   and out) and [`handlers::http`] (the error type of the HTTP boundary).

pub mod adapters;
pub mod domain;
pub mod handlers;
