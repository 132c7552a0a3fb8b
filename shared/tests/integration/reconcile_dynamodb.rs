//! Reconciliation against the real local DynamoDB-compatible server and a wiremock Vonage serving
//! paged lists built from the documented query response (read from the reference folder): both
//! page bases, an empty list, a list that changes between pages, malformed entries, interruption
//! and resume, drift, idempotent re-runs. Also the store's bulk calls it is built on, and the
//! local server's transaction rollback.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde_json::{json, Value};
use shared::adapters::store::Store;
use shared::adapters::vonage::{RetryPolicy, VonageClient};
use shared::domain::deadline::Deadline;
use shared::domain::event::{Event, EventKind, Outcome, Status};
use shared::handlers::reconcile::{ReconcileReport, Reconciler, CHECKPOINT_NAME};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::*;
use time::macros::datetime;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const QUERY: &str = "/sc/us/alert/opt-in/query/json";

/// How the stand-in numbers its pages.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Paging {
    /// Page 0 is the first; past the end, an empty list.
    ZeroBased,
    /// Page 1 is the first and page 0 answers as page 1 (the .NET SDK's "1-indexed").
    OneBasedZeroIsOne,
    /// Page 1 is the first and page 0 is empty.
    OneBasedZeroEmpty,
    /// Page 0 is the first; past the end, the last page again.
    ZeroBasedRepeatsLast,
}

struct ListState {
    entries: Vec<Value>,
    paging: Paging,
    /// Pages asked for, in order.
    calls: Vec<u32>,
    /// Answer 500 to this page while set.
    fail_page: Option<u32>,
    /// After this many calls, serve this list instead.
    change_after: Option<(usize, Vec<Value>)>,
}

/// A wiremock responder serving `entries` a page at a time, as the query call does.
#[derive(Clone)]
struct PagedList(Arc<Mutex<ListState>>);

impl PagedList {
    fn new(entries: Vec<Value>, paging: Paging) -> Self {
        Self(Arc::new(Mutex::new(ListState {
            entries,
            paging,
            calls: vec![],
            fail_page: None,
            change_after: None,
        })))
    }
    fn state(&self) -> std::sync::MutexGuard<'_, ListState> {
        self.0.lock().unwrap()
    }
    fn calls(&self) -> Vec<u32> {
        self.state().calls.clone()
    }
}

impl Respond for PagedList {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body).unwrap();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert!(get("api_key").is_some() && get("api_secret").is_some());
        let page: u32 = get("page").unwrap().parse().unwrap();
        let size: usize = get("page-size").unwrap().parse().unwrap();
        let mut st = self.state();
        st.calls.push(page);
        if st.fail_page == Some(page) {
            return ResponseTemplate::new(500);
        }
        if let Some((after, _)) = &st.change_after {
            if st.calls.len() > *after {
                let (_, list) = st.change_after.take().unwrap();
                st.entries = list;
            }
        }
        let pages = st.entries.len().div_ceil(size);
        let index = match st.paging {
            Paging::ZeroBased => Some(page as usize),
            Paging::OneBasedZeroIsOne => Some((page as usize).max(1) - 1),
            Paging::OneBasedZeroEmpty => (page as usize).checked_sub(1),
            Paging::ZeroBasedRepeatsLast => Some((page as usize).min(pages.max(1) - 1)),
        };
        let chunk: Vec<Value> = match index {
            Some(i) if i * size < st.entries.len() => {
                st.entries[i * size..((i + 1) * size).min(st.entries.len())].to_vec()
            }
            _ => vec![],
        };
        // The documented shape: every value a string.
        ResponseTemplate::new(200).set_body_json(json!({
            "opt-in-count": st.entries.len().to_string(),
            "opt-in-list": chunk,
        }))
    }
}

/// The documented query response's entries (one has a date with several spaces in it).
fn documented_entries() -> Vec<Value> {
    let doc: Value = serde_json::from_str(&vonage_reference(
        "us-short-codes/subscription_response-format_1_query.json",
    ))
    .unwrap();
    doc["opt-in-list"].as_array().unwrap().clone()
}

