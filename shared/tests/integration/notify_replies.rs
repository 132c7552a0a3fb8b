//! Replies and opt-ins by text, end to end. Messages go through the real webhook
//! handler into the local DynamoDB-compatible server; its stream is read as the event source
//! mapping would (`testkit::streams`) and handed to the real notify handler; Vonage is a wiremock
//! server answering in the documented send shape (`testdata/vonage/us-short-codes/`).

use lambda_http::http::StatusCode;
use shared::adapters::config::Settings;
use shared::adapters::provider::{OptOutAssist, Provider, SelfManaged, ShortCodeApi};
use shared::adapters::provider::{ProviderMode, Providers};
use shared::adapters::store::replies::{OwedReply, ReplyClaim};
use shared::adapters::store::Store;
use shared::adapters::vonage::{RetryPolicy, VonageClient};
use shared::domain::event::{EventKind, Status};
use shared::domain::program::{ProgramId, Programs, Scope};
use shared::domain::replies::ReplyStatus;
use shared::domain::replies::{ProgramTexts, ReplyKind, ReplyTexts};
use shared::handlers::notify::{texts_from_settings, Done, Notify, Replies};
use shared::handlers::stream_event::BatchResponse;
use shared::handlers::webhook::{Webhook, WebhookAuth};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use testkit::streams::{lambda_event, StreamReader};
use testkit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const SEND: &str = "/sms/json";
const MANAGE: &str = "/sc/us/alert/opt-in/manage/json";
const SHORT_CODE: &str = "16105553939";

/// The one program's settings (a deployment without `PROGRAMS`).
fn settings() -> Settings {
    Settings::from_pairs([
        ("PROGRAM_NAME", "Acme Alerts"),
        ("HELP_CONTACT", "help@acme.example"),
        ("MESSAGE_FREQUENCY", "Up to 4 msgs/month"),
    ])
}

/// Every program's texts, as notify builds them at start.
fn program_texts() -> HashMap<ProgramId, ProgramTexts> {
    let programs = Programs::from_settings(&settings()).unwrap_or_else(|e| panic!("{e}"));
    texts_from_settings(&settings(), &programs).unwrap_or_else(|e| panic!("{e}"))
}

/// The one program's own texts.
fn texts() -> ReplyTexts {
    program_texts()
        .into_values()
        .next()
        .map(|t| t.own)
        .unwrap_or_else(|| panic!("no texts"))
}

/// Vonage's documented send answer, filled in for one message.
fn send_answer(status: &str, to: &str, id: &str) -> ResponseTemplate {
    let doc = vonage_reference("us-short-codes/alerts_send_response-format.json");
    let mut json: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
    let message = &mut json["messages"][0];
    message["status"] = status.into();
    message["to"] = to.into();
    message["message-id"] = id.into();
    if status == "0" {
        if let Some(m) = message.as_object_mut() {
            m.remove("error-text");
        }
    } else {
        message["error-text"] = "refused for the test".into();
    }
    ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")
}

/// Accepts every send, echoing its `to`.
struct AcceptAll;
impl Respond for AcceptAll {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let to = form(request)
            .into_iter()
            .find(|(k, _)| k == "to")
            .map(|(_, v)| v)
            .unwrap_or_default();
        send_answer("0", &to, &format!("M-{to}"))
    }
}

fn form(request: &MockRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        attempt_timeout: Duration::from_millis(1500),
    }
}

fn vonage_client(base: &str) -> VonageClient {
    VonageClient::new(base, "vonage-key", "vonage-secret-value")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_retry_policy(fast())
}

struct Setup {
    store: Store,
    vonage: MockServer,
    webhook: Webhook,
    notify: Notify,
    reader: StreamReader,
}

async fn setup(mode: ProviderMode, replies: bool) -> Setup {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let provider: Arc<dyn Provider> = match mode {
        ProviderMode::ShortCodeApi => Arc::new(ShortCodeApi(vonage_client(&vonage.uri()))),
        ProviderMode::OptOutAssist => Arc::new(OptOutAssist),
        ProviderMode::SelfManaged => Arc::new(SelfManaged),
    };
    let notify = Notify {
        store: store.clone(),
        programs: Programs::single("Acme Alerts"),
        providers: Providers::single(provider),
        replies: replies
            .then(|| Replies::to_every_program(program_texts(), vonage_client(&vonage.uri()))),
    };
    let webhook = Webhook {
        mode,
        ..Webhook::new(store.clone(), WebhookAuth::default())
    };
    let reader = StreamReader::new(&store).await;
    Setup {
        store,
        vonage,
        webhook,
        notify,
        reader,
    }
}

