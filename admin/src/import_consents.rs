//! Import of consents with their evidence from another platform (`optout-admin import-consents`):
//! each CSV row becomes a consent in the ledger (docs/decisions/0016-consent-ledger.md), an
//! [`EventKind::Consent`] event carrying a [`ConsentEvidence`], checked by
//! [`ConsentEvidence::check`] exactly as `POST /consents` checks it.
//!
//! CSV: a header row is required; columns are found by name, case-insensitive (others are
//! ignored and listed in the report): `msisdn` (or `phone`, `phone_number`, `number`, `mobile`)
//! and `captured_at` (or `consent_date`, `consented_at`, `date`) are required; `program` (a
//! declared program id, empty: the default program), `channel` (`web_form`, `keyword`, `paper`,
//! `phone` or `import`; empty: `import`), `wording`, `wording_sha256`, `wording_version`, `url`,
//! `ip`, `user_agent`, `agent_id` and `platform` (where the consent was collected) are optional.
//! Numbers and dates are read as [`crate::import`] reads them (a date before 2000 or more than
//! a day ahead is a bad row; one ahead within the day counts as now); lines starting with `#`
//! are comments.
//!
//! - Each row is one fact with event id `consent:import:<program>:<captured_at>`: re-running a
//!   file writes nothing new, and the same number and instant twice in a file is one fact
//!   (`duplicate_rows`).
//! - A bad row (number, date, program, channel, evidence) is reported with its line number and
//!   never a full number, and skipped; the whole file is parsed before anything is written.
//! - An import never ends an opt-out we hold ([`decide`]): a consent older than the opt-out is
//!   kept as evidence (`superseded`); one newer is not written at all (`opt_out_stands`). Ending
//!   an opt-out is a resubscribe, which needs what `POST /consents` asks for it (a fresh consent,
//!   the provider's block lifted), and a file from another platform cannot show either.

use crate::import::{self, BadRow, LineNumbers};
use serde::Serialize;
use shared::adapters::store::{Store, StoreError};
use shared::domain::consent::{ConsentChannel, ConsentEvidence};
use shared::domain::event::{Event, EventKind, Outcome, State, Status};
use shared::domain::msisdn::{mask, Region};
use shared::domain::origin::Origin;
use shared::domain::program::{Program, ProgramId, Programs, Scope};
use shared::domain::timestamp;
use std::collections::HashSet;
use std::io::Read;
use std::time::Instant;
use time::OffsetDateTime;

/// The start of every imported consent's event id.
pub const EVENT_ID_PREFIX: &str = "consent:import";
/// Rows decided and written together (states read 100 at a time, written 50 to a transaction).
pub const CHUNK_ROWS: usize = 1000;
/// Longest accepted `platform` value (it goes into `imported_from`, which nothing else bounds).
const MAX_PLATFORM_CHARS: usize = 64;
/// Consents before this year are a misread date, as `POST /consents` holds.
const MIN_YEAR: i32 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ImportConsentsError {
    #[error("cannot read the CSV: {0}")]
    Read(String),
    #[error("the file has no header row: the first row must name the columns (msisdn and captured_at at least)")]
    NoHeader,
    #[error("the header row has no {column} column (one of: {names})")]
    MissingColumn {
        column: &'static str,
        names: &'static str,
    },
    #[error("the header row has two {column} columns ({first:?} and {second:?}): keep one")]
    TwoColumns {
        column: &'static str,
        first: String,
        second: String,
    },
}

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Msisdn,
    CapturedAt,
    Program,
    Channel,
    Wording,
    WordingSha256,
    WordingVersion,
    Url,
    Ip,
    UserAgent,
    AgentId,
    Platform,
}

impl Column {
    const COUNT: usize = 12;

