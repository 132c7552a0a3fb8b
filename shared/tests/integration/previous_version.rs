//! A table the previous version wrote (`testdata/previous-version/`) read by this one: every
//! item family reads, every opt-out stays an opt-out, and the evidence file shows every item
//! typed, under today's names.

use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::store::idempotency::KeyClaim;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::Status;
use shared::domain::replies::ReplyStatus;
use shared::domain::review::ReviewStatus;
use shared::handlers::website_api::WebsiteApi;
use testkit::*;

const OPTED_OUT: [&str; 5] = [
    "14155550902",
    "14155550903",
    "14155550905",
    "14155550906",
    "14155550907",
];
const SUBSCRIBED: [&str; 2] = ["14155550901", "14155550904"];

#[tokio::test]
async fn a_table_the_previous_version_wrote_reads_whole_and_keeps_every_opt_out() {
    let (store, items) = previous_version_table().await;
    assert_eq!(items.len(), 28);
    for n in OPTED_OUT {
        let state = store.state(&msisdn(n)).await.unwrap_or_default();
        assert_eq!(state.map(|s| s.status), Some(Status::OptedOut), "{n}");
    }
    for n in SUBSCRIBED {
        let state = store.state(&msisdn(n)).await.unwrap_or_default();
        assert_eq!(state.map(|s| s.status), Some(Status::Subscribed), "{n}");
    }
    // The send-time check says the same.
    let api = WebsiteApi::new(
        store.clone(),
        VonageClient::new("http://127.0.0.1:9", "k", "s").unwrap_or_else(|e| panic!("{e}")),
        vec!["key".into()],
    );
    let numbers: Vec<&str> = OPTED_OUT.iter().chain(&SUBSCRIBED).copied().collect();
    let body = serde_json::json!({ "numbers": numbers }).to_string();
    let response = api
        .handle(
            HttpCall::post("/eligibility", "application/json", body.as_bytes())
                .header("x-api-key", "key")
                .request(EventShape::HttpApiV2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let results = body_json(&response)["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let may_send: Vec<bool> = results.iter().map(|r| r["may_send"] == true).collect();
    assert_eq!(may_send, [false, false, false, false, false, true, true]);
    // The opted-out list.
    let (listed, _) = store
        .opted_out_page(100, None, &[shared::domain::program::Scope::Every])
        .await
        .unwrap_or_default();
    let listed: Vec<&str> = listed.iter().map(|o| o.msisdn.as_str()).collect();
    assert_eq!(listed, OPTED_OUT);
    // Every history entry reads, with its evidence typed; the old provider name reads as today's.
    for n in numbers {
        let history = store.history(&msisdn(n), 50).await;
        assert!(
            history.as_ref().is_ok_and(|h| !h.is_empty()),
            "{n}: {history:?}"
        );
    }
    let resubscribe = store
        .history(&msisdn("14155550904"), 1)
        .await
        .unwrap_or_default();
    let details = resubscribe
        .first()
        .map(|h| h.origin.details())
        .unwrap_or_default();
    assert_eq!(details["provider"], "short-code-api");
    assert_eq!(details["consent_ip"], "203.0.113.7");
    // The review, resolved by a person with a note.
    let (resolved, _) = store
        .reviews_page(ReviewStatus::Resolved, None, 10, None)
        .await
        .unwrap_or_default();
    let resolution = resolved.first().and_then(|r| r.resolution.clone());
    assert_eq!(
        resolution.map(|r| (r.by, r.note)),
        Some(("jane.doe".into(), Some("asked to stop".into())))
    );
    // Replies: the claim never settled and the unknown one are for a person.
    let far = shared::domain::timestamp::now() + time::Duration::days(1);
    let stuck = store.unsettled_replies(far).await.unwrap_or_default();
    let mut stuck: Vec<(String, ReplyStatus)> =
        stuck.into_iter().map(|r| (r.event_id, r.status)).collect();
    stuck.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        stuck,
        [
            ("sms:OLD8".to_string(), ReplyStatus::Unknown),
            ("sms:OLD9".to_string(), ReplyStatus::Claimed)
        ]
    );
    let refused = store
        .reply(&msisdn("14155550902"), "sms:OLD4")
        .await
        .unwrap_or_default();
    assert_eq!(refused.map(|r| r.status), Some(ReplyStatus::NotSent));
    // The idempotency key and the checkpoint.
    let key = items
        .iter()
        .find_map(|i| match i.inner().get("pk") {
            Some(serde_dynamo::AttributeValue::S(pk)) if pk.starts_with("IDEMPOTENCY#") => {
                let body = match i.inner().get("body_hash") {
                    Some(serde_dynamo::AttributeValue::S(b)) => b.clone(),
                    _ => String::new(),
                };
                Some((pk.trim_start_matches("IDEMPOTENCY#").to_owned(), body))
            }
            _ => None,
        })
        .unwrap_or_default();
    let claim = store
        .claim_idempotency_key("OPT_OUT", &key.0, &key.1, "api:new")
        .await;
    assert!(matches!(claim, Ok(KeyClaim::Same { .. })), "{claim:?}");
    assert_eq!(
        store.checkpoint("RECONCILE").await.unwrap_or_default(),
        Some("{\"page\":3}".into())
    );
    // Each number's evidence file: consistent, every item read by its family's type.
    for n in OPTED_OUT.iter().chain(&SUBSCRIBED) {
        let file = store
            .evidence(&[msisdn(n)], shared::domain::timestamp::now())
            .await
            .unwrap_or_default()
            .unwrap_or_else(|| panic!("{n}: no file"));
        assert!(file.check.ok, "{n}: {:?}", file.check);
        let json = serde_json::to_value(&file).unwrap_or_default();
        let untyped: Vec<&Value> = json["timeline"]
            .as_array()
            .map(|t| t.iter().filter(|e| e["family"] == "other").collect())
            .unwrap_or_default();
        assert!(untyped.is_empty(), "{n}: read as unknown: {untyped:?}");
    }
    // What only the new version writes starts alongside: a new STOP for a subscribed number.
    let stop = testkit::records::stop(
        &msisdn("14155550901"),
        "NEW1",
        shared::domain::timestamp::now() + time::Duration::hours(1),
    );
    store.record(&stop).await.unwrap_or_else(|e| panic!("{e}"));
    let state = store
        .state(&msisdn("14155550901"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
}
