//! `lambda-bench`: runs each function's release `bootstrap` (and the plain baseline) under the
//! local Lambda Runtime API emulator against the local DynamoDB-compatible server, and writes
//! the measurements as JSON. Per function: `--cold-starts` fresh processes for each of its
//! routes (init, that route's first request, then the same request warm), then one long run. `scripts/bench` builds the binaries, starts the server, runs this
//! and renders the report.
//!
//! ```text
//! lambda-bench --bin-dir target/release --out .local/bench/lambda.json
//!              [--events 1000] [--warmup 100] [--cold-starts 20] [--log-dir .local/bench]
//!              [--template template.yaml]
//! ```
//! Needs `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_REGION` and credentials for the local server.

use bytes::Bytes;
use optout_bench::db_proxy::DbProxy;
use optout_bench::emulator::{memory_kib, Emulator, Env};
use optout_bench::stats::Summary;
use optout_bench::{ddb, events, vonage_stub};
use serde::Serialize;
use shared::adapters::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const INIT_LIMIT: Duration = Duration::from_secs(20);
const INVOKE_LIMIT: Duration = Duration::from_secs(30);
/// Requests of the same route sent after the first one of each cold start; their median is
/// "the same request warm", measured in the same process against the same table.
const WARM_REPEATS: usize = 5;
/// Event indexes of the cold-start routes start here, clear of the long run's (0..events).
const COLD_INDEX_BASE: usize = 5_000;