    /// The column a header name stands for: lower case, spaces and dashes read as `_`.
    fn of_header(name: &str) -> Option<Column> {
        let n = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase()
            .replace([' ', '-'], "_");
        Some(match n.as_str() {
            "msisdn" | "phone" | "phone_number" | "number" | "mobile" => Column::Msisdn,
            "captured_at" | "consent_date" | "consented_at" | "date" => Column::CapturedAt,
            "program" | "program_id" => Column::Program,
            "channel" => Column::Channel,
            "wording" => Column::Wording,
            "wording_sha256" => Column::WordingSha256,
            "wording_version" => Column::WordingVersion,
            "url" => Column::Url,
            "ip" => Column::Ip,
            "user_agent" => Column::UserAgent,
            "agent_id" => Column::AgentId,
            "platform" => Column::Platform,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Column::Msisdn => "msisdn",
            Column::CapturedAt => "captured_at",
            Column::Program => "program",
            Column::Channel => "channel",
            Column::Wording => "wording",
            Column::WordingSha256 => "wording_sha256",
            Column::WordingVersion => "wording_version",
            Column::Url => "url",
            Column::Ip => "ip",
            Column::UserAgent => "user_agent",
            Column::AgentId => "agent_id",
            Column::Platform => "platform",
        }
    }
}

/// Where each column is in a row.
#[derive(Debug, Clone, Copy)]
struct Header {
    at: [Option<usize>; Column::COUNT],
}

impl Header {
    fn position(&self, column: Column) -> Option<usize> {
        self.at[column as usize]
    }

    /// The header from the first row, and the names of the columns it does not use.
    fn read(fields: &[Option<&str>]) -> Result<(Header, Vec<String>), ImportConsentsError> {
        let mut header = Header {
            at: [None; Column::COUNT],
        };
        let mut ignored = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let name = field.unwrap_or("(not UTF-8)");
            match field.and_then(Column::of_header) {
                Some(column) => {
                    // Two columns for one thing (`date` and `captured_at`) may disagree: the
                    // operator says which, rather than the import guessing.
                    if let Some(first) = header.position(column) {
                        return Err(ImportConsentsError::TwoColumns {
                            column: column.name(),
                            first: fields
                                .get(first)
                                .copied()
                                .flatten()
                                .unwrap_or_default()
                                .to_owned(),
                            second: name.to_owned(),
                        });
                    }
                    header.at[column as usize] = Some(i);
                }
                None => ignored.push(name.to_owned()),
            }
        }
        if header.at.iter().all(Option::is_none) {
            return Err(ImportConsentsError::NoHeader);
        }
        if header.position(Column::Msisdn).is_none() {
            return Err(ImportConsentsError::MissingColumn {
                column: "msisdn",
                names: "msisdn, phone, phone_number, number, mobile",
            });
        }
        if header.position(Column::CapturedAt).is_none() {
            return Err(ImportConsentsError::MissingColumn {
                column: "captured_at",
                names: "captured_at, consent_date, consented_at, date",
            });
        }
        Ok((header, ignored))
    }
}

/// One good row.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    /// 1-based line number in the file.
    pub line: u64,
    pub event: Event,
    /// The scopes whose newest state is the program's status (read before writing).
    pub reaching: Vec<Scope>,
}

/// A parsed file.
#[derive(Debug, Clone, Default)]
pub struct ParsedConsents {
    pub rows: Vec<ConsentRow>,
    pub bad: Vec<BadRow>,
    /// Rows repeating the number and event id of an earlier row.
    pub duplicate_rows: u64,
    /// Header columns that were not used.
    pub ignored_columns: Vec<String>,
}

