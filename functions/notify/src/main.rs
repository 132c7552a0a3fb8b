//! Thin entry point: configuration and clients once per container (the reply texts are checked
//! here: a bad one stops the start), then one batch of stream records per invocation
//! (`shared::handlers::notify`), answered with the records to retry.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::handlers::notify::Notify;
use shared::handlers::reconcile::deadline_from_epoch_ms;

/// Less time than this left at the start means "no usable deadline" (see below).
const MIN_LEFT: std::time::Duration = std::time::Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let notify = Notify::from_settings(store, &settings)?;
    let notify = &notify;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A deadline already (nearly) past when the invocation starts cannot be Lambda's (its
        // shortest timeout is a second); local emulators send one (0, or the time of the
        // request). Then the handler's own budget applies.
        let deadline = Some(deadline_from_epoch_ms(event.context.deadline))
            .filter(|d| d.saturating_duration_since(std::time::Instant::now()) > MIN_LEFT);
        Ok::<_, Error>(notify.handle(event.payload, deadline).await)
    }))
    .await
}
