//! Thin entry point: configuration and clients once per container, then the shared handler
//! (API Gateway events in and out through `shared::handlers::gateway`, which never panics on input).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;
use shared::adapters::config;
use shared::handlers::gateway;
use shared::handlers::website_api::WebsiteApi;

// One invocation at a time: worker threads would only cost init (decision 0021).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let api = WebsiteApi::from_settings(store, &settings)?;
    let api = &api;
    run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        gateway::serve(event, move |req| api.handle(req))
    }))
    .await
}
