//! Vonage response parsing (manage, query, dates): no input panics, a confirmation is always
//! an opt-in, and errors never echo a full number from the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::adapters::vonage::responses::{parse_manage_response, parse_query_response};
use shared::domain::timestamp::parse_vonage_date;

fn leaks(body: &[u8], text: &str) -> bool {
    String::from_utf8_lossy(body)
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 7 && text.contains(run))
}

fuzz_target!(|data: &[u8]| {
    match parse_manage_response(data) {
        Ok(confirmation) => assert!(confirmation.opt_in),
        Err(e) => assert!(!leaks(data, &e.to_string()), "{e}"),
    }
    match parse_query_response(data) {
        Ok(page) => {
            for skipped in &page.skipped {
                assert!(!leaks(data, &skipped.reason), "{}", skipped.reason);
            }
        }
        Err(e) => assert!(!leaks(data, &e.to_string()), "{e}"),
    }
    let _ = parse_vonage_date(&String::from_utf8_lossy(data));
});
