//! Load check: 1,000 STOP webhooks for 200 numbers (800 distinct messages plus 200
//! redeliveries, 20% duplicates), shuffled, sent concurrently through the real handler
//! (`Webhook::handle`, signed requests) against a fresh table on the local DynamoDB-compatible
//! server. Afterwards every number is opted out exactly once in state, by its newest message,
//! every distinct message id is in history exactly once, and no request failed.

use lambda_http::http::StatusCode;
use shared::adapters::store::schema::{self, ItemFamily, Key};
use shared::domain::event::Status;
use shared::domain::signature::{sms_signature, SignatureMethod};
use shared::handlers::webhook::{Webhook, WebhookAuth};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use testkit::*;

const NUMBERS: usize = 200;
const DISTINCT: usize = 800;
const WEBHOOKS: usize = 1000;
/// Requests in flight at once: truly concurrent, bounded so the single-threaded local server
/// is not buried under retries.
const IN_FLIGHT: usize = 32;
const SECRET: &str = "load-test-secret";
const PATH: &str = "/webhooks/inbound";

struct Message {
    digits: String,
    id: String,
    /// `message-timestamp`: distinct per number, so each number's newest message is known.
    sent: String,
    encoding: usize,
}

fn messages() -> Vec<Message> {
    (0..DISTINCT)
        .map(|k| {
            let number = k % NUMBERS;
            let nth = k / NUMBERS;
            Message {
                digits: format!("1202555{number:04}"),
                id: format!("LOAD{k:06}"),
                sent: format!("2024-05-01 10:{:02}:{:02}", nth, number % 60),
                encoding: k % 3,
            }
        })
        .collect()
}

fn request(m: &Message) -> lambda_http::Request {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let mut params: Vec<(&str, &str)> = vec![
        ("msisdn", &m.digits),
        ("to", "16105553939"),
        ("messageId", &m.id),
        ("text", "STOP"),
        ("type", "text"),
        ("keyword", "STOP"),
        ("message-timestamp", &m.sent),
        ("timestamp", &ts),
    ];
    let sig = sms_signature(&params, SECRET, SignatureMethod::HmacSha256);
    params.push(("sig", &sig));
    let form = serde_urlencoded::to_string(&params).expect("form");
    let json = serde_json::to_string(
        &params
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect::<serde_json::Map<_, _>>(),
    )
    .expect("json");
    let call = match m.encoding {
        0 => HttpCall::get(PATH, &form),
        1 => HttpCall::post(PATH, "application/x-www-form-urlencoded", form.as_bytes()),
        _ => HttpCall::post(PATH, "application/json", json.as_bytes()),
    };
    call.request(EventShape::HttpApiV2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_stops_with_duplicates_record_each_exactly_once() {
    let store = fresh_store().await;
    let hook = Arc::new(Webhook::new(
        store.clone(),
        WebhookAuth {
            signature: Some((SECRET.into(), SignatureMethod::HmacSha256)),
            token: None,
        },
    ));
    let messages = Arc::new(messages());

    // Every distinct message once, plus 200 redeliveries of random ones; then shuffled.
    let mut rng = fastrand::Rng::with_seed(6);
    let mut deliveries: Vec<usize> = (0..DISTINCT).collect();
    deliveries.extend((0..WEBHOOKS - DISTINCT).map(|_| rng.usize(..DISTINCT)));
    rng.shuffle(&mut deliveries);
    assert_eq!(deliveries.len(), WEBHOOKS);

    let started = std::time::Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for index in deliveries {
        let (hook, messages, gate) = (hook.clone(), messages.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let response = hook.handle(request(&messages[index])).await;
            (index, response.status(), body_json(&response))
        });
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, status, body) = joined.expect("task did not panic");
        if status != StatusCode::OK || body["status"] != "opted_out" {
            errors.push(format!("{}: {status} {body}", messages[index].id));
        }
        let outcome = body["outcome"].as_str().unwrap_or("none").to_string();
        *outcomes.entry(outcome).or_default() += 1;
    }
    let elapsed = started.elapsed();
    eprintln!("{WEBHOOKS} webhooks, {IN_FLIGHT} in flight: {elapsed:?}; outcomes {outcomes:?}");
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    // Each distinct message was recorded once; each redelivery was recognised as one.
    let recorded = outcomes.get("applied").copied().unwrap_or(0)
        + outcomes.get("superseded").copied().unwrap_or(0);
    assert_eq!(recorded, DISTINCT, "{outcomes:?}");
    assert_eq!(
        outcomes.get("duplicate").copied().unwrap_or(0),
        WEBHOOKS - DISTINCT,
        "{outcomes:?}"
    );

    // The table: per number, one state (opted out, by its newest message) and its messages'
    // history entries, each once.
    let mut by_number: BTreeMap<&str, Vec<&Message>> = BTreeMap::new();
    for m in messages.iter() {
        by_number.entry(m.digits.as_str()).or_default().push(m);
    }
    assert_eq!(by_number.len(), NUMBERS);
    let mut total_history = 0;
    for (digits, sent) in &by_number {
        let items = items_for(&store, digits).await;
        let sort_keys: Vec<String> = items.iter().map(schema::sort_key).collect();
        let family = |f: ItemFamily| items.iter().filter(|i| ItemFamily::of(i) == f).count();
        assert_eq!(family(ItemFamily::State), 1, "{digits}: {sort_keys:?}");
        let history: Vec<&String> = sort_keys
            .iter()
            .zip(&items)
            .filter(|(_, i)| ItemFamily::of(i) == ItemFamily::History)
            .map(|(sk, _)| sk)
            .collect();
        let unique: BTreeSet<&String> = history.iter().copied().collect();
        assert_eq!(
            unique.len(),
            history.len(),
            "{digits}: a message twice in history"
        );
        let expected: BTreeSet<String> = sent
            .iter()
            .map(|m| Key::history(&msisdn(digits), &format!("sms:{}", m.id)).sk)
            .collect();
        assert_eq!(
            unique.into_iter().cloned().collect::<BTreeSet<String>>(),
            expected,
            "{digits}"
        );
        total_history += history.len();

        let state = store
            .state(&msisdn(digits))
            .await
            .expect("state readable")
            .expect("a state");
        assert_eq!(state.status, Status::OptedOut, "{digits}");
        let newest = sent
            .iter()
            .max_by_key(|m| m.sent.clone())
            .expect("messages");
        assert_eq!(
            state.event_id,
            format!("sms:{}", newest.id),
            "{digits}: newest event wins"
        );
    }
    assert_eq!(total_history, DISTINCT);
}
