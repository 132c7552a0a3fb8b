//! Domain logic for the SMS opt-out system, shared by every Lambda and tool in the workspace.
//!
//! Three layers, and dependencies point one way: [`handlers`] use [`adapters`] and [`domain`];
//! [`adapters`] use [`domain`]; [`domain`] uses neither (pure: no AWS, no I/O).
//!
//! - [`domain`]: [`domain::msisdn`] (phone numbers), [`domain::inbound`] (Vonage's inbound SMS
//!   in every encoding), [`domain::intent`] (what a text asks for), built on
//!   [`domain::keywords`] (opt-out words) and [`domain::revocation`] (phrases and review cues),
//!   [`domain::review`] and [`domain::business_days`] (review items and their due dates),
//!   [`domain::signature`] and [`domain::jwt`] (Vonage signatures), [`domain::event`] (events,
//!   states and the newest-event-wins order), [`domain::origin`] (where an event came from and
//!   its evidence), [`domain::evidence`] (one number's evidence file and its state check),
//!   [`domain::replies`] and [`domain::sms`] (the reply texts and their length),
//!   [`domain::bulk`] (what a bulk opt-out writes), [`domain::timestamp`] and
//!   [`domain::deadline`].
//! - [`adapters`]: [`adapters::store`] (the DynamoDB record; [`adapters::store::schema`] the
//!   table's items), [`adapters::vonage`] (Vonage's REST
//!   API), [`adapters::provider`] (the three provider modes), [`adapters::config`] (settings,
//!   secrets, logging), [`adapters::tls`], [`adapters::metrics`].
//! - [`handlers`], one per function: [`handlers::webhook`] (`unsubscribe-webhook`),
//!   [`handlers::website_api`] (`resubscribe`, the website's API), [`handlers::reconcile`],
//!   [`handlers::notify`] (with [`handlers::stream_event`], the stream's events),
//!   [`handlers::review_check`] (`review-check`); and what the HTTP ones share:
//!   [`handlers::gateway`] (API Gateway events in and out), [`handlers::routing`] and
//!   [`handlers::http`] (the error type of the HTTP boundary).

pub mod adapters;
pub mod domain;
pub mod handlers;
