//! The integration tests of `optout-admin`, one test binary with a module per subject. Run one
//! with a filter: `cargo test -p optout-admin --test integration admin_cli::`.

mod admin_cli;
mod evidence_flow;
mod import_consents;
mod migrate;
mod prop_import;
