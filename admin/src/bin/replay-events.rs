//! `replay-events`: send every sample event in `events/manifest.json` to functions running under
//! `cargo lambda watch` (its invoke API, the one `cargo lambda invoke` uses), preparing each as
//! the manifest says (signed as Vonage would, consent stamped now), and print what happened.
//! Used by `scripts/local`; exits non-zero when any event gets another status than documented.

use shared::domain::signature::SignatureMethod;
use std::process::ExitCode;
use testkit::sample_events::{prepare, Manifest};

const USAGE: &str = "usage: replay-events <invoke base URL, e.g. http://127.0.0.1:9000> <events dir> <signature secret> <signature method>";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, dir, secret, method] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let method: SignatureMethod = match method.parse() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(base, dir, secret, method).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base: &str, dir: &str, secret: &str, method: SignatureMethod) -> Result<bool, String> {
    let text =
        std::fs::read_to_string(format!("{dir}/manifest.json")).map_err(|e| e.to_string())?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    // The workspace's reqwest has no TLS provider of its own: take the shared one.
    let http = shared::adapters::tls::reqwest_builder()
        .build()
        .map_err(|e| e.to_string())?;
    let mut all_ok = true;
    println!("{:<40} {:>8} {:>4}  answer", "event", "expected", "got");
    for entry in &manifest.events {
        let text = std::fs::read_to_string(format!("{dir}/{}", entry.file))
            .map_err(|e| format!("{}: {e}", entry.file))?;
        let mut event: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", entry.file))?;
        prepare(
            &mut event,
            entry.prepare.as_deref(),
            secret,
            method,
            shared::domain::timestamp::now(),
        )
        .map_err(|e| format!("{}: {e}", entry.file))?;
        let url = format!("{base}/2015-03-31/functions/{}/invocations", entry.function);
        let response = http
            .post(&url)
            .body(event.to_string())
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let bytes = response.bytes().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        // An HTTP function answers with a status; notify (a stream batch) with the records to
        // retry: none is a 200 here, as events/manifest.json says.
        let status = match body["batchItemFailures"].as_array() {
            Some(failures) if failures.is_empty() => 200,
            Some(_) => 500,
            None => body["statusCode"].as_u64().unwrap_or(0),
        };
        let answer = body["body"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(110)
            .collect::<String>();
        let mark = if status == u64::from(entry.status) {
            " "
        } else {
            "!"
        };
        all_ok &= mark == " ";
        println!(
            "{mark}{:<39} {:>8} {:>4}  {answer}",
            entry.file, entry.status, status
        );
    }
    Ok(all_ok)
}