fn number(i: usize) -> String {
    format!("1415{:07}", 5_000_000 + i)
}

/// `n` entries shaped like the documented ones, numbers `number(first..first + n)`.
fn entries(first: usize, n: usize) -> Vec<Value> {
    let templates = documented_entries();
    (first..first + n)
        .map(|i| {
            let mut e = templates[i % templates.len()].clone();
            e["msisdn"] = json!(number(i));
            e
        })
        .collect()
}

async fn vonage(list: &PagedList) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY))
        .respond_with(list.clone())
        .mount(&server)
        .await;
    server
}

fn reconciler(store: &Store, server: &MockServer, page_size: u32) -> Reconciler {
    let client = VonageClient::new(&server.uri(), "test-key", "test-secret")
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            attempt_timeout: Duration::from_secs(5),
        });
    let mut r = Reconciler::new(store.clone(), client);
    r.page_size = page_size;
    r.stop_margin = Duration::from_millis(10);
    r
}

async fn run(r: &Reconciler) -> ReconcileReport {
    r.run(Deadline::after(Duration::from_secs(60))).await
}

async fn opted_out(store: &Store, digits: &str) -> bool {
    matches!(
        store.state(&msisdn(digits)).await.unwrap(),
        Some(s) if s.status == Status::OptedOut
    )
}

async fn all_opted_out(store: &Store, numbers: impl Iterator<Item = String>) {
    let numbers: Vec<_> = numbers.map(|n| msisdn(&n)).collect();
    let states = store.states(&numbers).await.unwrap();
    for n in &numbers {
        match states.get(n.as_str()) {
            Some(s) if s.status == Status::OptedOut => {}
            other => panic!("{n} is not opted out: {other:?}"),
        }
    }
}

async fn list_reconciled(paging: Paging) -> (ReconcileReport, Vec<u32>, Store) {
    let store = fresh_store().await;
    let list = PagedList::new(entries(0, 25), paging);
    let server = vonage(&list).await;
    let report = run(&reconciler(&store, &server, 10)).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.error, None);
    assert_eq!(
        (report.entries, report.added, report.already, report.drift),
        (25, 25, 0, 0),
        "{report:?}"
    );
    assert_eq!(report.duplicates, 0);
    all_opted_out(&store, (0..25).map(number)).await;
    assert_eq!(
        item_count(&store).await,
        50,
        "state + one history entry each"
    );
    assert_eq!(store.checkpoint(CHECKPOINT_NAME).await.unwrap(), None);
    (report, list.calls(), store)
}

#[tokio::test]
async fn zero_based_pages_from_the_documented_shape() {
    let (report, calls, store) = list_reconciled(Paging::ZeroBased).await;
    assert_eq!(calls, [0, 1, 2, 3]);
    assert_eq!(report.pages, 4);
    assert_eq!(report.base, Some(0));
    // The documented entry with several spaces inside its date.
    let n = number(0);
    let state = store.state(&msisdn(&n)).await.unwrap().unwrap();
    assert_eq!(
        shared::domain::timestamp::format(state.since),
        "2014-06-27T18:31:33.000Z"
    );
    assert_eq!(state.event_id, "vonage-sync:2014-06-27T18:31:33.000Z");
    assert_eq!(state.source, "vonage-sync");
    let history = store.history(&msisdn(&n), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].origin.source(), "vonage-sync");
    assert_eq!(history[0].origin.details()["vonage_opt_in"], "false");
    // The documented entry with an opt-in date keeps it as evidence.
    let history = store.history(&msisdn(&number(2)), 10).await.unwrap();
    assert_eq!(
        history[0].origin.details()["vonage_opt_in_date"],
        "2014-07-18T15:28:23.000Z"
    );
}

#[tokio::test]
async fn one_based_pages_where_page_zero_is_page_one() {
    let (report, calls, _) = list_reconciled(Paging::OneBasedZeroIsOne).await;
    // Page 1 repeats page 0: not processed again, and reading goes on at 2.
    assert_eq!(calls, [0, 1, 2, 3, 4]);
    assert_eq!(report.base, Some(1));
}

