//! Reconciliation: catching our table up with Vonage's opt-out list, for the webhooks that were
//! lost (a misconfigured URL for a day outlasts Vonage's 24 hours of resending).
//!
//! Per page: our states, the opt-outs we lack recorded ([`Store::record_many`]; a second run adds
//! nothing), drift reported and never written, and a checkpoint a stopped run resumes from.
//! Paging (0- or 1-based, undocumented), resume and the report: docs/reconciliation.md.

use crate::adapters::config::{ConfigError, Settings};
use crate::adapters::store::bulk::{self, BulkResult};
use crate::adapters::store::{Store, StoreError};
use crate::adapters::vonage::{OptListEntry, QueryPage, VonageClient, VonageError};
use crate::domain::deadline::Deadline;
use crate::domain::event::{Event, EventKind, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::{Origin, VonageListEntry};
use crate::domain::program::{Program, Programs, ProviderMode, Scope};
use crate::domain::timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// History `source` of opt-outs found on Vonage's list.
pub const SOURCE: &str = "vonage-sync";
/// Partition key of the checkpoint item.
pub const CHECKPOINT_NAME: &str = "RECONCILE";
/// Vonage's default.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// No new page is started with less than this left before the deadline: a page is one Vonage
/// call (at most ~10 s with its retries) and a few DynamoDB calls.
pub const DEFAULT_STOP_MARGIN: Duration = Duration::from_secs(45);
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Skipped-entry details kept in the report (all are counted and logged).
const MAX_REPORTED_SKIPS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("vonage: {0}")]
    Vonage(#[from] VonageError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What a run did (docs/reconciliation.md). `drift` = `drift_opted_in_at_vonage` +
/// `drift_resubscribed_here`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReconcileReport {
    /// The whole list was read (and the checkpoint cleared).
    pub complete: bool,
    /// Vonage calls that returned a page (including the empty or repeated one that ends the list).
    pub pages: u32,
    /// Entries read from processed pages (after skipping malformed ones).
    pub entries: u64,
    pub opted_out: u64,
    pub added: u64,
    /// Listed as opted out, and we already hold the number as opted out.
    pub already: u64,
    pub drift: u64,
    /// We hold the number as opted out; Vonage lists it as not opted out.
    pub drift_opted_in_at_vonage: u64,
    /// Vonage lists the number as opted out at a date older than our newer resubscribe.
    pub drift_resubscribed_here: u64,
    /// Written as history only: a newer event for the number arrived during the run.
    pub superseded: u64,
    pub skipped: u64,
    /// The first few skipped entries (no full numbers).
    pub skipped_entries: Vec<SkippedReport>,
    /// Numbers listed again on a later page of the same run (counted once).
    pub duplicates: u64,
    /// Page this run continued at, from a previous run's checkpoint.
    pub resumed_from: Option<u32>,
    /// A checkpoint was found but not used (the list changed, or another page size).
    pub restarted: bool,
    /// 0 or 1, when known.
    pub base: Option<u32>,
    /// Where the next run continues, when this one did not complete.
    pub next_page: Option<u32>,
    /// Why the run ended early, when a call failed.
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkippedReport {
    pub page: u32,
    pub index: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    next_page: u32,
    base: Option<u32>,
    /// Content hash of page `next_page - 1`, to tell whether the list moved since.
    page_hash: String,
    page_size: u32,
}

/// Everything a run needs; build once per Lambda container.
#[derive(Debug, Clone)]
pub struct Reconciler {
    pub store: Store,
    pub vonage: VonageClient,
    pub page_size: u32,
    pub concurrency: usize,
    pub stop_margin: Duration,
    /// Stop (resumably, `complete: false`) after processing this many pages in one run.
    pub max_pages: Option<u32>,
    /// Start from page 0 whatever the checkpoint says.
    pub ignore_checkpoint: bool,
    /// What Vonage's opt-outs end: the legacy short code program's own scope (`[ALL]` without
    /// programs; each such program's when several, Vonage's list not saying which).
    pub scopes: Vec<Scope>,
    /// The items whose newest is compared with Vonage's list (the one legacy program's), or
    /// `None` with several: then every opt-out goes to `Store::record`, whose rule decides per
    /// scope, and drift is not reported.
    pub reaching: Option<Vec<Scope>>,
}

impl Reconciler {
    pub fn new(store: Store, vonage: VonageClient) -> Self {
        Self {
            store,
            vonage,
            page_size: DEFAULT_PAGE_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            stop_margin: DEFAULT_STOP_MARGIN,
            max_pages: None,
            ignore_checkpoint: false,
            scopes: vec![Scope::Every],
            reaching: Some(vec![Scope::Every]),
        }
    }

    /// Settings: the Vonage client's, and `RECONCILE_PAGE_SIZE` (1 to 1000, default 100).
    pub fn from_settings(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let vonage = VonageClient::from_settings(settings)?;
        let mut reconciler = Self::new(store, vonage);
        let programs = Programs::from_settings(settings)?;
        if programs.declared() {
            let mode = ProviderMode::from_settings(settings)?;
            let legacy: Vec<&Program> = programs
                .all()
                .iter()
                .filter(|p| p.mode(mode).has_opt_out_list())
                .collect();
            reconciler.scopes = legacy.iter().map(|p| programs.own_scope(p)).collect();
            reconciler.reaching = match legacy.as_slice() {
                [] => {
                    return Err(ConfigError::Invalid {
                        name: "PROGRAMS",
                        reason: "no program is in short-code-api mode: Vonage's opt-out list has no program to end".into(),
                    })
                }
                [one] => Some(programs.scopes_reaching(one)),
                _ => None,
            };
        }
        if let Some(size) = settings.get("RECONCILE_PAGE_SIZE") {
            reconciler.page_size = size
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "RECONCILE_PAGE_SIZE",
                    reason: "not a whole number from 1 to 1000".into(),
                })?;
        }
        Ok(reconciler)
    }

    /// One run, ending by `deadline` (less the stop margin). Never fails: an error ends the run
    /// early and is in the report (`error`), with `complete: false`.
    pub async fn run(&self, deadline: Deadline) -> ReconcileReport {
        let started = Instant::now();
        let mut report = ReconcileReport::default();
        let mut run = Run::default();
        if let Err(e) = self.run_pages(deadline, &mut run, &mut report).await {
            report.error = Some(e.to_string());
            report.complete = false;
        }
        if !report.complete {
            report.next_page = Some(run.page);
        }
        report.base = run.base;
        report.drift = report.drift_opted_in_at_vonage + report.drift_resubscribed_here;
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            complete = report.complete,
            pages = report.pages,
            entries = report.entries,
            added = report.added,
            already = report.already,
            drift = report.drift,
            skipped = report.skipped,
            duplicates = report.duplicates,
            resumed_from = report.resumed_from,
            error = report.error.as_deref().unwrap_or(""),
            elapsed_ms = report.elapsed_ms,
            "reconcile run finished"
        );
        report
    }

    async fn run_pages(
        &self,
        deadline: Deadline,
        run: &mut Run,
        report: &mut ReconcileReport,
    ) -> Result<(), ReconcileError> {
        let out_of_time = || deadline.remaining() <= self.stop_margin;
        if !self.ignore_checkpoint {
            self.resume(deadline, out_of_time(), run, report).await?;
        }
        loop {
            if self.max_pages.is_some_and(|max| run.processed >= max) || out_of_time() {
                tracing::info!(
                    next_page = run.page,
                    "reconcile: stopping before the deadline"
                );
                return Ok(());
            }
            let page = self
                .vonage
                .query_page(run.page, self.page_size, deadline)
                .await?;
            report.pages += 1;
            let hash = page_hash(&page);
            if page.entries.is_empty() && page.skipped.is_empty() {
                if run.page == 0 && run.base.is_none() {
                    // Either the list is empty, or paging starts at 1: page 1 tells.
                    run.page0_empty = true;
                    run.page = 1;
                    continue;
                }
                break;
            }
            if run.hashes.contains(&hash) {
                if run.page == 1 && run.base.is_none() {
                    // Page 0 was page 1 under another number: 1-based paging.
                    run.base = Some(1);
                    run.page = 2;
                    continue;
                }
                // Past the end, the last page again.
                break;
            }
            if run.page == 1 && run.base.is_none() {
                run.base = Some(if run.page0_empty { 1 } else { 0 });
            }
            self.process_page(run.page, &page, run, report).await?;
            run.hashes.insert(hash.clone());
            run.processed += 1;
            run.page += 1;
            let checkpoint = Checkpoint {
                next_page: run.page,
                base: run.base,
                page_hash: hash,
                page_size: self.page_size,
            };
            let data = serde_json::to_string(&checkpoint).unwrap_or_default();
            self.store.save_checkpoint(CHECKPOINT_NAME, &data).await?;
        }
        self.store.clear_checkpoint(CHECKPOINT_NAME).await?;
        report.complete = true;
        Ok(())
    }

    /// Continue after a previous run's last processed page, if the list has not moved since.
    async fn resume(
        &self,
        deadline: Deadline,
        out_of_time: bool,
        run: &mut Run,
        report: &mut ReconcileReport,
    ) -> Result<(), ReconcileError> {
        let Some(data) = self.store.checkpoint(CHECKPOINT_NAME).await? else {
            return Ok(());
        };
        let checkpoint = match serde_json::from_str::<Checkpoint>(&data) {
            Ok(c) if c.page_size == self.page_size && c.next_page > 0 => c,
            _ => {
                tracing::warn!("reconcile: checkpoint unusable (other page size or format); starting from page 0");
                report.restarted = true;
                return Ok(());
            }
        };
        // Until the check below says otherwise, the next run would start where this one would;
        // out of time, nothing is read and the checkpoint stays as it is.
        run.page = checkpoint.next_page;
        if out_of_time {
            return Ok(());
        }
        let last = checkpoint.next_page - 1;
        let page = self
            .vonage
            .query_page(last, self.page_size, deadline)
            .await?;
        report.pages += 1;
        let hash = page_hash(&page);
        if hash == checkpoint.page_hash {
            tracing::info!(
                page = checkpoint.next_page,
                "reconcile: resuming from the checkpoint"
            );
            run.base = checkpoint.base;
            run.page0_empty = checkpoint.base == Some(1);
            run.hashes.insert(hash);
            report.resumed_from = Some(checkpoint.next_page);
        } else {
            tracing::warn!(
                page = last,
                "reconcile: the list changed since the checkpoint; starting from page 0"
            );
            run.page = 0;
            report.restarted = true;
        }
        Ok(())
    }

    async fn process_page(
        &self,
        page_no: u32,
        page: &QueryPage,
        run: &mut Run,
        report: &mut ReconcileReport,
    ) -> Result<(), ReconcileError> {
        report.skipped += page.skipped.len() as u64;
        for s in &page.skipped {
            if report.skipped_entries.len() < MAX_REPORTED_SKIPS {
                report.skipped_entries.push(SkippedReport {
                    page: page_no,
                    index: s.index,
                    reason: s.reason.clone(),
                });
            }
        }
        let mut fresh: Vec<&OptListEntry> = Vec::with_capacity(page.entries.len());
        for entry in &page.entries {
            if run.seen.insert(entry.msisdn.as_str().to_owned()) {
                fresh.push(entry);
            } else {
                report.duplicates += 1;
            }
        }
        report.entries += fresh.len() as u64;
        let numbers: Vec<Msisdn> = fresh.iter().map(|e| e.msisdn.clone()).collect();
        let states = match &self.reaching {
            Some(reaching) => self.store.states_parallel(&numbers, reaching, 1).await?,
            None => HashMap::new(),
        };
        let received_at = timestamp::now();
        let mut events = Vec::new();
        for entry in fresh {
            if entry.opted_out {
                events.push(opt_out_event(entry, self.scopes.clone(), received_at));
            } else if let Some(state) = states
                .get(entry.msisdn.as_str())
                .filter(|s| s.status == Status::OptedOut)
            {
                report.drift_opted_in_at_vonage += 1;
                tracing::warn!(
                    drift = "opted_in_at_vonage",
                    msisdn = %entry.msisdn,
                    ours_since = %state.since,
                    ours_source = %state.source,
                    vonage_opt_in = entry.opted_in,
                    vonage_opt_in_date = %entry.opt_in_date.map(timestamp::format).unwrap_or_default(),
                    "reconcile drift: we hold this number as opted out, Vonage lists it as not opted out; left as is (only the person can resubscribe)"
                );
            }
        }
        report.opted_out += events.len() as u64;
        let results = bulk::apply(&self.store, &events, &states, self.concurrency).await;
        let mut failure = None;
        for (event, result) in events.iter().zip(results) {
            match result {
                BulkResult::Added => report.added += 1,
                BulkResult::AlreadyOptedOut => report.already += 1,
                BulkResult::Superseded => report.superseded += 1,
                BulkResult::OursIsNewer(state) => {
                    report.drift_resubscribed_here += 1;
                    log_resubscribed_here(event, &state);
                }
                BulkResult::Failed(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(()), |e| Err(e.into()))
    }
}

fn log_resubscribed_here(event: &Event, state: &State) {
    tracing::warn!(
        drift = "resubscribed_here",
        msisdn = %event.msisdn,
        vonage_opt_out_date = %timestamp::format(event.occurred_at),
        ours_since = %state.since,
        ours_event = %state.event_id,
        "reconcile drift: Vonage lists this number as opted out, but we hold a newer resubscribe; not written"
    );
}

#[derive(Default)]
struct Run {
    page: u32,
    base: Option<u32>,
    page0_empty: bool,
    hashes: HashSet<String>,
    seen: HashSet<String>,
    processed: u32,
}

/// The opt-out a Vonage entry stands for. One event id per distinct fact (number + date), so
/// every later run finds it recorded.
pub fn opt_out_event(
    entry: &OptListEntry,
    scopes: Vec<Scope>,
    received_at: OffsetDateTime,
) -> Event {
    let (occurred_at, id) = match entry.opt_out_date {
        Some(date) => (date, timestamp::format(date)),
        None => (OffsetDateTime::UNIX_EPOCH, "undated".to_owned()),
    };
    Event {
        scopes,
        msisdn: entry.msisdn.clone(),
        kind: EventKind::OptOut,
        event_id: format!("{SOURCE}:{id}"),
        occurred_at,
        received_at,
        origin: Origin::VonageSync(VonageListEntry {
            vonage_opt_out_date: entry.opt_out_date.map(timestamp::format),
            vonage_opt_in: entry.opted_in.to_string(),
            vonage_opt_in_date: entry.opt_in_date.map(timestamp::format),
            extra: Default::default(),
        }),
    }
}

/// Content hash of a page: its parsed entries and skipped positions, in order.
fn page_hash(page: &QueryPage) -> String {
    let mut hasher = Sha256::new();
    let date = |d: Option<OffsetDateTime>| d.map(timestamp::format).unwrap_or_default();
    for e in &page.entries {
        hasher.update(
            format!(
                "{}|{}|{}|{}|{}\n",
                e.msisdn.as_str(),
                e.opted_out,
                date(e.opt_out_date),
                e.opted_in,
                date(e.opt_in_date)
            )
            .as_bytes(),
        );
    }
    for s in &page.skipped {
        hasher.update(format!("skipped|{}|{}\n", s.index, s.reason).as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(digits: &str, date: Option<OffsetDateTime>) -> OptListEntry {
        OptListEntry {
            msisdn: Msisdn::from_provider(digits).expect("valid"),
            opted_out: true,
            opt_out_date: date,
            opted_in: false,
            opt_in_date: None,
        }
    }

    #[test]
    fn event_ids_are_one_per_fact() {
        let now = datetime!(2026-11-26 10:00:00 UTC);
        let dated = opt_out_event(
            &entry("15558937009", Some(datetime!(2014-06-27 18:31:33 UTC))),
            vec![Scope::Every],
            now,
        );
        assert_eq!(dated.event_id, "vonage-sync:2014-06-27T18:31:33.000Z");
        assert_eq!(dated.origin.source(), SOURCE);
        assert_eq!(dated.occurred_at, datetime!(2014-06-27 18:31:33 UTC));
        let undated = opt_out_event(&entry("15558937009", None), vec![Scope::Every], now);
        assert_eq!(undated.event_id, "vonage-sync:undated");
        assert_eq!(undated.occurred_at, OffsetDateTime::UNIX_EPOCH);
    }

    #[test]
    fn page_hash_sees_content() {
        let page = |entries| QueryPage {
            entries,
            skipped: vec![],
            total: None,
        };
        let a = page(vec![entry("15558937009", None)]);
        let b = page(vec![entry("15554908975", None)]);
        assert_eq!(page_hash(&a), page_hash(&a.clone()));
        assert_ne!(page_hash(&a), page_hash(&b));
    }
}
