//! Revocations in other words, through the real webhook and API handlers against the
//! local DynamoDB-compatible server: a clear phrase is an opt-out at once; a cue opens a review
//! item that changes nothing until a person decides; review items are listed oldest due first
//! over pages and resolved each way, once.

use lambda_http::http::StatusCode;
use shared::adapters::store::Store;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::{Event, EventKind, Status};
use shared::domain::review::{self, Review};
use shared::domain::timestamp;
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use testkit::*;
use time::OffsetDateTime;

const PATH: &str = "/webhooks/inbound";
const KEY: &str = "website-key";

fn webhook(store: Store) -> Webhook {
    Webhook::new(store, WebhookAuth::default())
}

/// Every answer checked against openapi.yaml.
fn api(store: Store) -> testkit::openapi::CheckedApi {
    // Never called: nothing listens on port 9.
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").expect("client");
    testkit::openapi::CheckedApi::new(WebsiteApi::new(store, vonage, vec![KEY.to_string()]))
}

fn inbound(digits: &str, id: &str, text: &str, sent: &str) -> String {
    serde_urlencoded::to_string([
        ("msisdn", digits),
        ("to", "16105553939"),
        ("messageId", id),
        ("text", text),
        ("message-timestamp", sent),
    ])
    .expect("query")
}

async fn text(hook: &Webhook, digits: &str, id: &str, body: &str) -> serde_json::Value {
    let query = inbound(digits, id, body, "2026-11-20 11:12:01");
    let response = hook
        .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{body}");
    body_json(&response)
}

async fn get(api: &WebsiteApi, query: &str) -> (StatusCode, serde_json::Value) {
    let call = HttpCall::get("/reviews", query).header("x-api-key", KEY);
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    (response.status(), body_json(&response))
}

async fn decide(
    api: &WebsiteApi,
    id: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let path = format!("/reviews/{id}");
    let body = body.to_string();
    let call = HttpCall::post(&path, "application/json", body.as_bytes()).header("x-api-key", KEY);
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    (response.status(), body_json(&response))
}

fn decision(d: &str) -> serde_json::Value {
    serde_json::json!({"decision": d, "by": "agent-7", "note": "read the message"})
}

/// A review item as the webhook would open it, with a chosen receipt time.
fn review_at(digits: &str, message_id: &str, received_at: OffsetDateTime) -> Review {
    testkit::records::open_review(digits, message_id, "is this spam?", "spam", received_at)
}

#[tokio::test]
async fn a_clear_phrase_is_an_opt_out_at_once_with_the_phrase_in_history() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    for (i, (message, phrase)) in [
        ("Please stop texting me", "stop texting me"),
        ("don't text me anymore!", "don't text me anymore"),
        ("No more texts", "no more texts"),
        ("pls remove me from your list", "remove me from your list"),
        ("Take me off this list", "take me off this list"),
        ("I want to opt out", "i want to opt out"),
        ("leave me alone", "leave me alone"),
        ("Wrong number", "wrong number"),
    ]
    .iter()
    .enumerate()
    {
        let digits = format!("1415555{:04}", 3000 + i);
        let reply = text(&hook, &digits, &format!("PH{i}"), message).await;
        assert_eq!(reply["status"], "opted_out", "{message}");
        assert_eq!(reply["outcome"], "applied", "{message}");
        let state = store.state(&msisdn(&digits)).await.unwrap().unwrap();
        assert_eq!(state.status, Status::OptedOut, "{message}");
        let history = store.history(&msisdn(&digits), 5).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, EventKind::OptOut);
        assert_eq!(history[0].origin.source(), "webhook");
        assert_eq!(history[0].origin.details()["phrase"], *phrase, "{message}");
        assert_eq!(history[0].origin.details()["text"], *message);
        assert!(history[0].origin.details().get("keyword").is_none());
    }
}