#[tokio::test]
async fn one_based_pages_where_page_zero_is_empty() {
    let (report, calls, _) = list_reconciled(Paging::OneBasedZeroEmpty).await;
    assert_eq!(calls, [0, 1, 2, 3, 4]);
    assert_eq!(report.base, Some(1));
}

#[tokio::test]
async fn a_list_that_repeats_its_last_page_past_the_end_terminates() {
    let (report, calls, _) = list_reconciled(Paging::ZeroBasedRepeatsLast).await;
    assert_eq!(calls, [0, 1, 2, 3]);
    assert_eq!(report.pages, 4);
}

#[tokio::test]
async fn an_empty_list_adds_nothing() {
    for paging in [Paging::ZeroBased, Paging::OneBasedZeroEmpty] {
        let store = fresh_store().await;
        let list = PagedList::new(vec![], paging);
        let server = vonage(&list).await;
        let report = run(&reconciler(&store, &server, 100)).await;
        assert!(report.complete);
        assert_eq!((report.pages, report.entries, report.added), (2, 0, 0));
        assert_eq!(list.calls(), [0, 1]);
        assert_eq!(item_count(&store).await, 0);
    }
}

#[tokio::test]
async fn a_list_that_changes_between_pages_is_counted_once_and_caught_up_next_run() {
    let store = fresh_store().await;
    let old = entries(0, 25);
    // After pages 0 and 1 were read, five new opt-outs appear at the front: everything shifts.
    let mut new = entries(1000, 5);
    new.extend(old.clone());
    let list = PagedList::new(old, Paging::ZeroBased);
    list.state().change_after = Some((2, new));
    let server = vonage(&list).await;
    let r = reconciler(&store, &server, 10);

    let first = run(&r).await;
    assert!(first.complete, "{first:?}");
    // Page 2 now starts with five numbers page 1 had: seen once, counted once.
    assert_eq!(first.duplicates, 5);
    assert_eq!((first.entries, first.added, first.already), (25, 25, 0));
    all_opted_out(&store, (0..25).map(number)).await;
    assert_eq!(item_count(&store).await, 50);

    let second = run(&r).await;
    assert!(second.complete);
    assert_eq!(
        (second.added, second.already, second.duplicates),
        (5, 25, 0)
    );
    all_opted_out(&store, (1000..1005).map(number)).await;
    assert_eq!(item_count(&store).await, 60);
}

#[tokio::test]
async fn malformed_entries_are_skipped_and_reported() {
    let store = fresh_store().await;
    let mut list = entries(0, 3);
    list.insert(1, json!({"msisdn": "not-a-number", "opt-out": "true"}));
    list.push(json!({"msisdn": number(10), "opt-out": "maybe"}));
    list.push(json!({"msisdn": number(11), "opt-out": "true", "opt-out-date": "yesterday"}));
    list.push(json!({"opt-out": "true"}));
    list.push(json!("15551234567"));
    // Lenient where it can be: a JSON boolean, a date with odd spacing, no date at all.
    list.push(
        json!({"msisdn": number(12), "opt-out": true, "opt-out-date": " 2015-01-02   03:04:05 "}),
    );
    list.push(json!({"msisdn": number(13), "opt-out": "TRUE"}));
    let paged = PagedList::new(list, Paging::ZeroBased);
    let server = vonage(&paged).await;
    let report = run(&reconciler(&store, &server, 100)).await;
    assert!(report.complete);
    assert_eq!(report.skipped, 5, "{report:?}");
    let where_: Vec<_> = report
        .skipped_entries
        .iter()
        .map(|s| (s.page, s.index))
        .collect();
    assert_eq!(where_, [(0, 1), (0, 4), (0, 5), (0, 6), (0, 7)]);
    assert!(report.skipped_entries[0].reason.contains("msisdn"));
    assert!(report.skipped_entries[1].reason.contains("opt-out"));
    assert_eq!((report.entries, report.added), (5, 5));
    assert!(!opted_out(&store, &number(10)).await);
    assert!(!opted_out(&store, &number(11)).await);
    let odd = store.state(&msisdn(&number(12))).await.unwrap().unwrap();
    assert_eq!(
        shared::domain::timestamp::format(odd.since),
        "2015-01-02T03:04:05.000Z"
    );
    let undated = store.state(&msisdn(&number(13))).await.unwrap().unwrap();
    assert_eq!(undated.event_id, "vonage-sync:undated");
    assert_eq!(
        shared::domain::timestamp::format(undated.since),
        "1970-01-01T00:00:00.000Z"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("5551234567") && !json.contains(&number(11)));
}

