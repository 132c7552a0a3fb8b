//! Programs in the replies (docs/decisions/0005-programs.md): one confirmation per revocation,
//! naming what ended, from the number texted; each program's own texts; the keep keyword inside
//! and after its window; an opt-in by text lifted for its program alone. Real webhook and notify
//! handlers, the local server's stream, Vonage as a wiremock server in the documented shapes.

use lambda_http::http::StatusCode;
use shared::adapters::config::Settings;
use shared::adapters::provider::{Provider, ProviderMode, Providers, SelfManaged, ShortCodeApi};
use shared::adapters::store::Store;
use shared::adapters::vonage::{RetryPolicy, VonageClient};
use shared::domain::event::{EventKind, Status};
use shared::domain::origin::Origin;
use shared::domain::program::Programs;
use shared::handlers::notify::{texts_from_settings, Notify, Replies};
use shared::handlers::stream_event::BatchResponse;
use shared::handlers::webhook::Webhook;
use std::sync::Arc;
use std::time::Duration;
use testkit::streams::{lambda_event, StreamReader};
use testkit::*;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const SEND: &str = "/sms/json";
const MANAGE: &str = "/sc/us/alert/opt-in/manage/json";
const ALERTS: &str = "12345";
const DEALS: &str = "14155550100";
const NOTICES: &str = "18885550100";

const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "default": true,
     "keep_keyword": "ALERTS"},
    {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"], "frequency": "Up to 8 msgs/month"},
    {"id": "notices", "name": "Acme Notices", "numbers": ["18885550100"], "consent_required": false,
     "help_contact": "notices@acme.example"}
]"#;

/// Every program's status for `digits`, in declaration order (`None`: nothing reaches it).
async fn statuses(store: &Store, digits: &str) -> Vec<Option<Status>> {
    let programs = Programs::parse(PROGRAMS).expect("programs");
    let mut out = Vec::new();
    for program in programs.all() {
        let state = store
            .state_in(&msisdn(digits), &programs.scopes_reaching(program))
            .await
            .expect("read");
        out.push(state.map(|s| s.status));
    }
    out
}

const OPTED_OUT: Option<Status> = Some(Status::OptedOut);
const SUBSCRIBED: Option<Status> = Some(Status::Subscribed);

/// Accepts every send, echoing its `to`.
struct AcceptAll;
impl Respond for AcceptAll {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
        let to = field(&form, "to").to_owned();
        let json = serde_json::json!({"message-count": "1", "messages": [{"to": to,
            "message-id": format!("M-{to}"), "status": "0", "remaining-balance": "10.0",
            "message-price": "0.01", "network": "310004"}]});
        ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

struct Setup {
    store: Store,
    vonage: MockServer,
    webhook: Webhook,
    notify: Notify,
    reader: StreamReader,
}

/// The three programs, revoke-all from `revoke_all_from`, keep keywords answered within
/// `clarification_hours`, replies on.
async fn setup(mode: ProviderMode, revoke_all_from: &str, clarification_hours: &str) -> Setup {
    let store = fresh_store().await;
    let vonage = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(AcceptAll)
        .mount(&vonage)
        .await;
    let settings = Settings::from_pairs([
        ("PROGRAMS", PROGRAMS),
        ("REVOKE_ALL_FROM", revoke_all_from),
        ("CLARIFICATION_HOURS", clarification_hours),
        ("PROVIDER_MODE", mode.as_str()),
        ("HELP_CONTACT", "help@acme.example"),
    ]);
    let client = VonageClient::new(&vonage.uri(), "vonage-key", "vonage-secret-value")
        .expect("client")
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            attempt_timeout: Duration::from_millis(1500),
        });
    let provider: Arc<dyn Provider> = match mode {
        ProviderMode::ShortCodeApi => Arc::new(ShortCodeApi(client.clone())),
        _ => Arc::new(SelfManaged),
    };
    let programs = Programs::from_settings(&settings).expect("programs");
    let notify = Notify {
        store: store.clone(),
        replies: Some(Replies::to_every_program(
            texts_from_settings(&settings, &programs).expect("texts"),
            client,
        )),
        programs,
        providers: Providers::single(provider),
    };
    let webhook = Webhook::from_settings(store.clone(), &settings).expect("webhook");
    let reader = StreamReader::new(&store).await;
    Setup {
        store,
        vonage,
        webhook,
        notify,
        reader,
    }
}

