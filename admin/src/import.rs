//! Import for migrations: a CSV of opt-outs from another provider becomes opt-outs with source
//! `import` (`optout-admin import`). The way out is [`crate::export`].
//!
//! Import CSV: one number per row, columns `msisdn[,opt_out_date[,source[,program]]]`. A header
//! row is optional; with one, columns are found by name (`msisdn`/`phone`/`phone_number`/
//! `number`/`mobile`, `opt_out_date`/`date`, `source`, `program`; others are ignored and listed
//! in the report). `program` is a declared program's id; empty or `all` ends every program (the
//! careful reading of a file that does not say).
//! Numbers are read as a person writes them (`+1 415 555 0100`, `(415) 555-0100` with the
//! default country) or as E.164 digits. Dates: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or
//! `YYYY-MM-DD` (midnight UTC); empty means unknown. Lines starting with `#` are comments.
//!
//! - Each row is one fact with event id `import:<date>`, or `import:<program>:<date>` for one
//!   program (`import:undated` without a date, dated the
//!   UNIX epoch so it never overrides an event of ours but creates the opt-out when we hold
//!   nothing). Rows are decided and written by [`shared::domain::bulk`]: numbers we hold as opted out are
//!   left alone (`already`), numbers a person resubscribed after the row's date are not written
//!   and are reported (`ours_newer`). Re-running the same file adds nothing.
//! - A bad row (no or invalid number, unreadable or future date, too many columns, bad source,
//!   invalid UTF-8) is reported with its line number and skipped; every other row is imported.
//!   The whole file is parsed before anything is written.
//! - The same number and date twice in a file is one fact (`duplicate_rows`).

use serde::Serialize;
use shared::adapters::store::bulk::{self, BulkResult};
use shared::adapters::store::{Store, StoreError};
use shared::domain::event::{Event, EventKind};
use shared::domain::msisdn::Region;
use shared::domain::msisdn::{mask, Msisdn};
use shared::domain::origin::{ImportedRow, Origin};
use shared::domain::program::{ProgramId, Programs, Scope};
use shared::domain::timestamp;
use std::collections::HashSet;
use std::io::Read;
use std::time::Instant;
use time::{Date, OffsetDateTime};

/// History `source` of imported opt-outs.
pub const SOURCE: &str = "import";
/// Rows decided and written together (states read 100 at a time, written 50 to a transaction).
pub const CHUNK_ROWS: usize = 1000;
/// Longest accepted `source` value.
const MAX_SOURCE_CHARS: usize = 64;
/// A date up to this far in the future is clock skew; further is a bad row.
pub const FUTURE_SKEW: time::Duration = time::Duration::days(1);
/// Bad rows kept in the report with their reasons (all are counted).
pub const MAX_REPORTED_BAD_ROWS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the CSV: {0}")]
    Read(String),
    #[error("the header row has no number column (msisdn, phone, phone_number or number)")]
    NoNumberColumn,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the CSV: {0}")]
    Write(String),
}

/// One good row.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// 1-based line number in the file.
    pub line: u64,
    pub event: Event,
}

/// One bad row: its line and why (never the full number).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// A parsed file.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub rows: Vec<ImportRow>,
    pub bad: Vec<BadRow>,
    /// Rows repeating the number and date of an earlier row.
    pub duplicate_rows: u64,
    pub header: bool,
    /// Header columns that were not used.
    pub ignored_columns: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    /// Data rows read (good, bad and duplicate).
    pub rows: u64,
    pub bad: u64,
    /// The first [`MAX_REPORTED_BAD_ROWS`] bad rows.
    pub bad_rows: Vec<BadRow>,
    pub duplicate_rows: u64,
    /// New opt-outs recorded.
    pub added: u64,
    /// Numbers we already hold as opted out: nothing written.
    pub already: u64,
    /// Numbers resubscribed after the row's date: not written.
    pub ours_newer: u64,
    /// Written as history only: a newer event for the number arrived during the import.
    pub superseded: u64,
    /// Rows not written because a write failed (the import stopped; running it again completes it).
    pub failed: u64,
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Which column holds what.
#[derive(Debug, Clone, Copy)]
struct Columns {
    msisdn: usize,
    date: Option<usize>,
    source: Option<usize>,
    program: Option<usize>,
    /// Without a header, more fields than these four is a bad row.
    max_fields: Option<usize>,
}

