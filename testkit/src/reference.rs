//! The Vonage reference data the tests read: `testdata/vonage/` in the repository (sources and
//! licences in `testdata/vonage/SOURCES.md`). A missing file fails the test that needs it.

/// The text of `testdata/vonage/<path>`.
pub fn vonage_reference(path: &str) -> String {
    let full = crate::repo_path("testdata/vonage").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The bytes of `testdata/vonage/<path>`.
pub fn vonage_reference_bytes(path: &str) -> Vec<u8> {
    vonage_reference(path).into_bytes()
}
