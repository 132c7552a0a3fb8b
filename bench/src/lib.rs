//! Benchmark support: a local Lambda Runtime API emulator, API Gateway events, a Vonage
//! stand-in and latency summaries. `scripts/bench` drives it through the `lambda-bench` binary.

pub mod db_proxy;
pub mod ddb;
pub mod eligibility;
pub mod emulator;
pub mod events;
pub mod stats;
pub mod vonage_stub;