const POSITIONAL: Columns = Columns {
    msisdn: 0,
    date: Some(1),
    source: Some(2),
    program: Some(3),
    max_fields: Some(4),
};

fn column_role(name: &str) -> Option<&'static str> {
    let n = name
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase();
    match n.replace([' ', '-'], "_").as_str() {
        "msisdn" | "phone" | "phone_number" | "number" | "mobile" => Some("msisdn"),
        "opt_out_date" | "opted_out_at" | "opt_out_at" | "date" => Some("date"),
        "source" => Some("source"),
        "program" | "program_id" => Some("program"),
        _ => None,
    }
}

/// Parse a whole CSV. `file` names it in each event's details; `region` reads numbers written
/// without a country code; `now` bounds dates. Only an unreadable file or a header without a
/// number column is an error: every other problem is a bad row.
pub fn parse_csv<R: Read>(
    mut reader: R,
    file: &str,
    region: Region,
    programs: &Programs,
    now: OffsetDateTime,
) -> Result<ParsedFile, ImportError> {
    // Read it whole (100,000 rows are a few MB): line numbers are counted from the bytes, because
    // the CSV reader's own count leaves out blank lines.
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| ImportError::Read(e.to_string()))?;
    let lines = LineNumbers::new(&bytes);
    let line_at = |byte: u64| lines.at(byte);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut parsed = ParsedFile::default();
    let mut columns: Option<Columns> = None;
    let mut seen_facts: HashSet<(String, String)> = HashSet::new();
    let received_at = timestamp::now();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = line_at(csv.position().byte());
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A malformed record (e.g. bad quoting) is a bad row; an I/O error ends the read.
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(ImportError::Read(io.to_string()));
                }
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(line);
                parsed.bad.push(BadRow {
                    line,
                    reason: "malformed CSV record".into(),
                });
                continue;
            }
        }
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(line);
        // Comments are skipped here rather than by the reader, whose line count leaves them out.
        if is_comment(&record) {
            continue;
        }
        let fields = trimmed_fields(&record);
        if columns.is_none() {
            let roles: Vec<Option<&'static str>> =
                fields.iter().map(|f| f.and_then(column_role)).collect();
            if roles.iter().any(Option::is_some) {
                let find = |role: &str| roles.iter().position(|r| *r == Some(role));
                let msisdn = find("msisdn").ok_or(ImportError::NoNumberColumn)?;
                columns = Some(Columns {
                    msisdn,
                    date: find("date"),
                    source: find("source"),
                    program: find("program"),
                    max_fields: None,
                });
                parsed.header = true;
                parsed.ignored_columns = fields
                    .iter()
                    .zip(&roles)
                    .filter(|(_, r)| r.is_none())
                    .map(|(f, _)| f.unwrap_or("(not UTF-8)").to_owned())
                    .collect();
                continue;
            }
            columns = Some(POSITIONAL);
        }
        let cols = columns.unwrap_or(POSITIONAL);
        let row = Row {
            file,
            line,
            region,
            programs,
            now,
            received_at,
        };
        match parse_row(&fields, cols, &row) {
            Ok(event) => {
                let fact = (event.msisdn.as_str().to_owned(), event.event_id.clone());
                if seen_facts.insert(fact) {
                    parsed.rows.push(ImportRow { line, event });
                } else {
                    parsed.duplicate_rows += 1;
                }
            }
            Err(reason) => parsed.bad.push(BadRow { line, reason }),
        }
    }
    Ok(parsed)
}

/// 1-based line numbers of a CSV read whole (shared with `import_consents`): counted from the
/// bytes, because the CSV reader's own count leaves out blank lines.
pub struct LineNumbers<'a> {
    bytes: &'a [u8],
    newlines: Vec<u64>,
}

impl<'a> LineNumbers<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let newlines = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i as u64)
            .collect();
        Self { bytes, newlines }
    }

    /// The line of the record the CSV reader places at `byte`.
    pub fn at(&self, byte: u64) -> u64 {
        // A record's position can be the start of the blank lines before it: step over those.
        let mut at = usize::try_from(byte).unwrap_or(usize::MAX);
        while matches!(self.bytes.get(at), Some(b'\n' | b'\r')) {
            at += 1;
        }
        self.newlines.partition_point(|&n| n < at as u64) as u64 + 1
    }
}

/// Whether a record is a comment (its first field starts with `#`).
pub fn is_comment(record: &csv::ByteRecord) -> bool {
    record
        .get(0)
        .is_some_and(|f| f.trim_ascii_start().starts_with(b"#"))
}