#[tokio::test]
async fn a_cue_opens_one_review_item_and_changes_nothing() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    let n = "14155553100";
    let before = timestamp::now();
    let reply = text(&hook, n, "CUE1", "Why do I keep getting this spam?").await;
    assert_eq!(
        reply,
        serde_json::json!({"status": "review", "outcome": "opened"})
    );
    // Vonage redelivers: nothing new.
    let reply = text(&hook, n, "CUE1", "Why do I keep getting this spam?").await;
    assert_eq!(
        reply,
        serde_json::json!({"status": "review", "outcome": "duplicate"})
    );
    // The negatives of the phrase table that carry a cue are reviewed, not honoured.
    for (i, message) in [
        "don't stop",
        "can you remove the charge?",
        "no more than 2 tickets",
    ]
    .iter()
    .enumerate()
    {
        let reply = text(&hook, n, &format!("CUE-N{i}"), message).await;
        assert_eq!(reply["status"], "review", "{message}");
    }
    // A message without a cue is ignored, as before.
    assert_eq!(
        text(&hook, n, "PLAIN", "see you at 5").await["status"],
        "ignored"
    );

    assert_eq!(
        store.state(&msisdn(n)).await.unwrap(),
        None,
        "a review never sets the state"
    );
    assert_eq!(history_count(&store, n).await, 0);

    let (status, page) = get(&api, "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let first = items
        .iter()
        .find(|i| i["message_id"] == "CUE1")
        .expect("the spam message");
    assert_eq!(first["cue"], "spam");
    assert_eq!(first["status"], "open");
    assert_eq!(first["msisdn"], n);
    assert_eq!(first["text"], "Why do I keep getting this spam?");
    assert_eq!(first["message_event_id"], "sms:CUE1");
    assert_eq!(first["id"], review::review_id(&msisdn(n), "sms:CUE1"));
    let due = review::format_date(review::due_date(before).unwrap());
    assert_eq!(first["due"], due.as_str());
    assert_eq!(page["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn reviews_are_listed_oldest_due_first_over_several_pages() {
    let store = fresh_store().await;
    let api = api(store.clone());
    // Seven items received on different days, stored out of order.
    let base = time::macros::datetime!(2026-11-02 15:00 UTC);
    let mut expected = Vec::new();
    for (i, day) in [5i64, 0, 3, 1, 6, 2, 4].iter().enumerate() {
        let item = review_at(
            &format!("1415555{:04}", 3200 + i),
            &format!("L{i}"),
            base + time::Duration::days(*day),
        );
        assert!(store.open_review(&item).await.unwrap());
        expected.push((
            item.due.to_string(),
            timestamp::format(item.received_at),
            item.id.clone(),
        ));
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("status=open&limit=3&cursor={c}"),
            None => "status=open&limit=3".to_string(),
        };
        let (status, page) = get(&api, &query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push((
                item["due"].as_str().unwrap().to_string(),
                item["received_at"].as_str().unwrap().to_string(),
                item["id"].as_str().unwrap().to_string(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages}");
    assert_eq!(seen, expected, "every item once, oldest due first");

    // due_before is exclusive: only items due before that day.
    let cutoff = expected[3].0.clone();
    let (_, page) = get(&api, &format!("due_before={cutoff}")).await;
    let dues: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due"].as_str().unwrap())
        .collect();
    assert!(
        !dues.is_empty() && dues.iter().all(|d| *d < cutoff.as_str()),
        "{dues:?}"
    );

    // Resolved items move to the resolved list.
    let (status, _) = decide(&api, &expected[0].2, decision("not_revocation")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, open) = get(&api, "status=open&limit=100").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 6);
    let (_, resolved) = get(&api, "status=resolved").await;
    let resolved = resolved["items"].as_array().unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], expected[0].2.as_str());
    assert_eq!(resolved[0]["resolution"]["decision"], "not_revocation");

    // Bad parameters: 400, never a partial answer.
    for query in [
        "status=closed",
        "due_before=tomorrow",
        "due_before=2026-13-01",
        "limit=0",
        "limit=501",
        "cursor=bm90LWEtY3Vyc29y",
    ] {
        let (status, body) = get(&api, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["error"].is_string() && body["message"].is_string());
    }
}

#[tokio::test]
async fn an_opt_out_decision_records_the_opt_out_dated_at_the_message_once() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    let n = "14155553300";
    text(&hook, n, "DEC1", "who is this? how did you get my number").await;
    let id = review::review_id(&msisdn(n), "sms:DEC1");
    let (status, body) = decide(&api, &id, decision("opt_out")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["outcome"], "applied");
    assert_eq!(body["resolution"]["decision"], "opt_out");
    // Who decided is the calling key (an old API_KEYS key: `api-keys-1`); the body's `by` is
    // kept as a claim.
    assert_eq!(body["resolution"]["by"], "api-keys-1");
    assert_eq!(body["resolution"]["event_id"], format!("review:{id}"));

    // The person revoked when they sent the message: the opt-out is dated then.
    let item = store.review(&id).await.unwrap().unwrap();
    let state = store.state(&msisdn(n)).await.unwrap().unwrap();
    assert_eq!(state.status, Status::OptedOut);
    assert_eq!(state.since, item.message_at);
    assert_eq!(
        shared::domain::timestamp::format(state.since),
        "2026-11-20T11:12:01.000Z"
    );
    assert_eq!(state.source, "review");
    let history = store.history(&msisdn(n), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, EventKind::OptOut);
    assert!(history[0].applied);
    assert_eq!(history[0].origin.details()["review_id"], id.as_str());
    assert_eq!(history[0].origin.details()["decided_by"], "api-keys-1");
    assert_eq!(history[0].origin.details()["decided_by_claim"], "agent-7");
    assert_eq!(history[0].origin.details()["note"], "read the message");

    // The same decision again: the existing resolution, nothing added.
    let (status, again) = decide(&api, &id, decision("opt_out")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(
        again["resolution"]["resolved_at"],
        body["resolution"]["resolved_at"]
    );
    // Another decision: 409, nothing changed.
    let before = items_for(&store, n).await;
    let (status, refused) = decide(&api, &id, decision("not_revocation")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"], "review_resolved");
    assert_eq!(items_for(&store, n).await, before);
}

#[tokio::test]
async fn not_revocation_notes_the_decision_and_leaves_the_state_alone() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let api = api(store.clone());
    let n = "14155553400";
    text(&hook, n, "NR1", "don't stop, I love these deals").await;
    let id = review::review_id(&msisdn(n), "sms:NR1");
    let (status, body) = decide(&api, &id, decision("not_revocation")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "noted");
    assert_eq!(store.state(&msisdn(n)).await.unwrap(), None);
    let history = store.history(&msisdn(n), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, EventKind::ReviewDecision);
    assert_eq!(history[0].origin.source(), "review");
    assert_eq!(history[0].origin.details()["decision"], "not_revocation");
    let (status, again) = decide(&api, &id, decision("not_revocation")).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(history_count(&store, n).await, 1);
}

#[tokio::test]
async fn an_opt_out_decision_older_than_a_later_resubscribe_does_not_undo_it() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155553500";
    let received = timestamp::now() - time::Duration::days(3);
    let item = review_at(n, "OLD1", received);
    assert!(store.open_review(&item).await.unwrap());
    // The person resubscribed on the website after sending the message.
    let resubscribe = Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn(n),
        kind: EventKind::Resubscribe,
        event_id: "resub:later".into(),
        occurred_at: received + time::Duration::days(1),
        received_at: received + time::Duration::days(1),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    store.record(&resubscribe).await.unwrap();
    let (status, body) = decide(&api, &item.id, decision("opt_out")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "superseded");
    let state = store.state(&msisdn(n)).await.unwrap().unwrap();
    assert_eq!(
        state.status,
        Status::Subscribed,
        "the newer resubscribe stands"
    );
    assert_eq!(state.event_id, "resub:later");
    let history = store.history(&msisdn(n), 10).await.unwrap();
    let decision_entry = history
        .iter()
        .find(|h| h.event_id == format!("review:{}", item.id))
        .expect("the decision is in history");
    assert_eq!(decision_entry.kind, EventKind::OptOut);
    assert!(!decision_entry.applied);
    let stored = store.review(&item.id).await.unwrap().unwrap();
    assert_eq!(
        stored.resolution.map(|r| r.outcome),
        Some("superseded".to_string())
    );
}

#[tokio::test]
async fn concurrent_decisions_on_one_review_are_one_decision() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155553600";
    let item = review_at(n, "RACE1", timestamp::now());
    assert!(store.open_review(&item).await.unwrap());
    let calls = (0..6).map(|i| {
        let api = api.clone();
        let id = item.id.clone();
        let d = if i % 2 == 0 {
            "opt_out"
        } else {
            "not_revocation"
        };
        async move { decide(&api, &id, decision(d)).await }
    });
    let results = futures::future::join_all(calls).await;
    let stored = store.review(&item.id).await.unwrap().unwrap();
    let winner = stored.resolution.expect("resolved").decision.as_str();
    for (status, body) in &results {
        if body["resolution"]["decision"] == winner {
            assert_eq!(*status, StatusCode::OK, "{body}");
        } else {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        }
    }
    let applied: Vec<_> = results
        .iter()
        .filter(|(_, b)| b["outcome"] != "duplicate" && b["outcome"].is_string())
        .collect();
    assert_eq!(applied.len(), 1, "one call made the decision: {results:?}");
    assert_eq!(history_count(&store, n).await, 1);
}

