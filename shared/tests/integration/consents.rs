//! The consent ledger (docs/decisions/0016-consent-ledger.md) through the real handlers against
//! the local server: `POST /consents`, the send-time check per status, a consent older than an
//! opt-out, double opt-in by text (in time, expired, confirmed twice), a join without
//! confirmation, and the evidence file's "texted on day D". Vonage is a wiremock server in the
//! documented shapes; every API answer is checked against openapi.yaml.

use super::texting;
use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::config::Settings;
use shared::adapters::store::Store;
use shared::domain::event::EventKind;
use shared::domain::timestamp;
use shared::handlers::notify::Notify;
use shared::handlers::webhook::Webhook;
use shared::handlers::website_api::WebsiteApi;
use testkit::openapi::CheckedApi;
use testkit::streams::StreamReader;
use testkit::*;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "website-key";
const MANAGE: &str = "/sc/us/alert/opt-in/manage/json";
const ALERTS: &str = "12345";
const DEALS: &str = "14155550100";

/// alerts asks for consent on file and confirms joins (Vonage's short code program: Vonage
/// sends its STOP and HELP replies, we send the join's); deals joins at once; notices needs no
/// consent.
const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "default": true,
     "consent_on_file": true, "join_keyword": "JOIN", "confirm_hours": 24,
     "provider_mode": "short-code-api"},
    {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"], "consent_on_file": true,
     "join_keyword": "DEALS", "confirm_join": false},
    {"id": "notices", "name": "Acme Notices", "numbers": ["18885550100"],
     "consent_required": false,
     "consent_wordings": {"notices-v1": "4737f5485ed9af02fbb02731a43a71f0ddac46aa4cf59aae26e05344ed73f842"}}
]"#;

/// The wording notices registers as `notices-v1`.
const NOTICES_WORDING: &str = "Yes, send me Acme account notices by text.";

const PROMPT: &str = "Acme Alerts: Reply YES to get Up to 4 msgs/month. Msg&data rates may apply. Reply HELP for help, STOP to cancel.";

struct Setup {
    store: Store,
    vonage: MockServer,
    api: CheckedApi,
    webhook: Webhook,
    notify: Notify,
    reader: StreamReader,
}

async fn setup() -> Setup {
    let store = fresh_store().await;
    let vonage = texting::vonage_accepting_sends().await;
    let uri = vonage.uri();
    let settings = Settings::from_pairs([
        ("PROGRAMS", PROGRAMS),
        ("PROVIDER_MODE", "self-managed"),
        ("REVOKE_ALL_FROM", "off"),
        ("HELP_CONTACT", "help@acme.example"),
        ("MESSAGE_FREQUENCY", "Up to 4 msgs/month"),
        ("API_KEYS", KEY),
        ("VONAGE_API_KEY", "vonage-key"),
        ("VONAGE_API_SECRET", "vonage-secret-value"),
        ("VONAGE_API_BASE_URL", uri.as_str()),
    ]);
    let api = WebsiteApi::from_settings(store.clone(), &settings).expect("api");
    let webhook = Webhook::from_settings(store.clone(), &settings).expect("webhook");
    let notify = Notify::from_settings(store.clone(), &settings).expect("notify");
    let reader = StreamReader::new(&store).await;
    Setup {
        store,
        vonage,
        api: CheckedApi::new(api),
        webhook,
        notify,
        reader,
    }
}

fn consent_body(number: &str, program: &str, captured_at: OffsetDateTime) -> Vec<u8> {
    serde_json::json!({
        "msisdn": number,
        "program": program,
        "consent": {
            "channel": "web_form",
            "captured_at": timestamp::format(captured_at),
            "wording": "Yes, text me Acme Alerts. Up to 4 msgs/month. Msg&data rates may apply.",
            "url": "https://acme.example/alerts/signup",
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0"
        }
    })
    .to_string()
    .into_bytes()
}

impl Setup {
    async fn post_consent(&self, key: &str, body: &[u8]) -> (StatusCode, Value) {
        let call = HttpCall::post("/consents", "application/json", body)
            .header("x-api-key", KEY)
            .header("idempotency-key", key);
        let response = self.api.handle(call.request(EventShape::HttpApiV2)).await;
        (response.status(), body_json(&response))
    }

