//! Test support for the workspace: everything tests, the admin tool and the benchmarks need that
//! the deployed functions must not link (a dev-dependency of `shared`, a dependency of the tools).
//!
//! - [`dynamodb`]: the local DynamoDB-compatible server, fresh tables, a storage switch.
//! - [`events`]: API Gateway / function URL events, as the functions receive them.
//! - [`http_api`]: the website API over plain HTTP (`local-api`, the console's browser test).
//! - [`inbound`]: an inbound SMS written back in each of Vonage's encodings.
//! - [`sample_events`]: the `events/` manifest, and signing sample events as Vonage would.
//! - [`table`]: the table definition, read from `template.yaml`; [`template`]: the rest of it.
//! - [`reference`]: the Vonage reference data in `testdata/vonage/`.
//! - `openapi` (feature `openapi`): responses checked against `openapi.yaml`.

pub mod dynamodb;
pub mod events;
pub mod http_api;
pub mod inbound;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod records;
pub mod reference;
pub mod sample_events;
pub mod streams;
pub mod table;
pub mod template;

pub use dynamodb::*;
pub use events::*;
pub use reference::vonage_reference;

/// A path inside the repository (`testkit/` is one level below its root).
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The exit of a tool's `main`: success, or the error on one line of stderr and failure.
pub fn exit_code(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
