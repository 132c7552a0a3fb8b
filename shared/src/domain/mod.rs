//! The domain: pure functions and types, no AWS and no I/O.

pub mod bulk;
pub mod business_days;
pub mod deadline;
pub mod event;
pub mod evidence;
pub mod inbound;
pub mod intent;
pub mod jwt;
pub mod keywords;
pub mod msisdn;
pub mod replies;
pub mod review;
pub mod revocation;
pub mod signature;
pub mod sms;
pub mod sort_keys;
pub mod timestamp;