/// `minutes` ago, as Vonage writes `message-timestamp` (UTC).
fn minutes_ago(minutes: i64) -> String {
    let at = OffsetDateTime::now_utc() - time::Duration::minutes(minutes);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(format).expect("format")
}

/// Today (UTC) as `YYYY-MM-DD`, and tomorrow: the revoke-all date on the day itself, and with
/// today the day before it.
fn today_and_tomorrow() -> (String, String) {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let today = OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("a next day");
    (
        today.format(format).expect("format"),
        tomorrow.format(format).expect("format"),
    )
}

impl Setup {
    /// A text from `from` to `to`, sent `minutes` ago; the webhook's `status`.
    async fn text(&self, from: &str, to: &str, id: &str, text: &str, minutes: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("msisdn", from),
            ("to", to),
            ("messageId", id),
            ("text", text),
            ("type", "text"),
            ("message-timestamp", &minutes_ago(minutes)),
        ])
        .expect("query");
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
            .to_owned()
    }

    /// The stream's new records through notify; every record must succeed.
    async fn drain(&mut self) {
        let records = self.reader.next_records().await;
        let response = self.notify.handle(lambda_event(&records), None).await;
        assert_eq!(response, BatchResponse::default());
    }

    /// Every text sent to `to`: (from, text), in order.
    async fn sent_to(&self, to: &str) -> Vec<(String, String)> {
        self.vonage
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == SEND)
            .map(|r| {
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body).unwrap_or_default()
            })
            .filter(|f| field(f, "to") == to)
            .map(|f| (field(&f, "from").to_owned(), field(&f, "text").to_owned()))
            .collect()
    }
}

const REVOKE_ALL_CONFIRMATION: &str = "Acme Deals: You are unsubscribed from Acme Deals and Acme Alerts and will get no more messages from them. Reply ALERTS to keep Acme Alerts.";

#[tokio::test]
async fn one_confirmation_per_revocation_naming_what_ended_the_day_before_and_on_the_revoke_all_date(
) {
    let (today, tomorrow) = today_and_tomorrow();
    // The day before the date: a STOP to deals ends deals, and says so.
    let mut s = setup(ProviderMode::SelfManaged, &tomorrow, "24").await;
    assert_eq!(
        s.text("14155557201", DEALS, "0B7201", "STOP", 1).await,
        "opted_out"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557201").await,
        [None, OPTED_OUT, None]
    );
    assert_eq!(
        s.sent_to("14155557201").await,
        [(
            DEALS.to_owned(),
            "Acme Deals: You are unsubscribed and will get no more messages. Reply START to resubscribe.".to_owned()
        )]
    );

    // The date itself: the same STOP ends every program that needs consent, in one text from
    // the number texted that names them and offers to keep the other one.
    let mut s = setup(ProviderMode::SelfManaged, &today, "24").await;
    assert_eq!(
        s.text("14155557202", DEALS, "0B7202", "STOP", 0).await,
        "opted_out"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557202").await,
        [OPTED_OUT, OPTED_OUT, None]
    );
    assert_eq!(
        s.sent_to("14155557202").await,
        [(DEALS.to_owned(), REVOKE_ALL_CONFIRMATION.to_owned())]
    );

    // STOP ALL: every program, one text.
    assert_eq!(
        s.text("14155557203", ALERTS, "0B7203", "STOP ALL", 1).await,
        "opted_out"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557203").await,
        [OPTED_OUT, OPTED_OUT, OPTED_OUT]
    );
    assert_eq!(
        s.sent_to("14155557203").await,
        [(
            ALERTS.to_owned(),
            "Acme Alerts: You are unsubscribed from all our programs and will get no more messages.".to_owned()
        )]
    );
}

