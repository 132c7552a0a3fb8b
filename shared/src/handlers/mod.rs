//! One handler per function (`review_check` is the daily review-item check), and what the HTTP
//! ones share.

pub mod gateway;
pub mod http;
pub mod notify;
pub mod reconcile;
pub mod review_check;
pub mod routing;
pub mod stream_event;
pub mod webhook;
pub mod website_api;