#[tokio::test]
async fn an_interrupted_run_resumes_from_its_checkpoint() {
    let store = fresh_store().await;
    let list = PagedList::new(entries(0, 35), Paging::ZeroBased);
    list.state().fail_page = Some(3);
    let server = vonage(&list).await;
    let r = reconciler(&store, &server, 5);

    let first = run(&r).await;
    assert!(!first.complete);
    assert!(
        first.error.as_deref().unwrap().contains("vonage"),
        "{first:?}"
    );
    assert_eq!((first.added, first.next_page), (15, Some(3)));
    assert!(store.checkpoint(CHECKPOINT_NAME).await.unwrap().is_some());
    assert_eq!(list.calls(), [0, 1, 2, 3]);

    list.state().fail_page = None;
    list.state().calls.clear();
    let second = run(&r).await;
    assert!(second.complete, "{second:?}");
    assert_eq!(second.resumed_from, Some(3));
    // Page 2 is read again only to check the list has not moved; pages 0 and 1 are not.
    assert_eq!(list.calls(), [2, 3, 4, 5, 6, 7]);
    assert_eq!((second.added, second.already), (20, 0));
    all_opted_out(&store, (0..35).map(number)).await;
    assert_eq!(item_count(&store).await, 70);
    assert_eq!(store.checkpoint(CHECKPOINT_NAME).await.unwrap(), None);
}

#[tokio::test]
async fn a_run_stopped_early_resumes_and_a_moved_list_restarts() {
    let store = fresh_store().await;
    let list = PagedList::new(entries(0, 20), Paging::OneBasedZeroIsOne);
    let server = vonage(&list).await;
    let mut r = reconciler(&store, &server, 5);
    r.max_pages = Some(2);
    let first = run(&r).await;
    assert!(!first.complete && first.error.is_none(), "{first:?}");
    assert_eq!(first.added, 10);
    assert_eq!(first.next_page, Some(3));

    // The deadline is already too close: nothing is read, the checkpoint stays.
    r.max_pages = None;
    r.stop_margin = Duration::from_secs(3600);
    list.state().calls.clear();
    let idle = run(&r).await;
    assert!(!idle.complete && idle.error.is_none());
    assert_eq!((idle.pages, idle.added, idle.next_page), (0, 0, Some(3)));
    assert!(list.calls().is_empty());
    assert!(store.checkpoint(CHECKPOINT_NAME).await.unwrap().is_some());

    // The list moves (a new number at the front): the checkpoint no longer matches, so the
    // next run starts over and still finds everything.
    r.stop_margin = Duration::from_millis(10);
    let mut moved = entries(500, 1);
    moved.extend(entries(0, 20));
    list.state().entries = moved;
    list.state().calls.clear();
    let third = run(&r).await;
    assert!(third.complete, "{third:?}");
    assert!(third.restarted);
    assert_eq!(third.resumed_from, None);
    assert_eq!(list.calls()[..3], [2, 0, 1]);
    assert_eq!((third.added, third.already), (11, 10));
    all_opted_out(&store, (0..20).map(number)).await;
}

fn event(digits: &str, kind: EventKind, id: &str, at: OffsetDateTime) -> Event {
    Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(digits),
        kind,
        event_id: id.into(),
        occurred_at: at,
        received_at: at,
        origin: testkit::records::message("M1", "STOP", "STOP"),
    }
}