impl Setup {
    /// An inbound SMS through the webhook; its body's `status`.
    async fn text(&self, digits: &str, id: &str, text: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("msisdn", digits),
            ("to", SHORT_CODE),
            ("messageId", id),
            ("text", text),
        ])
        .unwrap_or_default();
        // No message-timestamp: each message is dated by its receipt, so they are in order.
        let response = self
            .webhook
            .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            body_json(&response)
        );
        body_json(&response)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The stream's new records, handed to notify as one batch; the records and the response.
    async fn drain(&mut self) -> (Vec<serde_json::Value>, BatchResponse) {
        let records = self.reader.next_records().await;
        let response = self.notify.handle(lambda_event(&records), None).await;
        (records, response)
    }

    async fn sends(&self) -> Vec<Vec<(String, String)>> {
        self.vonage
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == SEND)
            .map(form)
            .collect()
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[tokio::test]
async fn a_stop_gets_exactly_one_confirmation_and_a_redelivery_none() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    assert_eq!(s.text("14155550201", "S1", "STOP").await, "opted_out");
    let (records, response) = s.drain().await;
    assert_eq!(response, BatchResponse::default());
    let sends = s.sends().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    let send = &sends[0];
    assert_eq!(field(send, "from"), SHORT_CODE);
    assert_eq!(field(send, "to"), "14155550201");
    assert_eq!(field(send, "text"), texts().stop);
    assert_eq!(field(send, "api_secret"), "vonage-secret-value");
    assert!(field(send, "client-ref").starts_with("optout-"));
    assert_eq!(field(send, "type"), "", "the default texts are GSM-7");
    let reply = s
        .store
        .reply(&msisdn("14155550201"), "sms:S1")
        .await
        .unwrap_or_default()
        .unwrap_or_else(|| panic!("a reply item"));
    assert_eq!(reply.status, ReplyStatus::Sent);
    assert_eq!(reply.message_ids, ["M-14155550201"]);
    assert!(reply.sent_at.is_some());
    // Vonage redelivers the message: a duplicate, no new history entry, no new stream record.
    s.text("14155550201", "S1", "STOP").await;
    let (again, _) = s.drain().await;
    assert!(
        again
            .iter()
            .all(|r| r["dynamodb"]["Keys"]["sk"]["S"] != "E#sms:S1"),
        "{again:?}"
    );
    // The stream delivers the same batch again (at least once): the reply is settled.
    let response = s.notify.handle(lambda_event(&records), None).await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!(s.sends().await.len(), 1);
    // A new STOP from a number already opted out still gets its own confirmation.
    s.text("14155550201", "S2", "stop please").await;
    s.drain().await;
    assert_eq!(s.sends().await.len(), 2);
}

#[tokio::test]
async fn help_gets_the_help_text_and_other_texts_nothing() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    assert_eq!(s.text("14155550202", "H1", "HELP").await, "help");
    assert_eq!(s.text("14155550203", "H2", "info").await, "help");
    assert_eq!(
        s.text("14155550204", "H3", "what time is it?").await,
        "ignored"
    );
    s.drain().await;
    let sends = s.sends().await;
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert!(sends.iter().all(|f| field(f, "text") == texts().help));
    // HELP never changes the state.
    assert_eq!(
        s.store
            .state(&msisdn("14155550202"))
            .await
            .unwrap_or_default(),
        None
    );
}

#[tokio::test]
async fn two_hundred_concurrent_stops_give_two_hundred_replies_none_twice() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    let numbers: Vec<String> = (0..200).map(|i| format!("1415556{i:04}")).collect();
    let webhook = Arc::new(s.webhook.clone());
    let mut tasks = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let (webhook, n) = (webhook.clone(), n.clone());
        tasks.push(tokio::spawn(async move {
            let query = serde_urlencoded::to_string([
                ("msisdn", n.as_str()),
                ("to", SHORT_CODE),
                ("messageId", &format!("C{i}")),
                ("text", "STOP"),
            ])
            .unwrap_or_default();
            webhook
                .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
                .await
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.ok(), Some(StatusCode::OK));
    }
    let records = s.reader.next_records().await;
    // As Lambda would: batches of 100, and each batch delivered twice, concurrently.
    let mut handles = Vec::new();
    for chunk in records.chunks(100) {
        for _ in 0..2 {
            let (notify, event) = (s.notify.clone(), lambda_event(chunk));
            handles.push(tokio::spawn(
                async move { notify.handle(event, None).await },
            ));
        }
    }
    // Records a batch names as failed (storage or Vonage slow on this shared machine) are
    // delivered again, as the event source mapping would; at most a few rounds.
    let mut failed: Vec<String> = Vec::new();
    for h in handles {
        let response = h.await.unwrap_or_default();
        failed.extend(
            response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier),
        );
    }
    for _ in 0..5 {
        if failed.is_empty() {
            break;
        }
        let again: Vec<serde_json::Value> = records
            .iter()
            .filter(|r| {
                failed
                    .iter()
                    .any(|f| r["dynamodb"]["SequenceNumber"] == f.as_str())
            })
            .cloned()
            .collect();
        failed = s
            .notify
            .handle(lambda_event(&again), None)
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
    }
    assert!(failed.is_empty(), "{failed:?}");
    let sends = s.sends().await;
    let mut to: Vec<String> = sends.iter().map(|f| field(f, "to").to_string()).collect();
    to.sort();
    let mut want = numbers.clone();
    want.sort();
    assert_eq!(to, want, "every number once");
    let _ = s.drain().await;
}

