//! `optout-admin import-consents` against the real local DynamoDB-compatible server: good, bad
//! and duplicate rows; a consent older than an opt-out is kept as history and the opt-out stands;
//! one newer is not written at all (an import never ends an opt-out); a fresh number is
//! subscribed with the row's channel; another program's opt-out is not ours; a re-run writes
//! nothing; the binary's dry run writes nothing and a bad row exits 2 with the JSON report.

use optout_admin::import_consents::{import_consents, parse_consents_csv, ImportConsentsReport};
use serde_json::Value;
use shared::adapters::store::Store;
use shared::domain::consent::ConsentChannel;
use shared::domain::event::{HistoryEntry, State, Status};
use shared::domain::msisdn::{Msisdn, Region};
use shared::domain::origin::Origin;
use shared::domain::program::{ProgramId, Programs, Scope};
use std::process::Output;
use testkit::*;
use time::macros::datetime;

const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["16105553939"], "default": true},
    {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"]}
]"#;

/// Opted out (every program) after the row's consent: the consent is history only.
const STOPPED_LATER: &str = "14155550601";
/// Opted out (every program) before the row's consent: the consent is not written.
const STOPPED_BEFORE: &str = "14155550602";
/// Nothing held: the consent is added.
const FRESH: &str = "14155550603";
/// Opted out of deals only: a consent to alerts is added, deals stays opted out.
const DEALS_STOPPED: &str = "14155550604";

const FILE: &str = "\
msisdn,captured_at,program,channel,wording,url,ip,agent_id,platform,notes
14155550601,2025-01-01,,paper,I agree to texts,,,agent-7,OldCo,a
14155550602,2025-06-01,alerts,keyword,JOIN,,,,OldCo,
14155550603,2025-03-01 12:00:00,,web_form,Yes text me,https://acme.example/join,203.0.113.9,,,
14155550604,2025-06-01,alerts,,Acme Alerts terms v2,,,,,
+1 (415) 555-0603,2025-03-01T12:00:00Z,,web_form,the same fact again,https://acme.example/join,203.0.113.9,,,
not-a-number,2025-01-01,,,w,,,,,
14155550605,2025-01-01,,web_form,w,,,,,
14155550606,2025-01-01,marketing,,w,,,,,
";

fn program(programs: &Programs, id: &str) -> Vec<Scope> {
    let program = programs
        .get(&ProgramId::parse(id).expect("id"))
        .expect("declared");
    programs.scopes_reaching(program)
}

async fn state(store: &Store, number: &str, reaching: &[Scope]) -> Option<State> {
    store
        .state_in(&msisdn(number), reaching)
        .await
        .expect("state")
}

async fn history(store: &Store, number: &str) -> Vec<HistoryEntry> {
    store.history(&msisdn(number), 100).await.expect("history")
}

