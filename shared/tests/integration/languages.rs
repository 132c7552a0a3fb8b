//! Revocations and replies in the person's language (issue 21), through the real webhook and
//! notify handlers against the local server, Vonage a wiremock server: a Spanish or French
//! keyword or phrase opts out at once and is confirmed in that language where the program has
//! the text, in English where it has not; English is always read.

use super::texting;
use shared::adapters::config::Settings;
use shared::adapters::store::Store;
use shared::domain::event::Status;
use shared::domain::language::Language;
use shared::handlers::notify::Notify;
use shared::handlers::webhook::Webhook;
use testkit::streams::StreamReader;
use testkit::*;
use wiremock::MockServer;

const ALERTS: &str = "12345";

const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "default": true,
     "translations": {
        "es": {"stop_reply": "Acme Alerts: Se ha dado de baja y no recibirá más mensajes.",
               "help_reply": "Acme Alerts: Ayuda en help@acme.example. Pueden aplicarse tarifas de mensajes y datos. Responda ALTO para cancelar."},
        "fr": {"stop_reply": "Acme Alerts : vous êtes désabonné et ne recevrez plus de messages."}
     }},
    {"id": "quebec", "name": "Acme Québec", "numbers": ["15145550100"], "languages": ["fr"]}
]"#;

const QUEBEC: &str = "15145550100";

struct Setup {
    store: Store,
    vonage: MockServer,
    webhook: Webhook,
    notify: Notify,
    reader: StreamReader,
}

async fn setup(languages: &str) -> Setup {
    let store = fresh_store().await;
    let vonage = texting::vonage_accepting_sends().await;
    let uri = vonage.uri();
    let settings = Settings::from_pairs([
        ("PROGRAMS", PROGRAMS),
        ("PROVIDER_MODE", "self-managed"),
        ("REVOKE_ALL_FROM", "off"),
        ("LANGUAGES", languages),
        ("HELP_CONTACT", "help@acme.example"),
        ("MESSAGE_FREQUENCY", "Up to 4 msgs/month"),
        ("VONAGE_API_KEY", "vonage-key"),
        ("VONAGE_API_SECRET", "vonage-secret-value"),
        ("VONAGE_API_BASE_URL", uri.as_str()),
    ]);
    Setup {
        webhook: Webhook::from_settings(store.clone(), &settings).expect("webhook"),
        notify: Notify::from_settings(store.clone(), &settings).expect("notify"),
        reader: StreamReader::new(&store).await,
        store,
        vonage,
    }
}

impl Setup {
    async fn text(&self, from: &str, id: &str, text: &str) -> String {
        texting::text(&self.webhook, from, ALERTS, id, text, 0).await
    }

    async fn drain(&mut self) {
        texting::drain(&self.notify, &mut self.reader).await
    }

    async fn sent_to(&self, to: &str) -> Vec<String> {
        texting::sent_to(&self.vonage, to).await
    }

    async fn status(&self, digits: &str) -> Option<Status> {
        let states = self
            .store
            .scoped_states(&msisdn(digits))
            .await
            .expect("read");
        states.first().map(|(_, s)| s.status)
    }
}

#[tokio::test]
async fn spanish_and_french_revocations_are_honoured_and_confirmed_in_their_language() {
    let mut s = setup("en,es,fr").await;
    let cases = [
        ("14155559001", "ALTO", "opted_out", "Acme Alerts: Se ha dado de baja y no recibirá más mensajes."),
        ("14155559002", "Por favor dejen de enviarme mensajes", "opted_out", "Acme Alerts: Se ha dado de baja y no recibirá más mensajes."),
        ("14155559003", "Arrêtez de m'envoyer des textos svp", "opted_out", "Acme Alerts : vous êtes désabonné et ne recevrez plus de messages."),
        ("14155559004", "S T O P", "opted_out", "Acme Alerts: You are unsubscribed and will get no more messages. Reply START to resubscribe."),
        // No French help text: the English one.
        ("14155559005", "AIDE", "help", "Acme Alerts: Help at help@acme.example. Up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."),
        ("14155559006", "ayuda", "help", "Acme Alerts: Ayuda en help@acme.example. Pueden aplicarse tarifas de mensajes y datos. Responda ALTO para cancelar."),
    ];
    for (n, text, status, _) in cases {
        assert_eq!(s.text(n, &format!("0D{n}"), text).await, status, "{text}");
    }
    s.drain().await;
    for (n, text, status, reply) in cases {
        assert_eq!(s.sent_to(n).await, [reply], "{text}");
        if status == "opted_out" {
            assert_eq!(s.status(n).await, Some(Status::OptedOut), "{text}");
        }
    }
    let history = s
        .store
        .history(&msisdn("14155559001"), 1)
        .await
        .expect("history");
    let message = history[0].origin.message().expect("the message");
    assert_eq!(
        (message.keyword.as_deref(), message.language),
        (Some("ALTO"), Some(Language::Es))
    );
}

#[tokio::test]
async fn a_deployment_reading_english_only_still_reads_stop_and_a_program_may_read_more() {
    let s = setup("en").await;
    assert_eq!(s.text("14155559010", "0D9010", "STOP").await, "opted_out");
    assert_eq!(s.text("14155559011", "0D9011", "ALTO").await, "ignored");
    assert_eq!(s.status("14155559011").await, None);
    // The Québec program reads French (and English), not Spanish.
    let to_quebec = |from, id, text| texting::text(&s.webhook, from, QUEBEC, id, text, 0);
    assert_eq!(
        to_quebec("14155559012", "0D9012", "Arrêt").await,
        "opted_out"
    );
    assert_eq!(
        to_quebec("14155559013", "0D9013", "STOP").await,
        "opted_out"
    );
    assert_eq!(to_quebec("14155559014", "0D9014", "ALTO").await, "ignored");
}

#[test]
fn a_translation_without_its_required_parts_stops_the_start() {
    let bad = PROGRAMS.replace("Se ha dado de baja y no recibirá más mensajes.", "Gracias.");
    let settings = Settings::from_pairs([
        ("PROGRAMS", bad.as_str()),
        ("PROVIDER_MODE", "self-managed"),
        ("HELP_CONTACT", "help@acme.example"),
        ("VONAGE_API_KEY", "k"),
        ("VONAGE_API_SECRET", "s"),
    ]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(fresh_store());
    let refused = Notify::from_settings(store, &settings)
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("stop_reply") && e.contains("(es)")),
        "{refused:?}"
    );
}