/// What an import of consents did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportConsentsReport {
    /// Data rows read (good, bad and duplicate).
    pub rows: u64,
    pub bad: u64,
    /// The first [`import::MAX_REPORTED_BAD_ROWS`] bad rows.
    pub bad_rows: Vec<BadRow>,
    pub duplicate_rows: u64,
    /// Consents recorded that now set the program's status (subscribed).
    pub added: u64,
    /// Consents recorded before (this file, or one with the same rows, ran already).
    pub already: u64,
    /// Recorded as evidence, but a newer event keeps setting the program's status: an opt-out
    /// newer than the consent stands (or a later consent, or an event that arrived during the
    /// import).
    pub superseded: u64,
    /// Not written: the number is opted out since before the consent, and an import never ends
    /// an opt-out (the person consents again through `POST /consents`).
    pub opt_out_stands: u64,
    /// Rows not written because a write failed (the import stopped; running it again completes it).
    pub failed: u64,
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Parse a whole CSV of consents. `file` names it in each consent's `imported_from`; `region`
/// reads numbers written without a country code; `now` bounds dates. Only an unreadable file or
/// a header without the required columns is an error: every other problem is a bad row.
pub fn parse_consents_csv<R: Read>(
    mut reader: R,
    file: &str,
    region: Region,
    programs: &Programs,
    now: OffsetDateTime,
) -> Result<ParsedConsents, ImportConsentsError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| ImportConsentsError::Read(e.to_string()))?;
    let lines = LineNumbers::new(&bytes);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut parsed = ParsedConsents::default();
    let mut header: Option<Header> = None;
    let mut seen_facts: HashSet<(String, String)> = HashSet::new();
    let place = RowPlace {
        file,
        line: 0,
        region,
        programs,
        now,
        received_at: timestamp::now(),
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let line = lines.at(csv.position().byte());
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A malformed record (e.g. bad quoting) is a bad row; an I/O error ends the read.
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(ImportConsentsError::Read(io.to_string()));
                }
                let line = e.position().map(|p| lines.at(p.byte())).unwrap_or(line);
                if header.is_none() {
                    return Err(ImportConsentsError::NoHeader);
                }
                parsed.bad.push(BadRow {
                    line,
                    reason: "malformed CSV record".into(),
                });
                continue;
            }
        }
        let line = record
            .position()
            .map(|p| lines.at(p.byte()))
            .unwrap_or(line);
        if import::is_comment(&record) {
            continue;
        }
        let fields = import::trimmed_fields(&record);
        let Some(columns) = header else {
            let (read, ignored) = Header::read(&fields)?;
            header = Some(read);
            parsed.ignored_columns = ignored;
            continue;
        };
        match parse_row(&fields, &columns, &RowPlace { line, ..place }) {
            Ok(row) => {
                let fact = (
                    row.event.msisdn.as_str().to_owned(),
                    row.event.event_id.clone(),
                );
                if seen_facts.insert(fact) {
                    parsed.rows.push(row);
                } else {
                    parsed.duplicate_rows += 1;
                }
            }
            Err(reason) => parsed.bad.push(BadRow { line, reason }),
        }
    }
    if header.is_none() {
        return Err(ImportConsentsError::NoHeader);
    }
    Ok(parsed)
}

/// Where a row is read: its file and line, and what its fields are read against.
#[derive(Clone, Copy)]
struct RowPlace<'a> {
    file: &'a str,
    line: u64,
    region: Region,
    programs: &'a Programs,
    now: OffsetDateTime,
    received_at: OffsetDateTime,
}

/// A cell echoed in a bad row's reason: at most 32 characters, and masked if it may be a phone
/// number in the wrong column.
fn shown(text: &str) -> String {
    if text.chars().filter(char::is_ascii_digit).count() >= 7 {
        format!("{:?}", mask(text))
    } else {
        format!("{:?}", text.chars().take(32).collect::<String>())
    }
}