#[tokio::test]
async fn each_program_answers_with_its_own_texts_and_an_unknown_number_with_the_default_ones() {
    let (_, tomorrow) = today_and_tomorrow();
    let mut s = setup(ProviderMode::SelfManaged, &tomorrow, "24").await;
    s.text("14155557211", NOTICES, "0B7211", "HELP", 1).await;
    s.text("14155557211", DEALS, "0B7212", "HELP", 1).await;
    // A number no program declares belongs to the default program (alerts).
    assert_eq!(
        s.text("14155557212", "19995550100", "0B7213", "STOP", 1)
            .await,
        "opted_out"
    );
    s.drain().await;
    assert_eq!(
        s.sent_to("14155557211").await,
        [
            (
                NOTICES.to_owned(),
                "Acme Notices: Help at notices@acme.example. Msg frequency varies. Msg&data rates may apply. Reply STOP to cancel.".to_owned()
            ),
            (
                DEALS.to_owned(),
                "Acme Deals: Help at help@acme.example. Up to 8 msgs/month. Msg&data rates may apply. Reply STOP to cancel.".to_owned()
            ),
        ]
    );
    assert_eq!(
        statuses(&s.store, "14155557212").await,
        [OPTED_OUT, None, None]
    );
    assert_eq!(
        s.sent_to("14155557212").await,
        [(
            "19995550100".to_owned(),
            "Acme Alerts: You are unsubscribed and will get no more messages. Reply START to resubscribe.".to_owned()
        )]
    );
}

#[tokio::test]
async fn the_keep_keyword_inside_its_window_restores_that_program_alone_and_after_it_nothing() {
    let mut s = setup(ProviderMode::SelfManaged, "2026-01-01", "1").await;

    // Inside the window: the STOP 30 minutes ago, ALERTS now.
    s.text("14155557221", DEALS, "0B7221", "STOP", 30).await;
    assert_eq!(
        s.text("14155557221", DEALS, "0B7222", "alerts", 0).await,
        "opted_in"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557221").await,
        [SUBSCRIBED, OPTED_OUT, None]
    );
    let sent = s.sent_to("14155557221").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].1, REVOKE_ALL_CONFIRMATION);
    assert_eq!(sent[1].0, DEALS, "answered from the number texted");
    assert!(
        sent[1]
            .1
            .starts_with("Acme Alerts: You are subscribed again."),
        "{sent:?}"
    );
    // The evidence: the person's word and the revocation it answers.
    let history = s
        .store
        .history(&msisdn("14155557221"), 10)
        .await
        .expect("history");
    let keep = history
        .iter()
        .find(|h| h.event_id == "sms:0B7222")
        .expect("the keep entry");
    assert_eq!(keep.kind, EventKind::Resubscribe);
    match &keep.origin {
        Origin::Message(m) => {
            assert_eq!(m.keyword.as_deref(), Some("ALERTS"));
            assert_eq!(m.clarifies.as_deref(), Some("sms:0B7221"));
        }
        other => panic!("{other:?}"),
    }

    // After the window (the STOP two hours ago): nothing changes, nothing is sent.
    s.text("14155557222", DEALS, "0B7223", "STOP", 120).await;
    assert_eq!(
        s.text("14155557222", DEALS, "0B7224", "ALERTS", 0).await,
        "ignored"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557222").await,
        [OPTED_OUT, OPTED_OUT, None]
    );
    assert_eq!(s.sent_to("14155557222").await.len(), 1);

    // After STOP ALL no keep was offered, and none is taken, even inside the window.
    s.text("14155557223", DEALS, "0B7225", "STOP", 30).await;
    s.text("14155557223", DEALS, "0B7226", "STOP ALL", 20).await;
    assert_eq!(
        s.text("14155557223", DEALS, "0B7227", "ALERTS", 0).await,
        "ignored"
    );
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557223").await,
        [OPTED_OUT, OPTED_OUT, OPTED_OUT]
    );
}

#[tokio::test]
async fn an_opt_in_by_text_lifted_by_vonage_resubscribes_its_program_alone() {
    let mut s = setup(ProviderMode::ShortCodeApi, "off", "24").await;
    let doc = vonage_reference("us-short-codes/subscription_response-format_2_manage.json");
    let mut answer: serde_json::Value = serde_json::from_str(&doc).expect("reference");
    answer["msisdn"] = "14155557231".into();
    answer["opt-in"] = "true".into();
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(answer.to_string(), "application/json"),
        )
        .mount(&s.vonage)
        .await;
    // Opted out of deals and of alerts (revoke-all off: each its own), then START to alerts.
    s.text("14155557231", DEALS, "0B7231", "STOP", 3).await;
    s.text("14155557231", ALERTS, "0B7232", "STOP", 2).await;
    assert_eq!(
        s.text("14155557231", ALERTS, "0B7233", "START", 1).await,
        "opt_in_requested"
    );
    s.drain().await;
    s.drain().await;
    assert_eq!(
        statuses(&s.store, "14155557231").await,
        [SUBSCRIBED, OPTED_OUT, None],
        "Vonage's lift for the alerts short code opens alerts, never deals"
    );
}
