//! `local-api`: the website API (`WebsiteApi::handle`, the real handler) served over plain
//! HTTP on 127.0.0.1 by [`testkit::http_api`], for tools that speak HTTP rather than Lambda
//! events (the OpenAPI fuzzer in `scripts/test`). Each HTTP request becomes an API Gateway
//! HTTP API (payload 2.0) event, goes through the function's own entry (`shared::handlers::gateway`) and the handler, and the
//! event response goes back as the HTTP response: what the deployed function does behind API
//! Gateway, minus API Gateway itself.
//!
//! The event is the one API Gateway would send: for a request one of the stack's routes matches
//! (`testkit::gateway_route`), its `routeKey` (`GET /subscriptions/{msisdn}`), its
//! `pathParameters` and its path, all percent-decoded as an HTTP API hands them over. A request
//! no route matches, which the HTTP API would answer itself (404), goes to the function as a
//! function URL sends it instead (`routeKey` `$default`, the path as sent), so that the
//! function's own 404, and 405 with `Allow`, answer it as they do behind a function URL.
//!
//! ```text
//! local-api --port 8126 --table optout-api --vonage http://127.0.0.1:8090 --api-key local-api-key
//! ```
//! Storage: the local DynamoDB server (`AWS_ENDPOINT_URL_DYNAMODB`); the table is created from
//! template.yaml unless it exists. Prints `listening on http://127.0.0.1:<port>` when ready.

use shared::adapters::vonage::VonageClient;
use shared::handlers::website_api::WebsiteApi;
use std::sync::Arc;
use tokio::net::TcpListener;

struct Args {
    port: u16,
    table: String,
    vonage: String,
    api_key: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        table: "optout-api".into(),
        vonage: "http://127.0.0.1:9".into(),
        api_key: "local-api-key".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--table" => args.table = value()?,
            "--vonage" => args.vonage = value()?,
            "--api-key" => args.api_key = value()?,
            other => {
                return Err(format!(
                    "unknown argument {other} (see the top of local-api.rs)"
                ))
            }
        }
    }
    Ok(args)
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let client = testkit::client_for(&testkit::endpoint());
    let exists = client
        .describe_table()
        .table_name(&args.table)
        .send()
        .await
        .is_ok();
    if !exists {
        let spec =
            testkit::table::TableSpec::from_template_file(&testkit::repo_path("template.yaml"))
                .map_err(|e| e.to_string())?;
        spec.create(&client, &args.table)
            .await
            .map_err(|e| e.to_string())?;
    }
    let store = shared::adapters::store::Store::new(client, args.table.clone());
    let vonage = VonageClient::new(&args.vonage, "local", "local-vonage-secret")
        .map_err(|e| e.to_string())?;
    let api = Arc::new(WebsiteApi::new(store, vonage, vec![args.api_key]));
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    testkit::http_api::serve(api, listener)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    testkit::exit_code(run().await)
}