struct Args {
    bin_dir: PathBuf,
    out: PathBuf,
    log_dir: PathBuf,
    template: PathBuf,
    events: usize,
    warmup: usize,
    cold_starts: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bin_dir: PathBuf::from("target/release"),
        out: PathBuf::from(".local/bench/lambda.json"),
        log_dir: PathBuf::from(".local/bench"),
        template: PathBuf::from("template.yaml"),
        events: 1000,
        warmup: 100,
        cold_starts: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--bin-dir" => args.bin_dir = value()?.into(),
            "--out" => args.out = value()?.into(),
            "--log-dir" => args.log_dir = value()?.into(),
            "--template" => args.template = value()?.into(),
            "--events" => args.events = number(value()?)?,
            "--warmup" => args.warmup = number(value()?)?,
            "--cold-starts" => args.cold_starts = number(value()?)?,
            "-h" | "--help" => {
                println!("see the top of bench/src/bin/lambda_bench.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.events < 1000 {
        eprintln!(
            "warning: --events {} is below the 1,000 the report's targets are stated for",
            args.events
        );
    }
    Ok(args)
}

#[derive(Serialize)]
struct Scenario {
    /// What was sent.
    description: String,
    /// Event handed out -> response received.
    latency: Summary,
    /// Per invocation: latency minus the time its DynamoDB requests spent in the local server
    /// (measured by the timing proxy). The function's own time.
    own_time: Summary,
    /// Per invocation: time spent in the local DynamoDB server.
    dynamodb_time: Summary,
    /// DynamoDB requests per invocation, by operation (total / invocations).
    dynamodb_requests_per_invocation: BTreeMap<String, f64>,
    /// Invocations that did not get the expected answer.
    errors: usize,
    /// The first unexpected answer, if any.
    first_error: Option<String>,
}

/// One route's cold starts: per start a fresh process, its init (process start to its first
/// `next` poll), the route's request as the first invocation (it pays whatever is built on
/// first use: connections, lazily loaded data), then [`WARM_REPEATS`] more requests of the
/// same route in the same process. Latencies as in [`Scenario`]; differences are per start.
#[derive(Serialize)]
struct ColdRoute {
    description: String,
    init: Summary,
    first_request: Summary,
    /// Init plus first request, per start: the wait of the request that met the cold start,
    /// beyond what API Gateway and Lambda's own environment setup add.
    init_plus_first: Summary,
    /// Per start, the median of the warm repeats.
    warm: Summary,
    /// Per start, first request minus that start's warm median.
    first_minus_warm: Summary,
    /// The same three with each request's DynamoDB time subtracted (own time).
    own_first: Summary,
    own_warm: Summary,
    own_first_minus_warm: Summary,
    /// Requests (first or warm) that did not get the expected answer.
    errors: usize,
    first_error: Option<String>,
}

#[derive(Serialize)]
struct FunctionResult {
    binary: String,
    binary_bytes: u64,
    /// Process start to first `next` poll, one sample per start (every cold start of every
    /// route, and the long run's process).
    init: Summary,
    init_samples_ms: Vec<f64>,
    /// Per route: init, first request after the cold start, the same request warm.
    cold_routes: BTreeMap<String, ColdRoute>,
    scenarios: BTreeMap<String, Scenario>,
    /// VmHWM after the long run, KiB.
    peak_rss_kib: u64,
    /// VmRSS at the end of the long run, KiB.
    rss_kib: u64,
    /// Peak RSS of the cold-start processes (init + one invocation), largest seen, KiB.
    cold_peak_rss_kib: u64,
}

#[derive(Serialize)]
struct Report {
    events_per_scenario: usize,
    warmup: usize,
    cold_starts: usize,
    cpu: String,
    cores: usize,
    /// Measured from this process straight to the local server (no proxy), before the functions.
    dynamodb_round_trips: ddb::RoundTrips,
    /// Measured again right before the webhook's STOP scenario, same table, same server.
    dynamodb_record_before_stop: Summary,
    functions: BTreeMap<String, FunctionResult>,
    /// The send-time check: 1,000 numbers vs 12 GetItems, and the bootstrap's memory for it.
    eligibility: optout_bench::eligibility::EligibilityResult,
}

/// What a function is sent after its cold starts, and in its long run.
struct Plan {
    name: &'static str,
    env: Env,
    /// Routes measured from a cold start, each on `--cold-starts` fresh processes.
    cold_routes: Vec<ScenarioPlan>,
    /// The event for the long run's warm-up.
    warm_event: fn(usize) -> Vec<u8>,
    scenarios: Vec<ScenarioPlan>,
}

struct ScenarioPlan {
    key: &'static str,
    description: &'static str,
    event: fn(usize) -> Vec<u8>,
    /// Checks the function's response document.
    expect: fn(&[u8]) -> Result<(), String>,
}

fn non_keyword(i: usize) -> Vec<u8> {
    events::signed_inbound_sms(
        &format!("1202556{:04}", i % 10_000),
        &format!("NK{i:010}"),
        "See you at 5, bring the tickets",
    )
}

fn stop(i: usize) -> Vec<u8> {
    events::signed_inbound_sms(
        &format!("1202555{:04}", i % 10_000),
        &format!("ST{i:010}"),
        "STOP",
    )
}

/// STOPs for the cold-start route: numbers of their own.
fn stop_cold(i: usize) -> Vec<u8> {
    events::signed_inbound_sms(
        &format!("1202558{:04}", i % 10_000),
        &format!("SC{i:010}"),
        "STOP",
    )
}

/// A signed STOP whose sender is not an E.164 number (leading 0): answered with 400.
fn bad_sender(i: usize) -> Vec<u8> {
    events::signed_inbound_sms("0012025550100", &format!("BS{i:010}"), "STOP")
}

/// STOPs for the long run's warm-up: numbers of their own.
fn stop_warm(i: usize) -> Vec<u8> {
    events::signed_inbound_sms(
        &format!("1202557{:04}", i % 10_000),
        &format!("SW{i:010}"),
        "STOP",
    )
}

/// The STOP scenario's messages again: Vonage redelivering them.
fn stop_redelivered(i: usize) -> Vec<u8> {
    stop(i)
}

fn status(i: usize) -> Vec<u8> {
    // Numbers the STOP scenario opted out: a state item and one history entry each.
    events::subscription_status(&format!("1202555{:04}", i % 10_000))
}

/// For the cold-start route: numbers the STOP scenario opted out (needs `--events` >= 100).
fn status_cold(i: usize) -> Vec<u8> {
    status(i % 100)
}

fn resubscribe(i: usize) -> Vec<u8> {
    events::resubscribe(&format!("1415555{:04}", i % 10_000))
}

/// A website number that is well formed but not valid (9 national digits): answered with 400
/// after the phone-number library has looked at it.
fn resubscribe_bad_number(_i: usize) -> Vec<u8> {
    events::resubscribe("1 415 555 010")
}

fn opt_outs(_i: usize) -> Vec<u8> {
    events::opt_outs(100)
}

/// The hourly EventBridge schedule's event.
fn scheduled(i: usize) -> Vec<u8> {
    serde_json::json!({
        "version": "0",
        "id": format!("bench-{i:08}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/reconcile-hourly"],
        "detail": {}
    })
    .to_string()
    .into_bytes()
}

fn expect_status(response: &[u8], want: u16, body_has: &str) -> Result<(), String> {
    let got = events::status_of(response);
    let text = String::from_utf8_lossy(response);
    if got == Some(want) && text.contains(body_has) {
        Ok(())
    } else {
        Err(format!(
            "expected {want} with {body_has:?}, got {}",
            text.chars().take(300).collect::<String>()
        ))
    }
}

fn expect_complete_run(response: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(response);
    if text.contains("\"complete\":true") {
        Ok(())
    } else {
        Err(format!(
            "incomplete run: {}",
            text.chars().take(300).collect::<String>()
        ))
    }
}

fn plans(table: &str, endpoint: &str, vonage_base: &str) -> Vec<Plan> {
    let common: Env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("TABLE_NAME", table),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let with = |extra: &[(&str, &str)]| -> Env {
        let mut env = common.clone();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };
    vec![
        Plan {
            name: "baseline",
            env: common.clone(),
            cold_routes: vec![ScenarioPlan {
                key: "hello",
                description: "the non-keyword webhook event, answered with a fixed 200",
                event: non_keyword,
                expect: |r| expect_status(r, 200, "hello"),
            }],
            warm_event: non_keyword,
            scenarios: vec![ScenarioPlan {
                key: "hello",
                description: "the non-keyword webhook event, answered with a fixed 200",
                event: non_keyword,
                expect: |r| expect_status(r, 200, "hello"),
            }],
        },
        Plan {
            name: "unsubscribe-webhook",
            env: with(&[
                ("VONAGE_SIGNATURE_SECRET", events::SIGNATURE_SECRET),
                ("VONAGE_SIGNATURE_METHOD", events::SIGNATURE_METHOD.as_str()),
            ]),
            cold_routes: vec![
                ScenarioPlan {
                    key: "stop",
                    description: "signed STOP (POST form, HMAC-SHA256), a new number each time",
                    event: stop_cold,
                    expect: |r| expect_status(r, 200, "opted_out"),
                },
                ScenarioPlan {
                    key: "bad_request",
                    description: "signed STOP from a sender that is not an E.164 number: 400",
                    event: bad_sender,
                    expect: |r| expect_status(r, 400, "invalid_message"),
                },
            ],
            warm_event: stop_warm,
            scenarios: vec![
                ScenarioPlan {
                    key: "stop",
                    description: "signed STOP (POST form, HMAC-SHA256), a new number each time",
                    event: stop,
                    expect: |r| expect_status(r, 200, "opted_out"),
                },
                ScenarioPlan {
                    key: "stop_redelivered",
                    description: "the same STOPs again (Vonage redelivering): duplicates",
                    event: stop_redelivered,
                    expect: |r| expect_status(r, 200, "duplicate"),
                },
                ScenarioPlan {
                    key: "non_keyword",
                    description: "signed non-keyword message (POST form, HMAC-SHA256)",
                    event: non_keyword,
                    expect: |r| expect_status(r, 200, "ignored"),
                },
            ],
        },
        Plan {
            name: "resubscribe",
            env: with(&[
                ("API_KEYS", events::API_KEY),
                ("VONAGE_API_KEY", "bench-key"),
                ("VONAGE_API_SECRET", "bench-secret"),
                ("VONAGE_API_BASE_URL", vonage_base),
            ]),
            cold_routes: vec![
                ScenarioPlan {
                    key: "resubscribe",
                    description: "POST /resubscribe, a new valid number each time (200)",
                    event: resubscribe,
                    expect: |r| expect_status(r, 200, "subscribed"),
                },
                ScenarioPlan {
                    key: "status",
                    description: "GET /subscriptions/{msisdn} of an opted-out number",
                    event: status_cold,
                    expect: |r| expect_status(r, 200, "opted_out"),
                },
                ScenarioPlan {
                    key: "opt_outs",
                    description: "GET /opt-outs?limit=100 (one page)",
                    event: opt_outs,
                    expect: |r| expect_status(r, 200, "items"),
                },
                ScenarioPlan {
                    key: "bad_number",
                    description: "POST /resubscribe with a well-formed, invalid number: 400",
                    event: resubscribe_bad_number,
                    expect: |r| expect_status(r, 400, "invalid_msisdn"),
                },
            ],
            warm_event: status,
            scenarios: vec![
                ScenarioPlan {
                    key: "status",
                    description:
                        "GET /subscriptions/{msisdn} of an opted-out number (GetItem + Query)",
                    event: status,
                    expect: |r| expect_status(r, 200, "opted_out"),
                },
                ScenarioPlan {
                    key: "resubscribe",
                    description:
                        "POST /resubscribe (GetItem, Vonage stand-in over HTTP, TransactWriteItems)",
                    event: resubscribe,
                    expect: |r| expect_status(r, 200, "subscribed"),
                },
            ],
        },
        Plan {
            name: "reconcile",
            env: with(&[
                ("VONAGE_API_KEY", "bench-key"),
                ("VONAGE_API_SECRET", "bench-secret"),
                ("VONAGE_API_BASE_URL", vonage_base),
            ]),
            cold_routes: vec![ScenarioPlan {
                key: "run",
                description: "scheduled run (as in the long run below)",
                event: scheduled,
                expect: expect_complete_run,
            }],
            warm_event: scheduled,
            scenarios: vec![ScenarioPlan {
                key: "run",
                description: "scheduled run: one Vonage query page of 5 opted-out numbers (stand-in), checkpoint and records",
                event: scheduled,
                expect: expect_complete_run,
            }],
        },
    ]
}

/// `--cold-starts` fresh processes for one route: init, the route's first request, then
/// [`WARM_REPEATS`] more of the same route.
#[allow(clippy::too_many_arguments)]
async fn cold_route(
    args: &Args,
    plan: &Plan,
    route: &ScenarioPlan,
    proxy: &DbProxy,
    log: &std::path::Path,
    index: &mut usize,
    init: &mut Vec<Duration>,
    cold_peak: &mut u64,
) -> Result<ColdRoute, String> {
    let binary = args.bin_dir.join(plan.name);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut inits = Vec::new();
    let (mut first, mut warm, mut own_first, mut own_warm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut errors = 0;
    let mut first_error = None;
    for _ in 0..args.cold_starts {
        let mut emulator = Emulator::start().await.map_err(|e| e.to_string())?;
        emulator
            .spawn(&binary, &plan.env, log)
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let started = emulator.wait_init(INIT_LIMIT).await?;
        inits.push(ms(started));
        init.push(started);
        // (latency, own time) of the first request, then of each warm repeat.
        let mut samples = Vec::with_capacity(1 + WARM_REPEATS);
        for _ in 0..=WARM_REPEATS {
            *index += 1;
            proxy.take();
            let completion = emulator
                .invoke(Bytes::from((route.event)(*index)), INVOKE_LIMIT)
                .await?;
            let tally = proxy.take();
            let verdict = if completion.ok {
                (route.expect)(&completion.body)
            } else {
                Err(format!(
                    "runtime error: {}",
                    String::from_utf8_lossy(&completion.body)
                ))
            };
            if let Err(e) = verdict {
                errors += 1;
                first_error.get_or_insert(e);
            }
            samples.push((
                ms(completion.latency),
                ms(completion.latency.saturating_sub(tally.upstream)),
            ));
        }
        if let Some((hwm, _)) = emulator.pid().and_then(memory_kib) {
            *cold_peak = (*cold_peak).max(hwm);
        }
        emulator.stop().await;
        let median = |values: Vec<f64>| Summary::of_ms(values).p50_ms;
        first.push(samples[0].0);
        own_first.push(samples[0].1);
        warm.push(median(samples[1..].iter().map(|s| s.0).collect()));
        own_warm.push(median(samples[1..].iter().map(|s| s.1).collect()));
    }
    let minus = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
    let plus = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect::<Vec<_>>();
    Ok(ColdRoute {
        description: route.description.to_string(),
        init_plus_first: Summary::of_ms(plus(&inits, &first)),
        init: Summary::of_ms(inits),
        first_minus_warm: Summary::of_ms(minus(&first, &warm)),
        own_first_minus_warm: Summary::of_ms(minus(&own_first, &own_warm)),
        first_request: Summary::of_ms(first),
        warm: Summary::of_ms(warm),
        own_first: Summary::of_ms(own_first),
        own_warm: Summary::of_ms(own_warm),
        errors,
        first_error,
    })
}

async fn run_function(
    args: &Args,
    plan: &Plan,
    proxy: &DbProxy,
    before_first_scenario: impl std::future::Future<Output = Result<(), String>>,
) -> Result<FunctionResult, String> {
    let binary = args.bin_dir.join(plan.name);
    let binary_bytes = std::fs::metadata(&binary)
        .map_err(|e| {
            format!(
                "{}: {e} (build it with cargo build --release)",
                binary.display()
            )
        })?
        .len();
    let log = args.log_dir.join(format!("{}.log", plan.name));
    let mut init = Vec::new();
    let mut cold_peak = 0;
    let mut cold_routes = BTreeMap::new();
    let mut index = COLD_INDEX_BASE;
    for route in &plan.cold_routes {
        let result = cold_route(
            args,
            plan,
            route,
            proxy,
            &log,
            &mut index,
            &mut init,
            &mut cold_peak,
        )
        .await?;
        eprintln!(
            "  {} / {} cold: init p50 {:.3} ms, first p50 {:.3} ms, warm p50 {:.3} ms, first - warm p50 {:+.3} ms (max {:+.3}); errors {}",
            plan.name,
            route.key,
            result.init.p50_ms,
            result.first_request.p50_ms,
            result.warm.p50_ms,
            result.first_minus_warm.p50_ms,
            result.first_minus_warm.max_ms,
            result.errors
        );
        cold_routes.insert(route.key.to_string(), result);
    }
    let mut warm_index = 1_000_000;

    // The long run: one process, warm-up, then each scenario.
    let mut emulator = Emulator::start().await.map_err(|e| e.to_string())?;
    emulator
        .spawn(&binary, &plan.env, &log)
        .map_err(|e| e.to_string())?;
    init.push(emulator.wait_init(INIT_LIMIT).await?);
    for _ in 0..args.warmup {
        warm_index += 1;
        emulator
            .invoke(Bytes::from((plan.warm_event)(warm_index)), INVOKE_LIMIT)
            .await?;
    }
    before_first_scenario.await?;
    let mut scenarios = BTreeMap::new();
    for scenario in &plan.scenarios {
        let mut latencies = Vec::with_capacity(args.events);
        let mut own = Vec::with_capacity(args.events);
        let mut in_db = Vec::with_capacity(args.events);
        let mut requests: BTreeMap<String, u64> = BTreeMap::new();
        let mut errors = 0;
        let mut first_error = None;
        for i in 0..args.events {
            let event = Bytes::from((scenario.event)(i));
            proxy.take();
            let completion = emulator.invoke(event, INVOKE_LIMIT).await?;
            let tally = proxy.take();
            own.push(completion.latency.saturating_sub(tally.upstream));
            in_db.push(tally.upstream);
            for (op, n) in tally.requests {
                *requests.entry(op).or_default() += n;
            }
            let verdict = if completion.ok {
                (scenario.expect)(&completion.body)
            } else {
                Err(format!(
                    "runtime error: {}",
                    String::from_utf8_lossy(&completion.body)
                ))
            };
            if let Err(e) = verdict {
                errors += 1;
                first_error.get_or_insert(e);
            }
            latencies.push(completion.latency);
        }
        let latency = Summary::of(&latencies);
        let own_time = Summary::of(&own);
        eprintln!(
            "  {} / {}: p50 {:.3} ms, p99 {:.3} ms; own p50 {:.3} ms, p99 {:.3} ms; errors {errors}",
            plan.name, scenario.key, latency.p50_ms, latency.p99_ms, own_time.p50_ms, own_time.p99_ms
        );
        scenarios.insert(
            scenario.key.to_string(),
            Scenario {
                description: scenario.description.to_string(),
                latency,
                own_time,
                dynamodb_time: Summary::of(&in_db),
                dynamodb_requests_per_invocation: requests
                    .into_iter()
                    .map(|(op, n)| (op, n as f64 / args.events as f64))
                    .collect(),
                errors,
                first_error,
            },
        );
    }
    let (peak_rss_kib, rss_kib) = emulator
        .pid()
        .and_then(memory_kib)
        .ok_or("cannot read the bootstrap's /proc status")?;
    emulator.stop().await;
    Ok(FunctionResult {
        binary: binary.display().to_string(),
        binary_bytes,
        init_samples_ms: init.iter().map(|d| d.as_secs_f64() * 1000.0).collect(),
        init: Summary::of(&init),
        cold_routes,
        scenarios,
        peak_rss_kib,
        rss_kib,
        cold_peak_rss_kib: cold_peak,
    })
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.log_dir).map_err(|e| e.to_string())?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "AWS_ENDPOINT_URL_DYNAMODB is not set: start the local server first")?;
    let sdk = ddb::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("bench-{:016x}", fastrand::u64(..));
    ddb::create_table(&client, &args.template, &table).await?;
    let store = Store::new(client, table.clone());
    let vonage_base = vonage_stub::start().await.map_err(|e| e.to_string())?;

