//! One handler per function, and what the HTTP ones share.

pub mod gateway;
pub mod http;
pub mod notify;
pub mod reconcile;
pub mod resubscribe;
pub mod stream_event;
pub mod webhook;
