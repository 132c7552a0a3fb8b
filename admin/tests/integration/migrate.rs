//! `optout-admin migrate` on a table the previous version wrote (`testdata/previous-version/`,
//! opt-outs, resubscribes, replies, reviews, an idempotency key, a checkpoint): the dry run
//! writes nothing; an interrupted run resumes; the old states end the program assigned and
//! nothing else; counts agree; no number blocked for the program becomes sendable for it; a
//! STOP ALL written once programs were on stays; a second run moves nothing.

use optout_admin::migrate::{Counts, Migration};
use shared::adapters::store::Store;
use shared::domain::event::Status;
use shared::domain::evidence::CheckResult;
use shared::domain::msisdn::Msisdn;
use shared::domain::program::{ProgramId, Programs, Scope};
use std::collections::BTreeMap;
use testkit::*;

const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["16105553939"], "default": true},
    {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"]}
]"#;

/// Every number's status for `program`, and each state item's scope.
async fn statuses(
    store: &Store,
    programs: &Programs,
    program: &str,
    numbers: &[Msisdn],
) -> BTreeMap<String, Option<Status>> {
    let program = programs
        .get(&ProgramId::parse(program).expect("id"))
        .expect("program");
    let mut out = BTreeMap::new();
    for n in numbers {
        let state = store
            .state_in(n, &programs.scopes_reaching(program))
            .await
            .expect("read");
        out.insert(n.as_str().to_owned(), state.map(|s| s.status));
    }
    out
}

/// Items by family (the sort key up to its first `#`).
async fn families(store: &Store) -> BTreeMap<String, usize> {
    let out = store
        .client()
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .expect("scan");
    let mut families = BTreeMap::new();
    for item in out.items() {
        let sk = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let family = sk.split('#').next().unwrap_or_default().to_owned();
        *families.entry(family).or_insert(0) += 1;
    }
    families
}

#[tokio::test]
async fn migrate_assigns_the_old_states_to_a_program_and_loses_no_opt_out() {
    let (store, _) = previous_version_table().await;
    let programs = Programs::parse(PROGRAMS).expect("programs");
    let alerts = programs
        .get(&ProgramId::parse("alerts").expect("id"))
        .expect("alerts");
    let (old, _) = store.state_items_page(None, 100).await.expect("states");
    let numbers: Vec<Msisdn> = old.iter().map(|s| s.msisdn.clone()).collect();
    assert_eq!(numbers.len(), 7);
    let alerts_before = statuses(&store, &programs, "alerts", &numbers).await;
    assert_eq!(
        alerts_before
            .values()
            .filter(|s| **s == Some(Status::OptedOut))
            .count(),
        5
    );

    // Programs turned on now; then a STOP ALL, kept for every program by any migration.
    let cutoff = shared::domain::timestamp::now();
    let stop_all = msisdn("14155550999");
    store
        .record(&records::stop(
            &stop_all,
            "sms:STOPALL",
            cutoff + time::Duration::seconds(1),
        ))
        .await
        .expect("stop all");
    // A STOP ALL texted before the cutoff but delivered (written) after it: kept as well.
    let late = msisdn("14155550998");
    store
        .record(&records::stop(
            &late,
            "sms:LATE",
            cutoff - time::Duration::hours(1),
        ))
        .await
        .expect("late stop all");
    let families_before = families(&store).await;

    let migration = |page_size, max_pages, restart| Migration {
        store: &store,
        programs: &programs,
        program: alerts,
        written_before: cutoff,
        page_size,
        max_pages,
        restart,
    };
    let expected_before = Counts {
        every_opted_out: 7,
        every_subscribed: 2,
        program_opted_out: 0,
        program_subscribed: 0,
        to_move: 7,
    };

    // The dry run counts and writes nothing.
    let dry = migration(500, None, false).run(true, |_, _| {}).await;
    assert!(dry.complete && dry.error.is_none(), "{dry:?}");
    assert_eq!(
        (dry.before, dry.after, dry.moved),
        (expected_before, None, 0)
    );
    assert_eq!(families(&store).await, families_before);

    // Stopped after every page (of 3 items read), resumed each time from its checkpoint: no
    // item moved twice, none left.
    let mut runs = Vec::new();
    let mut totals = Vec::new();
    loop {
        let run = migration(3, Some(1), false)
            .run(false, |_, total| totals.push(total))
            .await;
        assert!(run.error.is_none(), "{run:?}");
        let complete = run.complete;
        runs.push(run);
        if complete || runs.len() > 100 {
            break;
        }
    }
    assert!(runs.len() > 2, "{runs:?}");
    assert_eq!(totals.first(), Some(&7));
    assert_eq!(runs.iter().map(|r| r.moved).sum::<u64>(), 7, "{runs:?}");
    assert_eq!(runs.iter().map(|r| r.changed).sum::<u64>(), 0, "{runs:?}");
    let resumed = runs.pop().unwrap_or_default();
    assert!(resumed.complete);
    assert_eq!(
        resumed.after,
        Some(Counts {
            every_opted_out: 2,
            every_subscribed: 0,
            program_opted_out: 5,
            program_subscribed: 2,
            to_move: 0,
        })
    );

    // The program assigned says exactly what it said; the others are no longer held by the
    // old items; the STOP ALL still ends both.
    assert_eq!(
        statuses(&store, &programs, "alerts", &numbers).await,
        alerts_before
    );
    let deals = statuses(&store, &programs, "deals", &numbers).await;
    assert!(deals.values().all(Option::is_none), "{deals:?}");
    for program in ["alerts", "deals"] {
        let kept = statuses(
            &store,
            &programs,
            program,
            &[stop_all.clone(), late.clone()],
        )
        .await;
        assert!(
            kept.values().all(|s| *s == Some(Status::OptedOut)),
            "{program}: {kept:?}"
        );
    }
    // Nothing else changed: one migration entry per moved state, the old ones kept.
    let mut expected = families_before.clone();
    *expected.entry("E".into()).or_default() += 7;
    let after = families(&store).await;
    for family in ["R", "V", "REVIEWID", "IDEMPOTENCY", "REPLY_LOCK", "E"] {
        assert_eq!(
            after.get(family),
            expected.get(family),
            "{family}: {after:?}"
        );
    }
    assert_eq!(
        after.get("STATE").copied().unwrap_or(0),
        families_before.get("STATE").copied().unwrap_or(0),
        "each moved item is replaced by the program's: {after:?}"
    );
    assert_eq!(
        store
            .checkpoint(optout_admin::migrate::CHECKPOINT)
            .await
            .ok(),
        Some(None)
    );

    // The evidence file agrees with itself for every number.
    for n in &numbers {
        let file = store
            .evidence(std::slice::from_ref(n), shared::domain::timestamp::now())
            .await
            .expect("evidence")
            .expect("a file");
        assert!(
            matches!(
                file.check.result,
                CheckResult::Consistent | CheckResult::NoRecord
            ),
            "{}: {:?}",
            n.as_str(),
            file.check
        );
        let scoped: Vec<_> = file
            .scoped_states
            .iter()
            .map(|s| (s.scope.clone(), s.check.result))
            .collect();
        assert_eq!(
            scoped,
            [(Scope::Program(alerts.id.clone()), CheckResult::Consistent)],
            "{}",
            n.as_str()
        );
    }

    // A second run finds nothing to move.
    let again = migration(500, None, false).run(false, |_, _| {}).await;
    assert_eq!((again.moved, again.changed), (0, 0), "{again:?}");
    assert_eq!(again.before, resumed.after.unwrap_or_default());
}
