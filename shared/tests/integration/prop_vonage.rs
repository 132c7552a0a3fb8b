//! Property tests of Vonage response parsing (`vonage::parse_manage_response`,
//! `parse_query_response`, `parse_vonage_date`): no input panics; a well-formed query page
//! parses to exactly the entries it was written from; error bodies are rejections; nothing a
//! response echoes ends up in an error as a full phone number.

use proptest::prelude::*;
use shared::adapters::vonage::responses::{parse_manage_response, parse_query_response};
use shared::adapters::vonage::{OptListEntry, VonageError};
use shared::domain::msisdn::Msisdn;
use shared::domain::timestamp::parse_vonage_date;
use time::macros::format_description;
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn json_scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("true")),
        Just(serde_json::Value::from("false")),
        Just(serde_json::Value::from("2026-11-20 11:12:01")),
        Just(serde_json::Value::from("")),
        "[1-9][0-9]{6,14}".prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ]
}

/// JSON shaped like Vonage's bodies: the right keys with any values, nested a little.
fn vonage_json() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("msisdn".to_string()),
        Just("opt-in".to_string()),
        Just("opt-out".to_string()),
        Just("opt-in-date".to_string()),
        Just("opt-out-date".to_string()),
        Just("opt-in-count".to_string()),
        Just("opt-in-list".to_string()),
        Just("error-code".to_string()),
        Just("error-code-label".to_string()),
        any::<String>(),
    ];
    let leaf = json_scalar();
    leaf.prop_recursive(3, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vonage_json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<String>().prop_map(String::into_bytes),
        Just(b"<html><body>502 Bad Gateway</body></html>".to_vec()),
        Just(b"\xef\xbb\xbf{\"opt-in\":\"true\"}".to_vec()),
    ]
}

fn whole_second_date() -> impl Strategy<Value = Option<OffsetDateTime>> {
    proptest::option::of(
        (0i64..4_102_444_800)
            .prop_map(|s| OffsetDateTime::from_unix_timestamp(s).expect("in range")),
    )
}

prop_compose! {
    fn entry()(
        digits in "[1-9][0-9]{6,14}",
        opted_out in any::<bool>(),
        opted_in in any::<bool>(),
        opt_out_date in whole_second_date(),
        opt_in_date in whole_second_date(),
    ) -> OptListEntry {
        OptListEntry {
            msisdn: Msisdn::from_provider(&digits).expect("valid"),
            opted_out,
            opt_out_date,
            opted_in,
            opt_in_date,
        }
    }
}

fn vonage_date(d: Option<OffsetDateTime>) -> serde_json::Value {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    match d {
        Some(d) => d.format(format).unwrap_or_default().into(),
        // Vonage leaves an unset date out; an empty string means the same.
        None => "".into(),
    }
}

fn entry_json(e: &OptListEntry) -> serde_json::Value {
    serde_json::json!({
        "msisdn": e.msisdn.as_str(),
        "opt-out": e.opted_out.to_string(),
        "opt-in": e.opted_in.to_string(),
        "opt-out-date": vonage_date(e.opt_out_date),
        "opt-in-date": vonage_date(e.opt_in_date),
    })
}

/// No full number (7+ consecutive digits) of `body` appears in `text`.
fn leaks_a_number(body: &[u8], text: &str) -> Option<String> {
    let body = String::from_utf8_lossy(body);
    let digits: Vec<String> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() >= 7)
        .map(str::to_string)
        .collect();
    digits.into_iter().find(|run| text.contains(run.as_str()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bodies_never_panic(body in body()) {
        match parse_manage_response(&body) {
            Ok(confirmation) => {
                prop_assert!(confirmation.opt_in);
                prop_assert!(confirmation.msisdn.is_empty() || confirmation.msisdn.contains('*'));
            }
            Err(e) => {
                let kind_ok = matches!(e, VonageError::Unavailable { .. } | VonageError::Rejected { .. });
                prop_assert!(kind_ok, "{:?}", e);
                prop_assert_eq!(leaks_a_number(&body, &e.to_string()), None);
            }
        }
        match parse_query_response(&body) {
            Ok(page) => {
                for skipped in &page.skipped {
                    prop_assert_eq!(leaks_a_number(&body, &skipped.reason), None);
                }
            }
            Err(e) => prop_assert_eq!(leaks_a_number(&body, &e.to_string()), None),
        }
    }

    #[test]
    fn well_formed_query_pages_parse_to_their_entries(entries in proptest::collection::vec(entry(), 0..20), count_as_number in any::<bool>()) {
        let total = entries.len() as u64;
        let body = serde_json::json!({
            "opt-in-count": if count_as_number { serde_json::Value::from(total) } else { total.to_string().into() },
            "opt-in-list": entries.iter().map(entry_json).collect::<Vec<_>>(),
        });
        let page = parse_query_response(&serde_json::to_vec(&body).expect("json"));
        prop_assert!(page.is_ok(), "{:?}", page.err());
        let page = page.expect("checked");
        prop_assert_eq!(page.total, Some(total));
        prop_assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        prop_assert_eq!(page.entries, entries);
    }

    #[test]
    fn error_codes_are_rejections(code in "[0-9]{1,4}", label in any::<String>()) {
        let body = serde_json::to_vec(&serde_json::json!({"error-code": code, "error-code-label": label})).expect("json");
        let manage = parse_manage_response(&body);
        prop_assert!(matches!(manage, Err(VonageError::Rejected { .. })), "{:?}", manage);
        let query = parse_query_response(&body);
        prop_assert!(matches!(query, Err(VonageError::Rejected { .. })), "{:?}", query.err());
    }

    #[test]
    fn manage_confirms_only_opt_in_true(opt_in in json_scalar(), digits in "[1-9][0-9]{6,14}") {
        let body = serde_json::to_vec(&serde_json::json!({"msisdn": digits, "opt-in": opt_in})).expect("json");
        let is_true = matches!(&opt_in, serde_json::Value::Bool(true))
            || opt_in.as_str().is_some_and(|s| s.trim().eq_ignore_ascii_case("true"));
        prop_assert_eq!(parse_manage_response(&body).is_ok(), is_true);
    }

    #[test]
    fn dates_never_panic_and_round_trip(text in any::<String>(), date in whole_second_date()) {
        let _ = parse_vonage_date(&text);
        if let Some(date) = date {
            let written = vonage_date(Some(date));
            let written = written.as_str().unwrap_or_default();
            prop_assert_eq!(parse_vonage_date(written), Some(date));
            prop_assert_eq!(parse_vonage_date(&format!("  {}  ", written.replacen(' ', "   ", 1))), Some(date));
        }
    }
}