#[tokio::test]
async fn throttled_then_accepted_sends_once() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(send_answer("1", "14155550205", ""))
        .up_to_n_times(1)
        .mount(&s.vonage)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    s.text("14155550205", "T1", "STOP").await;
    let (_, response) = s.drain().await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!(
        s.sends().await.len(),
        2,
        "the throttled attempt, then the accepted one"
    );
    let reply = s
        .store
        .reply(&msisdn("14155550205"), "sms:T1")
        .await
        .unwrap_or_default();
    assert_eq!(
        reply.map(|r| (r.status, r.attempts)),
        Some((ReplyStatus::Sent, 1))
    );
}

#[tokio::test]
async fn a_barred_number_is_recorded_as_not_sent_and_not_retried() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(send_answer("7", "14155550206", ""))
        .mount(&s.vonage)
        .await;
    s.text("14155550206", "B1", "STOP").await;
    let (records, response) = s.drain().await;
    assert_eq!(response, BatchResponse::default(), "not retried");
    assert_eq!(s.sends().await.len(), 1);
    let reply = s
        .store
        .reply(&msisdn("14155550206"), "sms:B1")
        .await
        .unwrap_or_default();
    let reply = reply.unwrap_or_else(|| panic!("a reply item"));
    assert_eq!(reply.status, ReplyStatus::NotSent);
    assert!(
        reply.detail.as_deref().unwrap_or("").contains("status 7"),
        "{reply:?}"
    );
    s.notify.handle(lambda_event(&records), None).await;
    assert_eq!(s.sends().await.len(), 1);
    // The opt-out itself stands, whatever happened to the reply.
    let state = s
        .store
        .state(&msisdn("14155550206"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
}

#[tokio::test]
async fn vonage_down_for_a_while_then_back_sends_once_after_recovery() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    // Down: 503 to every attempt of the first invocation.
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&s.vonage)
        .await;
    s.text("14155550207", "D1", "STOP").await;
    let (records, response) = s.drain().await;
    assert_eq!(response.batch_item_failures.len(), 1, "{response:?}");
    let reply = s
        .store
        .reply(&msisdn("14155550207"), "sms:D1")
        .await
        .unwrap_or_default();
    assert_eq!(reply.map(|r| r.status), Some(ReplyStatus::Retryable));
    // Unreachable: nothing listens there (connection refused: certainly not sent).
    let mut unreachable = s.notify.clone();
    if let Some(r) = unreachable.replies.as_mut() {
        r.vonage = vonage_client("http://127.0.0.1:9");
    }
    let response = unreachable.handle(lambda_event(&records), None).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    // Back: the stream retries the record.
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    let response = s.notify.handle(lambda_event(&records), None).await;
    assert_eq!(response, BatchResponse::default());
    let accepted: Vec<_> = s.vonage.received_requests().await.unwrap_or_default();
    assert_eq!(
        accepted.len(),
        4,
        "3 refused attempts, then one accepted send"
    );
    let reply = s
        .store
        .reply(&msisdn("14155550207"), "sms:D1")
        .await
        .unwrap_or_default();
    assert_eq!(
        reply.map(|r| (r.status, r.attempts)),
        Some((ReplyStatus::Sent, 3))
    );
    // And again: nothing more.
    s.notify.handle(lambda_event(&records), None).await;
    assert_eq!(
        s.vonage.received_requests().await.unwrap_or_default().len(),
        4
    );
}

#[tokio::test]
async fn a_crash_between_claim_and_send_is_reported_not_resent() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    s.text("14155550208", "K1", "STOP").await;
    // An earlier invocation claimed the reply and died before Vonage answered; its lease (its
    // own deadline) ends a moment later. A HELP from the same number follows.
    let history = s
        .store
        .history(&msisdn("14155550208"), 1)
        .await
        .unwrap_or_default();
    let order = history.first().map(|h| h.order.clone()).unwrap_or_default();
    let owed = OwedReply {
        msisdn: msisdn("14155550208"),
        event_id: "sms:K1".into(),
        kind: ReplyKind::StopConfirmation,
        from: SHORT_CODE.into(),
        text: texts().stop,
        order,
        scopes: vec![Scope::Every],
        wider: Vec::new(),
    };
    let lease = shared::domain::timestamp::now() + time::Duration::milliseconds(700);
    let claim = s.store.claim_reply(&owed, lease).await;
    assert_eq!(claim.ok(), Some(ReplyClaim::Claimed));
    s.text("14155550208", "K2", "HELP").await;
    let (_, response) = s.drain().await;
    assert_eq!(
        response,
        BatchResponse::default(),
        "reported, not retried forever"
    );
    let sends = s.sends().await;
    assert_eq!(
        sends.iter().map(|f| field(f, "text")).collect::<Vec<_>>(),
        [texts().help],
        "the STOP confirmation never re-sent blindly; the HELP sent once the lease ran out"
    );
    let far_future = time::macros::datetime!(9999-01-01 00:00 UTC);
    let unsettled = s
        .store
        .unsettled_replies(far_future)
        .await
        .unwrap_or_default();
    assert_eq!(unsettled.len(), 1);
    assert_eq!(
        (unsettled[0].event_id.as_str(), unsettled[0].status),
        ("sms:K1", ReplyStatus::Claimed)
    );
    // A fresh claim is not "stuck" yet for a cut-off in the past.
    assert!(s
        .store
        .unsettled_replies(time::macros::datetime!(2000-01-01 00:00 UTC))
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn a_timeout_after_sending_is_unknown_and_never_resent() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(send_answer("0", "14155550209", "M-U1").set_delay(Duration::from_secs(3)))
        .mount(&s.vonage)
        .await;
    s.text("14155550209", "U1", "STOP").await;
    let (records, response) = s.drain().await;
    assert_eq!(response, BatchResponse::default());
    let reply = s
        .store
        .reply(&msisdn("14155550209"), "sms:U1")
        .await
        .unwrap_or_default();
    assert_eq!(reply.map(|r| r.status), Some(ReplyStatus::Unknown));
    s.notify.handle(lambda_event(&records), None).await;
    assert_eq!(
        s.sends().await.len(),
        1,
        "one request reached Vonage; none after"
    );
}

