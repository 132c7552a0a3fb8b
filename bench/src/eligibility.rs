//! The send-time check's benchmark (`POST /eligibility`, 1,000 numbers): its wall time against
//! the local DynamoDB server, through the store (`Store::states_parallel` after
//! `Msisdn::readings`, what the route does) and through the whole handler in-process, compared
//! with 12 single-item round trips (`Store::state`, one consistent GetItem) measured in the same
//! run against the same server; and the peak memory of the `resubscribe` bootstrap answering
//! 1,000-number requests under the Lambda emulator.
//!
//! Target: the 1,000-number check in at most the time of 12 single-item round trips (p50 to p50).

use crate::emulator::{memory_kib, Emulator, Env};
use crate::events;
use crate::stats::Summary;
use bytes::Bytes;
use serde::Serialize;
use shared::adapters::store::Store;
use shared::adapters::vonage::VonageClient;
use shared::domain::event::{Event, EventKind};
use shared::domain::msisdn::Msisdn;
use shared::handlers::gateway;
use shared::handlers::website_api::WebsiteApi;
use std::path::Path;
use std::time::{Duration, Instant};

/// Numbers per request (the route's maximum).
pub const NUMBERS: usize = 1000;
/// What the check must stay within: this many single-item round trips.
pub const ROUND_TRIPS: f64 = 12.0;

#[derive(Debug, Serialize)]
pub struct EligibilityBench {
    pub numbers: usize,
    /// Of which opted out on the table.
    pub opted_out: usize,
    /// `Store::state` (one consistent GetItem), same server, same run.
    pub get_item: Summary,
    /// 12 x the GetItem p50.
    pub budget_ms: f64,
    /// `Msisdn::readings` of 1,000 human-written numbers + `Store::states_parallel`.
    pub store: Summary,
    /// The same through `WebsiteApi::handle` (event in, JSON body out), in-process.
    pub handler: Summary,
    /// `Msisdn::readings` of the 1,000 inputs alone (CPU, no I/O).
    pub parse_only: Summary,
    pub store_p50_within_budget: bool,
    pub handler_p50_within_budget: bool,
}

/// The 1,000 inputs, as a website or sending platform writes them: `+1 303 556 0000` ...
pub fn inputs() -> Vec<String> {
    (0..NUMBERS)
        .map(|i| format!("+1 303 556 {:04}", i % 10_000))
        .collect()
}

/// Every 10th number opted out, recorded as the webhook would.
pub async fn seed(store: &Store) -> Result<usize, String> {
    let now = shared::domain::timestamp::now();
    let events: Vec<Event> = (0..NUMBERS)
        .filter(|i| i % 10 == 0)
        .map(|i| {
            Ok(Event {
                scopes: vec![shared::domain::program::Scope::Every],
                msisdn: Msisdn::from_provider(&format!("1303556{:04}", i))
                    .map_err(|e| e.to_string())?,
                kind: EventKind::OptOut,
                event_id: format!("sms:ELIG{i:06}"),
                occurred_at: now - time::Duration::days(1),
                received_at: now,
                origin: crate::ddb::stop_message(&format!("ELIG{i:06}")),
            })
        })
        .collect::<Result<_, String>>()?;
    for outcome in store.record_many(&events, 4).await {
        outcome.map_err(|e| e.to_string())?;
    }
    Ok(events.len())
}

/// The `POST /eligibility` event for [`inputs`].
pub fn event() -> Vec<u8> {
    let body = serde_json::json!({ "numbers": inputs() }).to_string();
    events::http_api_event(
        "POST",
        "/eligibility",
        "",
        &[
            ("x-api-key", events::API_KEY),
            ("content-type", "application/json"),
        ],
        Some(&body),
    )
}

/// Measure `reps` checks each way, and `reps * 10` GetItems, interleaved so that all see the
/// same server state.
pub async fn measure(store: &Store, reps: usize) -> Result<EligibilityBench, String> {
    let opted_out = seed(store).await?;
    let inputs = inputs();
    let region = shared::domain::msisdn::Region::US;
    let vonage = VonageClient::new("http://127.0.0.1:9", "k", "s").map_err(|e| e.to_string())?;
    let api = WebsiteApi::new(store.clone(), vonage, vec![events::API_KEY.to_string()]);
    let event = String::from_utf8(event()).map_err(|e| e.to_string())?;
    let (mut get, mut via_store, mut via_handler, mut parse) = (vec![], vec![], vec![], vec![]);
    let one = Msisdn::from_provider("13035560000").map_err(|e| e.to_string())?;
    for rep in 0..reps {
        for i in 0..10 {
            let n = Msisdn::from_provider(&format!("1303556{:04}", (rep * 10 + i) % NUMBERS))
                .unwrap_or_else(|_| one.clone());
            let started = Instant::now();
            store.state(&n).await.map_err(|e| e.to_string())?;
            get.push(started.elapsed());
        }

        let started = Instant::now();
        let parsed = inputs
            .iter()
            .filter_map(|i| Msisdn::readings(i, region).ok())
            .count();
        parse.push(started.elapsed());
        if parsed != NUMBERS {
            return Err(format!("{parsed} of {NUMBERS} inputs parsed"));
        }

        let started = Instant::now();
        let readings: Vec<Msisdn> = inputs
            .iter()
            .filter_map(|i| Msisdn::readings(i, region).ok())
            .flatten()
            .collect();
        let states = store
            .states_parallel(&readings, &[shared::domain::program::Scope::Every], 20)
            .await
            .map_err(|e| e.to_string())?;
        via_store.push(started.elapsed());
        if states.len() != opted_out {
            return Err(format!(
                "{} states read, {opted_out} expected",
                states.len()
            ));
        }
        drop(readings);

        let started = Instant::now();
        let (request, _) = gateway::request_from_event(&event, lambda_http::Context::default());
        let response = api.handle(request).await;
        via_handler.push(started.elapsed());
        if response.status().as_u16() != 200 {
            return Err(format!(
                "POST /eligibility answered {}: {}",
                response.status(),
                String::from_utf8_lossy(response.body().as_ref())
            ));
        }
    }
    let get_item = Summary::of(&get);
    let budget_ms = ROUND_TRIPS * get_item.p50_ms;
    let store_summary = Summary::of(&via_store);
    let handler = Summary::of(&via_handler);
    Ok(EligibilityBench {
        numbers: NUMBERS,
        opted_out,
        store_p50_within_budget: store_summary.p50_ms <= budget_ms,
        handler_p50_within_budget: handler.p50_ms <= budget_ms,
        get_item,
        budget_ms,
        store: store_summary,
        handler,
        parse_only: Summary::of(&parse),
    })
}

