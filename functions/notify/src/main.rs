//! Thin entry point: configuration and clients once per container (the reply texts are checked
//! here: a bad one stops the start), then one batch of stream records per invocation
//! (`shared::handlers::notify`), answered with the records to retry.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::handlers::notify::Notify;
use shared::handlers::reconcile::deadline_from_epoch_ms;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let notify = Notify::from_settings(store, &settings)?;
    let notify = &notify;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        Ok::<_, Error>(notify.handle(event.payload, Some(deadline)).await)
    }))
    .await
}