#[tokio::test]
async fn one_poisoned_record_does_not_hold_back_the_others() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    // 14155550210 is always throttled; the others are accepted.
    Mock::given(method("POST"))
        .and(path(SEND))
        .and(wiremock::matchers::body_string_contains("to=14155550210"))
        .respond_with(send_answer("1", "14155550210", ""))
        .mount(&s.vonage)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    for (i, n) in ["14155550211", "14155550210", "14155550212"]
        .iter()
        .enumerate()
    {
        s.text(n, &format!("P{i}"), "STOP").await;
    }
    let mut records = s.reader.next_records().await;
    // And a record that is not ours at all.
    records.insert(
        1,
        serde_json::json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "42"}}),
    );
    let response = s.notify.handle(lambda_event(&records), None).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let poisoned = records
        .iter()
        .find(|r| r["dynamodb"]["NewImage"]["msisdn"]["S"] == "14155550210")
        .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
        .unwrap_or_default();
    assert_eq!(failed, [poisoned]);
    let mut to: Vec<String> = s
        .sends()
        .await
        .iter()
        .filter(|f| !field(f, "to").ends_with("0210"))
        .map(|f| field(f, "to").to_string())
        .collect();
    to.sort();
    assert_eq!(to, ["14155550211", "14155550212"]);
}

#[tokio::test]
async fn a_late_stop_after_a_resubscribe_is_not_confirmed() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    // The person resubscribed after the STOP that is delivered late.
    let resub = shared::domain::event::Event {
        scopes: vec![shared::domain::program::Scope::Every],
        msisdn: msisdn("14155550213"),
        kind: EventKind::Resubscribe,
        event_id: "resub:later".into(),
        occurred_at: shared::domain::timestamp::now() + time::Duration::hours(1),
        received_at: shared::domain::timestamp::now(),
        origin: testkit::records::website_consent(shared::domain::timestamp::now()),
    };
    s.store
        .record(&resub)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.text("14155550213", "L1", "STOP").await; // dated now, before the resubscribe
    s.drain().await;
    assert!(s.sends().await.is_empty());
    let reply = s
        .store
        .reply(&msisdn("14155550213"), "sms:L1")
        .await
        .unwrap_or_default();
    assert_eq!(reply.map(|r| r.status), Some(ReplyStatus::Skipped));
}