    /// The send-time check of `numbers` for `program`: each result.
    async fn check(&self, program: &str, numbers: &[&str]) -> Vec<Value> {
        let body = serde_json::json!({ "numbers": numbers, "program": program }).to_string();
        let call = HttpCall::post("/eligibility", "application/json", body.as_bytes())
            .header("x-api-key", KEY);
        let response = self.api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::OK);
        body_json(&response)["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn status_of(&self, program: &str, number: &str) -> (String, bool) {
        let result = &self.check(program, &[number]).await[0];
        (
            result["status"].as_str().unwrap_or_default().to_owned(),
            result["may_send"].as_bool().unwrap_or(true),
        )
    }

    async fn text(&self, from: &str, to: &str, id: &str, text: &str, minutes: i64) -> String {
        texting::text(&self.webhook, from, to, id, text, minutes).await
    }

    async fn drain(&mut self) {
        texting::drain(&self.notify, &mut self.reader).await
    }

    async fn sent_to(&self, to: &str) -> Vec<String> {
        texting::sent_to(&self.vonage, to).await
    }

    /// The evidence file's `texted_on` for alerts on `day`.
    async fn texted_on(&self, path: &str, day: &str) -> Value {
        let query = format!("on={day}&program=alerts");
        let call = HttpCall::get(path, &query).header("x-api-key", KEY);
        let response = self.api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::OK);
        body_json(&response)["texted_on"].clone()
    }

    async fn kinds(&self, digits: &str) -> Vec<EventKind> {
        let mut history = self
            .store
            .history(&msisdn(digits), 50)
            .await
            .expect("history");
        history.reverse();
        history.into_iter().map(|e| e.kind).collect()
    }
}

