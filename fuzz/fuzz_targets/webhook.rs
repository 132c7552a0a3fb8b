//! Inbound webhook parsing in every encoding: no input panics, and any message that parses,
//! re-serialised in each encoding of its API and parsed again, is the same message.
//!
//! Input layout: byte 0 picks the method, byte 1 the content type; the rest is split at the
//! first 0xFF byte into query (before) and body (after); without one, all of it is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../testkit/src/inbound.rs"]
mod inbound;

const METHODS: [&str; 4] = ["GET", "POST", "post", "PUT"];
const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let (Some(&m), Some(&c)) = (data.first(), data.get(1)) else {
        return;
    };
    let rest = &data[2..];
    let method = METHODS[usize::from(m) % METHODS.len()];
    let content_type = CONTENT_TYPES[usize::from(c) % CONTENT_TYPES.len()];
    let (query, body) = match rest.iter().position(|b| *b == 0xFF) {
        Some(i) => (
            Some(String::from_utf8_lossy(&rest[..i]).into_owned()),
            &rest[i + 1..],
        ),
        None => (None, rest),
    };
    let Ok(raw) = shared::domain::inbound::extract(method, content_type, query.as_deref(), body) else {
        return;
    };
    let _ = raw.api();
    if let Ok(message) = raw.interpret() {
        let _ = message.is_keyword_candidate();
        if let Err(difference) = inbound::check_round_trip(&message) {
            panic!("round trip: {difference}");
        }
    }
});