fn parse_row(
    fields: &[Option<&str>],
    header: &Header,
    place: &RowPlace<'_>,
) -> Result<ConsentRow, String> {
    if fields.iter().any(Option::is_none) {
        return Err("not valid UTF-8".into());
    }
    let text = |column: Column| {
        header
            .position(column)
            .and_then(|i| fields.get(i).copied().flatten())
            .unwrap_or("")
    };
    // Blank optional fields count as absent, as `ConsentEvidence::check` reads them.
    let optional = |column: Column| {
        Some(text(column))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };

    let number = text(Column::Msisdn);
    if number.is_empty() {
        return Err("no number".into());
    }
    let msisdn = import::parse_number(number, place.region)
        .map_err(|e| format!("invalid number {}: {e}", mask(number)))?;

    let date_text = text(Column::CapturedAt);
    if date_text.is_empty() {
        return Err("no captured_at (when the consent was given)".into());
    }
    // Masked like a number: a misplaced column may put a phone number here.
    let captured_at = import::parse_date(date_text).ok_or_else(|| {
        format!(
            "unreadable captured_at {:?} (use RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)",
            mask(date_text)
        )
    })?;
    if captured_at > place.now + import::FUTURE_SKEW {
        return Err(format!("captured_at {date_text:?} is in the future"));
    }
    if captured_at.year() < MIN_YEAR {
        return Err(format!(
            "captured_at {date_text:?} is before the year {MIN_YEAR}"
        ));
    }

    let program = program_of(text(Column::Program), place.programs)?;
    let channel_text = text(Column::Channel);
    let channel = if channel_text.is_empty() {
        ConsentChannel::Import
    } else {
        ConsentChannel::parse(&channel_text.to_ascii_lowercase()).ok_or_else(|| {
            format!(
                "unknown channel {} (web_form, keyword, paper, phone or import; empty: import)",
                shown(channel_text)
            )
        })?
    };
    let platform = text(Column::Platform);
    if platform.chars().count() > MAX_PLATFORM_CHARS || platform.chars().any(char::is_control) {
        return Err(format!(
            "platform is longer than {MAX_PLATFORM_CHARS} characters or has control characters"
        ));
    }
    let mut imported_from = format!("{}:{}", place.file, place.line);
    if !platform.is_empty() {
        imported_from.push_str(&format!(" ({platform})"));
    }

    // Within the skew allowance a consent "from the future" counts as now, as `POST /consents`
    // holds: dated later, it would outrank a STOP the person sends before that time. The event
    // id keeps the file's instant, so a re-run is still the same fact.
    let occurred_at = captured_at.min(place.now);
    let evidence = ConsentEvidence {
        channel,
        captured_at: timestamp::format(occurred_at),
        wording: optional(Column::Wording),
        wording_sha256: optional(Column::WordingSha256).map(|h| h.to_ascii_lowercase()),
        wording_version: optional(Column::WordingVersion),
        url: optional(Column::Url),
        ip: optional(Column::Ip),
        user_agent: optional(Column::UserAgent),
        agent_id: optional(Column::AgentId),
        imported_from: Some(imported_from),
        provider: None,
        provider_response: None,
        extra: Default::default(),
    };
    let evidence = evidence.for_program(program)?;
    let programs = place.programs;
    Ok(ConsentRow {
        line: place.line,
        reaching: programs.scopes_reaching(program),
        event: Event {
            scopes: vec![programs.own_scope(program)],
            msisdn,
            kind: EventKind::Consent,
            event_id: format!(
                "{EVENT_ID_PREFIX}:{}:{}",
                program.id,
                timestamp::format(captured_at)
            ),
            occurred_at,
            received_at: place.received_at,
            origin: Origin::Consent(evidence),
        },
    })
}

/// The program a row names; empty: the default one.
fn program_of<'p>(text: &str, programs: &'p Programs) -> Result<&'p Program, String> {
    if text.is_empty() {
        return Ok(programs.default_program());
    }
    ProgramId::parse(text)
        .ok()
        .and_then(|id| programs.get(&id))
        .ok_or_else(|| {
            let ids: Vec<&str> = programs.all().iter().map(|p| p.id.as_str()).collect();
            format!(
                "unknown program {} (declared: {}; empty: the default program)",
                shown(text),
                ids.join(", ")
            )
        })
}

/// Whether to write a consent, given the newest state reaching its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Record it: nothing newer is held, so it sets the program's status.
    Write,
    /// Record it, as evidence: a newer event (an opt-out that stands, or a later consent) keeps
    /// setting the program's status. [`Store::record`] may still write the program's own state
    /// item (`Applied`) when the newer event is kept for every program, which changes nothing:
    /// the newest of the items reaching the program wins.
    WriteOutranked,
    /// Leave it out: the number is opted out since before the consent, and writing it would end
    /// that opt-out (a resubscribe the file cannot justify).
    OptOutStands,
}

