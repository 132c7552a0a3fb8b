//! The operator's tool, as a library (the `optout-admin` binary is a thin shell over it, and the
//! tests and fuzz targets use it): CSV import of opt-outs and of consents, export and the
//! programs migration, which only the operator runs, so no deployed function links them.

pub mod export;
pub mod import;
pub mod import_consents;
pub mod keys;
pub mod migrate;
