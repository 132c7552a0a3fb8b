//! Thin entry point: configuration and clients once per container (the reply texts are checked
//! here: a bad one stops the start), then one batch of stream records per invocation
//! (`shared::handlers::notify`), answered with the records to retry.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::domain::deadline::{Deadline, MIN_LEFT_AT_START};
use shared::handlers::notify::Notify;

// One invocation at a time: worker threads would only cost init (decision 0021).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let notify = Notify::from_settings(store, &settings)?;
    let notify = &notify;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A deadline (nearly) past cannot be Lambda's: then the handler's own budget applies.
        let deadline = Deadline::from_lambda(event.context.deadline, MIN_LEFT_AT_START);
        Ok::<_, Error>(notify.handle(event.payload, deadline).await)
    }))
    .await
}
