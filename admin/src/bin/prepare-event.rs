//! `prepare-event FILE STEP SECRET METHOD`: print a sample event ready to send, after the
//! manifest step `sign` (sign it as Vonage would, now) or `stamp-consent` (consent captured
//! now); `none` prints it unchanged. For `cargo lambda invoke --data-file` by hand.

use shared::domain::signature::SignatureMethod;
use std::process::ExitCode;
use testkit::sample_events::prepare;

const USAGE: &str = "usage: prepare-event <event file> <sign|stamp-consent|none> <signature secret> <md5hash|md5|sha1|sha256|sha512>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, step, secret, method] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = (|| -> Result<String, String> {
        let method: SignatureMethod = method.parse().map_err(|e| format!("{e}"))?;
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let mut event: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        let step = (step != "none").then_some(step.as_str());
        prepare(
            &mut event,
            step,
            secret,
            method,
            shared::domain::timestamp::now(),
        )
        .map_err(|e| e.to_string())?;
        serde_json::to_string_pretty(&event).map_err(|e| e.to_string())
    })();
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