#[tokio::test]
async fn the_send_time_check_answers_each_status_with_the_consent_on_file() {
    let s = setup().await;
    let now = timestamp::now();
    let (fresh, consented, stopped) = ("14155558001", "14155558002", "14155558003");

    // Never seen: a program that needs a consent on file may not; one that needs none may.
    assert_eq!(
        s.status_of("alerts", fresh).await,
        ("no_consent".into(), false)
    );
    assert_eq!(
        s.status_of("notices", fresh).await,
        ("unknown".into(), true)
    );

    let (status, reply) = s
        .post_consent(
            "signup-1",
            &consent_body(consented, "alerts", now - time::Duration::minutes(5)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["outcome"], "applied");
    assert_eq!(reply["status"], "subscribed");
    assert_eq!(reply["state_event_id"], reply["event_id"]);
    let results = s.check("alerts", &[consented, "not a number"]).await;
    assert_eq!(results[0]["status"], "subscribed");
    assert_eq!(results[0]["may_send"], true);
    assert_eq!(results[0]["channel"], "web_form");
    assert_eq!(results[0]["event_id"], reply["event_id"]);
    assert_eq!(results[1]["status"], "invalid");
    // Consent to alerts is not consent to deals.
    assert_eq!(
        s.status_of("deals", consented).await,
        ("no_consent".into(), false)
    );

    // A consent on file, then a STOP to alerts: opted out.
    s.post_consent(
        "signup-2",
        &consent_body(stopped, "alerts", now - time::Duration::minutes(10)),
    )
    .await;
    assert_eq!(
        s.text(stopped, ALERTS, "0C8003", "STOP", 1).await,
        "opted_out"
    );
    assert_eq!(
        s.status_of("alerts", stopped).await,
        ("opted_out".into(), false)
    );

    // The same key and body again is one consent; the same key with another body is refused.
    let body = consent_body(consented, "alerts", now - time::Duration::minutes(5));
    let (status, again) = s.post_consent("signup-1", &body).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let other = consent_body(consented, "deals", now - time::Duration::minutes(5));
    let (status, refused) = s.post_consent("signup-1", &other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(s.kinds(consented).await, [EventKind::Consent]);
}

#[tokio::test]
async fn a_program_that_registers_its_wordings_takes_only_those() {
    let s = setup().await;
    let n = "14155558015";
    let body = |wording: &str, version: &str| {
        serde_json::json!({
            "msisdn": n,
            "program": "notices",
            "consent": {"channel": "phone", "captured_at": timestamp::format(timestamp::now()),
                        "wording": wording, "wording_version": version, "agent_id": "agent-7"}
        })
        .to_string()
        .into_bytes()
    };
    let (status, refused) = s
        .post_consent("notices-1", &body("Something else", "notices-v1"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_consent");
    let (status, refused) = s
        .post_consent("notices-2", &body(NOTICES_WORDING, "notices-v0"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(s.kinds(n).await.is_empty(), "nothing written");
    let (status, reply) = s
        .post_consent("notices-3", &body(NOTICES_WORDING, "notices-v1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let history = s.store.history(&msisdn(n), 1).await.expect("history");
    let details = history[0].origin.details();
    assert_eq!(details["wording_version"], "notices-v1");
    assert_eq!(details["wording_sha256"].as_str().map(str::len), Some(64));
}

#[tokio::test]
async fn a_consent_older_than_an_opt_out_loses_and_a_newer_one_is_a_resubscribe() {
    let s = setup().await;
    let n = "14155558010";
    let now = timestamp::now();
    assert_eq!(s.text(n, DEALS, "0C8010", "STOP", 60).await, "opted_out");

    // Captured two hours ago, before the STOP an hour ago: kept in the ledger, nothing opens.
    let (status, reply) = s
        .post_consent(
            "old",
            &consent_body(n, "deals", now - time::Duration::hours(2)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["outcome"], "superseded");
    assert_eq!(reply["status"], "opted_out");
    assert_eq!(s.status_of("deals", n).await, ("opted_out".into(), false));
    // History in event order: the consent came first.
    assert_eq!(s.kinds(n).await, [EventKind::Consent, EventKind::OptOut]);

    // Newer than the STOP but captured more than 7 days ago cannot end it: nothing written.
    let m = "14155558011";
    let stop_at = now - time::Duration::days(10);
    let stop = testkit::records::stop(&msisdn(m), "old-stop", stop_at);
    s.store.record(&stop).await.expect("stop");
    let (status, refused) = s
        .post_consent(
            "stale",
            &consent_body(m, "deals", now - time::Duration::days(8)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_consent");
    assert_eq!(s.kinds(m).await, [EventKind::OptOut]);

    // A fresh consent ends the opt-out (deals is self-managed: nothing to lift at Vonage).
    let (status, reply) = s
        .post_consent(
            "fresh",
            &consent_body(n, "deals", now - time::Duration::minutes(1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["outcome"], "applied");
    assert_eq!(reply["provider"]["mode"], "self-managed");
    assert_eq!(s.status_of("deals", n).await, ("subscribed".into(), true));
}

#[tokio::test]
async fn a_consent_that_ends_an_opt_out_in_the_short_code_program_asks_vonage_first() {
    let s = setup().await;
    let n = "14155558020";
    let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
    let mut manage: Value = serde_json::from_str(&doc).expect("manage");
    manage["msisdn"] = n.into();
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(manage.to_string(), "application/json"),
        )
        .expect(1)
        .mount(&s.vonage)
        .await;
    assert_eq!(s.text(n, ALERTS, "0C8020", "STOP", 30).await, "opted_out");
    let body = consent_body(n, "alerts", timestamp::now() - time::Duration::minutes(1));
    let (status, reply) = s.post_consent("lift", &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["provider"]["mode"], "short-code-api");
    assert_eq!(reply["provider"]["blocked"], false);
    let history = s.store.history(&msisdn(n), 5).await.expect("history");
    let details = history[0].origin.details();
    assert_eq!(details["provider"], "short-code-api");
    assert!(details["provider_response"]
        .as_str()
        .is_some_and(|r| r.contains("\"opt_in\":true")));
    assert_eq!(s.status_of("alerts", n).await, ("subscribed".into(), true));
}

#[tokio::test]
async fn double_opt_in_confirmed_in_time_records_one_consent_with_both_messages() {
    let mut s = setup().await;
    let n = "14155558030";
    assert_eq!(
        s.text(n, ALERTS, "0C8030", "join", 10).await,
        "join_requested"
    );
    s.drain().await;
    assert_eq!(s.sent_to(n).await, [PROMPT]);
    let pending = &s.check("alerts", &[n]).await[0];
    assert_eq!(pending["status"], "pending_confirmation");
    assert_eq!(pending["may_send"], false);
    assert_eq!(pending["event_id"], "sms:0C8030");

    assert_eq!(s.text(n, ALERTS, "0C8031", "Yes!", 2).await, "opted_in");
    s.drain().await;
    let subscribed = &s.check("alerts", &[n]).await[0];
    assert_eq!(subscribed["status"], "subscribed");
    assert_eq!(subscribed["channel"], "keyword");
    assert_eq!(subscribed["event_id"], "consent:sms:0C8030");
    let sent = s.sent_to(n).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1].starts_with("Acme Alerts: You are subscribed."),
        "{sent:?}"
    );

    // YES twice: still one consent.
    assert_eq!(s.text(n, ALERTS, "0C8032", "YES", 1).await, "ignored");
    s.drain().await;
    assert_eq!(
        s.kinds(n).await,
        [EventKind::ConsentRequest, EventKind::Consent]
    );
    let consent = &s.store.history(&msisdn(n), 1).await.expect("history")[0];
    let message = consent.origin.message().expect("the YES message");
    assert_eq!(message.confirms.as_deref(), Some("sms:0C8030"));
    assert_eq!(message.message_id, "0C8031");
    assert_eq!(s.sent_to(n).await.len(), 2, "no text for the second YES");
}

#[tokio::test]
async fn an_expired_join_records_nothing_but_its_history_entry() {
    let mut s = setup().await;
    let n = "14155558040";
    // 25 hours ago; the window is 24.
    assert_eq!(
        s.text(n, ALERTS, "0C8040", "JOIN", 25 * 60).await,
        "join_requested"
    );
    s.drain().await;
    assert_eq!(s.status_of("alerts", n).await, ("no_consent".into(), false));
    assert_eq!(s.text(n, ALERTS, "0C8041", "YES", 1).await, "ignored");
    s.drain().await;
    assert_eq!(s.kinds(n).await, [EventKind::ConsentRequest]);
    assert_eq!(s.status_of("alerts", n).await, ("no_consent".into(), false));
    assert_eq!(s.store.state(&msisdn(n)).await.expect("read"), None);
    // A YES to a program with no join waiting is an ordinary message.
    assert_eq!(
        s.text("14155558041", ALERTS, "0C8042", "YES", 1).await,
        "ignored"
    );
}

#[tokio::test]
async fn a_join_to_a_program_that_asks_no_confirmation_is_a_consent_at_once() {
    let mut s = setup().await;
    let n = "14155558050";
    assert_eq!(s.text(n, DEALS, "0C8050", "DEALS", 1).await, "opted_in");
    s.drain().await;
    let result = &s.check("deals", &[n]).await[0];
    assert_eq!(result["status"], "subscribed");
    assert_eq!(result["channel"], "keyword");
    assert_eq!(s.kinds(n).await, [EventKind::Consent]);
    assert_eq!(
        s.sent_to(n).await,
        ["Acme Deals: You are subscribed. Up to 4 msgs/month. Msg&data rates may apply. Reply HELP for help, STOP to cancel."]
    );
    // Only the program texted: alerts still has none.
    assert_eq!(s.status_of("alerts", n).await, ("no_consent".into(), false));
}

#[tokio::test]
async fn the_evidence_file_answers_why_a_number_was_texted_on_a_day() {
    let s = setup().await;
    let n = "14155558060";
    let now = timestamp::now();
    let consent_at = now - time::Duration::days(3);
    // Imported history: a consent three days ago, a STOP to alerts today.
    let consent = shared::domain::event::Event {
        scopes: vec![shared::domain::program::Scope::Program(
            shared::domain::program::ProgramId::parse("alerts").expect("id"),
        )],
        ..testkit::records::event(
            &msisdn(n),
            EventKind::Consent,
            "consent:test",
            consent_at,
            testkit::records::website_consent(consent_at),
        )
    };
    s.store.record(&consent).await.expect("consent");
    assert_eq!(s.text(n, ALERTS, "0C8060", "STOP", 1).await, "opted_out");

    let path = format!("/subscriptions/{n}/evidence");
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let before = s
        .texted_on(
            &path,
            &(consent_at - time::Duration::days(1))
                .format(format)
                .expect("day"),
        )
        .await;
    assert_eq!(before["program"], "alerts");
    assert_eq!(before["answer"]["status_at_start"], Value::Null);
    assert_eq!(before["answer"]["consented_all_day"], false);

    let covered = s
        .texted_on(
            &path,
            &(now - time::Duration::days(1)).format(format).expect("day"),
        )
        .await;
    assert_eq!(covered["answer"]["status_at_start"], "subscribed");
    assert_eq!(covered["answer"]["consented_all_day"], true);
    assert_eq!(covered["answer"]["consent"]["event_id"], "consent:test");
    assert_eq!(covered["answer"]["revocation"], Value::Null);

    let today = s.texted_on(&path, &now.format(format).expect("day")).await;
    assert_eq!(today["answer"]["consented_all_day"], false);
    assert_eq!(today["answer"]["revocation"]["event_id"], "sms:0C8060");

    // A bad day is a 400, nothing else is read.
    let call = HttpCall::get(&path, "on=yesterday").header("x-api-key", KEY);
    let response = s.api.handle(call.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_request_to_be_forgotten_keeps_the_opt_out_and_hashes_what_they_wrote() {
    let s = setup().await;
    let n = "14155558070";
    let now = timestamp::now();
    let (status, _) = s
        .post_consent(
            "forget-1",
            &consent_body(n, "alerts", now - time::Duration::hours(3)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let written = "STOP texting me, this is Jane from 12 Elm St";
    assert_eq!(s.text(n, ALERTS, "0C8070", written, 60).await, "opted_out");
    assert_eq!(
        s.text(n, ALERTS, "0C8071", "JOIN", 30).await,
        "join_requested"
    );
    let before = s.store.history(&msisdn(n), 10).await.expect("history");
    let state_before = s.store.scoped_states(&msisdn(n)).await.expect("states");

    let dry = s.store.forget(&msisdn(n), true).await.expect("dry run");
    assert_eq!((dry.items_redacted, dry.joins_deleted), (3, 1), "{dry:?}");
    assert_eq!(
        s.store.history(&msisdn(n), 10).await.expect("history"),
        before
    );

    let done = s.store.forget(&msisdn(n), false).await.expect("forget");
    assert_eq!(done.values_hashed, dry.values_hashed);
    let after = s.store.history(&msisdn(n), 10).await.expect("history");
    // Every event kept: its kind, time, id, source and whether it applied.
    let shape = |h: &[shared::domain::event::HistoryEntry]| {
        h.iter()
            .map(|e| (e.kind, e.event_id.clone(), e.occurred_at, e.applied))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&after), shape(&before));
    assert_eq!(
        s.store.scoped_states(&msisdn(n)).await.expect("states"),
        state_before
    );
    assert_eq!(s.status_of("alerts", n).await, ("opted_out".into(), false));
    // What they wrote is gone, its hash proves what it was; the matched keyword stays.
    let stop = after
        .iter()
        .find(|e| e.event_id == "sms:0C8070")
        .and_then(|e| e.origin.message())
        .expect("the STOP");
    assert_eq!(stop.text, shared::adapters::store::forget::hashed(written));
    assert_eq!(stop.keyword.as_deref(), Some("STOP"));
    let consent = after
        .iter()
        .find(|e| e.kind == EventKind::Consent)
        .expect("the consent")
        .origin
        .details();
    assert!(consent["ip"]
        .as_str()
        .is_some_and(|v| v.starts_with("sha256:")));
    assert_eq!(consent["url"], "https://acme.example/alerts/signup");
    let file = s
        .store
        .evidence(&[msisdn(n)], now)
        .await
        .expect("evidence")
        .expect("a file");
    assert!(file.check.ok, "{:?}", file.check);
    assert!(!serde_json::to_string(&file)
        .unwrap_or_default()
        .contains("Elm St"));
    // The join is gone: a YES now opens nothing; forgetting again changes nothing.
    assert_eq!(s.text(n, ALERTS, "0C8072", "YES", 1).await, "ignored");
    let again = s.store.forget(&msisdn(n), false).await.expect("again");
    assert_eq!((again.items_redacted, again.joins_deleted), (0, 0));
}