/// A record's fields, trimmed; `None` for a field that is not UTF-8.
pub fn trimmed_fields(record: &csv::ByteRecord) -> Vec<Option<&str>> {
    record
        .iter()
        .map(|f| std::str::from_utf8(f).ok().map(str::trim))
        .collect()
}

/// Where a row is read: its file and line, and what its fields are read against.
struct Row<'a> {
    file: &'a str,
    line: u64,
    region: Region,
    programs: &'a Programs,
    now: OffsetDateTime,
    received_at: OffsetDateTime,
}

fn parse_row(fields: &[Option<&str>], cols: Columns, row: &Row<'_>) -> Result<Event, String> {
    let Row {
        file,
        line,
        region,
        programs,
        now,
        received_at,
    } = *row;
    if fields.iter().any(Option::is_none) {
        return Err("not valid UTF-8".into());
    }
    if let Some(max) = cols.max_fields {
        if fields.len() > max {
            return Err(format!(
                "{} columns; expected msisdn[,opt_out_date[,source[,program]]]",
                fields.len()
            ));
        }
    }
    let field = |i: Option<usize>| {
        i.and_then(|i| fields.get(i).copied().flatten())
            .unwrap_or("")
    };
    let number = field(Some(cols.msisdn));
    if number.is_empty() {
        return Err("no number".into());
    }
    let msisdn = parse_number(number, region)
        .map_err(|e| format!("invalid number {}: {e}", mask(number)))?;
    let date_text = field(cols.date);
    let date = if date_text.is_empty() {
        None
    } else {
        let date = parse_date(date_text)
            // Masked like a number: a misplaced column may put a phone number here.
            .ok_or_else(|| format!("unreadable opt-out date {:?} (use RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)", mask(date_text)))?;
        if date > now + FUTURE_SKEW {
            return Err(format!("opt-out date {date_text:?} is in the future"));
        }
        Some(date)
    };
    let source = field(cols.source);
    if source.chars().count() > MAX_SOURCE_CHARS || source.chars().any(char::is_control) {
        return Err(format!(
            "source is longer than {MAX_SOURCE_CHARS} characters or has control characters"
        ));
    }
    let program = field(cols.program);
    let scope = if program.is_empty() || program.eq_ignore_ascii_case("all") {
        Scope::Every
    } else {
        ProgramId::parse(program)
            .ok()
            .and_then(|id| programs.get(&id))
            .map(|p| programs.own_scope(p))
            .ok_or_else(|| {
                let ids: Vec<&str> = programs.all().iter().map(|p| p.id.as_str()).collect();
                format!(
                    "unknown program {:?} (declared: {}; empty or all: every program)",
                    program.chars().take(32).collect::<String>(),
                    ids.join(", ")
                )
            })?
    };
    Ok(import_event(
        msisdn,
        date,
        source,
        scope,
        file,
        line,
        received_at,
    ))
}

/// A number as an operator's file writes it: the way a person types it (with `region` for
/// numbers without a country code), else E.164 digits as a provider sends them.
pub fn parse_number(
    text: &str,
    region: Region,
) -> Result<Msisdn, shared::domain::msisdn::MsisdnError> {
    Msisdn::parse(text, region).or_else(|e| Msisdn::from_provider(text).map_err(|_| e))
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC, any spacing) or `YYYY-MM-DD` (midnight UTC),
/// truncated to milliseconds (what the table stores).
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let t = text.trim();
    let parsed = timestamp::parse_rfc3339(t)
        .or_else(|| shared::domain::timestamp::parse_vonage_date(t))
        .or_else(|| {
            Date::parse(t, time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
                .map(|d| d.midnight().assume_utc())
        })?;
    let utc = parsed.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(utc.nanosecond() / 1_000_000 * 1_000_000)
        .ok()
}

/// The opt-out one row stands for.
pub fn import_event(
    msisdn: Msisdn,
    date: Option<OffsetDateTime>,
    original_source: &str,
    scope: Scope,
    file: &str,
    line: u64,
    received_at: OffsetDateTime,
) -> Event {
    let (occurred_at, id) = match date {
        Some(d) => (d, timestamp::format(d)),
        None => (OffsetDateTime::UNIX_EPOCH, "undated".to_owned()),
    };
    let event_id = match &scope {
        Scope::Program(program) => format!("{SOURCE}:{program}:{id}"),
        _ => format!("{SOURCE}:{id}"),
    };
    Event {
        scopes: vec![scope],
        msisdn,
        kind: EventKind::OptOut,
        event_id,
        occurred_at,
        received_at,
        origin: Origin::Import(ImportedRow {
            file: file.to_string(),
            line: line.to_string(),
            original_source: (!original_source.is_empty()).then(|| original_source.to_string()),
            extra: Default::default(),
        }),
    }
}