#[tokio::test]
async fn bad_decisions_are_refused_and_write_nothing() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let n = "14155553700";
    let item = review_at(n, "BAD1", timestamp::now());
    assert!(store.open_review(&item).await.unwrap());
    let before = items_for(&store, n).await;
    for (body, want) in [
        (
            serde_json::json!({"decision": "maybe", "by": "a"}),
            "invalid_parameter",
        ),
        (
            serde_json::json!({"decision": "opt_out", "by": "x".repeat(201)}),
            "invalid_parameter",
        ),
        (
            serde_json::json!({"decision": "opt_out", "by": "a", "extra": 1}),
            "invalid_json",
        ),
        (
            serde_json::json!({"decision": "opt_out", "by": "a", "note": "x".repeat(2001)}),
            "invalid_parameter",
        ),
        (serde_json::json!(["opt_out"]), "invalid_json"),
    ] {
        let (status, refused) = decide(&api, &item.id, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"], want, "{body}");
    }
    // Repeated fields are refused too.
    let path = format!("/reviews/{}", item.id);
    let raw = br#"{"decision":"not_revocation","by":"a","decision":"opt_out"}"#;
    let call = HttpCall::post(&path, "application/json", raw).header("x-api-key", KEY);
    assert_eq!(
        api.handle(call.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(items_for(&store, n).await, before);

    // Unknown and malformed ids: 404.
    for id in [
        "rv_ffffffffffffffffffffffffffffffff",
        "sms:BAD1",
        "..%2F..",
        "rv_",
    ] {
        let (status, body) = decide(&api, id, decision("opt_out")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
    }
    // Wrong method, no key.
    let get_one = HttpCall::get(&path, "").header("x-api-key", KEY);
    assert_eq!(
        api.handle(get_one.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let no_key = HttpCall::get("/reviews", "");
    assert_eq!(
        api.handle(no_key.request(EventShape::HttpApiV2))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn storage_down_is_503_for_the_webhook_and_the_api() {
    let down = unreachable_store("nowhere");
    let hook = webhook(down.clone());
    let query = inbound(
        "14155553800",
        "DOWN1",
        "this is spam",
        "2026-11-20 11:12:01",
    );
    let response = hook
        .handle(HttpCall::get(PATH, &query).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let api = api(down);
    let (status, _) = get(&api, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let id = review::review_id(&msisdn("14155553800"), "sms:DOWN1");
    let (status, _) = decide(&api, &id, decision("opt_out")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_daily_check_counts_open_due_soon_and_overdue_items() {
    let store = fresh_store().await;
    let api = api(store.clone());
    let now = timestamp::now();
    // Received 30 days ago: overdue. Received now: due in 10 business days, not soon. A
    // resolved item is not counted at all.
    let overdue = review_at("14155553900", "CHK1", now - time::Duration::days(30));
    let fresh = review_at("14155553901", "CHK2", now);
    let resolved = review_at("14155553902", "CHK3", now - time::Duration::days(40));
    for item in [&overdue, &fresh, &resolved] {
        assert!(store.open_review(item).await.unwrap());
    }
    let (status, _) = decide(&api, &resolved.id, decision("not_revocation")).await;
    assert_eq!(status, StatusCode::OK);
    let report = shared::handlers::review_check::check(&store, now)
        .await
        .unwrap();
    assert_eq!((report.open, report.overdue, report.due_soon), (2, 1, 0));
    assert_eq!(report.overdue_items[0].id, overdue.id);
    assert_eq!(report.overdue_items[0].msisdn, "*******3900");
    assert_eq!(report.oldest_due, Some(overdue.due.to_string()));
    // Eight business days on, the fresh item is due within two.
    let soon_day = shared::domain::business_days::add_business_days(
        shared::domain::business_days::receipt_day(now),
        8,
    )
    .unwrap();
    let at = soon_day.with_hms(17, 0, 0).unwrap().assume_utc();
    let report = shared::handlers::review_check::check(&store, at)
        .await
        .unwrap();
    assert_eq!((report.open, report.due_soon), (2, 1));
}

/// A later part of a multipart SMS is the middle of a sentence: no keyword rule, but a phrase
/// or a cue in it still counts.
#[tokio::test]
async fn a_later_part_of_a_long_message_is_read_for_phrases_and_cues() {
    let store = fresh_store().await;
    let hook = webhook(store.clone());
    let part = |digits: &str, id: &str, text: &str| {
        serde_urlencoded::to_string([
            ("msisdn", digits),
            ("to", "16105553939"),
            ("messageId", id),
            ("text", text),
            ("concat", "true"),
            ("concat-ref", "7"),
            ("concat-total", "2"),
            ("concat-part", "2"),
            ("message-timestamp", "2026-11-20 11:12:01"),
        ])
        .expect("query")
    };
    for (digits, id, text, want) in [
        (
            "14155554000",
            "CP1",
            "and so, please stop texting me.",
            "opted_out",
        ),
        ("14155554001", "CP2", "stop by the shop some time", "review"),
        ("14155554002", "CP3", "see you on Friday", "ignored"),
    ] {
        let response = hook
            .handle(HttpCall::get(PATH, &part(digits, id, text)).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(body_json(&response)["status"], want, "{text}");
    }
}
