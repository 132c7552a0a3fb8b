//! Thin entry point: configuration and clients once per container, then one reconciliation run
//! per scheduled event (`shared::handlers::reconcile`). The run stops before the invocation's deadline and
//! resumes from its checkpoint on the next one; a run that ended on a failed call fails the
//! invocation (after logging its report) so that it shows in the function's error metrics.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::handlers::reconcile::{deadline_from_epoch_ms, Reconciler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let reconciler = Reconciler::from_settings(store, &settings)?;
    let reconciler = &reconciler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A deadline already (nearly) past at the start cannot be Lambda's; local emulators send
        // one. Then Lambda's longest run applies.
        let now = std::time::Instant::now();
        let deadline = Some(deadline_from_epoch_ms(event.context.deadline))
            .filter(|d| d.saturating_duration_since(now) > std::time::Duration::from_secs(3))
            .unwrap_or(now + std::time::Duration::from_secs(900));
        let report = reconciler.run(deadline).await;
        match &report.error {
            Some(error) => Err(Error::from(format!("reconcile run failed: {error}"))),
            None => Ok::<Value, Error>(serde_json::to_value(&report)?),
        }
    }))
    .await
}
