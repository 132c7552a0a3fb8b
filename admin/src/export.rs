//! Export: the current opt-out list, the suppression list for a sending platform, or every
//! number's history between two instants, as CSV (`optout-admin export
//! list|suppression|history`). The list export re-imports as is.

use crate::import::ImportError;
use shared::adapters::store::Store;
use shared::domain::event::Status;
use shared::domain::msisdn::Msisdn;
use shared::domain::program::Scope;
use shared::domain::timestamp;
use std::io::Write;
use time::OffsetDateTime;

/// Header of the opt-out list export (importable as is: `program` puts each row back in the
/// program it was exported for).
pub const LIST_HEADER: [&str; 5] = ["msisdn", "opt_out_date", "source", "event_id", "program"];
/// Header of the suppression export: one column, the number in E.164 with its `+`.
pub const SUPPRESSION_HEADER: [&str; 1] = ["phone_number"];
/// Header of the history export.
pub const HISTORY_HEADER: [&str; 8] = [
    "msisdn",
    "occurred_at",
    "kind",
    "event_id",
    "source",
    "applied",
    "received_at",
    "details",
];

/// The date column of an export: empty for an undated (epoch) opt-out, so that it re-imports as
/// undated.
fn export_date(since: OffsetDateTime) -> String {
    if since == OffsetDateTime::UNIX_EPOCH {
        String::new()
    } else {
        timestamp::format(since)
    }
}

/// The opted-out index a page at a time (a query, never a scan), as the numbers it lists that
/// have the shape of a number we record (the index holds nothing else).
struct OptedOutPages<'a> {
    store: &'a Store,
    scopes: &'a [Scope],
    cursor: Option<String>,
    done: bool,
}

impl<'a> OptedOutPages<'a> {
    const PAGE: i32 = 1000;

    fn new(store: &'a Store, scopes: &'a [Scope]) -> Self {
        Self {
            store,
            scopes,
            cursor: None,
            done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Vec<Msisdn>>, ImportError> {
        if self.done {
            return Ok(None);
        }
        let (page, next) = self
            .store
            .opted_out_page(Self::PAGE, self.cursor.as_deref(), self.scopes)
            .await?;
        self.done = next.is_none();
        self.cursor = next;
        Ok(Some(
            page.iter()
                .filter_map(|o| Msisdn::from_provider(&o.msisdn).ok())
                .collect(),
        ))
    }
}

/// Write the current opt-out list as CSV, in number order; returns the rows written. The list
/// index is read a page at a time and each page's states are re-read (consistently) for the
/// source and event id; a number resubscribed meanwhile is left out. `program` fills the
/// program column (empty: every program, as without programs).
pub async fn export_list<W: Write>(
    store: &Store,
    scopes: &[Scope],
    program: &str,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<u64, ImportError> {
    let mut csv = csv::Writer::from_writer(out);
    let write_err = |e: csv::Error| ImportError::Write(e.to_string());
    csv.write_record(LIST_HEADER).map_err(write_err)?;
    let mut pages = OptedOutPages::new(store, scopes);
    let mut rows = 0u64;
    while let Some(numbers) = pages.next().await? {
        let states = store.states_parallel(&numbers, scopes, 4).await?;
        for number in &numbers {
            let Some(state) = states
                .get(number.as_str())
                .filter(|s| s.status == Status::OptedOut)
            else {
                continue;
            };
            csv.write_record([
                state.msisdn.as_str(),
                export_date(state.since).as_str(),
                state.source.as_str(),
                state.event_id.as_str(),
                program,
            ])
            .map_err(write_err)?;
            rows += 1;
        }
        progress(rows);
    }
    csv.flush().map_err(|e| ImportError::Write(e.to_string()))?;
    Ok(rows)
}

/// Write the numbers that must not be texted, for loading into a sending platform's suppression
/// (do-not-contact) list: header `phone_number`, one number a row as `+` and its E.164 digits,
/// in number order; returns the rows written. Read from the `opted_out` index a page at a time
/// (a query, never a scan) and not re-read: a number resubscribed in the last moment may still
/// be listed, which errs on the safe side.
///
/// Why `+E.164`: it is the one spelling every sending platform reads the same way (Vonage,
/// Twilio, and the common campaign tools ask for it); bare digits are ambiguous (`4155550100`
/// may be read as a US national number, `+4155550100` cannot), and the `+` keeps spreadsheet
/// and import tools from treating the column as an integer.
pub async fn export_suppression<W: Write>(
    store: &Store,
    scopes: &[Scope],
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<u64, ImportError> {
    let mut csv = csv::Writer::from_writer(out);
    let write_err = |e: csv::Error| ImportError::Write(e.to_string());
    csv.write_record(SUPPRESSION_HEADER).map_err(write_err)?;
    let mut pages = OptedOutPages::new(store, scopes);
    let mut rows = 0u64;
    while let Some(numbers) = pages.next().await? {
        for number in &numbers {
            csv.write_record([format!("+{}", number.as_str())])
                .map_err(write_err)?;
            rows += 1;
        }
        progress(rows);
    }
    csv.flush().map_err(|e| ImportError::Write(e.to_string()))?;
    Ok(rows)
}

/// Write every history entry whose event time is in `[from, to)` as CSV, ordered by time, then
/// number, then event id; returns the rows written. (A filtered Scan of the table: for an
/// operator, not for a hot path.)
pub async fn export_history<W: Write>(
    store: &Store,
    from: OffsetDateTime,
    to: OffsetDateTime,
    out: W,
) -> Result<u64, ImportError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.history_between(from, to, cursor, 1000).await?;
        entries.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    entries.sort_by(|a, b| {
        (&a.entry.occurred_at, &a.msisdn, &a.entry.event_id).cmp(&(
            &b.entry.occurred_at,
            &b.msisdn,
            &b.entry.event_id,
        ))
    });
    let mut csv = csv::Writer::from_writer(out);
    let write_err = |e: csv::Error| ImportError::Write(e.to_string());
    csv.write_record(HISTORY_HEADER).map_err(write_err)?;
    for e in &entries {
        let details = e.entry.origin.details().to_string();
        csv.write_record([
            e.msisdn.as_str(),
            timestamp::format(e.entry.occurred_at).as_str(),
            e.entry.kind.as_str(),
            e.entry.event_id.as_str(),
            e.entry.origin.source(),
            if e.entry.applied { "true" } else { "false" },
            timestamp::format(e.entry.received_at).as_str(),
            details.as_str(),
        ])
        .map_err(write_err)?;
    }
    csv.flush().map_err(|e| ImportError::Write(e.to_string()))?;
    Ok(entries.len() as u64)
}
