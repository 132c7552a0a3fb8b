//! `optout-admin migrate`: the state items written before programs existed (`STATE`, which end
//! every program) assigned to the program they belonged to (docs/decisions/0005-programs.md).
//!
//! Per number, the event that set the old item is recorded again for the program alone (a
//! `migration` entry naming it; the old entry stays as written) under `Store::record`'s rule,
//! then the old item is deleted only if it still holds that event. A crash between the two
//! leaves the old item, which a re-run moves (the entry is then a duplicate): idempotent, and
//! resumable from a checkpoint. Items written on or after `written_before` (a STOP ALL once
//! programs are on, even one whose message is dated before) are kept: the item's write time
//! decides, not its event's. No number blocked for the program becomes sendable for it: the
//! program's status is the newest event reaching it, and the moved event reaches it still.

use serde::Serialize;
use shared::adapters::store::migrate::{ScopedState, StateScanCursor};
use shared::adapters::store::{Store, StoreError};
use shared::domain::event::{Event, EventKind, State, Status};
use shared::domain::msisdn::Msisdn;
use shared::domain::origin::{Origin, StateMoved};
use shared::domain::program::{Program, Programs, Scope};
use shared::domain::timestamp;
use time::OffsetDateTime;

/// The checkpoint an interrupted run resumes from.
pub const CHECKPOINT: &str = "MIGRATE";
/// State items read per Scan page.
pub const PAGE: i32 = 500;

/// State items by where they are kept and what they say.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Kept for every program (`ALL`).
    pub every_opted_out: u64,
    pub every_subscribed: u64,
    /// Kept for the program assigned to.
    pub program_opted_out: u64,
    pub program_subscribed: u64,
    /// `ALL` items written before the cutoff: what a run moves.
    pub to_move: u64,
}

/// What a run found and did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MigrateReport {
    pub program: String,
    pub written_before: String,
    pub dry_run: bool,
    /// Every page read (and the checkpoint cleared).
    pub complete: bool,
    pub before: Counts,
    pub after: Option<Counts>,
    pub moved: u64,
    /// Replaced by a newer event between the read and the delete: kept.
    pub changed: u64,
    pub error: Option<String>,
}

/// One run: what to assign, to which program, up to when.
pub struct Migration<'a> {
    pub store: &'a Store,
    pub programs: &'a Programs,
    pub program: &'a Program,
    /// When programs were turned on: items written since are kept.
    pub written_before: OffsetDateTime,
    /// Items read per page ([`PAGE`]).
    pub page_size: i32,
    /// Stop (resumably) after this many pages.
    pub max_pages: Option<u32>,
    /// Start from the first page whatever the checkpoint says.
    pub restart: bool,
}

impl Migration<'_> {
    fn moves(&self, item: &ScopedState) -> bool {
        item.scope == Scope::Every && item.written_at < self.written_before
    }

    /// Every state item counted (a full Scan).
    pub async fn count(&self) -> Result<Counts, StoreError> {
        let own = self.programs.own_scope(self.program);
        let mut counts = Counts::default();
        let mut cursor = None;
        loop {
            let (items, next) = self
                .store
                .state_items_page(cursor.as_ref(), self.page_size)
                .await?;
            for item in &items {
                let opted_out = item.state.status == Status::OptedOut;
                match &item.scope {
                    Scope::Every if opted_out => counts.every_opted_out += 1,
                    Scope::Every => counts.every_subscribed += 1,
                    scope if *scope == own && opted_out => counts.program_opted_out += 1,
                    scope if *scope == own => counts.program_subscribed += 1,
                    _ => {}
                }
                counts.to_move += u64::from(self.moves(item));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(counts),
            }
        }
    }

    /// Counts, then (unless `dry_run`) every old item moved; `progress(done, to_move)` after
    /// each page. Never fails: an error ends the run, is in the report, and a re-run resumes.
    pub async fn run(&self, dry_run: bool, mut progress: impl FnMut(u64, u64)) -> MigrateReport {
        let mut report = MigrateReport {
            program: self.program.id.to_string(),
            written_before: timestamp::format(self.written_before),
            dry_run,
            ..MigrateReport::default()
        };
        if let Err(e) = self.move_all(dry_run, &mut report, &mut progress).await {
            report.error = Some(e.to_string());
            report.complete = false;
        }
        if !dry_run {
            match self.count().await {
                Ok(after) => report.after = Some(after),
                Err(e) => {
                    report.error.get_or_insert(e.to_string());
                }
            }
        }
        report
    }

    async fn move_all(
        &self,
        dry_run: bool,
        report: &mut MigrateReport,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<(), StoreError> {
        report.before = self.count().await?;
        if dry_run {
            report.complete = true;
            return Ok(());
        }
        let mut cursor = match self.restart {
            true => None,
            false => self
                .store
                .checkpoint(CHECKPOINT)
                .await?
                .map(StateScanCursor),
        };
        let mut pages = 0;
        loop {
            let (items, next) = self
                .store
                .state_items_page(cursor.as_ref(), self.page_size)
                .await?;
            for item in items.iter().filter(|i| self.moves(i)) {
                let event = moved_event(&item.msisdn, &item.state, self.programs, self.program);
                self.store.record(&event).await?;
                let deleted = self
                    .store
                    .delete_state_if_unchanged(&item.msisdn, &Scope::Every, &item.state.order)
                    .await?;
                match deleted {
                    true => report.moved += 1,
                    false => report.changed += 1,
                }
            }
            progress(report.moved + report.changed, report.before.to_move);
            pages += 1;
            match next {
                None => {
                    self.store.clear_checkpoint(CHECKPOINT).await?;
                    report.complete = true;
                    return Ok(());
                }
                Some(next) => {
                    self.store.save_checkpoint(CHECKPOINT, &next.0).await?;
                    cursor = Some(next);
                }
            }
            if self.max_pages.is_some_and(|max| pages >= max) {
                return Ok(());
            }
        }
    }
}

/// The event a moved item held, recorded for `program` alone.
pub fn moved_event(
    msisdn: &Msisdn,
    state: &State,
    programs: &Programs,
    program: &Program,
) -> Event {
    let scope = programs.own_scope(program);
    Event {
        msisdn: msisdn.clone(),
        kind: match state.status {
            Status::OptedOut => EventKind::OptOut,
            Status::Subscribed => EventKind::Resubscribe,
        },
        event_id: format!("migration:{}", state.event_id),
        occurred_at: state.since,
        received_at: timestamp::now(),
        origin: Origin::Migration(StateMoved {
            moved_event_id: state.event_id.clone(),
            from_scope: Scope::Every.name().to_owned(),
            to_scope: scope.name().to_owned(),
            extra: Default::default(),
        }),
        scopes: vec![scope],
    }
}
