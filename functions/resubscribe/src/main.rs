//! Thin entry point: configuration and clients once per container, then the shared handler.

use lambda_http::{run, service_fn, Error, Request};
use shared::config::{self, Settings};
use shared::resubscribe::ResubscribeApi;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_logging();
    let sdk = config::aws_sdk_config().await;
    let settings = Settings::load(&sdk).await?;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings.require("TABLE_NAME")?,
    );
    let api = ResubscribeApi::from_settings(store, &settings)?;
    let api = &api;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(api.handle(req).await)
    }))
    .await
}