/// Write the parsed rows, [`CHUNK_ROWS`] at a time; `progress(done, total)` after each chunk.
/// Stops at the first chunk with a failed write (`error`, `failed`); a re-run completes it.
pub async fn import(
    store: &Store,
    parsed: &ParsedFile,
    programs: &Programs,
    concurrency: usize,
    mut progress: impl FnMut(usize, usize),
) -> ImportReport {
    let started = Instant::now();
    let mut report = summary(parsed, false);
    let total = parsed.rows.len();
    let mut done = 0;
    for chunk in parsed.rows.chunks(CHUNK_ROWS) {
        for (scopes, rows) in group_by_scopes(chunk, |row| &row.event.scopes) {
            let reaching = match scopes {
                [Scope::Program(id)] => programs
                    .get(id)
                    .map(|p| programs.scopes_reaching(p))
                    .unwrap_or_else(|| scopes.to_vec()),
                _ => scopes.to_vec(),
            };
            let numbers: Vec<Msisdn> = rows.iter().map(|r| r.event.msisdn.clone()).collect();
            let states = match store.states_parallel(&numbers, &reaching, 1).await {
                Ok(states) => states,
                Err(e) => {
                    report.error = Some(e.to_string());
                    break;
                }
            };
            let events: Vec<Event> = rows.iter().map(|r| r.event.clone()).collect();
            let results = bulk::apply(store, &events, &states, concurrency).await;
            for (row, result) in rows.iter().zip(results) {
                match result {
                    BulkResult::Added => report.added += 1,
                    BulkResult::AlreadyOptedOut => report.already += 1,
                    BulkResult::Superseded => report.superseded += 1,
                    BulkResult::OursIsNewer(state) => {
                        report.ours_newer += 1;
                        tracing::info!(
                            line = row.line,
                            msisdn = %row.event.msisdn,
                            ours_since = %state.since,
                            "import: resubscribed after this row's date; not written"
                        );
                    }
                    BulkResult::Failed(e) => {
                        report.failed += 1;
                        report.error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }
        done += chunk.len();
        progress(done, total);
        if report.error.is_some() {
            // A chunk that failed part way is counted whole: a re-run completes it.
            let written = report.added + report.already + report.ours_newer + report.superseded;
            report.failed = (total as u64).saturating_sub(written);
            break;
        }
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// Rows grouped by the scopes they are decided against (rows for one program against that
/// program's status), in the order each group first appears.
pub fn group_by_scopes<'a, R>(
    rows: &'a [R],
    scopes: impl Fn(&'a R) -> &'a [Scope],
) -> Vec<(&'a [Scope], Vec<&'a R>)> {
    let mut groups: Vec<(&[Scope], Vec<&R>)> = Vec::new();
    for row in rows {
        let key = scopes(row);
        match groups.iter_mut().find(|(s, _)| *s == key) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    groups
}

/// What every import's report starts with, from its parse: the data rows read (good, bad and
/// duplicate), how many were bad, and the first [`MAX_REPORTED_BAD_ROWS`] of them.
pub fn row_counts(good: usize, bad: &[BadRow], duplicate_rows: u64) -> (u64, u64, Vec<BadRow>) {
    (
        (good + bad.len()) as u64 + duplicate_rows,
        bad.len() as u64,
        bad.iter().take(MAX_REPORTED_BAD_ROWS).cloned().collect(),
    )
}

/// The report of a parse alone (`--dry-run`), or the start of an import's.
pub fn summary(parsed: &ParsedFile, dry_run: bool) -> ImportReport {
    let (rows, bad, bad_rows) = row_counts(parsed.rows.len(), &parsed.bad, parsed.duplicate_rows);
    ImportReport {
        rows,
        bad,
        bad_rows,
        duplicate_rows: parsed.duplicate_rows,
        ignored_columns: parsed.ignored_columns.clone(),
        dry_run,
        ..ImportReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00:00 UTC);

    #[test]
    fn a_program_column_names_the_program_a_row_ends_and_empty_or_all_ends_every_one() {
        let programs = Programs::parse(
            r#"[{"id": "alerts", "name": "Acme Alerts"}, {"id": "deals", "name": "Acme Deals"}]"#,
        )
        .expect("programs");
        let text = "number,date,program\n\
                    14155550100,2024-01-02,deals\n\
                    14155550101,2024-01-02,\n\
                    14155550102,2024-01-02,ALL\n\
                    14155550103,2024-01-02,marketing\n";
        let p = parse_csv(text.as_bytes(), "t.csv", Region::US, &programs, NOW).expect("parses");
        let read: Vec<(&str, &[Scope])> = p
            .rows
            .iter()
            .map(|r| (r.event.event_id.as_str(), r.event.scopes.as_slice()))
            .collect();
        let deals = [Scope::Program(ProgramId::parse("deals").expect("id"))];
        assert_eq!(
            read,
            [
                ("import:deals:2024-01-02T00:00:00.000Z", &deals[..]),
                ("import:2024-01-02T00:00:00.000Z", &[Scope::Every][..]),
                ("import:2024-01-02T00:00:00.000Z", &[Scope::Every][..]),
            ]
        );
        assert_eq!(p.bad.len(), 1);
        assert!(p.bad[0]
            .reason
            .starts_with("unknown program \"marketing\" (declared: alerts, deals"));
        // Positional: the fourth column.
        let p = parse_csv(
            &b"14155550100,2024-01-02,old-provider,alerts\n"[..],
            "t",
            Region::US,
            &programs,
            NOW,
        )
        .expect("parses");
        assert_eq!(
            p.rows[0].event.event_id,
            "import:alerts:2024-01-02T00:00:00.000Z"
        );
    }

    fn parse(text: &str) -> ParsedFile {
        parse_csv(
            text.as_bytes(),
            "t.csv",
            Region::US,
            &Programs::single(""),
            NOW,
        )
        .expect("parses")
    }

    #[test]
    fn header_and_positional_files() {
        let p = parse("phone,opt_out_date,source,notes\n+1 415 555 0100,2024-01-02,oldco,x\n(415) 555-0101,,,\n");
        assert!(p.header);
        assert_eq!(p.ignored_columns, ["notes"]);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].line, 2);
        assert_eq!(p.rows[0].event.msisdn.as_str(), "14155550100");
        assert_eq!(p.rows[0].event.event_id, "import:2024-01-02T00:00:00.000Z");
        assert_eq!(p.rows[0].event.origin.details()["original_source"], "oldco");
        assert_eq!(p.rows[1].event.event_id, "import:undated");
        assert_eq!(p.rows[1].event.occurred_at, OffsetDateTime::UNIX_EPOCH);

        let p = parse("14155550100\n15559301529,2014-06-27      18:31:33\n# comment\n\n14155550102,2024-01-02T03:04:05.678+01:00,x\n");
        assert!(!p.header);
        assert_eq!(p.bad, []);
        let ids: Vec<_> = p
            .rows
            .iter()
            .map(|r| (r.line, r.event.event_id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (1, "import:undated"),
                (2, "import:2014-06-27T18:31:33.000Z"),
                (5, "import:2024-01-02T02:04:05.678Z")
            ]
        );
    }

    #[test]
    fn bad_rows_have_line_numbers_and_no_full_numbers() {
        let text = "msisdn,date\n14155550100,2024-01-02\nnot-a-number,\n14155550101,yesterday\n14155550102,2030-01-01\n,2024-01-01\n14155550100,2024-01-02\n";
        let p = parse(text);
        let lines: Vec<u64> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.duplicate_rows, 1);
        for b in &p.bad {
            assert!(!b.reason.contains("4155550"), "{}", b.reason);
        }
        let p = parse("14155550100,2024-01-02,src,extra\n");
        assert_eq!(p.bad.len(), 1);
        let p = parse_csv(
            &b"14155550100\n1415\xff5550101\n14155550102\n"[..],
            "t",
            Region::US,
            &Programs::single(""),
            NOW,
        )
        .expect("parses");
        assert_eq!(
            p.bad,
            [BadRow {
                line: 2,
                reason: "not valid UTF-8".into()
            }]
        );
        assert_eq!(p.rows.len(), 2);
        assert!(matches!(
            parse_csv(
                &b"date,source\n2024-01-01,x\n"[..],
                "t",
                Region::US,
                &Programs::single(""),
                NOW
            ),
            Err(ImportError::NoNumberColumn)
        ));
    }
}
