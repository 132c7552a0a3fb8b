//! Thin entry point: configuration and clients once per container, then the shared handler.

use lambda_http::{run, service_fn, Error, Request};
use shared::config::{self, Settings};
use shared::store::Store;
use shared::unsubscribe::Webhook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_logging();
    let sdk = config::aws_sdk_config().await;
    let settings = Settings::load(&sdk).await?;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings.require("TABLE_NAME")?,
    );
    let webhook = Webhook::from_settings(store, &settings)?;
    let webhook = &webhook;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(webhook.handle(req).await)
    }))
    .await
}
