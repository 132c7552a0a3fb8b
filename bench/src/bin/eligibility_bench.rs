//! `eligibility-bench`: the send-time check's benchmark alone (`optout_bench::eligibility`),
//! without the rest of `lambda-bench`. `scripts/bench` runs the same measurement inside
//! `lambda-bench`; this is the quick way to re-measure it.
//!
//! ```text
//! eligibility-bench [--bin-dir target/release] [--out .local/bench/eligibility.json] [--reps 20]
//! ```
//! Needs `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_REGION` and credentials for the local server.

use optout_bench::{ddb, eligibility, events};
use shared::adapters::store::Store;
use std::path::PathBuf;

async fn run() -> Result<(), String> {
    let mut bin_dir = PathBuf::from("target/release");
    let mut out = PathBuf::from(".local/bench/eligibility.json");
    let mut reps = 20usize;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin-dir" => bin_dir = value()?.into(),
            "--out" => out = value()?.into(),
            "--reps" => reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "AWS_ENDPOINT_URL_DYNAMODB is not set: start the local server first")?;
    let sdk = ddb::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("bench-elig-{:016x}", fastrand::u64(..));
    ddb::create_table(&client, std::path::Path::new("template.yaml"), &table).await?;
    let store = Store::new(client, table.clone());
    let env: Vec<(String, String)> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("TABLE_NAME", table.as_str()),
        ("API_KEYS", events::API_KEY),
        ("VONAGE_API_KEY", "bench-key"),
        ("VONAGE_API_SECRET", "bench-secret"),
        ("VONAGE_API_BASE_URL", "http://127.0.0.1:9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let log_dir = out
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    eprintln!("send-time check (POST /eligibility, 1,000 numbers), {reps} repetitions");
    let result = eligibility::run(&store, &bin_dir, &env, &log_dir, reps).await?;
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::process::ExitCode {
    testkit::exit_code(run().await)
}
