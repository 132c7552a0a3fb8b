//! The `optout-admin` binary against the real local DynamoDB-compatible server: import, export,
//! status and reconcile, as an operator runs them.

use serde_json::Value;
use shared::domain::event::Status;
use std::path::PathBuf;
use std::process::Output;
use std::time::Instant;
use testkit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("optout-admin-{:016x}-{name}", fastrand::u64(..)));
    std::fs::write(&path, contents).unwrap();
    path
}

/// Run the binary on `table` with the local server's settings and nothing else of ours.
async fn admin(table: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_optout-admin"));
    cmd.args(args)
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("SECRET_ARNS")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv_text(bytes)
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

fn csv_text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

const FILE: &str = "\
msisdn,opt_out_date,source,notes
+1 415 555 0100,2024-01-02 03:04:05,oldco,first
(415) 555-0101,2024-02-03,,
14155550102,,,undated
15559301529,2023-05-06T07:08:09Z,legacy,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_export_round_trip_and_a_rerun_adds_nothing() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let file = temp_file("optouts.csv", FILE.as_bytes());
    let file_arg = file.to_str().unwrap();

    let out = admin(&table, &["import", file_arg], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["rows"], 4);
    assert_eq!(report["added"], 4);
    assert_eq!(report["bad"], 0);
    assert_eq!(report["ignored_columns"], serde_json::json!(["notes"]));
    assert!(stderr(&out).contains("ignored columns: notes"));
    let items = item_count(&store).await;
    assert_eq!(items, 8);

    // The same file again: nothing new.
    let again = admin(&table, &["import", file_arg], &[]).await;
    assert_eq!(again.status.code(), Some(0));
    let report = stdout_json(&again);
    assert_eq!(
        (report["added"].as_u64(), report["already"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(item_count(&store).await, items);

    // Export: number order, dates as stored, the undated one empty, importable as is.
    let out = admin(&table, &["export", "list"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&out.stdout);
    assert_eq!(
        rows[0],
        ["msisdn", "opt_out_date", "source", "event_id", "program"]
    );
    // Without programs the program column is empty: every program, as imported.
    assert!(rows[1..].iter().all(|r| r[4].is_empty()), "{rows:?}");
    let got: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "14155550100",
                "2024-01-02T03:04:05.000Z",
                "import:2024-01-02T03:04:05.000Z"
            ),
            (
                "14155550101",
                "2024-02-03T00:00:00.000Z",
                "import:2024-02-03T00:00:00.000Z"
            ),
            ("14155550102", "", "import:undated"),
            (
                "15559301529",
                "2023-05-06T07:08:09.000Z",
                "import:2023-05-06T07:08:09.000Z"
            ),
        ]
    );
    assert!(rows[1..].iter().all(|r| r[2] == "import"));

    // Round trip: the export imported into another table exports the same list.
    let other = fresh_store().await;
    let exported = temp_file("export.csv", &out.stdout);
    let out2 = admin(
        other.table_name(),
        &["import", exported.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out2.status.code(), Some(0), "{}", stderr(&out2));
    assert_eq!(stdout_json(&out2)["added"], 4);
    let path = std::env::temp_dir().join(format!("optout-export-{:x}.csv", fastrand::u64(..)));
    let out3 = admin(
        other.table_name(),
        &["export", "list", "--output", path.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out3.status.code(), Some(0), "{}", stderr(&out3));
    assert_eq!(std::fs::read(&path).unwrap(), out.stdout);

    // Status of one number: state and history with the evidence.
    let out = admin(&table, &["status", "+1 (415) 555-0100"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = stdout_json(&out);
    assert_eq!(status["status"], "opted_out");
    assert_eq!(status["state"]["source"], "import");
    let history = status["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["details"]["original_source"], "oldco");
    assert_eq!(history[0]["details"]["line"], "2");

    // History between two dates: only January 2024.
    let out = admin(
        &table,
        &[
            "export",
            "history",
            "--from",
            "2024-01-01",
            "--to",
            "2024-02-01",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = csv_text(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("msisdn,occurred_at,kind,event_id,source,applied"));
    assert!(lines[1].starts_with(
        "14155550100,2024-01-02T03:04:05.000Z,opt_out,import:2024-01-02T03:04:05.000Z,import,true"
    ));
    let out = admin(
        &table,
        &[
            "export",
            "history",
            "--from",
            "1970-01-01",
            "--to",
            "2030-01-01",
        ],
        &[],
    )
    .await;
    assert_eq!(csv_text(&out.stdout).lines().count(), 5);

    for f in [file, exported, path] {
        let _ = std::fs::remove_file(f);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_reported_by_line_and_skipped() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let mut text = b"14155550110,2024-01-01\n\
4155550111\n\
not-a-number,2024-01-01\n\
14155550112,yesterday\n\
14155550113,2999-01-01\n\
14155550114,2024-01-01,src,extra\n\
,2024-01-01\n\
# a comment\n"
        .to_vec();
    text.extend_from_slice(b"1415555\xff0115\n14155550116,2024-13-45\n");
    let file = temp_file("bad.csv", &text);
    let file_arg = file.to_str().unwrap();

    // A dry run reports the same and writes nothing.
    let dry = admin(&table, &["import", "--dry-run", file_arg], &[]).await;
    assert_eq!(dry.status.code(), Some(2), "{}", stderr(&dry));
    assert_eq!(stdout_json(&dry)["bad"], 7);
    assert_eq!(item_count(&store).await, 0);

    let out = admin(&table, &["import", file_arg], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(
        (report["rows"].as_u64(), report["bad"].as_u64()),
        (Some(9), Some(7))
    );
    assert_eq!(report["added"], 2);
    let lines: Vec<u64> = report["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 9, 10]);
    let err = stderr(&out);
    for line in [3, 4, 5, 6, 7, 9, 10] {
        assert!(err.contains(&format!("line {line}: ")), "{err}");
    }
    assert!(err.contains("in the future") && err.contains("unreadable opt-out date"));
    for digits in ["4155550112", "4155550113", "4155550114"] {
        assert!(!err.contains(digits), "full number in: {err}");
    }
    // Good rows in, bad rows not at all.
    assert_eq!(
        store
            .state(&msisdn("14155550111"))
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::OptedOut
    );
    for digits in ["14155550112", "14155550113", "14155550114", "14155550116"] {
        assert_eq!(
            store.state(&msisdn(digits)).await.unwrap(),
            None,
            "{digits}"
        );
    }
    assert_eq!(item_count(&store).await, 4);
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_command_lines_and_unknown_numbers() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let out = admin(&table, &["status", "14155550199"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = stdout_json(&out);
    assert_eq!(status["status"], "unknown");
    assert_eq!(status["history"], serde_json::json!([]));
    let out = admin(&table, &["status", "not a number"], &[]).await;
    assert_eq!(out.status.code(), Some(64));
    let out = admin(
        &table,
        &[
            "export",
            "history",
            "--from",
            "2024-02-01",
            "--to",
            "2024-01-01",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(64));
    let out = admin(&table, &["import", "/nonexistent/file.csv"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let header_only = temp_file("h.csv", b"date,source\n2024-01-01,x\n");
    let out = admin(&table, &["import", header_only.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no number column"));
    let _ = std::fs::remove_file(header_only);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppression_export_lists_exactly_the_opted_out_numbers_as_plus_e164() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let file = temp_file("optouts.csv", FILE.as_bytes());
    let out = admin(&table, &["import", file.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // One of them resubscribes: it leaves the list.
    let resub = shared::domain::event::Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn("14155550101"),
        kind: shared::domain::event::EventKind::Resubscribe,
        event_id: "resub:S".into(),
        occurred_at: shared::domain::timestamp::now(),
        received_at: shared::domain::timestamp::now(),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    store.record(&resub).await.unwrap();

    let out = admin(&table, &["export", "suppression"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        csv_text(&out.stdout),
        "phone_number\n+14155550100\n+14155550102\n+15559301529\n"
    );
    assert!(stderr(&out).contains("exported 3 rows"), "{}", stderr(&out));
    let path = std::env::temp_dir().join(format!("suppression-{:016x}.csv", fastrand::u64(..)));
    let out = admin(
        &table,
        &["export", "suppression", "--output", path.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    // An empty table: the header alone.
    let empty = fresh_store().await;
    let out = admin(empty.table_name(), &["export", "suppression"], &[]).await;
    assert_eq!(csv_text(&out.stdout), "phone_number\n");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_prints_the_file_as_json_or_text_and_exits_3_when_the_check_fails() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let file = temp_file("optouts.csv", FILE.as_bytes());
    let out = admin(&table, &["import", file.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = admin(&table, &["evidence", "+1 415 555 0100"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = stdout_json(&out);
    assert_eq!(json["msisdn"], "14155550100");
    assert_eq!(json["state"]["status"], "opted_out");
    assert_eq!(json["check"]["result"], "consistent");
    assert_eq!(json["timeline"][0]["category"], "import");
    assert_eq!(json["timeline"][0]["item"]["details"]["line"], "2");

    let out = admin(
        &table,
        &["evidence", "15559301529", "--format", "text"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Evidence file for +15559301529"), "{text}");
    assert!(text.contains("State check: OK (consistent)"), "{text}");
    assert!(text.contains("[import] opt-out: imported"), "{text}");

    // A state item that history does not back: printed, flagged, exit 3.
    store
        .client()
        .delete_item()
        .table_name(store.table_name())
        .set_key(Some(
            shared::adapters::store::schema::Key::history(&msisdn("14155550102"), "import:undated")
                .item(),
        ))
        .send()
        .await
        .unwrap();
    let out = admin(&table, &["evidence", "14155550102"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        stdout_json(&out)["check"]["result"],
        "state_without_history"
    );
    assert!(stderr(&out).contains("no history entry could have set it"));

    let out = admin(&table, &["evidence", "14155550199"], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out)["check"]["result"], "no_record");
    let out = admin(&table, &["evidence", "not a number"], &[]).await;
    assert_eq!(out.status.code(), Some(64));
    let out = admin(&table, &["evidence", "14155550100", "--format", "xml"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(64),
        "a bad command line, as documented"
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_on_demand_against_a_vonage_stand_in() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let server = MockServer::start().await;
    let documented = vonage_reference("us-short-codes/subscription_response-format_1_query.json");
    Mock::given(method("POST"))
        .and(path("/sc/us/alert/opt-in/query/json"))
        .and(wiremock::matchers::body_string_contains("page=0"))
        .respond_with(ResponseTemplate::new(200).set_body_string(documented))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sc/us/alert/opt-in/query/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"opt-in-count":"3","opt-in-list":[]}"#),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let env = [
        ("VONAGE_API_BASE_URL", uri.as_str()),
        ("VONAGE_API_KEY", "key"),
        ("VONAGE_API_SECRET", "s3cret-value"),
    ];
    let out = admin(&table, &["reconcile"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["complete"], true);
    assert_eq!(
        (report["added"].as_u64(), report["pages"].as_u64()),
        (Some(3), Some(2))
    );
    let err = stderr(&out);
    assert!(err.contains("reconcile run finished"), "{err}");
    assert!(!err.contains("s3cret-value") && !err.contains("15558937009"));
    let again = admin(&table, &["reconcile"], &env).await;
    assert_eq!(stdout_json(&again)["already"], 3);
    // Without credentials it says so and does nothing.
    let out = admin(
        &table,
        &["reconcile"],
        &[("VONAGE_API_BASE_URL", uri.as_str())],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("VONAGE_API_KEY"));
}

/// Measurement, run by hand: `cargo test -p optout-admin --release --test integration --
/// --ignored --nocapture`. 100,000 rows into an empty table, then the same file again. Prints
/// the times; asserts only correctness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_import_100k() {
    let n = 100_000u64;
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let mut text = String::from("msisdn,opt_out_date,source\n");
    for i in 0..n {
        text.push_str(&format!(
            "1{:010},2025-{:02}-{:02} 12:00:00,oldco\n",
            3_000_000_000 + i,
            1 + i % 12,
            1 + i % 28
        ));
    }
    let file = temp_file("100k.csv", text.as_bytes());
    let started = Instant::now();
    let out = admin(&table, &["import", file.to_str().unwrap()], &[]).await;
    let first = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["added"], n);
    println!("import 100k rows, empty table: {first:?}");
    let started = Instant::now();
    let out = admin(&table, &["import", file.to_str().unwrap()], &[]).await;
    println!("import 100k rows again: {:?}", started.elapsed());
    assert_eq!(stdout_json(&out)["already"], n);
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_stuck_lists_unsettled_claims_for_a_person() {
    use shared::adapters::store::replies::{OwedReply, Settle};
    use shared::domain::replies::ReplyKind;
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let out = admin(&table, &["replies", "stuck"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // HELP replies: a confirmation would also need the number's state in the table.
    let owed = |n: &str, id: &str| OwedReply {
        msisdn: msisdn(n),
        event_id: id.into(),
        kind: ReplyKind::Help,
        from: "16105553939".into(),
        text: "Acme: help at help@acme.example".into(),
        order: format!("2026-12-01T00:00:00.000Z#1#{id}"),
        scopes: vec![shared::domain::program::Scope::Every],
        wider: Vec::new(),
    };
    let lease = shared::domain::timestamp::now() + time::Duration::minutes(1);
    // A claim that was never settled, one whose outcome is unknown, and one sent.
    store
        .claim_reply(&owed("14155550301", "sms:A"), lease)
        .await
        .unwrap();
    store
        .claim_reply(&owed("14155550302", "sms:B"), lease)
        .await
        .unwrap();
    store
        .settle_reply(
            &msisdn("14155550302"),
            "sms:B",
            &Settle::Unknown {
                detail: "timed out".into(),
            },
        )
        .await
        .unwrap();
    store
        .claim_reply(&owed("14155550303", "sms:C"), lease)
        .await
        .unwrap();
    store
        .settle_reply(
            &msisdn("14155550303"),
            "sms:C",
            &Settle::Sent {
                message_ids: vec!["M".into()],
            },
        )
        .await
        .unwrap();
    // Fresh claims are still in flight: only the unknown one is listed.
    let out = admin(&table, &["replies", "stuck"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], "unknown");
    // With no grace period, the unsettled claim too.
    let out = admin(
        &table,
        &["replies", "stuck", "--older-than-minutes", "0"],
        &[],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("\"claimed\"") && text.contains("sms:A") && !text.contains("sms:C"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_name_a_program_and_list_what_reaches_it() {
    use shared::domain::program::{ProgramId, Scope};
    const PROGRAMS: &str = r#"[{"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"]},
        {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"]}]"#;
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let at = time::macros::datetime!(2026-12-01 12:00 UTC);
    let scoped = |mut event: shared::domain::event::Event, scope: Scope| {
        event.scopes = vec![scope];
        event
    };
    let deals = Scope::Program(ProgramId::parse("deals").unwrap());
    // 0111 opted out of deals alone; 0112 of everything, then resubscribed to deals.
    store
        .record(&scoped(
            testkit::records::stop(&msisdn("14155550111"), "X1", at),
            deals.clone(),
        ))
        .await
        .unwrap();
    store
        .record(&testkit::records::stop(&msisdn("14155550112"), "X2", at))
        .await
        .unwrap();
    store
        .record(&scoped(
            testkit::records::resubscribe(
                &msisdn("14155550112"),
                "X3",
                at + time::Duration::hours(1),
            ),
            deals.clone(),
        ))
        .await
        .unwrap();
    let env = [("PROGRAMS", PROGRAMS)];
    let export = |args: &'static [&'static str]| {
        let table = table.clone();
        async move {
            let out = admin(&table, args, &env).await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            csv_text(&out.stdout)
        }
    };
    assert_eq!(
        export(&["export", "suppression", "--program", "deals"]).await,
        "phone_number\n+14155550111\n"
    );
    assert_eq!(
        export(&["export", "suppression"]).await,
        "phone_number\n+14155550112\n"
    );
    let list = export(&["export", "list", "--program", "alerts"]).await;
    assert!(
        list.starts_with("msisdn,opt_out_date,source,event_id,program\n14155550112,"),
        "{list}"
    );
    assert!(list.trim_end().ends_with(",alerts"), "{list}");
    // The deals list re-imports into another table as deals' opt-outs alone.
    let deals_list = export(&["export", "list", "--program", "deals"]).await;
    let file = std::env::temp_dir().join(format!("deals-{:016x}.csv", fastrand::u64(..)));
    std::fs::write(&file, &deals_list).unwrap();
    let other = fresh_store().await;
    let file_arg = file.to_string_lossy().into_owned();
    let out = admin(other.table_name(), &["import", &file_arg], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let _ = std::fs::remove_file(&file);
    let states = other.scoped_states(&msisdn("14155550111")).await.unwrap();
    assert_eq!(
        states
            .iter()
            .map(|(scope, s)| (scope.clone(), s.status))
            .collect::<Vec<_>>(),
        [(deals.clone(), Status::OptedOut)],
        "{deals_list}"
    );
    assert_eq!(list.lines().count(), 2, "{list}");
    let out = admin(&table, &["export", "list", "--program", "weekly"], &env).await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
}

/// `migrate` from the command line: refused without programs or with an unknown one (64); the
/// dry run's report; the run's, exit 0, and the old opt-out kept for the program assigned.
#[tokio::test]
async fn migrate_from_the_command_line() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let n = msisdn("14155550961");
    store
        .record(&records::stop(
            &n,
            "sms:MIG1",
            time::macros::datetime!(2026-01-01 10:00 UTC),
        ))
        .await
        .unwrap();
    // Programs turned on after that STOP was written: any later cutoff.
    let args = [
        "migrate",
        "--to",
        "alerts",
        "--written-before",
        "2099-01-01",
    ];
    let out = admin(&table, &args, &[]).await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(stderr(&out).contains("PROGRAMS is not set"));
    let programs = [(
        "PROGRAMS",
        r#"[{"id": "alerts", "name": "Acme Alerts"}, {"id": "deals", "name": "Acme Deals"}]"#,
    )];
    let out = admin(
        &table,
        &["migrate", "--to", "news", "--written-before", "2026-12-01"],
        &programs,
    )
    .await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));

    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = admin(&table, &dry, &programs).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["before"]["to_move"], 1);
    assert_eq!(report["after"], Value::Null);
    assert_eq!(report["moved"], 0);

    let out = admin(&table, &args, &programs).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["moved"], 1, "{report}");
    assert_eq!(report["after"]["program_opted_out"], 1, "{report}");
    let status = admin(&table, &["status", "+14155550961"], &[]).await;
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let states = store.scoped_states(&n).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].1.status, Status::OptedOut);
}

#[tokio::test]
async fn forget_keeps_the_opt_out_and_hashes_the_message_from_the_command_line() {
    let store = fresh_store().await;
    let table = store.table_name().to_string();
    let n = msisdn("14155550177");
    let at = shared::domain::timestamp::now() - time::Duration::hours(1);
    let mut stop = testkit::records::stop(&n, "0F0177", at);
    stop.origin = testkit::records::message("0F0177", "STOP", "stop it, Jane Roe here");
    store.record(&stop).await.unwrap();

    let out = admin(&table, &["forget", "+1 415 555 0177", "--dry-run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dry = stdout_json(&out);
    assert_eq!(
        (dry["items_redacted"].as_u64(), dry["dry_run"].as_bool()),
        (Some(1), Some(true))
    );
    let history = store.history(&n, 5).await.unwrap();
    assert_eq!(
        history[0].origin.message().map(|m| m.text.as_str()),
        Some("stop it, Jane Roe here")
    );

    let out = admin(&table, &["forget", "+1 415 555 0177"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["values_hashed"], 1);
    let history = store.history(&n, 5).await.unwrap();
    let text = history[0]
        .origin
        .message()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(text.starts_with("sha256:"), "{text}");
    assert_eq!(
        store.state(&n).await.unwrap().map(|s| s.status),
        Some(Status::OptedOut)
    );
    let out = admin(&table, &["forget", "not a number"], &[]).await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
}

#[tokio::test]
async fn keys_are_made_listed_and_revoked_from_the_command_line_and_a_key_is_printed_once() {
    let file = temp_file("api-keys.json", b"[]");
    let path = file.to_str().unwrap();
    let out = admin(
        "unused",
        &[
            "keys",
            "add",
            "--name",
            "braze-sender",
            "--role",
            "sender",
            "--file",
            path,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let made = stdout_json(&out);
    let key = made["key"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with("ok_"), "{made}");
    assert!(stderr(&out).contains("printed once"));
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(&key));
    let keys = shared::domain::access::Keys::new(Some(&stored), &[]).unwrap();
    assert_eq!(
        keys.caller(key.as_bytes()).map(|c| c.role),
        Some(shared::domain::access::Role::Sender)
    );
    let out = admin("unused", &["keys", "list", "--file", path], &[]).await;
    assert_eq!(stdout_json(&out)[0]["name"], "braze-sender");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sha256"));
    let out = admin(
        "unused",
        &[
            "keys", "add", "--name", "x", "--role", "god", "--file", path,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    let out = admin(
        "unused",
        &["keys", "revoke", "--name", "braze-sender", "--file", path],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = admin(
        "unused",
        &["keys", "revoke", "--name", "braze-sender", "--file", path],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(64));
}