    eprintln!("DynamoDB round trips ({} each)", args.events);
    let round_trips = ddb::round_trips(&store, "1303555", args.events).await?;
    eprintln!(
        "  record p50 {:.3} ms p99 {:.3} ms",
        round_trips.record_new_opt_out.p50_ms, round_trips.record_new_opt_out.p99_ms
    );
    let proxy = DbProxy::start(&endpoint).await.map_err(|e| e.to_string())?;

    let mut functions = BTreeMap::new();
    let mut record_before_stop = None;
    for plan in plans(&table, proxy.endpoint(), &vonage_base) {
        eprintln!("{}", plan.name);
        let result = if plan.name == "unsubscribe-webhook" {
            let store = store.clone();
            let n = args.events;
            let slot = &mut record_before_stop;
            run_function(&args, &plan, &proxy, async move {
                let trips = ddb::round_trips(&store, "1304555", n).await?;
                *slot = Some(trips.record_new_opt_out);
                Ok(())
            })
            .await?
        } else {
            run_function(&args, &plan, &proxy, async { Ok(()) }).await?
        };
        functions.insert(plan.name.to_string(), result);
    }

    // The send-time check (POST /eligibility): against the server directly, as the round trips.
    // A table of its own: the runs above recorded numbers of the same range (reconcile syncs
    // the stand-in's list), and the check counts exactly the opt-outs it seeded.
    eprintln!("send-time check (POST /eligibility, 1,000 numbers)");
    let eligibility_table = format!("{table}-eligibility");
    ddb::create_table(store.client(), &args.template, &eligibility_table).await?;
    let eligibility_store = Store::new(store.client().clone(), eligibility_table.clone());
    let eligibility_env = plans(&eligibility_table, &endpoint, &vonage_base)
        .into_iter()
        .find(|p| p.name == "resubscribe")
        .map(|p| p.env)
        .unwrap_or_default();
    let eligibility = optout_bench::eligibility::run(
        &eligibility_store,
        &args.bin_dir,
        &eligibility_env,
        &args.log_dir,
        20,
    )
    .await?;

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let report = Report {
        events_per_scenario: args.events,
        warmup: args.warmup,
        cold_starts: args.cold_starts,
        cpu,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        dynamodb_record_before_stop: record_before_stop
            .ok_or("the webhook run did not measure the record round trip")?,
        dynamodb_round_trips: round_trips,
        functions,
        eligibility,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.out, json).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    let failed: Vec<String> = report
        .functions
        .iter()
        .flat_map(|(name, f)| {
            let scenarios = f
                .scenarios
                .iter()
                .map(|(key, s)| (key.clone(), s.errors, &s.first_error));
            let cold = f
                .cold_routes
                .iter()
                .map(|(key, c)| (format!("{key} (cold starts)"), c.errors, &c.first_error));
            scenarios
                .chain(cold)
                .filter(|(_, errors, _)| *errors > 0)
                .map(move |(key, errors, first)| {
                    format!("{name}/{key}: {errors} errors ({first:?})")
                })
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::process::ExitCode {
    testkit::exit_code(run().await)
}