/// The import's rule: never end an opt-out we hold. A consent older than the opt-out is
/// written (the opt-out stands); one as new or newer is not.
pub fn decide(event: &Event, state: Option<&State>) -> Decision {
    match state {
        Some(s) if s.status == Status::OptedOut && s.order <= event.order() => {
            Decision::OptOutStands
        }
        Some(s) if s.order > event.order() => Decision::WriteOutranked,
        _ => Decision::Write,
    }
}

/// Write the parsed rows, [`CHUNK_ROWS`] at a time; `progress(done, total)` after each chunk.
/// Stops at the first chunk with a failed read or write (`error`, `failed`); a re-run completes
/// it, each row being one transaction (history and state together).
pub async fn import_consents(
    store: &Store,
    parsed: &ParsedConsents,
    concurrency: usize,
    mut progress: impl FnMut(usize, usize),
) -> ImportConsentsReport {
    let started = Instant::now();
    let mut report = summary(parsed, false);
    let total = parsed.rows.len();
    let mut done = 0;
    for chunk in parsed.rows.chunks(CHUNK_ROWS) {
        for (reaching, rows) in import::group_by_scopes(chunk, |row| &row.reaching) {
            if let Err(e) = write_group(store, reaching, &rows, concurrency, &mut report).await {
                report.error.get_or_insert_with(|| e.to_string());
                break;
            }
        }
        done += chunk.len();
        progress(done, total);
        if report.error.is_some() {
            // A chunk that failed part way is counted whole: a re-run completes it.
            let settled = report.added + report.already + report.superseded + report.opt_out_stands;
            report.failed = (total as u64).saturating_sub(settled);
            break;
        }
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// Decide and write the rows of one program in one chunk. A failed read is returned; failed
/// writes are counted in `report` (`error` set to the first).
async fn write_group(
    store: &Store,
    reaching: &[Scope],
    rows: &[&ConsentRow],
    concurrency: usize,
    report: &mut ImportConsentsReport,
) -> Result<(), StoreError> {
    let numbers: Vec<_> = rows.iter().map(|r| r.event.msisdn.clone()).collect();
    let states = store.states_parallel(&numbers, reaching, 1).await?;
    let mut to_write: Vec<Event> = Vec::with_capacity(rows.len());
    let mut decisions: Vec<Decision> = Vec::with_capacity(rows.len());
    for row in rows {
        let state = states.get(row.event.msisdn.as_str());
        match decide(&row.event, state) {
            decision @ (Decision::Write | Decision::WriteOutranked) => {
                to_write.push(row.event.clone());
                decisions.push(decision);
            }
            Decision::OptOutStands => {
                report.opt_out_stands += 1;
                tracing::info!(
                    line = row.line,
                    msisdn = %row.event.msisdn,
                    opted_out_since = %state.map(|s| timestamp::format(s.since)).unwrap_or_default(),
                    "import-consents: opted out before this consent; not written (the person consents again through POST /consents)"
                );
            }
        }
    }
    let outcomes = store.record_many(&to_write, concurrency).await;
    for (decision, outcome) in decisions.into_iter().zip(outcomes) {
        match outcome {
            Ok(Outcome::Duplicate | Outcome::Noted) => report.already += 1,
            Ok(Outcome::Applied) if decision == Decision::Write => report.added += 1,
            Ok(Outcome::Applied | Outcome::Superseded) => report.superseded += 1,
            Err(e) => {
                report.failed += 1;
                report.error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Ok(())
}

/// The report of a parse alone (`--dry-run`), or the start of an import's.
pub fn summary(parsed: &ParsedConsents, dry_run: bool) -> ImportConsentsReport {
    let (rows, bad, bad_rows) =
        import::row_counts(parsed.rows.len(), &parsed.bad, parsed.duplicate_rows);
    ImportConsentsReport {
        rows,
        bad,
        bad_rows,
        duplicate_rows: parsed.duplicate_rows,
        ignored_columns: parsed.ignored_columns.clone(),
        dry_run,
        ..ImportConsentsReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00:00 UTC);
    const HEADER: &str = "msisdn,captured_at,channel,wording,url,ip,agent_id\n";

    fn parse_with(text: &str, programs: &Programs) -> ParsedConsents {
        parse_consents_csv(text.as_bytes(), "consents.csv", Region::US, programs, NOW)
            .expect("parses")
    }

    fn parse(text: &str) -> ParsedConsents {
        parse_with(text, &Programs::single(""))
    }

    fn evidence(row: &ConsentRow) -> &ConsentEvidence {
        match &row.event.origin {
            Origin::Consent(evidence) => evidence,
            other => panic!("not a consent: {other:?}"),
        }
    }

    #[test]
    fn a_row_becomes_a_consent_with_its_evidence() {
        let p = parse(
            "Phone,Consent_Date,Channel,Wording,URL,IP,notes,Platform,user_agent\n\
             +1 415 555 0100,2024-01-02 03:04:05,web_form,Yes text me,https://acme.example/join,203.0.113.9,x,OldCo,Mozilla/5.0\n",
        );
        assert_eq!(p.bad, []);
        assert_eq!(p.ignored_columns, ["notes"]);
        let row = &p.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!(row.event.kind, EventKind::Consent);
        assert_eq!(row.event.msisdn.as_str(), "14155550100");
        assert_eq!(
            row.event.event_id,
            "consent:import:default:2024-01-02T03:04:05.000Z"
        );
        assert_eq!(row.event.occurred_at, datetime!(2024-01-02 03:04:05 UTC));
        assert_eq!(row.event.scopes, [Scope::Every]);
        assert_eq!(row.reaching, [Scope::Every]);
        assert_eq!(
            evidence(row),
            &ConsentEvidence {
                channel: ConsentChannel::WebForm,
                captured_at: "2024-01-02T03:04:05.000Z".into(),
                wording: Some("Yes text me".into()),
                // The text's SHA-256, kept beside it.
                wording_sha256: Some(
                    "e90777debd3a4ea33feb8429de90e18621fca54f08c862d2226bf257ece7e5ac".into()
                ),
                wording_version: None,
                url: Some("https://acme.example/join".into()),
                ip: Some("203.0.113.9".into()),
                user_agent: Some("Mozilla/5.0".into()),
                agent_id: None,
                imported_from: Some("consents.csv:2 (OldCo)".into()),
                provider: None,
                provider_response: None,
                extra: Default::default(),
            }
        );
    }

    #[test]
    fn an_empty_channel_is_import_and_a_hash_is_lower_cased() {
        let hash = "AB".repeat(32);
        let p = parse(&format!(
            "msisdn,date,channel,wording_sha256,wording_version\n\
             14155550100,2024-01-02,,{hash},v3\n"
        ));
        assert_eq!(p.bad, []);
        let e = evidence(&p.rows[0]);
        assert_eq!(e.channel, ConsentChannel::Import);
        assert_eq!(e.wording_sha256, Some("ab".repeat(32)));
        assert_eq!(e.wording_version.as_deref(), Some("v3"));
        assert_eq!(e.imported_from.as_deref(), Some("consents.csv:2"));
    }

    #[test]
    fn bad_rows_have_line_numbers_and_no_full_numbers() {
        let text = "msisdn,captured_at,wording\n\
                    14155550100,2024-01-02,ok\n\
                    not-a-number,2024-01-02,w\n\
                    14155550101,yesterday,w\n\
                    \n\
                    14155550102,2026-11-28,w\n\
                    ,2024-01-01,w\n\
                    14155550103,,w\n\
                    14155550104,1999-12-31,w\n\
                    14155550105,14155550106,w\n\
                    # a comment\n";
        let p = parse(text);
        let lines: Vec<u64> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 6, 7, 8, 9, 10], "{:?}", p.bad);
        assert_eq!(p.rows.len(), 1);
        for b in &p.bad {
            assert!(!b.reason.contains("555010"), "{}", b.reason);
            assert!(!b.reason.contains("4155550"), "{}", b.reason);
        }
        assert!(p.bad[1].reason.starts_with("unreadable captured_at"));
        assert!(p.bad[2].reason.contains("in the future"));
        assert!(p.bad[5].reason.contains("before the year 2000"));
        let p = parse_consents_csv(
            &b"msisdn,captured_at,wording\n1415\xff5550101,2024-01-02,w\n"[..],
            "t",
            Region::US,
            &Programs::single(""),
            NOW,
        )
        .expect("parses");
        assert_eq!(p.bad[0].reason, "not valid UTF-8");
    }

    #[test]
    fn a_date_within_the_skew_counts_as_now_and_keeps_its_event_id() {
        let p = parse("msisdn,captured_at,wording\n14155550100,2026-11-26T15:00:00Z,w\n");
        let row = &p.rows[0];
        assert_eq!(row.event.occurred_at, NOW);
        assert_eq!(evidence(row).captured_at, "2026-11-26T10:00:00.000Z");
        assert_eq!(
            row.event.event_id,
            "consent:import:default:2026-11-26T15:00:00.000Z"
        );
    }

    #[test]
    fn the_header_is_required_with_a_number_and_a_date_column() {
        let err = |text: &str| {
            parse_consents_csv(text.as_bytes(), "t", Region::US, &Programs::single(""), NOW)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("14155550100,2024-01-02,w\n").contains("no header row"));
        assert!(err("").contains("no header row"));
        assert!(err("# only a comment\n").contains("no header row"));
        assert!(err("captured_at,wording\n2024-01-02,w\n").contains("no msisdn column"));
        assert!(err("phone,wording\n14155550100,w\n").contains("no captured_at column"));
        assert!(err("phone,date,captured_at\n").contains("two captured_at columns"));
        // A header alone is an empty import.
        let p = parse("msisdn,captured_at\n");
        assert_eq!((p.rows.len(), p.bad.len()), (0, 0));
    }

    #[test]
    fn each_evidence_refusal_is_a_bad_row_with_its_reason() {
        let cases = [
            // web_form without ip
            (
                "14155550100,2024-01-02,web_form,w,https://a.example,,",
                "a web_form consent needs url (the page or form) and ip",
            ),
            // paper and phone without agent
            (
                "14155550100,2024-01-02,paper,w,,,",
                "a paper or phone consent needs agent_id (who took it)",
            ),
            (
                "14155550100,2024-01-02,phone,w,,,",
                "a paper or phone consent needs agent_id (who took it)",
            ),
            // no wording at all
            (
                "14155550100,2024-01-02,keyword,,,,",
                "the wording shown is required: wording, or wording_sha256 with wording_version",
            ),
            // a URL that is not one
            (
                "14155550100,2024-01-02,web_form,w,ftp://a.example,203.0.113.9,",
                "url must be an http or https URL",
            ),
            (
                "14155550100,2024-01-02,sms,w,,,",
                "unknown channel \"sms\" (web_form, keyword, paper, phone or import; empty: import)",
            ),
        ];
        for (row, reason) in cases {
            let p = parse(&format!("{HEADER}{row}\n"));
            assert_eq!(p.rows.len(), 0, "{row}");
            assert_eq!(
                p.bad,
                [BadRow {
                    line: 2,
                    reason: reason.into()
                }],
                "{row}"
            );
        }
        let long = "w".repeat(4001);
        let p = parse(&format!("{HEADER}14155550100,2024-01-02,,{long},,,\n"));
        assert_eq!(p.bad[0].reason, "wording is longer than 4000 characters");
        let p =
            parse("msisdn,date,wording_sha256,wording_version\n14155550100,2024-01-02,abc,v1\n");
        assert_eq!(
            p.bad[0].reason,
            "wording_sha256 must be 64 hexadecimal characters"
        );
        let p = parse(&format!(
            "msisdn,date,wording,platform\n14155550100,2024-01-02,w,{}\n",
            "p".repeat(65)
        ));
        assert!(p.bad[0].reason.starts_with("platform is longer"));
        // Each channel with what it needs is accepted.
        let p = parse(&format!(
            "{HEADER}14155550100,2024-01-02,PHONE,w,,,agent-7\n\
             14155550101,2024-01-02,keyword,w,,,\n\
             14155550102,2024-01-02,paper,w,,,agent-7\n"
        ));
        assert_eq!(p.bad, []);
        let channels: Vec<ConsentChannel> = p.rows.iter().map(|r| evidence(r).channel).collect();
        assert_eq!(
            channels,
            [
                ConsentChannel::Phone,
                ConsentChannel::Keyword,
                ConsentChannel::Paper
            ]
        );
    }

    #[test]
    fn a_program_column_names_a_declared_program_and_empty_is_the_default() {
        let programs = Programs::parse(
            r#"[{"id": "alerts", "name": "Acme Alerts", "default": true},
                {"id": "deals", "name": "Acme Deals", "consent_required": false}]"#,
        )
        .expect("programs");
        let p = parse_with(
            "msisdn,captured_at,program,wording\n\
             14155550100,2024-01-02,deals,w\n\
             14155550101,2024-01-02,,w\n\
             14155550102,2024-01-02,marketing,w\n\
             14155550103,2024-01-02,14155550104,w\n",
            &programs,
        );
        let alerts = ProgramId::parse("alerts").expect("id");
        let deals = ProgramId::parse("deals").expect("id");
        let read: Vec<(&str, &[Scope], &[Scope])> = p
            .rows
            .iter()
            .map(|r| {
                (
                    r.event.event_id.as_str(),
                    r.event.scopes.as_slice(),
                    r.reaching.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (
                    "consent:import:deals:2024-01-02T00:00:00.000Z",
                    &[Scope::Program(deals.clone())][..],
                    &[Scope::Every, Scope::Program(deals)][..],
                ),
                (
                    "consent:import:alerts:2024-01-02T00:00:00.000Z",
                    &[Scope::Program(alerts.clone())][..],
                    &[Scope::Every, Scope::ConsentRequired, Scope::Program(alerts)][..],
                ),
            ]
        );
        assert_eq!(p.bad.len(), 2);
        assert_eq!(
            p.bad[0].reason,
            "unknown program \"marketing\" (declared: alerts, deals; empty: the default program)"
        );
        assert!(
            !p.bad[1].reason.contains("4155550104"),
            "{}",
            p.bad[1].reason
        );
    }

    #[test]
    fn the_same_number_and_instant_twice_is_one_fact() {
        let p = parse(
            "msisdn,captured_at,wording\n\
             14155550100,2024-01-02,first\n\
             +1 (415) 555-0100,2024-01-02T00:00:00Z,second\n\
             14155550100,2024-01-03,a later consent\n",
        );
        assert_eq!(p.duplicate_rows, 1);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(evidence(&p.rows[0]).wording.as_deref(), Some("first"));
        let report = summary(&p, true);
        assert_eq!((report.rows, report.duplicate_rows), (3, 1));
        assert!(report.dry_run);
    }

    #[test]
    fn an_import_never_ends_an_opt_out() {
        let p = parse("msisdn,captured_at,wording\n14155550100,2024-06-01,w\n");
        let consent = &p.rows[0].event;
        let state = |status: Status, at: OffsetDateTime| State {
            msisdn: "14155550100".into(),
            status,
            since: at,
            event_id: "sms:1".into(),
            source: "webhook".into(),
            channel: None,
            order: format!("{}#1#sms:1", timestamp::format(at)),
        };
        let newer_stop = state(Status::OptedOut, datetime!(2024-07-01 00:00 UTC));
        let older_stop = state(Status::OptedOut, datetime!(2024-05-01 00:00 UTC));
        let subscribed = state(Status::Subscribed, datetime!(2024-05-01 00:00 UTC));
        let newer_consent = state(Status::Subscribed, datetime!(2024-07-01 00:00 UTC));
        assert_eq!(decide(consent, None), Decision::Write);
        assert_eq!(decide(consent, Some(&newer_stop)), Decision::WriteOutranked);
        assert_eq!(decide(consent, Some(&older_stop)), Decision::OptOutStands);
        assert_eq!(decide(consent, Some(&subscribed)), Decision::Write);
        assert_eq!(
            decide(consent, Some(&newer_consent)),
            Decision::WriteOutranked
        );
    }
}
