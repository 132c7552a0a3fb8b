//! Thin entry point: configuration and clients once per container, then the shared handler.

use lambda_http::{run, service_fn, Error, Request};
use shared::config;
use shared::unsubscribe::Webhook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, store) = config::start_function().await?;
    let webhook = Webhook::from_settings(store, &settings)?;
    let webhook = &webhook;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(webhook.handle(req).await)
    }))
    .await
}
