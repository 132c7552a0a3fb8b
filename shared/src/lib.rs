//! Domain logic for the SMS opt-out system, shared by every Lambda and tool in the workspace.
//!
//! Three layers, and dependencies point one way: [`handlers`] (one per function, and what the
//! HTTP ones share) use [`adapters`] (DynamoDB, Vonage, settings, metrics) and [`domain`];
//! [`adapters`] use [`domain`]; [`domain`] uses neither (pure: no AWS, no I/O).

pub mod adapters;
pub mod domain;
pub mod handlers;
