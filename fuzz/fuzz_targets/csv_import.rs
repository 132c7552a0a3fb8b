//! CSV import parsing: no input panics; every row has a line number inside the file. Two
//! programs are declared, so a program column is read too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::msisdn::Region;
use shared::domain::program::Programs;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    // Numbers go through `Msisdn::parse`, which catches the phone-number library's panics.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));

    static PROGRAMS: std::sync::OnceLock<Programs> = std::sync::OnceLock::new();
    let programs = PROGRAMS.get_or_init(|| {
        Programs::parse(r#"[{"id": "alerts", "name": "A"}, {"id": "deals", "name": "D"}]"#)
            .expect("programs")
    });
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");
    let lines = data.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    if let Ok(parsed) = optout_admin::import::parse_csv(data, "fuzz.csv", Region::US, programs, now) {
        for row in &parsed.rows {
            assert!(row.line >= 1 && row.line <= lines);
        }
        for bad in &parsed.bad {
            assert!(bad.line >= 1 && bad.line <= lines);
        }
    }
});