#[tokio::test]
async fn drift_is_reported_and_never_written() {
    let store = fresh_store().await;
    let t0 = datetime!(2026-01-01 00:00:00 UTC);
    let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(number);
    // A: opted out here; Vonage says opted in.
    store
        .record(&event(&a, EventKind::OptOut, "sms:A", t0))
        .await
        .unwrap();
    // B: a person resubscribed here after the date Vonage has for the opt-out.
    store
        .record(&event(&b, EventKind::OptOut, "sms:B", t0))
        .await
        .unwrap();
    store
        .record(&event(
            &b,
            EventKind::Resubscribe,
            "resub:B",
            t0 + time::Duration::days(2),
        ))
        .await
        .unwrap();
    // C: resubscribed before Vonage's (lost) opt-out: the opt-out is newer and is recorded.
    store
        .record(&event(&c, EventKind::Resubscribe, "resub:C", t0))
        .await
        .unwrap();
    // E: resubscribed, and Vonage's opt-out has no date: ours is newer.
    store
        .record(&event(&e, EventKind::Resubscribe, "resub:E", t0))
        .await
        .unwrap();
    let list = vec![
        json!({"msisdn": a, "opt-in": "true", "opt-in-date": "2026-01-05 10:00:00", "opt-out": "false"}),
        json!({"msisdn": b, "opt-in": "false", "opt-out": "true", "opt-out-date": "2026-01-02 00:00:00"}),
        json!({"msisdn": c, "opt-in": "false", "opt-out": "true", "opt-out-date": "2026-01-02 00:00:00"}),
        json!({"msisdn": d, "opt-in": "false", "opt-out": "true"}),
        json!({"msisdn": e, "opt-in": "false", "opt-out": "true"}),
    ];
    let items_before = item_count(&store).await;
    let paged = PagedList::new(list, Paging::ZeroBased);
    let server = vonage(&paged).await;
    let r = reconciler(&store, &server, 100);
    let report = run(&r).await;
    assert!(report.complete);
    assert_eq!(report.drift_opted_in_at_vonage, 1, "{report:?}");
    assert_eq!(report.drift_resubscribed_here, 2);
    assert_eq!(report.drift, 3);
    assert_eq!(report.added, 2);
    // Nothing changed for the drifted numbers.
    assert!(opted_out(&store, &a).await);
    assert_eq!(history_count(&store, &a).await, 1);
    assert!(!opted_out(&store, &b).await);
    assert_eq!(history_count(&store, &b).await, 2);
    assert!(!opted_out(&store, &e).await);
    assert_eq!(history_count(&store, &e).await, 1);
    // The lost opt-outs are recorded.
    let c_state = store.state(&msisdn(&c)).await.unwrap().unwrap();
    assert_eq!(c_state.status, Status::OptedOut);
    assert_eq!(c_state.event_id, "vonage-sync:2026-01-02T00:00:00.000Z");
    let d_state = store.state(&msisdn(&d)).await.unwrap().unwrap();
    assert_eq!(d_state.event_id, "vonage-sync:undated");
    // C: one new history entry and its state changed; D: a new state and a history entry.
    assert_eq!(item_count(&store).await, items_before + 1 + 2);
    // Drift is reported again on the next run, and still not written.
    let again = run(&r).await;
    assert_eq!((again.drift, again.added, again.already), (3, 0, 2));
}