/// The `resubscribe` bootstrap answering 1,000-number checks under the emulator.
#[derive(Debug, Serialize)]
pub struct BootstrapMemory {
    /// Peak RSS after init and one small request (`GET /subscriptions/{msisdn}`), KiB.
    pub peak_rss_kib_before: u64,
    /// Peak RSS after `invocations` 1,000-number checks, KiB.
    pub peak_rss_kib_after: u64,
    pub invocations: usize,
    /// Event handed out to response received.
    pub latency: Summary,
    /// The function's configured memory (template.yaml, MemorySize), MiB.
    pub memory_size_mib: u64,
}

/// Start `bootstrap` (the release `resubscribe`) with `env`, warm it with one status request,
/// then send `invocations` 1,000-number checks; the peak RSS before and after.
pub async fn bootstrap_memory(
    bootstrap: &Path,
    env: &Env,
    log: &Path,
    invocations: usize,
) -> Result<BootstrapMemory, String> {
    let limit = Duration::from_secs(30);
    let mut emulator = Emulator::start().await.map_err(|e| e.to_string())?;
    emulator
        .spawn(bootstrap, env, log)
        .map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    emulator.wait_init(limit).await?;
    let warm = emulator
        .invoke(
            Bytes::from(events::subscription_status("13035560000")),
            limit,
        )
        .await?;
    if !warm.ok {
        return Err(String::from_utf8_lossy(&warm.body).into_owned());
    }
    let (before, _) = emulator
        .pid()
        .and_then(memory_kib)
        .ok_or("cannot read the bootstrap's /proc status")?;
    let event = Bytes::from(event());
    let mut latencies = Vec::with_capacity(invocations);
    for _ in 0..invocations {
        let done = emulator.invoke(event.clone(), limit).await?;
        if !done.ok || events::status_of(&done.body) != Some(200) {
            return Err(format!(
                "the check failed: {}",
                String::from_utf8_lossy(&done.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
        latencies.push(done.latency);
    }
    let (after, _) = emulator
        .pid()
        .and_then(memory_kib)
        .ok_or("cannot read the bootstrap's /proc status")?;
    emulator.stop().await;
    Ok(BootstrapMemory {
        peak_rss_kib_before: before,
        peak_rss_kib_after: after,
        invocations,
        latency: Summary::of(&latencies),
        memory_size_mib: 128,
    })
}

/// Both measurements, as `lambda-bench` and `eligibility-bench` report them.
#[derive(Debug, Serialize)]
pub struct EligibilityResult {
    pub round_trips: EligibilityBench,
    /// `None` when no `resubscribe` bootstrap was found in the binary directory.
    pub bootstrap: Option<BootstrapMemory>,
}

/// [`measure`] with `reps` repetitions, then [`bootstrap_memory`] of `bin_dir/resubscribe`
/// (skipped when it is not built). Prints a summary on stderr.
pub async fn run(
    store: &Store,
    bin_dir: &Path,
    env: &Env,
    log_dir: &Path,
    reps: usize,
) -> Result<EligibilityResult, String> {
    let round_trips = measure(store, reps).await?;
    eprintln!(
        "  GetItem p50 {:.3} ms (x12 = {:.1} ms); 1,000 numbers: store p50 {:.1} ms (p90 {:.1}), handler p50 {:.1} ms (p90 {:.1}), parsing alone p50 {:.1} ms",
        round_trips.get_item.p50_ms,
        round_trips.budget_ms,
        round_trips.store.p50_ms,
        round_trips.store.p90_ms,
        round_trips.handler.p50_ms,
        round_trips.handler.p90_ms,
        round_trips.parse_only.p50_ms,
    );
    let binary = bin_dir.join("resubscribe");
    let bootstrap = if binary.exists() {
        let memory = bootstrap_memory(
            &binary,
            env,
            &log_dir.join("resubscribe-eligibility.log"),
            reps,
        )
        .await?;
        eprintln!(
            "  resubscribe bootstrap: peak RSS {} KiB after one status request, {} KiB after {} checks of 1,000 (p50 {:.1} ms)",
            memory.peak_rss_kib_before,
            memory.peak_rss_kib_after,
            memory.invocations,
            memory.latency.p50_ms
        );
        Some(memory)
    } else {
        eprintln!(
            "  {} not built: bootstrap memory not measured",
            binary.display()
        );
        None
    };
    Ok(EligibilityResult {
        round_trips,
        bootstrap,
    })
}
