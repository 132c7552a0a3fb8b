//! The revocation corpus (`testdata/revocations/corpus.csv`, written for this repository from
//! public guidance and realistic phrasing: its README) through the webhook's reading of a text,
//! with every language read. Prints the confusion table (honoured / queued / ignored by expected
//! tier) and fails on any revocation ignored, any `keyword` or `phrase` row not honoured, and
//! any row that is no revocation honoured.

use shared::domain::intent::{Intent, IntentRules};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/revocations/corpus.csv"
);

#[derive(Debug, serde::Deserialize)]
struct Row {
    text: String,
    language: String,
    expected: String,
    source: String,
}

/// What the webhook does with a text: opt-out at once, a review item, or nothing.
fn outcome(intent: &Intent) -> &'static str {
    match intent {
        Intent::OptOut { .. } | Intent::Revocation { .. } => "honoured",
        Intent::ReviewCue { .. } => "queued",
        Intent::Help { .. } | Intent::OptIn { .. } | Intent::Other => "ignored",
    }
}

#[test]
fn every_revocation_in_the_corpus_is_honoured_or_queued_and_nothing_else_is_honoured() {
    let rules = IntentRules::default();
    let mut reader = csv::Reader::from_path(CORPUS).expect("the corpus");
    let rows: Vec<Row> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("every row reads");
    assert!(rows.len() >= 300, "{} rows", rows.len());
    let tiers = ["keyword", "phrase", "review", "none"];
    let outcomes = ["honoured", "queued", "ignored"];
    let mut table = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for row in &rows {
        assert!(tiers.contains(&row.expected.as_str()), "{row:?}");
        assert!(
            ["en", "es", "fr"].contains(&row.language.as_str()),
            "{row:?}"
        );
        assert!(!row.source.trim().is_empty(), "{row:?}");
        let intent = rules.classify(&row.text);
        let got = outcome(&intent);
        *table
            .entry((row.language.clone(), row.expected.clone(), got))
            .or_insert(0u32) += 1;
        let wrong = match row.expected.as_str() {
            "keyword" | "phrase" => got != "honoured",
            "review" => got == "ignored",
            _ => got == "honoured",
        };
        if wrong {
            failures.push(format!(
                "[{}] expected {}, got {got} ({intent:?}): {:?}",
                row.language, row.expected, row.text
            ));
        }
    }
    println!("confusion table (rows by language, expected tier and outcome):");
    println!(
        "{:<6}{:<10}{:>10}{:>8}{:>9}",
        "lang", "expected", "honoured", "queued", "ignored"
    );
    for language in ["en", "es", "fr"] {
        for tier in tiers {
            let count = |got: &str| {
                table
                    .get(&(language.to_owned(), tier.to_owned(), got))
                    .copied()
                    .unwrap_or(0)
            };
            let counts: Vec<u32> = outcomes.iter().map(|o| count(o)).collect();
            println!(
                "{language:<6}{tier:<10}{:>10}{:>8}{:>9}",
                counts[0], counts[1], counts[2]
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows misread:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