async fn import(store: &Store, programs: &Programs) -> ImportConsentsReport {
    let parsed = parse_consents_csv(
        FILE.as_bytes(),
        "consents.csv",
        Region::US,
        programs,
        shared::domain::timestamp::now(),
    )
    .expect("parses");
    import_consents(store, &parsed, 4, |_, _| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_of_consents_never_ends_an_opt_out_and_a_rerun_writes_nothing() {
    let store = fresh_store().await;
    let programs = Programs::parse(PROGRAMS).expect("programs");
    let (alerts, deals) = (program(&programs, "alerts"), program(&programs, "deals"));
    store
        .record(&records::stop(
            &msisdn(STOPPED_LATER),
            "later",
            datetime!(2025-06-01 00:00 UTC),
        ))
        .await
        .expect("stop");
    store
        .record(&records::stop(
            &msisdn(STOPPED_BEFORE),
            "before",
            datetime!(2025-01-01 00:00 UTC),
        ))
        .await
        .expect("stop");
    let mut deals_stop = records::stop(
        &msisdn(DEALS_STOPPED),
        "deals",
        datetime!(2025-01-01 00:00 UTC),
    );
    deals_stop.scopes = vec![Scope::Program(ProgramId::parse("deals").expect("id"))];
    store.record(&deals_stop).await.expect("stop deals");

    let report = import(&store, &programs).await;
    assert_eq!(
        report,
        ImportConsentsReport {
            rows: 8,
            bad: 3,
            bad_rows: report.bad_rows.clone(),
            duplicate_rows: 1,
            added: 2,
            already: 0,
            superseded: 1,
            opt_out_stands: 1,
            failed: 0,
            ignored_columns: vec!["notes".into()],
            dry_run: false,
            error: None,
            elapsed_ms: report.elapsed_ms,
        }
    );
    let bad_lines: Vec<u64> = report.bad_rows.iter().map(|b| b.line).collect();
    assert_eq!(bad_lines, [7, 8, 9]);
    for bad in &report.bad_rows {
        assert!(!bad.reason.contains("55506"), "{}", bad.reason);
    }

    // Older than the opt-out: kept as history with its evidence, the opt-out stands.
    let stopped = state(&store, STOPPED_LATER, &alerts).await.expect("held");
    assert_eq!(
        (stopped.status, stopped.event_id.as_str()),
        (Status::OptedOut, "sms:later")
    );
    let entries = history(&store, STOPPED_LATER).await;
    let consent = entries
        .iter()
        .find(|e| e.event_id == "consent:import:alerts:2025-01-01T00:00:00.000Z")
        .expect("the consent is in history");
    // (`applied` may be true: the consent can set the alerts item while the opt-out kept for
    // every program, newer, still decides the status, as checked above.)
    let Origin::Consent(evidence) = &consent.origin else {
        panic!("not a consent: {:?}", consent.origin);
    };
    assert_eq!(evidence.channel, ConsentChannel::Paper);
    assert_eq!(evidence.agent_id.as_deref(), Some("agent-7"));
    assert_eq!(
        evidence.imported_from.as_deref(),
        Some("consents.csv:2 (OldCo)")
    );

    // Newer than the opt-out: not written at all; the person consents again through the API.
    let stopped = state(&store, STOPPED_BEFORE, &alerts).await.expect("held");
    assert_eq!(
        (stopped.status, stopped.event_id.as_str()),
        (Status::OptedOut, "sms:before")
    );
    let entries = history(&store, STOPPED_BEFORE).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(!entries.iter().any(|e| e.event_id.starts_with("consent:")));

    // A fresh number: subscribed to alerts with the row's channel.
    let fresh = state(&store, FRESH, &alerts).await.expect("held");
    assert_eq!(fresh.status, Status::Subscribed);
    assert_eq!(fresh.channel, Some(ConsentChannel::WebForm));
    assert_eq!(
        fresh.event_id,
        "consent:import:alerts:2025-03-01T12:00:00.000Z"
    );
    assert_eq!(history(&store, FRESH).await.len(), 1, "one fact, not two");
    assert!(state(&store, FRESH, &deals).await.is_none());

    // Another program's opt-out does not reach alerts: added there, deals stays opted out.
    let joined = state(&store, DEALS_STOPPED, &alerts).await.expect("held");
    assert_eq!(
        (joined.status, joined.channel),
        (Status::Subscribed, Some(ConsentChannel::Import))
    );
    let deals_state = state(&store, DEALS_STOPPED, &deals).await.expect("held");
    assert_eq!(deals_state.status, Status::OptedOut);

    // The bad rows wrote nothing.
    assert_eq!(history_count(&store, "14155550605").await, 0);
    assert_eq!(history_count(&store, "14155550606").await, 0);

    // Each record still agrees with its history (the evidence file's check).
    for number in [STOPPED_LATER, STOPPED_BEFORE, FRESH, DEALS_STOPPED] {
        let file = store
            .evidence(&[msisdn(number)], shared::domain::timestamp::now())
            .await
            .expect("evidence")
            .expect("held");
        assert!(file.check.ok, "{number}: {}", file.check.message);
    }

    // The same file again: nothing new, the opt-out still stands.
    let items = item_count(&store).await;
    let again = import(&store, &programs).await;
    assert_eq!(
        (
            again.added,
            again.already,
            again.superseded,
            again.opt_out_stands,
            again.failed
        ),
        (0, 3, 0, 1, 0),
        "{again:?}"
    );
    assert_eq!(item_count(&store).await, items);
}

/// Run the binary on `table` with the local server's settings and nothing else of ours.
async fn admin(table: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_optout-admin"))
        .args(args)
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("SECRET_ARNS")
        .env_remove("PROGRAMS")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("runs")
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("optout-admin-{:016x}-{name}", fastrand::u64(..)));
    std::fs::write(&path, contents).expect("temp file");
    path
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_consents_from_the_command_line_dry_run_bad_row_and_no_header() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    // Opted out before the file's consent: that row is not written.
    store
        .record(&records::stop(
            &msisdn("14155550704"),
            "before",
            datetime!(2025-01-01 00:00 UTC),
        ))
        .await
        .expect("stop");
    let file = temp_file(
        "consents.csv",
        "phone,consent_date,channel,wording\n\
         +1 415 555 0701,2025-02-03,keyword,JOIN\n\
         14155550702,2025-02-03,web_form,w\n\
         14155550704,2025-02-03,keyword,JOIN\n",
    );
    let file = file.to_str().expect("path");

    // The dry run checks every row and writes nothing.
    let out = admin(&table, &["import-consents", "--dry-run", file]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let dry = report(&out);
    assert_eq!(
        (&dry["dry_run"], &dry["rows"], &dry["bad"], &dry["added"]),
        (&Value::Bool(true), &3.into(), &1.into(), &0.into())
    );
    assert_eq!(item_count(&store).await, 2, "the STOP's items only");

    // The real run: the good row written, the bad one reported by line, masked; exit 2.
    let out = admin(&table, &["import-consents", file]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let written = report(&out);
    assert_eq!(
        (
            &written["added"],
            &written["opt_out_stands"],
            &written["bad"],
            &written["dry_run"]
        ),
        (&1.into(), &1.into(), &1.into(), &Value::Bool(false))
    );
    assert_eq!(written["bad_rows"][0]["line"], 3);
    assert_eq!(
        written["bad_rows"][0]["reason"],
        "a web_form consent needs url (the page or form) and ip"
    );
    assert!(
        stderr.contains("line 3: a web_form consent needs url"),
        "{stderr}"
    );
    // The row left out is named by its line, its number masked.
    assert!(
        stderr.contains("1 consents not written") && stderr.contains("\"line\":4"),
        "{stderr}"
    );
    for number in ["4155550701", "4155550702", "4155550704"] {
        assert!(!stderr.contains(number), "{stderr}");
    }
    let state = store
        .state(&Msisdn::from_provider("14155550701").expect("number"))
        .await
        .expect("state")
        .expect("held");
    assert_eq!(
        (state.status, state.channel, state.event_id.as_str()),
        (
            Status::Subscribed,
            Some(ConsentChannel::Keyword),
            "consent:import:default:2025-02-03T00:00:00.000Z"
        )
    );
    assert_eq!(item_count(&store).await, 4);

    // No header row: nothing read, exit 1.
    let headless = temp_file("headless.csv", "14155550703,2025-02-03,keyword,JOIN\n");
    let out = admin(
        &table,
        &["import-consents", headless.to_str().expect("path")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no header row"));
    assert_eq!(item_count(&store).await, 4);
}

#[tokio::test]
async fn a_store_that_is_down_stops_the_import_with_every_row_failed() {
    let store = unreachable_store("down");
    let programs = Programs::parse(PROGRAMS).expect("programs");
    let report = import(&store, &programs).await;
    assert!(report.error.is_some(), "{report:?}");
    assert_eq!(
        (report.added, report.already, report.failed),
        (0, 0, 4),
        "{report:?}"
    );
}