#[tokio::test]
async fn a_second_run_adds_nothing() {
    let store = fresh_store().await;
    let list = PagedList::new(entries(0, 30), Paging::ZeroBased);
    let server = vonage(&list).await;
    let r = reconciler(&store, &server, 10);
    let first = run(&r).await;
    assert_eq!(first.added, 30);
    let before = item_count(&store).await;
    let second = run(&r).await;
    assert!(second.complete);
    assert_eq!((second.added, second.already, second.drift), (0, 30, 0));
    assert_eq!(item_count(&store).await, before);
    for i in [0, 17, 29] {
        assert_eq!(history_count(&store, &number(i)).await, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The store's bulk calls, and the local server's transactions.

#[tokio::test]
async fn record_many_gives_the_outcomes_record_gives() {
    let store = fresh_store().await;
    let t0 = datetime!(2026-02-01 00:00:00 UTC);
    let newer = t0 + time::Duration::hours(1);
    let (dup, old) = (number(900), number(901));
    store
        .record(&event(&dup, EventKind::OptOut, "sms:D", t0))
        .await
        .unwrap();
    store
        .record(&event(&old, EventKind::Resubscribe, "resub:O", newer))
        .await
        .unwrap();
    let mut events: Vec<Event> = (0..120)
        .map(|i| event(&number(i), EventKind::OptOut, "import:x", t0))
        .collect();
    // Inside the second transaction: a redelivery and an event older than the state.
    events.insert(60, event(&dup, EventKind::OptOut, "sms:D", t0));
    events.insert(61, event(&old, EventKind::OptOut, "sms:O", t0));
    // The same number twice: both facts recorded, the newer one is the state.
    events.push(event(&number(5), EventKind::OptOut, "import:later", newer));
    let outcomes: Vec<Outcome> = store
        .record_many(&events, 3)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(outcomes[60], Outcome::Duplicate);
    assert_eq!(outcomes[61], Outcome::Superseded);
    assert_eq!(outcomes[122], Outcome::Applied);
    let applied = outcomes.iter().filter(|o| **o == Outcome::Applied).count();
    assert_eq!(applied, 121);
    let five = store.state(&msisdn(&number(5))).await.unwrap().unwrap();
    assert_eq!(five.event_id, "import:later");
    assert_eq!(history_count(&store, &number(5)).await, 2);
    assert_eq!(
        store.state(&msisdn(&old)).await.unwrap().unwrap().status,
        Status::Subscribed
    );
    // 120 new numbers; the redelivered one unchanged (state, history); the older event added as
    // history next to the resubscribe; number 5's second fact.
    assert_eq!(item_count(&store).await, 2 * 120 + 2 + 3 + 1);
}

#[tokio::test]
async fn states_reads_many_numbers_at_once() {
    let store = fresh_store().await;
    let t0 = datetime!(2026-02-01 00:00:00 UTC);
    let events: Vec<Event> = (0..130)
        .map(|i| event(&number(i), EventKind::OptOut, "sms:s", t0))
        .collect();
    store.record_many(&events, 2).await;
    let mut asked: Vec<_> = (0..250).map(|i| msisdn(&number(i))).collect();
    asked.extend((0..10).map(|i| msisdn(&number(i))));
    let states = store.states(&asked).await.unwrap();
    assert_eq!(states.len(), 130);
    assert_eq!(states[&number(129)].status, Status::OptedOut);
    assert!(!states.contains_key(&number(130)));
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_nothing_written() {
    let store = fresh_store().await;
    let (client, table) = (store.client(), store.table_name());
    let item = |pk: &str, v: &str| {
        std::collections::HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk.into())),
            ("sk".to_string(), AttributeValue::S("X".into())),
            ("v".to_string(), AttributeValue::S(v.into())),
        ])
    };
    let put = |pk: &str, v: &str, condition: Option<&str>| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item(pk, v)))
                    .set_condition_expression(condition.map(String::from))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item("old", "before")))
        .send()
        .await
        .unwrap();
    // Overwrite one, create two, then a condition fails: all of it is rolled back.
    let err = client
        .transact_write_items()
        .transact_items(put("old", "after", None))
        .transact_items(put("new1", "x", None))
        .transact_items(put("new2", "x", Some("attribute_not_exists(pk)")))
        .transact_items(put("old2", "x", Some("attribute_exists(pk)")))
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("TransactionCanceled"),
        "{err:?}"
    );
    let scan = client.scan().table_name(table).send().await.unwrap();
    assert_eq!(scan.items(), [item("old", "before")]);
    // Two writes to one item: rejected whole.
    assert!(client
        .transact_write_items()
        .transact_items(put("new3", "x", None))
        .transact_items(put("new3", "y", None))
        .send()
        .await
        .is_err());
    let scan = client.scan().table_name(table).send().await.unwrap();
    assert_eq!(scan.items(), [item("old", "before")]);
    // And a transaction whose conditions hold is applied whole.
    client
        .transact_write_items()
        .transact_items(put("old", "after", Some("attribute_exists(pk)")))
        .transact_items(put("new1", "x", Some("attribute_not_exists(pk)")))
        .send()
        .await
        .unwrap();
    let scan = client.scan().table_name(table).send().await.unwrap();
    let mut items = scan.items().to_vec();
    items.sort_by_key(|i| format!("{:?}", i.get("pk")));
    assert_eq!(items, [item("new1", "x"), item("old", "after")]);
}