#[tokio::test]
async fn start_in_self_managed_mode_resubscribes_and_confirms() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    // Each message's batch handled before the next arrives: both are confirmed, in order. (In
    // one batch the STOP confirmation would be skipped: no longer true by then; see
    // replies_keep_their_order_*.)
    s.text("14155550214", "O1", "STOP").await;
    s.drain().await;
    assert_eq!(s.text("14155550214", "O2", "START").await, "opted_in");
    s.drain().await;
    let state = s
        .store
        .state(&msisdn("14155550214"))
        .await
        .unwrap_or_default();
    assert_eq!(
        state.map(|s| (s.status, s.event_id)),
        Some((Status::Subscribed, "sms:O2".into()))
    );
    let texts_sent: Vec<String> = s
        .sends()
        .await
        .iter()
        .map(|f| field(f, "text").to_string())
        .collect();
    assert_eq!(texts_sent, [texts().stop.clone(), texts().opt_in]);
    // The consent evidence is the person's own message.
    let history = s
        .store
        .history(&msisdn("14155550214"), 10)
        .await
        .unwrap_or_default();
    let start = history
        .iter()
        .find(|h| h.event_id == "sms:O2")
        .cloned()
        .unwrap_or_else(|| panic!("history"));
    assert_eq!(start.kind, EventKind::Resubscribe);
    let message = start.origin.message();
    assert_eq!(message.map(|m| m.text.as_str()), Some("START"));
    assert_eq!(message.map(|m| m.short_code.as_str()), Some(SHORT_CODE));
    // A START older than the latest STOP never undoes it; the same message twice is one event.
    s.text("14155550214", "O3", "STOP").await;
    let late = serde_urlencoded::to_string([
        ("msisdn", "14155550214"),
        ("to", SHORT_CODE),
        ("messageId", "O0"),
        ("text", "START"),
        ("message-timestamp", "2026-11-29 09:00:00"),
    ])
    .unwrap_or_default();
    s.webhook
        .handle(HttpCall::get("/webhooks/inbound", &late).request(EventShape::HttpApiV2))
        .await;
    assert_eq!(s.text("14155550214", "O3", "STOP").await, "opted_out");
    let state = s
        .store
        .state(&msisdn("14155550214"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
    s.drain().await;
    // The late START subscribed no one: no confirmation for it.
    let opt_in_confirmations = s
        .sends()
        .await
        .iter()
        .filter(|f| field(f, "text") == texts().opt_in)
        .count();
    assert_eq!(opt_in_confirmations, 1);
}

#[tokio::test]
async fn start_with_opt_out_assist_records_and_never_replies() {
    let mut s = setup(ProviderMode::OptOutAssist, false).await;
    s.text("14155550215", "A1", "STOP").await;
    assert_eq!(s.text("14155550215", "A2", "UNSTOP").await, "opted_in");
    s.text("14155550215", "A3", "HELP").await;
    s.drain().await;
    assert!(s
        .vonage
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
    let state = s
        .store
        .state(&msisdn("14155550215"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::Subscribed));
}

#[tokio::test]
async fn start_with_the_short_code_api_needs_vonage_to_lift_its_block() {
    let mut s = setup(ProviderMode::ShortCodeApi, false).await;
    let manage = |digits: &str, opt_in: &str| {
        let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
        let mut json: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
        json["msisdn"] = digits.into();
        json["opt-in"] = opt_in.into();
        ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")
    };
    // Confirmed.
    s.text("14155550216", "Q1", "STOP").await;
    assert_eq!(
        s.text("14155550216", "Q2", "START").await,
        "opt_in_requested"
    );
    let state = s
        .store
        .state(&msisdn("14155550216"))
        .await
        .unwrap_or_default();
    assert_eq!(
        state.map(|s| s.status),
        Some(Status::OptedOut),
        "the opt-out stands until Vonage confirms"
    );
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .and(wiremock::matchers::body_string_contains(
            "msisdn=14155550216",
        ))
        .respond_with(manage("14155550216", "true"))
        .mount(&s.vonage)
        .await;
    let (_, response) = s.drain().await;
    assert_eq!(response, BatchResponse::default());
    let state = s
        .store
        .state(&msisdn("14155550216"))
        .await
        .unwrap_or_default();
    assert_eq!(
        state.map(|s| (s.status, s.event_id, s.source)),
        Some((
            Status::Subscribed,
            "optin:sms:Q2".into(),
            "sms-opt-in".into()
        ))
    );
    // Refused: recorded as such, the opt-out stays.
    s.text("14155550217", "R1", "STOP").await;
    s.text("14155550217", "R2", "START").await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .and(wiremock::matchers::body_string_contains(
            "msisdn=14155550217",
        ))
        .respond_with(manage("14155550217", "false"))
        .mount(&s.vonage)
        .await;
    s.drain().await;
    let state = s
        .store
        .state(&msisdn("14155550217"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
    let history = s
        .store
        .history(&msisdn("14155550217"), 10)
        .await
        .unwrap_or_default();
    assert!(history
        .iter()
        .any(|h| h.kind == EventKind::OptInRefused && h.event_id == "optin-refused:sms:R2"));
    // Vonage gives no answer: the record is retried, nothing changes.
    s.text("14155550218", "V1", "STOP").await;
    s.text("14155550218", "V2", "START").await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .and(wiremock::matchers::body_string_contains(
            "msisdn=14155550218",
        ))
        .respond_with(ResponseTemplate::new(503))
        .mount(&s.vonage)
        .await;
    let (records, response) = s.drain().await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let state = s
        .store
        .state(&msisdn("14155550218"))
        .await
        .unwrap_or_default();
    assert_eq!(state.map(|s| s.status), Some(Status::OptedOut));
    // No SMS in this mode (Vonage answers keywords itself).
    assert!(s.sends().await.is_empty());
    drop(records);
}

#[tokio::test]
async fn with_replies_on_a_confirmed_opt_in_by_text_is_confirmed_once() {
    let mut s = setup(ProviderMode::ShortCodeApi, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
    let mut json: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
    json["msisdn"] = "14155550219".into();
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json"))
        .mount(&s.vonage)
        .await;
    s.text("14155550219", "W1", "STOP").await;
    s.text("14155550219", "W2", "START").await;
    s.drain().await; // the STOP confirmation, and the manage call (which records the resubscribe)
    s.drain().await; // the resubscribe's record: its confirmation
    let texts_sent: Vec<String> = s
        .sends()
        .await
        .iter()
        .map(|f| field(f, "text").to_string())
        .collect();
    assert_eq!(texts_sent, [texts().stop, texts().opt_in]);
}

#[tokio::test]
async fn the_website_resubscribe_in_each_mode() {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    let body = |n: &str| {
        serde_json::json!({"msisdn": n, "consent": {"source": "prefs", "captured_at": shared::domain::timestamp::format(shared::domain::timestamp::now())}}).to_string()
    };
    for (mode, provider, status, blocked) in [
        (
            ProviderMode::OptOutAssist,
            Arc::new(OptOutAssist) as Arc<dyn Provider>,
            StatusCode::ACCEPTED,
            true,
        ),
        (
            ProviderMode::SelfManaged,
            Arc::new(SelfManaged) as Arc<dyn Provider>,
            StatusCode::OK,
            false,
        ),
    ] {
        let api = testkit::openapi::CheckedApi::new(
            shared::handlers::website_api::WebsiteApi::with_provider(
                store.clone(),
                provider,
                vec!["k".into()],
            ),
        );
        let n = if blocked {
            "+1 415 555 0220"
        } else {
            "+1 415 555 0221"
        };
        let b = body(n);
        let response = api
            .handle(
                HttpCall::post("/resubscribe", "application/json", b.as_bytes())
                    .header("x-api-key", "k")
                    .request(EventShape::HttpApiV2),
            )
            .await;
        assert_eq!(
            response.status(),
            status,
            "{mode:?}: {:?}",
            body_json(&response)
        );
        let json = body_json(&response);
        assert_eq!(json["status"], "subscribed");
        assert_eq!(json["provider"]["mode"], mode.as_str());
        assert_eq!(json["provider"]["blocked"], blocked);
    }
    assert!(
        vonage
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "no provider call in these modes"
    );
}

/// How Vonage misbehaves on the first send to each number in the order tests.
#[derive(Clone, Copy, Debug)]
enum Trouble {
    /// Status "1" (throttled): certainly not sent, retried.
    Throttled,
    /// HTTP 503: certainly not sent, retried.
    Unavailable,
    /// Accepted after a pause: a send still in flight while others could overtake it.
    Slow,
}

/// One request that reached the Vonage fake: to whom, what, whether it was accepted, and when
/// its answer left (arrival plus any pause).
#[derive(Clone, Debug)]
struct Sent {
    to: String,
    text: String,
    accepted: bool,
    arrived: std::time::Instant,
    answered: std::time::Instant,
}

/// The Vonage fake of the order tests: the first send to each number meets `trouble`, every
/// other is accepted; each request is logged.
#[derive(Clone)]
struct TroubleFirst {
    trouble: Trouble,
    seen: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    log: Arc<std::sync::Mutex<Vec<Sent>>>,
}

impl TroubleFirst {
    fn new(trouble: Trouble) -> Self {
        Self {
            trouble,
            seen: Arc::default(),
            log: Arc::default(),
        }
    }

    /// The accepted texts to `digits`, in the order they reached Vonage.
    fn accepted(&self, digits: &str) -> Vec<String> {
        self.log
            .lock()
            .map(|log| {
                log.iter()
                    .filter(|s| s.accepted && s.to == digits)
                    .map(|s| s.text.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether two sends to one number were ever in flight at once.
    fn overlapping(&self) -> Vec<(String, String, String)> {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let mut found = Vec::new();
        for (i, a) in log.iter().enumerate() {
            for b in &log[i + 1..] {
                if a.to == b.to && b.arrived < a.answered && a.arrived < b.answered {
                    found.push((a.to.clone(), a.text.clone(), b.text.clone()));
                }
            }
        }
        found
    }

    fn forget(&self) {
        if let Ok(mut log) = self.log.lock() {
            log.clear();
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
        }
    }
}

impl Respond for TroubleFirst {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let form = form(request);
        let to = field(&form, "to").to_string();
        let first = self
            .seen
            .lock()
            .map(|mut seen| seen.insert(to.clone()))
            .unwrap_or(false);
        let (response, accepted, pause) = match (first, self.trouble) {
            (true, Trouble::Throttled) => (send_answer("1", &to, ""), false, Duration::ZERO),
            (true, Trouble::Unavailable) => (ResponseTemplate::new(503), false, Duration::ZERO),
            (true, Trouble::Slow) => {
                let pause = Duration::from_millis(600);
                (
                    send_answer("0", &to, &format!("M-{to}")).set_delay(pause),
                    true,
                    pause,
                )
            }
            (false, _) => (
                send_answer("0", &to, &format!("M-{to}")),
                true,
                Duration::ZERO,
            ),
        };
        let arrived = std::time::Instant::now();
        if let Ok(mut log) = self.log.lock() {
            log.push(Sent {
                to,
                text: field(&form, "text").to_string(),
                accepted,
                arrived,
                answered: arrived + pause,
            });
        }
        response
    }
}

/// The people of the order tests: their messages (all in one batch), whether they opted out
/// before it, and the texts they must get, in this order. A confirmation goes out only while it
/// is true and never after a newer one (docs/decisions/0001-reply-order.md); HELP always.
fn order_people() -> Vec<(&'static str, bool, Vec<&'static str>, Vec<String>)> {
    let t = texts();
    vec![
        (
            "14155550401",
            false,
            vec!["STOP", "START"],
            vec![t.opt_in.clone()],
        ),
        (
            "14155550402",
            true,
            vec!["START", "STOP"],
            vec![t.stop.clone()],
        ),
        (
            "14155550403",
            false,
            vec!["STOP", "HELP"],
            vec![t.stop.clone(), t.help.clone()],
        ),
        (
            "14155550404",
            false,
            vec!["HELP", "STOP"],
            vec![t.help.clone(), t.stop.clone()],
        ),
        (
            "14155550405",
            false,
            vec!["STOP", "START", "STOP"],
            vec![t.stop.clone(), t.stop.clone()],
        ),
        (
            "14155550406",
            true,
            vec!["START", "STOP", "START"],
            vec![t.opt_in.clone(), t.opt_in],
        ),
    ]
}

/// Sets up the people of [`order_people`] with `trouble` at Vonage and returns the batch of
/// their messages (the records of the earlier opt-outs already handled).
async fn order_batch(trouble: Trouble) -> (Setup, TroubleFirst, Vec<serde_json::Value>) {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    let vonage = TroubleFirst::new(trouble);
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(vonage.clone())
        .mount(&s.vonage)
        .await;
    for (digits, opted_out_before, _, _) in order_people() {
        if opted_out_before {
            s.text(digits, &format!("{digits}-0"), "STOP").await;
        }
    }
    let (_, response) = s.drain().await;
    assert_eq!(response.batch_item_failures.len(), 0, "{response:?}");
    // Only the batch under test counts, and its first send to each person meets the trouble.
    vonage.forget();
    for (digits, _, messages, _) in order_people() {
        for (i, text) in messages.iter().enumerate() {
            s.text(digits, &format!("{digits}-{}", i + 1), text).await;
        }
    }
    let records = s.reader.next_records().await;
    (s, vonage, records)
}

/// Delivers the failed records again, as the event source mapping does, until none fail.
async fn redeliver_until_done(notify: &Notify, records: &[serde_json::Value], failed: Vec<String>) {
    let mut failed = failed;
    for _ in 0..10 {
        if failed.is_empty() {
            return;
        }
        // Lambda retries from the lowest failed sequence number: that record and every later one.
        let first = records
            .iter()
            .position(|r| {
                failed
                    .iter()
                    .any(|f| r["dynamodb"]["SequenceNumber"] == f.as_str())
            })
            .unwrap_or(records.len());
        failed = notify
            .handle(lambda_event(&records[first..]), None)
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
    }
    assert!(failed.is_empty(), "still failing: {failed:?}");
}

async fn assert_order_kept(s: &Setup, vonage: &TroubleFirst, trouble: Trouble) {
    for (digits, _, messages, want) in order_people() {
        assert_eq!(
            vonage.accepted(digits),
            want,
            "{trouble:?}: {digits} texted {messages:?}"
        );
        // The last text matches the state the person is in.
        let state = s.store.state(&msisdn(digits)).await.unwrap_or_default();
        let last_is_stop = want.last().is_some_and(|t| *t == texts().stop);
        let status = state.map(|s| s.status);
        match messages.iter().rev().find(|m| **m != "HELP") {
            Some(&"STOP") => assert_eq!(status, Some(Status::OptedOut), "{digits}"),
            _ => assert_eq!(status, Some(Status::Subscribed), "{digits}"),
        }
        if want.iter().any(|t| *t != texts().help) {
            let confirmations: Vec<&String> = want.iter().filter(|t| **t != texts().help).collect();
            assert_eq!(
                confirmations.last().is_some_and(|t| **t == texts().stop),
                status == Some(Status::OptedOut),
                "{digits}: {want:?} {last_is_stop}"
            );
        }
    }
    assert_eq!(vonage.overlapping(), [], "two sends to one person at once");
}

async fn replies_keep_their_order_in_one_batch(trouble: Trouble) {
    let (s, vonage, records) = order_batch(trouble).await;
    let response = s.notify.handle(lambda_event(&records), None).await;
    let failed = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    redeliver_until_done(&s.notify, &records, failed).await;
    assert_order_kept(&s, &vonage, trouble).await;
}

#[tokio::test]
async fn replies_keep_their_order_in_one_batch_when_vonage_throttles() {
    replies_keep_their_order_in_one_batch(Trouble::Throttled).await;
}

#[tokio::test]
async fn replies_keep_their_order_in_one_batch_when_vonage_fails_with_5xx() {
    replies_keep_their_order_in_one_batch(Trouble::Unavailable).await;
}

#[tokio::test]
async fn replies_keep_their_order_in_one_batch_when_vonage_is_slow() {
    replies_keep_their_order_in_one_batch(Trouble::Slow).await;
}

/// A number's records failing for good in one invocation (Vonage throttles every attempt of the
/// first send) hold back that number's later records, which then come after it.
#[tokio::test]
async fn a_failed_record_holds_back_the_later_records_of_its_number_only() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .and(wiremock::matchers::body_string_contains("to=14155550411"))
        .respond_with(send_answer("1", "14155550411", ""))
        .up_to_n_times(3)
        .mount(&s.vonage)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&s.vonage)
        .await;
    s.text("14155550411", "F1", "STOP").await;
    s.text("14155550412", "F2", "STOP").await;
    s.text("14155550411", "F3", "HELP").await;
    let records = s.reader.next_records().await;
    let response = s.notify.handle(lambda_event(&records), None).await;
    let sequence = |id: &str| {
        records
            .iter()
            .find(|r| r["dynamodb"]["Keys"]["sk"]["S"] == format!("E#sms:{id}"))
            .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(
        failed,
        [sequence("F1"), sequence("F3")],
        "the HELP waits for the STOP"
    );
    // Requests to one number, in the order they reached Vonage (numbers go in parallel).
    let to = |sends: &[Vec<(String, String)>], digits: &str| -> Vec<String> {
        sends
            .iter()
            .filter(|f| field(f, "to") == digits)
            .map(|f| field(f, "text").to_string())
            .collect()
    };
    let sends = s.sends().await;
    assert_eq!(
        to(&sends, "14155550412"),
        [texts().stop],
        "the other number went on"
    );
    assert_eq!(
        to(&sends, "14155550411"),
        vec![texts().stop; 3],
        "three throttled attempts, no HELP yet"
    );
    redeliver_until_done(&s.notify, &records, failed).await;
    let sends = s.sends().await;
    let to_first = to(&sends, "14155550411").split_off(3);
    assert_eq!(to_first, [texts().stop, texts().help]);
}

/// Two invocations with the same batch at once (a redelivery while the first still runs), and
/// two with one person's records split between them: the order holds, each reply goes once.
#[tokio::test]
async fn replies_keep_their_order_across_two_concurrent_invocations() {
    for trouble in [Trouble::Slow, Trouble::Throttled] {
        let (s, vonage, records) = order_batch(trouble).await;
        let (a, b) = (s.notify.clone(), s.notify.clone());
        let (ea, eb) = (lambda_event(&records), lambda_event(&records));
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.handle(ea, None).await }),
            tokio::spawn(async move { b.handle(eb, None).await })
        );
        for response in [ra, rb] {
            let failed = response
                .unwrap_or_default()
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            redeliver_until_done(&s.notify, &records, failed).await;
        }
        assert_order_kept(&s, &vonage, trouble).await;
    }
    // Split: one invocation has each person's first message, the other the rest. The
    // confirmations still never cross (a confirmation is sent only while true and never after a
    // newer one); HELP may come before an older STOP's confirmation across split batches.
    let (s, vonage, records) = order_batch(Trouble::Slow).await;
    let first_ids: Vec<String> = order_people()
        .iter()
        .map(|(digits, ..)| format!("E#sms:{digits}-1"))
        .collect();
    let (firsts, rest): (Vec<_>, Vec<_>) = records.iter().cloned().partition(|r| {
        first_ids
            .iter()
            .any(|id| r["dynamodb"]["Keys"]["sk"]["S"] == id.as_str())
    });
    let (a, b) = (s.notify.clone(), s.notify.clone());
    let (ea, eb) = (lambda_event(&firsts), lambda_event(&rest));
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.handle(ea, None).await }),
        tokio::spawn(async move { b.handle(eb, None).await })
    );
    for (response, part) in [(ra, &firsts), (rb, &rest)] {
        let failed = response
            .unwrap_or_default()
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        redeliver_until_done(&s.notify, part, failed).await;
    }
    for (digits, _, messages, _) in order_people() {
        let got = vonage.accepted(digits);
        let status = s
            .store
            .state(&msisdn(digits))
            .await
            .unwrap_or_default()
            .map(|s| s.status);
        let last_confirmation = got.iter().rev().find(|t| **t != texts().help);
        assert_eq!(
            last_confirmation.map(|t| *t == texts().stop),
            Some(status == Some(Status::OptedOut)),
            "{digits} texted {messages:?}, got {got:?}"
        );
    }
    assert_eq!(vonage.overlapping(), [], "two sends to one person at once");
}

/// The invocation that loses a claim to another still sending it waits and finds it settled: no
/// "unsettled" (which feeds an alarm). Only a claim whose lease ran out is unsettled.
#[tokio::test]
async fn losing_a_claim_race_is_not_an_unsettled_reply() {
    let mut s = setup(ProviderMode::SelfManaged, true).await;
    let vonage = TroubleFirst::new(Trouble::Slow);
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(vonage.clone())
        .mount(&s.vonage)
        .await;
    s.text("14155550421", "Z1", "STOP").await;
    let records = s.reader.next_records().await;
    let record = records
        .iter()
        .find(|r| r["dynamodb"]["Keys"]["sk"]["S"] == "E#sms:Z1")
        .cloned()
        .unwrap_or_default();
    let deadline = shared::domain::deadline::Deadline::after(Duration::from_secs(20));
    let (a, b) = (s.notify.clone(), s.notify.clone());
    let (ra, rb) = (record.clone(), record.clone());
    let (one, two) = tokio::join!(
        tokio::spawn(async move { a.process(&ra, deadline).await }),
        tokio::spawn(async move { b.process(&rb, deadline).await })
    );
    let outcomes = [one, two].map(|r| r.ok().and_then(Result::ok));
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, Some(Done::Sent { .. })))
        .count();
    let settled = outcomes
        .iter()
        .filter(|o| matches!(o, Some(Done::AlreadySettled)))
        .count();
    assert_eq!(
        (sent, settled),
        (1, 1),
        "one sent it, the other found it settled: {outcomes:?}"
    );
    assert_eq!(vonage.accepted("14155550421"), [texts().stop]);
}
