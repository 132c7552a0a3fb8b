//! Thin entry point: configuration and the store once per container, then one check per
//! scheduled event (`shared::handlers::review_check`). A failed read fails the invocation, so
//! it shows in the function's error metric (and its alarm).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::adapters::config;
use shared::handlers::review_check;

// One invocation at a time: worker threads would only cost init (decision 0021).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (_settings, store) = config::start_function().await?;
    let store = &store;
    run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let report = review_check::run(store, shared::domain::timestamp::now())
            .await
            .map_err(|e| Error::from(format!("review check failed: {e}")))?;
        Ok::<Value, Error>(serde_json::to_value(&report)?)
    }))
    .await
}
