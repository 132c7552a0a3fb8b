//! Property tests of the CSV import parser (`import::parse_csv`): no input panics; every row is
//! accounted for (good, bad or duplicate) with a line number inside the file; a bad row's reason
//! never carries a full number; a well-formed file imports every row with its number and date.

use optout_admin::import::{parse_csv, parse_number};
use proptest::prelude::*;
use shared::domain::msisdn::Region;
use shared::domain::program::Programs;
use time::macros::format_description;
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time")
}

/// Cells that look like what a provider's export holds, and noise.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+?[1-9][0-9]{6,14}",
        "\\+1 \\(415\\) 555-01[0-9]{2}",
        "20[0-2][0-9]-[01][0-9]-[0-3][0-9]( [0-2][0-9]:[0-5][0-9]:[0-5][0-9])?",
        Just("msisdn".to_string()),
        Just("opt_out_date".to_string()),
        Just("source".to_string()),
        Just(String::new()),
        "[a-z ]{0,10}",
        any::<String>(),
    ]
}

fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    let row = proptest::collection::vec(cell(), 0..5).prop_map(|cells| cells.join(","));
    prop_oneof![
        proptest::collection::vec(row, 0..12).prop_map(|rows| rows.join("\n").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<String>().prop_map(String::into_bytes),
    ]
}

/// 7+ consecutive digits of a number cell (the first field of a line) that appear in `text`.
/// (Other cells are not numbers; a date cell is echoed in its own bad-row reason.)
fn leaked_number(input: &[u8], text: &str) -> Option<String> {
    let input = String::from_utf8_lossy(input);
    input
        .lines()
        .filter_map(|line| line.split(',').next())
        .flat_map(|cell| cell.split(|c: char| !c.is_ascii_digit()))
        .filter(|run| run.len() >= 7)
        .find(|run| text.contains(*run))
        .map(str::to_string)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_files_never_panic_and_every_row_is_accounted_for(input in csv_text()) {
        let lines = input.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        if let Ok(parsed) = parse_csv(&input[..], "prop.csv", Region::US, &Programs::single(""), now()) {
            for row in &parsed.rows {
                prop_assert!(row.line >= 1 && row.line <= lines, "line {} of {}", row.line, lines);
                prop_assert!(row.event.occurred_at <= now() + time::Duration::days(1));
            }
            for bad in &parsed.bad {
                prop_assert!(bad.line >= 1 && bad.line <= lines, "line {} of {}", bad.line, lines);
                prop_assert_eq!(leaked_number(&input, &bad.reason), None, "{:?}", bad.reason);
            }
        }
    }

}

proptest! {
    // Fewer cases: each row goes through libphonenumber, slow in a debug build.
    #![proptest_config(ProptestConfig { cases: 48, ..config() })]

    #[test]
    fn well_formed_files_import_every_row(
        rows in proptest::collection::btree_map(
            "[1-9][0-9]{9,13}",
            proptest::option::of(0i64..1_790_000_000),
            1..12,
        ),
        header in any::<bool>(),
    ) {
        let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let mut text = String::new();
        if header {
            text.push_str("msisdn,opt_out_date\n");
        }
        for (digits, date) in &rows {
            let date = date
                .map(|s| OffsetDateTime::from_unix_timestamp(s).expect("time").format(format).expect("format"))
                .unwrap_or_default();
            text.push_str(&format!("+{digits},{date}\n"));
        }
        let parsed = parse_csv(text.as_bytes(), "prop.csv", Region::US, &Programs::single(""), now());
        prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
        let parsed = parsed.expect("checked");
        // Every row is accounted for: imported, bad (a number invalid for its country) or a
        // repeat (two spellings of one number with the same date).
        prop_assert_eq!(
            parsed.rows.len() as u64 + parsed.bad.len() as u64 + parsed.duplicate_rows,
            rows.len() as u64
        );
        let written: Vec<(&String, &Option<i64>)> = rows.iter().collect();
        for row in &parsed.rows {
            let line = row.line - u64::from(header);
            let (digits, date) = written[(line - 1) as usize];
            // The number as the parser reads numbers (libphonenumber's E.164 form).
            let expected = parse_number(&format!("+{digits}"), Region::US);
            prop_assert_eq!(Ok(row.event.msisdn.clone()), expected, "line {}", row.line);
            if let Some(seconds) = date {
                prop_assert_eq!(row.event.occurred_at.unix_timestamp(), *seconds);
            }
        }
        for bad in &parsed.bad {
            let line = bad.line - u64::from(header);
            let (digits, _) = written[(line - 1) as usize];
            prop_assert!(parse_number(&format!("+{digits}"), Region::US).is_err(), "line {}: {}", bad.line, bad.reason);
        }
    }
}
