//! `lambda-bench`: runs each function's release `bootstrap` (and the plain baseline) under the
//! local Lambda Runtime API emulator against the local DynamoDB-compatible server, and writes
//! the measurements as JSON. `scripts/bench` builds the binaries, starts the server, runs this
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

#[derive(Serialize)]
struct FunctionResult {
    binary: String,
    binary_bytes: u64,
    /// Process start to first `next` poll, one sample per cold start.
    init: Summary,
    init_samples_ms: Vec<f64>,
    /// The first invocation after each cold start (opens the connections it needs).
    first_invocation: Summary,
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

/// What a function is sent after its cold start, and in its long run.
struct Plan {
    name: &'static str,
    env: Env,
    /// The event for the first invocation of each cold start and the warm-up.
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

/// STOPs for the first invocation after a cold start and the warm-up: numbers of their own.
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

fn resubscribe(i: usize) -> Vec<u8> {
    events::resubscribe(&format!("1415555{:04}", i % 10_000))
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
            warm_event: scheduled,
            scenarios: vec![ScenarioPlan {
                key: "run",
                description: "scheduled run: one Vonage query page of 5 opted-out numbers (stand-in), checkpoint and records",
                event: scheduled,
                expect: |r| {
                    let text = String::from_utf8_lossy(r);
                    if text.contains("\"complete\":true") {
                        Ok(())
                    } else {
                        Err(format!("incomplete run: {}", text.chars().take(300).collect::<String>()))
                    }
                },
            }],
        },
    ]
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
    let mut first = Vec::new();
    let mut cold_peak = 0;
    let mut warm_index = 1_000_000;
    // Cold starts: a fresh process each, timed to its first poll, then one invocation.
    for _ in 0..args.cold_starts {
        let mut emulator = Emulator::start().await.map_err(|e| e.to_string())?;
        emulator
            .spawn(&binary, &plan.env, &log)
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        init.push(emulator.wait_init(INIT_LIMIT).await?);
        warm_index += 1;
        let completion = emulator
            .invoke(Bytes::from((plan.warm_event)(warm_index)), INVOKE_LIMIT)
            .await?;
        if !completion.ok {
            return Err(format!(
                "{}: the first invocation failed: {}",
                plan.name,
                String::from_utf8_lossy(&completion.body)
            ));
        }
        first.push(completion.latency);
        if let Some((hwm, _)) = emulator.pid().and_then(memory_kib) {
            cold_peak = cold_peak.max(hwm);
        }
        emulator.stop().await;
    }

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
        first_invocation: Summary::of(&first),
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
    eprintln!("send-time check (POST /eligibility, 1,000 numbers)");
    let eligibility_env = plans(&table, &endpoint, &vonage_base)
        .into_iter()
        .find(|p| p.name == "resubscribe")
        .map(|p| p.env)
        .unwrap_or_default();
    let eligibility =
        optout_bench::eligibility::run(&store, &args.bin_dir, &eligibility_env, &args.log_dir, 20)
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
            f.scenarios
                .iter()
                .filter(|(_, s)| s.errors > 0)
                .map(move |(key, s)| {
                    format!("{name}/{key}: {} errors ({:?})", s.errors, s.first_error)
                })
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