/// Measurement, run by hand (`cargo test -p optout-shared --release --test integration --
/// --ignored --nocapture`): 100,000 opted-out numbers, 100 a page, into an empty table, then the
/// same list again (nothing to write). Prints both times; asserts only correctness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_reconcile_100k() {
    let n = 100_000;
    // The tests' client gives up after 5 s; a loaded machine can queue a call longer than that.
    let base = fresh_store().await;
    let config = base
        .client()
        .config()
        .to_builder()
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .build();
    let store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        base.table_name(),
    );
    let list: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "msisdn": format!("1{:010}", 2_000_000_000u64 + i as u64),
                "opt-in": "false",
                "opt-out": "true",
                "opt-out-date": format!("2025-{:02}-{:02} 12:00:00", 1 + i % 12, 1 + i % 28),
            })
        })
        .collect();
    let paged = PagedList::new(list, Paging::ZeroBased);
    let server = vonage(&paged).await;
    let r = reconciler(&store, &server, 100);
    let deadline = Deadline::after(Duration::from_secs(15 * 60));
    let started = Instant::now();
    let first = r.run(deadline).await;
    let first_time = started.elapsed();
    println!("reconcile 100k, empty table: {first_time:?}: {first:?}");
    assert!(first.complete, "{first:?}");
    assert_eq!(first.added, n as u64);
    let started = Instant::now();
    let second = r.run(Deadline::after(Duration::from_secs(15 * 60))).await;
    println!("reconcile 100k again: {:?}: {second:?}", started.elapsed());
    assert_eq!((second.added, second.already), (0, n as u64));
}

/// With programs, Vonage's list speaks for the legacy short code program alone: its opt-outs
/// end that program and leave a self-managed one open; a deployment whose programs have no
/// short code program has nothing to reconcile and does not start.
#[tokio::test]
async fn with_programs_the_list_ends_the_legacy_short_code_program_alone() {
    use shared::adapters::config::Settings;
    use shared::domain::program::Programs;
    const PROGRAMS: &str = r#"[
        {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "provider_mode": "short-code-api"},
        {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"], "provider_mode": "self-managed"}
    ]"#;
    let store = fresh_store().await;
    let list = PagedList::new(entries(300, 3), Paging::ZeroBased);
    let server = vonage(&list).await;
    let settings = Settings::from_pairs([
        ("PROGRAMS", PROGRAMS),
        ("REVOKE_ALL_FROM", "off"),
        ("VONAGE_API_KEY", "test-key"),
        ("VONAGE_API_SECRET", "test-secret"),
        ("VONAGE_API_BASE_URL", server.uri().as_str()),
    ]);
    let mut r = Reconciler::from_settings(store.clone(), &settings).unwrap();
    r.stop_margin = Duration::from_millis(10);
    let report = run(&r).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.entries, report.added), (3, 3), "{report:?}");
    let programs = Programs::parse(PROGRAMS).unwrap();
    for i in 300..303 {
        let mut statuses = Vec::new();
        for program in programs.all() {
            let state = store
                .state_in(&msisdn(&number(i)), &programs.scopes_reaching(program))
                .await
                .unwrap();
            statuses.push(state.map(|s| s.status));
        }
        assert_eq!(statuses, [Some(Status::OptedOut), None], "{}", number(i));
    }
    // A second run finds them recorded.
    let again = run(&r).await;
    assert_eq!((again.added, again.already), (0, 3), "{again:?}");

    let none_legacy = Settings::from_pairs([
        (
            "PROGRAMS",
            r#"[{"id": "deals", "name": "Acme Deals", "provider_mode": "self-managed"}]"#,
        ),
        ("VONAGE_API_KEY", "test-key"),
        ("VONAGE_API_SECRET", "test-secret"),
    ]);
    let refused = Reconciler::from_settings(store, &none_legacy).map(|_| ());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("short-code-api")),
        "{refused:?}"
    );
}
