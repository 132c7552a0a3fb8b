//! Thin entry point: configuration and clients once per container, then one reconciliation run
//! per scheduled event (`shared::handlers::reconcile`). The run stops before the invocation's deadline and
//! resumes from its checkpoint on the next one; a run that ended on a failed call fails the
//! invocation (after logging its report) so that it shows in the function's error metrics.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::domain::deadline::{Deadline, MIN_LEFT_AT_START};
use shared::handlers::reconcile::Reconciler;

// One invocation at a time: worker threads would only cost init (decision 0021).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let reconciler = Reconciler::from_settings(store, &settings)?;
    let reconciler = &reconciler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A deadline (nearly) past cannot be Lambda's: then Lambda's longest run applies.
        let deadline = Deadline::from_lambda(event.context.deadline, MIN_LEFT_AT_START)
            .unwrap_or_else(|| Deadline::after(std::time::Duration::from_secs(900)));
        let report = reconciler.run(deadline).await;
        match &report.error {
            Some(error) => Err(Error::from(format!("reconcile run failed: {error}"))),
            None => Ok::<Value, Error>(serde_json::to_value(&report)?),
        }
    }))
    .await
}
