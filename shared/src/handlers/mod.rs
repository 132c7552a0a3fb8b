//! One handler per function, and what the HTTP ones share.

pub mod gateway;
pub mod http;
pub mod reconcile;
pub mod resubscribe;
pub mod webhook;
